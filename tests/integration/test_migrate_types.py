"""One table per CQL type family, copied and compared cell by cell (values, WRITETIME, TTL)."""

from __future__ import annotations

import pytest

from tests.support.constants import SOURCE_KS, TARGET_KS
from tests.support.helpers import assert_same, dump, recreate, run_migrate

pytestmark = pytest.mark.integration

NATIVES = """(k int PRIMARY KEY, a ascii, b bigint, bl blob, bo boolean, d date, de decimal, do double,
    du duration, f float, i inet, n int, s smallint, t text, ti time, ts timestamp, tu timeuuid,
    ty tinyint, u uuid, v varint, vec vector<float, 3>)"""
NATIVE_ROWS = [
    "INSERT INTO {t} (k, a, b, bl, bo, d, de, do, du, f, i, n, s, t, ti, ts, tu, ty, u, v, vec) VALUES "
    "(1, 'abc', 9223372036854775807, 0xcafe, true, '2024-02-29', 3.14159265358979323846, 1.5e300, 1mo2d3h4m, "
    "1.25, '::1', -2147483648, 32767, 'héllo ☃', '23:59:59.999999999', '2038-01-19 03:14:08.123+0000', "
    "now(), -128, uuid(), 123456789012345678901234567890, [1.0, -2.5, 3.25])",
    # empty values are values, not nulls
    "INSERT INTO {t} (k, a, t, bl) VALUES (2, '', '', 0x)",
    "INSERT INTO {t} (k, n, de, v) VALUES (3, blobAsInt(0x), 1.000, -1)",
    # extremes of dates and timestamps outside Python's datetime range
    "INSERT INTO {t} (k, d, ts, do, f) VALUES (4, '-5877641-06-23', -62135596800001, NaN, -Infinity)",
    "INSERT INTO {t} (k) VALUES (5)",
]

COLLECTIONS = """(k int PRIMARY KEY, l list<int>, s set<text>, m map<text, int>, fl frozen<list<int>>,
    fs frozen<set<bigint>>, fm frozen<map<int, text>>, nested map<text, frozen<list<int>>>,
    ls list<frozen<set<int>>>, empty_frozen frozen<list<int>>)"""
COLLECTION_ROWS = [
    "INSERT INTO {t} (k, l, s, m, fl, fs, fm, nested, ls, empty_frozen) VALUES (1, [3, 1, 2, 1], {{'b', 'a'}}, "
    "{{'x': 1, 'y': 2}}, [1, 2], {{5, 4}}, {{1: 'one'}}, {{'p': [1, 2], 'q': []}}, [{{1, 2}}, {{}}], [])",
    "INSERT INTO {t} (k, l) VALUES (2, [])",
    "INSERT INTO {t} (k, s) VALUES (3, {{''}})",
]

UDTS = ["CREATE TYPE IF NOT EXISTS {ks}.point (x int, y int)",
        "CREATE TYPE IF NOT EXISTS {ks}.place (name text, at frozen<point>, tags frozen<set<text>>)"]
UDT_TABLE = """(k int PRIMARY KEY, fp frozen<place>, np place, tup tuple<int, text, frozen<list<int>>>,
    lp list<frozen<point>>)"""
UDT_ROWS = [
    "INSERT INTO {t} (k, fp, np, tup, lp) VALUES (1, {{name: 'home', at: {{x: 1, y: 2}}, tags: {{'a'}}}}, "
    "{{name: 'work', at: {{x: 3, y: null}}}}, (1, 'one', [1]), [{{x: 0, y: 0}}])",
    "INSERT INTO {t} (k, np) VALUES (2, {{name: null}})",
    "INSERT INTO {t} (k, tup) VALUES (3, (null, null, null))",
]

STATICS = """(p int, c int, s text static, v text, PRIMARY KEY (p, c)) WITH CLUSTERING ORDER BY (c DESC)"""


def _load(session, table: str, statements: list[str]) -> None:
    for statement in statements:
        session.execute(statement.format(t=f"{SOURCE_KS}.{table}"))


@pytest.mark.parametrize("preserve", [False, True], ids=["plain", "preserve"])
@pytest.mark.parametrize(
    ("table", "columns", "rows", "types"),
    [
        ("natives", NATIVES, NATIVE_ROWS, []),
        ("collections", COLLECTIONS, COLLECTION_ROWS, []),
        ("udts", UDT_TABLE, UDT_ROWS, UDTS),
    ],
)
def test_type_family_is_copied_exactly(source, target, raw_sessions, spark, make_config, preserve, table, columns,
                                       rows, types):
    recreate(source, target, table, columns, create_target=False, types=types)
    _load(source, table, rows)
    result = run_migrate(spark, make_config(table, source={"preserveTimestamps": preserve}))
    assert result.rows == len(rows)
    src, tgt = raw_sessions
    assert_same(dump(src, SOURCE_KS, table, with_meta=preserve), dump(tgt, TARGET_KS, table, with_meta=preserve))


def test_static_columns_clustering_order_and_wide_partitions(source, target, raw_sessions, spark, make_config):
    recreate(source, target, "statics", STATICS)
    insert = source.prepare(f"INSERT INTO {SOURCE_KS}.statics (p, c, v) VALUES (?, ?, ?)")
    for c in range(2500):  # one wide partition, crossing many pages of 100 rows
        source.execute(insert, (1, c, f"v{c}"))
    source.execute(f"INSERT INTO {SOURCE_KS}.statics (p, s) VALUES (1, 'wide')")
    source.execute(f"INSERT INTO {SOURCE_KS}.statics (p, s) VALUES (2, 'static only')")
    source.execute(f"INSERT INTO {SOURCE_KS}.statics (p, c, s, v) VALUES (3, 1, 'both', null)")
    result = run_migrate(spark, make_config("statics", source={"fetchSize": 100, "preserveTimestamps": True}))
    assert result.rows == 2500 + 2
    src, tgt = raw_sessions
    assert_same(dump(src, SOURCE_KS, "statics"), dump(tgt, TARGET_KS, "statics"))
    order = [r[0] for r in target.execute(f"SELECT c FROM {TARGET_KS}.statics WHERE p = 1 LIMIT 3")]
    assert order == [2499, 2498, 2497]
