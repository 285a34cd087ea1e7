"""Driver-side preparation of a CQL -> CQL run, shared by ``check``, ``migrate`` and ``validate``.

Connects to both clusters, reads both schemas, checks they fit together, works out the ring
splitting and what a savepoint says is already done, and refuses a savepoint that was written for
another source, target or splitting. Nothing is written here.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from migrator.backends.cassandra import schema as cschema
from migrator.backends.cassandra.connection import ConnectionSpec, connect, spec_from_settings
from migrator.backends.cassandra.plan import CopyPlan, build_plan
from migrator.errors import ConfigError, RuntimeFailure, SavepointMismatch
from migrator.planning import tokens

log = logging.getLogger(__name__)

CQL_SOURCES = frozenset({"cassandra", "scylla"})
CQL_TARGETS = frozenset({"cassandra", "scylla"})
MIN_DEFAULT_SPLITS = 16
SPLITS_PER_CORE = 8


def default_split_count(parallelism: int) -> int:
    """Upstream's advice: about 8 ranges per Spark core; never fewer than 16."""
    return max(MIN_DEFAULT_SPLITS, SPLITS_PER_CORE * max(1, parallelism))


@dataclass
class RunContext:
    """Everything known before the first write."""

    config: Any  # MigratorConfig
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

    @property
    def renames(self) -> dict[str, str]:
        """``{source column: target column}`` from the config."""
        return renames_of(self.config)

    @property
    def source_session(self) -> Any:
        """The driver-side session to the source (open until ``close``)."""
        return self.sessions[0]

    @property
    def target_session(self) -> Any:
        """The driver-side session to the target (open until ``close``)."""
        return self.sessions[1]

    def close(self) -> None:
        """Shut down the driver-side sessions."""
        for session in self.sessions:
            session.cluster.shutdown()
        self.sessions.clear()

    def copy_plan(self, *, user_type_fields: dict[str, tuple[str, ...]]) -> CopyPlan:
        """The executors' copy plan; the target table must exist by now."""
        src, tgt = self.config.source, self.config.target
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
            user_type_fields=user_type_fields,
            batch_rows=tgt.batch_rows,
            batch_bytes=tgt.batch_bytes,
        )


def renames_of(config: Any) -> dict[str, str]:
    """``{source column: target column}`` from a config's ``renames``."""
    return {r.from_: r.to for r in (config.renames or [])}


def require_cql_pair(config: Any) -> None:
    """Refuse, as config errors, what this version cannot run: checked before connecting anywhere."""
    from migrator.savepoints import check_location

    s, t = config.source.type, config.target.type
    if s not in CQL_SOURCES or t not in CQL_TARGETS:
        raise ConfigError(
            [("source.type" if s not in CQL_SOURCES else "target.type",
              f"migrating from {s!r} to {t!r} is not supported by this version yet; "
              "supported: cassandra/scylla -> cassandra/scylla")]
        )
    check_location(config.savepoints.location)
    problems = []
    for role in ("source", "target"):
        cloud = getattr(config, role).cloud
        if cloud is not None and "://" in cloud.secure_bundle_path and \
                not cloud.secure_bundle_path.startswith("file://"):
            problems.append((f"{role}.cloud.secureBundlePath",
                             "the Python driver opens the bundle as a local file: download it and give its path "
                             "(or ship it with spark-submit --files and give the bare file name)"))
    if problems:
        raise ConfigError(problems)


def prepare(config: Any, *, parallelism: int, kind: str = "migrate") -> RunContext:
    """Connect, read and check both sides; plan the ranges. Raises before anything is written."""
    require_cql_pair(config)
    src_spec = spec_from_settings("source", config.source)
    tgt_spec = spec_from_settings("target", config.target)
    sessions = []
    try:
        src = connect(src_spec)
        sessions.append(src)
        tgt = connect(tgt_spec)
        sessions.append(tgt)
        ctx = _prepare(config, src, tgt, src_spec, tgt_spec, parallelism, kind)
    except BaseException:
        for s in sessions:
            s.cluster.shutdown()
        raise
    ctx.sessions = sessions
    return ctx


def _prepare(config: Any, src: Any, tgt: Any, src_spec: ConnectionSpec, tgt_spec: ConnectionSpec,
             parallelism: int, kind: str) -> RunContext:
    s, t = config.source, config.target
    source_schema = cschema.read_schema(src, s.keyspace, s.table, role="source")
    if source_schema is None:
        raise RuntimeFailure(
            f"table {s.keyspace}.{s.table} does not exist on the source cluster at {src_spec.address}",
            hint="fix source.keyspace / source.table",
        )
    renames = renames_of(config)
    _check_renames(source_schema, renames)
    target_schema = cschema.read_schema(tgt, t.keyspace, t.table, role="target")
    create: list[str] = []
    if target_schema is None:
        create = cschema.create_statements(source_schema, t.keyspace, t.table, renames)
        created = _renamed(source_schema, t.keyspace, t.table, renames)
        compat = cschema.compare(source_schema, created, renames)
    else:
        compat = cschema.require_compatible(source_schema, target_schema, renames)
    partitioner = tokens.partitioner_for(src.cluster.metadata.partitioner)
    _require_preservable(config, compat)
    ctx_warnings = _mode_warnings(config, source_schema)
    collection_metadata = _collection_metadata(src, config, source_schema)
    if not collection_metadata:
        ctx_warnings.append(
            "the source cannot report WRITETIME/TTL per collection element (ScyllaDB): non-frozen "
            "collections and UDTs are written whole, with the current time as their timestamp"
        )
    state = getattr(config, "migrator_state", None)
    split_count = s.split_count or (state.split_count if state and state.split_count else None)
    split_count = split_count or default_split_count(parallelism)
    skip = tokens.skip_ranges(config.skip_token_ranges, partitioner)
    try:
        plan = tokens.plan(partitioner, split_count, skip)
    except ValueError as exc:
        raise SavepointMismatch([("skipTokenRanges", str(exc))]) from None
    source_identity = f"{src.cluster.metadata.cluster_name}/{s.keyspace}.{s.table}"
    target_identity = f"{tgt.cluster.metadata.cluster_name}/{t.keyspace}.{t.table}"
    _check_savepoint(
        state, kind, source_identity, target_identity, partitioner, split_count, s.split_count, plan
    )
    return RunContext(
        config=config, source_spec=src_spec, target_spec=tgt_spec, source_schema=source_schema,
        target_schema=target_schema, create_statements=create, compat=compat, partitioner=partitioner,
        split_count=split_count, plan=plan, source_identity=source_identity, target_identity=target_identity,
        collection_metadata=collection_metadata, warnings=ctx_warnings + compat.notes,
    )


def _check_renames(source: cschema.TableSchema, renames: dict[str, str]) -> None:
    problems = [
        (f"renames[{i}].from", f"the source table has no column {name!r}")
        for i, name in enumerate(renames)
        if source.column(name) is None
    ]
    targets = list(renames.values()) + [c.name for c in source.columns if c.name not in renames]
    dupes = sorted({n for n in targets if targets.count(n) > 1})
    problems += [("renames", f"two columns would be named {n!r} after renaming") for n in dupes]
    if problems:
        raise ConfigError(problems)


def _renamed(
    source: cschema.TableSchema, keyspace: str, table: str, renames: dict[str, str]
) -> cschema.TableSchema:
    cols = tuple(
        cschema.Column(renames.get(c.name, c.name), c.cql_type, c.kind, c.reversed, c.multicell)
        for c in source.columns
    )
    return cschema.TableSchema(keyspace, table, cols, source.default_ttl, source.user_types)


def _require_preservable(config: Any, compat: cschema.Compatibility) -> None:
    """Element-wise timestamp copies need the same non-frozen type on both sides."""
    if not config.source.preserve_timestamps:
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


def _mode_warnings(config: Any, source: cschema.TableSchema) -> list[str]:
    out = []
    s, t = config.source, config.target
    if source.is_counter_table and s.preserve_timestamps:
        out.append(
            "preserveTimestamps is ignored for a counter table (counter updates cannot carry a timestamp)"
        )
    if s.preserve_timestamps and not source.is_counter_table and (
        t.write_ttl_in_s is not None or t.write_writetimestamp_in_us is not None
    ):
        out.append("writeTTLInS / writeWritetimestampInuS are ignored because preserveTimestamps is on")
    return out


def _collection_metadata(src: Any, config: Any, source: cschema.TableSchema) -> bool:
    """Whether WRITETIME()/TTL() work on the table's non-frozen columns (Cassandra 5 yes, Scylla no)."""
    multi = [c for c in source.cells if c.multicell]
    if not (config.source.preserve_timestamps and multi) or source.is_counter_table:
        return True
    from cassandra import InvalidRequest

    from migrator.backends.cassandra import cql

    try:
        src.prepare(f"SELECT {cql.writetime(multi[0].name)} FROM {source.qualified} LIMIT 1")
    except InvalidRequest:
        return False
    return True


def _check_savepoint(state: Any, kind: str, source_identity: str, target_identity: str,
                     partitioner: tokens.Partitioner, split_count: int, configured_splits: int | None,
                     plan: tokens.Plan) -> None:
    """Refuse a savepoint whose finished ranges would mean something else in this run."""
    if state is None:
        return
    fix = (
        "use the savepoint with the config it was written for, "
        "or delete skipTokenRanges and migratorState to start over"
    )
    problems = []
    if state.kind and state.kind != kind:
        problems.append(
            ("migratorState.kind", f"this savepoint was written by '{state.kind}', not '{kind}'; {fix}")
        )
    if state.source_identity and state.source_identity != source_identity:
        problems.append(("migratorState.sourceIdentity",
                         f"written for source {state.source_identity}, "
                         f"but the source is now {source_identity}; {fix}"))
    if state.target_identity and state.target_identity != target_identity:
        problems.append(("migratorState.targetIdentity",
                         f"written for target {state.target_identity}, "
                         f"but the target is now {target_identity}; {fix}"))
    if state.partitioner and state.partitioner != partitioner.short_name:
        problems.append(("migratorState.partitioner",
                         f"written for {state.partitioner}, the source uses {partitioner.short_name}; {fix}"))
    if state.split_count and configured_splits and state.split_count != configured_splits:
        problems.append(("source.splitCount",
                         f"the savepoint's ranges were split {state.split_count} ways, the config now says "
                         f"{configured_splits}; set splitCount back to {state.split_count}, or {fix}"))
    elif not plan.skip_aligned:
        problems.append(("skipTokenRanges",
                         f"the finished ranges do not line up with a {split_count}-way split of the ring; "
                         f"the file was edited or written with another splitting; {fix}"))
    if problems:
        raise SavepointMismatch(problems)
