"""Reconcile on DynamoDB: ``migrator diff`` of two diverged tables, with exact counts and decided conflicts.

Runs on both servers (dynalite and moto): it needs only Scan, BatchGetItem and BatchWriteItem.
Dev is the config's source, production its target.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from migrator.backends.dynamodb.items import item_digest
from tests.dynamodb.conftest import Pair, put_all
from tests.support.helpers import cli

pytestmark = pytest.mark.dynamodb

KEY = [("id", "HASH", "S")]


def item(i: int, *, value: str = "same", updated: int = 100) -> dict[str, Any]:
    return {"id": {"S": f"row{i:03d}"}, "v": {"S": value}, "n": {"N": str(i)}, "updatedAt": {"N": str(updated)}}


def diverged(pair: Pair, tmp_path: Path, **reconcile: Any) -> tuple[Path, Path, dict[str, Any], dict[str, Any]]:
    """40 shared rows; dev adds 3 (40-42), production alone has 2 (50, 51), 4 conflicts (0-3).

    Conflicts 0 and 1 were changed later in dev (updatedAt 300 > 200), 2 and 3 later in production.
    """
    dev_table = pair.create("source", pair.table_name("dev"), KEY)
    prod_table = pair.create("target", pair.table_name("prod"), KEY)
    shared = [item(i) for i in range(4, 40)]
    dev = {**{i: item(i, value="dev", updated=300 if i < 2 else 150) for i in range(4)},
           **{i: item(i) for i in range(40, 43)}}
    prod = {**{i: item(i, value="prod", updated=200) for i in range(4)}, **{i: item(i) for i in (50, 51)}}
    put_all(pair.source, dev_table, shared + list(dev.values()))
    put_all(pair.target, prod_table, shared + list(prod.values()))
    output = tmp_path / "reconcile"
    config = pair.config(tmp_path, dev_table, prod_table, source={"scanSegments": 3},
                         reconcile={"output": str(output), **reconcile})
    return config, output, dev, prod


def test_diff_counts_added_removed_and_conflicts_exactly_and_decides_by_newest(servers: Pair, tmp_path: Path) -> None:
    config, output, dev, prod = diverged(servers, tmp_path, strategy="newest", updatedAtAttribute="updatedAt")
    done = cli("diff", "--config", str(config), timeout=300)
    assert done.returncode == 1, done.stderr
    assert "3 added (only in dev), 2 removed (only in production), 4 conflicts" in done.stderr
    summary = json.loads((output / "summary.json").read_text())
    [(table, counts)] = summary["tables"].items()
    assert table.startswith("prod_") and not summary["identical"]
    assert (counts["added"], counts["removed"], counts["conflicts"]) == (3, 2, 4)
    assert counts["decisions"] == {"keep_prod": 2, "use_dev": 2, "pending": 0}
    conflicts = {c["key"]["id"]["S"]: c for c in json.loads((output / "conflicts.json").read_text())["conflicts"]}
    assert sorted(conflicts) == ["row000", "row001", "row002", "row003"]
    for i in range(4):
        c = conflicts[f"row{i:03d}"]
        assert c["decision"] == ("use_dev" if i < 2 else "keep_prod") and c["decidedBy"] == "strategy newest"
        assert c["devDigest"] == item_digest(dev[i]) and c["prodDigest"] == item_digest(prod[i])
        assert c["columns"]["v"] == {"prod": {"S": "prod"}, "dev": {"S": "dev"}}
        assert (c["devWritten"], c["prodWritten"]) == (300 if i < 2 else 150, 200)
    assert (output / "summary.txt").read_text().startswith("diff of dev")


def test_identical_tables_diff_clean_and_newest_without_a_time_attribute_is_refused(dynalite: Pair,
                                                                                     tmp_path: Path) -> None:
    dev_table = dynalite.create("source", dynalite.table_name("same"), KEY)
    prod_table = dynalite.create("target", dynalite.table_name("same_prod"), KEY)
    rows = [item(i) for i in range(20)]
    put_all(dynalite.source, dev_table, rows)
    put_all(dynalite.target, prod_table, rows)
    config = dynalite.config(tmp_path, dev_table, prod_table, reconcile={"output": str(tmp_path / "out")})
    done = cli("diff", "--config", str(config), timeout=300)
    assert done.returncode == 0, done.stderr
    assert json.loads((tmp_path / "out" / "summary.json").read_text())["identical"] is True
    refused = dynalite.config(tmp_path, dev_table, prod_table, reconcile={"strategy": "newest"})
    done = cli("diff", "--config", str(refused), timeout=120)
    assert done.returncode == 2 and "updatedAtAttribute" in done.stderr and "Traceback" not in done.stderr
