"""The target Cassandra frozen (SIGSTOP) past the request timeout, then restarted, during a migrate.

A short outage costs time, not the run: the copy finishes exact. An outage longer than the target's
``outageToleranceSeconds`` stops the job within the documented bound (tolerance plus two request
timeouts, plus the time to cancel Spark and write the final savepoint) with exit 3, a message naming
the target, and a savepoint that resumes to an exact copy. The target node is the one the suite
uses, found by its port; it is always continued (SIGCONT) or started again before the test ends.
"""

from __future__ import annotations

import time

import pytest

from migrator.savepoints import newest_savepoint
from tests.support.constants import SOURCE_KS, TARGET_KS
from tests.support.faults import Run, ServerProcess
from tests.support.helpers import assert_same, cli, dump, recreate, wait_for_partial_savepoint
from tests.support.waiting import wait_until

pytestmark = pytest.mark.integration

PARTITIONS, ROWS_PER_PARTITION, SPLITS = 100, 8, 16
REQUEST_TIMEOUT_MS = 1000
FREEZE_S = 4.0  # four request timeouts
STOP_SLACK_S = 30.0  # cancelling the Spark job, writing the final savepoint, closing sessions


def _fill(source, table: str) -> None:
    from cassandra.concurrent import execute_concurrent_with_args

    insert = source.prepare(f"INSERT INTO {SOURCE_KS}.{table} (k, c, v) VALUES (?, ?, ?) USING TTL ?")
    execute_concurrent_with_args(source, insert, [(k, c, f"v{k}-{c}", 86400 + k)
                                                  for k in range(PARTITIONS) for c in range(ROWS_PER_PARTITION)])


def _config(make_config, tmp_path, table: str, tolerance: float):
    return make_config(table, source={"splitCount": SPLITS, "preserveTimestamps": True},
                       target={"requestTimeoutMs": REQUEST_TIMEOUT_MS, "outageToleranceSeconds": tolerance},
                       top={"savepoints": {"path": str(tmp_path / "sp"), "intervalSeconds": 1}})


def _slow_run(config) -> Run:
    return Run.start(["migrate", "--config", str(config)], {"MIGRATOR_MAX_ROWS_PER_SECOND_PER_TASK": "40"})


def test_a_frozen_then_restarted_target_costs_time_not_the_copy(source, target, raw_sessions, make_config,
                                                                endpoints, tmp_path):
    table = "outage_ridden"
    recreate(source, target, table, "(k int, c int, v text, PRIMARY KEY (k, c))")
    _fill(source, table)
    node = ServerProcess(endpoints["target"][1])
    run = _slow_run(_config(make_config, tmp_path, table, tolerance=180))
    wait_for_partial_savepoint(tmp_path / "sp", run.proc)
    outage_began = time.monotonic()
    with node.frozen():
        time.sleep(FREEZE_S)
    time.sleep(1)
    node.start(node.kill())  # a hard restart: SIGKILL, then the same command line
    outage_s = time.monotonic() - outage_began
    assert run.wait_for(300, "the copy did not finish") == 0, run.output
    assert "Traceback" not in run.output
    where = f"the target cluster at {endpoints['target'][0]}:{endpoints['target'][1]}"
    assert f"a write to {where} failed" in run.output and "trying again for up to 180 s" in run.output
    src, tgt = raw_sessions
    _wait_for_reconnection(target, tgt)  # the suite's own sessions, for the next tests too
    # a write that waited out the outage keeps the TTL its page was read with, so it expires later by the
    # time from that read to the write: bounded by the run's length, not by TTL_TOLERANCE_S
    assert_same(dump(src, SOURCE_KS, table), dump(tgt, TARGET_KS, table),
                ttl_tolerance=time.monotonic() - run.started)
    assert outage_s > FREEZE_S


def _wait_for_reconnection(*sessions) -> None:
    def answers() -> bool:
        try:
            for session in sessions:
                session.cluster.refresh_schema_metadata(max_schema_agreement_wait=5)
        except Exception:
            return False
        return True

    wait_until(answers, 120, interval=0.5)


def test_a_target_frozen_past_its_tolerance_stops_the_job_in_bounded_time_and_it_resumes(
        source, target, raw_sessions, make_config, endpoints, tmp_path):
    table = "outage_fatal"
    tolerance = 8.0
    recreate(source, target, table, "(k int, c int, v text, PRIMARY KEY (k, c))")
    _fill(source, table)
    node = ServerProcess(endpoints["target"][1])
    config = _config(make_config, tmp_path, table, tolerance)
    run = _slow_run(config)
    wait_for_partial_savepoint(tmp_path / "sp", run.proc)
    bound = tolerance + 2 * REQUEST_TIMEOUT_MS / 1000 + STOP_SLACK_S
    with node.frozen():
        frozen_at = time.monotonic()
        code, error = run.stops_within(bound, "the target froze")
        stopped_after = time.monotonic() - frozen_at
    assert code == 3, run.output
    host, port = endpoints["target"]
    assert f"the target cluster at {host}:{port} failed after" in error, run.output
    assert f"finished ranges are in {newest_savepoint(tmp_path / 'sp')}" in error
    print(f"stopped {stopped_after:.1f} s after the target froze (bound {bound:.0f} s)")
    newest = newest_savepoint(tmp_path / "sp")
    resumed = cli("migrate", "--config", str(config))
    assert resumed.returncode == 0, resumed.stderr
    assert f"resuming from {newest}" in resumed.stderr
    src, tgt = raw_sessions
    # a write the frozen node had received is applied when it wakes, with the TTL read before the freeze;
    # at the same write time the later expiry wins over the resumed run's rewrite: expiry later by the freeze
    assert_same(dump(src, SOURCE_KS, table), dump(tgt, TARGET_KS, table),
                ttl_tolerance=time.monotonic() - run.started)
