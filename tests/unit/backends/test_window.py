"""The write window, driven by a small in-process session that completes writes when told to.

The session below is not a stand-in for Cassandra: it has no protocol and no data, it only lets the
test decide when each asynchronous write finishes, which is what the window's logic depends on.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import pytest
from cassandra import ConsistencyLevel, InvalidRequest, WriteTimeout, WriteType
from cassandra.query import SimpleStatement

from migrator.backends.cassandra.window import WriteFailed, WriteWindow
from migrator.retry import RetryPolicy
from tests.support.waiting import wait_until

TIMEOUT_S = 5.0


class ManualFuture:
    """A response future whose outcome the test sets."""

    def __init__(self, session: ManualSession, statement: Any) -> None:
        self.session = session
        self.statement = statement
        self._callbacks: tuple[Callable[..., Any], Callable[..., Any], tuple[Any, ...]] | None = None

    def add_callbacks(
        self, callback: Callable[..., Any], errback: Callable[..., Any], errback_args: tuple[Any, ...] = ()
    ) -> None:
        self._callbacks = (callback, errback, errback_args)
        outcome = self.session.outcome(self.statement)
        if outcome is not None:
            self._complete(outcome)

    def succeed(self) -> None:
        self._complete("ok")

    def _complete(self, outcome: Any) -> None:
        assert self._callbacks is not None
        callback, errback, args = self._callbacks
        with self.session.lock:
            self.session.outstanding.remove(self)
        if isinstance(outcome, BaseException):
            errback(outcome, *args)
        else:
            callback(outcome)


class ManualSession:
    """``execute_async`` with a record of what is in flight; outcomes are scripted per statement."""

    def __init__(self, script: dict[str, list[Any]] | None = None) -> None:
        self.lock = threading.Lock()
        self.outstanding: list[ManualFuture] = []
        self.sent: list[str] = []
        self.max_outstanding = 0
        self.script = script or {}

    def execute_async(self, statement: Any) -> ManualFuture:
        future = ManualFuture(self, statement)
        with self.lock:
            self.sent.append(statement.query_string)
            self.outstanding.append(future)
            self.max_outstanding = max(self.max_outstanding, len(self.outstanding))
        return future

    def outcome(self, statement: Any) -> Any:
        """The scripted outcome of the next attempt, or ``None`` to leave it in flight."""
        queue = self.script.get(statement.query_string)
        return queue.pop(0) if queue else None

    def complete_oldest(self) -> None:
        with self.lock:
            future = self.outstanding[0]
        future.succeed()


def statement(text: str, *, idempotent: bool = True) -> SimpleStatement:
    return SimpleStatement(text, is_idempotent=idempotent)


def write_timeout() -> WriteTimeout:
    """The error a coordinator returns when too few replicas acknowledged a write in time."""
    return WriteTimeout(
        "Operation timed out - received only 1 responses.",
        consistency=ConsistencyLevel.LOCAL_QUORUM,
        required_responses=2,
        received_responses=1,
        write_type=WriteType.SIMPLE,
    )


def in_thread(fn: Callable[[], None]) -> tuple[threading.Thread, list[BaseException]]:
    errors: list[BaseException] = []

    def run() -> None:
        try:
            fn()
        except BaseException as exc:
            errors.append(exc)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread, errors


NO_BACKOFF = RetryPolicy(outage_s=60.0, base_s=0.0, cap_s=0.0)


def test_submit_blocks_while_the_window_is_full():
    session = ManualSession()
    win = WriteWindow(session, 2)

    def produce() -> None:
        for i in range(5):
            win.submit(statement(f"w{i}"))
        win.drain()

    thread, errors = in_thread(produce)
    for sent in (2, 3, 4, 5):
        wait_until(lambda sent=sent: len(session.sent) == sent, TIMEOUT_S)
        time.sleep(0.05)  # give a wrongly unblocked producer time to send more
        assert len(session.sent) == sent
        assert len(session.outstanding) == 2
        session.complete_oldest()
    session.complete_oldest()
    thread.join(TIMEOUT_S)
    assert not thread.is_alive()
    assert errors == []
    assert session.sent == ["w0", "w1", "w2", "w3", "w4"]
    assert session.max_outstanding == 2
    assert win.retries == 0


def test_drain_waits_for_every_write():
    session = ManualSession()
    win = WriteWindow(session, 8)
    for i in range(3):
        win.submit(statement(f"w{i}"))
    drained = threading.Event()
    thread, errors = in_thread(lambda: (win.drain(), drained.set()))
    for remaining in (3, 2, 1):
        time.sleep(0.05)
        assert not drained.is_set()
        assert len(session.outstanding) == remaining
        session.complete_oldest()
    assert drained.wait(TIMEOUT_S)
    thread.join(TIMEOUT_S)
    assert errors == []


def test_a_non_retryable_error_surfaces_from_drain():
    error = InvalidRequest('Error from server: code=2200 [Invalid query] message="unconfigured table t"')
    session = ManualSession({"bad": [error], "good": ["ok"]})
    win = WriteWindow(session, 4)
    win.submit(statement("good"))
    win.submit(statement("bad"))
    with pytest.raises(WriteFailed) as info:
        win.drain()
    assert info.value.message == (
        "a write to the target failed: InvalidRequest: "
        'Error from server: code=2200 [Invalid query] message="unconfigured table t"'
    )
    assert info.value.__cause__ is error
    assert session.sent == ["good", "bad"]
    assert win.retries == 0
    with pytest.raises(WriteFailed):  # the window refuses further writes once one failed
        win.submit(statement("good"))
    assert session.sent == ["good", "bad"]


def test_an_idempotent_write_timeout_is_retried():
    timeout = write_timeout()
    session = ManualSession({"w": [timeout, timeout, "ok"]})
    win = WriteWindow(session, 4, NO_BACKOFF)
    win.submit(statement("w"))
    win.drain()
    assert session.sent == ["w", "w", "w"]
    assert win.retries == 2
    assert session.outstanding == []


def test_retries_stop_once_the_outage_outlasts_the_tolerance():
    timeout = write_timeout()
    session = ManualSession({"w": [timeout] * 10_000})
    win = WriteWindow(session, 4, RetryPolicy(outage_s=0.3, base_s=0.01, cap_s=0.02), "the target cluster at h:1")
    started = time.monotonic()
    win.submit(statement("w"))
    with pytest.raises(WriteFailed) as info:
        win.drain()
    assert 0.3 - 0.02 <= time.monotonic() - started < 0.3 + 1.0
    tries = len(session.sent)
    assert 10 < tries < 100 and win.retries == tries - 1
    assert info.value.message == (f"a write to the target cluster at h:1 failed after {tries} tries over 0 s: "
                                  f"WriteTimeout: {timeout}")
    assert str(timeout).startswith("Operation timed out - received only 1 responses.")


def test_a_non_idempotent_write_is_not_retried():
    timeout = write_timeout()
    session = ManualSession({"counter": [timeout, "ok"]})
    win = WriteWindow(session, 4, NO_BACKOFF)
    win.submit(statement("counter", idempotent=False))
    with pytest.raises(WriteFailed) as info:
        win.drain()
    assert info.value.__cause__ is timeout
    assert session.sent == ["counter"]
    assert win.retries == 0
