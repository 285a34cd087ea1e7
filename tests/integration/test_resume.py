"""Kill and interrupt migrations, resume them from their newest savepoint, compare cell by cell."""

from __future__ import annotations

import os
import signal
import time

import pytest
import yaml

from migrator.savepoints import list_savepoints, newest_savepoint
from tests.support.constants import SOURCE_KS, TARGET_KS
from tests.support.helpers import assert_same, cli, dump, load_yaml, popen_cli, recreate, wait_for_partial_savepoint

pytestmark = pytest.mark.integration

PARTITIONS, ROWS_PER_PARTITION = 300, 8
SPLITS = 64
SLOW = {"MIGRATOR_MAX_ROWS_PER_SECOND_PER_TASK": "100"}  # about 12 s of work on 2 cores, 0.4 s per range


def _fill(source, table: str, counters: bool) -> None:
    if counters:
        stmt = source.prepare(f"UPDATE {SOURCE_KS}.{table} SET n = n + ?, m = m + ? WHERE k = ? AND c = ?")
    else:
        stmt = source.prepare(f"INSERT INTO {SOURCE_KS}.{table} (k, c, v, s) VALUES (?, ?, ?, ?) USING TTL ?")
    from cassandra.concurrent import execute_concurrent_with_args

    args = []
    for k in range(PARTITIONS):
        for c in range(ROWS_PER_PARTITION):
            args.append((k * 10 + c + 1, -c, k, c) if counters else (k, c, f"v{k}-{c}", {f"s{c}"}, 86400 + k))
    execute_concurrent_with_args(source, stmt, args, concurrency=64, raise_on_first_error=True)


def test_sigterm_writes_a_final_savepoint_and_exits_4(source, target, raw_sessions, make_config, tmp_path):
    table = "resume_term"
    recreate(source, target, table, "(k int, c int, v text, s set<text>, PRIMARY KEY (k, c))")
    _fill(source, table, counters=False)
    config = make_config(table, source={"splitCount": SPLITS, "preserveTimestamps": True},
                         top={"savepoints": {"path": str(tmp_path / "sp"), "intervalSeconds": 1}})
    proc = popen_cli("migrate", "--config", str(config), env=SLOW)
    wait_for_partial_savepoint(tmp_path / "sp", proc)
    before = len(list_savepoints(tmp_path / "sp"))
    proc.send_signal(signal.SIGTERM)
    output = proc.communicate(timeout=120)[0]
    assert proc.returncode == 4, output
    assert "resume with: migrator migrate --config" in output
    newest = newest_savepoint(tmp_path / "sp")
    assert len(list_savepoints(tmp_path / "sp")) > before
    assert "(interrupted)" in newest.read_text().splitlines()[0]
    resumed = cli("migrate", "--config", str(newest))
    assert resumed.returncode == 0, resumed.stderr
    src, tgt = raw_sessions
    assert_same(dump(src, SOURCE_KS, table), dump(tgt, TARGET_KS, table))


def test_removing_a_range_from_the_savepoint_runs_it_again(source, target, raw_sessions, make_config, tmp_path):
    import yaml

    table = "resume_edit"
    recreate(source, target, table, "(k int PRIMARY KEY, v int)")
    for k in range(200):
        source.execute(f"INSERT INTO {SOURCE_KS}.{table} (k, v) VALUES (%s, %s)", (k, k))
    config = make_config(table, source={"splitCount": 4})
    assert cli("migrate", "--config", str(config)).returncode == 0
    saved = newest_savepoint(config.parent / "savepoints")
    tree = load_yaml(saved)
    lo, hi = -(2**63), 2**63 - 1
    quarter = lo + (2**64 - 1) // 4
    tree["skipTokenRanges"] = [[{"type": "long", "value": quarter}, {"type": "long", "value": hi}]]
    edited = config.parent / "edited.yaml"
    edited.write_text(yaml.safe_dump(tree))
    target.execute(f"TRUNCATE {TARGET_KS}.{table}")
    rerun = cli("migrate", "--config", str(edited))
    assert rerun.returncode == 0, rerun.stderr
    in_first_quarter = [k for k, t in source.execute(f"SELECT k, token(k) FROM {SOURCE_KS}.{table}") if t <= quarter]
    copied = sorted(r[0] for r in target.execute(f"SELECT k FROM {TARGET_KS}.{table}"))
    assert copied == sorted(in_first_quarter)


def test_savepoints_on_s3_survive_a_sigkill_and_resume(source, target, raw_sessions, make_config):
    """Savepoints under an s3a:// prefix (a moto S3 server); resume by passing the object's URI."""
    import boto3

    from tests.motoserver import moto_server

    table = "resume_s3"
    recreate(source, target, table, "(k int, c int, v text, s set<text>, PRIMARY KEY (k, c))")
    _fill(source, table, counters=False)
    with moto_server() as aws:
        s3 = boto3.client("s3", endpoint_url=aws["AWS_ENDPOINT_URL"], region_name=aws["AWS_DEFAULT_REGION"],
                          aws_access_key_id="testing", aws_secret_access_key="testing")
        s3.create_bucket(Bucket="migrator-savepoints")
        prefix = "s3a://migrator-savepoints/jobs/resume"
        config = make_config(table, source={"splitCount": SPLITS, "preserveTimestamps": True},
                             top={"savepoints": {"path": prefix, "intervalSeconds": 1}})

        def newest() -> tuple[str, dict]:
            listing = s3.list_objects_v2(Bucket="migrator-savepoints", Prefix="jobs/resume/")
            keys = sorted(o["Key"] for o in listing.get("Contents", []))
            if not keys:
                return "", {}
            body = s3.get_object(Bucket="migrator-savepoints", Key=keys[-1])["Body"].read()
            return f"s3a://migrator-savepoints/{keys[-1]}", yaml.safe_load(body)

        proc = popen_cli("migrate", "--config", str(config), env={**SLOW, **aws})
        try:
            deadline = time.monotonic() + 240
            while True:
                assert proc.poll() is None, f"migration ended early:\n{proc.stdout.read()}"
                assert time.monotonic() < deadline, "no savepoint with partial progress appeared on S3"
                state = newest()[1].get("migratorState", {})
                if 0 < state.get("rangesDone", 0) < state.get("rangesTotal", 0):
                    break
                time.sleep(0.3)
        finally:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(30)

        uri, tree = newest()
        done_before = tree["migratorState"]["rangesDone"]
        resumed = cli("migrate", "--config", uri, env=aws)
        assert resumed.returncode == 0, resumed.stderr
        assert f"{done_before} already done, {SPLITS - done_before} to go" in resumed.stderr
        assert f"savepoint: {prefix}/savepoint_" in resumed.stderr
        assert newest()[1]["migratorState"]["rangesDone"] == SPLITS
    src, tgt = raw_sessions
    assert_same(dump(src, SOURCE_KS, table), dump(tgt, TARGET_KS, table))
