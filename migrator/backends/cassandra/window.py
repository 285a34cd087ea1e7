"""A bounded window of asynchronous writes, with retries for idempotent statements.

``submit`` blocks while ``max_in_flight`` writes are outstanding, so executor memory stays bounded
whatever the table size. ``drain`` returns only when every write was acknowledged, and raises if
any failed after its retries: a range is reported finished only after ``drain`` succeeds.
"""

from __future__ import annotations

import logging
import random
import threading
from typing import Any

from migrator.errors import RuntimeFailure

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 6
BASE_BACKOFF_S = 0.1
MAX_BACKOFF_S = 5.0


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

    def __init__(self, session: Any, max_in_flight: int) -> None:
        self._session = session
        self._slots = threading.BoundedSemaphore(max_in_flight)
        self._cv = threading.Condition()
        self._pending = 0
        self._error: BaseException | None = None
        self.retries = 0

    def submit(self, statement: Any) -> None:
        """Send one bound statement; blocks while the window is full."""
        if self._error is not None:
            self._raise()
        self._slots.acquire()
        with self._cv:
            self._pending += 1
        self._send(statement, 1)

    def _send(self, statement: Any, attempt: int) -> None:
        try:
            future = self._session.execute_async(statement)
        except Exception as exc:
            self._failed(exc, statement, attempt)
            return
        future.add_callbacks(self._done, self._failed, errback_args=(statement, attempt))

    def _done(self, _result: Any) -> None:
        self._finish()

    def _failed(self, exc: BaseException, statement: Any, attempt: int) -> None:
        if statement.is_idempotent and attempt < MAX_ATTEMPTS and _retryable(exc):
            self.retries += 1
            delay = min(MAX_BACKOFF_S, BASE_BACKOFF_S * 2 ** (attempt - 1)) * (0.5 + random.random())
            timer = threading.Timer(delay, self._send, (statement, attempt + 1))
            timer.daemon = True
            timer.start()
            return
        with self._cv:
            if self._error is None:
                self._error = exc
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
        exc = self._error
        raise WriteFailed(f"a write to the target failed: {type(exc).__name__}: {exc}") from exc
