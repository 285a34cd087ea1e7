"""The token part of a CQL run's savepoint: ``skipTokenRanges``, the partitioner and ``splitCount``.

Rendering: the finished ranges are those the savepoint resumed from plus the splits finished in
this run, coalesced into as few ranges as possible, written with the partitioner's token type (as
upstream writes them). Checking: a savepoint whose ranges were written for another partitioner or
another splitting of the ring is refused before anything is written, because its finished ranges
would then mean something else.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from migrator.backends.base import SAVEPOINT_FIX
from migrator.config import MigratorState, encode_token_ranges
from migrator.errors import SavepointMismatch
from migrator.planning import tokens

MIN_DEFAULT_SPLITS = 16
SPLITS_PER_CORE = 8
NOTE = "skipTokenRanges lists the finished ranges; remove one to run it again"


def default_split_count(parallelism: int) -> int:
    """Upstream's advice: about 8 ranges per Spark core; never fewer than 16."""
    return max(MIN_DEFAULT_SPLITS, SPLITS_PER_CORE * max(1, parallelism))


def split_count(configured: int | None, state: MigratorState | None, parallelism: int) -> int:
    """The config's ``splitCount``, else the savepoint's (so a resume plans the same splits), else the default."""
    saved = state.split_count if state is not None else None
    return configured or saved or default_split_count(parallelism)


def ring_plan(pairs: Iterable[tuple[int, int]], partitioner: tokens.Partitioner, split_count: int) -> tokens.Plan:
    """The plan resuming the finished ``pairs`` (``skipTokenRanges``).

    Raises ``SavepointMismatch`` (exit 2) when a pair does not fit the partitioner's ring: the savepoint was
    then written for another partitioner, or edited.
    """
    try:
        return tokens.plan(partitioner, split_count, tokens.skip_ranges(pairs, partitioner))
    except ValueError as exc:
        raise SavepointMismatch([("skipTokenRanges", str(exc))]) from None


def finished_ranges(plan: tokens.Plan, finished: Iterable[int]) -> list[tokens.TokenRange]:
    """The plan's skip ranges plus the splits ``finished`` in this run, coalesced."""
    return tokens.coalesce([*plan.skip, *(plan.all_ranges[i] for i in finished)])


def fields(plan: tokens.Plan, finished: Iterable[int]) -> dict[str, Any]:
    """The savepoint's ``skipTokenRanges``."""
    ranges = finished_ranges(plan, finished)
    return {"skipTokenRanges": encode_token_ranges([(r.start, r.end) for r in ranges],
                                                   plan.partitioner.token_type)}


def state(partitioner: tokens.Partitioner, split_count: int) -> dict[str, Any]:
    """The ``migratorState`` keys that say what the finished ranges mean."""
    return {"partitioner": partitioner.short_name, "splitCount": split_count}


def problems(saved: MigratorState | None, partitioner: tokens.Partitioner, split_count: int,
             configured_splits: int | None, plan: tokens.Plan) -> list[tuple[str, str]]:
    """Why the savepoint's finished ranges would mean something else in this run; empty when they fit."""
    if saved is None:
        return []
    found = []
    if saved.partitioner and saved.partitioner != partitioner.short_name:
        found.append(("migratorState.partitioner",
                      f"written for {saved.partitioner}, the source uses {partitioner.short_name}; {SAVEPOINT_FIX}"))
    if saved.split_count and configured_splits and saved.split_count != configured_splits:
        found.append(("source.splitCount",
                      f"the savepoint's ranges were split {saved.split_count} ways, the config now says "
                      f"{configured_splits}; set splitCount back to {saved.split_count}, or {SAVEPOINT_FIX}"))
    elif not plan.skip_aligned:
        found.append(("skipTokenRanges",
                      f"the finished ranges do not line up with a {split_count}-way split of the ring; "
                      f"the file was edited or written with another splitting; {SAVEPOINT_FIX}"))
    return found
