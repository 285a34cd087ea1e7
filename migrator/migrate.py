"""The copy job: ``migrate(loaded_config, spark)``, the same for every backend.

The source's backend prepares the run on the driver (both sides read and checked, the work planned,
a savepoint checked) and creates the target table when it is missing; each pending split then goes
to an executor as plain data. An executor reports a split through a Spark accumulator only after
every write of that split was acknowledged; Spark merges accumulator updates of successful tasks
only, so the driver's view of "finished" never runs ahead of the data. Savepoints (the config plus
the finished work) are written on a timer, on SIGINT/SIGTERM and at the end, whether the run
succeeded or not.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from migrator.backends.base import MIGRATE, copied_counts, copied_rows
from migrator.config import LoadedConfig, MigratorConfig
from migrator.runner import JobRunner, SavepointStats, SplitLedger, open_run
from migrator.streaming import StreamResult, follow
from migrator.tableset import Member, TableSet, prior_counts

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class MigrationResult:
    """What a finished copy reports: splits, rows, duration and the final savepoint."""

    ranges_total: int
    ranges_done: int
    rows: int
    seconds: float
    savepoint: str | None
    savepoints: SavepointStats | None = None  # what keeping them cost
    counts: dict[str, int] = field(default_factory=dict)  # the backend's tallies (e.g. expired items skipped)
    tables: list[TableOutcome] = field(default_factory=list)  # a many-table run: each table's, in config order
    streamed: StreamResult | None = None  # streamChanges: the changes applied after the snapshot

    @property
    def failed(self) -> list[TableOutcome]:
        """The tables that stopped on an error (a many-table run that went on without them)."""
        return [table for table in self.tables if table.failure is not None]


@dataclass(frozen=True)
class TableOutcome:
    """One table of a many-table copy: its names, work done, rows and, if it stopped, why."""

    name: str
    target: str
    ranges_done: int
    ranges_total: int
    rows: int
    failure: str | None = None


def migrate(loaded: LoadedConfig, spark: SparkSession) -> MigrationResult:
    """Copy the source table into the target, resuming from the savepoint's finished work if any."""
    config = loaded.model
    prepared = open_run(config, parallelism=spark.sparkContext.defaultParallelism, kind=MIGRATE)
    try:
        for warning in prepared.warnings:
            log.warning("%s", warning)
        stream = prepared.change_stream()
        if stream is not None:  # the stream's starting point is fixed before the snapshot reads anything
            for note in stream.start():
                log.info("%s", note)
        task = prepared.copy_task()
        pending = prepared.pending() if stream is None or stream.copies_snapshot else []
    finally:
        prepared.close()
    log.info("copying %s -> %s: %d ranges, %d already done, %d to go", prepared.source_identity,
             prepared.target_identity, prepared.splits_total, prepared.splits_done_before, len(pending))
    ledger = SplitLedger(done_before=prepared.splits_done_before, rows_before=prepared.rows_before(MIGRATE),
                         rows_of=copied_rows)
    counts = _counts(config, ledger)

    def state() -> dict[str, Any]:
        tallies = {"counts": c} if (c := counts()) else {}
        if stream is not None:
            tallies["stream"] = stream.state()
        if not prepared.many:
            return tallies
        return {**tallies, "tables": _entries(prepared, ledger)}

    runner = JobRunner(spark, loaded.raw, config.savepoints, prepared, ledger, kind=MIGRATE,
                       description=f"copy {prepared.source_identity}", extra_state=state,
                       detail=(lambda: prepared.progress_detail(ledger.results(), ledger.failures()))
                       if prepared.many else None)
    started = time.monotonic()
    path = runner.run(task, pending)
    if ledger.done_count() >= prepared.splits_total:
        for line in prepared.finish():
            log.info("%s", line)
    seconds = time.monotonic() - started
    streamed = follow(stream, spark, runner) if stream is not None else None
    return MigrationResult(
        ranges_total=prepared.splits_total,
        ranges_done=ledger.done_count(),
        rows=ledger.rows(),
        seconds=seconds,
        savepoint=streamed.savepoint if streamed is not None else str(path) if path else None,
        savepoints=runner.savepoint_stats,
        streamed=streamed,
        counts=counts(),
        tables=_outcomes(prepared, ledger) if prepared.many else [],
    )


def _entries(tables: TableSet, ledger: SplitLedger) -> dict[str, Any]:
    """Each table's savepoint entry, with its own tallies."""

    def tallies(member: Member, results: dict[int, Any]) -> dict[str, Any]:
        summed = _summed(prior_counts(member.job.config.migrator_state, MIGRATE), results.values())
        return {"counts": summed} if summed else {}

    return tables.table_entries(MIGRATE, MIGRATE, ledger.results(), ledger.failures(), copied_rows, tallies)


def _outcomes(tables: TableSet, ledger: SplitLedger) -> list[TableOutcome]:
    entries = _entries(tables, ledger)
    out = []
    for member in tables.members:
        state = entries[member.job.name]["migratorState"]
        out.append(TableOutcome(member.job.name, member.job.target, state["rangesDone"], state["rangesTotal"],
                                state["rowsCopied"], state.get("failure")))
    return out


def _counts(config: MigratorConfig, ledger: SplitLedger) -> Callable[[], dict[str, int]]:
    """The backend's tallies so far: the resumed savepoint's plus this run's finished items'."""
    before = prior_counts(config.migrator_state, MIGRATE)
    return lambda: _summed(before, ledger.results().values())


def _summed(before: dict[str, int], results: Iterable[Any]) -> dict[str, int]:
    """``before`` plus every result's tallies."""
    summed = dict(before)
    for result in results:
        for name, value in copied_counts(result).items():
            summed[name] = summed.get(name, 0) + value
    return summed
