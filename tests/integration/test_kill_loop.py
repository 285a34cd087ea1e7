"""SIGKILL a CQL migrate at random moments, again and again, resuming each time by running the same config.

Two tables carry the cases a resume can get wrong: lists in preserve mode (an append redone would
duplicate elements; each element's WRITETIME and TTL must survive) and counters (an increment redone
would double them). After the last run the target equals the source cell by cell. The kill moments
are random and printed with their seed (``MIGRATOR_FAULT_SEED`` replays them; ``MIGRATOR_FAULT_ROUNDS``
repeats the loops, see docs/reliability.md).
"""

from __future__ import annotations

import pytest

from migrator.backends.cassandra.raw import split_int_list
from migrator.savepoints import newest_savepoint
from tests.support.constants import SOURCE_KS, TARGET_KS
from tests.support.faults import KillLoop, fault_random, fault_rounds
from tests.support.helpers import assert_same, dump, load_yaml, recreate

pytestmark = pytest.mark.integration

PARTITIONS, ROWS_PER_PARTITION, SPLITS = 150, 8, 24
RATE = 60  # rows per second per task: about 10 s of work on 2 cores, so every kill lands mid-copy
SLOW = {"MIGRATOR_MAX_ROWS_PER_SECOND_PER_TASK": str(RATE)}
KILLS = {"lists": 3, "counters": 2}  # per round; with the DynamoDB loop, 10 kills per CI run
BASE = 1_700_000_000_000_000


def _fill(source, table: str, counters: bool) -> None:
    from cassandra.concurrent import execute_concurrent_with_args

    rows = [(k, c) for k in range(PARTITIONS) for c in range(ROWS_PER_PARTITION)]
    if counters:
        add = source.prepare(f"UPDATE {SOURCE_KS}.{table} SET n = n + ?, m = m + ? WHERE k = ? AND c = ?")
        execute_concurrent_with_args(source, add, [(k * 10 + c + 1, -c, k, c) for k, c in rows], concurrency=64)
        return
    insert = source.prepare(f"INSERT INTO {SOURCE_KS}.{table} (k, c, v, s, l) VALUES (?, ?, ?, ?, ?) "
                            "USING TIMESTAMP ? AND TTL ?")
    append = source.prepare(f"UPDATE {SOURCE_KS}.{table} USING TIMESTAMP ? SET l = l + ? WHERE k = ? AND c = ?")
    execute_concurrent_with_args(source, insert, [
        (k, c, f"v{k}-{c}", {f"s{c}"}, [f"a{k}", f"b{c}"], BASE + k, 86400 + c) for k, c in rows
    ], concurrency=64)
    execute_concurrent_with_args(source, append, [(BASE + 1000 + c, [f"c{k}-{c}"], k, c) for k, c in rows],
                                 concurrency=64)


@pytest.mark.parametrize("kind", ["lists", "counters"])
def test_random_sigkills_then_running_the_config_again_make_an_exact_copy(source, target, raw_sessions,
                                                                          make_config, tmp_path, kind):
    rng = fault_random(f"kill loop, {kind}")
    table = f"kill_loop_{kind}"
    columns = ("(k int, c int, n counter, m counter, PRIMARY KEY (k, c))" if kind == "counters"
               else "(k int, c int, v text, s set<text>, l list<text>, PRIMARY KEY (k, c))")
    work_s = PARTITIONS * ROWS_PER_PARTITION / (2 * RATE) / (KILLS[kind] + 1)
    landed = 0
    for round_ in range(fault_rounds()):
        recreate(source, target, table, columns)
        _fill(source, table, counters=kind == "counters")
        savepoints = tmp_path / f"sp{round_}"
        config = make_config(table, source={"splitCount": SPLITS, "preserveTimestamps": kind == "lists"},
                             top={"savepoints": {"path": str(savepoints), "intervalSeconds": 1}})
        loop = KillLoop(["migrate", "--config", str(config)], rng, work_s=work_s, env=SLOW)
        loop.kill_runs(KILLS[kind])
        newest = newest_savepoint(savepoints)
        output = loop.finish(env={})  # at full speed: without the pace of the killed runs
        if newest is not None:
            assert f"resuming from {newest}" in output
        src, tgt = raw_sessions
        source_rows, target_rows = dump(src, SOURCE_KS, table), dump(tgt, TARGET_KS, table)
        assert len(source_rows) == PARTITIONS * ROWS_PER_PARTITION
        assert_same(source_rows, target_rows)  # values, WRITETIME and TTL of every cell and element
        if kind == "lists":
            stamps = [split_int_list(row["writetime(l)"]) for row in target_rows.values()]
            assert all(len(s) == 3 and s[0] == s[1] < s[2] for s in stamps)  # no element twice
        final = load_yaml(newest_savepoint(savepoints))["migratorState"]
        assert final["rangesDone"] == SPLITS
        landed += loop.landed
        print(f"round {round_}: {loop.landed} kills at {loop.moments}")
    assert landed == KILLS[kind] * fault_rounds()
