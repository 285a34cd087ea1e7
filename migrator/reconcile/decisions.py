"""Conflicts and how they are decided: by a strategy, or by a person's recorded decision.

A **conflict** is a row present in dev and in production with different values, seen by ``diff``:
its key, the digest of each side's row, the differing columns, and where the store keeps them, the
newest write time of each side's row (CQL: the largest WRITETIME of its cells, in microseconds; on
DynamoDB the value of ``reconcile.updatedAtAttribute``).

A **decision** is ``keep_prod`` (production's row stays), ``use_dev`` (dev's row is written over it)
or ``pending`` (nobody decided yet: nothing is written, ``apply --auto`` exits non-zero). Strategies
decide as ``config.reconcile`` describes; ``newest`` keeps production on a tie (writing dev's row
would change nothing anyone wrote later) and leaves the conflict pending when either write time is
unknown.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

KEEP_PROD = "keep_prod"
USE_DEV = "use_dev"
PENDING = "pending"
DECISIONS = (KEEP_PROD, USE_DEV, PENDING)


def key_text(key: dict[str, Any]) -> str:
    """A key's canonical text (column order and spacing do not matter), for lookups and files."""
    return json.dumps(key, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


@dataclass(frozen=True)
class Conflict:
    """One row that differs between dev and production."""

    table: str
    key: dict[str, Any]
    prod_digest: str
    dev_digest: str
    columns: tuple[str, ...] = ()
    prod_written: float | None = None
    dev_written: float | None = None
    values: dict[str, Any] = field(default_factory=dict, compare=False)  # column -> {"prod": .., "dev": ..}

    @property
    def identity(self) -> tuple[str, str]:
        """``(table, key text)``: what a decision is recorded under."""
        return self.table, key_text(self.key)


def decide(strategy: str, conflict: Conflict) -> str:
    """The decision ``strategy`` makes for ``conflict``."""
    if strategy == "ours":
        return KEEP_PROD
    if strategy == "theirs":
        return USE_DEV
    if strategy == "newest":
        if conflict.prod_written is None or conflict.dev_written is None:
            return PENDING
        return USE_DEV if conflict.dev_written > conflict.prod_written else KEEP_PROD
    return PENDING
