"""The copy plan: everything an executor needs to copy a token range, as plain picklable data.

Built once on the Spark driver from the two schemas and the config; executors only prepare the
statements it names and run them. Three modes:

* ``plain``: one INSERT per row with the source cells as they are (nulls are *unset*, never
  written, so no tombstones appear where the source had none); constant ``writeTTLInS`` /
  ``writeWritetimestampInuS`` if configured.
* ``preserve``: each cell keeps its WRITETIME and remaining TTL. Cells sharing both are written
  together; every element of a non-frozen collection or field of a non-frozen UDT is a cell of its
  own and is written with its own timestamp and TTL (servers that cannot report per-element
  metadata, such as ScyllaDB, fall back to whole-value writes, see ``collection_metadata``).
* ``counter``: the target is brought to the source value by adding the difference to what the
  target holds, so a re-run range adds nothing twice.
"""

from __future__ import annotations

from dataclasses import dataclass

from migrator.backends.cassandra import cql
from migrator.backends.cassandra.connection import ConnectionSpec
from migrator.backends.cassandra.schema import STATIC, ColumnMapping, TableSchema
from migrator.config.target import DEFAULT_BATCH_BYTES

PLAIN, PRESERVE, COUNTER = "plain", "preserve", "counter"
DEFAULT_MAX_IN_FLIGHT = 128


@dataclass(frozen=True)
class CellSpec:
    """One non-key column: where its value (and metadata) sit in a scanned row, where it goes."""

    target: str
    static: bool
    multicell: str | None  # "list" | "set" | "map" | "udt" | None
    value: int
    writetime: int | None = None
    ttl: int | None = None
    transform: str | None = None  # None | "strip" | "convert"
    udt_fields: tuple[str, ...] = ()


@dataclass(frozen=True)
class CopyPlan:
    """The statements and row layout of one copy, shipped to every executor."""

    source: ConnectionSpec
    target: ConnectionSpec
    source_consistency: str
    target_consistency: str
    fetch_size: int
    mode: str
    select: str
    target_table: str  # quoted keyspace.table
    partition_key: tuple[tuple[int, str], ...]  # (row index, target name)
    clustering: tuple[tuple[int, str], ...]
    cells: tuple[CellSpec, ...]
    constant_ttl: int | None = None
    constant_timestamp: int | None = None
    collection_metadata: bool = True
    strip_decimals: bool = False
    select_by_key: str = ""  # the same selectors for one primary key (validation repairs)
    select_by_partition: str = ""  # ... and for a partition's static row
    timestamp_override: int | None = None  # repairs: write every cell with this timestamp
    max_in_flight: int = DEFAULT_MAX_IN_FLIGHT
    target_keyspace: str = ""  # unquoted, for token-aware routing and grouping writes by replica
    batch_rows: int = 1  # statements per unlogged batch (1 = no batching); see ``batches``
    batch_bytes: int = DEFAULT_BATCH_BYTES
    target_fresh: bool = False  # the target table was created by this run: it holds no row yet

    @property
    def key_names(self) -> list[str]:
        """Target names of the primary key columns (partition key then clustering)."""
        return [n for _, n in self.partition_key + self.clustering]

    @property
    def partition_names(self) -> list[str]:
        """Target names of the partition key columns."""
        return [n for _, n in self.partition_key]


def copy_mode(source: TableSchema, preserve_timestamps: bool) -> str:
    """``counter`` for a counter table, else ``preserve`` or ``plain`` as ``preserveTimestamps`` says."""
    return COUNTER if source.is_counter_table else PRESERVE if preserve_timestamps else PLAIN


def build_plan(
    *,
    source: TableSchema,
    target: TableSchema,
    mappings: list[ColumnMapping],
    source_spec: ConnectionSpec,
    target_spec: ConnectionSpec,
    source_consistency: str,
    target_consistency: str,
    fetch_size: int,
    preserve_timestamps: bool,
    collection_metadata: bool,
    where: str | None,
    strip_decimals: bool,
    constant_ttl: int | None,
    constant_timestamp: int | None,
    user_type_fields: dict[str, tuple[str, ...]],
    batch_rows: int = 1,
    batch_bytes: int = DEFAULT_BATCH_BYTES,
    target_fresh: bool = False,
) -> CopyPlan:
    """Lay out the scan's selectors and each cell's positions for the chosen mode."""
    by_source = {m.source.name: m for m in mappings}
    mode = copy_mode(source, preserve_timestamps)
    selectors: list[str] = []

    def add(selector: str) -> int:
        selectors.append(selector)
        return len(selectors) - 1

    pk = tuple((add(cql.quote(c.name)), by_source[c.name].target.name) for c in source.partition_key)
    ck = tuple((add(cql.quote(c.name)), by_source[c.name].target.name) for c in source.clustering)
    cells = []
    for col in source.cells:
        m = by_source[col.name]
        value = add(cql.quote(col.name))
        wt = tt = None
        with_meta = mode == PRESERVE and (col.multicell is None or collection_metadata)
        if with_meta:
            wt, tt = add(cql.writetime(col.name)), add(cql.ttl(col.name))
        transform = "convert" if m.how == "convert" else None
        if strip_decimals and "decimal" in col.cql_type and transform is None:
            transform = "strip" if col.cql_type == "decimal" else "convert"
        cells.append(
            CellSpec(
                target=m.target.name,
                static=col.kind == STATIC,
                multicell=col.multicell,
                value=value,
                writetime=wt,
                ttl=tt,
                transform=transform,
                udt_fields=user_type_fields.get(cql.unquote(col.cql_type), ()) if col.multicell == "udt" else (),
            )
        )
    partition_names = [c.name for c in source.partition_key]
    select = cql.token_range_select(source.qualified, partition_names, selectors, where)
    by_key = cql.select_exprs_by_key(source.qualified, selectors, [c.name for c in source.primary_key])
    by_partition = cql.select_exprs_by_key(source.qualified, selectors, partition_names) + " LIMIT 1"
    return CopyPlan(
        source=source_spec,
        target=target_spec,
        source_consistency=source_consistency,
        target_consistency=target_consistency,
        fetch_size=fetch_size,
        mode=mode,
        select=select,
        target_table=target.qualified,
        partition_key=pk,
        clustering=ck,
        cells=tuple(cells),
        constant_ttl=constant_ttl if mode == PLAIN else None,
        constant_timestamp=constant_timestamp if mode == PLAIN else None,
        collection_metadata=collection_metadata,
        strip_decimals=strip_decimals,
        select_by_key=by_key,
        select_by_partition=by_partition,
        target_keyspace=target.keyspace,
        batch_rows=batch_rows,
        batch_bytes=batch_bytes,
        target_fresh=target_fresh,
    )
