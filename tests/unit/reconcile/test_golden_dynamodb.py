"""Golden files: every byte a DynamoDB ``diff`` writes, pinned (records, split fragments, conflicts.json, pack).

Each difference is an ``Example`` as ``SegmentComparer`` makes it (items in the wire form, both
digests and update times), written with the split's fragments beside it; the driver appends them,
or renders the records itself (pinned too). See ``test_golden`` for writing the files again.
"""

from __future__ import annotations

from typing import Any

import pytest

from migrator.backends.dynamodb.compare import _number
from migrator.backends.dynamodb.items import item_digest
from migrator.backends.dynamodb.reconcile import DynamoChanges
from migrator.reconcile.diff import rendering_of
from migrator.reconcile.render import Rendering
from migrator.report.model import DIFFERING, EXTRA, MISSING, Example
from tests.unit.config.helpers import ALTERNATOR_TARGET, DYNAMO_SOURCE, load_tree
from tests.unit.reconcile import test_golden
from tests.unit.reconcile.test_golden import check, written


def item(key: str, updated: str | None, **attributes: Any) -> dict[str, Any]:
    out: dict[str, Any] = {"id": {"S": key}, "n": {"N": "1.50E+3"}, "tags": {"SS": ["b", "a'"]},
                           "doc": {"M": {"x": {"L": [{"N": "1"}, {"NULL": True}, {"BOOL": False}]}}},
                           "bin": {"B": "AP8n"}, "text": {"S": "it's \u00e9t\u00e9 \u2603 \"q\"\n"}}
    if updated is not None:
        out["updatedAt"] = {"N": updated} if updated[0].isdigit() else {"S": updated}
    out.update(attributes)
    return {k: v for k, v in out.items() if v is not None}


def example(kind: str, position: int, source: dict[str, Any] | None, target: dict[str, Any] | None,
            columns: list[str]) -> Example:
    """As the segment comparer makes it: the key, both items, their digests and update times."""
    found = Example(kind, {"id": (source or target or {})["id"]}, source, target, columns, 3, position, 3)
    for side, row in (("source", source), ("target", target)):
        if row is not None:
            setattr(found, f"{side}_digest", item_digest(row))
            setattr(found, f"{side}_written", _number(row.get("updatedAt")))
    return found


def cases(index: int, part: slice) -> list[Example]:
    all_cases = [
        example(MISSING, 0, item("a", "10"), None, []),
        example(DIFFERING, 1, item("b", "30", n={"N": "7"}), item("b", "20", n={"N": "8"}), ["n"]),
        example(EXTRA, 2, None, item("c", None), []),
        example(DIFFERING, 3, item("d", "2024-01-01T00:00:00Z", tags=None), item("d", "2025-01-01T00:00:00+01:00"),
                ["tags"]),
        example(DIFFERING, 4, item("e", None, doc={"S": "flat"}), item("e", "5"), ["doc"]),
        example(EXTRA, 5, None, item("f\u00e9'", "1", n={"N": "-0.000"}), []),
        example(DIFFERING, 6, item("g", "9", text={"S": ""}), item("g", "9", text={"NULL": True}), ["text"]),
    ]
    return all_cases[part]


def rendering(strategy: str, allow_deletes: bool) -> Rendering:
    tree = {"source": dict(DYNAMO_SOURCE), "target": dict(ALTERNATOR_TARGET),
            "reconcile": {"output": "unused", "strategy": strategy, "allowDeletes": allow_deletes,
                          "updatedAtAttribute": "updatedAt"}}
    used = rendering_of(load_tree(tree).model)
    assert isinstance(used.fmt, DynamoChanges)
    return used


@pytest.fixture(autouse=True)
def dynamodb_cases(monkeypatch):
    monkeypatch.setattr(test_golden, "examples", cases)


def test_what_a_dynamodb_diff_writes_on_the_executors_is_pinned(tmp_path):
    used = rendering("newest", False)
    check("dynamodb-newest", written(tmp_path, used, used))


def test_what_the_driver_renders_from_dynamodb_records_alone_is_pinned(tmp_path):
    used = rendering("theirs", True)
    check("dynamodb-theirs-driver", written(tmp_path, used, None))
