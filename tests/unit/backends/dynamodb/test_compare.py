"""Comparing a segment by probing the other table: the requests sent and the exact counts.

``Tables`` answers Scan and BatchGetItem from two in-memory tables; whether real servers agree is for
``tests/dynamodb``.
"""

from __future__ import annotations

import time
from typing import Any

import pytest

from migrator.backends.base import WorkItem
from migrator.backends.dynamodb import compare
from migrator.backends.dynamodb.client import ClientSpec
from migrator.backends.dynamodb.compare import ComparePlan, compare_item, key_text, values_equal
from migrator.differences import DifferenceSink, read_differences

SOURCE = ClientSpec("source", "http://127.0.0.1:1", "us-east-1")
TARGET = ClientSpec("target", "http://127.0.0.1:2", "us-east-1")


class Table:
    """One table's items, all in segment 0; BatchGetItem answers the keys it holds."""

    def __init__(self, key: str, items: list[dict[str, Any]], *, unprocessed: int = 0) -> None:
        self.key = key
        self.items = items
        self.unprocessed = unprocessed
        self.requests: list[dict[str, Any]] = []

    def scan(self, **request: Any) -> dict[str, Any]:
        self.requests.append(request)
        names = request.get("ExpressionAttributeNames")
        items = self.items if request["Segment"] == 0 else []
        if names:
            items = [{k: v for k, v in i.items() if k in names.values()} for i in items]
        return {"Items": items}

    def batch_write_item(self, **request: Any) -> dict[str, Any]:
        [(_, requests)] = request["RequestItems"].items()
        self.requests.append(request)
        for r in requests:
            if "PutRequest" in r:
                new = r["PutRequest"]["Item"]
                self.items = [i for i in self.items if key_text(i, [self.key]) != key_text(new, [self.key])] + [new]
            else:
                gone = key_text(r["DeleteRequest"]["Key"], [self.key])
                self.items = [i for i in self.items if key_text(i, [self.key]) != gone]
        return {"UnprocessedItems": {}}

    def batch_get_item(self, **request: Any) -> dict[str, Any]:
        self.requests.append(request)
        [(table, ask)] = request["RequestItems"].items()
        if self.unprocessed:
            self.unprocessed -= 1
            return {"Responses": {table: []}, "UnprocessedKeys": {table: ask}}
        wanted = {key_text(k, [self.key]) for k in ask["Keys"]}
        return {"Responses": {table: [i for i in self.items if key_text(i, [self.key]) in wanted]}}


def item(i: int, **extra: Any) -> dict[str, Any]:
    return {"id": {"N": str(i)}, "v": {"S": f"v{i}"}, **extra}


def run(monkeypatch, source: Table, target: Table, sink: DifferenceSink | None = None, **plan: Any) -> Any:
    monkeypatch.setattr(compare, "wire_client", lambda spec: source if spec.role == "source" else target)
    monkeypatch.setattr(time, "sleep", lambda s: None)
    defaults: dict[str, Any] = {"source": SOURCE, "target": TARGET, "source_table": "src", "target_table": "dst",
                                "total_segments": 2, "key_names": ("id",)}
    return compare_item(ComparePlan(**{**defaults, **plan}), sink, WorkItem(0, 0))


def test_missing_extra_and_differing_items_are_counted_exactly(monkeypatch):
    source = Table("id", [item(i) for i in range(10)])
    target = Table("id", [item(i) for i in range(2, 10) if i != 5] + [item(5, v={"S": "changed"}), item(42)])
    result = run(monkeypatch, source, target)
    assert (result.source_rows, result.target_rows) == (10, 9)
    assert (result.missing, result.extra, result.differing) == (2, 1, 1)
    assert result.columns["v"].unequal == 1
    kinds = sorted((e.kind, e.key["id"]["N"]) for e in result.examples)
    assert kinds == [("differing", "5"), ("extra", "42"), ("missing", "0"), ("missing", "1")]


def test_the_target_pass_reads_keys_only_and_probes_the_source_for_keys_only(monkeypatch):
    source, target = Table("id", [item(1)]), Table("id", [item(1)])
    run(monkeypatch, source, target)
    target_scan = next(r for r in target.requests if "Segment" in r)
    assert target_scan["ProjectionExpression"] == "#a0" and target_scan["ExpressionAttributeNames"] == {"#a0": "id"}
    probe = next(r for r in source.requests if "RequestItems" in r)
    assert probe["RequestItems"]["src"]["ExpressionAttributeNames"] == {"#a0": "id"}


def test_probes_carry_at_most_a_hundred_keys_and_unprocessed_keys_are_asked_again(monkeypatch):
    source = Table("id", [item(i) for i in range(250)])
    target = Table("id", [item(i) for i in range(250)], unprocessed=2)
    result = run(monkeypatch, source, target)
    probes = [r for r in target.requests if "RequestItems" in r]
    assert [len(p["RequestItems"]["dst"]["Keys"]) for p in probes] == [100, 100, 100, 100, 50]
    assert (result.missing, result.differing, result.extra) == (0, 0, 0)


def test_renamed_attributes_and_keys_are_compared_under_their_target_names(monkeypatch):
    source = Table("id", [{"id": {"S": "a"}, "old": {"N": "1"}}])
    target = Table("key", [{"key": {"S": "a"}, "new": {"N": "1.000"}}])
    result = run(monkeypatch, source, target, renames=(("id", "key"), ("old", "new")))
    assert (result.missing, result.differing, result.extra) == (0, 0, 0)


def test_expired_items_belong_to_neither_side(monkeypatch):
    past = {"N": str(int(time.time()) - 60)}
    source = Table("id", [item(1, exp=past), item(2)])
    target = Table("id", [item(2), item(3, exp=past)])
    result = run(monkeypatch, source, target, ttl_attribute="exp")
    assert (result.source_rows, result.target_rows, result.missing, result.extra) == (1, 1, 0, 0)


def test_ignored_attributes_are_not_compared_and_examples_are_capped(monkeypatch):
    source = Table("id", [item(i, at={"N": str(i)}) for i in range(5)])
    target = Table("id", [item(i, at={"N": "0"}) for i in range(5)])
    assert run(monkeypatch, source, target, ignore=("at",)).differing == 0
    result = run(monkeypatch, source, target, failures_to_fetch=2)
    assert result.differing == 4 and len(result.examples) == 2


def test_every_difference_goes_to_the_sink(monkeypatch, tmp_path):
    source, target = Table("id", [item(i) for i in range(3)]), Table("id", [item(9)])
    result = run(monkeypatch, source, target, DifferenceSink(str(tmp_path)), failures_to_fetch=1)
    assert len(result.examples) == 2 and result.differences_file
    assert sorted(e.kind for e in read_differences(tmp_path)) == ["extra", "missing", "missing", "missing"]


@pytest.mark.parametrize(("a", "b", "tolerance", "equal"), [
    ({"N": "1500"}, {"N": "1.5E+3"}, 0, True),
    ({"N": "1.0001"}, {"N": "1"}, 0.001, True),
    ({"N": "1.01"}, {"N": "1"}, 0.001, False),
    ({"NS": ["1", "2.0"]}, {"NS": ["2", "1"]}, 0, True),
    ({"SS": ["a", "b"]}, {"SS": ["b", "a"]}, 0, True),
    ({"BS": [b"\x00"]}, {"BS": [b"\x01"]}, 0, False),
    ({"L": [{"N": "1"}, {"S": "x"}]}, {"L": [{"N": "1.0"}, {"S": "x"}]}, 0, True),
    ({"L": [{"S": "x"}, {"N": "1"}]}, {"L": [{"N": "1"}, {"S": "x"}]}, 0, False),
    ({"M": {"a": {"M": {"b": {"NULL": True}}}}}, {"M": {"a": {"M": {"b": {"NULL": True}}}}}, 0, True),
    ({"M": {"a": {"N": "1"}}}, {"M": {"a": {"N": "1"}, "b": {"N": "1"}}}, 0, False),
    ({"S": "1"}, {"N": "1"}, 0, False),
    ({"B": b""}, {"B": b""}, 0, True),
])
def test_values_compare_as_dynamodb_defines_them(a, b, tolerance, equal):
    assert values_equal(a, b, tolerance) is equal


def test_repairs_copy_missing_and_differing_items_whole_and_delete_extras(monkeypatch):
    source = Table("id", [item(i) for i in range(6)])
    target = Table("id", [item(0), item(1, v={"S": "changed"}), item(2), item(77)])
    result = run(monkeypatch, source, target, copy_missing=True, copy_differing=True, delete_extra=True)
    assert (result.missing, result.differing, result.extra) == (3, 1, 1)  # found, and repaired
    assert result.repaired == {"copiedMissing": 3, "copiedDiffering": 1, "deletedExtra": 1}
    assert sorted(target.items, key=lambda i: int(i["id"]["N"])) == [item(i) for i in range(6)]
    again = run(monkeypatch, source, target, copy_missing=True, copy_differing=True, delete_extra=True)
    assert (again.missing, again.differing, again.extra, again.repaired) == (0, 0, 0, {})


def test_without_repair_switches_nothing_is_written(monkeypatch):
    source, target = Table("id", [item(1)]), Table("id", [item(2)])
    run(monkeypatch, source, target)
    assert not [r for r in target.requests if "RequestItems" in r and "dst" in r["RequestItems"]
                and isinstance(r["RequestItems"]["dst"], list)]
