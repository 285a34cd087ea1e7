"""The copy job: ``migrate(loaded_config, spark)``.

The driver plans the token ranges, creates the target table if it is missing, and ships each
pending range to an executor as plain data. An executor reports a range through a Spark
accumulator only after every write of that range was acknowledged; Spark merges accumulator
updates of successful tasks only, so the driver's view of "finished" never runs ahead of the
data. Savepoints (the config plus the finished ranges) are written on a timer, on SIGINT/SIGTERM
and at the end, whether the run succeeded or not.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Any

from migrator import cqlplan
from migrator.backends.cassandra.plan import CopyPlan
from migrator.errors import RuntimeFailure
from migrator.jobs import JobRunner, RangeLedger, SavepointStats

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class MigrationResult:
    """What a finished copy reports: ranges, rows, duration and the final savepoint."""

    ranges_total: int
    ranges_done: int
    rows: int
    seconds: float
    savepoint: str | None
    savepoints: SavepointStats | None = None  # what keeping them cost


def migrate(loaded: Any, spark: Any) -> MigrationResult:
    """Copy the source table into the target, resuming from ``skipTokenRanges`` if present."""
    config = loaded.model
    ctx = cqlplan.prepare(config, parallelism=spark.sparkContext.defaultParallelism, kind="migrate")
    try:
        for warning in ctx.warnings:
            log.warning("%s", warning)
        _ensure_target(ctx)
        plan = ctx.copy_plan(user_type_fields=user_type_fields(ctx))
    finally:
        ctx.close()
    log.info(
        "copying %s -> %s in %s mode: %d ranges, %d already done, %d to go",
        ctx.source_identity, ctx.target_identity, plan.mode, len(ctx.plan.all_ranges),
        ctx.plan.done_count, len(ctx.plan.pending),
    )
    ledger = RangeLedger(ctx.plan, rows_before=_rows_before(config))
    runner = JobRunner(spark, loaded, ctx, ledger, kind="migrate", description=f"copy {ctx.source_identity}")
    started = time.monotonic()
    path = runner.run(_copy_task(plan, ledger.accumulator(spark)), [
        (w.index, [(p.start, p.end) for p in w.pieces]) for w in ctx.plan.pending
    ])
    return MigrationResult(
        ranges_total=len(ctx.plan.all_ranges),
        ranges_done=ledger.done_count(),
        rows=ledger.rows(),
        seconds=time.monotonic() - started,
        savepoint=str(path) if path else None,
        savepoints=runner.savepoint_stats,
    )


def _rows_before(config: Any) -> int:
    state = getattr(config, "migrator_state", None)
    return int(state.rows_copied or 0) if state is not None and state.kind in (None, "migrate") else 0


def _copy_task(plan: CopyPlan, accumulator: Any) -> Any:
    """The function each Spark partition runs: copy its ranges, then report them finished."""

    def run(items: Any) -> None:
        from migrator.backends.cassandra.copier import copy_pieces

        for index, pieces in items:
            rows_read, _ = copy_pieces(plan, pieces)
            accumulator.add({index: rows_read})

    return run


def _ensure_target(ctx: cqlplan.RunContext) -> None:
    """Create the target table (and its UDTs) from the source schema when it does not exist."""
    if ctx.target_schema is not None:
        return
    from migrator.backends.cassandra.schema import read_schema, require_compatible

    session = ctx.target_session
    for statement in ctx.create_statements:
        log.info("creating on the target: %s", statement)
        session.execute(statement, timeout=120)
    session.cluster.refresh_schema_metadata(max_schema_agreement_wait=60)
    t = ctx.config.target
    created = read_schema(session, t.keyspace, t.table, role="target")
    if created is None:
        raise RuntimeFailure(f"created {t.keyspace}.{t.table} on the target but cannot see it")
    ctx.target_schema = created
    ctx.compat = require_compatible(ctx.source_schema, created, ctx.renames)


def user_type_fields(ctx: cqlplan.RunContext) -> dict[str, tuple[str, ...]]:
    """Field names of the target keyspace's UDTs, for field-by-field writes of non-frozen UDTs."""
    if not any(c.multicell == "udt" for c in ctx.source_schema.columns):
        return {}
    ks = ctx.target_session.cluster.metadata.keyspaces[ctx.config.target.keyspace]
    return {name: tuple(ut.field_names) for name, ut in ks.user_types.items()}
