"""Running one Spark job over the work items of a prepared run, with savepoints, progress and signals.

Shared by every command and every backend; it knows neither CQL nor tokens. The Spark action runs in
a background thread so the main thread keeps the progress display, the savepoint timer and the
signal handlers responsive. ``SplitLedger`` is the driver's record of finished splits, fed by an
accumulator that executors add to only after a split is fully done; every savepoint is rendered from
it: the config as written, the backend's fields for the finished splits (``Prepared.savepoint_fields``)
and ``migratorState``.
"""

from __future__ import annotations

import datetime as dt
import functools
import logging
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from migrator.backends.base import Backend, Kind, Prepared, WorkItem, backend_for
from migrator.config import MigratorConfig, Savepoints, redact_tree, render_yaml
from migrator.errors import EXIT_INTERRUPTED, Interrupted, MigratorError, RuntimeFailure
from migrator.files import WriteFailed
from migrator.progress import Progress, make_reporter
from migrator.savepoints import Location, SavepointManager, check_location, check_writable, savepoint_writer
from migrator.tableset import ItemFailed, TableSet, is_failed, open_tables

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

log = logging.getLogger(__name__)

POLL_SECONDS = 0.5


class _MergeParam:
    """Accumulator of ``{range index: result}``.

    Merging makes a new dict, so readers never see a dict being mutated (the driver reads it from
    another thread while Spark merges updates).
    """

    def zero(self, value: dict[int, Any]) -> dict[int, Any]:
        """An empty result set."""
        return {}

    def addInPlace(self, a: dict[int, Any], b: dict[int, Any]) -> dict[int, Any]:  # Spark's method name
        """``a`` updated with ``b``, as a new dict; ``a`` itself when ``b`` is empty."""
        if not b:
            return a
        merged = dict(a)
        merged.update(b)
        trim = getattr(self, "trim", None)
        if trim is not None:
            merged = trim(merged)
        return merged


class SplitLedger:
    """Which splits are finished (by earlier runs and by this one) and what they produced."""

    def __init__(self, *, done_before: int = 0, rows_before: int = 0, rows_of: Callable[[Any], int] = int,
                 trim: Callable[[dict[int, Any]], dict[int, Any]] | None = None) -> None:
        self.done_before = done_before
        self.rows_before = rows_before
        self._trim = trim
        self._rows_of = rows_of
        self._acc: Any = None

    def accumulator(self, spark: SparkSession) -> Any:
        """Create the Spark accumulator executors report finished splits to."""
        from pyspark.accumulators import AccumulatorParam

        # ``trim`` keeps the driver's memory bounded however many splits report (validation examples)
        trim = self._trim
        extra = {"trim": staticmethod(functools.partial(_trim_results, trim))} if trim is not None else {}
        param = type("SplitResults", (_MergeParam, AccumulatorParam), extra)()
        self._acc = spark.sparkContext.accumulator({}, param)
        return self._acc

    def results(self) -> dict[int, Any]:
        """``{split index: result}`` of the splits finished in this run (not those reported failed)."""
        reported = self._acc.value if self._acc is not None else {}
        return {index: result for index, result in reported.items() if not is_failed(result)}

    def failures(self) -> dict[int, ItemFailed]:
        """``{split index: report}`` of the items whose table failed (a many-table run's ``continue``)."""
        reported = self._acc.value if self._acc is not None else {}
        return {index: result for index, result in reported.items() if is_failed(result)}

    def done_count(self) -> int:
        """Splits finished, by earlier runs and this one."""
        return self.done_before + len(self.results())

    def rows(self) -> int:
        """Rows handled, by earlier runs and this one."""
        return self.rows_before + sum(self._rows_of(v) for v in self.results().values())


def _trim_results(trim: Callable[[dict[int, Any]], dict[int, Any]], merged: dict[int, Any]) -> dict[int, Any]:
    """``trim`` applied to the results, failure reports kept as they are."""
    failed = {index: result for index, result in merged.items() if is_failed(result)}
    if not failed:
        return trim(merged)
    return {**trim({index: result for index, result in merged.items() if index not in failed}), **failed}


@dataclass(frozen=True)
class SavepointStats:
    """What keeping savepoints cost a run: writes, seconds spent rendering and writing, the run's seconds."""

    writes: int
    seconds: float
    run_seconds: float

    @property
    def share(self) -> float:
        """The savepoint seconds as a share of the run's wall time."""
        return self.seconds / self.run_seconds if self.run_seconds > 0 else 0.0

    def __str__(self) -> str:
        return f"{self.writes} written in {self.seconds:.2f} s, {100 * self.share:.2f}% of the run"


class JobRunner:
    """Runs one Spark action over work items (one partition each), with savepoints, progress and signals.

    It is handed what a savepoint is made of, not the loaded config: the tree as the user wrote it
    (``raw``, redacted before writing), where and how often to write (``savepoints``), and the prepared
    run, which names the finished work in its own terms.
    """

    def __init__(self, spark: SparkSession, raw: dict[str, Any], savepoints: Savepoints, prepared: Prepared,
                 ledger: SplitLedger, *, kind: Kind, description: str,
                 extra_state: Callable[[], dict[str, Any]] | None = None, command: str | None = None,
                 detail: Callable[[], str] | None = None) -> None:
        self.spark = spark
        self.raw = raw
        self.savepoints = savepoints
        self.prepared = prepared
        self.ledger = ledger
        self.kind = kind
        self.description = description
        self.extra_state = extra_state or (lambda: {})
        self.command = command or kind  # the command that resumes from this run's savepoints
        self.detail = detail  # the progress line's last clause (a many-table run's tables)
        self.group = f"migrator-{kind}-{uuid.uuid4().hex[:8]}"
        self.savepoint_stats = SavepointStats(0, 0.0, 0.0)

    # --- savepoint content ---

    def render(self, reason: str) -> str:
        """The savepoint text: the config as written, the finished work and ``migratorState``."""
        ledger, run = self.ledger, self.prepared
        tree = redact_tree(self.raw, redact_where=False)
        tree.update(run.savepoint_fields(ledger.results()))
        now = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
        tree["migratorState"] = {
            "kind": self.kind,
            "command": self.command,
            "sourceIdentity": run.source_identity,
            "targetIdentity": run.target_identity,
            **run.state(),
            "rowsCopied": ledger.rows(),
            "rangesDone": ledger.done_count(),
            "rangesTotal": run.splits_total,
            "writtenAt": now,
            **self.extra_state(),
        }
        header = [
            f"savepoint written {now} ({reason})",
            f"{self.kind}: {ledger.rows():,} rows, {ledger.done_count()}/{run.splits_total} ranges done",
            f"resume with: migrator {self.command} --config <this file>",
            run.savepoint_note,
        ]
        return render_yaml(tree, header=header)

    # --- running ---

    def run(self, task: Callable[[WorkItem], Any], items: list[WorkItem]) -> Location | None:
        """Run ``task`` on every item; returns the final savepoint's location.

        Each item is one Spark partition, unless the run caps the partitions. An item's result
        reaches the ledger only when ``task`` returned for it, i.e. when its work is done, and the
        driver sees it when its Spark task ends (all the items of a shared partition at once).
        """
        from pyspark import InheritableThread

        sc = self.spark.sparkContext
        failure: list[BaseException] = []
        partition_task = _reporting(task, self.ledger.accumulator(self.spark))

        def job() -> None:
            sc.setJobGroup(self.group, self.description, interruptOnCancel=True)
            try:
                if items:
                    slices = min(len(items), self.prepared.max_partitions or len(items))
                    sc.parallelize(items, slices).foreachPartition(partition_task)
            except BaseException as exc:
                failure.append(exc)

        sp = self.savepoints
        manager = SavepointManager(
            savepoint_writer(sp.location), self.render, float(sp.interval_seconds),
            on_signal=lambda _name: sc.cancelJobGroup(self.group),
            on_failure=lambda _error: sc.cancelJobGroup(self.group),
        )
        manager.install_signal_handlers()
        manager.start()
        thread = InheritableThread(target=job, name=f"{self.kind}-job", daemon=True)
        total = self.prepared.splits_total
        reason = "failure"
        progress = Progress(total, ranges_skipped=self.ledger.done_count())
        rows_before = self.ledger.rows()
        recorded = self.ledger.done_count()
        started = time.monotonic()
        try:
            with make_reporter(progress):
                thread.start()
                while thread.is_alive():
                    thread.join(POLL_SECONDS)
                    done = self.ledger.done_count()
                    progress.set_done(done, self.ledger.rows() - rows_before)
                    if self.detail is not None:
                        progress.set_detail(self.detail())
                    if done != recorded and not manager.interrupted_by and manager.refresh() is not None:
                        recorded = done  # finished splits are on disk within a poll or two
                progress.set_done(self.ledger.done_count(), self.ledger.rows() - rows_before)
                if self.detail is not None:
                    progress.set_detail(self.detail())
            reason = "interrupted" if manager.interrupted_by else "failure" if failure else "final"
        finally:
            path = manager.close(reason)
            self.savepoint_stats = SavepointStats(manager.writes, manager.write_seconds, time.monotonic() - started)
            log.info("savepoints: %s", self.savepoint_stats)
        if manager.failure is not None:
            raise self.savepoint_failed(manager.failure, manager.last_path)
        if manager.interrupted_by:
            raise Interrupted(
                f"stopped by {manager.interrupted_by} after {self.ledger.done_count()}/{total} ranges; "
                f"savepoint written to {path}",
                hint=f"resume with: migrator {self.command} --config {path}",
            )
        if failure:
            raise translate_failure(failure[0], path)
        return path

    def savepoint_failed(self, error: WriteFailed, newest: Location | None) -> WriteFailed:
        """The run's error once a savepoint could not be written: where, why, and what is left to resume."""
        folder = self.savepoints.location
        done, total = self.ledger.done_count(), self.prepared.splits_total
        message = (f"could not write a savepoint into {folder}: {error.meaning}; the {self.command} run stopped "
                   f"after {done}/{total} ranges")
        fix = error.hint or ""
        if newest is not None and Path(newest).is_file():
            hint = f"{fix}; then resume with: migrator {self.command} --config {newest} (it is intact)"
        else:
            hint = f"{fix}; no savepoint of this run is left, so the next run starts over"
        return WriteFailed(message, hint=hint, path=error.path, code=error.errno, meaning=error.meaning)


def _reporting(task: Callable[[WorkItem], Any], accumulator: Any) -> Callable[[Iterable[WorkItem]], None]:
    """The function each Spark partition runs: do each item, then report it finished with its result."""

    def run(items: Iterable[WorkItem]) -> None:
        from migrator import worker

        worker.prepare()
        for item in items:
            accumulator.add({item.index: task(item)})

    return run


def open_run(config: MigratorConfig, *, parallelism: int, kind: Kind, backend: Backend | None = None) -> TableSet:
    """Prepare a run of ``kind`` (every table of the config) and check the savepoint it resumes.

    Nothing is written, and a refused table or savepoint closes what was opened (``tableset.open_tables``).
    """
    return open_tables(config, backend or preflight(config), parallelism=parallelism, kind=kind)


def preflight(config: MigratorConfig) -> Backend:
    """Refuse what needs no connection nor Spark; return the backend that drives the run.

    Checked: the source/target pair, the backend's own rules, the savepoint location, and that a local
    savepoint folder can be written (it is created if missing; exit 3 otherwise).
    """
    backend = backend_for(config)
    check_location(config.savepoints.location)
    check_writable(config.savepoints.location)
    return backend


def translate_failure(exc: BaseException, savepoint: Location | None) -> MigratorError:
    """Turn what Spark raised into one readable error, keeping the executor's own message."""
    if isinstance(exc, MigratorError):
        return exc
    message = executor_exception(str(exc)) or str(exc).strip().split("\n", 1)[0] or type(exc).__name__
    where = f"; finished ranges are in {savepoint}" if savepoint else ""
    failure = RuntimeFailure(f"the Spark job failed: {message}{where}")
    if savepoint:
        failure.hint = "fix the cause, then resume with --config pointing at that savepoint"
    return failure


def executor_exception(text: str) -> str | None:
    """The exception line of the last Python traceback in a Spark error, without module prefixes."""
    start = text.rfind("Traceback (most recent call last):")
    if start < 0:
        return None
    for line in text[start:].splitlines()[1:]:
        if line and not line[0].isspace():
            name, sep, rest = line.partition(": ")
            return f"{name.rsplit('.', 1)[-1]}: {rest}" if sep else line
    return None


__all__ = ["EXIT_INTERRUPTED", "JobRunner", "SplitLedger", "open_run", "preflight", "translate_failure"]
