"""Driver-side preparation of a CQL -> CQL run, shared by ``check``, ``migrate`` and ``validate``.

``prepare`` connects to both clusters, reads both schemas, checks they fit together, and works out
the ring splitting and what a savepoint says is already done. Nothing is written there. Whether the
savepoint may be resumed at all is checked next by the runner (``runner.open_run``), with this
backend's own part in ``CqlRun.savepoint_problems``. The ``CqlRun`` it returns is
the backend's ``Prepared`` run: it creates the target table (only when the copy task is asked for),
and builds the executors' copy and compare plans.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from cassandra import InvalidRequest
from cassandra.query import SimpleStatement

from migrator.backends.base import (
    CompareTask,
    CopyTask,
    WorkItem,
)
from migrator.backends.cassandra import cql, savepoint
from migrator.backends.cassandra import schema as cschema
from migrator.backends.cassandra.compare import compare_item
from migrator.backends.cassandra.compare_plan import Sides, build_compare_plan, repair_plan
from migrator.backends.cassandra.connection import ConnectionSpec, connect, shutdown, spec_from_settings
from migrator.backends.cassandra.copier import copy_item
from migrator.backends.cassandra.plan import CopyPlan, build_plan, copy_mode
from migrator.config import CassandraSource, CassandraTarget, MigratorConfig, MigratorState, ValidationSettings
from migrator.differences import DifferenceSink
from migrator.errors import ConfigError, MigratorError, RuntimeFailure
from migrator.planning import tokens
from migrator.report.model import ValidationReport

log = logging.getLogger(__name__)


@dataclass
class CqlRun:
    """Everything known before the first write; the Cassandra backend's ``Prepared`` run."""

    config: MigratorConfig
    source: CassandraSource  # the config's blocks, as the CQL types ``backend_for`` let through
    target: CassandraTarget
    source_spec: ConnectionSpec
    target_spec: ConnectionSpec
    source_schema: cschema.TableSchema
    target_schema: cschema.TableSchema | None
    create_statements: list[str]
    compat: cschema.Compatibility
    partitioner: tokens.Partitioner
    split_count: int
    plan: tokens.Plan
    source_identity: str
    target_identity: str
    collection_metadata: bool
    warnings: list[str] = field(default_factory=list)
    sessions: list[Any] = field(default_factory=list)
    savepoint_note: str = savepoint.NOTE
    max_partitions: int | None = None  # one Spark partition per split
    split_unit: str = "token"
    created_target: bool = False  # ensure_target created the table: it holds no row yet

    @property
    def renames(self) -> dict[str, str]:
        """``{source column: target column}`` from the config."""
        return self.config.rename_map

    @property
    def source_session(self) -> Any:
        """The driver-side session to the source (open until ``close``)."""
        return self.sessions[0]

    @property
    def target_session(self) -> Any:
        """The driver-side session to the target (open until ``close``)."""
        return self.sessions[1]

    @property
    def splits_total(self) -> int:
        """Splits of the ring in this plan."""
        return len(self.plan.all_ranges)

    @property
    def splits_done_before(self) -> int:
        """Splits the savepoint's ranges cover completely."""
        return self.plan.done_count

    def pending(self) -> list[WorkItem]:
        """One item per split not finished yet; its spec is the ``tokens.Work`` (the pieces left)."""
        return [WorkItem(w.index, w) for w in self.plan.pending]

    def copy_task(self) -> CopyTask:
        """Create the target table if it is missing, then return the executors' copy function."""
        self.ensure_target()
        plan = self.copy_plan()
        log.info("copy mode: %s", plan.mode)
        return functools.partial(copy_item, plan)

    def compare_task(self, settings: ValidationSettings, sink: DifferenceSink | None = None) -> CompareTask:
        """The executors' compare function; refuses a missing target table."""
        if self.target_schema is None:
            t = self.target
            raise RuntimeFailure(f"the target table {t.keyspace}.{t.table} does not exist: nothing to validate")
        repair = repair_plan(self.copy_plan(), settings, self.target) if settings.repair_keys else None
        plan = build_compare_plan(self.sides(), settings, self.source_user_types(), repair,
                                  digests=sink is not None and sink.digests)
        return functools.partial(compare_item, plan, sink)

    def sides(self) -> Sides:
        """Both tables and how they map, for the compare plan; the target table must exist."""
        assert self.target_schema is not None
        return Sides(self.source_schema, self.target_schema, self.compat.mappings, self.renames, self.source,
                     self.target, self.source_spec, self.target_spec, self.partitioner.short_name,
                     self.collection_metadata)

    def savepoint_problems(self, state: MigratorState) -> list[tuple[str, str]]:
        """A savepoint written for another partitioner or another splitting of the ring."""
        return savepoint.problems(state, self.partitioner, self.split_count, self.source.split_count, self.plan)

    def savepoint_fields(self, finished: Iterable[int]) -> dict[str, Any]:
        """``skipTokenRanges``: the savepoint's ranges plus the splits ``finished`` in this run."""
        return savepoint.fields(self.plan, finished)

    def state(self) -> dict[str, Any]:
        """The partitioner and ``splitCount`` the finished ranges belong to."""
        return savepoint.state(self.partitioner, self.split_count)

    def change_stream(self) -> None:
        """No change streams from a CQL source in this version (the config cannot ask for one)."""
        return None

    def finish(self) -> list[str]:
        """Nothing waits for the whole copy."""
        return []

    def finish_report(self, report: ValidationReport) -> ValidationReport:
        """Every count is made range by range: the report as it is."""
        return report

    def describe(self) -> str:
        """The plan as text: both sides, the mode, each column's mapping, the target table and ranges."""
        src, tgt = self.source_schema, self.target_schema
        renames = self.renames
        lines = [
            f"source: {self.source_identity} at {self.source_spec.address} ({self.partitioner.short_name})",
            f"target: {self.target_identity} at {self.target_spec.address}",
            f"mode:   {copy_mode(src, bool(self.source.preserve_timestamps))}",
            "columns:",
        ]
        for col in src.columns:
            name = renames.get(col.name, col.name)
            arrow = f" -> {name}" if name != col.name else ""
            how = next((m.how for m in self.compat.mappings if m.source.name == col.name), "")
            converted = ", " + how if how == "convert" else ""
            lines.append(f"  {col.name}{arrow}: {col.cql_type} ({col.kind}{converted})")
        if tgt is None:
            lines.append("target table: missing, would be created with:")
            lines += [f"  {stmt};" for stmt in self.create_statements]
        else:
            lines.append("target table: exists and is compatible")
        plan = self.plan
        partly = f", {sum(1 for w in plan.pending if w.partial)} of them partly done" if plan.pending else ""
        lines.append(
            f"ranges: {len(plan.all_ranges)} (splitCount), {plan.done_count} already done, "
            f"{len(plan.pending)} to copy{partly}"
        )
        lines += [f"note: {warning}" for warning in self.warnings]
        lines.append("nothing was written")
        return "\n".join(lines)

    def close(self) -> None:
        """Shut down the driver-side sessions."""
        shutdown(self.sessions)

    def ensure_target(self) -> None:
        """Create the target table (and its UDTs) from the source schema when it does not exist."""
        if self.target_schema is not None:
            return
        session = self.target_session
        t = self.target
        for statement in self.create_statements:
            log.info("creating on the target: %s", statement)
            session.execute(statement, timeout=120)
        if self.source_schema.user_types:
            session.cluster.refresh_schema_metadata(max_schema_agreement_wait=60)
        else:  # the table alone: a whole-schema refresh grows with the keyspace (many-table runs create many)
            session.cluster.refresh_table_metadata(t.keyspace, t.table, max_schema_agreement_wait=60)
        created = cschema.read_schema(session, t.keyspace, t.table, role="target")
        if created is None:
            raise RuntimeFailure(f"created {t.keyspace}.{t.table} on the target but cannot see it")
        self.target_schema = created
        self.compat = cschema.require_compatible(self.source_schema, created, self.renames)
        self.created_target = True

    def copy_plan(self) -> CopyPlan:
        """The executors' copy plan; the target table must exist by now."""
        src, tgt = self.source, self.target
        assert self.target_schema is not None, "create the target table first"
        return build_plan(
            source=self.source_schema,
            target=self.target_schema,
            mappings=self.compat.mappings,
            source_spec=self.source_spec,
            target_spec=self.target_spec,
            source_consistency=src.consistency_level,
            target_consistency=tgt.consistency_level,
            fetch_size=src.fetch_size,
            preserve_timestamps=bool(src.preserve_timestamps),
            collection_metadata=self.collection_metadata,
            where=src.where,
            strip_decimals=bool(tgt.strip_trailing_zeros_for_decimals),
            constant_ttl=tgt.write_ttl_in_s,
            constant_timestamp=tgt.write_writetimestamp_in_us,
            user_type_fields=self.target_user_type_fields(),
            batch_rows=tgt.batch_rows,
            batch_bytes=tgt.batch_bytes,
            target_fresh=self.created_target,
        )

    def target_user_type_fields(self) -> dict[str, tuple[str, ...]]:
        """Field names of the target keyspace's UDTs, for field-by-field writes of non-frozen UDTs."""
        if not any(c.multicell == "udt" for c in self.source_schema.columns):
            return {}
        ks = self.target_session.cluster.metadata.keyspaces[self.target.keyspace]
        return {name: tuple(ut.field_names) for name, ut in ks.user_types.items()}

    def source_user_types(self) -> dict[str, tuple[tuple[str, str], ...]]:
        """The source keyspace's UDTs as (field, type) pairs, for ordering and decoding values."""
        if not self.source_schema.user_types:
            return {}
        ks = self.source_session.cluster.metadata.keyspaces[self.source.keyspace]
        return {name: tuple(zip(ut.field_names, ut.field_types, strict=True)) for name, ut in ks.user_types.items()}


def prepare(config: MigratorConfig, *, parallelism: int) -> CqlRun:
    """Connect, read and check both sides; plan the ranges. Raises before anything is written."""
    s, t = config.source, config.target
    assert isinstance(s, CassandraSource) and isinstance(t, CassandraTarget), "backend_for checks the pair"
    src_spec = spec_from_settings("source", s)
    tgt_spec = spec_from_settings("target", t)
    sessions = []
    try:
        src = connect(src_spec)
        sessions.append(src)
        tgt = connect(tgt_spec)
        sessions.append(tgt)
        run = _prepare(config, s, t, src, tgt, src_spec, tgt_spec, parallelism)
    except BaseException:
        for session in sessions:
            session.cluster.shutdown()
        raise
    run.sessions = sessions
    return run


def list_tables(config: MigratorConfig) -> list[str]:
    """The tables of the source keyspace (materialized views are not tables)."""
    s = config.source
    assert isinstance(s, CassandraSource), "backend_for checks the pair"
    spec = spec_from_settings("source", s)
    session = connect(spec)
    try:
        keyspace = session.cluster.metadata.keyspaces.get(s.keyspace)
        if keyspace is None:
            raise RuntimeFailure(f"keyspace {s.keyspace} does not exist on the source cluster at {spec.address}"
                                 f"{cql.near_miss(s.keyspace, session.cluster.metadata.keyspaces)}",
                                 hint="fix source.keyspace")
        return sorted(keyspace.tables)
    finally:
        session.cluster.shutdown()


def prepare_tables(configs: list[MigratorConfig], *, parallelism: int) -> list[CqlRun | MigratorError]:
    """``prepare`` for each table, over one session per cluster; a table that cannot run gets its error."""
    first = configs[0]
    s, t = first.source, first.target
    assert isinstance(s, CassandraSource) and isinstance(t, CassandraTarget), "backend_for checks the pair"
    src_spec, tgt_spec = spec_from_settings("source", s), spec_from_settings("target", t)
    sessions: list[Any] = []
    out: list[CqlRun | MigratorError] = []
    try:
        sessions.append(connect(src_spec))
        sessions.append(connect(tgt_spec))
        src, tgt = sessions
        for config in configs:
            try:
                fitted = fit_small(config, src)
                source, target = fitted.source, fitted.target
                assert isinstance(source, CassandraSource) and isinstance(target, CassandraTarget)
                run = _prepare(fitted, source, target, src, tgt, src_spec, tgt_spec, parallelism)
            except MigratorError as exc:
                out.append(exc)
                continue
            run.sessions = list(sessions)  # shared: closing is idempotent, and the table set closes all at once
            out.append(run)
    finally:
        if not any(isinstance(run, CqlRun) for run in out):
            for session in sessions:
                session.cluster.shutdown()
    return out


SMALL_TABLE_ROWS = 20_000
"""In a many-table run, a table with fewer rows than this is split by its size, not by the cores."""
ROWS_PER_SMALL_SPLIT = 5_000
"""Rows per split of such a small table: enough that a split's work outweighs the cost of its Spark task."""


def fit_small(config: MigratorConfig, session: Any) -> MigratorConfig:
    """``config`` with ``source.splitCount`` fitted to a small table, unless the config or savepoint fixes it.

    The rows are counted up to ``SMALL_TABLE_ROWS`` by reading the first partition key column only.
    """
    s = config.source
    assert isinstance(s, CassandraSource)
    state = config.migrator_state
    if s.split_count is not None or (state is not None and state.split_count is not None):
        return config
    table = session.cluster.metadata.keyspaces.get(s.keyspace)
    meta = table.tables.get(s.table) if table is not None else None
    if meta is None:
        return config  # prepare names the missing table
    key = cql.quote(meta.partition_key[0].name)
    query = f"SELECT {key} FROM {cql.quote(s.keyspace)}.{cql.quote(s.table)} LIMIT {SMALL_TABLE_ROWS}"
    rows = sum(1 for _ in session.execute(SimpleStatement(query, fetch_size=ROWS_PER_SMALL_SPLIT)))
    if rows >= SMALL_TABLE_ROWS:
        return config
    splits = max(1, -(-rows // ROWS_PER_SMALL_SPLIT))
    return config.model_copy(update={"source": s.model_copy(update={"split_count": splits})})


def _prepare(config: MigratorConfig, s: CassandraSource, t: CassandraTarget, src: Any, tgt: Any,
             src_spec: ConnectionSpec, tgt_spec: ConnectionSpec, parallelism: int) -> CqlRun:
    source_schema = cschema.read_schema(src, s.keyspace, s.table, role="source")
    if source_schema is None:
        tables = src.cluster.metadata.keyspaces[s.keyspace].tables
        raise RuntimeFailure(
            f"table {s.keyspace}.{s.table} does not exist on the source cluster at {src_spec.address}"
            f"{cql.near_miss(s.table, tables)}",
            hint="fix source.keyspace / source.table",
        )
    renames = config.rename_map
    check_renames(source_schema, renames)
    target_schema = cschema.read_schema(tgt, t.keyspace, t.table, role="target")
    create: list[str] = []
    if target_schema is None:
        create = cschema.create_statements(source_schema, t.keyspace, t.table, renames)
        created = renamed_schema(source_schema, t.keyspace, t.table, renames)
        compat = cschema.compare(source_schema, created, renames)
    else:
        compat = cschema.require_compatible(source_schema, target_schema, renames)
    partitioner = tokens.partitioner_for(src.cluster.metadata.partitioner)
    _require_preservable(s, compat)
    warnings = _mode_warnings(s, t, source_schema)
    collection_metadata = reads_collection_metadata(src, s, source_schema)
    if not collection_metadata:
        warnings.append(
            "the source cannot report WRITETIME/TTL per collection element (ScyllaDB): non-frozen "
            "collections and UDTs are written whole, with the current time as their timestamp"
        )
    state = config.migrator_state
    splits = savepoint.split_count(s.split_count, state, parallelism)
    plan = savepoint.ring_plan(config.skip_token_ranges, partitioner, splits)
    source_identity = f"{src.cluster.metadata.cluster_name}/{s.keyspace}.{s.table}"
    target_identity = f"{tgt.cluster.metadata.cluster_name}/{t.keyspace}.{t.table}"
    return CqlRun(
        config=config, source=s, target=t, source_spec=src_spec, target_spec=tgt_spec, source_schema=source_schema,
        target_schema=target_schema, create_statements=create, compat=compat, partitioner=partitioner,
        split_count=splits, plan=plan, source_identity=source_identity, target_identity=target_identity,
        collection_metadata=collection_metadata, warnings=warnings + compat.notes,
    )


def check_renames(source: cschema.TableSchema, renames: dict[str, str]) -> None:
    """Refuse (exit 2) renames of columns the source lacks, or that give two columns one name."""
    known = [c.name for c in source.columns]
    problems = [
        (f"renames[{i}].from", f"the source table has no column {name!r}{cql.near_miss(name, known)}")
        for i, name in enumerate(renames)
        if source.column(name) is None
    ]
    targets = list(renames.values()) + [c.name for c in source.columns if c.name not in renames]
    dupes = sorted({n for n in targets if targets.count(n) > 1})
    problems += [("renames", f"two columns would be named {n!r} after renaming") for n in dupes]
    if problems:
        raise ConfigError(problems)


def renamed_schema(
    source: cschema.TableSchema, keyspace: str, table: str, renames: dict[str, str]
) -> cschema.TableSchema:
    """The source table as ``keyspace.table`` with its columns renamed: the table a copy creates."""
    cols = tuple(
        cschema.Column(renames.get(c.name, c.name), c.cql_type, c.kind, c.reversed, c.multicell)
        for c in source.columns
    )
    return cschema.TableSchema(keyspace, table, cols, source.default_ttl, source.user_types)


def _require_preservable(source: CassandraSource, compat: cschema.Compatibility) -> None:
    """Element-wise timestamp copies need the same non-frozen type on both sides."""
    if not source.preserve_timestamps:
        return
    problems = [
        f"column {m.source.name}: source type {m.source.cql_type} and target type {m.target.cql_type} differ; "
        "with preserveTimestamps a non-frozen collection or UDT must have exactly the same type on both sides"
        for m in compat.mappings
        if m.source.multicell and not m.source.is_counter and (m.how != "passthrough" or not m.target.multicell)
    ]
    if problems:
        raise cschema.SchemaMismatch(
            "the target table cannot receive per-element timestamps:\n" + "\n".join(f"  - {p}" for p in problems),
            hint="make the target column non-frozen with the same type, or set preserveTimestamps: false",
        )


def _mode_warnings(s: CassandraSource, t: CassandraTarget, source: cschema.TableSchema) -> list[str]:
    out = []
    if source.is_counter_table and s.preserve_timestamps:
        out.append(
            "preserveTimestamps is ignored for a counter table (counter updates cannot carry a timestamp)"
        )
    if s.preserve_timestamps and not source.is_counter_table and (
        t.write_ttl_in_s is not None or t.write_writetimestamp_in_us is not None
    ):
        out.append("writeTTLInS / writeWritetimestampInuS are ignored because preserveTimestamps is on")
    return out


def reads_collection_metadata(src: Any, s: CassandraSource, source: cschema.TableSchema) -> bool:
    """Whether WRITETIME()/TTL() work on the table's non-frozen columns (Cassandra 5 yes, Scylla no)."""
    multi = [c for c in source.cells if c.multicell]
    if not (s.preserve_timestamps and multi) or source.is_counter_table:
        return True
    try:
        src.prepare(f"SELECT {cql.writetime(multi[0].name)} FROM {source.qualified} LIMIT 1")
    except InvalidRequest:
        return False
    return True
