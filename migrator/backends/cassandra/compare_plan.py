"""The compare plan: both scans laid out identically, built once on the driver for every executor.

Both scans select the key columns, then the compared cells, then each compared cell's WRITETIME and
TTL, so a position means the same column on both sides (``compare.CompareColumn.position``). No
``token()`` selector is read: it costs the server about 10% of a narrow scan, and executors hash
keys themselves. Repairs reuse the copy plan with the write timestamp chosen by
``repairWritetimeStrategy``.
"""

from __future__ import annotations

import dataclasses
import re
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

from migrator.backends.cassandra import cql
from migrator.backends.cassandra.connection import ConnectionSpec
from migrator.backends.cassandra.plan import PRESERVE, CopyPlan
from migrator.backends.cassandra.rowdiff import CompareColumn, CompareSettings
from migrator.backends.cassandra.schema import ColumnMapping, TableSchema
from migrator.config import CassandraSource, CassandraTarget, ValidationSettings
from migrator.errors import ConfigError


@dataclass(frozen=True)
class ComparePlan:
    """Everything an executor needs to compare a range, as plain data."""

    source: ConnectionSpec
    target: ConnectionSpec
    source_consistency: str
    target_consistency: str
    fetch_size: int
    source_select: str  # token range scans: pk..., ck..., cells..., metadata...
    target_select: str
    source_by_key: str  # the same selectors, for one primary key (rechecks)
    target_by_key: str
    source_by_partition: str
    target_by_partition: str
    partition_key: tuple[int, ...]
    clustering: tuple[int, ...]
    key_names: tuple[str, ...]
    key_types: tuple[str, ...]
    clustering_types: tuple[str, ...]
    clustering_reversed: tuple[bool, ...]
    columns: tuple[CompareColumn, ...]
    settings: CompareSettings
    user_types: dict[str, tuple[tuple[str, str], ...]] = field(default_factory=dict)
    repair: CopyPlan | None = None  # the copy plan whose by-key select feeds the migrate writers
    delete_cql: str = ""  # repairs: DELETE one extra row
    delete_partition_cql: str = ""  # ... or an extra partition's static row
    clear_cql: str = ""  # DELETE ... USING TIMESTAMP ? for one row
    partitioner: str = "Murmur3Partitioner"
    # reconcile's diff: examples carry both rows' digests and newest write time, read from these
    # WRITETIME() selectors (position, multicell), which are not compared
    digests: bool = False
    written: tuple[tuple[int, bool], ...] = ()
    target_selectors: tuple[str, ...] = ()  # the target scan's select list, to read rows by a literal key
    target_qualified: str = ""
    # every key and compared column has the same type on both sides, and no user types: dev's cell bytes
    # are valid production values as they are (reconcile's pack carries them for apply to bind)
    bindable: bool = False


def row_key(plan: ComparePlan, row: Sequence[bytes | None]) -> tuple[bool, list[bytes | None]]:
    """``(static_only, key values)`` of a scanned row, to read or write it again by key.

    A partition holding static cells but no rows is scanned with null clustering columns: it is
    addressed by its partition key alone.
    """
    static_only = bool(plan.clustering) and row[plan.clustering[0]] is None
    positions = plan.partition_key if static_only else plan.partition_key + plan.clustering
    return static_only, [row[i] for i in positions]


@dataclass(frozen=True)
class Sides:
    """The two tables of a run as the driver read them, and how the source's columns map onto the target's."""

    source: TableSchema
    target: TableSchema
    mappings: list[ColumnMapping]
    renames: dict[str, str]
    source_settings: CassandraSource
    target_settings: CassandraTarget
    source_spec: ConnectionSpec
    target_spec: ConnectionSpec
    partitioner: str  # short name, e.g. Murmur3Partitioner
    collection_metadata: bool  # WRITETIME()/TTL() work on non-frozen collections


def build_compare_plan(sides: Sides, v: ValidationSettings, user_types: dict[str, tuple[tuple[str, str], ...]],
                       repair: CopyPlan | None = None, *, digests: bool = False) -> ComparePlan:
    """Lay out both scans identically: key columns, compared cells, then their metadata.

    ``repair`` is the copy plan repairs write with (see ``repair_plan``), when any repair is on. With
    ``digests`` (reconcile's diff) both scans also read each cell's WRITETIME, for the rows' newest
    write time; those are never compared.
    """
    source, target, renames = sides.source, sides.target, sides.renames
    if digests and source.is_counter_table:
        raise ConfigError([("source.table", f"{source.qualified} is a counter table, which reconcile does not handle "
                                            "(a counter cannot be written with a value, only added to)\n    fix: "
                                            "bring production's counters to dev's with migrator migrate (it adds "
                                            "each difference), and check them with migrator validate")])
    ignored = set(v.ignore_columns)
    names = {c.name for c in source.columns} | {renames.get(c.name, c.name) for c in source.columns}
    unknown = sorted(ignored - names)
    if unknown:
        raise ConfigError([("validation.ignoreColumns", "no such column: " + ", ".join(
            f"{name}{cql.near_miss(name, names)}" for name in unknown))])
    mappings = {m.source.name: m for m in sides.mappings}
    keys = source.primary_key
    cells = [m for c in source.cells if (m := mappings[c.name]) and not ({c.name, m.target.name} & ignored)]
    compare_ts = v.compare_timestamps and not source.is_counter_table
    src_sel: list[str] = []
    tgt_sel: list[str] = []
    for c in keys + [m.source for m in cells]:
        src_sel.append(cql.quote(c.name))
        tgt_sel.append(cql.quote(mappings[c.name].target.name))
    columns = []
    first_cell = len(keys)
    for i, m in enumerate(cells):
        wt = tt = None
        if compare_ts and (not m.source.multicell or sides.collection_metadata):
            wt, tt = len(src_sel), len(src_sel) + 1
            src_sel += [cql.writetime(m.source.name), cql.ttl(m.source.name)]
            tgt_sel += [cql.writetime(m.target.name), cql.ttl(m.target.name)]
        tolerance = v.column_tolerances.get(m.target.name, v.column_tolerances.get(m.source.name))
        columns.append(CompareColumn(m.target.name, m.source.cql_type, m.target.cql_type, first_cell + i, wt, tt,
                                     bool(m.source.multicell), tolerance))
    written = []
    if digests and not source.is_counter_table:
        for m in cells:
            if not m.source.multicell or sides.collection_metadata:
                written.append((len(src_sel), bool(m.source.multicell)))
                src_sel.append(cql.writetime(m.source.name))
                tgt_sel.append(cql.writetime(m.target.name))
    where = sides.source_settings.where
    src_pk = [c.name for c in source.partition_key]
    tgt_pk = [mappings[c].target.name for c in src_pk]
    tgt_keys = [mappings[c.name].target.name for c in keys]
    return ComparePlan(
        source=sides.source_spec, target=sides.target_spec,
        source_consistency=sides.source_settings.consistency_level,
        target_consistency=sides.target_settings.consistency_level, fetch_size=sides.source_settings.fetch_size,
        source_select=cql.token_range_select(source.qualified, src_pk, src_sel, where),
        target_select=cql.token_range_select(target.qualified, tgt_pk, tgt_sel, rename_where(where, renames)),
        source_by_key=cql.select_exprs_by_key(source.qualified, src_sel, [c.name for c in keys]),
        target_by_key=cql.select_exprs_by_key(target.qualified, tgt_sel, tgt_keys),
        source_by_partition=cql.select_exprs_by_key(source.qualified, src_sel, src_pk) + " LIMIT 1",
        target_by_partition=cql.select_exprs_by_key(target.qualified, tgt_sel, tgt_pk) + " LIMIT 1",
        partition_key=tuple(range(len(src_pk))),
        clustering=tuple(range(len(src_pk), len(keys))),
        partitioner=sides.partitioner,
        key_names=tuple(tgt_keys), key_types=tuple(c.cql_type for c in keys),
        clustering_types=tuple(c.cql_type for c in source.clustering),
        clustering_reversed=tuple(c.reversed for c in source.clustering),
        columns=tuple(columns), settings=compare_settings(v), user_types=user_types, repair=repair,
        delete_cql=f"DELETE FROM {target.qualified} WHERE {cql.key_condition(tgt_keys)}",
        delete_partition_cql=f"DELETE FROM {target.qualified} WHERE {cql.key_condition(tgt_pk)}",
        clear_cql=f"DELETE FROM {target.qualified} USING TIMESTAMP ? WHERE {cql.key_condition(tgt_keys)}",
        digests=digests, written=tuple(written), target_selectors=tuple(tgt_sel), target_qualified=target.qualified,
        bindable=not source.user_types and all(mappings[c.name].source.cql_type == mappings[c.name].target.cql_type
                                               for c in keys) and all(m.source.cql_type == m.target.cql_type
                                                                      for m in cells),
    )


def compare_settings(v: ValidationSettings) -> CompareSettings:
    """The validation block in the units the server reports (microseconds, seconds)."""
    return CompareSettings(
        float_tolerance=v.floating_point_tolerance, timestamp_ms_tolerance=v.timestamp_ms_tolerance,
        writetime_tolerance_us=v.writetime_tolerance_millis * 1000, ttl_tolerance_s=v.ttl_tolerance_millis / 1000,
        failures_to_fetch=v.failures_to_fetch, recheck=v.recheck_mismatches, recheck_delay_s=v.recheck_delay_seconds,
        recheck_limit=v.recheck_limit, copy_missing=v.copy_missing_rows, copy_differing=v.copy_differing_rows,
        delete_extra=v.delete_extra_rows,
    )


def repair_plan(plan: CopyPlan, v: ValidationSettings, target: CassandraTarget) -> CopyPlan:
    """The copy plan repairs write with; the timestamp follows ``repairWritetimeStrategy``."""
    strategy = v.repair_writetime_strategy
    if strategy == "source":
        return plan
    stamp = int(time.time() * 1_000_000) if strategy == "coordinator" else target.write_writetimestamp_in_us
    if plan.mode == PRESERVE:
        return dataclasses.replace(plan, timestamp_override=stamp)
    return dataclasses.replace(plan, constant_timestamp=stamp)


_IDENT = re.compile(r'"(?:[^"]|"")*"|\'(?:[^\']|\'\')*\'|[A-Za-z_][A-Za-z0-9_]*')


def rename_where(where: str | None, renames: dict[str, str]) -> str | None:
    """The source ``where`` with renamed columns, for the target scan (string literals untouched)."""
    if not where or not renames:
        return where

    def swap(m: re.Match[str]) -> str:
        token = m.group(0)
        if token.startswith("'"):
            return token
        name = token[1:-1].replace('""', '"') if token.startswith('"') else token.lower()
        return cql.quote(renames[name]) if name in renames else token

    return _IDENT.sub(swap, where)
