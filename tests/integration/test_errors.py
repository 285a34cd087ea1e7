"""Bad inputs give the documented exit code and a message naming the problem; nothing is written."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import yaml

from tests.support.constants import SOURCE_KS, TARGET_KS
from tests.support.exposure import Exposure
from tests.support.helpers import cli, recreate

pytestmark = pytest.mark.integration


def _edit(path, mutate):
    tree = yaml.safe_load(path.read_text())
    mutate(tree)
    path.write_text(yaml.safe_dump(tree))
    return path


def test_unreachable_host_is_named_and_exits_3(make_config):
    config = _edit(make_config("anything"), lambda t: t["source"].update(port=1))
    result = cli("migrate", "--config", str(config), timeout=120)
    assert result.returncode == 3, result.stderr
    assert "cannot connect to the source cluster at 127.0.0.1:1" in result.stderr
    assert "Traceback" not in result.stderr


def test_missing_keyspace_and_table(source, target, make_config):
    config = _edit(make_config("anything"), lambda t: t["source"].update(keyspace="no_such_ks"))
    result = cli("check", "--config", str(config))
    assert result.returncode == 3
    assert "keyspace 'no_such_ks' does not exist on the source cluster" in result.stderr
    config = make_config("no_such_table")
    result = cli("migrate", "--config", str(config))
    assert result.returncode == 3
    assert f"table {SOURCE_KS}.no_such_table does not exist on the source cluster" in result.stderr


def test_malformed_yaml_and_wrong_types_exit_2(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("source:\n  type: cassandra\n  host: [unclosed\n")
    result = cli("migrate", "--config", str(bad))
    assert result.returncode == 2 and "line" in result.stderr and "Traceback" not in result.stderr


def test_wrong_types_are_all_reported(make_config):
    def mutate(t):
        t["source"]["fetchSize"] = "lots"
        t["target"]["port"] = "nine"
        t["source"]["splitcount"] = 4

    result = cli("migrate", "--config", str(_edit(make_config("anything"), mutate)))
    assert result.returncode == 2
    for fragment in ("source.fetchSize", "target.port", "did you mean 'splitCount'"):
        assert fragment in result.stderr


def test_incompatible_target_is_refused_before_any_write(source, target, make_config):
    recreate(source, target, "mismatch", "(k int PRIMARY KEY, v text, w int)", create_target=False)
    target.execute(f"DROP TABLE IF EXISTS {TARGET_KS}.mismatch")
    target.execute(f"CREATE TABLE {TARGET_KS}.mismatch (k int PRIMARY KEY, v int)")
    source.execute(f"INSERT INTO {SOURCE_KS}.mismatch (k, v, w) VALUES (1, 'x', 2)")
    result = cli("migrate", "--config", str(make_config("mismatch")))
    assert result.returncode == 3, result.stderr
    assert "column v: source type text cannot be written into target type int" in result.stderr
    assert "column w: missing in the target table" in result.stderr
    assert target.execute(f"SELECT count(*) FROM {TARGET_KS}.mismatch").one()[0] == 0


def test_redacted_secret_is_refused(make_config):
    config = _edit(make_config("anything"),
                   lambda t: t["source"].update(credentials={"username": "u", "password": "<redacted>"}))
    result = cli("migrate", "--config", str(config))
    assert result.returncode == 2
    assert "source.credentials.password" in result.stderr and "redacted" in result.stderr


def test_savepoint_for_another_table_is_refused(source, target, make_config):
    recreate(source, target, "ident", "(k int PRIMARY KEY)")

    def mutate(t):
        t["skipTokenRanges"] = [[{"type": "long", "value": 0}, {"type": "long", "value": 2**63 - 1}]]
        t["migratorState"] = {"kind": "migrate", "sourceIdentity": "other/ks.t", "splitCount": 8}

    result = cli("migrate", "--config", str(_edit(make_config("ident"), mutate)))
    assert result.returncode == 2, result.stderr
    assert "written for source other/ks.t" in result.stderr


SECRETS = {"source": "hunter2-literal", "TEST_TARGET_PASSWORD": "s3cr3t-from-env",
           "trustStorePassword": "truststore-pw-literal", "TEST_KEYSTORE_PASSWORD": "keystore-pw-from-env"}


def test_secrets_never_reach_any_output_nor_a_process_listing(source, target, make_config, tmp_path):
    """One migrate, validate, diff and apply with literal and ${VAR} secrets (passwords, store passwords).

    Searched: stdout/stderr, every file they write (savepoints, report, differences, conflicts, pack,
    summaries, apply checkpoints while they exist, Spark event logs) and the command line of every
    process on the machine, sampled while each run lasts. State files are owner-only.
    """
    recreate(source, target, "secrets", "(k int PRIMARY KEY, v text)")
    for k in range(6):
        source.execute(f"INSERT INTO {SOURCE_KS}.secrets (k, v) VALUES (%s, 'v')", (k,))
    ssl = {"enabled": False, "clientAuthEnabled": False, "trustStorePassword": SECRETS["trustStorePassword"],
           "keyStorePassword": "${TEST_KEYSTORE_PASSWORD}"}
    output, events = tmp_path / "reconcile", tmp_path / "events"
    events.mkdir()

    def mutate(tree):
        tree["source"].update(credentials={"username": "cassandra", "password": SECRETS["source"]}, sslOptions=ssl)
        tree["target"].update(credentials={"username": "cassandra", "password": "${TEST_TARGET_PASSWORD}"})
        tree["reconcile"] = {"output": str(output), "strategy": "theirs", "applyBatchRows": 1}
        tree["validation"] = {"compareTimestamps": False, "ttlToleranceMillis": 0, "writetimeToleranceMillis": 0,
                              "failuresToFetch": 10, "floatingPointTolerance": 0.0, "timestampMsTolerance": 0}

    config = _edit(make_config("secrets"), mutate)
    env = {**os.environ, **{k: v for k, v in SECRETS.items() if k.startswith("TEST_")}}
    spark = ["--conf", "spark.eventLog.enabled=true", "--conf", f"spark.eventLog.dir=file://{events}"]
    seen = Exposure(tmp_path, read_at_end=(events,))
    assert seen.run("migrate", "--config", str(config), *spark, env=env).returncode == 0
    target.execute(f"UPDATE {TARGET_KS}.secrets SET v = 'changed' WHERE k IN (1, 2)")
    target.execute(f"DELETE FROM {TARGET_KS}.secrets WHERE k = 3")
    validated = seen.run("validate", "--config", str(config), "--report", str(tmp_path / "report"), *spark, env=env)
    assert validated.returncode == 1, validated.stderr
    assert seen.run("diff", "--config", str(config), *spark, env=env).returncode == 1
    applied = seen.run("apply", "--config", str(config), "--pack", str(output / "pack"), env=env)
    assert applied.returncode == 0 and "3 changes were applied" in applied.stderr, applied.stderr

    print(f"runs took {seen.seconds} s; {seen.samples} samples")
    del seen.files[str(config)]  # the user's own file: it holds what they wrote
    assert seen.leaks(list(SECRETS.values())) == []
    assert {Path(p).relative_to(tmp_path).parts[0] for p in seen.files} == {"savepoints", "report", "reconcile",
                                                                              "events"}
    assert len(list(events.iterdir())) == 3 and seen.samples > 40  # one event log per Spark run
    # apply's checkpoint lives only while apply runs, often less than a sample: its content is checked in
    # tests/unit/reconcile/test_checkpoints.py (test_a_checkpoint_is_owner_only_and_holds_no_secret)
    savepoints = "".join(p.read_text() for p in (tmp_path / "savepoints").glob("*.yaml"))
    assert "${TEST_TARGET_PASSWORD}" in savepoints and "${TEST_KEYSTORE_PASSWORD}" in savepoints
    assert savepoints.count("password: <redacted>") == savepoints.count("trustStorePassword: <redacted>") > 0
    private = [p for p in tmp_path.rglob("*") if p.is_file() and p.parts[len(tmp_path.parts)] != "events"
               and p.name != "config.yaml"]
    assert len(private) > 20 and {p.stat().st_mode & 0o777 for p in private} == {0o600}


def test_preserving_element_timestamps_into_a_frozen_column_is_refused(source, target, make_config):
    recreate(source, target, "frozen_target", "(k int PRIMARY KEY, s set<int>)", create_target=False)
    target.execute(f"DROP TABLE IF EXISTS {TARGET_KS}.frozen_target")
    target.execute(f"CREATE TABLE {TARGET_KS}.frozen_target (k int PRIMARY KEY, s frozen<set<int>>)")
    source.execute(f"INSERT INTO {SOURCE_KS}.frozen_target (k, s) VALUES (1, {{1, 2}})")
    result = cli("migrate", "--config", str(make_config("frozen_target", source={"preserveTimestamps": True})))
    assert result.returncode == 3, result.stderr
    assert "column s: source type set<int> and target type frozen<set<int>> differ" in result.stderr
    assert target.execute(f"SELECT count(*) FROM {TARGET_KS}.frozen_target").one()[0] == 0
    plain = cli("migrate", "--config", str(make_config("frozen_target", name="plain.yaml")))
    assert plain.returncode == 0, plain.stderr
    assert target.execute(f"SELECT s FROM {TARGET_KS}.frozen_target WHERE k = 1").one()[0] == {1, 2}
