"""A whole keyspace migrated by one run: tables of every shape, one savepoint, a kill, a table added, patterns.

The keyspaces ``mt_src`` / ``mt_tgt`` belong to this module, so ``table: "*"`` selects exactly its tables.
"""

from __future__ import annotations

import pytest

from migrator.savepoints import newest_savepoint
from tests.support.faults import KillLoop, fault_random
from tests.support.helpers import assert_same, cli, dump, load_yaml, write_config

pytestmark = pytest.mark.integration

SRC, TGT = "mt_src", "mt_tgt"
BASE = 1_700_000_000_000_000
ROWS = 120
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


def test_a_keyspace_is_copied_in_one_run_killed_resumed_and_a_new_table_joins(source, target, raw_sessions,
                                                                              endpoints, tmp_path):
    _keyspaces(source, target)
    for table in SHAPES:
        _fill(source, table)
    config = _config(tmp_path, endpoints, source={"splitCount": 6})

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


def test_tables_that_cannot_be_copied_are_all_named_before_anything_is_written(source, target, endpoints,
                                                                                 tmp_path):
    _keyspaces(source, target)
    for table in ("plain", "statics"):
        _fill(source, table)
    target.execute(f"CREATE TABLE {TGT}.plain (k text PRIMARY KEY, v text)")  # another key type
    target.execute(f"CREATE TABLE {TGT}.statics (k int, c int, s text static, v text, PRIMARY KEY (k, c))")
    target.execute(f"CREATE TABLE {TGT}.udts (k int PRIMARY KEY, a frozen<addr>, b int)")  # another type
    config = _config(tmp_path, endpoints, source={"include": ["plain", "stat*", "udts"],
                                                  "preserveTimestamps": False})
    ran = cli("migrate", "--config", str(config))
    assert ran.returncode == 3, ran.stderr
    assert "2 of 3 tables cannot be run as asked; nothing was written" in ran.stderr
    assert "  - plain: " in ran.stderr and "  - udts: " in ran.stderr
    assert list(target.execute(f"SELECT * FROM {TGT}.statics")) == []
