"""The compare job: ``validate(loaded_config, spark)`` -> ``ValidationReport``.

Same planning as the copy job (same splits, same savepoints), but each range is compared on an
executor by merge-joining the source and target scans (``backends.cassandra.compare``). The totals
are exact, never a sample. A killed validation resumes from its newest savepoint, which carries the
partial report, and ends with the same report as an uninterrupted run.
"""

from __future__ import annotations

import dataclasses
import functools
import logging
import re
import time
from typing import Any

from migrator import cqlplan
from migrator.backends.cassandra import cql
from migrator.backends.cassandra.compare import CompareColumn, ComparePlan, CompareSettings, compare_range
from migrator.errors import ConfigError, RuntimeFailure
from migrator.jobs import JobRunner, RangeLedger
from migrator.migrate import user_type_fields
from migrator.report.model import ValidationReport, merge, report_from_json, trim_examples

log = logging.getLogger(__name__)


def validate(loaded: Any, spark: Any) -> ValidationReport:
    """Compare the source and target tables range by range; resumes from ``skipTokenRanges``."""
    config = loaded.model
    settings = config.validation
    if settings is None:
        raise ConfigError([("validation", "the validate command needs a validation block, e.g. validation: "
                            "{compareTimestamps: false, ttlToleranceMillis: 60000, writetimeToleranceMillis: 1000, "
                            "failuresToFetch: 100, floatingPointTolerance: 0.001, timestampMsTolerance: 0}")])
    ctx = cqlplan.prepare(config, parallelism=spark.sparkContext.defaultParallelism, kind="validate")
    try:
        for warning in ctx.warnings:
            log.warning("%s", warning)
        if ctx.target_schema is None:
            t = config.target
            raise RuntimeFailure(f"the target table {t.keyspace}.{t.table} does not exist: nothing to validate")
        plan = build_compare_plan(ctx, settings, _user_types(ctx))
    finally:
        ctx.close()
    prior = _prior_report(config, ctx)
    log.info("validating %s against %s: %d ranges, %d already done, %d to go", ctx.source_identity,
             ctx.target_identity, len(ctx.plan.all_ranges), ctx.plan.done_count, len(ctx.plan.pending))
    failures = settings.failures_to_fetch
    ledger = RangeLedger(ctx.plan, rows_before=prior.counts.sourceRows, rows_of=lambda r: r.source_rows,
                         trim=functools.partial(trim_examples, failures_to_fetch=failures))

    def partial() -> ValidationReport:
        return merge(report_from_json(prior.to_json()), ledger.results().values(), failures)

    def state() -> dict[str, Any]:
        report = partial()
        return {"counts": dataclasses.asdict(report.counts), "report": report.to_json()}

    runner = JobRunner(spark, loaded, ctx, ledger, kind="validate", description=f"validate {ctx.source_identity}",
                       extra_state=state)
    started = time.monotonic()
    runner.run(_compare_task(plan, ledger.accumulator(spark)), [
        (w.index, (w.split.start, w.split.end), [(p.start, p.end) for p in w.pieces]) for w in ctx.plan.pending
    ])
    report = partial()
    report.seconds = prior.seconds + time.monotonic() - started
    return report


def _compare_task(plan: ComparePlan, accumulator: Any) -> Any:
    def run(items: Any) -> None:
        for index, split, pieces in items:
            accumulator.add({index: compare_range(plan, index, split, pieces)})

    return run


def _prior_report(config: Any, ctx: cqlplan.RunContext) -> ValidationReport:
    state = config.migrator_state
    if state is not None and state.kind == "validate" and state.report:
        return report_from_json(state.report)
    v = config.validation
    settings = {
        "compareTimestamps": v.compare_timestamps, "ttlToleranceMillis": v.ttl_tolerance_millis,
        "writetimeToleranceMillis": v.writetime_tolerance_millis, "floatingPointTolerance": v.floating_point_tolerance,
        "timestampMsTolerance": v.timestamp_ms_tolerance, "failuresToFetch": v.failures_to_fetch,
        "ignoreColumns": list(v.ignore_columns), "columnTolerances": dict(v.column_tolerances),
        "recheckMismatches": v.recheck_mismatches, "where": "<redacted>" if config.source.where else None,
    }
    return ValidationReport(ctx.source_identity, ctx.target_identity, len(ctx.plan.all_ranges), settings=settings)


def _user_types(ctx: cqlplan.RunContext) -> dict[str, tuple[tuple[str, str], ...]]:
    """The source keyspace's UDTs as (field, type) pairs, for ordering and decoding values."""
    if not ctx.source_schema.user_types:
        return {}
    ks = ctx.source_session.cluster.metadata.keyspaces[ctx.config.source.keyspace]
    return {name: tuple(zip(ut.field_names, ut.field_types, strict=True)) for name, ut in ks.user_types.items()}


def build_compare_plan(ctx: cqlplan.RunContext, v: Any, user_types: dict[str, Any]) -> ComparePlan:
    """Lay out both scans identically: key columns, compared cells, then their metadata."""
    source, target = ctx.source_schema, ctx.target_schema
    assert target is not None
    renames = ctx.renames
    ignored = set(v.ignore_columns)
    unknown = sorted(ignored - {c.name for c in source.columns} - {renames.get(c.name, c.name) for c in source.columns})
    if unknown:
        raise ConfigError([("validation.ignoreColumns", f"no such column: {', '.join(unknown)}")])
    mappings = {m.source.name: m for m in ctx.compat.mappings}
    keys = source.primary_key
    cells = [m for c in source.cells if (m := mappings[c.name]) and not ({c.name, m.target.name} & ignored)]
    compare_ts = v.compare_timestamps and not source.is_counter_table
    # no token() selector: it costs the server ~10% of a narrow scan, and executors hash keys themselves
    src_sel: list[str] = []
    tgt_sel: list[str] = []
    for c in keys + [m.source for m in cells]:
        src_sel.append(cql.quote(c.name))
        tgt_sel.append(cql.quote(mappings[c.name].target.name))
    columns = []
    first_cell = len(keys)
    for i, m in enumerate(cells):
        wt = tt = None
        if compare_ts and (not m.source.multicell or ctx.collection_metadata):
            wt, tt = len(src_sel), len(src_sel) + 1
            src_sel += [cql.writetime(m.source.name), cql.ttl(m.source.name)]
            tgt_sel += [cql.writetime(m.target.name), cql.ttl(m.target.name)]
        tolerance = v.column_tolerances.get(m.target.name, v.column_tolerances.get(m.source.name))
        columns.append(CompareColumn(m.target.name, m.source.cql_type, m.target.cql_type, first_cell + i, wt, tt,
                                     bool(m.source.multicell), tolerance))
    where = ctx.config.source.where
    src_pk = [c.name for c in source.partition_key]
    tgt_pk = [mappings[c].target.name for c in src_pk]
    tgt_keys = [mappings[c.name].target.name for c in keys]
    settings = CompareSettings(
        float_tolerance=v.floating_point_tolerance, timestamp_ms_tolerance=v.timestamp_ms_tolerance,
        writetime_tolerance_us=v.writetime_tolerance_millis * 1000, ttl_tolerance_s=v.ttl_tolerance_millis / 1000,
        failures_to_fetch=v.failures_to_fetch, recheck=v.recheck_mismatches, recheck_delay_s=v.recheck_delay_seconds,
        recheck_limit=v.recheck_limit, copy_missing=v.copy_missing_rows, copy_differing=v.copy_differing_rows,
        delete_extra=v.delete_extra_rows,
    )
    repairs = v.copy_missing_rows or v.copy_differing_rows or v.delete_extra_rows
    repair = _repair_plan(ctx, v) if repairs else None
    return ComparePlan(
        source=ctx.source_spec, target=ctx.target_spec,
        source_consistency=ctx.config.source.consistency_level,
        target_consistency=ctx.config.target.consistency_level, fetch_size=ctx.config.source.fetch_size,
        source_select=cql.token_range_select(source.qualified, src_pk, src_sel, where),
        target_select=cql.token_range_select(target.qualified, tgt_pk, tgt_sel, rename_where(where, renames)),
        source_by_key=cql.select_exprs_by_key(source.qualified, src_sel, [c.name for c in keys]),
        target_by_key=cql.select_exprs_by_key(target.qualified, tgt_sel, tgt_keys),
        source_by_partition=cql.select_exprs_by_key(source.qualified, src_sel, src_pk) + " LIMIT 1",
        target_by_partition=cql.select_exprs_by_key(target.qualified, tgt_sel, tgt_pk) + " LIMIT 1",
        partition_key=tuple(range(len(src_pk))),
        clustering=tuple(range(len(src_pk), len(keys))),
        partitioner=ctx.partitioner.short_name,
        key_names=tuple(tgt_keys), key_types=tuple(c.cql_type for c in keys),
        clustering_types=tuple(c.cql_type for c in source.clustering),
        clustering_reversed=tuple(c.reversed for c in source.clustering),
        columns=tuple(columns), settings=settings, user_types=user_types, repair=repair,
        delete_cql=f"DELETE FROM {target.qualified} WHERE {cql.key_condition(tgt_keys)}",
        delete_partition_cql=f"DELETE FROM {target.qualified} WHERE {cql.key_condition(tgt_pk)}",
        clear_cql=f"DELETE FROM {target.qualified} USING TIMESTAMP ? WHERE {cql.key_condition(tgt_keys)}",
    )


def _repair_plan(ctx: cqlplan.RunContext, v: Any) -> Any:
    """The copy plan repairs write with; the timestamp follows repairWritetimeStrategy."""
    plan = ctx.copy_plan(user_type_fields=user_type_fields(ctx))
    strategy = v.repair_writetime_strategy
    if strategy == "source":
        return plan
    stamp = int(time.time() * 1_000_000) if strategy == "coordinator" else ctx.config.target.write_writetimestamp_in_us
    if plan.mode == "preserve":
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
