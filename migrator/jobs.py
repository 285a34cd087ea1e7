"""Running a range-by-range Spark job with savepoints, progress and signal handling.

Shared by the copy and the compare jobs. The Spark action runs in a background thread so the main
thread can keep the progress display, the savepoint timer and the signal handlers responsive.
``RangeLedger`` is the driver's record of finished ranges, fed by an accumulator that executors add
to only after a range is fully done; it is what every savepoint is rendered from.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from migrator.errors import EXIT_INTERRUPTED, Interrupted, MigratorError, RuntimeFailure
from migrator.planning import tokens

if TYPE_CHECKING:
    from migrator.savepoints import Location

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


class RangeLedger:
    """Which splits are finished (from earlier runs and from this one) and what they produced."""

    def __init__(self, plan: tokens.Plan, *, rows_before: int = 0, rows_of: Callable[[Any], int] = int,
                 trim: Callable[[dict[int, Any]], dict[int, Any]] | None = None) -> None:
        self.plan = plan
        self._trim = trim
        self.rows_before = rows_before
        self._rows_of = rows_of
        self._acc: Any = None

    def accumulator(self, spark: Any) -> Any:
        """Create the Spark accumulator executors report finished ranges to."""
        from pyspark.accumulators import AccumulatorParam

        # ``trim`` keeps the driver's memory bounded however many ranges report (validation examples)
        extra = {"trim": staticmethod(self._trim)} if self._trim is not None else {}
        param = type("RangeResults", (_MergeParam, AccumulatorParam), extra)()
        self._acc = spark.sparkContext.accumulator({}, param)
        return self._acc

    def results(self) -> dict[int, Any]:
        """``{split index: result}`` of the ranges finished in this run."""
        return dict(self._acc.value) if self._acc is not None else {}

    def done_count(self) -> int:
        """Splits finished, by earlier runs and this one."""
        return self.plan.done_count + len(self.results())

    def rows(self) -> int:
        """Rows handled, by earlier runs and this one."""
        return self.rows_before + sum(self._rows_of(v) for v in self.results().values())

    def finished_ranges(self) -> list[tokens.TokenRange]:
        """The savepoint's skip ranges plus the splits finished in this run, coalesced."""
        done = [self.plan.all_ranges[i] for i in self.results()]
        return tokens.coalesce([*self.plan.skip, *done])


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
    """Runs one Spark action over range items, with savepoints, progress and signal handling."""

    def __init__(self, spark: Any, loaded: Any, ctx: Any, ledger: RangeLedger, *, kind: str,
                 description: str, extra_state: Callable[[], dict[str, Any]] | None = None) -> None:
        self.spark = spark
        self.loaded = loaded
        self.ctx = ctx
        self.ledger = ledger
        self.kind = kind
        self.description = description
        self.extra_state = extra_state or (lambda: {})
        self.group = f"migrator-{kind}-{uuid.uuid4().hex[:8]}"
        self.savepoint_stats = SavepointStats(0, 0.0, 0.0)

    # --- savepoint content ---

    def render(self, reason: str) -> str:
        """The savepoint text: the config as written, the finished ranges and ``migratorState``."""
        from migrator.config import encode_token_ranges, redact_tree, render_yaml

        ledger, ctx = self.ledger, self.ctx
        finished = ledger.finished_ranges()
        tree = redact_tree(self.loaded.raw, redact_where=False)
        tree["skipTokenRanges"] = encode_token_ranges(
            [(r.start, r.end) for r in finished], ctx.partitioner.token_type
        )
        now = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
        state = {
            "kind": self.kind,
            "sourceIdentity": ctx.source_identity,
            "targetIdentity": ctx.target_identity,
            "partitioner": ctx.partitioner.short_name,
            "splitCount": ctx.split_count,
            "rowsCopied": ledger.rows(),
            "rangesDone": ledger.done_count(),
            "rangesTotal": len(ctx.plan.all_ranges),
            "writtenAt": now,
            **self.extra_state(),
        }
        tree["migratorState"] = state
        header = [
            f"savepoint written {now} ({reason})",
            f"{self.kind}: {ledger.rows():,} rows, "
            f"{ledger.done_count()}/{len(ctx.plan.all_ranges)} ranges done",
            f"resume with: migrator {self.kind} --config <this file>",
            "skipTokenRanges lists the finished ranges; remove one to run it again",
        ]
        return render_yaml(tree, header=header)

    # --- running ---

    def run(self, task: Callable[[Iterable[Any]], None], items: list[Any]) -> Location | None:
        """Run ``task`` over ``items`` (one Spark partition each); returns the final savepoint path."""
        from pyspark import InheritableThread

        from migrator.progress import Progress, make_reporter
        from migrator.savepoints import SavepointManager, savepoint_writer

        sc = self.spark.sparkContext
        failure: list[BaseException] = []

        def job() -> None:
            sc.setJobGroup(self.group, self.description, interruptOnCancel=True)
            try:
                if items:
                    sc.parallelize(items, len(items)).foreachPartition(task)
            except BaseException as exc:
                failure.append(exc)

        sp = self.loaded.model.savepoints
        manager = SavepointManager(
            savepoint_writer(sp.location), self.render, float(sp.interval_seconds),
            on_signal=lambda _name: sc.cancelJobGroup(self.group),
        )
        manager.install_signal_handlers()
        manager.start()
        thread = InheritableThread(target=job, name=f"{self.kind}-job", daemon=True)
        total = len(self.ctx.plan.all_ranges)
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
                    if done != recorded and not manager.interrupted_by and manager.refresh() is not None:
                        recorded = done  # finished ranges are on disk within a poll or two
                progress.set_done(self.ledger.done_count(), self.ledger.rows() - rows_before)
            reason = "interrupted" if manager.interrupted_by else "failure" if failure else "final"
        finally:
            path = manager.close(reason)
            self.savepoint_stats = SavepointStats(manager.writes, manager.write_seconds, time.monotonic() - started)
            log.info("savepoints: %s", self.savepoint_stats)
        if manager.interrupted_by:
            raise Interrupted(
                f"stopped by {manager.interrupted_by} after {self.ledger.done_count()}/{total} ranges; "
                f"savepoint written to {path}",
                hint=f"resume with: migrator {self.kind} --config {path}",
            )
        if failure:
            raise translate_failure(failure[0], path)
        return path


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


__all__ = ["EXIT_INTERRUPTED", "JobRunner", "RangeLedger", "translate_failure"]
