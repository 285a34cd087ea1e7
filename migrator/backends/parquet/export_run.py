"""Driver side of writing a CQL table as Parquet files (target ``type: parquet``).

The source is planned as for a table copy: the ring is split into token ranges, and a savepoint's
``skipTokenRanges`` are the ranges already written. Each range becomes one file,
``part-<split>-<run>.parquet``, written by one task (``writer``): a retried or resumed range
replaces its own file, never adds a second one. ``<run>`` is fixed by the first run and kept in
``migratorState.parquetRun``. When every range is written, ``_SUCCESS`` marks the folder complete.

``mode`` says what to do with a folder that already holds data files, before anything is written:
``error`` refuses, ``overwrite`` removes them, ``append`` writes beside them, ``ignore`` writes
nothing. A resumed run keeps the files of the run it resumes, whatever the mode.
"""

from __future__ import annotations

import functools
import logging
import secrets
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from migrator.backends.base import CompareTask, CopyTask, WorkItem
from migrator.backends.cassandra import savepoint
from migrator.backends.cassandra import schema as cschema
from migrator.backends.cassandra.connection import ConnectionSpec, connect, shutdown, spec_from_settings
from migrator.backends.cassandra.plan import CopyPlan, build_plan, copy_mode
from migrator.backends.cassandra.prepare import (
    check_renames,
    reads_collection_metadata,
    renamed_schema,
)
from migrator.backends.parquet import layout
from migrator.backends.parquet.store import ParquetFile, Store, store_for
from migrator.backends.parquet.writer import SUCCESS, ExportPlan, export_item
from migrator.config import CassandraSource, MigratorConfig, MigratorState, ParquetTarget, ValidationSettings
from migrator.differences import DifferenceSink
from migrator.errors import ConfigError, RuntimeFailure
from migrator.planning import tokens
from migrator.report.model import ValidationReport

log = logging.getLogger(__name__)


@dataclass
class ParquetExportRun:
    """A CQL table to write as Parquet files; the ``Prepared`` run of a CQL source with a Parquet target."""

    config: MigratorConfig
    source: CassandraSource
    target: ParquetTarget
    source_spec: ConnectionSpec
    schema: cschema.TableSchema
    user_types: layout.UserTypes
    partitioner: tokens.Partitioner
    split_count: int
    plan: tokens.Plan
    source_identity: str
    store: Store
    run: str
    collection_metadata: bool
    existing: list[ParquetFile]
    resuming: bool  # a savepoint of this export is resumed: its files are kept, whatever the mode
    warnings: list[str] = field(default_factory=list)
    sessions: list[Any] = field(default_factory=list)
    savepoint_note: str = savepoint.NOTE
    max_partitions: int | None = None
    split_unit: str = "token"

    @property
    def ignored(self) -> bool:
        """``mode: ignore`` with data already there: nothing is written."""
        return self.target.mode == "ignore" and bool(self.existing) and not self.resuming

    @property
    def target_identity(self) -> str:
        """The folder."""
        return self.store.uri("").rstrip("/")

    @property
    def splits_total(self) -> int:
        """Ranges of the ring, one file each."""
        return len(self.plan.all_ranges)

    @property
    def splits_done_before(self) -> int:
        """Ranges whose files earlier runs wrote."""
        return self.plan.done_count

    def pending(self) -> list[WorkItem]:
        """One item per range not written yet (none in ``ignore`` mode with data there)."""
        return [] if self.ignored else [WorkItem(w.index, w) for w in self.plan.pending]

    def copy_task(self) -> CopyTask:
        """Apply ``mode`` to the folder's files, then return the executors' export function."""
        if not self.resuming:
            self._apply_mode()
        if not self.ignored:  # ignore mode leaves the folder exactly as it is
            self.store.remove(SUCCESS)
        copy = self.copy_plan()
        columns = [*((name, i, self._type(name)) for i, name in copy.partition_key + copy.clustering)]
        for cell in copy.cells:
            multicell = cell.multicell is not None
            columns.append((cell.target, cell.value, self._type(cell.target)))
            if cell.writetime is not None and cell.ttl is not None:
                columns.append((layout.meta_name(cell.target, layout.WRITETIME), cell.writetime,
                                layout.meta_type(layout.WRITETIME, multicell)))
                columns.append((layout.meta_name(cell.target, layout.TTL), cell.ttl,
                                layout.meta_type(layout.TTL, multicell)))
        renamed = renamed_schema(self.schema, self.source.keyspace, self.source.table, self.config.rename_map)
        plan = ExportPlan(copy=copy, columns=tuple(columns), user_types=tuple(self.user_types.items()),
                          store=self.store, run=self.run, compression=self.target.compression,
                          table=layout.table_json(renamed, self.user_types))
        return functools.partial(export_item, plan)

    def _type(self, target_name: str) -> str:
        source = {v: k for k, v in self.config.rename_map.items()}.get(target_name, target_name)
        column = self.schema.column(source)
        assert column is not None
        return column.cql_type

    def _apply_mode(self) -> None:
        if not self.existing:
            return
        mode = self.target.mode
        if mode == "error":
            raise ConfigError([("target.mode", f"{self.target_identity} already holds {len(self.existing)} data "
                                               "file(s) and mode is 'error'; set mode: overwrite to replace them, "
                                               "append to add beside them, or write to another path")])
        if mode == "overwrite":
            log.warning("mode overwrite: removing %d data file(s) from %s", len(self.existing), self.target_identity)
            self.store.delete(self.existing)

    def copy_plan(self) -> CopyPlan:
        """The scan's selectors and row layout, as a copy into a table shaped like the files would be."""
        renames = self.config.rename_map
        renamed = renamed_schema(self.schema, self.source.keyspace, self.source.table, renames)
        return build_plan(
            source=self.schema, target=renamed, mappings=cschema.compare(self.schema, renamed, renames).mappings,
            source_spec=self.source_spec, target_spec=self.source_spec,
            source_consistency=self.source.consistency_level, target_consistency=self.source.consistency_level,
            fetch_size=self.source.fetch_size, preserve_timestamps=bool(self.source.preserve_timestamps),
            collection_metadata=self.collection_metadata, where=self.source.where, strip_decimals=False,
            constant_ttl=None, constant_timestamp=None, user_type_fields={},
        )

    def compare_task(self, settings: ValidationSettings, sink: DifferenceSink | None = None) -> CompareTask:
        """Validating Parquet files is not in this version."""
        raise RuntimeFailure("validating against a parquet target is not supported yet",
                             hint="import the files into a table (a parquet source) and validate that")

    def savepoint_problems(self, state: MigratorState) -> list[tuple[str, str]]:
        """A savepoint written for another partitioner or splitting of the ring."""
        return savepoint.problems(state, self.partitioner, self.split_count, self.source.split_count, self.plan)

    def savepoint_fields(self, finished: Iterable[int]) -> dict[str, Any]:
        """``skipTokenRanges``: the ranges whose files are written."""
        return savepoint.fields(self.plan, finished)

    def state(self) -> dict[str, Any]:
        """The partitioner and splitting, and the run tag in the files' names."""
        return {**savepoint.state(self.partitioner, self.split_count), "parquetRun": self.run}

    def finish_report(self, report: ValidationReport) -> ValidationReport:
        """No validation here: the report as it is."""
        return report

    def change_stream(self) -> None:
        """No change streams from a CQL source."""
        return None

    def finish(self) -> list[str]:
        """Mark the folder complete once every range's file is in it."""
        if self.ignored:
            return [f"mode ignore: {self.target_identity} already holds data files; nothing was written"]
        self.store.put_text(SUCCESS, "")
        return [f"Parquet files complete in {self.target_identity}"]

    def describe(self) -> str:
        """The plan as text; nothing is written."""
        plan = self.plan
        lines = [
            f"source: {self.source_identity} at {self.source_spec.address} ({self.partitioner.short_name})",
            f"target: Parquet files ({self.target.compression}) in {self.target_identity}, mode {self.target.mode}",
            f"mode:   {copy_mode(self.schema, bool(self.source.preserve_timestamps))}"
            + (" (WRITETIME and TTL in __migrator_meta_<column>_writetime/_ttl columns)"
               if self.source.preserve_timestamps else ""),
            f"ranges: {len(plan.all_ranges)} (splitCount), {plan.done_count} already written, "
            f"{len(plan.pending)} to write; one file each",
        ]
        if self.existing and not self.resuming:
            lines.append(f"the folder already holds {len(self.existing)} data file(s): mode {self.target.mode}")
        lines += [f"note: {warning}" for warning in self.warnings]
        lines.append("nothing was written")
        return "\n".join(lines)

    def close(self) -> None:
        """Shut down the driver-side session."""
        shutdown(self.sessions)


def prepare_export(config: MigratorConfig, *, parallelism: int) -> ParquetExportRun:
    """Connect to the source, read its schema, plan the ranges, list the folder; writes nothing."""
    s, t = config.source, config.target
    assert isinstance(s, CassandraSource) and isinstance(t, ParquetTarget), "the cassandra backend dispatches here"
    spec = spec_from_settings("source", s)
    session = connect(spec)
    try:
        run = _prepare(config, s, t, spec, session, parallelism)
    except BaseException:
        session.cluster.shutdown()
        raise
    run.sessions = [session]
    return run


def _prepare(config: MigratorConfig, s: CassandraSource, t: ParquetTarget, spec: ConnectionSpec, session: Any,
             parallelism: int) -> ParquetExportRun:
    schema = cschema.read_schema(session, s.keyspace, s.table, role="source")
    if schema is None:
        raise RuntimeFailure(f"table {s.keyspace}.{s.table} does not exist on the source cluster at {spec.address}",
                             hint="fix source.keyspace / source.table")
    check_renames(schema, config.rename_map)
    if t.compression == "lzo":
        raise ConfigError([("target.compression", "the Parquet writer here has no LZO codec; use zstd, snappy, gzip, "
                                                  "lz4 or brotli")])
    if schema.is_counter_table:
        raise ConfigError([("source.table", "a counter table cannot be written to Parquet and back exactly "
                                            "(counters are increments); copy it to a table instead")])
    partitioner = tokens.partitioner_for(session.cluster.metadata.partitioner)
    state = config.migrator_state
    splits = savepoint.split_count(s.split_count, state, parallelism)
    plan = savepoint.ring_plan(config.skip_token_ranges, partitioner, splits)
    store = store_for(t.path, t, "target")
    keyspace = session.cluster.metadata.keyspaces[s.keyspace]
    user_types = {name: tuple(zip(ut.field_names, ut.field_types, strict=True))
                  for name, ut in keyspace.user_types.items()}
    run_tag = (state.parquet_run if state is not None else None) or secrets.token_hex(4)
    collection_metadata = reads_collection_metadata(session, s, schema)
    warnings = [] if collection_metadata else [
        "the source cannot report WRITETIME/TTL per collection element (ScyllaDB): non-frozen collections "
        "and UDTs get no metadata columns"]
    return ParquetExportRun(
        config=config, source=s, target=t, source_spec=spec, schema=schema, user_types=user_types,
        partitioner=partitioner, split_count=splits, plan=plan,
        source_identity=f"{session.cluster.metadata.cluster_name}/{s.keyspace}.{s.table}", store=store,
        run=run_tag, collection_metadata=collection_metadata, existing=store.listing(),
        resuming=state is not None and state.parquet_run is not None, warnings=warnings)
