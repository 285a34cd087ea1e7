"""Parallel-scan segments: how many, which are finished, and what a savepoint says about them.

The total is upstream's (the EMR connector's ``DynamoDBSplitGenerator``): ``scanSegments`` when set,
else one segment per 100 MiB of table, but no more than one per 100 read units of the read budget
(``readThroughput * throughputReadPercent``), clamped to [1, 1,000,000]. A segment is one work item.

The savepoint keeps upstream's ``skipSegments`` (the finished segments) and adds the total in
``migratorState.totalSegments``: a segment number only means something for one total, so a resume
with another total is refused instead of silently skipping the wrong items (upstream resumed into
gaps). A savepoint written by upstream has no total; it resumes when the total planned now (from
the same table and settings) covers its segments.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

from migrator.config import MigratorState
from migrator.config.base import MAX_SCAN_SEGMENTS

MAX_BYTES_PER_SEGMENT = 100 * 1024 * 1024
MIN_IO_PER_SEGMENT = 100
ON_DEMAND_THROUGHPUT = 40_000  # the capacity upstream assumes for an on-demand table
DEFAULT_THROUGHPUT_PERCENT = 0.5
FIX = "use the savepoint with the config it was written for, or delete skipSegments and migratorState to start over"
NOTE = "skipSegments lists the finished scan segments (of migratorState.totalSegments); remove one to run it again"


def throughput(configured: int | None, table_capacity: int) -> int:
    """The throughput budget: the configured one, else the table's capacity, else the on-demand assumption."""
    return configured or table_capacity or ON_DEMAND_THROUGHPUT


def read_budget(source: Any, table_capacity: int) -> float:
    """Read units per second a whole scan may use: the throughput budget times ``throughputReadPercent``."""
    return throughput(source.read_throughput, table_capacity) * (
        source.throughput_read_percent or DEFAULT_THROUGHPUT_PERCENT)


def write_budget(target: Any, table_capacity: int) -> float:
    """Write units per second a whole copy may use: the throughput budget times ``throughputWritePercent``."""
    return throughput(target.write_throughput, table_capacity) * (
        target.throughput_write_percent or DEFAULT_THROUGHPUT_PERCENT)


def total_segments(configured: int | None, size_bytes: int, read_throughput: int, read_percent: float) -> int:
    """Upstream's segment count (see the module docstring)."""
    if configured:
        return max(1, min(MAX_SCAN_SEGMENTS, configured))
    by_size = round(size_bytes / MAX_BYTES_PER_SEGMENT)
    by_io = math.floor(read_throughput * read_percent) // MIN_IO_PER_SEGMENT
    return max(1, min(MAX_SCAN_SEGMENTS, by_size, by_io))


def planned_total(configured: int | None, state: MigratorState | None, size_bytes: int, read_throughput: int,
                  read_percent: float) -> int:
    """The config's ``scanSegments``, else the savepoint's total (so a resume plans the same), else upstream's."""
    saved = state.total_segments if state is not None else None
    if configured is None and saved:
        return saved
    return total_segments(configured, size_bytes, read_throughput, read_percent)


def fields(skip: Iterable[int], finished: Iterable[int]) -> dict[str, Any]:
    """The savepoint's ``skipSegments``: those resumed from plus those finished in this run."""
    return {"skipSegments": sorted({*skip, *finished})}


def problems(state: MigratorState | None, total: int, skip: list[int], configured: int | None) -> list[tuple[str, str]]:
    """Why the savepoint's finished segments would mean something else in this run; empty when they fit."""
    found = []
    saved = state.total_segments if state is not None else None
    if saved and saved != total:
        where = "source.scanSegments" if configured else "migratorState.totalSegments"
        found.append((where, f"the savepoint's segments are numbered out of {saved}, this run plans {total}; "
                             f"set source.scanSegments: {saved}, or {FIX}"))
    beyond = [s for s in skip if s >= total]
    if beyond and not found:
        found.append(("skipSegments", f"segments {beyond[:5]} do not exist in a {total}-segment scan; "
                                      f"set source.scanSegments to the total they were written for"))
    return found
