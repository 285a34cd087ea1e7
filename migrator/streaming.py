"""Keeping the target in sync after the snapshot: a backend's change stream, applied round after round.

Each round is one Spark job with one task per shard that is ready (``ChangeStream.ready``: parents
finished before children), so the work spreads over the executors as shards multiply. A task reads
its shard from the saved position, applies the changes to the target and returns the new position
once every write was acknowledged; the driver records the positions (``ChangeStream.advance``) and
rewrites the savepoint before the next round starts. A killed run therefore resumes after the last
acknowledged change of each shard: a change is never skipped, and one applied again is applied in
its order, so the target ends the same.

The job runs until SIGINT or SIGTERM: the round under way finishes (rounds are short), the final
savepoint holds its positions, and the run exits 4. When the signal reached Spark too (Ctrl-C
signals the whole process group) and the round failed, its positions are not recorded: the round is
applied again on resume. A stream whose every shard has ended (the stream
was turned off) ends the run normally. Progress is logged every ``REPORT_EVERY_S``: changes applied,
changes per second, shards, and how far the slowest shard is behind the stream.
"""

from __future__ import annotations

import functools
import logging
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from migrator.backends.base import ChangeStream, ShardRead, ShardTask, WorkItem
from migrator.errors import Interrupted
from migrator.savepoints import Location, SavepointManager, savepoint_writer

if TYPE_CHECKING:
    from pyspark import SparkContext
    from pyspark.sql import SparkSession

    from migrator.runner import JobRunner

log = logging.getLogger(__name__)

IDLE_WAIT_S = 1.0  # between rounds once every shard is read up to now
REPORT_EVERY_S = 5.0
POLL_S = 0.5


@dataclass(frozen=True)
class StreamResult:
    """What a streaming run did before it stopped: changes applied, rounds, seconds and the last savepoint."""

    changes: int
    rounds: int
    seconds: float
    savepoint: str | None


class Meter:
    """Changes applied, their rate over the last report's window, and the lag, as one progress line."""

    def __init__(self, name: str, clock: Any = time.monotonic) -> None:
        self.name = name
        self.clock = clock
        self.started = self.window_start = clock()
        self.changes = self.window_changes = 0
        self.behind_s = 0.0

    def add(self, reads: list[ShardRead]) -> None:
        """A round's reads."""
        applied = sum(read.applied for read in reads)
        self.changes += applied
        self.window_changes += applied
        self.behind_s = max((read.behind_s for read in reads), default=0.0)

    def due(self) -> bool:
        """Whether a report is due."""
        return self.clock() - self.window_start >= REPORT_EVERY_S

    def line(self, open_shards: int, done_shards: int) -> str:
        """The progress line; starts a new rate window."""
        now = self.clock()
        rate = self.window_changes / max(now - self.window_start, 1e-9)
        self.window_start, self.window_changes = now, 0
        return (f"streaming {self.name}: {self.changes:,} changes applied, {rate:,.0f}/s; shards: {open_shards} "
                f"being read, {done_shards} finished; behind the stream by {self.behind_s:.1f} s")


def follow(stream: ChangeStream, spark: SparkSession, runner: JobRunner) -> StreamResult:
    """Apply the stream's changes until stopped; savepoints come from ``runner`` (its config and work)."""
    from migrator.runner import translate_failure

    sc = spark.sparkContext
    task = stream.shard_task()
    sp = runner.savepoints
    manager = SavepointManager(savepoint_writer(sp.location), runner.render, float(sp.interval_seconds))
    manager.install_signal_handlers()
    manager.start()
    meter = Meter(stream.name)
    rounds = 0
    failure: BaseException | None = None
    log.info("streaming %s; stop with SIGINT or SIGTERM (a final savepoint resumes it)", stream.name)
    try:
        while not manager.interrupted_by and manager.failure is None:
            items = stream.ready()
            if not items:
                reading, done = stream.shard_counts()
                if reading == 0 and done > 0:
                    log.info("every shard of %s has ended: nothing more to stream", stream.name)
                    break
                _pause(manager, IDLE_WAIT_S)
                continue
            reads = run_round(sc, f"{runner.group}-stream", task, items)
            rounds += 1
            stream.advance(reads)
            if any(read.read or read.closed for read in reads):  # positions moved: on disk before the next round
                manager.refresh(force=True)
            meter.add(reads)
            if meter.due():
                log.info("%s", meter.line(*stream.shard_counts()))
            if all(read.behind_s == 0 for read in reads) and not any(read.read for read in reads):
                _pause(manager, IDLE_WAIT_S)
    except BaseException as exc:
        failure = exc
    finally:
        reason = "interrupted" if manager.interrupted_by else "failure" if failure is not None else "final"
        path = manager.close(reason)
    log.info("%s", meter.line(*stream.shard_counts()))
    if manager.failure is not None:
        raise runner.savepoint_failed(manager.failure, manager.last_path)
    if failure is not None and not manager.interrupted_by:  # a signal to the process group may fail the round
        raise translate_failure(failure, path) from None
    if manager.interrupted_by:
        raise Interrupted(
            f"streaming stopped by {manager.interrupted_by} after {meter.changes:,} changes; "
            f"savepoint written to {path}",
            hint=f"resume with: migrator migrate --config {path}",
        )
    return StreamResult(meter.changes, rounds, time.monotonic() - meter.started, _text(path))


def _prepared(task: ShardTask, item: WorkItem) -> ShardRead:
    """A shard task, in a worker made ready first (``worker.prepare``)."""
    from migrator import worker

    worker.prepare()
    return task(item)


def run_round(sc: SparkContext, group: str, task: ShardTask, items: list[WorkItem]) -> list[ShardRead]:
    """One Spark job, one task per shard; the main thread stays free for signals while it runs.

    A signal does not cancel the round: it ends within a round's bounds, and its positions are saved.
    """
    from pyspark import InheritableThread

    out: list[ShardRead] = []
    errors: list[BaseException] = []

    def job() -> None:
        sc.setJobGroup(group, "stream changes", interruptOnCancel=True)
        try:
            out.extend(sc.parallelize(items, len(items)).map(functools.partial(_prepared, task)).collect())
        except BaseException as exc:
            errors.append(exc)

    thread = InheritableThread(target=job, name="stream-round", daemon=True)
    thread.start()
    while thread.is_alive():
        thread.join(POLL_S)
    if errors:
        raise errors[0]
    return out


def _pause(manager: SavepointManager, seconds: float) -> None:
    """Sleep, waking early on a signal."""
    deadline = time.monotonic() + seconds
    while not manager.interrupted_by and time.monotonic() < deadline:
        time.sleep(min(0.2, max(0.0, deadline - time.monotonic())))


def _text(path: Location | None) -> str | None:
    return str(path) if path is not None else None
