"""Attribute and index names DynamoDB expressions cannot spell bare: migrate, validate, diff, apply, schema-diff.

Reserved words as key names (``order``, ``size``), and attributes holding ``.``, ``#``, ``:``,
spaces and non-ASCII letters; a GSI with an odd name keyed on such attributes. On dynalite, which
parses and checks every expression and its placeholders strictly; one CLI run per command. (It passed
on moto too; one server keeps CI lean.)
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.dynamodb.conftest import Pair, put_all, scan_all
from tests.support.helpers import cli

pytestmark = pytest.mark.dynamodb

KEY = [("order", "HASH", "S"), ("size", "RANGE", "N")]
GSI = "by.With-Space_1"  # index names allow only [A-Za-z0-9_.-]


def _item(i: int, **changes: Any) -> dict[str, Any]:
    item = {"order": {"S": f"o{i}"}, "size": {"N": str(i % 2)}, "a.b": {"S": f"dot{i}"}, "#x": {"N": str(i)},
            ":v": {"M": {"inner.key": {"S": "x"}, "#y": {"L": [{"N": "1"}]}}}, "with space": {"S": f"g{i % 3}"},
            "Ünï": {"SS": ["ä", "b"]}, "日本": {"BOOL": i % 2 == 0}, "name": {"NULL": True}}
    return {**item, **changes}


def test_odd_attribute_and_index_names_survive_every_command(dynalite: Pair, tmp_path: Path) -> None:
    pair = dynalite
    index = {"IndexName": GSI, "KeySchema": [{"AttributeName": "with space", "KeyType": "HASH"},
                                             {"AttributeName": "#x", "KeyType": "RANGE"}],
             "Projection": {"ProjectionType": "INCLUDE", "NonKeyAttributes": ["a.b", ":v"]}}
    dev = pair.create("source", pair.table_name("odd_dev"), KEY, GlobalSecondaryIndexes=[index], **{"type_#x": "N"})
    prod = pair.table_name("odd_prod")
    put_all(pair.source, dev, [_item(i) for i in range(6)])
    output = tmp_path / "reconcile"
    validation = {"compareTimestamps": False, "ttlToleranceMillis": 0, "writetimeToleranceMillis": 0,
                  "failuresToFetch": 10, "floatingPointTolerance": 0.0, "timestampMsTolerance": 0,
                  "ignoreColumns": ["日本"]}
    config = pair.config(tmp_path, dev, prod, source={"scanSegments": 2}, validation=validation,
                         reconcile={"output": str(output), "strategy": "theirs", "allowDeletes": True})

    migrated = cli("migrate", "--config", str(config), timeout=300)
    assert migrated.returncode == 0, migrated.stderr
    assert scan_all(pair.target, prod) == scan_all(pair.source, dev)
    assert len(scan_all(pair.target, prod)) == 6
    validated = cli("validate", "--config", str(config), timeout=300)
    assert validated.returncode == 0, validated.stderr

    # production drifts: one item gone, one changed in an attribute with a dot, one only there
    pair.target.delete_item(TableName=prod, Key={"order": {"S": "o1"}, "size": {"N": "1"}})
    put_all(pair.target, prod, [_item(2, **{"a.b": {"S": "changed"}}), _item(9)])
    diffed = cli("diff", "--config", str(config), timeout=300)
    assert diffed.returncode == 1, diffed.stderr
    [(table, counts)] = json.loads((output / "summary.json").read_text())["tables"].items()
    assert table == prod and (counts["added"], counts["removed"], counts["conflicts"]) == (1, 1, 1)
    [conflict] = json.loads((output / "conflicts.json").read_text())["conflicts"]
    assert conflict["key"] == {"order": {"S": "o2"}, "size": {"N": "0"}}
    assert conflict["columns"] == {"a.b": {"prod": {"S": "changed"}, "dev": {"S": "dot2"}}}

    applied = cli("apply", "--config", str(config), "--pack", str(output / "pack"), timeout=300)
    assert applied.returncode == 0 and "3 changes were applied" in applied.stderr, applied.stderr
    assert scan_all(pair.target, prod) == scan_all(pair.source, dev)

    schema = cli("schema-diff", "--config", str(config), timeout=120)
    assert schema.returncode == 0, schema.stderr
    assert json.loads((output / "schema_diff.json").read_text())["differences"] == []
    described = pair.target.describe_table(TableName=prod)["Table"]["GlobalSecondaryIndexes"]
    assert [(i["IndexName"], i["KeySchema"], i["Projection"]) for i in described] == \
        [(GSI, index["KeySchema"], {"ProjectionType": "INCLUDE", "NonKeyAttributes": ["a.b", ":v"]})]
