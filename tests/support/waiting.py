"""Polling for a condition that another thread makes true: the one ``wait_until`` of the suite."""

from __future__ import annotations

import inspect
import time
from collections.abc import Callable

DEFAULT_TIMEOUT_S = 5.0


def wait_until(predicate: Callable[[], object], timeout: float = DEFAULT_TIMEOUT_S, *, interval: float = 0.005,
               what: str | None = None) -> None:
    """Return as soon as ``predicate()`` is true; fail the test if it is still false after ``timeout`` seconds.

    The failure message says what was awaited: ``what`` when given, else the predicate's source line.
    """
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not reached within {timeout:g}s: {what or _describe(predicate)}")
        time.sleep(interval)


def _describe(predicate: Callable[[], object]) -> str:
    try:
        return inspect.getsource(predicate).strip()
    except (OSError, TypeError):
        return getattr(predicate, "__qualname__", repr(predicate))
