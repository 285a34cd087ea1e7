"""Validating an S3 export against a table, either way round, against a fake S3 and a fake table.

``Table`` answers BatchGetItem and counting Scans; whether real servers agree (moto, with TTL) is for
tests/dynamodb/test_s3_export.py.
"""

from __future__ import annotations

import time
from typing import Any

import pytest

from migrator.backends.base import WorkItem
from migrator.backends.dynamodb import compare as dcompare
from migrator.backends.dynamodb import items as ditems
from migrator.backends.dynamodb.client import ClientSpec
from migrator.backends.dynamodb.compare import ComparePlan, key_text
from migrator.backends.s3export import compare
from migrator.backends.s3export.compare import SOURCE, TARGET, ExportComparePlan, compare_item
from migrator.backends.s3export.loader import S3Spec
from migrator.backends.s3export.manifest import DataFile
from migrator.errors import RuntimeFailure
from migrator.report.model import EXTRA, MISSING, ValidationReport, count_from_totals, merge
from tests.unit.backends.s3export.test_export import FakeS3, data

S3 = ClientSpec("source", "http://127.0.0.1:1", "us-east-1")
TABLE = ClientSpec("table", "http://127.0.0.1:2", "us-east-1")
PAST = {"N": str(int(time.time()) - 60)}


class Table:
    """Items of one table; segment ``s`` of ``n`` holds the items at positions ``s``, ``s + n``, ...

    A counting Scan answers in two pages (the first with a LastEvaluatedKey) and applies the TTL rule
    the request names, at the request's ``:now``.
    """

    def __init__(self, items: list[dict[str, Any]], key: tuple[str, ...] = ("id",)) -> None:
        self.items, self.key = items, key
        self.requests: list[dict[str, Any]] = []

    def scan(self, **request: Any) -> dict[str, Any]:
        self.requests.append(request)
        assert request["Select"] == "COUNT"
        mine = self.items[request["Segment"] :: request["TotalSegments"]]
        if "FilterExpression" in request:
            ttl = request["ExpressionAttributeNames"]["#ttl"]
            mine = [i for i in mine if not ditems.expired(i, ttl, float(request["ExpressionAttributeValues"][":now"]
                                                                         ["N"]))]
        half = len(mine) // 2
        if "ExclusiveStartKey" not in request:
            return {"Count": half, "LastEvaluatedKey": {"id": {"S": "page"}}}
        return {"Count": len(mine) - half}

    def batch_get_item(self, **request: Any) -> dict[str, Any]:
        self.requests.append(request)
        [(table, ask)] = request["RequestItems"].items()
        wanted = {key_text(k, self.key) for k in ask["Keys"]}
        return {"Responses": {table: [i for i in self.items if key_text(i, self.key) in wanted]}}


def item(i: int, **extra: Any) -> dict[str, Any]:
    return {"id": {"N": str(i)}, "v": {"S": f"v{i}"}, **extra}


def run(monkeypatch, files: dict[str, list[dict[str, Any]]], table: Table, export_is: str = SOURCE, *,
        index: int = 0, total: int = 1, **keys: Any) -> Any:
    """Compare work item ``index`` of ``total``; the export's files are named by key, in order."""
    s3 = FakeS3({key: data(items) for key, items in files.items()})
    monkeypatch.setattr(compare, "s3_client", lambda spec: s3)
    monkeypatch.setattr(dcompare, "wire_client", lambda spec: table)
    sides = {"source": TABLE, "target": S3, "source_table": "src", "target_table": "s3://b/x"} if export_is == TARGET \
        else {"source": S3, "target": TABLE, "source_table": "s3://b/x", "target_table": "dst"}
    plan = ComparePlan(**sides, total_segments=total, key_names=("id",), **keys)
    listed = tuple(DataFile(key, len(items), None) for key, items in files.items())
    result = compare_item(ExportComparePlan(S3Spec(S3), "b", listed, plan, export_is), None, WorkItem(index, index))
    return result, s3


def test_an_exported_file_is_probed_in_the_target_and_the_target_counted(monkeypatch) -> None:
    """Missing and differing items found one by one; the extra one comes from the totals, once all is done."""
    target = Table([item(i) for i in range(2, 10) if i != 5] + [item(5, v={"S": "changed"}), item(42)])
    result, _ = run(monkeypatch, {"d/0.json.gz": [item(i) for i in range(10)]}, target)
    assert (result.source_rows, result.target_rows) == (10, 9)
    assert (result.missing, result.differing, result.extra) == (2, 1, 0)
    assert sorted((e.kind, e.key["id"]["N"]) for e in result.examples) == [
        ("differing", "5"), ("missing", "0"), ("missing", "1")]
    report = count_from_totals(merge(ValidationReport("s", "t", 1), [result], 10), EXTRA)
    assert (report.counts.missing, report.counts.extra, report.counts.differing) == (2, 1, 1)


def test_item_i_reads_every_nth_file_and_counts_segment_i_of_n(monkeypatch) -> None:
    files = {f"d/{n}.json.gz": [item(n)] for n in range(5)}
    target = Table([item(n) for n in range(5)])
    result, s3 = run(monkeypatch, files, target, index=1, total=2)
    assert [r["Key"] for r in s3.requests] == ["d/1.json.gz", "d/3.json.gz"]
    counts = [r for r in target.requests if "Select" in r]
    assert [(r["Segment"], r["TotalSegments"]) for r in counts] == [(1, 2), (1, 2)]  # two pages, summed
    assert (result.source_rows, result.target_rows, result.index) == (2, 2, 1)


def test_probes_carry_at_most_a_hundred_keys(monkeypatch) -> None:
    target = Table([item(i) for i in range(250)])
    result, _ = run(monkeypatch, {"d/0.json.gz": [item(i) for i in range(250)]}, target)
    probes = [r for r in target.requests if "RequestItems" in r]
    assert [len(p["RequestItems"]["dst"]["Keys"]) for p in probes] == [100, 100, 50]
    assert (result.source_rows, result.target_rows, result.missing, result.differing) == (250, 250, 0, 0)


def test_expired_items_count_on_neither_side(monkeypatch) -> None:
    """The target's TTL attribute (renamed back) decides for exported items, the count and the probes."""
    target = Table([{"id": {"N": "1"}, "value": {"S": "v1"}}, {"id": {"N": "2"}, "value": {"S": "v2"}, "exp": PAST},
                    {"id": {"N": "3"}, "value": {"S": "v3"}, "exp": PAST}])
    exported = [item(1), item(2), item(3, ttl=PAST)]
    result, _ = run(monkeypatch, {"d/0.json.gz": exported}, target, renames=(("v", "value"), ("ttl", "exp")),
                    ttl_attribute="ttl")
    assert (result.source_rows, result.target_rows) == (2, 1)  # item 3 expired in the export, 2 and 3 in the table
    assert [(e.kind, e.key) for e in result.examples] == [(MISSING, {"id": {"N": "2"}})]
    count = next(r for r in target.requests if "Select" in r)
    assert count["FilterExpression"] == "NOT (attribute_type(#ttl, :number) AND #ttl BETWEEN :oldest AND :now)"
    assert count["ExpressionAttributeNames"] == {"#ttl": "exp"}
    values = count["ExpressionAttributeValues"]
    assert values[":number"] == {"S": "N"}
    assert float(values[":now"]["N"]) - float(values[":oldest"]["N"]) == ditems.TTL_IGNORED_AFTER_S


def test_an_export_as_the_target_is_compared_with_the_source_table(monkeypatch) -> None:
    """Exported items (renamed) the source lacks are extra; the missing ones come from the source's count."""
    source = Table([item(i) for i in range(4)] + [item(4, v={"S": "old"}), item(9)])
    exported = [{"id": {"N": str(i)}, "value": {"S": f"v{i}"}} for i in (1, 2, 3, 4, 7)]
    result, _ = run(monkeypatch, {"d/0.json.gz": exported}, source, TARGET, renames=(("v", "value"),))
    assert (result.source_rows, result.target_rows) == (6, 5)
    assert (result.missing, result.extra, result.differing) == (0, 1, 1)
    differing = next(e for e in result.examples if e.kind == "differing")
    assert differing.source == {"id": {"N": "4"}, "value": {"S": "old"}} and differing.columns == ["value"]
    assert next(e for e in result.examples if e.kind == EXTRA).target == exported[-1]
    report = count_from_totals(merge(ValidationReport("s", "t", 1), [result], 10), MISSING)
    assert report.counts.missing == 2  # items 0 and 9: 6 source items, 4 of them in the export


def test_an_item_without_the_key_is_refused_naming_the_file(monkeypatch) -> None:
    with pytest.raises(RuntimeFailure, match=r"s3://b/d/0\.json\.gz: an item without the key attribute\(s\) id"):
        run(monkeypatch, {"d/0.json.gz": [item(1), {"v": {"S": "no key"}}]}, Table([]))
