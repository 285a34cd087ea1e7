"""Driver side of importing Parquet files into a CQL table (source ``type: parquet``).

The files under ``source.path`` (recursively; hidden names such as ``_SUCCESS`` skipped) are listed
with their versions, and every file still to import has its footer read here, so a truncated file
or one that is not Parquet is refused by name before anything is written. Each file is one work
item (``loader``). A savepoint lists the files imported (``skipParquetFiles``, upstream's key,
whatever URI spelling it used) and their versions (``migratorState.parquetFiles``): a resumed import
skips them, and refuses to when one of them changed since.

Columns map by name (after ``renames``) onto the target table, which must hold every column of the
files and get its whole primary key from them. A missing target table is created from the schema our
own files carry. ``__migrator_meta_<column>_writetime`` / ``_ttl`` columns, ours or upstream's,
make the import keep each cell's write time and TTL.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from migrator.backends.base import CompareTask, CopyTask, WorkItem
from migrator.backends.cassandra import cql
from migrator.backends.cassandra import schema as cschema
from migrator.backends.cassandra.connection import ConnectionSpec, connect, shutdown, spec_from_settings
from migrator.backends.cassandra.plan import COUNTER, PLAIN, PRESERVE, CellSpec, CopyPlan
from migrator.backends.parquet import layout
from migrator.backends.parquet.loader import FileSpec, LoadPlan, load_item
from migrator.backends.parquet.store import ParquetFile, Store, same_file, store_for
from migrator.config import CassandraTarget, MigratorConfig, MigratorState, ParquetSource, ValidationSettings
from migrator.differences import DifferenceSink
from migrator.errors import ConfigError, RuntimeFailure, SchemaMismatch
from migrator.report.model import ValidationReport

log = logging.getLogger(__name__)
NOTE = "skipParquetFiles lists the files imported; remove one to import it again"


@dataclass(frozen=True)
class Footer:
    """What a file's footer says: its rows, columns (name -> Arrow type) and our table schema if any."""

    rows: int
    columns: dict[str, Any]
    table: str | None


@dataclass
class ParquetLoadRun:
    """Parquet files to import into a CQL table; the ``Prepared`` run of a Parquet source."""

    config: MigratorConfig
    source: ParquetSource
    target: CassandraTarget
    store: Store
    files: list[ParquetFile]  # every file listed, sorted by URI
    skip: set[tuple[str, str]]  # files imported by earlier runs (``same_file`` names)
    footers: dict[str, Footer]  # of the files still to import, by URI
    target_spec: ConnectionSpec
    target_schema: cschema.TableSchema | None
    create_statements: list[str]
    target_identity: str
    tracking: bool
    warnings: list[str] = field(default_factory=list)
    sessions: list[Any] = field(default_factory=list)
    savepoint_note: str = NOTE
    max_partitions: int | None = None
    split_unit: str = "file"
    created_target: bool = False

    @property
    def source_identity(self) -> str:
        """The files' location."""
        return self.store.location

    @property
    def splits_total(self) -> int:
        """Files listed."""
        return len(self.files)

    @property
    def splits_done_before(self) -> int:
        """Files imported by earlier runs."""
        return sum(1 for f in self.files if same_file(f.uri) in self.skip)

    def pending(self) -> list[WorkItem]:
        """One item per file not imported yet, numbered by its place in the listing."""
        return [WorkItem(i, FileSpec(f, self.footers[f.uri].rows)) for i, f in enumerate(self.files)
                if same_file(f.uri) not in self.skip]

    def copy_task(self) -> CopyTask:
        """Create the target table if it is missing, then return the executors' import function."""
        self._ensure_target()
        return functools.partial(load_item, self.load_plan())

    def load_plan(self) -> LoadPlan:
        """The columns to read, in the row layout of the copy plan the CQL writers take."""
        assert self.target_schema is not None, "create the target table first"
        columns = self._columns()
        renames = self.config.rename_map
        by_target = {renames.get(name, name): name for name in columns if layout.meta_of(name) is None}
        target = self.target_schema
        missing = [c.name for c in target.primary_key if c.name not in by_target]
        unknown = sorted(n for n in by_target if target.column(n) is None)
        if missing or unknown:
            raise SchemaMismatch(_mismatch(target, missing, unknown), hint="add renames (Parquet column -> target "
                                 "column), or fix the target table")
        read: list[tuple[str, str]] = []  # (Parquet column, CQL type to convert to)

        def at(name: str, cql_type: str) -> int:
            read.append((name, cql_type))
            return len(read) - 1

        pk = tuple((at(by_target[c.name], c.cql_type), c.name) for c in target.partition_key)
        ck = tuple((at(by_target[c.name], c.cql_type), c.name) for c in target.clustering)
        cells = []
        for column in target.cells:
            name = by_target.get(column.name)
            if name is None:
                continue
            value = at(name, column.cql_type)
            wt = tt = None
            metas = {w: columns.get(layout.meta_name(name, w)) for w in (layout.WRITETIME, layout.TTL)}
            if all(t is not None for t in metas.values()):
                element_wise = all(_is_list(t) for t in metas.values())
                if element_wise and column.multicell is None:
                    self.warnings.append(f"column {column.name}: the files have one write time per element, the "
                                         "target column is frozen: written with the current time")
                else:
                    multicell = column.multicell is not None and element_wise
                    wt = at(layout.meta_name(name, layout.WRITETIME), layout.meta_type(layout.WRITETIME, multicell))
                    tt = at(layout.meta_name(name, layout.TTL), layout.meta_type(layout.TTL, multicell))
            element_wise_cell = column.multicell is not None and wt is not None and _is_list(
                columns[layout.meta_name(name, layout.WRITETIME)])
            cells.append(CellSpec(
                target=column.name, static=column.kind == cschema.STATIC,
                multicell=column.multicell if element_wise_cell else None, value=value, writetime=wt, ttl=tt,
                transform="strip" if self.target.strip_trailing_zeros_for_decimals and column.cql_type == "decimal"
                else None,
                udt_fields=self._udt_fields(column) if element_wise_cell and column.multicell == "udt" else ()))
        mode = COUNTER if target.is_counter_table else PRESERVE if any(c.writetime is not None for c in cells) \
            else PLAIN
        t = self.target
        copy = CopyPlan(
            source=self.target_spec, target=self.target_spec, source_consistency=t.consistency_level,
            target_consistency=t.consistency_level, fetch_size=0, mode=mode, select="",
            target_table=target.qualified, partition_key=pk, clustering=ck, cells=tuple(cells),
            constant_ttl=t.write_ttl_in_s if mode == PLAIN else None,
            constant_timestamp=t.write_writetimestamp_in_us if mode == PLAIN else None,
            strip_decimals=bool(t.strip_trailing_zeros_for_decimals), target_keyspace=target.keyspace,
            batch_rows=t.batch_rows, batch_bytes=t.batch_bytes, target_fresh=self.created_target)
        drop = t.drop_null_primary_keys is not False  # unset: true for a Parquet source, as upstream
        return LoadPlan(copy=copy, store=self.store, columns=tuple(read), user_types=tuple(self._user_types()),
                        drop_null_keys=drop)

    def _columns(self) -> dict[str, Any]:
        """The files' columns (name -> Arrow type): every file to import must have the same."""
        footers = list(self.footers.items())
        if not footers:
            return {}
        first_uri, first = footers[0]
        for uri, footer in footers[1:]:
            if set(footer.columns) != set(first.columns):
                added = sorted(set(footer.columns) - set(first.columns))
                lost = sorted(set(first.columns) - set(footer.columns))
                raise RuntimeFailure(f"{uri} has other columns than {first_uri} (extra: {added}, missing: {lost})",
                                     hint="import files of one table at a time")
        return first.columns

    def _udt_fields(self, column: cschema.Column) -> tuple[str, ...]:
        fields = dict(self._user_types()).get(cql.unquote(column.cql_type), ())
        return tuple(name for name, _ in fields)

    def _user_types(self) -> list[tuple[str, tuple[tuple[str, str], ...]]]:
        if not self.sessions or self.target_schema is None or not self.target_schema.user_types:
            return []
        ks = self.sessions[0].cluster.metadata.keyspaces[self.target.keyspace]
        return [(name, tuple(zip(ut.field_names, ut.field_types, strict=True))) for name, ut in ks.user_types.items()]

    def _ensure_target(self) -> None:
        if self.target_schema is not None:
            return
        session = self.sessions[0]
        t = self.target
        for statement in self.create_statements:
            log.info("creating on the target: %s", statement)
            session.execute(statement, timeout=120)
        session.cluster.refresh_schema_metadata(max_schema_agreement_wait=60)
        self.target_schema = cschema.read_schema(session, t.keyspace, t.table, role="target")
        if self.target_schema is None:
            raise RuntimeFailure(f"created {t.keyspace}.{t.table} on the target but cannot see it")
        self.created_target = True

    def compare_task(self, settings: ValidationSettings, sink: DifferenceSink | None = None) -> CompareTask:
        """Validating Parquet files against a table is not in this version."""
        raise RuntimeFailure("validating a parquet source is not supported yet",
                             hint="validate the table the files were written from against the imported one")

    def savepoint_problems(self, state: MigratorState) -> list[tuple[str, str]]:
        """A file the savepoint lists as imported that changed since."""
        recorded = {same_file(uri): version for uri, version in (state.parquet_files or {}).items()}
        problems = []
        for file in self.files:
            name = same_file(file.uri)
            if name in self.skip and name in recorded and recorded[name] != file.version:
                problems.append(("skipParquetFiles", f"{file.uri} was imported at version {recorded[name]} but is "
                                 f"now version {file.version}: it changed since, so skipping it would lose "
                                 "its new rows; start over with --fresh (or remove it from skipParquetFiles)"))
        return problems

    def savepoint_fields(self, finished: Iterable[int]) -> dict[str, Any]:
        """``skipParquetFiles``: the files imported, earlier runs' included (none without file tracking)."""
        if not self.tracking:
            return {}
        done = [f.uri for f in self.files if same_file(f.uri) in self.skip]
        done += [self.files[i].uri for i in finished]
        return {"skipParquetFiles": sorted(set(done))}

    def state(self) -> dict[str, Any]:
        """The version of every file listed, so a resumed import can tell a changed file."""
        return {"parquetFiles": {f.uri: f.version for f in self.files}} if self.tracking else {}

    def finish_report(self, report: ValidationReport) -> ValidationReport:
        """No validation here: the report as it is."""
        return report

    def change_stream(self) -> None:
        """No change streams from files."""
        return None

    def finish(self) -> list[str]:
        """Nothing waits for every file."""
        return []

    def describe(self) -> str:
        """The plan as text; nothing is written."""
        pending = self.pending()
        rows = sum(self.footers[item.spec.file.uri].rows for item in pending)
        lines = [f"source: {len(self.files)} Parquet file(s) in {self.store.location}",
                 f"target: {self.target_identity} at {self.target_spec.address}",
                 f"files: {self.splits_done_before} already imported, {len(pending)} to import ({rows:,} rows)",
                 "columns: " + ", ".join(n for n in self._columns() if layout.meta_of(n) is None)]
        if self.target_schema is None:
            lines.append("target table: missing, would be created with:")
            lines += [f"  {stmt};" for stmt in self.create_statements]
        lines += [f"note: {warning}" for warning in self.warnings]
        lines.append("nothing was written")
        return "\n".join(lines)

    def close(self) -> None:
        """Shut down the driver-side session."""
        shutdown(self.sessions)


def _is_list(arrow_type: Any) -> bool:
    import pyarrow as pa

    return bool(pa.types.is_list(arrow_type) or pa.types.is_large_list(arrow_type))


def _mismatch(target: cschema.TableSchema, missing: list[str], unknown: list[str]) -> str:
    lines = [f"the Parquet files do not fit the target table {target.keyspace}.{target.table}:"]
    if missing:
        lines.append(f"  - primary key column(s) not in the files: {', '.join(missing)}")
    if unknown:
        lines.append(f"  - column(s) the target table lacks: {', '.join(unknown)}")
    return "\n".join(lines)


def read_footer(store: Store, file: ParquetFile) -> Footer:
    """The file's footer; a file that is not Parquet, or truncated, is refused by name."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        with store.footer_reader(file) as handle:
            meta = pq.read_metadata(handle)
            schema = meta.schema.to_arrow_schema()
    except (pa.ArrowException, OSError, ValueError) as exc:
        raise RuntimeFailure(f"{file.uri}: not a readable Parquet file ({exc})",
                             hint="the file is truncated or not Parquet: replace it, or remove it from the "
                                  "folder") from None
    table = (schema.metadata or {}).get(layout.TABLE_KEY.encode())
    return Footer(meta.num_rows, {f.name: f.type for f in schema}, table.decode() if table else None)


def prepare_load(config: MigratorConfig) -> ParquetLoadRun:
    """List the files and read their footers, read the target table; writes nothing."""
    s, t = config.source, config.target
    assert isinstance(s, ParquetSource) and isinstance(t, CassandraTarget), "backend_for checks the pair"
    store = store_for(s.path, s, "source")
    files = store.listing()
    if not files:
        raise ConfigError([("source.path", f"{s.path}: no Parquet files there (hidden names such as _SUCCESS "
                                           "are skipped)")])
    tracking = config.savepoints.enable_parquet_file_tracking
    skip = {same_file(uri) for uri in config.skip_parquet_files} if tracking else set()
    footers = {f.uri: read_footer(store, f) for f in files if same_file(f.uri) not in skip}
    spec = spec_from_settings("target", t)
    session = connect(spec)
    try:
        target_schema = cschema.read_schema(session, t.keyspace, t.table, role="target")
        create = [] if target_schema is not None else _create_statements(config, t, footers)
        identity = f"{session.cluster.metadata.cluster_name}/{t.keyspace}.{t.table}"
    except BaseException:
        session.cluster.shutdown()
        raise
    warnings = [] if tracking else ["savepoints.enableParquetFileTracking is false: an interrupted import "
                                    "starts over"]
    if target_schema is not None and target_schema.is_counter_table:
        session.cluster.shutdown()
        raise ConfigError([("target.table", "importing Parquet into a counter table is not supported "
                                            "(counters take increments, not values)")])
    return ParquetLoadRun(config=config, source=s, target=t, store=store, files=files, skip=skip, footers=footers,
                          target_spec=spec, target_schema=target_schema, create_statements=create,
                          target_identity=identity, tracking=tracking, warnings=warnings, sessions=[session])


def _create_statements(config: MigratorConfig, t: CassandraTarget, footers: dict[str, Footer]) -> list[str]:
    """How to create the missing target table from the schema our files carry; refused for other files."""
    table = next((f.table for f in footers.values() if f.table), None)
    if table is None:
        raise RuntimeFailure(f"the target table {t.keyspace}.{t.table} does not exist, and the files carry no "
                             "CQL schema to create it from (they were not written by this tool)",
                             hint="create the target table first")
    try:
        schema, _ = layout.table_from_json(table)
    except ValueError as exc:
        raise RuntimeFailure(str(exc), hint="create the target table first") from None
    return cschema.create_statements(schema, t.keyspace, t.table, config.rename_map)
