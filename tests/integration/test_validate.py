"""Validation against known damage: exact counts, the right keys and columns, resume, repairs."""

from __future__ import annotations

import json
import os
import signal
import time

import pytest
import yaml

from migrator.differences import read_differences
from migrator.savepoints import list_savepoints, newest_savepoint
from tests.support.constants import SOURCE_KS, TARGET_KS
from tests.support.helpers import cli, load_yaml, popen_cli, recreate, run_migrate, write_config

pytestmark = pytest.mark.integration

TYPES = ["CREATE TYPE IF NOT EXISTS {ks}.addr (street text, no int)"]
COLUMNS = """(k int, c int, name text, score double, tags set<text>, attrs map<text, int>, home frozen<addr>,
    nums list<int>, PRIMARY KEY (k, c))"""
ROWS = 400
VALIDATION = {
    "compareTimestamps": True, "ttlToleranceMillis": 60000, "writetimeToleranceMillis": 1000,
    "failuresToFetch": 50, "floatingPointTolerance": 0.001, "timestampMsTolerance": 0,
}


def _load(source) -> None:
    from cassandra.concurrent import execute_concurrent_with_args

    stmt = source.prepare(f"INSERT INTO {SOURCE_KS}.checked (k, c, name, score, tags, attrs, home, nums) "
                          "VALUES (?, ?, ?, ?, ?, ?, ?, ?) USING TTL 86400")
    rows = [(i // 4, i % 4, f"n{i}", i * 1.5, {f"t{i % 3}"}, {"a": i}, (f"s{i}", i), [i, i + 1]) for i in range(ROWS)]
    execute_concurrent_with_args(source, stmt, rows, concurrency=64, raise_on_first_error=True)


def _damage(target) -> dict[str, set]:
    t = f"{TARGET_KS}.checked"
    missing = {(1, 0), (7, 3), (50, 1)}
    for k, c in missing:
        target.execute(f"DELETE FROM {t} WHERE k = %s AND c = %s", (k, c))
    differing = {
        (2, 1): "name", (3, 2): "score", (4, 0): "tags", (5, 3): "attrs", (6, 1): "home", (8, 2): "nums",
    }
    target.execute(f"UPDATE {t} SET name = 'changed' WHERE k = 2 AND c = 1")
    target.execute(f"UPDATE {t} SET score = 99999.0 WHERE k = 3 AND c = 2")
    target.execute(f"UPDATE {t} SET tags = tags + {{'new'}} WHERE k = 4 AND c = 0")
    target.execute(f"UPDATE {t} SET attrs['a'] = -1 WHERE k = 5 AND c = 3")
    target.execute(f"UPDATE {t} SET home = {{street: 'elsewhere', no: 1}} WHERE k = 6 AND c = 1")
    target.execute(f"UPDATE {t} SET nums = [0] WHERE k = 8 AND c = 2")
    # a score change inside the floating point tolerance (same TTL, write time within 1 s) is not a difference
    row = target.execute(f"SELECT score, WRITETIME(score) FROM {t} WHERE k = 9 AND c = 0").one()
    target.execute(f"UPDATE {t} USING TIMESTAMP %s AND TTL 86400 SET score = %s WHERE k = 9 AND c = 0",
                   (row[1] + 1, row[0] + 0.0005))
    # writetime shifted beyond the 1 s tolerance: differing in writetime(name) only
    wt = target.execute(f"SELECT WRITETIME(name), name FROM {t} WHERE k = 10 AND c = 0").one()
    target.execute(f"UPDATE {t} USING TIMESTAMP %s AND TTL 86400 SET name = %s WHERE k = 10 AND c = 0",
                   (wt[0] + 5_000_000, wt[1]))
    differing[(10, 0)] = "writetime(name)"
    # a TTL 30 s shorter is inside the 60 s tolerance; one without TTL is outside it
    row = target.execute(f"SELECT name, WRITETIME(name) FROM {t} WHERE k = 11 AND c = 0").one()
    target.execute(f"UPDATE {t} USING TTL 86370 AND TIMESTAMP %s SET name = %s WHERE k = 11 AND c = 0",
                   (row[1], row[0]))
    row = target.execute(f"SELECT name, WRITETIME(name) FROM {t} WHERE k = 12 AND c = 0").one()
    target.execute(f"UPDATE {t} USING TIMESTAMP %s SET name = %s WHERE k = 12 AND c = 0", (row[1] + 1, row[0]))
    differing[(12, 0)] = "ttl(name)"
    extra = {(1000, 0), (1001, 2)}
    for k, c in extra:
        target.execute(f"INSERT INTO {t} (k, c, name) VALUES (%s, %s, 'extra')", (k, c))
    return {"missing": missing, "differing": differing, "extra": extra}


def _make_damaged(source, target, spark, config, *, check_clean: bool):
    recreate(source, target, "checked", COLUMNS, create_target=False, types=TYPES)
    _load(source)
    run_migrate(spark, config)
    if check_clean:
        assert cli("validate", "--config", str(config)).returncode == 0  # a clean copy is equal
    return config, _damage(target)


@pytest.fixture(scope="module")
def damaged_shared(source, target, spark, endpoints, tmp_path_factory):
    """Damaged once for the tests that only read (they must not write to either table)."""
    config = write_config(tmp_path_factory.mktemp("shared"), endpoints, "checked",
                          source={"preserveTimestamps": True, "splitCount": 16}, top={"validation": VALIDATION})
    return _make_damaged(source, target, spark, config, check_clean=True)


@pytest.fixture()
def damaged(damaged_shared):
    return damaged_shared


@pytest.fixture()
def damaged_fresh(source, target, spark, make_config):
    """Damaged anew for a test that writes (repairs, rechecks).

    The same copy as ``damaged_shared``, whose clean copy validates equal: not checked again here (each
    test's exact counts would show a copy that differs).
    """
    config = make_config("checked", source={"preserveTimestamps": True, "splitCount": 16},
                         top={"validation": VALIDATION})
    return _make_damaged(source, target, spark, config, check_clean=False)


def _report(path) -> dict:
    return json.loads((path / "report.json").read_text())


def _variant(config, tmp_path, name, **validation):
    tree = yaml.safe_load(config.read_text())
    tree["validation"].update(validation)
    path = tmp_path / f"{name}.yaml"
    path.write_text(yaml.safe_dump(tree))
    return path


def test_report_counts_keys_and_columns_exactly(damaged, tmp_path):
    config, damage = damaged
    result = cli("validate", "--config", str(config), "--report", str(tmp_path / "r"))
    assert result.returncode == 1, result.stderr
    report = _report(tmp_path / "r")
    assert report["counts"] == {"sourceRows": ROWS, "targetRows": ROWS - 3 + 2, "missing": 3, "extra": 2,
                                "differing": len(damage["differing"])}
    examples = report["examples"]
    assert {(e["key"]["k"], e["key"]["c"]) for e in examples["missing"]} == damage["missing"]
    assert {(e["key"]["k"], e["key"]["c"]) for e in examples["extra"]} == damage["extra"]
    got = {(e["key"]["k"], e["key"]["c"]): e["columns"] for e in examples["differing"]}
    # a plain UPDATE of a value also gives the cell a new write time and no TTL
    expected = {key: [col] if col.startswith(("writetime", "ttl")) else [col, f"writetime({col})", f"ttl({col})"]
                for key, col in damage["differing"].items()}
    assert got == expected
    for name in ("name", "score", "tags", "attrs", "home", "nums"):
        assert report["columns"][name]["unequal"] == 1, name
    assert report["columns"]["writetime(name)"]["unequal"] == 2  # (2, 1) and (10, 0)
    assert report["columns"]["ttl(name)"] == {"unequal": 2, "max_difference": None, "null_vs_value": 2}
    assert report["columns"]["score"]["max_difference"] == pytest.approx(99999.0 - 14 * 1.5)
    assert (tmp_path / "r" / "report.txt").exists() and (tmp_path / "r" / "report.html").exists()


def test_every_difference_is_written_beyond_the_sample(damaged, tmp_path):
    config, damage = damaged
    sampled = _variant(config, tmp_path, "sampled", failuresToFetch=1)
    diffs = tmp_path / "diffs"
    result = cli("validate", "--config", str(sampled), "--report", str(tmp_path / "r"), "--differences", str(diffs))
    assert result.returncode == 1, result.stderr
    report = _report(tmp_path / "r")
    assert [len(report["examples"][kind]) for kind in ("missing", "extra", "differing")] == [1, 1, 1]
    found = [(e.kind, (e.key["k"], e.key["c"])) for e in read_differences(diffs)]
    expected = {("missing", key) for key in damage["missing"]} | {("extra", key) for key in damage["extra"]}
    expected |= {("differing", key) for key in damage["differing"]}
    assert sorted(found) == sorted(expected)  # each exactly once
    files = sorted(p.name for p in diffs.iterdir())
    assert files == [f"split-{i:06d}.jsonl" for i in range(16)]  # a file per range, empty ones too; no temp file
    assert report["differences"] == str(diffs)
    assert all(r["differences_file"] == str(diffs / f"split-{r['index']:06d}.jsonl") for r in report["ranges"])


def test_killed_validation_resumes_to_the_same_report(damaged, tmp_path):
    config, damage = damaged
    tree = yaml.safe_load(config.read_text())
    tree["savepoints"] = {"path": str(tmp_path / "sp"), "intervalSeconds": 1}
    tree["source"]["splitCount"] = 64
    slow = tmp_path / "slow.yaml"
    slow.write_text(yaml.safe_dump(tree))
    uninterrupted = cli("validate", "--config", str(slow), "--report", str(tmp_path / "once"))
    assert uninterrupted.returncode == 1
    for path in list_savepoints(tmp_path / "sp"):
        path.unlink()
    proc = popen_cli("validate", "--config", str(slow), env={"MIGRATOR_MAX_ROWS_PER_SECOND_PER_TASK": "40"})
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline:
        done = [load_yaml(p)["migratorState"].get("rangesDone", 0) for p in list_savepoints(tmp_path / "sp")]
        if any(0 < d < 64 for d in done):
            break
        assert proc.poll() is None, proc.stdout.read()
        time.sleep(0.2)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(30)
    resumed = cli("validate", "--config", str(newest_savepoint(tmp_path / "sp")), "--report", str(tmp_path / "res"))
    assert resumed.returncode == 1, resumed.stderr
    a, b = _report(tmp_path / "once"), _report(tmp_path / "res")
    for key in ("counts", "columns", "examples", "ranges"):
        assert a[key] == b[key], key
    # 64 ranges count what 16 do (test_report_counts_keys_and_columns_exactly)
    assert a["counts"] == {"sourceRows": ROWS, "targetRows": ROWS - 3 + 2, "missing": 3, "extra": 2,
                           "differing": len(damage["differing"])}


def test_ignored_columns_and_per_column_tolerances(damaged, tmp_path):
    config, _ = damaged
    relaxed = _variant(config, tmp_path, "relaxed", compareTimestamps=False, ignoreColumns=["nums", "home"],
                       columnTolerances={"score": 100000})
    result = cli("validate", "--config", str(relaxed), "--report", str(tmp_path / "r"))
    assert result.returncode == 1
    report = _report(tmp_path / "r")
    assert report["counts"]["differing"] == 3  # name, tags, attrs; score within its tolerance; home, nums ignored
    assert {e["columns"][0] for e in report["examples"]["differing"]} == {"name", "tags", "attrs"}
    assert "home" not in report["columns"] and "nums" not in report["examples"]["differing"][0]["source"]


def test_where_applies_to_both_sides(damaged, tmp_path):
    config, _ = damaged
    subset = _variant(config, tmp_path, "subset", compareTimestamps=False)
    tree = yaml.safe_load(subset.read_text())
    tree["source"]["where"] = "c = 1"
    subset.write_text(yaml.safe_dump(tree))
    result = cli("validate", "--config", str(subset), "--report", str(tmp_path / "r"))
    assert result.returncode == 1, result.stderr
    assert _report(tmp_path / "r")["counts"] == {"sourceRows": ROWS // 4, "targetRows": ROWS // 4 - 1, "missing": 1,
                                                 "extra": 0, "differing": 2}



def test_repairs_with_coordinator_time_make_the_next_validation_clean(damaged_fresh, tmp_path):
    config, _ = damaged_fresh
    repair = _variant(config, tmp_path, "repair", compareTimestamps=False, copyMissingRows=True,
                      copyDifferingRows=True, deleteExtraRows=True, repairWritetimeStrategy="coordinator")
    first = cli("validate", "--config", str(repair), "--report", str(tmp_path / "r1"))
    assert first.returncode == 1, first.stderr
    report = _report(tmp_path / "r1")
    assert report["counts"]["differing"] == 6  # values only: (9, 0) is inside the tolerance
    assert report["repaired"] == {"copiedMissing": 3, "copiedDiffering": 6, "deletedExtra": 2}
    check = _variant(config, tmp_path, "check", compareTimestamps=False)
    second = cli("validate", "--config", str(check), "--report", str(tmp_path / "r2"))
    assert second.returncode == 0, second.stderr
    assert _report(tmp_path / "r2")["counts"] == {"sourceRows": ROWS, "targetRows": ROWS, "missing": 0, "extra": 0,
                                                  "differing": 0}


def test_source_timestamps_are_shadowed_by_newer_target_writes(damaged_fresh, tmp_path):
    """repairWritetimeStrategy: source cannot beat a newer target tombstone or value (documented)."""
    config, _ = damaged_fresh
    repair = _variant(config, tmp_path, "repair", compareTimestamps=False, copyMissingRows=True,
                      copyDifferingRows=True)
    first = cli("validate", "--config", str(repair), "--report", str(tmp_path / "r1"))
    assert _report(tmp_path / "r1")["repaired"] == {"copiedMissing": 3, "copiedDiffering": 6}
    check = _variant(config, tmp_path, "check", compareTimestamps=False)
    second = cli("validate", "--config", str(check), "--report", str(tmp_path / "r2"))
    assert first.returncode == second.returncode == 1
    counts = _report(tmp_path / "r2")["counts"]
    assert (counts["missing"], counts["differing"]) == (3, 6)


RECHECK_DELAY_S = 8  # the window in which the test's two writes "land": they take milliseconds


def test_recheck_drops_mismatches_fixed_meanwhile(damaged_fresh, tmp_path, target):
    config, _ = damaged_fresh
    rechecking = _variant(config, tmp_path, "recheck", compareTimestamps=False, recheckMismatches=True,
                          recheckDelaySeconds=RECHECK_DELAY_S)
    tree = yaml.safe_load(rechecking.read_text())
    tree["source"]["splitCount"] = 1
    rechecking.write_text(yaml.safe_dump(tree))
    proc = popen_cli("validate", "--config", str(rechecking), "--report", str(tmp_path / "r"))
    for line in proc.stdout:
        if "re-reading 11 mismatching rows" in line:
            break
    else:
        raise AssertionError("the validation never started rechecking")
    # while it waits, the writes it saw in flight "land": two rows become equal again
    target.execute(f"UPDATE {TARGET_KS}.checked SET name = 'n9' WHERE k = 2 AND c = 1")
    target.execute(f"DELETE FROM {TARGET_KS}.checked WHERE k = 1000 AND c = 0")
    assert proc.wait(120) == 1
    report = _report(tmp_path / "r")
    assert (report["rechecked"], report["resolved_on_recheck"]) == (11, 2)
    assert report["counts"] == {"sourceRows": ROWS, "targetRows": ROWS - 3 + 1, "missing": 3, "extra": 1,
                                "differing": 5}
