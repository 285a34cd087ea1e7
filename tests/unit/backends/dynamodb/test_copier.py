"""What a segment copy sends: scan pages, batch writes, unprocessed re-sends, pacing, TTL tallies.

``FakeDynamo`` answers Scan and BatchWriteItem from scripted data and records every request; whether
a real server accepts them is for the integration tests.
"""

from __future__ import annotations

import time
from typing import Any

import pytest
from botocore.exceptions import ClientError

from migrator.backends.dynamodb import copier, pacing
from migrator.backends.dynamodb.client import ClientSpec
from migrator.backends.dynamodb.copier import EXPIRED, WITHOUT_TTL, BatchWriter, CopyPlan, copy_segment
from migrator.backends.dynamodb.pacing import Pacer
from migrator.errors import RuntimeFailure

SPEC = ClientSpec("source", "http://127.0.0.1:1", "us-east-1")


def item(i: int, **extra: Any) -> dict[str, Any]:
    return {"id": {"N": str(i)}, **extra}


class FakeDynamo:
    def __init__(self, pages: list[list[dict[str, Any]]] | None = None, *, unprocessed: int = 0,
                 throttle: int = 0, consumed: float | None = None) -> None:
        self.pages = pages or []
        self.unprocessed = unprocessed  # batch writes answering "all unprocessed" before accepting
        self.throttle = throttle  # requests answering with a throttling error first
        self.consumed = consumed
        self.scans: list[dict[str, Any]] = []
        self.writes: list[list[dict[str, Any]]] = []
        self.stored: list[dict[str, Any]] = []

    def _maybe_throttle(self, name: str) -> None:
        if self.throttle:
            self.throttle -= 1
            raise ClientError({"Error": {"Code": "ProvisionedThroughputExceededException", "Message": "slow"}}, name)

    def scan(self, **request: Any) -> dict[str, Any]:
        self._maybe_throttle("Scan")
        self.scans.append(dict(request))
        index = int(request.get("ExclusiveStartKey", {}).get("page", {"N": "0"})["N"])
        response: dict[str, Any] = {"Items": self.pages[index] if self.pages else []}
        if index + 1 < len(self.pages):
            response["LastEvaluatedKey"] = {"page": {"N": str(index + 1)}}
        if self.consumed is not None:
            response["ConsumedCapacity"] = {"TableName": "t", "CapacityUnits": self.consumed}
        return response

    def batch_write_item(self, **request: Any) -> dict[str, Any]:
        self._maybe_throttle("BatchWriteItem")
        [(table, requests)] = request["RequestItems"].items()
        self.writes.append(requests)
        if self.unprocessed:
            self.unprocessed -= 1
            return {"UnprocessedItems": {table: requests}}
        self.stored += [r["PutRequest"]["Item"] for r in requests]
        return {"UnprocessedItems": {}}


@pytest.fixture
def no_sleep(monkeypatch):
    slept: list[float] = []
    monkeypatch.setattr(time, "sleep", slept.append)
    return slept


def run(fake: FakeDynamo, monkeypatch, **plan: Any) -> Any:
    monkeypatch.setattr(copier, "wire_client", lambda spec: fake)
    defaults: dict[str, Any] = {"source": SPEC, "target": SPEC, "source_table": "src", "target_table": "dst",
                                "total_segments": 4}
    return copy_segment(CopyPlan(**{**defaults, **plan}), 2)


def test_a_segment_is_scanned_page_by_page_and_written_whole_in_batches(monkeypatch, no_sleep):
    fake = FakeDynamo([[item(i) for i in range(30)], [item(i) for i in range(30, 40)]])
    result = run(fake, monkeypatch, batch_items=25)
    assert result.rows == 40 and result.counts == {}
    assert [s["Segment"] for s in fake.scans] == [2, 2] and {s["TotalSegments"] for s in fake.scans} == {4}
    assert fake.scans[1]["ExclusiveStartKey"] == {"page": {"N": "1"}}
    assert sorted(len(w) for w in fake.writes) == [15, 25]
    assert sorted(int(i["id"]["N"]) for i in fake.stored) == list(range(40))


def test_renames_are_applied_and_values_kept_in_wire_form(monkeypatch, no_sleep):
    fake = FakeDynamo([[item(1, old={"N": "-0.000E+7"}, b={"B": b"\x00"})]])
    run(fake, monkeypatch, renames=(("old", "new"),))
    assert fake.stored == [{"id": {"N": "1"}, "new": {"N": "-0.000E+7"}, "b": {"B": b"\x00"}}]


def test_expired_items_are_skipped_and_items_without_the_attribute_copied_both_counted(monkeypatch, no_sleep):
    now = int(time.time())
    page = [item(1, exp={"N": str(now - 60)}), item(2, exp={"N": str(now + 3600)}), item(3), item(4)]
    result = run(FakeDynamo([page]), monkeypatch, ttl_attribute="exp")
    assert result.rows == 4
    assert result.counts == {EXPIRED: 1, WITHOUT_TTL: 2}


def test_unprocessed_items_are_sent_again_with_growing_pauses(monkeypatch, no_sleep):
    fake = FakeDynamo([[item(i) for i in range(3)]], unprocessed=3)
    run(fake, monkeypatch)
    assert len(fake.writes) == 4 and len(fake.stored) == 3
    assert len(no_sleep) == 3


def test_a_server_that_never_accepts_fails_the_task_after_the_stated_bound(monkeypatch, no_sleep):
    fake = FakeDynamo([[item(1)]], unprocessed=1000)
    with pytest.raises(RuntimeFailure, match=f"none of 1 items in {copier.UNPROCESSED_ROUNDS} batch writes"):
        run(fake, monkeypatch)
    assert len(fake.writes) == copier.UNPROCESSED_ROUNDS


def test_throttling_is_waited_out_not_failed(monkeypatch, no_sleep):
    fake = FakeDynamo([[item(1)]], throttle=3)
    assert run(fake, monkeypatch).rows == 1
    assert fake.stored == [item(1)] and len(no_sleep) == 3


def test_throttling_beyond_the_budget_fails_and_other_errors_fail_at_once(monkeypatch):
    calls = []

    def always(code: str) -> Any:
        calls.append(code)
        raise ClientError({"Error": {"Code": code, "Message": "x"}}, "Scan")

    with pytest.raises(ClientError):
        pacing.call_throttled(lambda: always("ThrottlingException"), budget_s=1.0, sleep=lambda s: None)
    assert len(calls) > 3
    calls.clear()
    with pytest.raises(ClientError):
        pacing.call_throttled(lambda: always("ValidationException"), sleep=lambda s: None)
    assert calls == ["ValidationException"]


def test_consumed_capacity_is_asked_for_unless_removed(monkeypatch, no_sleep):
    fake = FakeDynamo([[item(1)]])
    run(fake, monkeypatch)
    assert fake.scans[0]["ReturnConsumedCapacity"] == "TOTAL"
    fake = FakeDynamo([[item(1)]])
    run(fake, monkeypatch, return_consumed=False)
    assert "ReturnConsumedCapacity" not in fake.scans[0]


def test_the_pacer_sleeps_while_ahead_of_its_rate():
    now = [0.0]
    slept: list[float] = []
    pacer = Pacer(10.0, clock=lambda: now[0], sleep=slept.append)
    pacer.account(5)  # half a second's worth at once
    assert slept == [pytest.approx(0.5)]
    now[0] = 10.0
    pacer.account(5)  # well behind the rate: no pause
    assert len(slept) == 1
    Pacer(None, sleep=slept.append).account(1e9)
    assert len(slept) == 1


def test_capacity_is_read_from_responses_else_estimated():
    assert pacing.consumed({"ConsumedCapacity": {"CapacityUnits": 2.5}}) == 2.5
    assert pacing.consumed({"ConsumedCapacity": [{"CapacityUnits": 1.0}, {"CapacityUnits": 3.0}]}) == 4.0
    assert pacing.consumed({}) is None
    assert pacing.read_units(1) == 0.5 and pacing.read_units(8193) == 1.5
    assert pacing.write_units(1) == 1.0 and pacing.write_units(1025) == 2.0


def test_the_writer_keeps_a_bounded_number_of_batches_in_flight(monkeypatch, no_sleep):
    fake = FakeDynamo()
    writer = BatchWriter(fake, "dst", 2, Pacer(None), True)
    for i in range(50):
        writer.put(item(i))
        assert len(writer.in_flight) <= copier.WRITES_IN_FLIGHT
    writer.finish()
    writer.close()
    assert len(fake.stored) == 50 and writer.written == 50
