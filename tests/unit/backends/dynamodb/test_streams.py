"""One shard's round, the driver's shard bookkeeping, and the feeds' record decoding, against fakes.

Real servers (moto's DynamoDB Streams and Kinesis) are in tests/dynamodb/test_streams.py; these cover
what a local server cannot produce: a trimmed position, shards that split, end or disappear, an
expired iterator, Kinesis records delivered late or twice.
"""

from __future__ import annotations

import datetime as dt
import json
from types import SimpleNamespace
from typing import Any

import pytest
from botocore.exceptions import ClientError

from migrator.backends.base import ShardRead, WorkItem
from migrator.backends.dynamodb import streams
from migrator.backends.dynamodb.client import ClientSpec
from migrator.backends.dynamodb.feeds import (
    KINESIS,
    Change,
    FeedSpec,
    KinesisFeed,
    Page,
    PositionLost,
    Shard,
    StreamsFeed,
    lost,
    wire_item,
)
from migrator.backends.dynamodb.streams import ApplyPlan, DynamoChangeStream, apply_shard
from migrator.errors import RuntimeFailure

SPEC = ClientSpec("source", "http://127.0.0.1:1", "us-east-1")


def change(seq: int, key: str, value: int | None, created: float = 100.0, table: str | None = None) -> Change:
    image = {"p": {"S": key}, "v": {"N": str(value)}} if value is not None else None
    return Change(str(seq), value is not None, {"p": {"S": key}}, image, created, table)


class FakeFeed:
    """Pages of changes per shard; records the iterators asked for."""

    def __init__(self, pages: list[Page], *, trimmed: bool = False, expire_once: bool = False,
                 trim_on_reopen: bool = False) -> None:
        self.pages = pages
        self.trimmed = trimmed
        self.expire_once = expire_once
        self.trim_on_reopen = trim_on_reopen
        self.asked: list[tuple[str, str | None, float | None]] = []

    def iterator(self, shard: str, after: str | None, since: float | None) -> str:
        self.asked.append((shard, after, since))
        if self.trimmed or (self.trim_on_reopen and len(self.asked) > 1):
            raise PositionLost(f"shard {shard} after sequence number {after}: TrimmedDataAccessException: gone")
        return "0"

    def read(self, iterator: str) -> Page:
        if self.expire_once and iterator == "1":
            self.expire_once = False
            raise ClientError({"Error": {"Code": "ExpiredIteratorException", "Message": "old"}}, "GetRecords")
        return self.pages[int(iterator)]


class FakeWriter:
    def __init__(self, *args: Any, **keys: Any) -> None:
        self.requests: list[dict[str, Any]] = []
        WRITERS.append(self)

    def put(self, item: dict[str, Any]) -> None:
        self.requests.append({"put": item})

    def delete(self, key: dict[str, Any]) -> None:
        self.requests.append({"delete": key})

    def finish(self) -> None:
        pass

    def close(self) -> None:
        pass


WRITERS: list[FakeWriter] = []


def chained(pages: list[list[Change]], *, closed: bool = False, behind: list[float | None] | None = None) -> list[Page]:
    """Pages linked by their iterators ("0", "1", ...); the last has no next when ``closed``."""
    out = []
    for index, changes in enumerate(pages):
        last = index == len(pages) - 1
        nxt = None if (last and closed) else str(min(index + 1, len(pages) - 1))
        out.append(Page(changes, nxt, behind[index] if behind else None))
    return out


def apply(monkeypatch: pytest.MonkeyPatch, feed: FakeFeed, *, kind: str = "dynamodb-streams",
          since: float | None = None, after: str | None = None, **plan: Any) -> ShardRead:
    WRITERS.clear()
    monkeypatch.setattr(streams, "open_feed", lambda spec: feed)
    monkeypatch.setattr(streams, "BatchWriter", FakeWriter)
    monkeypatch.setattr(streams, "wire_client", lambda spec: None)
    full = ApplyPlan(feed=FeedSpec(kind, SPEC, "arn:s", "src"), target=SPEC, target_table="dst",  # type: ignore[arg-type]
                     renames=(("v", "value"),), batch_items=25, write_units_per_s=None, return_consumed=False,
                     since=since, **plan)
    return apply_shard(full, WorkItem(0, {"shard": "s1", "after": after}))


def test_a_keys_changes_fold_into_its_last_one_and_the_position_is_the_last_record(monkeypatch) -> None:
    feed = FakeFeed(chained([[change(1, "a", 1), change(2, "b", 1), change(3, "a", 2)],
                             [change(4, "b", None), change(5, "c", 7)], [], []]))
    read = apply(monkeypatch, feed, after="0")
    assert read.position == "5" and not read.closed and read.read == 5 and read.applied == 3
    assert read.counts["changesPut"] == 2 and read.counts["changesDeleted"] == 1
    assert WRITERS[0].requests == [
        {"put": {"p": {"S": "a"}, "value": {"N": "2"}}},  # renamed, its last value
        {"delete": {"p": {"S": "b"}}},
        {"put": {"p": {"S": "c"}, "value": {"N": "7"}}},
    ]
    assert feed.asked == [("s1", "0", None)]


def test_a_shard_that_ends_is_closed_and_an_empty_one_keeps_its_position(monkeypatch) -> None:
    assert apply(monkeypatch, FakeFeed(chained([[change(9, "a", 1)]], closed=True))).closed
    idle = apply(monkeypatch, FakeFeed(chained([[], [], []])), after="41")
    assert (idle.position, idle.closed, idle.applied) == ("41", False, 0)


def test_changes_older_than_the_snapshot_are_skipped_and_counted(monkeypatch) -> None:
    feed = FakeFeed(chained([[change(1, "a", 1, created=50.0), change(2, "a", 2, created=150.0)], [], []]))
    read = apply(monkeypatch, feed, since=100.0)
    assert read.counts["changesBeforeSnapshot"] == 1 and read.applied == 1 and read.position == "2"


def test_kinesis_keeps_a_keys_newest_change_and_skips_other_tables(monkeypatch) -> None:
    feed = FakeFeed(chained([[change(1, "a", 1, created=10.0), change(2, "a", 3, created=30.0),
                              change(3, "a", 2, created=20.0), change(4, "z", 1, table="other"),
                              change(5, "b", 1, table="src")]], behind=[0.0]))
    read = apply(monkeypatch, feed, kind=KINESIS)
    assert read.counts["changesOfOtherTables"] == 1 and read.position == "5"
    assert {"put": {"p": {"S": "a"}, "value": {"N": "3"}}} in WRITERS[0].requests


def test_a_round_stops_at_its_record_budget_and_says_how_far_behind(monkeypatch) -> None:
    pages = chained([[change(i, f"k{i}", i)] for i in range(1, 6)], behind=[9.0, 8.0, 7.0, 6.0, 0.0])
    read = apply(monkeypatch, FakeFeed(pages), kind=KINESIS, round_records=2)
    assert read.position == "2" and read.behind_s == 8.0
    sized = [Page(page.changes, page.next, page.behind_s, size=40) for page in pages]
    assert apply(monkeypatch, FakeFeed(sized), kind=KINESIS, round_bytes=100).position == "3"  # a memory bound


def test_an_expired_iterator_is_opened_again_from_the_last_position(monkeypatch) -> None:
    feed = FakeFeed(chained([[change(1, "a", 1)], [], []]), expire_once=True)
    read = apply(monkeypatch, feed, after="0")
    assert read.position == "1" and feed.asked == [("s1", "0", None), ("s1", "1", None)]


def test_a_trimmed_position_is_reported_not_skipped(monkeypatch) -> None:
    read = apply(monkeypatch, FakeFeed([], trimmed=True), after="17")
    assert read.lost is not None and "TrimmedDataAccessException" in read.lost and read.position == "17"
    assert not WRITERS[0].requests  # nothing written


def test_a_position_lost_mid_round_applies_what_came_before_it(monkeypatch) -> None:
    feed = FakeFeed(chained([[change(1, "a", 1)], [], []]), expire_once=True, trim_on_reopen=True)
    read = apply(monkeypatch, feed, after="0")
    assert read.lost is not None and read.position == "1" and read.applied == 1
    assert WRITERS[0].requests == [{"put": {"p": {"S": "a"}, "value": {"N": "1"}}}]


def test_only_position_errors_mean_lost() -> None:
    trimmed = ClientError({"Error": {"Code": "TrimmedDataAccessException", "Message": "past the oldest"}}, "Get")
    found = lost(trimmed, "s1", "17")
    assert found is not None and "shard s1 after sequence number 17" in str(found)
    assert lost(ClientError({"Error": {"Code": "InternalFailure", "Message": "x"}}, "Get"), "s1", None) is None


# ----- the driver's bookkeeping ----------------------------------------------------------------------------


def stream(monkeypatch, listings: list[list[Shard]], prior: dict[str, Any] | None = None, *,
           snapshot: bool = True) -> DynamoChangeStream:
    run = SimpleNamespace(target=SimpleNamespace(skip_initial_snapshot_transfer=not snapshot, table="dst"),
                          source=SimpleNamespace(table="src"), source_spec=SPEC)
    kinesis = SimpleNamespace(stream_arn="arn:k", initial_timestamp=None)
    made = DynamoChangeStream(run, True, prior)  # type: ignore[arg-type]
    made.kinesis = kinesis  # type: ignore[assignment]  # no stream to enable: shards come from the fake listing
    made.arn = "arn:k"
    answers = iter(listings)
    monkeypatch.setattr(made, "_list", lambda: next(answers))
    return made


def test_children_wait_for_their_parents_and_new_shards_join(monkeypatch) -> None:
    parent, child = Shard("p", (), True), Shard("c", ("p",), False)
    made = stream(monkeypatch, [[parent, child], [parent, child], [parent, child], [child]], snapshot=False)
    made.start()
    assert made.since is None
    assert [item.spec["shard"] for item in made.ready()] == ["p"]  # the child waits
    made.advance([ShardRead("p", "9", closed=True, applied=3, counts={"changesPut": 3})])
    assert [item.spec for item in made.ready()] == [{"shard": "c", "after": None}]
    made.advance([ShardRead("c", "12", applied=1)])
    assert [item.spec for item in made.ready()] == [{"shard": "c", "after": "12"}]  # the finished parent is trimmed
    state = made.state()
    assert state["changesApplied"] == 4 and state["counts"] == {"changesPut": 3}
    assert set(state["shards"]) == {"c"} and made.shard_counts() == (1, 0)


def test_a_snapshot_start_begins_shortly_before_now(monkeypatch) -> None:
    made = stream(monkeypatch, [[Shard("a", (), False)]])
    made.start()
    assert made.since is not None and abs(made.since - (dt.datetime.now(dt.UTC).timestamp() - 300)) < 5


def test_an_unfinished_shard_that_left_the_stream_is_a_lost_position(monkeypatch) -> None:
    made = stream(monkeypatch, [[Shard("a", (), False)], []], snapshot=False)
    made.start()
    made.advance([ShardRead("a", "5")])
    with pytest.raises(RuntimeFailure) as caught:
        made.ready()
    assert "shard a (after sequence number 5) is no longer in the stream" in caught.value.message
    assert "--fresh" in (caught.value.hint or "")


def test_a_lost_read_keeps_the_others_positions_then_stops_the_run(monkeypatch) -> None:
    made = stream(monkeypatch, [[Shard("a", (), False), Shard("b", (), False)]], snapshot=False)
    made.start()
    with pytest.raises(RuntimeFailure, match="TrimmedDataAccessException"):
        made.advance([ShardRead("a", "3", applied=1),
                      ShardRead("b", None, lost="shard b: TrimmedDataAccessException")])
    assert made.state()["shards"]["a"]["after"] == "3" and made.state()["shards"]["b"]["after"] is None


def test_a_savepoint_of_another_stream_is_refused(monkeypatch) -> None:
    prior = {"arn": "arn:old", "since": None, "shards": {}}
    made = stream(monkeypatch, [[]], prior=prior)
    with pytest.raises(RuntimeFailure, match="the savepoint read arn:old"):
        made.start()


def test_a_savepoints_positions_are_taken_back() -> None:
    prior = {"arn": "arn:k", "since": "2026-12-03T10:00:00+00:00", "changesApplied": 7, "counts": {"changesPut": 7},
             "shards": {"a": {"after": "5", "done": False, "parents": []}}}
    made = DynamoChangeStream(SimpleNamespace(target=SimpleNamespace(skip_initial_snapshot_transfer=True)),  # type: ignore[arg-type]
                              True, prior)
    made.arn = "arn:k"
    made._resume(prior)
    assert made.state()["since"] == "2026-12-03T10:00:00+00:00" and made.applied == 7
    assert made.shards == {"a": {"after": "5", "done": False, "parents": []}} and not made.copies_snapshot


# ----- the feeds' decoding ---------------------------------------------------------------------------------


def test_boto3_binaries_go_back_to_the_wire_form() -> None:
    item = {"b": {"B": b"\x00\xff"}, "bs": {"BS": [b"a"]}, "m": {"M": {"l": {"L": [{"B": b"z"}, {"N": "1"}]}}}}
    assert wire_item(item) == {"b": {"B": "AP8="}, "bs": {"BS": ["YQ=="]}, "m": {"M": {"l": {"L": [{"B": "eg=="},
                                                                                                   {"N": "1"}]}}}}


class FakeClient:
    def __init__(self, **answers: Any) -> None:
        self.answers = answers
        self.calls: list[tuple[str, dict[str, Any]]] = []

    def __getattr__(self, name: str) -> Any:
        def call(**request: Any) -> Any:
            self.calls.append((name, request))
            answer = self.answers[name]
            return answer.pop(0) if isinstance(answer, list) else answer
        return call


def test_dynamodb_streams_records_and_shards(monkeypatch) -> None:
    fake = FakeClient(
        describe_stream=[{"StreamDescription": {"Shards": [{"ShardId": "a", "SequenceNumberRange": {
            "StartingSequenceNumber": "1", "EndingSequenceNumber": "9"}}], "LastEvaluatedShardId": "a"}},
                         {"StreamDescription": {"Shards": [{"ShardId": "b", "ParentShardId": "a"}]}}],
        get_records={"Records": [
            {"eventName": "MODIFY", "dynamodb": {"SequenceNumber": "10", "Keys": {"p": {"B": b"k"}},
                                                 "NewImage": {"p": {"B": b"k"}}, "ApproximateCreationDateTime":
                                                 dt.datetime(2026, 1, 1, tzinfo=dt.UTC)}},
            {"eventName": "REMOVE", "dynamodb": {"SequenceNumber": "11", "Keys": {"p": {"S": "x"}}}}],
                     "NextShardIterator": "next"},
    )
    monkeypatch.setattr("migrator.backends.dynamodb.feeds.streams_client", lambda spec: fake)
    feed = StreamsFeed(FeedSpec("dynamodb-streams", SPEC, "arn:s", "t"))
    assert feed.shards() == [Shard("a", (), True), Shard("b", ("a",), False)]
    assert fake.calls[1][1]["ExclusiveStartShardId"] == "a"
    page = feed.read("it")
    assert page.next == "next" and [c.put for c in page.changes] == [True, False]
    assert page.changes[0].keys == {"p": {"B": "aw=="}} and page.changes[0].created == 1767225600.0
    assert page.changes[1].image is None


def test_kinesis_records_carry_dynamodb_json_and_other_data_is_ignored(monkeypatch) -> None:
    body = {"eventName": "INSERT", "tableName": "t", "dynamodb": {"ApproximateCreationDateTime": 1767225600123,
                                                                  "Keys": {"p": {"S": "a"}},
                                                                  "NewImage": {"p": {"S": "a"}, "b": {"B": "AA=="}}}}
    fake = FakeClient(get_records={"Records": [{"SequenceNumber": "7", "Data": json.dumps(body).encode()},
                                               {"SequenceNumber": "8", "Data": b"other producer"}],
                                   "NextShardIterator": "n", "MillisBehindLatest": 1500},
                      get_shard_iterator={"ShardIterator": "it"},
                      list_shards={"Shards": [{"ShardId": "m", "ParentShardId": "a", "AdjacentParentShardId": "b"}]})
    monkeypatch.setattr("migrator.backends.dynamodb.feeds.kinesis_client", lambda spec: fake)
    feed = KinesisFeed(FeedSpec(KINESIS, SPEC, "arn:k", "t"))
    assert feed.shards() == [Shard("m", ("a", "b"), False)]  # a merge: both parents first
    page = feed.read("it")
    [only] = page.changes
    assert only.sequence == "7" and only.table == "t" and only.created == pytest.approx(1767225600.123)
    assert page.size == len(json.dumps(body)) + len(b"other producer")
    body["dynamodb"]["ApproximateCreationDateTime"] = 1767225600123456  # MICROSECOND precision
    fake.answers["get_records"] = {"Records": [{"SequenceNumber": "9", "Data": json.dumps(body).encode()}]}
    assert feed.read("it").changes[0].created == pytest.approx(1767225600.123456)
    assert page.behind_s == 1.5
    feed.iterator("m", None, 1767225600.0)
    assert fake.calls[-1][1]["ShardIteratorType"] == "AT_TIMESTAMP"
    feed.iterator("m", "7", 1767225600.0)
    assert fake.calls[-1][1]["StartingSequenceNumber"] == "7"
