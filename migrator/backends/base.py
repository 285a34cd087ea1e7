"""The backend protocol: what the backend-neutral commands ask of a database, and how they find it.

A run is driven by the backend of its source (``backend_for``). That backend prepares the run on the
Spark driver (connect, read both sides, check they fit, plan the work, check a savepoint) and returns
a ``Prepared`` run. The commands then only:

* list the pending work as plain picklable ``WorkItem`` values, one Spark partition each;
* ship the executor task (``copy_task`` or ``compare_task``: a picklable callable turning one item
  into its result) to the executors;
* render savepoints from the backend's fields for the finished items (``savepoint_fields``) and its
  own ``migratorState`` keys (``state``);
* once every item is done, let the run complete what needs them all: a copy's ``finish`` (an export's
  manifests), a validation report's ``finish_report`` (counts no single item can make).

Backends are imported lazily by name (``migrator.backends.<settings.backend>``), so a run never loads a
driver it does not use, and a new backend is one new package: nothing here or in the commands changes.
A package serves a run when its module ``backend`` defines ``BACKEND``, an object with the ``Backend``
attributes.
"""

from __future__ import annotations

import importlib
import importlib.util
import pkgutil
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, Protocol

from migrator.differences import DifferenceSink
from migrator.errors import ConfigError, MigratorError, SavepointMismatch

if TYPE_CHECKING:
    from migrator.config import MigratorConfig, MigratorState, ValidationSettings
    from migrator.reconcile.changes import ChangeFormat
    from migrator.reconcile.schema import SchemaSupport
    from migrator.report.model import RangeResult, ValidationReport

Kind = Literal["migrate", "validate"]
MIGRATE: Kind = "migrate"
VALIDATE: Kind = "validate"
SAVEPOINT_FIX = (
    "use the savepoint with the config it was written for, "
    "or start over with --fresh (or delete skipTokenRanges and migratorState)"
)


@dataclass(frozen=True)
class Capabilities:
    """What a backend can do, so that callers test flags instead of database types."""

    resumable: bool  # finished work survives in savepoints, and a savepoint resumes the run
    creates_target: bool  # the copy creates a missing target table
    ordered_scan: bool  # both sides are read in one total order, so a compare is a merge-join
    repairs: bool  # validation can copy missing/differing rows and delete extra ones
    write_times: bool = False  # the store keeps each value's write time (CQL WRITETIME), for reconcile's ``newest``


@dataclass(frozen=True)
class WorkItem:
    """One unit of work (a split of the source), shipped to an executor as plain data.

    ``index`` identifies the split across runs: results and savepoints are keyed by it. ``spec`` is the
    backend's own plain description of where to read (token pieces, a scan segment, a file).
    """

    index: int
    spec: Any


@dataclass(frozen=True)
class CopyResult:
    """What copying one item did: rows read, and the backend's own tallies.

    The tallies are summed over the run and kept in the savepoint (e.g. DynamoDB items skipped because
    their TTL had expired).
    """

    rows: int
    counts: dict[str, int] = field(default_factory=dict)


def copied_rows(result: int | CopyResult) -> int:
    """The rows of a copy task's result (a bare count or a ``CopyResult``)."""
    return result.rows if isinstance(result, CopyResult) else int(result)


def copied_counts(result: int | CopyResult) -> dict[str, int]:
    """The backend's tallies of a copy task's result (none for a bare count)."""
    return result.counts if isinstance(result, CopyResult) else {}


CopyTask = Callable[[WorkItem], "int | CopyResult"]
"""Copies one item on an executor; returns the rows read (or a ``CopyResult``). Returns only once every
write was acknowledged."""

CompareTask = Callable[[WorkItem], "RangeResult"]
"""Compares one item on an executor; returns its exact counts and a sample of examples."""


@dataclass(frozen=True)
class ShardRead:
    """What one round of a change stream did to one shard, returned by an executor.

    ``position`` is the last change applied (a sequence number; None when nothing was read) and is
    reported only once every write before it was acknowledged. ``closed``: the shard has ended and all
    of it is applied. ``lost``: the stream no longer holds the shard's position (changes are gone).
    """

    shard: str
    position: str | None
    closed: bool = False
    read: int = 0  # records read
    applied: int = 0  # writes sent after folding each key's changes into its last one
    counts: dict[str, int] = field(default_factory=dict)  # the backend's tallies (puts, deletes, skipped)
    behind_s: float = 0.0  # how far behind the stream's newest change the shard still is
    lost: str | None = None  # why the position cannot be read any more


ShardTask = Callable[[WorkItem], ShardRead]
"""Reads one shard from its position and applies its changes to the target; returns once acknowledged."""


class ChangeStream(Protocol):
    """The source table's changes after a snapshot, read shard by shard (``migrator.streaming`` drives it)."""

    @property
    def name(self) -> str:
        """What is streamed, for messages (e.g. ``the stream of orders``)."""
        ...

    @property
    def copies_snapshot(self) -> bool:
        """Whether the snapshot is copied before streaming (false: stream only)."""
        ...

    def start(self) -> list[str]:
        """Connect and fix where reading starts (the savepoint's positions, or now when a snapshot follows).

        Enables the stream when the store needs that; returns what it did, one line each. Raises
        ``RuntimeFailure`` when the stream cannot be read from where the run must start.
        """
        ...

    def ready(self) -> list[WorkItem]:
        """The shards to read in the next round (parents finished before children), with their positions."""
        ...

    def shard_task(self) -> ShardTask:
        """The executors' function for one shard's round."""
        ...

    def advance(self, reads: list[ShardRead]) -> None:
        """Record the acknowledged positions of a round."""
        ...

    def state(self) -> dict[str, Any]:
        """The stream's positions as plain data, for ``migratorState.stream``."""
        ...

    def shard_counts(self) -> tuple[int, int]:
        """Shards still being read, and shards finished."""
        ...


class Prepared(Protocol):
    """A run prepared on the driver: identities, the plan of work, and the executor tasks."""

    warnings: list[str]

    @property
    def source_identity(self) -> str:
        """Where the source table is, stable across runs (savepoints are checked against it)."""
        ...

    @property
    def target_identity(self) -> str:
        """Where the target table is, stable across runs."""
        ...

    @property
    def splits_total(self) -> int:
        """Work items in the whole plan (finished or not)."""
        ...

    @property
    def splits_done_before(self) -> int:
        """Work items finished by the runs this one resumes."""
        ...

    @property
    def savepoint_note(self) -> str:
        """One header line telling a reader what the savepoint's progress key holds."""
        ...

    @property
    def max_partitions(self) -> int | None:
        """At most this many Spark partitions (items then share them), None = one per item."""
        ...

    @property
    def split_unit(self) -> str:
        """What a split's bounds count, for reports: "token" (a ring) or "segment" (a parallel scan)."""
        ...

    def pending(self) -> list[WorkItem]:
        """The work items still to do, in plan order."""
        ...

    def copy_task(self) -> CopyTask:
        """The copy task; creates the target table first when it is missing."""
        ...

    def compare_task(self, settings: ValidationSettings, sink: DifferenceSink | None = None) -> CompareTask:
        """The compare task for these validation settings; the target must exist."""
        ...

    def savepoint_problems(self, state: MigratorState) -> list[tuple[str, str]]:
        """Why the resumed savepoint's finished work would mean something else in this run; empty when it fits.

        The identity checks (kind, source, target) are the runner's; this is the backend's own part
        (for CQL: the partitioner and the splitting of the ring).
        """
        ...

    def savepoint_fields(self, finished: Iterable[int]) -> dict[str, Any]:
        """Top-level savepoint keys recording every finished split (earlier runs' and ``finished``)."""
        ...

    def state(self) -> dict[str, Any]:
        """The backend's own ``migratorState`` keys (what the finished splits mean)."""
        ...

    def describe(self) -> str:
        """The plan as text, for ``migrator check``; nothing is written."""
        ...

    def change_stream(self) -> ChangeStream | None:
        """The changes to stream after the snapshot when the config asks for it; None otherwise."""
        ...

    def finish(self) -> list[str]:
        """Complete what needs every split done (an export's manifests), once they all are; what it did."""
        ...

    def finish_report(self, report: ValidationReport) -> ValidationReport:
        """A validation's report once every split is compared, with the counts only all of them together give.

        ``validate`` calls it for every report it renders once the last split is in (the final
        savepoint's and the one returned), so it must be pure and idempotent: computed from the
        report's own totals, never from another read. Most runs count everything split by split and
        return the report as it is. A run with an S3 export on one side cannot look rows up in the
        export by key, so its splits count the table's live items instead (``targetRows`` or
        ``sourceRows``), and the rows only the table holds (extra, or missing when the export is the
        target) are that count minus the export's rows found in the table
        (``report.model.count_from_totals``).
        """
        ...

    def close(self) -> None:
        """Release the driver-side connections (executors open their own)."""
        ...


class Backend(Protocol):
    """A database the migrator can read (and which targets it can write)."""

    name: str  # the package name under ``migrator.backends``
    types: tuple[str, ...]  # the ``type:`` spellings it serves
    writes_to: tuple[str, ...]  # backend names of the targets a run from this source can write
    capabilities: Capabilities

    def check(self, config: MigratorConfig) -> None:
        """Refuse, as config errors, what this backend cannot run; connects nowhere."""
        ...

    def prepare(self, config: MigratorConfig, *, parallelism: int) -> Prepared:
        """Connect, read and check both sides, plan the work (minus the savepoint's); writes nothing."""
        ...

    def list_tables(self, config: MigratorConfig) -> list[str]:
        """The names of the tables the source holds where ``config`` points (its keyspace, its endpoint)."""
        ...

    def prepare_tables(self, configs: list[MigratorConfig], *, parallelism: int) -> list[Prepared | MigratorError]:
        """``prepare`` for each table of a many-table run, sharing connections; writes nothing.

        A table that cannot run gets its error in its place. With no splitting fixed by the config or a
        savepoint, a table found small is split no more than useful.
        """
        ...

    def changes(self, config: MigratorConfig) -> ChangeFormat:
        """Reconcile's pack format and applier for the target table."""
        ...

    def schema(self, config: MigratorConfig) -> SchemaSupport:
        """Schema entries of both tables and the statements that align production (schema-diff/-migrate)."""
        ...


def available(name: str) -> bool:
    """Whether ``migrator.backends.<name>`` exists in this version."""
    return importlib.util.find_spec(f"{__package__}.{name}") is not None


def load_backend(name: str) -> Backend:
    """The ``BACKEND`` of ``migrator.backends.<name>.backend``, imported on first use."""
    module = importlib.import_module(f"{__package__}.{name}.backend")
    backend: Backend = module.BACKEND
    return backend


def backend_for(config: MigratorConfig) -> Backend:
    """The backend that drives a run of ``config``, after refusing a pair this version cannot run.

    Raises ``ConfigError`` (exit 2) naming ``source.type`` or ``target.type`` and what is supported.
    """
    source, target = config.source, config.target
    source_ok = available(source.backend)
    backend = load_backend(source.backend) if source_ok else None
    if backend is None or target.backend not in backend.writes_to:
        raise ConfigError([(
            "target.type" if source_ok else "source.type",
            f"migrating from {source.type!r} to {target.type!r} is not supported by this version yet; "
            f"supported: {supported_pairs()}",
        )])
    backend.check(config)
    return backend


def supported_pairs() -> str:
    """The source -> target pairs this version runs, e.g. ``cassandra/scylla -> cassandra/scylla``."""
    import migrator.backends

    pairs = []
    for info in sorted(pkgutil.iter_modules(migrator.backends.__path__), key=lambda i: i.name):
        if not info.ispkg:
            continue
        backend = load_backend(info.name)
        for target in backend.writes_to:
            pairs.append(f"{'/'.join(backend.types)} -> {'/'.join(load_backend(target).types)}")
    return ", ".join(pairs)


def savepoint_identity_problems(state: MigratorState | None, kind: Kind, source_identity: str,
                                target_identity: str) -> list[tuple[str, str]]:
    """Why a savepoint was written for another job (kind, source or target); empty when it fits."""
    if state is None:
        return []
    problems = []
    if state.kind and state.kind != kind:
        problems.append(
            ("migratorState.kind", f"this savepoint was written by '{state.kind}', not '{kind}'; {SAVEPOINT_FIX}")
        )
    if state.source_identity and state.source_identity != source_identity:
        problems.append(("migratorState.sourceIdentity",
                         f"written for source {state.source_identity}, "
                         f"but the source is now {source_identity}; {SAVEPOINT_FIX}"))
    if state.target_identity and state.target_identity != target_identity:
        problems.append(("migratorState.targetIdentity",
                         f"written for target {state.target_identity}, "
                         f"but the target is now {target_identity}; {SAVEPOINT_FIX}"))
    return problems


def check_savepoint(state: MigratorState | None, kind: Kind, prepared: Prepared) -> None:
    """Refuse (exit 2, before anything is written) a savepoint written for another job or that the backend rejects."""
    if state is not None:
        refuse_savepoint(savepoint_identity_problems(state, kind, prepared.source_identity, prepared.target_identity)
                         + prepared.savepoint_problems(state))


def refuse_savepoint(problems: list[tuple[str, str]]) -> None:
    """Raise ``SavepointMismatch`` (exit 2, before anything is written) when there are problems."""
    if problems:
        raise SavepointMismatch(problems)
