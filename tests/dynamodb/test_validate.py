"""Validate DynamoDB tables against real servers: exact counts after known damage, zero after a clean copy."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from migrator.config import load_config
from migrator.validate import validate
from tests.dynamodb.conftest import Pair, put_all
from tests.support.helpers import cli, run_migrate

pytestmark = pytest.mark.dynamodb

VALIDATION = {"compareTimestamps": False, "ttlToleranceMillis": 0, "writetimeToleranceMillis": 0,
              "failuresToFetch": 5, "floatingPointTolerance": 0.001, "timestampMsTolerance": 0}


def _copied(pair: Pair, tmp_path: Path, spark: Any, items: int = 300) -> tuple[str, str, Path]:
    src = pair.create("source", pair.table_name("checked"), [("pk", "HASH", "S"), ("sk", "RANGE", "N")])
    put_all(pair.source, src, [{"pk": {"S": f"p{i % 13}"}, "sk": {"N": str(i)}, "price": {"N": f"{i}.5"},
                                "tags": {"SS": ["a", f"t{i}"]}, "doc": {"M": {"n": {"L": [{"N": str(i)}]}}}}
                               for i in range(items)])
    dst = pair.table_name("checked_copy")
    config = pair.config(tmp_path, src, dst, source={"scanSegments": 5}, validation=VALIDATION)
    run_migrate(spark, config)
    return src, dst, config


def test_a_clean_copy_validates_equal_with_exact_totals(servers: Pair, spark: Any, tmp_path: Path) -> None:
    _, _, config = _copied(servers, tmp_path, spark)
    report = validate(load_config(config), spark)
    assert report.equal
    assert (report.counts.sourceRows, report.counts.targetRows, report.ranges_done) == (300, 300, 5)


def test_known_damage_is_counted_exactly_and_reported_per_segment(servers: Pair, spark: Any, tmp_path: Path) -> None:
    _, dst, config = _copied(servers, tmp_path, spark)
    target = servers.target
    for i in (3, 50, 299):
        target.delete_item(TableName=dst, Key={"pk": {"S": f"p{i % 13}"}, "sk": {"N": str(i)}})
    put_all(target, dst, [{"pk": {"S": "extra"}, "sk": {"N": str(i)}} for i in range(2)])
    for i in (7, 8, 9, 10):  # differing: a number beyond the tolerance, a set member, a nested value, one gone
        key = {"pk": {"S": f"p{i % 13}"}, "sk": {"N": str(i)}}
        change = {7: "SET price = :v", 8: "ADD tags :v", 9: "SET doc.n[0] = :v", 10: "REMOVE price"}[i]
        values = {7: {":v": {"N": "7.6"}}, 8: {":v": {"SS": ["new"]}}, 9: {":v": {"N": "-1"}}, 10: None}[i]
        target.update_item(TableName=dst, Key=key, UpdateExpression=change,
                           **({"ExpressionAttributeValues": values} if values else {}))
    target.update_item(TableName=dst, Key={"pk": {"S": "p11"}, "sk": {"N": "11"}}, UpdateExpression="SET price = :v",
                       ExpressionAttributeValues={":v": {"N": "11.5001"}})  # within floatingPointTolerance
    report_dir = tmp_path / "report"
    done = cli("validate", "--config", str(config), "--report", str(report_dir), timeout=300)
    assert done.returncode == 1, done.stderr
    report = json.loads((report_dir / "report.json").read_text())
    assert report["counts"] == {"sourceRows": 300, "targetRows": 299, "missing": 3, "extra": 2, "differing": 4}
    assert report["split_unit"] == "segment" and len(report["ranges"]) == 5
    assert {name: stats["unequal"] for name, stats in report["columns"].items()} == {"price": 2, "tags": 1, "doc": 1}
    assert report["columns"]["price"]["null_vs_value"] == 1
    html = (report_dir / "report.html").read_text()
    assert "Differences per scan segment" in html


def test_repairs_make_the_target_equal_and_a_second_validation_finds_nothing(servers: Pair, spark: Any,
                                                                              tmp_path: Path) -> None:
    _, dst, config = _copied(servers, tmp_path, spark, items=120)
    target = servers.target
    target.delete_item(TableName=dst, Key={"pk": {"S": "p1"}, "sk": {"N": "1"}})
    target.update_item(TableName=dst, Key={"pk": {"S": "p2"}, "sk": {"N": "2"}}, UpdateExpression="SET price = :v",
                       ExpressionAttributeValues={":v": {"N": "0"}})
    put_all(target, dst, [{"pk": {"S": "extra"}, "sk": {"N": "1"}}])
    text = config.read_text().replace("timestampMsTolerance: 0", "timestampMsTolerance: 0\n  copyMissingRows: true\n"
                                      "  copyDifferingRows: true\n  deleteExtraRows: true")
    config.write_text(text)
    report = validate(load_config(config), spark)
    assert (report.counts.missing, report.counts.differing, report.counts.extra) == (1, 1, 1)
    assert report.repaired == {"copiedMissing": 1, "copiedDiffering": 1, "deletedExtra": 1}
    again = validate(load_config(config), spark)
    assert again.equal and again.counts.targetRows == 120
