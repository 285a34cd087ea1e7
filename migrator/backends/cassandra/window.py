"""A bounded window of asynchronous writes, with retries for idempotent statements.

``submit`` blocks while ``max_in_flight`` writes are outstanding, so executor memory stays bounded
whatever the table size. ``drain`` returns only when every write was acknowledged, and raises if
any failed after its retries: a range is reported finished only after ``drain`` succeeds. A write
that times out or finds no node is sent again for as long as the target's outage tolerance allows
(``migrator.retry``), so a restarted or briefly frozen target costs time, not the run.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from migrator.errors import RuntimeFailure
from migrator.retry import Outage, RetryPolicy

log = logging.getLogger(__name__)


class WriteFailed(RuntimeFailure):
    """A write failed after its retries; the range will be redone (writes are idempotent)."""


def _retryable(exc: BaseException) -> bool:
    from cassandra import OperationTimedOut, Unavailable, WriteTimeout
    from cassandra.cluster import NoHostAvailable
    from cassandra.protocol import OverloadedErrorMessage, ServerError

    return isinstance(exc, (WriteTimeout, Unavailable, OperationTimedOut, OverloadedErrorMessage, ServerError,
                            NoHostAvailable))


class WriteWindow:
    """At most ``max_in_flight`` asynchronous writes outstanding; the first failure is kept for ``drain``."""

    def __init__(self, session: Any, max_in_flight: int, policy: RetryPolicy | None = None,
                 where: str = "the target") -> None:
        self._session = session
        self._policy = policy or RetryPolicy()
        self._where = where
        self._slots = threading.BoundedSemaphore(max_in_flight)
        self._cv = threading.Condition()
        self._pending = 0
        self._error: BaseException | None = None
        self._outage: Outage | None = None  # of the write that failed for good
        self.retries = 0

    def submit(self, statement: Any) -> None:
        """Send one bound statement; blocks while the window is full."""
        if self._error is not None:
            self._raise()
        self._slots.acquire()
        with self._cv:
            self._pending += 1
        self._send(statement, None)

    def _send(self, statement: Any, outage: Outage | None) -> None:
        try:
            future = self._session.execute_async(statement)
        except Exception as exc:
            self._failed(exc, statement, outage)
            return
        future.add_callbacks(self._done, self._failed, errback_args=(statement, outage))

    def _done(self, _result: Any) -> None:
        self._finish()

    def _failed(self, exc: BaseException, statement: Any, outage: Outage | None) -> None:
        if statement.is_idempotent and _retryable(exc):
            outage = outage or self._policy.outage()
            pause = outage.next_pause()
            if pause is not None:
                self.retries += 1
                if self.retries == 1:  # once per window: an overloaded target fails many writes at a time
                    log.warning("a write to %s failed (%s), trying again for up to %.0f s",
                                self._where, type(exc).__name__, self._policy.outage_s)
                timer = threading.Timer(pause, self._send, (statement, outage))
                timer.daemon = True
                timer.start()
                return
        with self._cv:
            if self._error is None:
                self._error, self._outage = exc, outage
        self._finish()

    def _finish(self) -> None:
        self._slots.release()
        with self._cv:
            self._pending -= 1
            self._cv.notify_all()

    def drain(self) -> None:
        """Wait for every outstanding write; raise if any failed."""
        with self._cv:
            while self._pending:
                self._cv.wait()
        if self._error is not None:
            self._raise()

    def _raise(self) -> None:
        exc, outage = self._error, self._outage
        after = f" after {outage.describe()}" if outage is not None else ""
        raise WriteFailed(f"a write to {self._where} failed{after}: {type(exc).__name__}: {exc}") from exc
