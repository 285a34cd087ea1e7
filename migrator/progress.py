"""Progress of a run: counters the driver updates, and reporters that show them.

``Progress`` is a thread-safe set of counters (ranges done of total, rows, extra named counters)
fed by the migration driver. ``snapshot()`` gives a frozen ``ProgressState``; everything shown is
computed from a state and a clock reading by pure functions, so it can be tested exactly.

Two reporters, picked by ``make_reporter``: a rich live display on a terminal, and a plain log line
every N seconds (logger ``migrator.progress``) otherwise. Both are context managers that write a
summary on exit, and neither can break the run: a rendering error is logged once, then ignored.

Rates: rows/s is measured over the last ``RATE_WINDOW_SECONDS`` and overall. The ETA assumes the
remaining ranges go as fast as the ones this run finished; ranges skipped because a savepoint said
they were done count as done but not as speed. Before this run finishes a range, the ETA is unknown.
"""

from __future__ import annotations

import logging
import math
import os
import sys
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from types import MappingProxyType, TracebackType
from typing import Any, Literal, Self, TextIO

log = logging.getLogger("migrator.progress")

RATE_WINDOW_SECONDS = 30.0
DEFAULT_INTERVAL_SECONDS = 10.0
INTERVAL_ENV = "MIGRATOR_PROGRESS_INTERVAL"
RICH_REFRESH_PER_SECOND = 2.0
BAR_WIDTH = 30
STOP_WAIT_SECONDS = 5.0
UNKNOWN = "unknown"
SECONDS_PER_HOUR = 3600
SECONDS_PER_MINUTE = 60


@dataclass(frozen=True)
class ProgressState:
    """Counters at one moment (times are readings of the progress clock, in seconds).

    ``ranges_skipped`` of the ``ranges_done`` were done by an earlier run. ``window_rows`` is the
    row count at ``window_started_at``, the start of the recent-rate window.
    """

    ranges_total: int
    ranges_done: int
    rows: int
    started_at: float
    ranges_skipped: int = 0
    window_started_at: float | None = None
    window_rows: int = 0
    extra: Mapping[str, int] = field(default_factory=dict, hash=False)
    detail: str = ""  # one more clause for the line, e.g. a many-table run's tables

    def __post_init__(self) -> None:
        if not 0 <= self.ranges_skipped <= self.ranges_done <= self.ranges_total:
            raise ValueError(
                "progress needs 0 <= ranges_skipped <= ranges_done <= ranges_total, got "
                f"{self.ranges_skipped}, {self.ranges_done}, {self.ranges_total}"
            )
        if not 0 <= self.window_rows <= self.rows:
            raise ValueError(f"progress needs 0 <= window_rows <= rows, got {self.window_rows}, {self.rows}")
        if self.window_started_at is None:
            object.__setattr__(self, "window_started_at", self.started_at)
        object.__setattr__(self, "extra", MappingProxyType(dict(self.extra)))


def elapsed_seconds(state: ProgressState, now: float) -> float:
    """Seconds since the run started."""
    return max(0.0, now - state.started_at)


def overall_rate(state: ProgressState, now: float) -> float | None:
    """Mean rows per second since the start, or None at the very start."""
    elapsed = elapsed_seconds(state, now)
    return state.rows / elapsed if elapsed > 0 else None


def recent_rate(state: ProgressState, now: float) -> float | None:
    """Rows per second over the recent window, or None when the window is empty."""
    start = state.started_at if state.window_started_at is None else state.window_started_at
    span = now - start
    return (state.rows - state.window_rows) / span if span > 0 else None


def eta_seconds(state: ProgressState, now: float) -> float | None:
    """Seconds left, from the pace of the ranges this run finished; None before the first one."""
    remaining = state.ranges_total - state.ranges_done
    if remaining == 0:
        return 0.0
    finished_here = state.ranges_done - state.ranges_skipped
    if finished_here <= 0:
        return None
    return elapsed_seconds(state, now) * remaining / finished_here


def percent_done(state: ProgressState) -> float:
    """Ranges done as a percentage of all ranges (100 when there is nothing to do)."""
    return 100.0 if state.ranges_total == 0 else 100.0 * state.ranges_done / state.ranges_total


def format_duration(seconds: float | None) -> str:
    """``H:MM:SS`` (hours unbounded), or ``unknown``."""
    if seconds is None or not math.isfinite(seconds):
        return UNKNOWN
    hours, rest = divmod(round(max(0.0, seconds)), SECONDS_PER_HOUR)
    minutes, secs = divmod(rest, SECONDS_PER_MINUTE)
    return f"{hours}:{minutes:02d}:{secs:02d}"


def format_rate(rate: float | None) -> str:
    """``45,678 rows/s``, or ``unknown rows/s``."""
    return f"{UNKNOWN} rows/s" if rate is None else f"{rate:,.0f} rows/s"


def _extras(state: ProgressState) -> str:
    detail = f"; {state.detail}" if state.detail else ""
    return "".join(f", {name} {value:,}" for name, value in sorted(state.extra.items())) + detail


def format_line(state: ProgressState, now: float) -> str:
    """The periodic log line.

    For example ``progress: 37/256 ranges (14.5%), 1,234,567 rows, 45,678 rows/s, ETA 0:01:23``.
    """
    rate = recent_rate(state, now)
    if rate is None:
        rate = overall_rate(state, now)
    return (
        f"progress: {state.ranges_done}/{state.ranges_total} ranges ({percent_done(state):.1f}%), "
        f"{state.rows:,} rows, {format_rate(rate)}, ETA {format_duration(eta_seconds(state, now))}"
        f"{_extras(state)}"
    )


def summary_line(state: ProgressState, now: float) -> str:
    """The end-of-run line: ranges, rows, elapsed time and mean rows/s."""
    skipped = f" ({state.ranges_skipped} done before)" if state.ranges_skipped else ""
    return (
        f"summary: {state.ranges_done}/{state.ranges_total} ranges{skipped}, {state.rows:,} rows "
        f"in {format_duration(elapsed_seconds(state, now))}, mean {format_rate(overall_rate(state, now))}"
        f"{_extras(state)}"
    )


class Progress:
    """Thread-safe counters the migration driver updates; readers take snapshots."""

    def __init__(
        self,
        ranges_total: int,
        *,
        ranges_skipped: int = 0,
        clock: Callable[[], float] = time.monotonic,
        window_seconds: float = RATE_WINDOW_SECONDS,
    ) -> None:
        if not window_seconds > 0:
            raise ValueError(f"the rate window must be a positive number of seconds: {window_seconds}")
        self._clock = clock
        self._window = window_seconds
        self._lock = threading.Lock()
        self._state = ProgressState(
            ranges_total=ranges_total,
            ranges_done=ranges_skipped,
            rows=0,
            started_at=clock(),
            ranges_skipped=ranges_skipped,
        )
        self._samples: deque[tuple[float, int]] = deque([(self._state.started_at, 0)])

    def now(self) -> float:
        """A reading of the clock the counters are timed with."""
        return self._clock()

    def _update(self, **changes: Any) -> None:
        """Replace counters (caller holds the lock) and record a rate sample."""
        now = self._clock()
        self._state = replace(self._state, **changes)
        self._samples.append((now, self._state.rows))
        self._prune(now)

    def _prune(self, now: float) -> None:
        # keep the newest sample at or before the window start as the window's baseline
        while len(self._samples) >= 2 and self._samples[1][0] <= now - self._window:
            self._samples.popleft()

    def set_done(self, ranges_done: int, rows: int) -> None:
        """Set the totals so far (e.g. read from accumulators).

        ``ranges_done`` includes the ranges skipped from a savepoint; ``rows`` counts this run only.
        """
        with self._lock:
            self._update(ranges_done=ranges_done, rows=rows)

    def advance(self, ranges: int = 0, rows: int = 0) -> None:
        """Add finished ranges and rows."""
        with self._lock:
            self._update(ranges_done=self._state.ranges_done + ranges, rows=self._state.rows + rows)

    def set_counter(self, name: str, value: int) -> None:
        """Set an extra named counter (shown after the standard ones)."""
        with self._lock:
            self._state = replace(self._state, extra={**self._state.extra, name: value})

    def add_counter(self, name: str, delta: int = 1) -> None:
        """Add to an extra named counter."""
        with self._lock:
            value = self._state.extra.get(name, 0) + delta
            self._state = replace(self._state, extra={**self._state.extra, name: value})

    def set_detail(self, text: str) -> None:
        """Set the line's last clause (shown after the counters)."""
        with self._lock:
            self._state = replace(self._state, detail=text)

    def snapshot(self) -> ProgressState:
        """The counters now, with the recent-rate window resolved."""
        with self._lock:
            self._prune(self._clock())
            base_at, base_rows = self._samples[0]
            # rows only grow when fed from accumulators; min() keeps a state valid if they did not
            rows = min(base_rows, self._state.rows)
            return replace(self._state, window_started_at=base_at, window_rows=rows)


def interval_from_env(environ: Mapping[str, str] | None = None) -> float:
    """The plain reporter's interval: ``MIGRATOR_PROGRESS_INTERVAL`` seconds, else 10."""
    raw = (os.environ if environ is None else environ).get(INTERVAL_ENV)
    if raw is None or raw.strip() == "":
        return DEFAULT_INTERVAL_SECONDS
    try:
        value = float(raw)
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and value > 0):
        log.warning(
            "%s=%r is not a positive number of seconds; using %g", INTERVAL_ENV, raw, DEFAULT_INTERVAL_SECONDS
        )
        return DEFAULT_INTERVAL_SECONDS
    return value


class Reporter:
    """Shared behaviour: the first failure of a reporting step is logged, later ones ignored."""

    def __init__(self, progress: Progress) -> None:
        self.progress = progress
        self._failed = False

    def _guard(self, step: Callable[[], Any]) -> Any:
        try:
            return step()
        except Exception:
            if not self._failed:
                self._failed = True
                log.exception("progress reporting failed; the run goes on (further errors are not logged)")
            return None

    def summary(self) -> str:
        """The end-of-run summary line for the counters now."""
        return summary_line(self.progress.snapshot(), self.progress.now())

    def __enter__(self) -> Self:
        self._guard(self._start)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._guard(self._stop)

    def _start(self) -> None:
        raise NotImplementedError

    def _stop(self) -> None:
        raise NotImplementedError


class PlainReporter(Reporter):
    """Logs a progress line every ``interval_seconds`` and a summary line on exit."""

    def __init__(self, progress: Progress, *, interval_seconds: float | None = None) -> None:
        super().__init__(progress)
        self.interval_seconds = interval_from_env() if interval_seconds is None else interval_seconds
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    def line(self) -> str:
        """The progress line for the counters now."""
        return format_line(self.progress.snapshot(), self.progress.now())

    def _start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="progress", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stopping.wait(self.interval_seconds):
            self._guard(lambda: log.info(self.line()))

    def _stop(self) -> None:
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(STOP_WAIT_SECONDS)
        log.info(self.summary())


class RichReporter(Reporter):
    """A live bar on a terminal (ranges, rows, rows/s, ETA), and a summary table on exit."""

    def __init__(self, progress: Progress, *, stream: TextIO | None = None) -> None:
        from rich.console import Console  # imported here: only terminals pay for rich

        super().__init__(progress)
        self.console = Console(file=stream if stream is not None else sys.stderr)
        self._live: Any = None

    def renderable(self) -> Any:
        """The live display for the counters now: a bar line, then a rows and speed line."""
        from rich.console import Group
        from rich.progress_bar import ProgressBar
        from rich.table import Table

        state, now = self.progress.snapshot(), self.progress.now()
        top = Table.grid(padding=(0, 1))
        for _ in range(3):
            top.add_column(no_wrap=True)
        top.add_row(
            ProgressBar(total=max(state.ranges_total, 1), completed=state.ranges_done, width=BAR_WIDTH),
            f"{state.ranges_done}/{state.ranges_total} ranges ({percent_done(state):.1f}%)",
            f"ETA {format_duration(eta_seconds(state, now))}",
        )
        mean = overall_rate(state, now)
        rate = recent_rate(state, now)
        speed = format_rate(rate if rate is not None else mean)
        return Group(top, f"{state.rows:,} rows, {speed} (mean {format_rate(mean)}){_extras(state)}")

    def _safe_renderable(self) -> Any:
        rendered = self._guard(self.renderable)
        return rendered if rendered is not None else ""

    def summary_table(self) -> Any:
        """The end-of-run table: ranges, rows, elapsed, mean rows/s."""
        from rich.table import Table

        state, now = self.progress.snapshot(), self.progress.now()
        table = Table(title="migration summary")
        for column in ("ranges", "rows", "elapsed", "mean rows/s"):
            table.add_column(column, justify="right")
        mean = overall_rate(state, now)
        table.add_row(
            f"{state.ranges_done}/{state.ranges_total}",
            f"{state.rows:,}",
            format_duration(elapsed_seconds(state, now)),
            UNKNOWN if mean is None else f"{mean:,.0f}",
        )
        return table

    def _start(self) -> None:
        from rich.live import Live

        self._live = Live(
            console=self.console,
            refresh_per_second=RICH_REFRESH_PER_SECOND,
            transient=True,
            get_renderable=self._safe_renderable,
        )
        self._live.start()

    def _stop(self) -> None:
        if self._live is not None:
            self._live.stop()
        self.console.print(self.summary_table())



def make_reporter(
    progress: Progress,
    *,
    stream: TextIO | None = None,
    force: Literal["rich", "plain"] | None = None,
    interval_seconds: float | None = None,
) -> Reporter:
    """A rich reporter when ``stream`` (default stderr) is a terminal, else a plain one."""
    if force not in (None, "rich", "plain"):
        raise ValueError(f"force must be 'rich', 'plain' or None, got {force!r}")
    target = stream if stream is not None else sys.stderr
    if force == "rich" or (force is None and _is_terminal(target)):
        return RichReporter(progress, stream=target)
    return PlainReporter(progress, interval_seconds=interval_seconds)


def _is_terminal(stream: TextIO) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError, OSError):
        return False
