"""The compare job: ``validate(loaded_config, spark)`` -> ``ValidationReport``, the same for every backend.

Same planning as the copy job (same splits, same savepoints), but each split is compared on an
executor by the backend's compare task (for CQL, a merge-join of the source and target scans). The
totals are exact, never a sample. Once every split is compared, the backend completes the report
with the counts only all splits together give (``Prepared.finish_report``). A killed validation
resumes from its newest savepoint, which carries the partial report, and ends with the same report
as an uninterrupted run. With a
``differences`` directory, executors also write every difference found, one file per split
(``migrator.differences``).
"""

from __future__ import annotations

import bisect
import dataclasses
import logging
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from migrator.backends.base import VALIDATE, Backend, Prepared
from migrator.config import LoadedConfig, MigratorConfig, ValidationSettings
from migrator.differences import Companion, DifferenceSink
from migrator.errors import ConfigError
from migrator.report.model import RangeResult, ValidationReport, merge, report_from_json, trim_examples
from migrator.report.tables import TableReport, TablesReport
from migrator.runner import JobRunner, SplitLedger, open_run, preflight
from migrator.tableset import Member, TableJob, folder_name

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

log = logging.getLogger(__name__)

VALIDATION_EXAMPLE = ("the validate command needs a validation block, e.g. validation: {compareTimestamps: false, "
                      "ttlToleranceMillis: 60000, writetimeToleranceMillis: 1000, failuresToFetch: 100, "
                      "floatingPointTolerance: 0.001, timestampMsTolerance: 0}")


def validate(loaded: LoadedConfig, spark: SparkSession, *, differences: str | Path | None = None,
             digests: bool = False, written_attribute: str | None = None, companion: Companion | None = None,
             command: str = "validate") -> ValidationReport:
    """The report of a one-table config (``validate_all`` takes many; its arguments are these)."""
    if loaded.model.many_tables:
        raise ConfigError([("source.table", f"{command} of many tables is not supported yet; name one table")])
    return validate_all(loaded, spark, differences=differences, digests=digests,
                        written_attribute=written_attribute, companion=companion, command=command).tables[0].report


def validate_all(loaded: LoadedConfig, spark: SparkSession, *, differences: str | Path | None = None,
                 digests: bool = False, written_attribute: str | None = None, companion: Companion | None = None,
                 command: str = "validate",
                 sink_for: Callable[[TableJob], DifferenceSink | None] | None = None) -> TablesReport:
    """Compare every table of the config split by split; resumes from the savepoint's finished work.

    ``differences``: a directory every executor can write (local mode, or a shared filesystem) that
    receives every difference found, one JSON-lines file per split (a folder per table when there are
    many); with ``digests`` each difference also carries both rows' digests and write times
    (``written_attribute`` where the store keeps none). ``companion`` renders more files from each
    split's differences (``differences.Companion``). ``sink_for`` gives each table its own sink instead
    (reconcile: a folder and a renderer per table). ``command`` is what the savepoints say resumes the
    run (``diff`` runs this job too).
    """
    config = loaded.model
    settings, backend = validation_preflight(config)
    tables = open_run(config, parallelism=spark.sparkContext.defaultParallelism, kind=VALIDATE, backend=backend)
    sink = DifferenceSink(str(Path(differences).resolve()), digests, written_attribute, companion) \
        if differences is not None else None
    try:
        for warning in tables.warnings:
            log.warning("%s", warning)
        task = tables.compare_task(settings, sink, sink_for=sink_for)
        pending = tables.pending()
    finally:
        tables.close()
    priors = {m.job.name: _prior_report(m.job.config, m.job.config.validation or settings, m.prepared)
              for m in tables.members}
    for member in tables.members:
        own = sink_for(member.job) if sink_for is not None else sink
        if own is not None:
            priors[member.job.name].differences = own.directory if sink_for is not None or not tables.many else \
                os.path.join(own.directory, folder_name(member.job.name))
    log.info("validating %s against %s: %d ranges, %d already done, %d to go", tables.source_identity,
             tables.target_identity, tables.splits_total, tables.splits_done_before, len(pending))
    fetch = {m.job.name: (m.job.config.validation or settings).failures_to_fetch for m in tables.members}
    trim = TableTrim(tuple((m.offset, m.offset + m.prepared.splits_total, fetch[m.job.name]) for m in tables.members))
    ledger = SplitLedger(done_before=tables.splits_done_before,
                         rows_before=sum(prior.counts.sourceRows for prior in priors.values()),
                         rows_of=_source_rows, trim=trim)

    def report_of(member: Member, local: dict[int, RangeResult]) -> ValidationReport:
        prior = priors[member.job.name]
        report = merge(report_from_json(prior.to_json()), local.values(), fetch[member.job.name])
        return member.prepared.finish_report(report) if report.ranges_done >= report.ranges_total else report

    def own_state(member: Member, local: dict[int, Any]) -> dict[str, Any]:
        report = report_of(member, local)
        return {"counts": dataclasses.asdict(report.counts), "report": report.to_json()}

    def state() -> dict[str, Any]:
        results = ledger.results()
        if not tables.many:
            return own_state(tables.members[0], results)
        return {"tables": tables.table_entries(VALIDATE, command, results, ledger.failures(), _source_rows,
                                               own_state)}

    runner = JobRunner(spark, loaded.raw, config.savepoints, tables, ledger, kind=VALIDATE,
                       description=f"{command} {tables.source_identity}", extra_state=state, command=command,
                       detail=(lambda: tables.progress_detail(ledger.results(), ledger.failures()))
                       if tables.many else None)
    started = time.monotonic()
    runner.run(task, pending)
    seconds = time.monotonic() - started
    failures = tables.failures(ledger.failures())
    parts = []
    for number, (member, local) in enumerate(zip(tables.members, tables.split(ledger.results()), strict=True)):
        report = report_of(member, local)
        report.seconds = priors[member.job.name].seconds + seconds
        parts.append(TableReport(member.job.name, member.job.target, report, failures.get(number)))
    return TablesReport(parts)


@dataclass(frozen=True)
class TableTrim:
    """Keeps each table's first ``failuresToFetch`` examples of a kind (``trim_examples`` per table).

    ``bounds``: per table, its first and past-last item index and its ``failuresToFetch``. Plain data,
    so the accumulator it trims for can be shipped to executors.
    """

    bounds: tuple[tuple[int, int, int], ...]

    def __call__(self, results: dict[int, RangeResult]) -> dict[int, RangeResult]:
        """``results`` with each table's examples trimmed."""
        starts = [start for start, _, _ in self.bounds]
        groups: dict[int, dict[int, RangeResult]] = {}
        for index, result in results.items():
            groups.setdefault(bisect.bisect_right(starts, index) - 1, {})[index] = result
        out: dict[int, RangeResult] = {}
        for number, own in groups.items():
            out.update(trim_examples(own, failures_to_fetch=self.bounds[number][2]) if number >= 0 else own)
        return out


def validation_preflight(config: MigratorConfig) -> tuple[ValidationSettings, Backend]:
    """Refuse what ``validate`` cannot run before connecting or starting Spark; return settings and backend.

    Checked: the pair, the validation block, repair switches the backend cannot honour.
    """
    backend = preflight(config)
    settings = require_validation(config)
    require_repairs(settings, backend)
    return settings, backend


def require_validation(config: MigratorConfig) -> ValidationSettings:
    """The validation block; its absence is a config error (exit 2)."""
    if config.validation is None:
        raise ConfigError([("validation", VALIDATION_EXAMPLE)])
    return config.validation


def require_repairs(settings: ValidationSettings, backend: Backend) -> None:
    """Refuse repair switches the backend cannot honour (exit 2), before anything is read or written."""
    if settings.repair_keys and not backend.capabilities.repairs:
        raise ConfigError([(f"validation.{key}", f"{backend.name} cannot repair while validating yet; set it to false "
                            "and copy the differences with migrate") for key in settings.repair_keys])


def _source_rows(result: RangeResult) -> int:
    return result.source_rows


def _prior_report(config: MigratorConfig, v: ValidationSettings, prepared: Prepared) -> ValidationReport:
    state = config.migrator_state
    if state is not None and state.kind == VALIDATE and state.report:
        return report_from_json(state.report)
    settings = {
        "compareTimestamps": v.compare_timestamps, "ttlToleranceMillis": v.ttl_tolerance_millis,
        "writetimeToleranceMillis": v.writetime_tolerance_millis, "floatingPointTolerance": v.floating_point_tolerance,
        "timestampMsTolerance": v.timestamp_ms_tolerance, "failuresToFetch": v.failures_to_fetch,
        "ignoreColumns": list(v.ignore_columns), "columnTolerances": dict(v.column_tolerances),
        "recheckMismatches": v.recheck_mismatches, "where": "<redacted>" if _has_where(config) else None,
    }
    return ValidationReport(prepared.source_identity, prepared.target_identity, prepared.splits_total,
                            settings=settings, split_unit=prepared.split_unit)


def _has_where(config: MigratorConfig) -> bool:
    return bool(getattr(config.source, "where", None))
