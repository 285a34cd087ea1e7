"""Kill and interrupt DynamoDB copies, resume them from their newest savepoint, compare item by item.

dynalite: it reports real consumed capacity, which the slow pace below is measured in, and it keeps
its data on disk like a real table.
"""

from __future__ import annotations

import os
import signal
from pathlib import Path
from typing import Any

import pytest
import yaml

from migrator.savepoints import newest_savepoint
from tests.dynamodb.conftest import Pair, put_all, scan_all
from tests.support.helpers import cli, load_yaml, popen_cli, wait_for_partial_savepoint

pytestmark = pytest.mark.dynamodb

ITEMS, SEGMENTS = 1200, 12
SLOW = {"readThroughput": 6, "throughputReadPercent": 0.5, "scanSegments": SEGMENTS}  # ~1 s per segment page


def _source(pair: Pair) -> str:
    src = pair.create("source", pair.table_name("resume"), [("p", "HASH", "S"), ("s", "RANGE", "N")])
    put_all(pair.source, src, [{"p": {"S": f"p{i % 97}"}, "s": {"N": str(i)}, "v": {"S": "x" * 200},
                                "m": {"M": {"i": {"N": str(i)}}}} for i in range(ITEMS)])
    return src


def test_a_copy_stopped_by_sigterm_resumes_from_its_newest_savepoint_into_an_exact_copy(dynalite: Pair,
                                                                                       tmp_path: Path) -> None:
    """Resumed by running the config again with the pace lifted: the newest savepoint of the same tables.

    SIGKILL at random moments: tests/dynamodb/test_kill_loop.py.
    """
    src = _source(dynalite)
    dst = dynalite.table_name("resume_copy")
    config = dynalite.config(tmp_path, src, dst, source=SLOW)
    savepoints = tmp_path / "savepoints"
    proc = popen_cli("migrate", "--config", str(config))
    try:
        partial = wait_for_partial_savepoint(savepoints, proc, timeout=180)
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        code = proc.wait(60)
    assert code == 4, proc.stdout.read()
    newest = newest_savepoint(savepoints)
    assert newest is not None
    state = load_yaml(newest)
    done = state["skipSegments"]
    assert 0 < len(done) < SEGMENTS and state["migratorState"]["totalSegments"] == SEGMENTS
    assert set(load_yaml(partial)["skipSegments"]) <= set(done)
    assert state["source"]["credentials"]["secretKey"] == "${MIGRATOR_TEST_DDB_SECRET_KEY}"  # never the secret

    tree = load_yaml(config)
    tree["source"] = {k: v for k, v in tree["source"].items() if not k.startswith(("readThroughput", "throughput"))}
    config.write_text(yaml.safe_dump(tree, sort_keys=False))
    resumed = cli("migrate", "--config", str(config), timeout=300)
    assert f"resuming from {newest}" in resumed.stderr
    assert resumed.returncode == 0, resumed.stderr
    assert "Traceback" not in resumed.stderr
    assert scan_all(dynalite.target, dst) == scan_all(dynalite.source, src)
    final = load_yaml(newest_savepoint(savepoints))
    assert final["skipSegments"] == list(range(SEGMENTS))


def test_an_upstream_savepoint_resumes_its_unfinished_segments_only(servers: Pair, spark: Any, tmp_path: Path) -> None:
    """Upstream writes skipSegments and no migratorState: the segments it lists are not copied again."""
    from tests.support.helpers import run_migrate

    src = servers.create("source", servers.table_name("upstream"), [("id", "HASH", "S")])
    put_all(servers.source, src, [{"id": {"S": f"k{i}"}, "v": {"N": str(i)}} for i in range(400)])
    dst = servers.table_name("upstream_copy")
    result = run_migrate(spark, servers.config(tmp_path, src, dst, source={"scanSegments": 4}, skipSegments=[0, 2]))
    assert (result.ranges_total, result.ranges_done) == (4, 4)
    copied = scan_all(servers.target, dst)
    assert 0 < len(copied) < 400 and result.rows == len(copied)  # only segments 1 and 3 were scanned
    assert load_yaml(Path(result.savepoint))["skipSegments"] == [0, 1, 2, 3]
