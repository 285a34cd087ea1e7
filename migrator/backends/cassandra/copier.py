"""Executor side of the copy: scan token ranges of the source, write the rows into the target.

Memory is bounded by two pages of the scan (the one being written and the one being fetched) plus
the write window, whatever the table size. ``copy_pieces`` returns only after every write was
acknowledged, so the caller may then report the range finished.
"""

from __future__ import annotations

import os
import time
from collections.abc import Sequence
from typing import Any

from migrator.backends.base import WorkItem
from migrator.backends.cassandra.connection import cached_session, consistency, prepared
from migrator.backends.cassandra.plan import COUNTER, PRESERVE, CopyPlan
from migrator.backends.cassandra.preserve import PreserveWriter
from migrator.backends.cassandra.scan import scan_pages
from migrator.backends.cassandra.writers import CounterWriter, PlainWriter, RowWriter
from migrator.planning.tokens import Work

THROTTLE_ENV = "MIGRATOR_MAX_ROWS_PER_SECOND_PER_TASK"


def make_writer(plan: CopyPlan, session: Any, select: Any) -> RowWriter:
    """The writer for the plan's mode."""
    if plan.mode == COUNTER:
        return CounterWriter(plan, session, select)
    if plan.mode == PRESERVE:
        return PreserveWriter(plan, session, select)
    return PlainWriter(plan, session, select)


def copy_item(plan: CopyPlan, item: WorkItem) -> int:
    """The copy task of the backend protocol: copy one pending split's remaining pieces; returns rows read."""
    work: Work = item.spec
    rows_read, _ = copy_pieces(plan, [(p.start, p.end) for p in work.pieces])
    return rows_read


def copy_pieces(plan: CopyPlan, pieces: Sequence[tuple[int, int]]) -> tuple[int, int]:
    """Copy every row whose token lies in one of ``pieces``; returns (rows read, rows written)."""
    src = cached_session(plan.source, raw=True)
    tgt = cached_session(plan.target, raw=True)
    select = prepared(src, plan.select)
    select.consistency_level = consistency(plan.source_consistency)
    writer = make_writer(plan, tgt, select)
    throttle = Throttle(float(os.environ.get(THROTTLE_ENV) or 0))
    for start, end in pieces:
        for page in scan_pages(src, select, (start, end), plan.fetch_size, plan.source):
            writer.write_page(page)
            throttle.account(len(page))
    writer.finish()
    return writer.rows_read, writer.rows_written


class Throttle:
    """Caps one task's row rate (0 = no cap).

    Spares a busy source, and makes runs slow enough to interrupt in tests.
    """

    def __init__(self, rows_per_second: float, *, clock: Any = time.monotonic, sleep: Any = time.sleep) -> None:
        self.rate = rows_per_second
        self._clock = clock
        self._sleep = sleep
        self.started = clock()
        self.rows = 0

    def account(self, rows: int) -> None:
        """Count ``rows`` just handled; sleep while the task is ahead of its rate."""
        if self.rate <= 0:
            return
        self.rows += rows
        ahead = self.rows / self.rate - (self._clock() - self.started)
        if ahead > 0:
            self._sleep(ahead)
