"""Executor side of a DynamoDB copy: scan one parallel-scan segment, write its items with BatchWriteItem.

Memory is bounded by one scan page (at most 1 MB of items, DynamoDB's page limit) plus the batches in
flight, whatever the table size. Items are written whole (PutRequest), so copying a segment again
writes the same items again: a retried task or a resumed run cannot leave anything half-written.

Writes go out as BatchWriteItem requests of ``batch_items`` items (25, DynamoDB's limit, or
Alternator's ``maxItemsPerBatch``), up to ``WRITES_IN_FLIGHT`` at once. Items the server returns as
unprocessed are sent again after a capped exponential pause; after ``UNPROCESSED_ROUNDS`` rounds in a
row in which the server accepted none of them, the task fails (the job then stops with a savepoint,
exit 3). Reads and writes are paced to the task's share of the configured throughput (``pacing``).
"""

from __future__ import annotations

import time
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from migrator.backends.base import CopyResult, WorkItem
from migrator.backends.dynamodb import items as ditems
from migrator.backends.dynamodb.client import ClientSpec
from migrator.backends.dynamodb.pacing import Pacer, backoff, call_throttled
from migrator.backends.dynamodb.scan import scan_segment
from migrator.backends.dynamodb.wire import wire_client
from migrator.errors import RuntimeFailure

WRITES_IN_FLIGHT = 4
UNPROCESSED_ROUNDS = 12

EXPIRED = "itemsExpiredSkipped"  # items whose TTL had expired: not copied
WITHOUT_TTL = "itemsWithoutTtlAttribute"  # items of a TTL table lacking the attribute: copied (upstream lost them)


@dataclass(frozen=True)
class CopyPlan:
    """Everything an executor needs to copy a segment, as plain picklable data."""

    source: ClientSpec
    target: ClientSpec
    source_table: str
    target_table: str
    total_segments: int
    renames: tuple[tuple[str, str], ...] = ()
    ttl_attribute: str | None = None  # the source's TTL attribute, when TTL is enabled there
    batch_items: int = 25
    read_units_per_s: float | None = None  # this task's share of the read throughput
    write_units_per_s: float | None = None  # ... and of the write throughput
    return_consumed: bool = True  # ask for ConsumedCapacity (not with removeConsumedCapacity)


def copy_item(plan: CopyPlan, item: WorkItem) -> CopyResult:
    """The copy task of the backend protocol: copy one segment; returns items read and the TTL tallies."""
    return copy_segment(plan, int(item.spec))


def copy_segment(plan: CopyPlan, segment: int) -> CopyResult:
    """Copy every item of one segment; returns once every write was acknowledged."""
    source, target = wire_client(plan.source), wire_client(plan.target)
    renames = dict(plan.renames)
    writer = BatchWriter(target, plan.target_table, plan.batch_items, Pacer(plan.write_units_per_s),
                         plan.return_consumed)
    read = expired = without_ttl = 0
    now = time.time()
    try:
        for page in scan_segment(source, plan.source_table, plan.total_segments, segment,
                                 Pacer(plan.read_units_per_s), plan.return_consumed):
            read += len(page)
            for item in page:
                if plan.ttl_attribute is not None:
                    if ditems.expired(item, plan.ttl_attribute, now):
                        expired += 1
                        continue
                    if plan.ttl_attribute not in item:
                        without_ttl += 1
                writer.put(ditems.renamed(item, renames))
        writer.finish()
    finally:
        writer.close()
    counts = {EXPIRED: expired, WITHOUT_TTL: without_ttl} if plan.ttl_attribute is not None else {}
    return CopyResult(read, counts)


class BatchWriter:
    """PutRequests grouped into BatchWriteItem requests, a few in flight, unprocessed items re-sent."""

    def __init__(self, target: Any, table: str, batch_items: int, pacer: Pacer, return_consumed: bool, *,
                 in_flight: int = WRITES_IN_FLIGHT) -> None:
        self.target = target
        self.table = table
        self.batch_items = batch_items
        self.pacer = pacer
        self.return_consumed = return_consumed
        self.limit = in_flight
        self.pool = ThreadPoolExecutor(max_workers=in_flight, thread_name_prefix="dynamodb-write")
        self.in_flight: list[Future[None]] = []
        self.pending: list[dict[str, Any]] = []
        self.written = 0

    def put(self, item: dict[str, Any]) -> None:
        """Queue one item; a full batch is sent (waiting first if too many are in flight)."""
        self._queue({"PutRequest": {"Item": item}})

    def delete(self, key: dict[str, Any]) -> None:
        """Queue the deletion of the item with this key."""
        self._queue({"DeleteRequest": {"Key": key}})

    def _queue(self, request: dict[str, Any]) -> None:
        self.pending.append(request)
        if len(self.pending) >= self.batch_items:
            self._send()

    def finish(self) -> None:
        """Send what is queued and wait until every batch was accepted; raise if one failed."""
        if self.pending:
            self._send()
        while self.in_flight:
            self.in_flight.pop(0).result()

    def close(self) -> None:
        """Stop the write threads (after ``finish``, or after a failure)."""
        self.pool.shutdown(wait=True, cancel_futures=True)

    def _send(self) -> None:
        requests, self.pending = self.pending, []
        while len(self.in_flight) >= self.limit:
            self.in_flight.pop(0).result()
        self.in_flight.append(self.pool.submit(self._write, requests))

    def _write(self, requests: list[dict[str, Any]]) -> None:
        self.written += write_batch(self.target, self.table, requests, self.pacer, self.return_consumed)


def write_batch(target: Any, table: str, requests: list[dict[str, Any]], pacer: Pacer, return_consumed: bool) -> int:
    """One BatchWriteItem of ``requests``, unprocessed ones re-sent until all are accepted; returns how many.

    After ``UNPROCESSED_ROUNDS`` rounds in a row in which the server accepted none, ``RuntimeFailure``.
    """
    fruitless = attempt = written = 0
    while requests:
        call: dict[str, Any] = {"RequestItems": {table: requests}}
        if return_consumed:
            call["ReturnConsumedCapacity"] = "TOTAL"
        response = call_throttled(lambda c=call: target.batch_write_item(**c))  # type: ignore[misc]
        left = (response.get("UnprocessedItems") or {}).get(table, [])
        accepted = len(requests) - len(left)
        pacer.writes(response, requests[:accepted])
        written += accepted
        if not left:
            break
        fruitless = 0 if accepted else fruitless + 1
        if fruitless >= UNPROCESSED_ROUNDS:
            raise RuntimeFailure(
                f"{table}: the server accepted none of {len(left)} items in {UNPROCESSED_ROUNDS} "
                "batch writes in a row (unprocessed items)",
                hint="lower target.throughputWritePercent or raise the table's write capacity, then resume",
            )
        attempt += 1
        time.sleep(backoff(attempt))
        requests = left
    return written
