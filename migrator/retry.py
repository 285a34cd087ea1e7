"""How long a job rides out an endpoint that stops answering: one retry policy for every backend.

A request that fails in a way worth waiting for (a timeout, a refused or dropped connection, a
server that is unavailable, overloaded or restarting) is sent again after a jittered exponential
backoff capped at ``BACKOFF_CAP_S``, for as long as the failures in a row have lasted less than the
endpoint's outage tolerance (``outageToleranceSeconds``, default ``DEFAULT_OUTAGE_S``). Then the
error is raised: the task fails and the job stops with a savepoint, exit 3, naming the endpoint.

The bound, from the moment an endpoint stops answering to the moment the request gives up, is the
tolerance plus two request timeouts (the failure that opens the streak takes one to surface, the
last try started within the tolerance takes another). ``Outage`` keeps one streak's clock; the
callers (CQL writes, reads and connections; DynamoDB requests) own what "worth waiting for" means.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field

DEFAULT_OUTAGE_S = 120.0
BACKOFF_BASE_S = 0.1
BACKOFF_CAP_S = 5.0


@dataclass(frozen=True)
class RetryPolicy:
    """The outage tolerance of one endpoint and the backoff between tries; picklable for executors."""

    outage_s: float = DEFAULT_OUTAGE_S
    base_s: float = BACKOFF_BASE_S
    cap_s: float = BACKOFF_CAP_S

    def pause(self, attempt: int) -> float:
        """Seconds to wait before try ``attempt + 1``: exponential up to the cap, then 50 to 100% of it at random."""
        return min(self.cap_s, self.base_s * 2 ** min(attempt - 1, 30)) * (0.5 + random.random() / 2)

    @classmethod
    def of(cls, outage_s: float | None) -> RetryPolicy:
        """The policy of a side's ``outageToleranceSeconds`` (None: the default)."""
        return cls(DEFAULT_OUTAGE_S if outage_s is None else outage_s)

    def outage(self, clock: Callable[[], float] = time.monotonic) -> Outage:
        """A new streak of failures, starting now."""
        return Outage(self, clock)


@dataclass
class Outage:
    """One request's failures in a row: when the first was seen and how many tries it took."""

    policy: RetryPolicy
    clock: Callable[[], float] = field(default=time.monotonic, repr=False)
    began: float = field(init=False)
    attempts: int = field(init=False, default=0)

    def __post_init__(self) -> None:
        self.began = self.clock()

    def next_pause(self) -> float | None:
        """Seconds to wait before trying again, or None when the next try would start past the tolerance."""
        self.attempts += 1
        pause = self.policy.pause(self.attempts)
        if self.clock() + pause - self.began > self.policy.outage_s:
            return None
        return pause

    @property
    def seconds(self) -> float:
        """How long the streak has lasted so far."""
        return self.clock() - self.began

    def describe(self) -> str:
        """``6 tries over 41 s``, for the message that gives up."""
        return f"{self.attempts} {'try' if self.attempts == 1 else 'tries'} over {self.seconds:.0f} s"


__all__ = ["DEFAULT_OUTAGE_S", "Outage", "RetryPolicy"]
