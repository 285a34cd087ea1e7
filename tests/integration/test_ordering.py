"""Our sort keys against the real server: rows and partitions come back exactly in key order.

For each clustering type family, one partition receives ~200 seeded random values plus edge values
(empty values, NaN payloads, -0.0, equal decimals of different scales, non-minimal varints, v1 and
v4 UUIDs ...). Native values are written as exact bytes with ``blobAs<type>(?)``; collections,
tuples and UDTs as driver-serialized values. Read back raw, the rows must already be sorted by
``clustering_key_function`` with strictly increasing keys, and there must be exactly one row per
distinct key among the values written (the server merges values its comparator finds equal).
"""

from __future__ import annotations

import itertools
import random
import struct
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from cassandra.concurrent import execute_concurrent_with_args
from cassandra.murmur3 import murmur3

from migrator.backends.cassandra.ordering import clustering_key_function, partition_order_key, routing_key
from tests.support.constants import SOURCE_KS

pytestmark = pytest.mark.integration

COUNT = 200
Gen = Callable[[random.Random], bytes]


def _signed(width: int) -> Gen:
    bound = 2 ** (8 * width - 1)
    edges = [-bound, -bound + 1, -1, 0, 1, bound - 2, bound - 1]
    small = min(bound, 300)
    return lambda r: r.choice([r.choice(edges), r.randrange(-bound, bound), r.randrange(-small, small)]).to_bytes(
        width, "big", signed=True)


def _varint(r: random.Random) -> bytes:
    value = r.choice([0, -1, 1, 127, 128, -128, -129, r.randrange(-(2**90), 2**90), r.randrange(-500, 500)])
    raw = value.to_bytes((value if value >= 0 else ~value).bit_length() // 8 + 1, "big", signed=True)
    return (b"\xff" if value < 0 else b"\x00") * r.choice([0, 0, 1, 2]) + raw  # some non-minimal encodings


def _text(r: random.Random) -> bytes:
    return "".join(r.choice("aAzZ09 ~éß中😀\x00") for _ in range(r.randrange(0, 6))).encode()


def _blob(r: random.Random) -> bytes:
    return bytes(r.choice([0, 1, 0x7F, 0x80, 0xFF, r.randrange(256)]) for _ in range(r.randrange(0, 5)))


def _double(r: random.Random) -> bytes:
    if r.random() < 0.1:  # NaN with a random payload and sign: all the same clustering value
        return ((0x7FF << 52) | r.randrange(1, 2**52) | (r.randrange(2) << 63)).to_bytes(8, "big")
    edges = [0.0, -0.0, float("inf"), float("-inf"), 5e-324, -5e-324, 1.0, -1.0, 1.7976931348623157e308]
    return struct.pack(">d", r.choice([r.choice(edges), r.uniform(-1e9, 1e9), r.uniform(-2, 2)]))


def _float(r: random.Random) -> bytes:
    if r.random() < 0.1:
        return ((0xFF << 23) | r.randrange(1, 2**23) | (r.randrange(2) << 31)).to_bytes(4, "big")
    edges = [0.0, -0.0, float("inf"), float("-inf"), 1e-45, -1e-45, 1.5, -1.5, 3.4028234663852886e38]
    return struct.pack(">f", r.choice([r.choice(edges), r.uniform(-1e6, 1e6), r.uniform(-2, 2)]))


def _decimal(r: random.Random) -> bytes:
    unscaled = r.choice([0, 1, -1, 10, 100, -1000, r.randrange(-(10**6), 10**6), r.randrange(-(2**80), 2**80)])
    scale = r.choice([0, 1, 2, 3, -1, -2, r.randrange(-30, 30)])  # 1, 1.0, 10E-1 ...: one clustering value
    size = (unscaled if unscaled >= 0 else ~unscaled).bit_length() // 8 + 1
    return struct.pack(">i", scale) + unscaled.to_bytes(size, "big", signed=True)


def _v1(r: random.Random) -> bytes:
    raw = bytearray(r.randbytes(16))
    if r.random() < 0.5:  # few distinct timestamps, so that the low bytes decide often
        raw[0:6] = r.choice([b"\x00\x00\x00\x01\x00\x01", b"\xff\xff\xff\xff\x00\x00", b"\x00\x00\x00\x00\xff\xff"])
        raw[6:8] = b"\x10\x00"
    raw[6] = 0x10 | (raw[6] & 0x0F)
    raw[8] = (raw[8] & 0x3F) | r.choice([0x80, 0x00, 0xC0, 0x40])  # clock_seq with and without the sign bit
    return bytes(raw)


def _uuid(r: random.Random) -> bytes:
    roll = r.random()
    if roll < 0.02:
        return bytes(16)
    if roll < 0.45:
        return _v1(r)
    return uuid.UUID(bytes=r.randbytes(16), version=r.choice([4, 4, 4, 3, 5])).bytes


def _inet(r: random.Random) -> bytes:
    return r.choice([r.randbytes(4), r.randbytes(16), bytes(15) + b"\x01", b"\x7f\0\0\x01", b"\x0a\0\0\x01"])


# name, CQL type, blobAs function (None: bind the bytes as they are), generator, can the value be empty
NATIVES: list[tuple[str, str, str | None, Gen, bool]] = [
    ("tinyint", "tinyint", "blobAsTinyint", _signed(1), False),
    ("smallint", "smallint", "blobAsSmallint", _signed(2), False),
    ("int", "int", "blobAsInt", _signed(4), True),
    ("bigint", "bigint", "blobAsBigint", _signed(8), True),
    ("varint", "varint", "blobAsVarint", _varint, True),
    ("text", "text", "blobAsText", _text, True),
    ("blob", "blob", None, _blob, True),
    ("boolean", "boolean", "blobAsBoolean", lambda r: r.choice([b"\x00", b"\x01", b"\x02", b"\xff"]), True),
    ("date", "date", "blobAsDate", lambda r: r.choice([0, 2**31, 2**32 - 1, r.randrange(2**32),
                                                      2**31 + r.randrange(-5000, 5000)]).to_bytes(4, "big"), False),
    ("timestamp", "timestamp", "blobAsTimestamp", _signed(8), True),
    ("time", "time", "blobAsTime", lambda r: r.randrange(86_400 * 10**9).to_bytes(8, "big"), False),
    ("float", "float", "blobAsFloat", _float, True),
    ("double", "double", "blobAsDouble", _double, True),
    ("decimal", "decimal", "blobAsDecimal", _decimal, True),
    ("uuid", "uuid", "blobAsUuid", _uuid, True),
    ("timeuuid", "timeuuid", "blobAsTimeuuid", _v1, True),
    ("inet", "inet", "blobAsInet", _inet, True),
]


def _small_int(r: random.Random) -> int:
    return r.choice([0, 1, -1, 2, -(2**31), 2**31 - 1, r.randrange(-(2**31), 2**31)])


def _word(r: random.Random) -> str:
    return r.choice(["", "a", "b", "ab", "é", "z"])


COMPLEX: list[tuple[str, str, Callable[[random.Random], Any]]] = [
    ("list", "frozen<list<int>>", lambda r: [_small_int(r) for _ in range(r.randrange(0, 4))]),
    ("set", "frozen<set<text>>", lambda r: {_word(r) for _ in range(r.randrange(0, 4))}),
    ("map", "frozen<map<int, text>>", lambda r: {_small_int(r): _word(r) for _ in range(r.randrange(0, 3))}),
    ("tuple", "tuple<int, text, double>",
     lambda r: tuple(r.choice([None, f(r)]) for f in (_small_int, _word, lambda r: r.choice([0.0, -0.0, 1.5])))),
]


def _table_metadata(session: Any, table: str) -> tuple[list[str], list[bool], dict[str, list[tuple[str, str]]]]:
    """Clustering types and DESC flags as the driver reports them, and the keyspace's UDTs."""
    session.cluster.refresh_schema_metadata()
    keyspace = session.cluster.metadata.keyspaces[SOURCE_KS]
    columns = keyspace.tables[table].clustering_key
    user_types = {name: list(zip(t.field_names, t.field_types, strict=True)) for name, t in keyspace.user_types.items()}
    return [c.cql_type for c in columns], [c.is_reversed for c in columns], user_types


def _assert_server_order(source: Any, raw: Any, table: str, columns: str, expected_rows: int | None) -> None:
    types, flags, user_types = _table_metadata(source, table)
    key = clustering_key_function(types, flags, user_types)
    rows = [tuple(row) for row in raw.execute(f"SELECT {columns} FROM {SOURCE_KS}.{table} WHERE p = 0")]
    keys = [key(row) for row in rows]
    assert sorted(rows, key=key) == rows
    assert all(a < b for a, b in itertools.pairwise(keys)), "two server rows share a key"
    if expected_rows is not None:
        assert len(rows) == expected_rows


def _recreate(session: Any, table: str, columns: str) -> None:
    session.execute(f"DROP TABLE IF EXISTS {SOURCE_KS}.{table}")
    session.execute(f"CREATE TABLE {SOURCE_KS}.{table} {columns}")


@pytest.mark.parametrize(("name", "cql_type", "function", "gen", "empty"), NATIVES, ids=[n[0] for n in NATIVES])
def test_native_clustering_order(source: Any, raw_sessions: tuple[Any, Any], name: str, cql_type: str,
                                 function: str | None, gen: Gen, empty: bool) -> None:
    table = f"ord_{name}"
    _recreate(source, table, f"(p int, c {cql_type}, PRIMARY KEY (p, c))")
    r = random.Random(f"ordering-{name}")
    values = [gen(r) for _ in range(COUNT)] + ([b""] if empty else [])
    bind = f"{function}(?)" if function else "?"
    insert = source.prepare(f"INSERT INTO {SOURCE_KS}.{table} (p, c) VALUES (0, {bind})")
    assert all(ok for ok, _ in execute_concurrent_with_args(source, insert, [(v,) for v in values]))
    distinct = {clustering_key_function([cql_type], [False])([v]) for v in values}
    _assert_server_order(source, raw_sessions[0], table, "c", len(distinct))


@pytest.mark.parametrize(("name", "cql_type", "gen"), COMPLEX, ids=[n[0] for n in COMPLEX])
def test_collection_tuple_and_udt_clustering_order(source: Any, raw_sessions: tuple[Any, Any], name: str,
                                                   cql_type: str, gen: Callable[[random.Random], Any]) -> None:
    table = f"ord_{name}"
    _recreate(source, table, f"(p int, c {cql_type}, PRIMARY KEY (p, c))")
    r = random.Random(f"ordering-{name}")
    values = [gen(r) for _ in range(COUNT)]
    insert = source.prepare(f"INSERT INTO {SOURCE_KS}.{table} (p, c) VALUES (0, ?)")
    assert all(ok for ok, _ in execute_concurrent_with_args(source, insert, [(v,) for v in values]))
    distinct = {repr(_canonical(v)) for v in values}
    _assert_server_order(source, raw_sessions[0], table, "c", len(distinct))


def test_udt_clustering_order_across_alter_type_add(source: Any, raw_sessions: tuple[Any, Any]) -> None:
    """Values written before ``ALTER TYPE ... ADD`` have fewer fields: (1) must equal (1, null)."""
    source.execute(f"DROP TABLE IF EXISTS {SOURCE_KS}.ord_udt")
    source.execute(f"DROP TYPE IF EXISTS {SOURCE_KS}.ord_point")
    source.execute(f"CREATE TYPE {SOURCE_KS}.ord_point (x int)")
    _recreate(source, "ord_udt", "(p int, c frozen<ord_point>, PRIMARY KEY (p, c))")
    r = random.Random("ordering-udt")
    old = [(r.choice([None, r.randrange(-3, 4)]),) for _ in range(COUNT // 4)]
    _insert_literals(source, "ord_udt", [f"{{x: {'null' if x is None else x}}}" for (x,) in old])
    source.execute(f"ALTER TYPE {SOURCE_KS}.ord_point ADD label text")
    new = [(r.choice([None, r.randrange(-3, 4)]), r.choice([None, _word(r)])) for _ in range(COUNT)]
    _insert_literals(source, "ord_udt", [
        f"{{x: {'null' if x is None else x}, label: {'null' if w is None else repr(w)}}}" for x, w in new])
    key = clustering_key_function(["frozen<ord_point>"], [False], {"ord_point": [("x", "int"), ("label", "text")]})
    distinct = {key([_udt_bytes(v)]) for v in [*old, *new]}
    assert len(distinct) == len({repr(_canonical(v)) for v in [*old, *new]})
    _assert_server_order(source, raw_sessions[0], "ord_udt", "c", len(distinct))
    rows = raw_sessions[0].execute(f"SELECT c FROM {SOURCE_KS}.ord_udt WHERE p = 0")
    assert any(len(row[0]) <= 8 for row in rows), "no one-field value survived: the test checks nothing"


def _udt_bytes(fields: tuple[int | str | None, ...]) -> bytes:
    parts = []
    for value in fields:
        raw = None if value is None else value.encode() if isinstance(value, str) else struct.pack(">i", value)
        parts.append(struct.pack(">i", -1) if raw is None else struct.pack(">i", len(raw)) + raw)
    return b"".join(parts)


def _insert_literals(session: Any, table: str, literals: list[str]) -> None:
    for literal in literals:
        session.execute(f"INSERT INTO {SOURCE_KS}.{table} (p, c) VALUES (0, {literal})")


def _canonical(value: Any) -> Any:
    """What makes two written values one clustering value: sets and maps are sorted by the server,
    a trailing null field is no field at all ((1, null) == (1)), -0.0 and 0.0 differ (hence repr)."""
    if isinstance(value, set):
        return sorted(value)
    if isinstance(value, dict):
        return sorted(value.items())
    if isinstance(value, tuple):
        end = len(value)
        while end and value[end - 1] is None:
            end -= 1
        return value[:end]
    return value


def test_two_clustering_columns_with_one_desc(source: Any, raw_sessions: tuple[Any, Any]) -> None:
    table = "ord_two_columns"
    _recreate(source, table, "(p int, a int, b text, v int, PRIMARY KEY (p, a, b)) "
                             "WITH CLUSTERING ORDER BY (a ASC, b DESC)")
    r = random.Random("ordering-two")
    values = {(r.randrange(-3, 4), _text(r).decode()) for _ in range(COUNT)} | {(0, "")}
    insert = source.prepare(f"INSERT INTO {SOURCE_KS}.{table} (p, a, b, v) VALUES (0, ?, ?, 1)")
    assert all(ok for ok, _ in execute_concurrent_with_args(source, insert, sorted(values)))
    _assert_server_order(source, raw_sessions[0], table, "a, b", len(values))
    types, flags, _ = _table_metadata(source, table)
    assert (types, flags) == (["int", "text"], [False, True])


@pytest.mark.parametrize(
    ("table", "columns", "key", "row"),
    [
        ("ord_part_int", "(k int PRIMARY KEY, v int)", "k", lambda r, i: (r.randrange(-(2**31), 2**31),)),
        ("ord_part_composite", "(k1 int, k2 text, v int, PRIMARY KEY ((k1, k2)))", "k1, k2",
         lambda r, i: (r.randrange(-5, 5), f"{_text(r).decode()}{i}")),
    ],
    ids=["int", "composite"],
)
def test_partition_order(source: Any, raw_sessions: tuple[Any, Any], table: str, columns: str, key: str,
                         row: Callable[[random.Random, int], tuple[Any, ...]]) -> None:
    _recreate(source, table, columns)
    r = random.Random(f"ordering-{table}")
    keys = {row(r, i) for i in range(500)}
    marks = ", ".join("?" for _ in key.split(","))
    insert = source.prepare(f"INSERT INTO {SOURCE_KS}.{table} ({key}, v) VALUES ({marks}, 1)")
    assert all(ok for ok, _ in execute_concurrent_with_args(source, insert, list(keys)))
    rows = list(raw_sessions[0].execute(f"SELECT token({key}), {key} FROM {SOURCE_KS}.{table}"))
    assert len(rows) == len(keys) == 500
    order = [(int.from_bytes(t, "big", signed=True), routing_key(parts)) for t, *parts in rows]
    assert all(token == murmur3(pk) for token, pk in order)  # the key bytes are what the server hashes
    assert sorted(order, key=lambda o: partition_order_key(*o)) == order
