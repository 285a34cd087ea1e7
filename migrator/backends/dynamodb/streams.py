"""``streamChanges``: after the snapshot, apply every change of the source table to the target.

Before the snapshot (``DynamoChangeStream.start``) the source table's DynamoDB Stream is enabled
when it is off (NEW_IMAGE; the run says so), and the starting point is fixed: the time the snapshot
starts, less ``SNAPSHOT_MARGIN_S`` for clocks and rounding. Shards that had already ended then are
covered by the snapshot; the others are read from their start, skipping changes made before that
time (the snapshot reads the table after them). Changes a little older than the snapshot are applied
again: each is a whole item or a delete, in order, so that only repeats what the snapshot holds.
With a Kinesis stream the shards are opened at that time directly (AT_TIMESTAMP), or at
``initialTimestamp`` when given. With ``skipInitialSnapshotTransfer`` every shard is read from its
start.

Each round (``migrator.streaming``) reads every shard whose parents are finished, one Spark task per
shard (``apply_shard``): from the saved sequence number, up to ``ROUND_RECORDS`` records,
``ROUND_BYTES`` of them, or ``ROUND_SECONDS``. A key's changes within the round fold into the last
one (a put of the new image, or a delete), which is then written with BatchWriteItem, retried with
bounded backoff. The task returns the last sequence number only after those writes were
acknowledged, and the driver writes it into the savepoint (``migratorState.stream``) after the
round: a killed run resumes after the last acknowledged change of each shard, and one key's changes
are never applied out of order (within a shard they come in order; a child shard is read only once
its parents are finished).

Kinesis gives no such order: AWS may deliver a table's change records late or twice. Within a
round a key's newest change (by its creation time) wins; across rounds records are applied in the
order the shard holds them. The docs say so.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import logging
import threading
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from migrator.backends.base import ShardRead, ShardTask, WorkItem
from migrator.backends.dynamodb import items as ditems
from migrator.backends.dynamodb.client import ClientSpec, client
from migrator.backends.dynamodb.copier import BatchWriter
from migrator.backends.dynamodb.feeds import (
    DYNAMODB_STREAMS,
    EXPIRED_ITERATOR,
    KINESIS,
    Change,
    FeedSpec,
    PositionLost,
    error_code,
    open_feed,
    streams_client,
)
from migrator.backends.dynamodb.pacing import Pacer, call_throttled
from migrator.backends.dynamodb.wire import wire_client
from migrator.config.target import KinesisStream
from migrator.errors import RuntimeFailure

if TYPE_CHECKING:
    from migrator.backends.dynamodb.prepare import DynamoRun

log = logging.getLogger(__name__)

VIEW_TYPE = "NEW_IMAGE"
USABLE_VIEWS = ("NEW_IMAGE", "NEW_AND_OLD_IMAGES")
ENABLE_WAIT_S = 300.0
ENABLE_POLL_S = 1.0
SNAPSHOT_MARGIN_S = 300.0  # changes this much older than the snapshot's start are applied again
ROUND_RECORDS = 10_000  # per shard and round
ROUND_BYTES = 64 * 1024 * 1024  # per shard and round: bounds an executor's memory whatever the item sizes
ROUND_SECONDS = 5.0
STREAM_WRITES_IN_FLIGHT = 16  # a round holds each key once, so its batches may land in any order
EMPTY_PAGES = 2  # DynamoDB Streams: this many empty pages in a row mean the shard is read up to now

PUTS = "changesPut"
DELETES = "changesDeleted"
EARLIER = "changesBeforeSnapshot"  # older than the snapshot: skipped
OTHER_TABLES = "changesOfOtherTables"  # a Kinesis stream's records of other tables: skipped


@dataclass(frozen=True)
class ApplyPlan:
    """What an executor needs to apply one shard's changes, as plain data."""

    feed: FeedSpec
    target: ClientSpec
    target_table: str
    renames: tuple[tuple[str, str], ...]
    batch_items: int
    write_units_per_s: float | None
    return_consumed: bool
    since: float | None  # changes made before this time are in the snapshot
    round_records: int = ROUND_RECORDS
    round_bytes: int = ROUND_BYTES
    round_seconds: float = ROUND_SECONDS


def apply_shard(plan: ApplyPlan, item: WorkItem) -> ShardRead:
    """Read one shard from its position for one round and apply its changes; returns once acknowledged.

    A position the stream no longer holds ends the round: what was read before it is applied, and the
    read says where and why (``ShardRead.lost``).
    """
    shard, after = item.spec["shard"], item.spec["after"]
    feed = open_feed(plan.feed)
    latest: dict[str, Change] = {}
    counts = {EARLIER: 0, OTHER_TABLES: 0}
    read = size = empty = 0
    position, closed, behind, gone = after, False, 0.0, None
    started = time.monotonic()
    try:
        iterator = feed.iterator(shard, after, plan.since)
        while True:
            try:
                page = call_throttled(lambda it=iterator: feed.read(it))  # type: ignore[misc]
            except Exception as exc:
                if error_code(exc) != EXPIRED_ITERATOR:
                    raise
                iterator = feed.iterator(shard, position, plan.since)  # an iterator lives 15 minutes
                continue
            for change in page.changes:
                read += 1
                position = change.sequence
                if change.table is not None and change.table != plan.feed.table:
                    counts[OTHER_TABLES] += 1
                elif plan.since is not None and change.created is not None and change.created < plan.since:
                    counts[EARLIER] += 1
                else:
                    _fold(latest, change, by_time=plan.feed.kind == KINESIS)
            size += page.size
            if page.next is None:
                closed = True
                break
            iterator = page.next
            empty = 0 if page.changes else empty + 1
            if page.behind_s == 0 or (page.behind_s is None and empty >= EMPTY_PAGES):
                break  # read up to now
            if (read >= plan.round_records or size >= plan.round_bytes
                    or time.monotonic() - started >= plan.round_seconds):
                newest = max((c.created for c in latest.values() if c.created is not None), default=None)
                behind = page.behind_s if page.behind_s is not None else (
                    max(0.0, time.time() - newest) if newest is not None else 0.0)
                break
    except PositionLost as exc:
        gone = str(exc)
    puts, deletes = _write(plan, latest.values())
    return ShardRead(shard, position, closed=closed, read=read, applied=puts + deletes,
                     counts={PUTS: puts, DELETES: deletes, **counts}, behind_s=behind, lost=gone)


def _fold(latest: dict[str, Change], change: Change, *, by_time: bool) -> None:
    """Keep each key's last change in shard order.

    ``by_time`` (Kinesis, which may repeat or delay a record): a change older than the one kept is dropped.
    """
    key = json.dumps(change.keys, sort_keys=True, separators=(",", ":"))
    kept = latest.get(key)
    if (by_time and kept is not None and kept.created is not None and change.created is not None
            and change.created < kept.created):
        return
    latest[key] = change


def _write(plan: ApplyPlan, changes: Any) -> tuple[int, int]:
    """Each folded change as a put of its new image or a delete of its key; waits for every acknowledgement."""
    renames = dict(plan.renames)
    writer = BatchWriter(wire_client(plan.target), plan.target_table, plan.batch_items,
                         Pacer(plan.write_units_per_s), plan.return_consumed, in_flight=STREAM_WRITES_IN_FLIGHT)
    puts = deletes = 0
    try:
        for change in changes:
            if change.put and change.image is not None:
                writer.put(ditems.renamed({**change.image, **change.keys}, renames))
                puts += 1
            else:
                writer.delete(ditems.renamed(change.keys, renames))
                deletes += 1
        writer.finish()
    finally:
        writer.close()
    return puts, deletes


# ----- the driver's side -----------------------------------------------------------------------------------


class DynamoChangeStream:
    """The source table's changes, read shard by shard; the DynamoDB backend's ``ChangeStream``."""

    def __init__(self, run: DynamoRun, setting: bool | KinesisStream, prior: dict[str, Any] | None) -> None:
        self.run = run
        self.kinesis = setting if isinstance(setting, KinesisStream) else None
        self.prior = prior
        self.copies_snapshot = not run.target.skip_initial_snapshot_transfer
        self.arn = self.kinesis.stream_arn if self.kinesis else ""
        self.since: float | None = None
        self.shards: dict[str, dict[str, Any]] = {}  # id -> {after, done, parents}
        self.applied = 0
        self.counts: dict[str, int] = {}
        self.lock = threading.Lock()  # the savepoint thread renders ``state`` while rounds change it

    @property
    def name(self) -> str:
        """The stream, for messages."""
        if self.kinesis is not None:
            return f"the Kinesis stream {self.arn}"
        return f"the stream of {self.run.source.table}"

    @property
    def feed_spec(self) -> FeedSpec:
        """Where the feed is, for the executors."""
        return FeedSpec(KINESIS if self.kinesis else DYNAMODB_STREAMS, self.run.source_spec, self.arn,
                        self.run.source.table)

    def plan(self) -> str:
        """What streaming will do, for ``migrator check``; connects nowhere."""
        if self.prior:
            return f"stream {self.name} from the savepoint's positions in {len(self.prior.get('shards') or {})} shards"
        if self.kinesis is not None:
            start = (f"from {self.kinesis.initial_timestamp.isoformat()}" if self.kinesis.initial_timestamp
                     else "from the snapshot's start" if self.copies_snapshot else "from the start of each shard")
            return f"stream {self.name} {start}, until stopped"
        snapshot = "after the snapshot" if self.copies_snapshot else "without a snapshot (skipInitialSnapshotTransfer)"
        return (f"stream the changes of {self.run.source.table} {snapshot}, until stopped; the table's DynamoDB "
                "Stream is enabled (NEW_IMAGE) if it is off")

    def start(self) -> list[str]:
        """Enable the stream if needed and fix the starting positions (the savepoint's, or now)."""
        snapshot = self.copies_snapshot
        notes = [] if self.kinesis else self._ensure_stream()
        if self.prior:
            self._resume(self.prior)
            notes.append(f"streaming resumes from the savepoint's positions in {len(self.shards)} shards")
            return notes
        if self.kinesis is not None and self.kinesis.initial_timestamp is not None:
            self.since = self.kinesis.initial_timestamp.replace(
                tzinfo=self.kinesis.initial_timestamp.tzinfo or dt.UTC).timestamp()
        elif snapshot:
            self.since = time.time() - SNAPSHOT_MARGIN_S
        for shard in self._list():
            done = snapshot and shard.closed and self.kinesis is None  # ended before the snapshot: in it
            self.shards[shard.id] = {"after": None, "done": done, "parents": list(shard.parents)}
        where = ("from the start of each shard" if self.since is None else
                 f"with the changes since {_iso(self.since)}")
        notes.append(f"streaming {self.name} {where} after the snapshot" if snapshot else
                     f"streaming {self.name} {where} (no snapshot: skipInitialSnapshotTransfer)")
        return notes

    def ready(self) -> list[WorkItem]:
        """The unfinished shards whose parents are finished (or gone before this run), newest listing."""
        listed = self._list()
        ids = {shard.id for shard in listed}
        with self.lock:
            for shard in listed:
                self.shards.setdefault(shard.id, {"after": None, "done": False, "parents": list(shard.parents)})
            gone = [sid for sid, entry in self.shards.items() if sid not in ids]
            for sid in gone:
                entry = self.shards[sid]
                if not entry["done"]:
                    raise self._lost([f"shard {sid} (after sequence number {entry['after']}) "
                                      "is no longer in the stream"])
                del self.shards[sid]  # finished and trimmed since
        items = []
        for index, (sid, entry) in enumerate(self.shards.items()):
            if entry["done"] or any(not self.shards.get(p, {"done": True})["done"] for p in entry["parents"]):
                continue
            items.append(WorkItem(index, {"shard": sid, "after": entry["after"]}))
        return items

    def shard_task(self) -> ShardTask:
        """The executors' function: one shard's round."""
        run = self.run
        _read_rate, write_rate = run.rates()
        plan = ApplyPlan(feed=self.feed_spec, target=run.target_spec, target_table=run.target.table,
                         renames=tuple(run.renames.items()), batch_items=run.batch_items,
                         write_units_per_s=write_rate, return_consumed=run.return_consumed, since=self.since)
        return functools.partial(apply_shard, plan)

    def advance(self, reads: list[ShardRead]) -> None:
        """Record each shard's acknowledged position; raise when a position was lost."""
        lost = [read.lost for read in reads if read.lost]
        with self.lock:
            for read in reads:  # a lost read's changes before the loss were applied: its position counts
                entry = self.shards[read.shard]
                entry["after"] = read.position
                entry["done"] = read.closed
                self.applied += read.applied
                for name, value in read.counts.items():
                    self.counts[name] = self.counts.get(name, 0) + value
        if lost:
            raise self._lost(lost)

    def state(self) -> dict[str, Any]:
        """``migratorState.stream``: the stream, the start time and each shard's position."""
        with self.lock:
            return {
                "type": KINESIS if self.kinesis else DYNAMODB_STREAMS,
                "arn": self.arn,
                "since": _iso(self.since) if self.since is not None else None,
                "changesApplied": self.applied,
                "counts": dict(self.counts),
                "shards": {sid: {**entry, "parents": list(entry["parents"])} for sid, entry in self.shards.items()},
            }

    def shard_counts(self) -> tuple[int, int]:
        """Shards still being read, and shards finished."""
        with self.lock:
            done = sum(1 for entry in self.shards.values() if entry["done"])
            return len(self.shards) - done, done

    # --- helpers ---

    def _ensure_stream(self) -> list[str]:
        """The source table's stream ARN, enabling the stream (NEW_IMAGE) when it is off."""
        ddb, table = client(self.run.source_spec), self.run.source.table
        description = ddb.describe_table(TableName=table)["Table"]
        spec = description.get("StreamSpecification") or {}
        if spec.get("StreamEnabled"):
            view = spec.get("StreamViewType")
            if view not in USABLE_VIEWS:
                raise RuntimeFailure(
                    f"the stream of {table} records {view}, which holds no new image to copy",
                    hint="have the stream record NEW_IMAGE or NEW_AND_OLD_IMAGES: disable it and enable it "
                         "again (a new stream), then run the snapshot again")
            self.arn = str(description["LatestStreamArn"])
            return []
        ddb.update_table(TableName=table, StreamSpecification={"StreamEnabled": True, "StreamViewType": VIEW_TYPE})
        self.arn = self._wait_enabled(ddb, table)
        return [f"enabled a DynamoDB Stream ({VIEW_TYPE}) on {table}: {self.arn}; it stays enabled after the run"]

    def _wait_enabled(self, ddb: Any, table: str) -> str:
        deadline = time.monotonic() + ENABLE_WAIT_S
        while time.monotonic() < deadline:
            arn = ddb.describe_table(TableName=table)["Table"].get("LatestStreamArn")
            if arn:
                status = streams_client(self.run.source_spec).describe_stream(StreamArn=arn)["StreamDescription"]
                if status.get("StreamStatus") == "ENABLED":
                    return str(arn)
            time.sleep(ENABLE_POLL_S)
        raise RuntimeFailure(f"the stream of {table} was not enabled within {ENABLE_WAIT_S:.0f} s",
                             hint="check the table's stream in the console or with DescribeTable, then run again")

    def _resume(self, prior: dict[str, Any]) -> None:
        """Take the savepoint's positions; refuse when they belong to another stream."""
        if prior.get("arn") != self.arn:
            raise self._lost([f"the savepoint read {prior.get('arn')}, but the table's stream is now {self.arn} "
                              "(the stream was turned off or the table re-created in between)"])
        since = prior.get("since")
        self.since = dt.datetime.fromisoformat(since).timestamp() if since else None
        self.applied = int(prior.get("changesApplied") or 0)
        self.counts = {str(k): int(v) for k, v in (prior.get("counts") or {}).items()}
        self.shards = {str(sid): {"after": entry.get("after"), "done": bool(entry.get("done")),
                                  "parents": list(entry.get("parents") or [])}
                       for sid, entry in (prior.get("shards") or {}).items()}

    def _list(self) -> list[Any]:
        import botocore.exceptions

        try:
            return open_feed(self.feed_spec).shards()
        except botocore.exceptions.ClientError as exc:
            if error_code(exc) == "ResourceNotFoundException":
                raise self._lost([f"{self.arn} does not exist any more"]) from None
            raise RuntimeFailure(f"cannot list the shards of {self.name}: {exc}",
                                 hint="check source.endpoint, source.region and the credentials") from None
        except botocore.exceptions.BotoCoreError as exc:
            raise RuntimeFailure(f"cannot list the shards of {self.name}: {exc}",
                                 hint="check source.endpoint, source.region and the credentials") from None

    def _lost(self, why: list[str]) -> RuntimeFailure:
        return RuntimeFailure(
            f"{self.name} no longer holds where this run must continue: {'; '.join(why)}. "
            "The changes after that position cannot be read any more (streams keep them 24 hours), "
            "so the target may miss some",
            hint="copy the table again: run migrate with --fresh (a new snapshot, then streaming), "
                 "and keep streaming jobs running or resumed within the stream's retention")


def _iso(epoch: float) -> str:
    return dt.datetime.fromtimestamp(epoch, dt.UTC).isoformat(timespec="seconds")
