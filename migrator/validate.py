"""The compare job: ``validate(loaded_config, spark)`` -> ``ValidationReport``, the same for every backend.

Same planning as the copy job (same splits, same savepoints), but each split is compared on an
executor by the backend's compare task (for CQL, a merge-join of the source and target scans). The
totals are exact, never a sample. A killed validation resumes from its newest savepoint, which
carries the partial report, and ends with the same report as an uninterrupted run. With a
``differences`` directory, executors also write every difference found, one file per split
(``migrator.differences``).
"""

from __future__ import annotations

import dataclasses
import functools
import logging
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from migrator.backends.base import VALIDATE, Backend, Prepared
from migrator.config import LoadedConfig, MigratorConfig, ValidationSettings
from migrator.differences import Companion, DifferenceSink
from migrator.errors import ConfigError
from migrator.report.model import RangeResult, ValidationReport, merge, report_from_json, trim_examples
from migrator.runner import JobRunner, SplitLedger, open_run, preflight

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

log = logging.getLogger(__name__)

VALIDATION_EXAMPLE = ("the validate command needs a validation block, e.g. validation: {compareTimestamps: false, "
                      "ttlToleranceMillis: 60000, writetimeToleranceMillis: 1000, failuresToFetch: 100, "
                      "floatingPointTolerance: 0.001, timestampMsTolerance: 0}")


def validate(loaded: LoadedConfig, spark: SparkSession, *, differences: str | Path | None = None,
             digests: bool = False, written_attribute: str | None = None, companion: Companion | None = None,
             command: str = "validate") -> ValidationReport:
    """Compare the source and target tables split by split; resumes from the savepoint's finished work.

    ``differences``: a directory every executor can write (local mode, or a shared filesystem) that
    receives every difference found, one JSON-lines file per split; with ``digests`` each difference
    also carries both rows' digests and write times (``written_attribute`` where the store keeps none).
    ``companion`` renders more files from each split's differences (``differences.Companion``).
    ``command`` is what the savepoints say resumes the run (``diff`` runs this job too).
    """
    config = loaded.model
    settings, backend = validation_preflight(config)
    prepared = open_run(config, parallelism=spark.sparkContext.defaultParallelism, kind=VALIDATE, backend=backend)
    sink = DifferenceSink(str(Path(differences).resolve()), digests, written_attribute, companion) \
        if differences is not None else None
    try:
        for warning in prepared.warnings:
            log.warning("%s", warning)
        task = prepared.compare_task(settings, sink)
        pending = prepared.pending()
    finally:
        prepared.close()
    prior = _prior_report(config, settings, prepared)
    if sink is not None:
        prior.differences = sink.directory
    log.info("validating %s against %s: %d ranges, %d already done, %d to go", prepared.source_identity,
             prepared.target_identity, prepared.splits_total, prepared.splits_done_before, len(pending))
    failures = settings.failures_to_fetch
    ledger = SplitLedger(done_before=prepared.splits_done_before, rows_before=prior.counts.sourceRows,
                         rows_of=_source_rows, trim=functools.partial(trim_examples, failures_to_fetch=failures))

    def partial() -> ValidationReport:
        return merge(report_from_json(prior.to_json()), ledger.results().values(), failures)

    def state() -> dict[str, Any]:
        report = partial()
        return {"counts": dataclasses.asdict(report.counts), "report": report.to_json()}

    runner = JobRunner(spark, loaded.raw, config.savepoints, prepared, ledger, kind=VALIDATE,
                       description=f"{command} {prepared.source_identity}", extra_state=state, command=command)
    started = time.monotonic()
    runner.run(task, pending)
    report = partial()
    report.seconds = prior.seconds + time.monotonic() - started
    return report


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
