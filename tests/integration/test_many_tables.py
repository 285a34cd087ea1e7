"""A whole keyspace migrated by one run: tables of every shape, one savepoint, a kill, a table added, patterns.

The keyspaces ``mt_src`` / ``mt_tgt`` belong to this module, so ``table: "*"`` selects exactly its tables.
"""

from __future__ import annotations

import json

import pytest

from migrator.savepoints import newest_savepoint
from tests.support.faults import KillLoop, fault_random
from tests.support.helpers import assert_same, cli, dump, load_yaml, write_config

pytestmark = pytest.mark.integration

SRC, TGT = "mt_src", "mt_tgt"
BASE = 1_700_000_000_000_000
ROWS = 120
VALIDATION = {"compareTimestamps": True, "ttlToleranceMillis": 60000, "writetimeToleranceMillis": 0,
              "failuresToFetch": 10, "floatingPointTolerance": 0.0, "timestampMsTolerance": 0}
RATE = 50  # rows per second per task while a kill is due: the run lasts long enough to be hit
SHAPES = {
    "counts": "(k int, c int, n counter, PRIMARY KEY (k, c))",
    "lists": "(k int, c int, v text, l list<text>, PRIMARY KEY (k, c))",
    "statics": "(k int, c int, s text static, v text, PRIMARY KEY (k, c))",
    "udts": "(k int PRIMARY KEY, a frozen<addr>, b addr)",
    "plain": "(k int PRIMARY KEY, v text)",
    "plain_tmp": "(k int PRIMARY KEY, v text)",
}


def _keyspaces(source, target) -> None:
    for session, ks in ((source, SRC), (target, TGT)):
        session.execute(f"DROP KEYSPACE IF EXISTS {ks}")
        session.execute(f"CREATE KEYSPACE {ks} WITH replication = {{'class': 'SimpleStrategy', "
                        "'replication_factor': 1}")
        session.execute(f"CREATE TYPE {ks}.addr (street text, zip int)")
    for table, columns in SHAPES.items():
        source.execute(f"CREATE TABLE {SRC}.{table} {columns}")


def _fill(source, table: str) -> None:
    from cassandra.concurrent import execute_concurrent_with_args

    def run(cql: str, args: list[tuple]) -> None:
        execute_concurrent_with_args(source, source.prepare(cql), args, concurrency=64)

    keys = range(ROWS)
    if table == "counts":
        run(f"UPDATE {SRC}.counts SET n = n + ? WHERE k = ? AND c = ?", [(k + 1, k // 4, k % 4) for k in keys])
    elif table == "lists":
        run(f"INSERT INTO {SRC}.lists (k, c, v, l) VALUES (?, ?, ?, ?) USING TIMESTAMP ? AND TTL ?",
            [(k // 4, k % 4, f"v{k}", [f"a{k}"], BASE + k, 86400 + k) for k in keys])
        run(f"UPDATE {SRC}.lists USING TIMESTAMP ? SET l = l + ? WHERE k = ? AND c = ?",
            [(BASE + 1000 + k, [f"b{k}"], k // 4, k % 4) for k in keys])
    elif table == "statics":
        run(f"INSERT INTO {SRC}.statics (k, c, s, v) VALUES (?, ?, ?, ?) USING TIMESTAMP ?",
            [(k // 4, k % 4, f"s{k // 4}", f"v{k}", BASE + k) for k in keys])
    elif table == "udts":
        run(f"INSERT INTO {SRC}.udts (k, a, b) VALUES (?, {{street: ?, zip: ?}}, {{street: ?, zip: ?}}) "
            "USING TIMESTAMP ?", [(k, f"a{k}", k, f"b{k}", -k, BASE + k) for k in keys])
    else:
        run(f"INSERT INTO {SRC}.{table} (k, v) VALUES (?, ?) USING TTL ?", [(k, f"v{k}", 3600 + k) for k in keys])


def _config(tmp_path, endpoints, *, top=None, source=None, name="config.yaml"):
    return write_config(tmp_path, endpoints, "*", name=name,
                        source={"keyspace": SRC, "preserveTimestamps": True, "exclude": ["*_tmp"],
                                **(source or {})},
                        target={"keyspace": TGT}, top={
                            "savepoints": {"path": str(tmp_path / "savepoints"), "intervalSeconds": 1},
                            **(top or {})})


def _assert_copied(raw_sessions, tables) -> None:
    src, tgt = raw_sessions
    for table in tables:
        source_rows = dump(src, SRC, table)
        assert len(source_rows) == ROWS, table
        assert_same(source_rows, dump(tgt, TGT, table))


def test_a_keyspace_is_checked_copied_killed_resumed_joined_by_a_new_table_and_validated_per_table(
        source, target, raw_sessions, endpoints, tmp_path):
    _keyspaces(source, target)
    for table in SHAPES:
        _fill(source, table)
    config = _config(tmp_path, endpoints, source={"splitCount": 6}, top={"validation": VALIDATION})

    # tables that cannot be copied as asked are all named before anything is written
    target.execute(f"CREATE TABLE {TGT}.plain (k text PRIMARY KEY, v text)")  # another key type
    target.execute(f"CREATE TABLE {TGT}.udts (k int PRIMARY KEY, a frozen<addr>, b int)")  # another type
    narrowed = _config(tmp_path, endpoints, source={"include": ["plain", "stat*", "udts"]}, name="narrowed.yaml")
    refused = cli("check", "--config", str(narrowed))
    assert refused.returncode == 3, refused.stderr
    assert "2 of 3 tables cannot be run as asked; nothing was written" in refused.stderr
    assert "  - plain: " in refused.stderr and "  - udts: " in refused.stderr
    for table in ("plain", "udts"):
        target.execute(f"DROP TABLE {TGT}.{table}")
    checked = cli("check", "--config", str(config))
    assert checked.returncode == 0, checked.stderr
    assert "5 tables: counts -> counts, lists -> lists, plain -> plain, statics -> statics, udts -> udts" \
        in checked.stdout
    assert "plain_tmp" not in checked.stdout

    loop = KillLoop(["migrate", "--config", str(config)], fault_random("many tables"), work_s=ROWS * 5 / (2 * RATE),
                    env={"MIGRATOR_MAX_ROWS_PER_SECOND_PER_TASK": str(RATE)})
    loop.kill_runs(1)
    killed = newest_savepoint(tmp_path / "savepoints")
    source.execute(f"CREATE TABLE {SRC}.late (k int PRIMARY KEY, v text)")  # added between the kill and the resume
    source.execute(f"INSERT INTO {SRC}.late (k, v) VALUES (1, 'one') USING TIMESTAMP {BASE}")
    output = loop.finish()
    if killed is not None:
        assert f"resuming from {killed}" in output
    assert "tables: 6/6 done" in output
    _assert_copied(raw_sessions, [t for t in SHAPES if t != "plain_tmp"])
    late = dump(raw_sessions[1], TGT, "late")
    assert [row["v"] for row in late.values()] == [b"one"]

    final = load_yaml(newest_savepoint(tmp_path / "savepoints"))
    tables = final["migratorState"]["tables"]
    assert sorted(tables) == ["counts", "late", "lists", "plain", "statics", "udts"]
    assert "skipTokenRanges" not in final  # each table's ranges are in its entry
    for name, entry in tables.items():
        state = entry["migratorState"]
        assert state["rangesDone"] == state["rangesTotal"], name
        assert entry["target"] == name and entry["skipTokenRanges"]
    assert tables["counts"]["migratorState"]["rowsCopied"] == ROWS
    assert final["migratorState"]["rowsCopied"] == 5 * ROWS + 1

    # damage in two tables: validation counts it exactly, per table
    target.execute(f"DELETE FROM {TGT}.lists WHERE k = 1 AND c = 2")
    target.execute(f"DELETE FROM {TGT}.lists WHERE k = 3 AND c = 0")
    for k in (5, 6, 7):
        target.execute(f"UPDATE {TGT}.plain SET v = 'changed' WHERE k = {k}")
    report_dir = tmp_path / "report"
    validated = cli("validate", "--fresh", "--config", str(config), "--report", str(report_dir))
    assert validated.returncode == 1, validated.stderr
    report = json.loads((report_dir / "report.json").read_text())
    by_name = {t["name"]: t for t in report["tables"]}
    assert sorted(by_name) == ["counts", "late", "lists", "plain", "statics", "udts"]
    assert by_name["lists"]["report"]["counts"]["missing"] == 2
    assert by_name["plain"]["report"]["counts"]["differing"] == 3
    assert {n for n, t in by_name.items() if t["verdict"] == "EQUAL"} == {"counts", "late", "statics", "udts"}
    assert report["counts"] == {"sourceRows": 5 * ROWS + 1, "targetRows": 5 * ROWS - 1, "missing": 2, "extra": 0,
                                "differing": 3}
    text = (report_dir / "report.txt").read_text()
    assert text.startswith("Validation of 6 tables") and text.count("Counts\n") == 6


def test_a_keyspace_is_reconciled_in_one_diff_with_a_folder_per_table_and_applied_table_by_table(
        source, target, raw_sessions, endpoints, tmp_path):
    """Dev (source) and production (target) diverged in two tables; b keeps production's rows (``ours``)."""
    _keyspaces(source, target)
    for session, ks in ((source, SRC), (target, TGT)):
        for table in ("a", "b"):
            session.execute(f"CREATE TABLE {ks}.{table} (k int PRIMARY KEY, v text)")
    for k in range(20):
        source.execute(f"INSERT INTO {SRC}.a (k, v) VALUES ({k}, 'v{k}')")
        if k < 18:
            target.execute(f"INSERT INTO {TGT}.a (k, v) VALUES ({k}, '{'prod' if k in (1, 2, 3) else f'v{k}'}')")
    target.execute(f"INSERT INTO {TGT}.a (k, v) VALUES (20, 'only in production')")
    for k in range(10):
        source.execute(f"INSERT INTO {SRC}.b (k, v) VALUES ({k}, 'v{k}')")
        target.execute(f"INSERT INTO {TGT}.b (k, v) VALUES ({k}, '{'prod' if k == 5 else f'v{k}'}')")
    output = tmp_path / "reconcile"
    config = _config(tmp_path, endpoints, source={"preserveTimestamps": False, "include": ["a", "b"]}, top={
        "reconcile": {"output": str(output), "strategy": "theirs", "tables": {f"{TGT}.b": "ours"},
                      "allowDeletes": True}})

    diffed = cli("diff", "--config", str(config))
    assert diffed.returncode == 1, diffed.stderr
    summary = json.loads((output / "summary.json").read_text())
    a, b = summary["tables"][f"{TGT}.a"], summary["tables"][f"{TGT}.b"]
    assert (a["added"], a["removed"], a["conflicts"], a["strategy"]) == (2, 1, 3, "theirs")
    assert (b["added"], b["removed"], b["conflicts"], b["strategy"]) == (0, 0, 1, "ours")
    for table in ("a", "b"):
        assert (output / table / "conflicts.json").is_file() and (output / table / "pack" / "pack.json").is_file()
    schema = cli("schema-diff", "--config", str(config))
    assert schema.returncode == 0, schema.stderr
    assert json.loads((output / "schema_diff.json").read_text())["drift"] is False
    resolved = cli("resolve-conflicts", "--config", str(config), "--auto")
    assert resolved.returncode == 0, resolved.stderr

    applied = cli("apply", "--config", str(config), "--pack", str(output))
    assert applied.returncode == 0, applied.stderr
    src, tgt = raw_sessions
    assert_same(dump(src, SRC, "a", with_meta=False), dump(tgt, TGT, "a", with_meta=False))
    production_b = dict(target.execute(f"SELECT k, v FROM {TGT}.b"))
    assert production_b == {k: "prod" if k == 5 else f"v{k}" for k in range(10)}
