"""Reading a table's changes shard by shard: a DynamoDB Stream (AWS, Alternator, any endpoint) or Kinesis.

Both feeds are read through their own APIs with boto3 at the configured endpoint, without the KCL:
no lease table, positions live in the savepoint (``streams``). A feed lists its shards (with their
parents, so that a child is read only after its parents), opens an iterator after a saved sequence
number (or at the shard's start, or at a time for Kinesis), and reads pages of ``Change`` values.

Items stay in DynamoDB's JSON wire form: boto3 hands DynamoDB Streams binaries back as ``bytes``,
which are turned back into the base64 text the wire form holds; Kinesis records carry the wire form
as JSON already.

A position the stream no longer holds (trimmed after the retention period, or a shard or stream that
is gone) raises ``PositionLost``: the changes after it cannot be read any more, and the run says so.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Literal, Protocol

from migrator.backends.dynamodb.client import ClientSpec, per_spec, service_client

DYNAMODB_STREAMS: Literal["dynamodb-streams"] = "dynamodb-streams"
KINESIS: Literal["kinesis"] = "kinesis"
FeedKind = Literal["dynamodb-streams", "kinesis"]
PAGE_RECORDS = 1000  # GetRecords' Limit (DynamoDB Streams allows 1,000; Kinesis 10,000)
LOST_CODES = ("TrimmedDataAccessException", "ResourceNotFoundException")
EXPIRED_ITERATOR = "ExpiredIteratorException"


class PositionLost(Exception):
    """The stream no longer holds a shard's position: the changes after it cannot be read."""


@dataclass(frozen=True)
class Shard:
    """One shard of a stream, as listed: its parents (read first) and whether it has ended."""

    id: str
    parents: tuple[str, ...]
    closed: bool


@dataclass(frozen=True)
class Change:
    """One record: a put of the new image, or a delete of the key, with its position and time."""

    sequence: str
    put: bool
    keys: dict[str, Any]
    image: dict[str, Any] | None
    created: float | None  # the change's approximate time, epoch seconds
    table: str | None = None  # the table it belongs to (a Kinesis stream can carry several)


@dataclass(frozen=True)
class Page:
    """One GetRecords answer: its changes, the next iterator (None: the shard has ended), and the lag."""

    changes: list[Change]
    next: str | None
    behind_s: float | None = None  # Kinesis' MillisBehindLatest; DynamoDB Streams does not say
    size: int = 0  # bytes of the records, about


@dataclass(frozen=True)
class FeedSpec:
    """Where a feed is, as plain picklable data for the executors."""

    kind: FeedKind
    client: ClientSpec
    arn: str
    table: str  # the source table (a Kinesis stream's other tables are skipped)


class Feed(Protocol):
    """A stream read shard by shard."""

    def shards(self) -> list[Shard]:
        """Every shard the stream holds now, parents listed before children."""
        ...

    def iterator(self, shard: str, after: str | None, since: float | None) -> str:
        """An iterator after ``after``, else at ``since`` where the feed can seek by time, else at the start."""
        ...

    def read(self, iterator: str) -> Page:
        """The next page of changes."""
        ...


def open_feed(spec: FeedSpec) -> Feed:
    """The feed of ``spec`` (its clients shared by the process)."""
    return KinesisFeed(spec) if spec.kind == KINESIS else StreamsFeed(spec)


def error_code(exc: BaseException) -> str | None:
    """The server's error code of a botocore ``ClientError``, or None."""
    response = getattr(exc, "response", None)
    return response.get("Error", {}).get("Code") if isinstance(response, dict) else None


def lost(exc: BaseException, shard: str, after: str | None) -> PositionLost | None:
    """``PositionLost`` for an error meaning the position is gone, else None."""
    code = error_code(exc)
    if code not in LOST_CODES:
        return None
    where = f"after sequence number {after}" if after else "at its start"
    message = getattr(exc, "response", {}).get("Error", {}).get("Message")
    return PositionLost(f"shard {shard} {where}: {code}: {message}")


def _shard(raw: dict[str, Any]) -> Shard:
    """A listed shard (DescribeStream's or ListShards'): a merged Kinesis shard has an adjacent parent too."""
    parents = tuple(p for p in (raw.get("ParentShardId"), raw.get("AdjacentParentShardId")) if p)
    ending = (raw.get("SequenceNumberRange") or {}).get("EndingSequenceNumber")
    return Shard(raw["ShardId"], parents, ending is not None)


def _iterator(client: Any, request: dict[str, Any], shard: str, after: str | None) -> str:
    """GetShardIterator; ``PositionLost`` when the stream no longer holds the position."""
    try:
        return str(client.get_shard_iterator(**request)["ShardIterator"])
    except Exception as exc:
        raise lost(exc, shard, after) or exc from None


# ----- DynamoDB Streams -----------------------------------------------------------------------------------


def _streams(spec: ClientSpec) -> Any:
    return service_client(spec, "dynamodbstreams")


def _kinesis(spec: ClientSpec) -> Any:
    return service_client(spec, "kinesis")


streams_client = per_spec(_streams)  # the process's DynamoDB Streams client for a spec
kinesis_client = per_spec(_kinesis)  # ... and Kinesis client


class StreamsFeed:
    """A DynamoDB Stream (AWS DynamoDB, Alternator, or a local server), through the DynamoDB Streams API."""

    def __init__(self, spec: FeedSpec) -> None:
        self.spec = spec
        self.client = streams_client(spec.client)

    def shards(self) -> list[Shard]:
        """DescribeStream's shards, every page."""
        out: list[Shard] = []
        request: dict[str, Any] = {"StreamArn": self.spec.arn}
        while True:
            description = self.client.describe_stream(**request)["StreamDescription"]
            out += [_shard(shard) for shard in description.get("Shards", [])]
            last = description.get("LastEvaluatedShardId")
            if not last:
                return out
            request["ExclusiveStartShardId"] = last

    def iterator(self, shard: str, after: str | None, since: float | None) -> str:
        """After ``after``, else at the shard's start (the stream cannot seek by time: ``since`` filters)."""
        request = {"StreamArn": self.spec.arn, "ShardId": shard}
        if after is not None:
            request.update(ShardIteratorType="AFTER_SEQUENCE_NUMBER", SequenceNumber=after)
        else:
            request["ShardIteratorType"] = "TRIM_HORIZON"
        return _iterator(self.client, request, shard, after)

    def read(self, iterator: str) -> Page:
        """One GetRecords page, binaries back in the wire form."""
        response = self.client.get_records(ShardIterator=iterator, Limit=PAGE_RECORDS)
        changes = []
        size = 0
        for record in response.get("Records", []):
            data = record["dynamodb"]
            size += int(data.get("SizeBytes") or 0)
            created = data.get("ApproximateCreationDateTime")
            changes.append(Change(
                sequence=str(data["SequenceNumber"]),
                put=record.get("eventName") != "REMOVE",
                keys=wire_item(data["Keys"]),
                image=wire_item(data["NewImage"]) if "NewImage" in data else None,
                created=_epoch(created),
            ))
        return Page(changes, response.get("NextShardIterator"), size=size)


def wire_item(item: dict[str, Any]) -> dict[str, Any]:
    """An item as boto3 returns it (binaries as ``bytes``) in the JSON wire form (binaries as base64 text)."""
    return {name: wire_value(value) for name, value in item.items()}


def wire_value(value: dict[str, Any]) -> dict[str, Any]:
    """One attribute value in the wire form."""
    (kind, inner), = value.items()
    if kind == "B":
        return {"B": _base64(inner)}
    if kind == "BS":
        return {"BS": [_base64(member) for member in inner]}
    if kind == "M":
        return {"M": wire_item(inner)}
    if kind == "L":
        return {"L": [wire_value(member) for member in inner]}
    return value


def _base64(value: bytes | str) -> str:
    return base64.b64encode(value).decode("ascii") if isinstance(value, bytes | bytearray) else value


def _epoch(value: Any) -> float | None:
    """Seconds since the epoch of a boto3 datetime, a number of seconds, or None."""
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        return value.timestamp()
    return float(value)


def _epoch_of_number(value: float) -> float:
    """Epoch seconds of a creation time in seconds, milliseconds or microseconds (Kinesis records' precision)."""
    if value > 1e14:
        return value / 1e6
    if value > 1e11:
        return value / 1e3
    return float(value)


# ----- Kinesis Data Streams -------------------------------------------------------------------------------


class KinesisFeed:
    """A Kinesis data stream that a DynamoDB table sends its changes to (one JSON record per change)."""

    def __init__(self, spec: FeedSpec) -> None:
        self.spec = spec
        self.client = kinesis_client(spec.client)

    def shards(self) -> list[Shard]:
        """ListShards, every page; a merged shard's child has two parents."""
        out: list[Shard] = []
        request: dict[str, Any] = {"StreamARN": self.spec.arn}
        while True:
            response = self.client.list_shards(**request)
            out += [_shard(shard) for shard in response.get("Shards", [])]
            token = response.get("NextToken")
            if not token:
                return out
            request = {"NextToken": token}

    def iterator(self, shard: str, after: str | None, since: float | None) -> str:
        """After ``after``, else at ``since`` (AT_TIMESTAMP), else at the shard's start."""
        request: dict[str, Any] = {"StreamARN": self.spec.arn, "ShardId": shard}
        if after is not None:
            request.update(ShardIteratorType="AFTER_SEQUENCE_NUMBER", StartingSequenceNumber=after)
        elif since is not None:
            request.update(ShardIteratorType="AT_TIMESTAMP", Timestamp=dt.datetime.fromtimestamp(since, dt.UTC))
        else:
            request["ShardIteratorType"] = "TRIM_HORIZON"
        return _iterator(self.client, request, shard, after)

    def read(self, iterator: str) -> Page:
        """One GetRecords page, each record's JSON decoded."""
        response = self.client.get_records(ShardIterator=iterator, Limit=PAGE_RECORDS, StreamARN=self.spec.arn)
        records = response.get("Records", [])
        changes = [change for record in records for change in _kinesis_change(record)]
        behind = response.get("MillisBehindLatest")
        return Page(changes, response.get("NextShardIterator"), behind / 1000 if behind is not None else None,
                    size=sum(len(record.get("Data") or b"") for record in records))


def _kinesis_change(record: dict[str, Any]) -> Iterator[Change]:
    """The change a Kinesis record carries (DynamoDB's JSON record format); nothing for other records."""
    try:
        body = json.loads(record["Data"])
        data = body["dynamodb"]
        keys = data["Keys"]
    except (ValueError, KeyError, TypeError):
        return  # not a DynamoDB change record: the stream may carry other producers' data
    created = data.get("ApproximateCreationDateTime")
    yield Change(
        sequence=str(record["SequenceNumber"]),
        put=body.get("eventName") != "REMOVE",
        keys=keys,
        image=data.get("NewImage"),
        created=_epoch_of_number(created) if isinstance(created, int | float) else _epoch(created),
        table=body.get("tableName"),
    )
