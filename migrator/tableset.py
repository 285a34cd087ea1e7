"""Many tables in one run: the tables a config selects, prepared together and run as one set of work.

``open_tables`` turns a config into a ``TableSet``, the ``Prepared`` run every command hands to the
runner. A one-table config (upstream's meaning) gives a set of one that behaves, and writes savepoints,
exactly as that table's own run. A many-table config (``migrator.config.tables``):

* is expanded at start: the source's tables are listed by the backend and matched, and each selected
  table gets a config of its own (its source and target names, renames, ``where``, validation keys,
  and its part of the resumed savepoint), so the backends only ever see one-table configs;
* is prepared as a whole before anything is written: every table that cannot run as asked (a missing
  keyspace or table, an incompatible target, an unsupported type, a savepoint that does not fit) is
  reported in one error, with exit code 2 when every problem is the config's, else 3;
* runs as one Spark job: the work items of all tables, largest tables' first, one partition each;
* keeps one savepoint: ``migratorState.tables`` holds each table's finished work and state under its
  source name, as its own run would have written them; tables of the savepoint that the config no longer
  selects are reported and dropped, tables it does not hold start from nothing;
* isolates failures: with ``onTableFailure: continue`` (the default) an item that fails marks its table
  failed (its other items are skipped where that executor sees them) and the other tables go on; with
  ``stop`` the first failure stops the run.
"""

from __future__ import annotations

import bisect
import dataclasses
import logging
import os
import urllib.parse
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from migrator.backends.base import (
    Backend,
    ChangeStream,
    CompareTask,
    CopyTask,
    Kind,
    Prepared,
    WorkItem,
    check_savepoint,
    refuse_savepoint,
    savepoint_identity_problems,
)
from migrator.config import MigratorConfig, MigratorState, ValidationSettings
from migrator.config.model import table_validation
from migrator.config.state import TableProgress
from migrator.config.tables import TableEntry, select, target_name
from migrator.differences import DifferenceSink
from migrator.errors import ConfigError, MigratorError, RuntimeFailure, SavepointMismatch
from migrator.report.model import ValidationReport

log = logging.getLogger(__name__)

MANY_NOTE = "each table's finished work is under migratorState.tables, by source table name"
DETAIL_TABLES = 6  # tables named in a progress line; the rest are counted


@dataclass(frozen=True)
class TableJob:
    """One table of a run: its source and target names and the one-table config it runs with."""

    name: str
    target: str
    config: MigratorConfig


@dataclass(frozen=True)
class ItemFailed:
    """What an item of a failed table reports instead of its result (``onTableFailure: continue``)."""

    table: int
    message: str


def is_failed(result: Any) -> bool:
    """Whether an item's result is a failure report."""
    return isinstance(result, ItemFailed)


# --- expanding the config --------------------------------------------------------------------------


def plan_jobs(config: MigratorConfig, backend: Backend) -> tuple[list[TableJob], list[str]]:
    """The tables of the run, each with its own config, and the savepoint's tables no longer selected.

    Raises ``ConfigError`` (exit 2) when nothing is selected, a listed entry matches no selected table,
    two tables would write one target, or the savepoint is of the other kind (one table / many).
    """
    state = config.migrator_state
    if not config.many_tables:
        if state is not None and state.tables:
            raise SavepointMismatch([("migratorState.tables", "this savepoint was written by a many-table run; "
                                      "resume it with the config it holds (source.table a pattern or a tables list)")])
        return [TableJob(str(getattr(config.source, "table", "")), str(getattr(config.target, "table", "")),
                         config)], []
    if state is not None and state.tables is None and (config.skip_token_ranges or config.skip_segments):
        raise SavepointMismatch([("migratorState", "this savepoint was written by a one-table run; resume it with "
                                  "a config naming that one table")])
    source, target = config.source, config.target
    pattern, target_pattern = str(getattr(source, "table", "")), str(getattr(target, "table", ""))
    entries = {entry.name: entry for entry in config.tables}
    if config.listed_only:
        names = [entry.name for entry in config.tables]
    else:
        names = select(backend.list_tables(config), pattern, getattr(source, "include", ()),
                       getattr(source, "exclude", ()))
        problems = [(f"tables[{i}].name", f"{entry.name!r} is not among the tables source.table, include and exclude "
                     "select") for i, entry in enumerate(config.tables) if entry.name not in names]
        if problems:
            raise ConfigError(problems)
    if not names:
        raise ConfigError([("source.table", f"no table of the source matches {pattern!r} with the include and exclude "
                            "patterns; check the names (they are case-sensitive)")])
    progress = dict(state.tables or {}) if state is not None else {}
    jobs = [_job(config, name, entries.get(name), target_name(name, pattern, target_pattern), progress.get(name))
            for name in names]
    by_target: dict[str, str] = {}
    clashes = []
    for job in jobs:
        if job.target in by_target:
            clashes.append(("tables", f"{by_target[job.target]} and {job.name} would both be written into "
                            f"{job.target}; give one of them its own tables[i].target"))
        by_target.setdefault(job.target, job.name)
    if clashes:
        raise ConfigError(clashes)
    removed = sorted(set(progress) - set(names))
    return jobs, removed


def _job(config: MigratorConfig, name: str, entry: TableEntry | None, default_target: str,
         progress: TableProgress | None) -> TableJob:
    """The one-table config of ``name``: the shared blocks with this table's names, settings and progress."""
    target = entry.target if entry is not None and entry.target else default_target
    source_keys: dict[str, Any] = {"table": name}
    if hasattr(config.source, "include"):
        source_keys |= {"include": [], "exclude": []}
    if hasattr(config.source, "where"):
        source_keys["where"] = entry.where if entry is not None else None
    update: dict[str, Any] = {
        "source": config.source.model_copy(update=source_keys),
        "target": config.target.model_copy(update={"table": target}),
        "renames": list(entry.renames) if entry is not None else [],
        "tables": [],
        "validation": table_validation(config.validation, entry.validation if entry is not None else None),
        "migrator_state": progress.migrator_state if progress is not None else None,
        "skip_token_ranges": [], "skip_segments": [], "skip_parquet_files": [], "skip_export_files": [],
    }
    if progress is not None:
        update |= progress.finished_work()
    token_type = progress.token_type if progress is not None else config.token_type
    return TableJob(name, target, config.table_config(update, token_type))


# --- the prepared set ------------------------------------------------------------------------------


@dataclass
class Member:
    """A prepared table of the set: global item indexes ``offset + local index``."""

    job: TableJob
    prepared: Prepared
    offset: int
    failure: str | None = None  # why the table stopped before its items ran (its target could not be made)


@dataclass
class TableSet:
    """Every table of a run, prepared; the ``Prepared`` run the commands hand to the runner."""

    members: list[Member]
    many: bool
    isolate: bool = True  # many tables, onTableFailure: continue
    removed: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        if not self.many:
            self.warnings = list(self.members[0].prepared.warnings)
            return
        self.warnings = [f"{m.job.name}: {w}" for m in self.members for w in m.prepared.warnings]
        self.warnings += [f"{name}: in the savepoint but no longer selected by the config; its progress is dropped"
                          for name in self.removed]

    # --- the Prepared protocol ---

    @property
    def one(self) -> Prepared:
        """The only table's run (a one-table set)."""
        return self.members[0].prepared

    @property
    def source_identity(self) -> str:
        """The source table (one table) or the tables' count and the first's identity."""
        return self.one.source_identity if not self.many else _set_identity(
            [m.prepared.source_identity for m in self.members])

    @property
    def target_identity(self) -> str:
        """The target table (one table) or the tables' count and the first's identity."""
        return self.one.target_identity if not self.many else _set_identity(
            [m.prepared.target_identity for m in self.members])

    @property
    def splits_total(self) -> int:
        """Work items of every table."""
        return sum(m.prepared.splits_total for m in self.members)

    @property
    def splits_done_before(self) -> int:
        """Work items the resumed savepoint had finished, every table."""
        return sum(m.prepared.splits_done_before for m in self.members)

    @property
    def savepoint_note(self) -> str:
        """What the savepoint's progress keys hold."""
        return self.one.savepoint_note if not self.many else MANY_NOTE

    @property
    def max_partitions(self) -> int | None:
        """The one table's cap; none across many tables (one partition per item)."""
        return self.one.max_partitions if not self.many else None

    @property
    def split_unit(self) -> str:
        """What a split's bounds count (the tables share a backend, hence a unit)."""
        return self.one.split_unit

    def pending(self) -> list[WorkItem]:
        """Every table's pending items, the largest tables' first (by items planned), in plan order within one."""
        if not self.many:
            return self.one.pending()
        ordered = sorted(range(len(self.members)), key=lambda i: -self.members[i].prepared.splits_total)
        items = []
        for number in ordered:
            member = self.members[number]
            if member.failure is None:
                items += [WorkItem(member.offset + it.index, (number, it)) for it in member.prepared.pending()]
        return items

    def copy_task(self) -> CopyTask:
        """Each table's copy task (creating missing target tables) behind one dispatcher."""
        return self._task(lambda member: member.prepared.copy_task())

    def compare_task(self, settings: ValidationSettings, sink: DifferenceSink | None = None, *,
                     sink_for: Callable[[TableJob], DifferenceSink | None] | None = None) -> CompareTask:
        """Each table's compare task with its own validation settings, behind one dispatcher.

        Each table's differences go to ``sink_for(its job)`` when given, else to ``sink`` (with many
        tables, into a folder of its own under it: ``folder_name`` of its source name).
        """
        def own_sink(member: Member) -> DifferenceSink | None:
            if sink_for is not None:
                return sink_for(member.job)
            if sink is None or not self.many:
                return sink
            return dataclasses.replace(sink, directory=os.path.join(sink.directory, folder_name(member.job.name)))

        def task(member: Member) -> Any:
            return member.prepared.compare_task(member.job.config.validation or settings, own_sink(member))

        return self._task(task)

    def _task(self, make: Callable[[Member], Any]) -> Any:
        if not self.many:
            return make(self.members[0])
        tasks: list[Any] = []
        for member in self.members:
            try:
                tasks.append(make(member))
            except MigratorError as exc:
                if not self.isolate:
                    raise
                member.failure = exc.render()
                log.error("table %s: %s", member.job.name, member.failure)
                tasks.append(None)
        return TableTask(tuple(tasks), self.isolate, uuid.uuid4().hex)

    def savepoint_problems(self, state: MigratorState) -> list[tuple[str, str]]:
        """Checked per table when the set was opened."""
        return self.one.savepoint_problems(state) if not self.many else []

    def savepoint_fields(self, finished: Iterable[int]) -> dict[str, Any]:
        """One table: its own keys; many: none at the top (see ``table_entries``)."""
        return self.one.savepoint_fields(finished) if not self.many else {}

    def state(self) -> dict[str, Any]:
        """One table: its own keys; many: none at the top (see ``table_entries``)."""
        return self.one.state() if not self.many else {}

    def finish(self) -> list[str]:
        """Each table's completion, prefixed with its name when there are many."""
        if not self.many:
            return self.one.finish()
        return [f"{m.job.name}: {line}" for m in self.members for line in m.prepared.finish()]

    def finish_report(self, report: ValidationReport) -> ValidationReport:
        """The one table's completion; many tables' reports are each completed by their own run (``Member``)."""
        return self.one.finish_report(report) if not self.many else report

    def change_stream(self) -> ChangeStream | None:
        """The one table's change stream (the config refuses streaming many tables)."""
        return self.one.change_stream() if not self.many else None

    def describe(self) -> str:
        """The plan of each table, for ``migrator check``."""
        if not self.many:
            return self.one.describe()
        lines = [f"{len(self.members)} tables: " + ", ".join(f"{m.job.name} -> {m.job.target}" for m in self.members)]
        lines += [f"note: {name}: in the savepoint but no longer selected; its progress would be dropped"
                  for name in self.removed]
        for member in self.members:
            body = member.prepared.describe().replace("\nnothing was written", "")
            lines.append(f"\n== table {member.job.name} -> {member.job.target} ==\n{body}")
        lines.append("nothing was written")
        return "\n".join(lines)

    def close(self) -> None:
        """Release every table's driver-side connections."""
        for member in self.members:
            member.prepared.close()

    # --- many tables: savepoint entries, progress and outcome ---

    def rows_before(self, kind: Kind) -> int:
        """Rows the resumed savepoint's runs of ``kind`` handled in the selected tables."""
        return sum(prior_rows(m.job.config.migrator_state, kind) for m in self.members)

    def split(self, results: Mapping[int, Any]) -> list[dict[int, Any]]:
        """``results`` (global indexes) as one dict per member, by local index."""
        out: list[dict[int, Any]] = [{} for _ in self.members]
        starts = [m.offset for m in self.members]  # ascending: members are numbered in offset order
        for index, result in results.items():
            number = bisect.bisect_right(starts, index) - 1
            member = self.members[number]
            if 0 <= index - member.offset < member.prepared.splits_total:
                out[number][index - member.offset] = result
        return out

    def failures(self, failed: Mapping[int, ItemFailed]) -> dict[int, str]:
        """``{member number: why}`` of the tables that failed, before the run or in it."""
        out = {n: m.failure for n, m in enumerate(self.members) if m.failure is not None}
        for report in failed.values():
            out.setdefault(report.table, report.message)
        return out

    def table_entries(self, kind: Kind, command: str, results: Mapping[int, Any], failed: Mapping[int, ItemFailed],
                      rows_of: Callable[[Any], int],
                      extra: Callable[[Member, dict[int, Any]], dict[str, Any]] | None = None) -> dict[str, Any]:
        """``migratorState.tables``: each table's finished work and state, as its own run would write them."""
        entries: dict[str, Any] = {}
        why = self.failures(failed)
        for number, (member, local) in enumerate(zip(self.members, self.split(results), strict=True)):
            prepared = member.prepared
            rows_before = prior_rows(member.job.config.migrator_state, kind)
            table_state: dict[str, Any] = {
                "kind": kind, "command": command,
                "sourceIdentity": prepared.source_identity, "targetIdentity": prepared.target_identity,
                **prepared.state(),
                "rowsCopied": rows_before + sum(rows_of(r) for r in local.values()),
                "rangesDone": prepared.splits_done_before + len(local),
                "rangesTotal": prepared.splits_total,
                **(extra(member, local) if extra is not None else {}),
            }
            if number in why:
                table_state["failure"] = why[number]
            entries[member.job.name] = {"target": member.job.target, **prepared.savepoint_fields(local),
                                        "migratorState": table_state}
        return entries

    def progress_detail(self, results: Mapping[int, Any], failed: Mapping[int, ItemFailed]) -> str:
        """One line: tables done and failed, and the unfinished ones with their items done."""
        why = self.failures(failed)
        done, running = 0, []
        for number, (member, local) in enumerate(zip(self.members, self.split(results), strict=True)):
            finished = member.prepared.splits_done_before + len(local)
            if number in why:
                continue
            if finished >= member.prepared.splits_total:
                done += 1
            else:
                running.append(f"{member.job.name} {finished}/{member.prepared.splits_total}")
        shown = ", ".join(running[:DETAIL_TABLES]) + (f", {len(running) - DETAIL_TABLES} more"
                                                      if len(running) > DETAIL_TABLES else "")
        failed_text = f", {len(why)} failed ({', '.join(self.members[n].job.name for n in sorted(why))})" if why else ""
        return f"tables: {done}/{len(self.members)} done{failed_text}" + (f"; in progress: {shown}" if running else "")


def prior_rows(state: MigratorState | None, kind: Kind) -> int:
    """Rows a resumed savepoint says its runs of ``kind`` handled (0 without one, or of another kind)."""
    return int(state.rows_copied or 0) if state is not None and state.kind in (None, kind) else 0


def prior_counts(state: MigratorState | None, kind: Kind) -> dict[str, int]:
    """The backend's tallies a resumed savepoint of ``kind`` carries (none without one, or of another kind)."""
    return {k: int(v) for k, v in (state.counts or {}).items()} if state is not None and state.kind in (None, kind) \
        else {}


def folder_name(table: str) -> str:
    """A table's name as one safe path component (every character but letters, digits, ``_.-`` %-escaped)."""
    return urllib.parse.quote(table, safe="") if table not in (".", "..") else table.replace(".", "%2E")


def _set_identity(identities: list[str]) -> str:
    return f"{len(identities)} tables ({identities[0]}, ...)" if len(identities) > 1 else identities[0]


@dataclass(frozen=True)
class TableTask:
    """The executors' function for a many-table run: each item goes to its table's task.

    With ``isolate``, an exception fails the item's table, not the job: the item reports ``ItemFailed``,
    and this executor process skips that table's later items, reporting them failed too.
    """

    tasks: tuple[Any, ...]  # per member: its task, or None when the table failed before the run
    isolate: bool
    run: str  # tells this run's failures from another's in a reused executor process

    def __call__(self, item: WorkItem) -> Any:
        """The item's result from its table's task, or its table's failure report."""
        number, inner = item.spec
        task = self.tasks[number]
        seen = _FAILED_HERE.get((self.run, number))
        if task is None:
            return ItemFailed(number, "the table failed before its items ran")
        if seen is not None:
            return ItemFailed(number, seen)
        try:
            return task(inner)
        except Exception as exc:
            if not self.isolate:
                raise
            message = exc.render() if isinstance(exc, MigratorError) else f"{type(exc).__name__}: {exc}"
            _FAILED_HERE[(self.run, number)] = message
            return ItemFailed(number, message)


_FAILED_HERE: dict[tuple[str, int], str] = {}  # (run, member) -> why, in this executor process


# --- opening ---------------------------------------------------------------------------------------


def open_tables(config: MigratorConfig, backend: Backend, *, parallelism: int, kind: Kind) -> TableSet:
    """Prepare every table of the run and check the savepoint it resumes; nothing is written.

    A refused table closes what was opened and raises one error naming every table that cannot run.
    """
    jobs, removed = plan_jobs(config, backend)
    if not config.many_tables:
        prepared = backend.prepare(config, parallelism=parallelism)
        try:
            check_savepoint(config.migrator_state, kind, prepared)
        except BaseException:
            prepared.close()
            raise
        return TableSet([Member(jobs[0], prepared, 0)], many=False)
    state = config.migrator_state
    if state is not None:  # the kind; the identities are each table's
        refuse_savepoint(savepoint_identity_problems(state, kind, state.source_identity or "",
                                                     state.target_identity or ""))
    runs = backend.prepare_tables([job.config for job in jobs], parallelism=parallelism)
    members: list[Member] = []
    refused: list[tuple[str, MigratorError]] = []
    offset = 0
    for job, run in zip(jobs, runs, strict=True):
        if isinstance(run, MigratorError):
            refused.append((job.name, run))
            continue
        try:
            check_savepoint(job.config.migrator_state, kind, run)
        except SavepointMismatch as exc:
            refused.append((job.name, exc))
            run.close()
            continue
        members.append(Member(job, run, offset))
        offset += run.splits_total
    if refused:
        for member in members:
            member.prepared.close()
        raise _refusal(refused, len(jobs))
    return TableSet(members, many=True, isolate=config.on_table_failure == "continue", removed=removed)


def _refusal(refused: list[tuple[str, MigratorError]], total: int) -> MigratorError:
    """One error for every table that cannot run: a config error when all are, else a runtime failure."""
    if all(isinstance(error, ConfigError) for _, error in refused):
        return ConfigError([(f"{name}: {path}" if path else name, message)
                            for name, error in refused for path, message in getattr(error, "problems", [])])
    lines = [f"{len(refused)} of {total} tables cannot be run as asked; nothing was written:"]
    for name, error in refused:
        text = error.render().replace("\n", "\n      ")
        lines.append(f"  - {name}: {text}")
    return RuntimeFailure("\n".join(lines), hint="fix them, or leave them out with source.exclude, then run again")
