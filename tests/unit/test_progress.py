"""Progress counters, rate/ETA math and formatting (fake clock), and the two reporters."""

from __future__ import annotations

import io
import logging
import threading
import time

import pytest

from migrator.progress import (
    DEFAULT_INTERVAL_SECONDS,
    PlainReporter,
    Progress,
    ProgressState,
    RichReporter,
    eta_seconds,
    format_duration,
    format_line,
    format_rate,
    interval_from_env,
    make_reporter,
    overall_rate,
    percent_done,
    recent_rate,
    summary_line,
)
from tests.support.waiting import wait_until


class FakeClock:
    def __init__(self, now: float = 1000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


# --- pure math and formatting -------------------------------------------------------------------


def test_format_duration() -> None:
    assert format_duration(0) == "0:00:00"
    assert format_duration(83.4) == "0:01:23"
    assert format_duration(3725) == "1:02:05"
    assert format_duration(90061) == "25:01:01"
    assert format_duration(None) == "unknown"
    assert format_duration(float("inf")) == "unknown"


def test_format_rate() -> None:
    assert format_rate(45678.4) == "45,678 rows/s"
    assert format_rate(None) == "unknown rows/s"


def test_documented_line() -> None:
    state = ProgressState(
        ranges_total=256,
        ranges_done=37,
        rows=1_234_567,
        started_at=0.0,
        window_started_at=4.0,
        window_rows=1_234_567 - 456_780,
    )
    assert recent_rate(state, 14.0) == pytest.approx(45_678.0)
    assert eta_seconds(state, 14.0) == pytest.approx(14.0 * 219 / 37)
    assert format_line(state, 14.0) == (
        "progress: 37/256 ranges (14.5%), 1,234,567 rows, 45,678 rows/s, ETA 0:01:23"
    )


def test_eta_unknown_before_the_first_range_and_zero_at_the_end() -> None:
    state = ProgressState(ranges_total=10, ranges_done=0, rows=500, started_at=0.0)
    assert eta_seconds(state, 50.0) is None
    assert format_line(state, 50.0) == "progress: 0/10 ranges (0.0%), 500 rows, 10 rows/s, ETA unknown"
    done = ProgressState(ranges_total=10, ranges_done=10, rows=500, started_at=0.0)
    assert eta_seconds(done, 50.0) == 0.0
    nothing = ProgressState(ranges_total=0, ranges_done=0, rows=0, started_at=0.0)
    assert percent_done(nothing) == 100.0
    assert eta_seconds(nothing, 1.0) == 0.0


def test_eta_ignores_ranges_done_by_an_earlier_run() -> None:
    state = ProgressState(ranges_total=256, ranges_done=228, rows=10, started_at=0.0, ranges_skipped=200)
    assert eta_seconds(state, 10.0) == pytest.approx(10.0)
    fresh = ProgressState(ranges_total=256, ranges_done=200, rows=0, started_at=0.0, ranges_skipped=200)
    assert eta_seconds(fresh, 10.0) is None


def test_rates_at_the_start_are_unknown() -> None:
    state = ProgressState(ranges_total=4, ranges_done=0, rows=0, started_at=5.0)
    assert overall_rate(state, 5.0) is None
    assert recent_rate(state, 5.0) is None
    assert format_line(state, 5.0) == "progress: 0/4 ranges (0.0%), 0 rows, unknown rows/s, ETA unknown"


def test_summary_line_and_extras() -> None:
    state = ProgressState(
        ranges_total=256,
        ranges_done=256,
        rows=12_345_678,
        started_at=0.0,
        ranges_skipped=6,
        extra={"retries": 3, "failed ranges": 0},
    )
    assert summary_line(state, 250.0) == (
        "summary: 256/256 ranges (6 done before), 12,345,678 rows in 0:04:10, mean 49,383 rows/s"
        ", failed ranges 0, retries 3"
    )
    assert format_line(state, 250.0).endswith("ETA 0:00:00, failed ranges 0, retries 3")


def test_state_validates_itself() -> None:
    with pytest.raises(ValueError, match="ranges_skipped <= ranges_done <= ranges_total, got 0, 5, 4"):
        ProgressState(ranges_total=4, ranges_done=5, rows=0, started_at=0.0)
    with pytest.raises(ValueError, match="got 3, 2, 4"):
        ProgressState(ranges_total=4, ranges_done=2, rows=0, started_at=0.0, ranges_skipped=3)
    with pytest.raises(ValueError, match="window_rows <= rows"):
        ProgressState(ranges_total=4, ranges_done=0, rows=1, started_at=0.0, window_rows=2)
    state = ProgressState(ranges_total=4, ranges_done=0, rows=0, started_at=7.0, extra={"a": 1})
    assert state.window_started_at == 7.0
    with pytest.raises(TypeError):
        state.extra["a"] = 2  # type: ignore[index]


# --- the counters -------------------------------------------------------------------------------


def test_progress_counters_and_recent_window() -> None:
    clock = FakeClock(0.0)
    progress = Progress(100, clock=clock, window_seconds=30.0)
    clock.now = 10.0
    progress.set_done(1, 100)
    clock.now = 40.0
    progress.advance(ranges=2, rows=3000)
    state = progress.snapshot()
    assert (state.ranges_done, state.rows, state.ranges_total, state.started_at) == (3, 3100, 100, 0.0)
    assert (state.window_started_at, state.window_rows) == (10.0, 100)
    assert recent_rate(state, 40.0) == pytest.approx(100.0)
    assert overall_rate(state, 40.0) == pytest.approx(77.5)
    assert eta_seconds(state, 40.0) == pytest.approx(40.0 * 97 / 3)
    # nothing new for a long while: the recent rate falls to zero, the mean does not
    clock.now = 100.0
    state = progress.snapshot()
    assert (state.window_started_at, state.window_rows) == (40.0, 3100)
    assert recent_rate(state, 100.0) == 0.0
    assert overall_rate(state, 100.0) == pytest.approx(31.0)


def test_progress_resumed_run_and_extra_counters() -> None:
    clock = FakeClock(0.0)
    progress = Progress(8, ranges_skipped=6, clock=clock)
    progress.add_counter("retries")
    progress.add_counter("retries", 2)
    progress.set_counter("failed", 1)
    state = progress.snapshot()
    assert (state.ranges_done, state.ranges_skipped) == (6, 6)
    assert dict(state.extra) == {"retries": 3, "failed": 1}
    with pytest.raises(ValueError, match="ranges_done <= ranges_total"):
        progress.advance(ranges=3)
    assert progress.snapshot().ranges_done == 6


def test_progress_is_thread_safe() -> None:
    progress = Progress(8000)

    def work() -> None:
        for _ in range(1000):
            progress.advance(ranges=1, rows=7)

    threads = [threading.Thread(target=work) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    state = progress.snapshot()
    assert (state.ranges_done, state.rows) == (8000, 56_000)


# --- reporters ----------------------------------------------------------------------------------


def test_interval_from_env(caplog: pytest.LogCaptureFixture) -> None:
    assert interval_from_env({}) == DEFAULT_INTERVAL_SECONDS == 10.0
    assert interval_from_env({"MIGRATOR_PROGRESS_INTERVAL": "2.5"}) == 2.5
    with caplog.at_level(logging.WARNING, logger="migrator.progress"):
        assert interval_from_env({"MIGRATOR_PROGRESS_INTERVAL": "soon"}) == 10.0
        assert interval_from_env({"MIGRATOR_PROGRESS_INTERVAL": "0"}) == 10.0
    assert caplog.text.count("is not a positive number of seconds") == 2


def test_make_reporter_picks_by_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    progress = Progress(4)
    monkeypatch.setenv("MIGRATOR_PROGRESS_INTERVAL", "3")
    plain = make_reporter(progress, stream=io.StringIO())
    assert isinstance(plain, PlainReporter)
    assert plain.interval_seconds == 3.0
    assert isinstance(make_reporter(progress, stream=Terminal()), RichReporter)
    assert isinstance(make_reporter(progress, stream=Terminal(), force="plain"), PlainReporter)
    assert isinstance(make_reporter(progress, stream=io.StringIO(), force="rich"), RichReporter)
    with pytest.raises(ValueError, match="force must be"):
        make_reporter(progress, force="fancy")  # type: ignore[arg-type]


def test_plain_reporter_logs_at_the_interval(caplog: pytest.LogCaptureFixture) -> None:
    progress = Progress(4)
    progress.advance(ranges=1, rows=1234)
    with caplog.at_level(logging.INFO, logger="migrator.progress"):
        with PlainReporter(progress, interval_seconds=0.05):
            wait_until(lambda: sum(r.message.startswith("progress: ") for r in caplog.records) >= 3)
        messages = [r.message for r in caplog.records if r.name == "migrator.progress"]
        time.sleep(0.15)
        assert [r.message for r in caplog.records if r.name == "migrator.progress"] == messages  # stopped
    assert messages[0].startswith("progress: 1/4 ranges (25.0%), 1,234 rows, ")
    assert messages[-1].startswith("summary: 1/4 ranges, 1,234 rows in 0:00:0")
    assert all(m.startswith("progress: ") for m in messages[:-1])


def test_reporter_errors_are_logged_once(caplog: pytest.LogCaptureFixture) -> None:
    progress = Progress(4)
    calls = []

    def broken_snapshot() -> ProgressState:
        calls.append(1)
        raise RuntimeError("render bug")

    progress.snapshot = broken_snapshot  # type: ignore[method-assign]
    reporter = PlainReporter(progress, interval_seconds=0.02)
    with caplog.at_level(logging.INFO, logger="migrator.progress"), reporter:
        wait_until(lambda: len(calls) >= 3)
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(errors) == 1
    assert "progress reporting failed; the run goes on" in errors[0].message


def test_rich_reporter_renders_and_summarises() -> None:
    clock = FakeClock(0.0)
    progress = Progress(256, clock=clock)
    clock.now = 14.0
    progress.set_done(37, 1_234_567)
    out = io.StringIO()
    reporter = RichReporter(progress, stream=out)
    reporter.console.width = 160
    with reporter.console.capture() as capture:
        reporter.console.print(reporter.renderable())
    text = capture.get()
    assert "37/256 ranges (14.5%)" in text
    assert "1,234,567 rows" in text
    assert "88,183 rows/s" in text
    assert "ETA 0:01:23" in text
    clock.now = 20.0
    with reporter:
        pass
    printed = out.getvalue()
    assert "migration summary" in printed
    assert "37/256" in printed
    assert "0:00:20" in printed
    assert "61,728" in printed
