"""spark-submit to a real standalone cluster (Spark 4, from .venv) against the two Cassandra clusters.

Each run ships the migrator as a user would to a cluster that lacks it: ``migrator.zip`` on
``--py-files`` and the packed environment on ``--archives`` (see submit.py and conftest.py).
"""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.submit import VALIDATION, Submitter, executor_pids, explain, migrate_and_validate, output
from tests.support.constants import SOURCE_KS, TARGET_KS
from tests.support.helpers import assert_same, dump, recreate, write_config

pytestmark = pytest.mark.e2e

WORKER_PORT = 7078  # scripts/spark_standalone.py: 7078 + offset


def _load_events(source: Any, rows: int) -> None:
    from cassandra.concurrent import execute_concurrent_with_args

    insert = source.prepare(f"INSERT INTO {SOURCE_KS}.e2e_events (id, seq, body, tags, score) VALUES (?, ?, ?, ?, ?) "
                            "USING TTL ? AND TIMESTAMP ?")
    params = [(i // 5, i % 5, f"body {i}", {f"t{i % 4}", "all"}, i / 7, 86400 + i, 1_700_000_000_000_000 + i)
              for i in range(rows)]
    execute_concurrent_with_args(source, insert, params, concurrency=64)


def test_migrate_then_validate(submitter: Submitter, source, target, raw_sessions, endpoints, tmp_path: Path):
    recreate(source, target, "e2e_events",
             "(id int, seq int, body text, tags set<text>, score double, PRIMARY KEY (id, seq))")
    _load_events(source, 3000)
    config = write_config(tmp_path, endpoints, "e2e_events", source={"preserveTimestamps": True, "splitCount": 16},
                          top={"validation": VALIDATION})

    # a differing validation's exit 1 and report: tests/integration/test_validate.py (each submit costs ~50 s)
    migrate_and_validate(submitter, config, "e2e_events", raw_sessions, "16/16 ranges, 3,000 rows")


def test_a_bad_config_exits_2_with_a_message(submitter: Submitter, tmp_path: Path):
    config = tmp_path / "bad.yaml"
    config.write_text("source:\n  type: cassandra\n  host: 127.0.0.1\ntarget: {}\n")
    done = submitter.run("migrate", "--config", str(config))
    assert done.returncode == 2, explain(done)
    assert "invalid configuration" in output(done)
    assert "Traceback" not in output(done)


def test_config_read_from_s3a(submitter: Submitter, source, target, raw_sessions, endpoints, tmp_path: Path,
                              moto_s3: dict[str, str]):
    import boto3

    recreate(source, target, "e2e_s3", "(id int PRIMARY KEY, v text)")
    for i in range(200):
        source.execute(f"INSERT INTO {SOURCE_KS}.e2e_s3 (id, v) VALUES (%s, %s)", (i, f"v{i}"))
    config = write_config(tmp_path, endpoints, "e2e_s3", source={"preserveTimestamps": True})
    s3 = boto3.client("s3", endpoint_url=moto_s3["AWS_ENDPOINT_URL"], region_name="us-east-1",
                      aws_access_key_id="testing", aws_secret_access_key="testing")
    s3.create_bucket(Bucket="e2e-configs")
    s3.put_object(Bucket="e2e-configs", Key="jobs/config.yaml", Body=config.read_bytes())

    done = submitter.run("migrate", "--config", "s3a://e2e-configs/jobs/config.yaml", env=moto_s3)
    assert done.returncode == 0, explain(done)
    assert_same(dump(raw_sessions[0], SOURCE_KS, "e2e_s3"), dump(raw_sessions[1], TARGET_KS, "e2e_s3"))

    missing = submitter.run("migrate", "--config", "s3://e2e-configs/jobs/nope.yaml", env=moto_s3)
    assert missing.returncode == 2, explain(missing)
    assert "config file not found: s3://e2e-configs/jobs/nope.yaml" in output(missing)


def _load_counters(source: Any, rows: int) -> None:
    from cassandra.concurrent import execute_concurrent_with_args

    add = source.prepare(f"UPDATE {SOURCE_KS}.e2e_counts SET hits = hits + ?, misses = misses + ? WHERE id = ?")
    execute_concurrent_with_args(source, add, [(i % 97 + 1, i % 13, i) for i in range(rows)], concurrency=64)


def _wait(condition: Any, what: str, proc: Any, log: Path, timeout: float = 240) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        if proc.poll() is not None:
            raise AssertionError(f"spark-submit ended (exit {proc.returncode}) before {what}:\n"
                                 f"{log.read_text()[-3000:]}")
        time.sleep(0.3)
    raise AssertionError(f"timed out waiting for {what}")


def test_killed_executor_is_replaced_and_counters_are_not_doubled(
        submitter: Submitter, source, target, raw_sessions, endpoints, tmp_path: Path):
    rows = 2000  # about 8 s of copying at the pace below: the kill lands after a fifth, at about 2 s
    recreate(source, target, "e2e_counts", "(id int PRIMARY KEY, hits counter, misses counter)")
    _load_counters(source, rows)
    config = write_config(tmp_path, endpoints, "e2e_counts", source={"splitCount": 16})
    log = tmp_path / "migrate.log"
    # slowed down so that the executor dies with ranges half done and others not started
    slow = {"spark.executorEnv.MIGRATOR_MAX_ROWS_PER_SECOND_PER_TASK": "120"}
    before = set(executor_pids(WORKER_PORT))
    proc = submitter.popen("migrate", "--config", str(config), conf=slow, log=log)
    try:
        def copied() -> int:
            return int(target.execute(f"SELECT count(*) FROM {TARGET_KS}.e2e_counts").one()[0])

        def first_executor() -> dict[int, str]:
            return {pid: eid for pid, eid in executor_pids(WORKER_PORT).items() if pid not in before}

        victim = _wait(first_executor, "an executor started", proc, log)
        _wait(lambda: copied() >= rows // 5, "a fifth of the rows copied", proc, log)
        assert copied() < rows, "the copy finished before the executor could be killed; slow it down more"
        for pid in victim:
            os.kill(pid, signal.SIGKILL)
        replacement = _wait(lambda: {p: e for p, e in first_executor().items() if p not in victim},
                            "a replacement executor", proc, log)
        assert set(replacement.values()).isdisjoint(victim.values()), "the replacement reuses the executor id"
        proc.wait(timeout=600)
    finally:
        if proc.poll() is None:
            proc.kill()
    output = log.read_text()
    assert proc.returncode == 0, output[-3000:]
    assert "migration finished: 16/16 ranges" in output, output[-3000:]
    assert "Lost executor" in output or "ExecutorLostFailure" in output, "Spark never saw the executor die"

    source_counts = dump(raw_sessions[0], SOURCE_KS, "e2e_counts")
    assert len(source_counts) == rows
    assert_same(source_counts, dump(raw_sessions[1], TARGET_KS, "e2e_counts"))  # every counter, exactly
    # validating a counter table: tests/integration/test_migrate_options.py; a submitted validate:
    # test_migrate_then_validate (each submit costs ~50 s)
