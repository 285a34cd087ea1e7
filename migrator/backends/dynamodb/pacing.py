"""Keeping a task within its share of the table's capacity, and riding out throttling.

``Pacer`` is a per-task budget of capacity units per second: after each request the task accounts
what it consumed (DynamoDB's ``ConsumedCapacity`` when the server returns it, else the estimate
DynamoDB's pricing rules give for the bytes moved) and sleeps while it is ahead of its rate.

``call_throttled`` runs one request and, when the server still throttles after the SDK's own
retries, waits with capped exponential backoff and tries again, up to ``THROTTLE_BUDGET_S`` seconds of
waiting in a row; then the error is raised and the task fails (the job stops with a savepoint, exit 3).
"""

from __future__ import annotations

import math
import random
import threading
import time
from collections.abc import Callable
from typing import Any, TypeVar

from migrator.backends.dynamodb.items import item_size

T = TypeVar("T")

THROTTLE_ERRORS = frozenset({
    "ProvisionedThroughputExceededException", "ThrottlingException", "RequestLimitExceeded",
    "LimitExceededException",
})
BACKOFF_BASE_S = 0.05
BACKOFF_CAP_S = 5.0
THROTTLE_BUDGET_S = 600.0  # as upstream's connector: ten minutes of throttling in a row fails the task

READ_UNIT_BYTES = 4096
WRITE_UNIT_BYTES = 1024


def read_units(size_bytes: int) -> float:
    """Capacity units of an eventually consistent read of ``size_bytes`` (half a unit per 4 KB)."""
    return max(1, math.ceil(size_bytes / READ_UNIT_BYTES)) * 0.5


def write_units(size_bytes: int) -> float:
    """Capacity units of writing one item of ``size_bytes`` (one unit per 1 KB)."""
    return float(max(1, math.ceil(size_bytes / WRITE_UNIT_BYTES)))


def consumed(response: dict[str, Any]) -> float | None:
    """The capacity units a response reports consumed (summed over tables), or None if it reports none."""
    found = response.get("ConsumedCapacity")
    if found is None:
        return None
    entries = found if isinstance(found, list) else [found]
    units = [e.get("CapacityUnits") for e in entries if e.get("CapacityUnits") is not None]
    return float(sum(units)) if units else None


class Pacer:
    """Caps one task's capacity units per second (0 or None = no cap); threads of the task may share it."""

    def __init__(self, units_per_second: float | None, *, clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self.rate = units_per_second or 0.0
        self._clock = clock
        self._sleep = sleep
        self.started = clock()
        self.units = 0.0
        self._lock = threading.Lock()

    def reads(self, response: dict[str, Any], items: list[dict[str, Any]]) -> None:
        """Account a read: the units the response reports, else DynamoDB's estimate for ``items``.

        Unpaced, nothing is computed: estimating sizes walks every attribute of every item.
        """
        if self.rate > 0:
            units = consumed(response)
            self.account(units if units is not None else read_units(sum(item_size(i) for i in items)))

    def writes(self, response: dict[str, Any], requests: list[dict[str, Any]]) -> None:
        """Account a batch write of the accepted ``requests``, as ``reads`` does (a delete counts one unit)."""
        if self.rate > 0:
            units = consumed(response)
            if units is None:
                units = sum(write_units(item_size(r["PutRequest"]["Item"])) if "PutRequest" in r else 1.0
                            for r in requests)
            self.account(units)

    def account(self, units: float) -> None:
        """Count ``units`` just consumed; sleep while the task is ahead of its rate."""
        if self.rate <= 0:
            return
        with self._lock:
            self.units += units
            ahead = self.units / self.rate - (self._clock() - self.started)
        if ahead > 0:
            self._sleep(ahead)


def backoff(attempt: int, *, base: float = BACKOFF_BASE_S, cap: float = BACKOFF_CAP_S) -> float:
    """Seconds to wait before try ``attempt`` (1, 2, ...): exponential with full jitter, capped."""
    return random.uniform(0, min(cap, base * 2 ** attempt))


def throttled(exc: BaseException) -> bool:
    """Whether ``exc`` is the server saying "too fast" (worth waiting for), not a real failure."""
    response = getattr(exc, "response", None)
    return isinstance(response, dict) and response.get("Error", {}).get("Code") in THROTTLE_ERRORS


def call_throttled(call: Callable[[], T], *, budget_s: float = THROTTLE_BUDGET_S,
                   sleep: Callable[[float], None] | None = None) -> T:
    """``call()``, waiting and trying again while the server throttles, for at most ``budget_s`` of waiting."""
    waited = 0.0
    attempt = 0
    while True:
        try:
            return call()
        except Exception as exc:
            attempt += 1
            pause = backoff(attempt)
            if not throttled(exc) or waited + pause > budget_s:
                raise
            (sleep or time.sleep)(pause)
            waited += pause
