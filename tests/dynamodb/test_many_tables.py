"""DynamoDB tables chosen by a name prefix, copied and validated in one run; a table whose writes are refused.

dynalite refuses an item whose attribute is an index key of another type (a real write failure the
preparation cannot foresee: it compares the tables' keys, not their indexes).
"""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import pytest

from migrator.savepoints import newest_savepoint
from tests.dynamodb.conftest import Pair, put_all, scan_all
from tests.support.helpers import cli, load_yaml

pytestmark = pytest.mark.dynamodb

ITEMS = 60
VALIDATION = {"compareTimestamps": False, "ttlToleranceMillis": 0, "writetimeToleranceMillis": 0,
              "failuresToFetch": 10, "floatingPointTolerance": 0.0, "timestampMsTolerance": 0}


def test_a_prefix_selects_tables_a_refused_table_fails_alone_and_the_rerun_finishes_it(dynalite: Pair,
                                                                                       tmp_path: Path) -> None:
    prefix = f"mt{uuid.uuid4().hex[:6]}_"
    orders, users, scratch = (dynalite.create("source", f"{prefix}{stem}", [("k", "HASH", "S")])
                              for stem in ("orders", "users", "tmp"))
    put_all(dynalite.source, orders, [{"k": {"S": f"o{i}"}, "g": {"N": str(i)}, "l": {"L": [{"S": "x"}]}}
                                      for i in range(ITEMS)])
    put_all(dynalite.source, users, [{"k": {"S": f"u{i}"}, "m": {"M": {"n": {"N": str(i)}}}, "b": {"B": b"\x00\x01"}}
                                     for i in range(ITEMS)])
    put_all(dynalite.source, scratch, [{"k": {"S": "t"}}])
    # production already has orders, with an index keyed by g as a string: every copied item is refused
    dynalite.create("target", orders, [("k", "HASH", "S")], GlobalSecondaryIndexes=[{
        "IndexName": "by_g", "KeySchema": [{"AttributeName": "g", "KeyType": "HASH"}],
        "Projection": {"ProjectionType": "ALL"}}])
    dynalite.forget_target(users)
    config = dynalite.config(tmp_path, f"{prefix}*", "*", source={"exclude": ["*_tmp"]}, validation=VALIDATION)

    first = cli("migrate", "--config", str(config))
    assert first.returncode == 3, first.stderr
    assert f"{orders} -> {orders}: 0/1 ranges, 0 rows, FAILED" in first.stderr
    assert f"{users} -> {users}: 1/1 ranges, {ITEMS} rows, done" in first.stderr
    assert "1 of 2 tables failed" in first.stderr
    assert scan_all(dynalite.target, users) == scan_all(dynalite.source, users)
    saved = load_yaml(newest_savepoint(tmp_path / "savepoints"))["migratorState"]["tables"]
    assert "ValidationException" in saved[orders]["migratorState"]["failure"]
    assert sorted(saved) == [orders, users]  # the excluded table is not part of the run

    dynalite.target.delete_table(TableName=orders)  # the fix: let the copy create it
    second = cli("migrate", "--config", str(config))
    assert second.returncode == 0, second.stderr
    assert "resuming from" in second.stderr
    assert f"{users} -> {users}: 1/1 ranges, {ITEMS} rows, done" in second.stderr  # not copied again
    assert scan_all(dynalite.target, orders) == scan_all(dynalite.source, orders)

    dynalite.target.delete_item(TableName=users, Key={"k": {"S": "u3"}})
    report = tmp_path / "report"
    validated = cli("validate", "--config", str(config), "--report", str(report))
    assert validated.returncode == 1, validated.stderr
    tables = {t["name"]: t for t in json.loads((report / "report.json").read_text())["tables"]}
    assert tables[orders]["verdict"] == "EQUAL"
    assert tables[users]["report"]["counts"]["missing"] == 1 and tables[users]["verdict"] == "DIFFERENT"
