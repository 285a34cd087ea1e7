"""The target DynamoDB endpoint drops its connections mid-copy: killed, then started again.

dynalite keeps its tables on disk, so a hard restart (SIGKILL, then the same command line) is a real
outage: kept-alive connections are reset, new ones refused, until it listens again. A restart within
the target's ``outageToleranceSeconds`` costs time, not the copy; an endpoint gone for longer stops
the job within the documented bound (tolerance plus two request timeouts, plus the time to cancel
Spark and write the final savepoint) with exit 3 and a message naming it, and the copy resumes.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest
import yaml

from migrator.backends.dynamodb.client import CONNECT_TIMEOUT_S
from migrator.savepoints import newest_savepoint
from tests.dynamodb.conftest import Pair, put_all, scan_all
from tests.support.faults import Run, ServerProcess
from tests.support.helpers import cli, wait_for_partial_savepoint

pytestmark = pytest.mark.dynamodb

ITEMS, SEGMENTS = 600, 8
SLOW = {"readThroughput": 4, "throughputReadPercent": 0.5, "scanSegments": SEGMENTS}
STOP_SLACK_S = 30.0


def _tables(pair: Pair, stem: str) -> tuple[str, str]:
    src = pair.create("source", pair.table_name(stem), [("id", "HASH", "S")])
    put_all(pair.source, src, [{"id": {"S": f"k{i}"}, "v": {"S": "x" * 300}, "n": {"N": str(i)}}
                               for i in range(ITEMS)])
    return src, pair.table_name(f"{stem}_copy")


def _port(pair: Pair) -> int:
    return int(pair.target_url.rsplit(":", 1)[1])


def test_a_target_endpoint_restarted_mid_copy_costs_time_not_the_copy(dynalite: Pair, tmp_path: Path) -> None:
    src, dst = _tables(dynalite, "dropped")
    config = dynalite.config(tmp_path, src, dst, source=SLOW, target={"outageToleranceSeconds": 120})
    server = ServerProcess(_port(dynalite))
    run = Run.start(["migrate", "--config", str(config)], None)
    wait_for_partial_savepoint(tmp_path / "savepoints", run.proc, timeout=180)
    launch = server.kill()
    time.sleep(3)
    server.start(launch)
    assert run.wait_for(300, "the copy did not finish") == 0, run.output
    assert "Traceback" not in run.output
    assert f"to {dynalite.target_url} failed" in run.output and "trying again for up to 120 s" in run.output
    assert scan_all(dynalite.target, dst) == scan_all(dynalite.source, src)


def test_a_target_endpoint_gone_past_its_tolerance_stops_the_job_in_bounded_time(dynalite: Pair,
                                                                                  tmp_path: Path) -> None:
    src, dst = _tables(dynalite, "gone")
    tolerance = 6.0
    config = dynalite.config(tmp_path, src, dst, source=SLOW, target={"outageToleranceSeconds": tolerance})
    server = ServerProcess(_port(dynalite))
    run = Run.start(["migrate", "--config", str(config)], None)
    wait_for_partial_savepoint(tmp_path / "savepoints", run.proc, timeout=180)
    bound = tolerance + 2 * CONNECT_TIMEOUT_S + STOP_SLACK_S  # refused connections fail at once; a hung one in 10 s
    launch = server.kill()
    gone_at = time.monotonic()
    try:
        code, error = run.stops_within(bound, "the endpoint went away")
    finally:
        stopped_after = time.monotonic() - gone_at
        server.start(launch)
    assert code == 3, run.output
    assert f"to the target endpoint {dynalite.target_url} failed after" in error, run.output
    newest = newest_savepoint(tmp_path / "savepoints")
    assert f"finished ranges are in {newest}" in error
    print(f"stopped {stopped_after:.1f} s after the endpoint went away (bound {bound:.0f} s)")
    tree = yaml.safe_load(config.read_text())  # resumed at full speed: the same tables, so the same job
    tree["source"] = {k: v for k, v in tree["source"].items() if k not in ("readThroughput", "throughputReadPercent")}
    config.write_text(yaml.safe_dump(tree, sort_keys=False))
    resumed = cli("migrate", "--config", str(config), timeout=300)
    assert resumed.returncode == 0, resumed.stderr
    assert f"resuming from {newest}" in resumed.stderr
    assert scan_all(dynalite.target, dst) == scan_all(dynalite.source, src)
