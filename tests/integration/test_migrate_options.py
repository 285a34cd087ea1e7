"""Config options of the copy: renames, where, constant TTL/timestamp, decimals, counters, nulls."""

from __future__ import annotations

import pytest

from migrator.config import load_config
from migrator.validate import validate
from tests.support.constants import SOURCE_KS, TARGET_KS
from tests.support.helpers import assert_same, dump, recreate, run_migrate

pytestmark = pytest.mark.integration


def test_renames_and_where(source, target, spark, make_config):
    recreate(source, target, "renamed", "(k int, c int, v text, PRIMARY KEY (k, c))", create_target=False)
    for k in range(20):
        source.execute(f"INSERT INTO {SOURCE_KS}.renamed (k, c, v) VALUES (%s, %s, %s)", (k, k % 3, f"v{k}"))
    config = make_config("renamed", source={"where": "c = 1"},
                         top={"renames": [{"from": "v", "to": "value"}, {"from": "k", "to": "key"}]})
    result = run_migrate(spark, config)
    rows = sorted(target.execute(f'SELECT "key", c, value FROM {TARGET_KS}.renamed'))
    assert rows == [(k, 1, f"v{k}") for k in range(20) if k % 3 == 1]
    assert result.rows == len(rows)


def test_constant_ttl_and_writetime(source, target, spark, make_config):
    recreate(source, target, "constant", "(k int PRIMARY KEY, v text)")
    source.execute(f"INSERT INTO {SOURCE_KS}.constant (k, v) VALUES (1, 'a') USING TTL 50")
    run_migrate(spark, make_config("constant", target={"writeTTLInS": 7200, "writeWritetimestampInuS": 1234567}))
    row = target.execute(f"SELECT v, TTL(v), WRITETIME(v) FROM {TARGET_KS}.constant WHERE k = 1").one()
    assert row[0] == "a" and 7190 <= row[1] <= 7200 and row[2] == 1234567


def test_strip_trailing_zeros_for_decimals(source, target, spark, make_config):

    recreate(source, target, "decimals", "(k int PRIMARY KEY, d decimal, l frozen<list<decimal>>)")
    source.execute(f"INSERT INTO {SOURCE_KS}.decimals (k, d, l) VALUES (1, 3.5000, [1.10, 100])")
    source.execute(f"INSERT INTO {SOURCE_KS}.decimals (k, d) VALUES (2, 0.000)")
    run_migrate(spark, make_config("decimals", target={"stripTrailingZerosForDecimals": True}))
    rows = {r[0]: r for r in target.execute(f"SELECT k, d, l FROM {TARGET_KS}.decimals")}
    assert str(rows[1][1]) == "3.5" and [str(x) for x in rows[1][2]] == ["1.1", "1E+2"]
    assert str(rows[2][1]) == "0"


def test_null_source_cells_do_not_delete_target_cells(source, target, spark, make_config):
    """A null in the source is left unset: no tombstone shadows what the target already holds."""
    recreate(source, target, "nulls", "(k int PRIMARY KEY, a text, b text, s set<int>)")
    source.execute(f"INSERT INTO {SOURCE_KS}.nulls (k, a) VALUES (1, 'from source')")
    target.execute(f"INSERT INTO {TARGET_KS}.nulls (k, b, s) VALUES (1, 'only in target', {{7}}) USING TIMESTAMP 1")
    for preserve in (False, True):
        run_migrate(spark, make_config("nulls", source={"preserveTimestamps": preserve}))
        row = target.execute(f"SELECT a, b, s FROM {TARGET_KS}.nulls WHERE k = 1").one()
        assert tuple(row) == ("from source", "only in target", {7})


def test_counters_are_not_doubled_by_a_second_run(source, target, spark, make_config):
    recreate(source, target, "counts", "(k int, c int, n counter, m counter, PRIMARY KEY (k, c))")
    for k in range(30):
        source.execute(f"UPDATE {SOURCE_KS}.counts SET n = n + %s, m = m - 1 WHERE k = %s AND c = 0", (k + 1, k))
    source.execute(f"UPDATE {SOURCE_KS}.counts SET n = n + 0 WHERE k = 100 AND c = 1")  # a zero counter
    # timestamps asked for: a counter has no WRITETIME, so validate compares the values only
    validation = {"compareTimestamps": True, "ttlToleranceMillis": 60000, "writetimeToleranceMillis": 0,
                  "failuresToFetch": 10, "floatingPointTolerance": 0.0, "timestampMsTolerance": 0}
    config = make_config("counts", source={"preserveTimestamps": True}, top={"validation": validation})
    run_migrate(spark, config)
    run_migrate(spark, config)
    src = sorted(source.execute(f"SELECT k, c, n, m FROM {SOURCE_KS}.counts"))
    assert sorted(target.execute(f"SELECT k, c, n, m FROM {TARGET_KS}.counts")) == src
    assert (100, 1, 0, None) in src
    report = validate(load_config(config), spark)
    assert report.equal and (report.counts.sourceRows, report.counts.targetRows) == (31, 31)


def test_preserved_timestamps_per_collection_element(source, target, raw_sessions, spark, make_config):
    types = ["CREATE TYPE IF NOT EXISTS {ks}.pt (x int, y int)"]
    recreate(source, target, "elements", "(k int, c int, s set<int>, m map<int, text>, l list<int>, u pt, "
             "st set<int> static, PRIMARY KEY (k, c))", types=types)
    t = f"{SOURCE_KS}.elements"
    source.execute(f"UPDATE {t} USING TIMESTAMP 1000 AND TTL 9000 SET s = s + {{1, 2}}, m = m + {{1: 'a'}} "
                   "WHERE k = 1 AND c = 1")
    source.execute(f"UPDATE {t} USING TIMESTAMP 2000 SET s = s + {{3}}, m = m + {{2: 'b'}}, u.x = 5 "
                   "WHERE k = 1 AND c = 1")
    source.execute(f"UPDATE {t} USING TIMESTAMP 3000 AND TTL 8000 SET l = l + [9, 8], u.y = 6 WHERE k = 1 AND c = 1")
    source.execute(f"UPDATE {t} USING TIMESTAMP 500 SET l = l + [7] WHERE k = 1 AND c = 1")
    source.execute(f"UPDATE {t} USING TIMESTAMP 700 SET st = st + {{4}} WHERE k = 1")
    # a row written by one statement, collections whole: written back by one INSERT
    source.execute(f"INSERT INTO {t} (k, c, s, m, l, u, st) VALUES (2, 1, {{5}}, {{3: 'c'}}, [1, 2], {{x: 1}}, {{8}}) "
                   "USING TIMESTAMP 4000 AND TTL 7000")
    source.execute(f"UPDATE {t} USING TIMESTAMP 800 SET st = st + {{5, 6}} WHERE k = 3")  # static only
    config = make_config("elements", source={"preserveTimestamps": True})
    for _ in range(2):  # running twice must not duplicate list elements
        run_migrate(spark, config)
        src, tgt = raw_sessions
        assert_same(dump(src, SOURCE_KS, "elements"), dump(tgt, TARGET_KS, "elements"))
    assert target.execute(f"SELECT l FROM {TARGET_KS}.elements WHERE k = 1 AND c = 1").one()[0] == [9, 8, 7]
