"""Sort keys for raw CQL values: exact Cassandra 5.0 comparator cases per type, and properties.

Values are serialized with cassandra-driver's own type classes; the expected orders come from the
Cassandra comparators (``org.apache.cassandra.db.marshal``), not from our implementation.
"""

from __future__ import annotations

import itertools
import math
import pickle
import random
import struct
import uuid
from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from migrator.backends.cassandra.ordering import (
    EMPTY,
    NULL,
    CqlType,
    Desc,
    clustering_key_function,
    key_function_for,
    parse_cql_type,
    partition_order_key,
    routing_key,
)
from migrator.backends.cassandra.values import driver_type

UDTS = {"point": [("x", "int"), ("label", "text")]}
NULL_FIELD = struct.pack(">i", -1)


def enc(cql_type: str, value: Any) -> bytes:
    """A value serialized by the driver, as the server sends it."""
    raw = driver_type(parse_cql_type(cql_type, UDTS)).to_binary(value, 4)
    assert raw is not None
    return bytes(raw)


def key_of(cql_type: str) -> Any:
    return key_function_for(parse_cql_type(cql_type, UDTS))


def assert_groups(cql_type: str, groups: list[list[bytes]]) -> None:
    """Values in one group are equal for Cassandra; groups are given in strictly increasing order."""
    key = key_of(cql_type)
    keys = [[key(raw) for raw in group] for group in groups]
    for group in keys:
        assert all(k == group[0] for k in group), group
    for lower, higher in itertools.pairwise(keys):
        assert lower[0] < higher[0], (lower[0], higher[0])
        assert not higher[0] < lower[0]
    flat = [(i, raw) for i, group in enumerate(groups) for raw in group]
    random.Random(7).shuffle(flat)
    assert [i for i, _ in sorted(flat, key=lambda pair: key(pair[1]))] == sorted(i for i, _ in flat)


def ints(width: int, *values: int) -> list[list[bytes]]:
    return [[v.to_bytes(width, "big", signed=True)] for v in values]


# --- native types -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("cql_type", "width"), [("tinyint", 1), ("smallint", 2), ("int", 4), ("bigint", 8), ("counter", 8)]
)
def test_fixed_width_integers_sort_signed_with_empty_first(cql_type: str, width: int) -> None:
    low, high = -(2 ** (8 * width - 1)), 2 ** (8 * width - 1) - 1
    assert_groups(cql_type, [[b""], *ints(width, low, low + 1, -2, -1, 0, 1, 2, high - 1, high)])


def test_varint_sorts_by_value_whatever_the_encoding_length() -> None:
    assert_groups("varint", [
        [b""],
        [(-(2**70)).to_bytes(9, "big", signed=True)],
        [b"\xff\x7f"],  # -129
        [b"\x80"],  # -128
        [b"\xff", b"\xff\xff", b"\xff\xff\xff"],  # -1, also non-minimally encoded
        [b"\x00", b"\x00\x00"],
        [b"\x01", b"\x00\x01"],
        [b"\x7f"],
        [b"\x00\x80"],  # 128
        [(2**70).to_bytes(9, "big", signed=True)],
    ])


def test_text_sorts_by_utf8_bytes() -> None:
    assert_groups("text", [[enc("text", s)] for s in ["", "A", "Z", "a", "ab", "b", "é", "中", "😀"]])
    assert_groups("varchar", [[b""], [b"a"]])
    assert_groups("ascii", [[b""], [b"\x00"], [b" "], [b"A"], [b"a"], [b"a\x00"], [b"\x7f"]])


def test_blob_sorts_unsigned_shorter_prefix_first() -> None:
    assert_groups("blob", [[b""], [b"\x00"], [b"\x00\x00"], [b"\x01"], [b"\x7f"], [b"\x80"], [b"\xff"], [b"\xff\x00"]])


def test_boolean_false_before_true_and_any_nonzero_byte_is_true() -> None:
    assert_groups("boolean", [[b""], [b"\x00"], [b"\x01", b"\x02", b"\xff"]])


def test_date_bytes_are_days_offset_by_2_31_so_byte_order_is_time_order() -> None:
    assert enc("date", date(1970, 1, 1)) == b"\x80\x00\x00\x00"
    dates = [date(1, 1, 1), date(1969, 12, 31), date(1970, 1, 1), date(1970, 1, 2), date(9999, 12, 31)]
    assert_groups("date", [[b""], [b"\x00\x00\x00\x00"], *[[enc("date", d)] for d in dates], [b"\xff\xff\xff\xff"]])


def test_timestamp_and_time_sort_as_signed_longs() -> None:
    assert_groups("timestamp", [[b""], *ints(8, -(2**63), -1, 0, 1, 2**63 - 1)])
    assert_groups("time", [[b""], *ints(8, 0, 1, 10**9, 86_399_999_999_999)])


def _nan64(payload: int, negative: bool = False) -> bytes:
    return ((0x7FF << 52) | payload | (negative << 63)).to_bytes(8, "big")


def test_double_follows_java_double_compare() -> None:
    values = [-math.inf, -1.7976931348623157e308, -1.0, -5e-324, -0.0, 0.0, 5e-324, 1.0, math.inf]
    nans = [struct.pack(">d", math.nan), _nan64(1), _nan64(0x8_0000_0000_0000, negative=True), _nan64(2**52 - 1)]
    assert_groups("double", [[b""], *[[struct.pack(">d", v)] for v in values], nans])


def test_float_follows_java_float_compare() -> None:
    values = [-math.inf, -3.4028234663852886e38, -1.5, -1e-45, -0.0, 0.0, 1e-45, 1.5, math.inf]
    nans = [struct.pack(">f", math.nan), b"\x7f\x80\x00\x01", b"\xff\xc0\x00\x00", b"\x7f\xff\xff\xff"]
    assert_groups("float", [[b""], *[[struct.pack(">f", v)] for v in values], nans])


def dec(scale: int, unscaled: int) -> bytes:
    size = (unscaled if unscaled >= 0 else ~unscaled).bit_length() // 8 + 1
    return struct.pack(">i", scale) + unscaled.to_bytes(size, "big", signed=True)


def test_decimal_compares_by_value_so_scales_of_one_value_are_the_same_key() -> None:
    assert_groups("decimal", [
        [b""],
        [dec(0, -(10**30))],
        [dec(1, -15), dec(2, -150)],  # -1.5 == -1.50
        [dec(0, -1)],
        [dec(0, 0), dec(2, 0), dec(-5, 0)],  # 0 == 0.00 == 0E+5
        [dec(2_000_000_000, 1)],  # 1E-2000000000
        [dec(1, 1), dec(2, 10)],  # 0.1 == 0.10
        [dec(0, 1), dec(1, 10), dec(3, 1000)],  # 1 == 1.0 == 1.000
        [dec(-10, 1), dec(0, 10**10)],  # 1E+10 == 10000000000
        [dec(1, 10**21 + 5)],
    ])
    assert key_of("decimal")(dec(3, 1500)) == Decimal("1.5")


def v1(time: int, low: bytes = b"\x80\x00\x00\x00\x00\x00\x00\x01") -> bytes:
    """A version-1 UUID with a 60-bit timestamp and the given clock-seq/node bytes."""
    return struct.pack(">IHH", time & 0xFFFF_FFFF, (time >> 32) & 0xFFFF, 0x1000 | (time >> 48)) + low


def with_version(version: int, body: int) -> bytes:
    raw = bytearray(body.to_bytes(16, "big"))
    raw[6] = (version << 4) | (raw[6] & 0x0F)
    return bytes(raw)


def test_uuid_orders_version_then_v1_timestamp_then_unsigned_bytes() -> None:
    assert_groups("uuid", [
        [b""],
        [bytes(16)],  # the nil UUID is version 0
        [v1(1, b"\x00" * 8)],
        [v1(1, b"\x7f" + b"\x00" * 7)],
        [v1(1, b"\x80" + b"\x00" * 7)],  # unsigned in UUIDType
        [v1(0xFFFF_FFFF)],  # a big time_low ...
        [v1(1 << 32)],  # ... comes before any bigger time_mid, whatever the byte order says
        [v1(1 << 48)],
        [with_version(2, 0)],
        [with_version(4, 0)],
        [with_version(4, 1)],
        [with_version(4, 2**127)],
        [with_version(7, 0)],
    ])


def test_timeuuid_orders_timestamp_then_signed_low_bytes() -> None:
    assert_groups("timeuuid", [
        [b""],
        [v1(5, b"\x80" + b"\x00" * 7)],  # signed: 0x80 is -128
        [v1(5, b"\xff" + b"\x00" * 7)],
        [v1(5, b"\x00" * 7 + b"\xff")],
        [v1(5, b"\x00" * 8)],
        [v1(5, b"\x00" * 7 + b"\x01")],
        [v1(5, b"\x7f" + b"\x00" * 7)],
        [v1(0xFFFF_FFFF)],
        [v1(1 << 32)],
        [v1((1 << 60) - 1)],
    ])


def test_inet_sorts_by_address_bytes() -> None:
    addresses = ["::", "::1", "1.2.3.4", "102:304::", "10.0.0.1", "127.0.0.1", "fe80::1", "ffff::", "255.255.255.255"]
    assert_groups("inet", [[b""], *[[enc("inet", a)] for a in addresses]])


# --- collections, tuples, UDTs ------------------------------------------------------------------


def test_frozen_list_is_elementwise_then_shorter_first() -> None:
    lists: list[list[int]] = [[], [-1], [-1, 5], [0], [0, 0], [0, 1], [1]]
    assert_groups("frozen<list<int>>", [[b""], *[[enc("list<int>", v)] for v in lists]])


def test_frozen_set_compares_its_sorted_elements() -> None:
    sets = [set(), {"a"}, {"a", "b"}, {"a", "c"}, {"b"}]
    # the server serializes a set sorted; the driver keeps the order it is given
    assert_groups("frozen<set<text>>", [[b""], *[[enc("set<text>", sorted(v))] for v in sets]])


def test_frozen_map_compares_key_value_key_value() -> None:
    maps: list[dict[int, str]] = [{}, {1: ""}, {1: "a"}, {1: "a", 2: ""}, {1: "b"}, {2: "a"}]
    assert_groups("frozen<map<int, text>>", [[b""], *[[enc("map<int, text>", v)] for v in maps]])


def test_nested_collections_use_the_element_comparators() -> None:
    values = [[[1.0]], [[math.nan]], [[math.nan], []]]  # NaN sorts after every number, lists after prefixes
    assert_groups("frozen<list<frozen<list<double>>>>", [[enc("list<list<double>>", v)] for v in values])


def fields(*values: bytes | None) -> bytes:
    return b"".join(NULL_FIELD if v is None else struct.pack(">i", len(v)) + v for v in values)


def test_tuple_null_fields_first_and_trailing_nulls_ignored() -> None:
    one, zero = b"\x00\x00\x00\x01", b"\x00\x00\x00\x00"
    assert_groups("tuple<int, text>", [
        [b""],
        [fields(None), fields(None, None)],
        [fields(None, b"a")],
        [fields(b"")],  # an empty int sorts after a null one, before any number
        [fields(zero), fields(zero, None)],
        [fields(zero, b"")],
        [fields(zero, b"a")],
        [fields(one)],
    ])


def test_udt_orders_field_by_field_and_a_short_value_equals_trailing_nulls() -> None:
    one = struct.pack(">i", 1)
    assert_groups("frozen<point>", [
        [fields(None, b"z")],
        [fields(one), fields(one, None)],  # a value written before ALTER TYPE ADD label
        [fields(one, b"")],
        [fields(one, b"b")],
        [fields(struct.pack(">i", 2), b"a")],
    ])
    assert key_of("frozen<point>")(fields(one, b"b")) == (1, b"b")


# --- clustering keys ----------------------------------------------------------------------------


def test_desc_column_reverses_the_order_including_empty_values() -> None:
    key = clustering_key_function(["int"], [True])
    raws = [b"", *[v.to_bytes(4, "big", signed=True) for v in (-5, 0, 7)]]
    assert sorted(raws, key=lambda raw: key([raw])) == [raws[3], raws[2], raws[1], b""]


def test_static_row_nulls_come_first_in_asc_and_desc() -> None:
    key = clustering_key_function(["int", "text"], [False, True])
    rows: list[tuple[bytes | None, ...]] = [
        (struct.pack(">i", 1), b"a"),
        (struct.pack(">i", 1), b"b"),
        (None, None),
        (struct.pack(">i", 0), b"z"),
        (struct.pack(">i", 1), b""),
    ]
    assert sorted(rows, key=key) == [rows[2], rows[3], rows[1], rows[0], rows[4]]
    assert key(rows[2]) == (NULL, NULL)
    assert key(rows[0]) == (1, Desc(b"a"))


def test_clustering_key_checks_its_arguments() -> None:
    with pytest.raises(ValueError, match="2 clustering types but 1 order flags"):
        clustering_key_function(["int", "int"], [False])
    key = clustering_key_function(["int"], [False])
    with pytest.raises(ValueError, match="zip"):
        key([b"\x00\x00\x00\x01", b"x"])


@pytest.mark.parametrize(
    ("cql_type", "message"),
    [
        ("duration", "type 'duration' has no order"),
        ("frozen<list<duration>>", "type 'duration' has no order"),
        ("vector<float, 3>", "type 'vector' is not supported in a clustering key"),
        ("geometry", "unknown CQL type 'geometry'"),
        ("frozen<nosuchudt>", "unknown CQL type 'nosuchudt'"),
        ("'org.apache.cassandra.db.marshal.LexicalUUIDType'", "unknown CQL type 'org.apache"),
    ],
)
def test_types_without_an_order_are_refused_by_name(cql_type: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        clustering_key_function([cql_type], [False])


def test_keys_survive_pickling_with_their_order() -> None:
    key = clustering_key_function(["int", "text"], [False, True])
    rows: list[tuple[bytes | None, ...]] = [(None, None), (b"", b"x"), (struct.pack(">i", 3), b"")]
    keys = [key(row) for row in rows]
    copies = pickle.loads(pickle.dumps(keys))
    assert copies == keys
    assert copies[0][0] is NULL
    assert copies[1][0] is EMPTY
    assert copies[0] < copies[1] < copies[2]


# --- CQL type strings ---------------------------------------------------------------------------


def test_parse_nested_types() -> None:
    parsed = parse_cql_type("frozen<map<text, frozen<list<int>>>>")
    assert parsed == CqlType("map", (CqlType("text"), CqlType("list", (CqlType("int"),), frozen=True)), frozen=True)
    assert parse_cql_type("tuple<int, varchar>") == CqlType("tuple", (CqlType("int"), CqlType("text")), frozen=True)
    assert parse_cql_type(" SET < BigInt > ") == CqlType("set", (CqlType("bigint"),))
    assert parse_cql_type("vector<float, 3>") == CqlType("vector", (CqlType("float"),), frozen=True, dimension=3)


def test_parse_user_types_quoted_and_qualified() -> None:
    user_types = {"MyType": [("a", "int"), ("b", "frozen<point>")], "point": UDTS["point"]}
    point = CqlType("udt", (CqlType("int"), CqlType("text")), True, "point", ("x", "label"))
    expected = CqlType("udt", (CqlType("int"), point), True, "MyType", ("a", "b"))
    assert parse_cql_type('frozen<"MyType">', user_types) == expected
    assert parse_cql_type('ks."MyType"', user_types) == expected
    assert parse_cql_type("frozen<ks.POINT>", user_types) == point
    with pytest.raises(ValueError, match="unknown CQL type 'mytype'"):
        parse_cql_type("frozen<mytype>", user_types)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("list<int", "it ends too early"),
        ("map<int>", "map takes 2 type parameter"),
        ("frozen<list<int>>>", "unexpected '>'"),
        ("tuple<int; text>", "expected ',' or '>', got ';'"),
        ("vector<float, x>", "a vector dimension must be a number, got 'x'"),
    ],
)
def test_parse_errors_say_what_is_wrong(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_cql_type(text)


# --- partitions ---------------------------------------------------------------------------------


def test_routing_key_single_and_composite() -> None:
    assert routing_key([b"\x00\x00\x00\x01"]) == b"\x00\x00\x00\x01"
    assert routing_key([b"\x00\x00\x00\x01", b"ab"]) == b"\x00\x04\x00\x00\x00\x01\x00\x00\x02ab\x00"
    assert routing_key([b"", b""]) == b"\x00\x00\x00\x00\x00\x00"
    with pytest.raises(ValueError, match="at least one column"):
        routing_key([])
    with pytest.raises(ValueError, match="at most 65535 bytes, got 65536"):
        routing_key([b"x" * 65536, b"y"])


def test_routing_key_is_what_murmur3_hashes() -> None:
    from cassandra.murmur3 import murmur3

    assert murmur3(routing_key([struct.pack(">i", 1)])) == -4069959284402364209  # token(1) of an int key


def test_partitions_order_by_token_then_unsigned_key_bytes() -> None:
    keys = [(5, b"\x80"), (-3, b"\xff"), (5, b"\x01"), (5, b"\x01\x00"), (2**63 - 1, b""), (-(2**63), b"z")]
    ordered = sorted(keys, key=lambda k: partition_order_key(*k))
    assert ordered == [(-(2**63), b"z"), (-3, b"\xff"), (5, b"\x01"), (5, b"\x01\x00"), (5, b"\x80"), (2**63 - 1, b"")]


# --- properties ---------------------------------------------------------------------------------


@given(st.sampled_from([1, 2, 4, 8]), st.data())
def test_integer_keys_order_like_the_integers(width: int, data: st.DataObject) -> None:
    bound = 2 ** (8 * width - 1)
    values = data.draw(st.lists(st.integers(-bound, bound - 1), min_size=2))
    key = key_of({1: "tinyint", 2: "smallint", 4: "int", 8: "bigint"}[width])
    raws = sorted((v.to_bytes(width, "big", signed=True) for v in values), key=key)
    assert [int.from_bytes(r, "big", signed=True) for r in raws] == sorted(values)


@given(st.lists(st.tuples(st.integers(), st.integers(0, 3)), min_size=2))
def test_varint_keys_order_like_the_integers_with_any_padding(values: list[tuple[int, int]]) -> None:
    def encode(value: int, pad: int) -> bytes:
        minimal = value.to_bytes((value if value >= 0 else ~value).bit_length() // 8 + 1, "big", signed=True)
        return (b"\xff" if value < 0 else b"\x00") * pad + minimal

    raws = sorted((encode(v, pad) for v, pad in values), key=key_of("varint"))
    assert [int.from_bytes(r, "big", signed=True) for r in raws] == sorted(v for v, _ in values)


def java_compare_key(value: float) -> tuple[int, float, float]:
    """Double.compareTo as a Python key, written independently: NaN last, -0.0 before 0.0."""
    return (1, 0.0, 0.0) if math.isnan(value) else (0, value, math.copysign(1.0, value))


@given(st.lists(st.floats(), min_size=2))
def test_double_keys_order_like_java_double_compare(values: list[float]) -> None:
    key = key_of("double")
    raws = [struct.pack(">d", v) for v in values]
    for a, b in itertools.product(raws, raws):
        ja, jb = java_compare_key(struct.unpack(">d", a)[0]), java_compare_key(struct.unpack(">d", b)[0])
        assert (key(a) < key(b), key(a) == key(b)) == (ja < jb, ja == jb)


@given(st.lists(st.floats(width=32), min_size=2))
def test_float_keys_order_like_java_float_compare(values: list[float]) -> None:
    key = key_of("float")
    raws = [struct.pack(">f", v) for v in values]
    for a, b in itertools.product(raws, raws):
        ja, jb = java_compare_key(struct.unpack(">f", a)[0]), java_compare_key(struct.unpack(">f", b)[0])
        assert (key(a) < key(b), key(a) == key(b)) == (ja < jb, ja == jb)


@given(st.lists(st.tuples(st.integers(-(2**31), 2**31 - 1), st.integers(-(10**40), 10**40)), min_size=2))
def test_decimal_keys_order_like_the_decimal_values(values: list[tuple[int, int]]) -> None:
    raws = sorted((dec(scale, unscaled) for scale, unscaled in values), key=key_of("decimal"))
    exact = [Decimal(f"{u}E{-s}") for s, u in values]
    assert [Decimal(f"{int.from_bytes(r[4:], 'big', signed=True)}E{-struct.unpack('>i', r[:4])[0]}") for r in raws] \
        == sorted(exact)


@given(st.lists(st.text(), min_size=2))
def test_text_keys_order_like_code_points(values: list[str]) -> None:
    raws = sorted((v.encode() for v in values), key=key_of("text"))
    assert [r.decode() for r in raws] == sorted(values)


@given(st.lists(st.lists(st.integers(-(2**31), 2**31 - 1), max_size=4), min_size=2))
def test_list_keys_order_like_python_lists(values: list[list[int]]) -> None:
    raws = sorted((enc("list<int>", v) for v in values), key=key_of("frozen<list<int>>"))
    assert [driver_type(parse_cql_type("list<int>")).from_binary(r, 4) for r in raws] == sorted(values)


@given(st.lists(st.integers(0, 2**60 - 1), min_size=2), st.binary(min_size=8, max_size=8))
def test_v1_uuids_order_by_their_timestamp(times: list[int], low: bytes) -> None:
    for cql_type in ("uuid", "timeuuid"):
        raws = sorted((v1(t, low) for t in times), key=key_of(cql_type))
        assert [uuid.UUID(bytes=r).time for r in raws] == sorted(times)


@given(st.lists(st.binary(min_size=16, max_size=16), min_size=2))
def test_v4_uuids_order_by_their_bytes(bodies: list[bytes]) -> None:
    raws = [with_version(4, int.from_bytes(b, "big")) for b in bodies]
    assert sorted(raws, key=key_of("uuid")) == sorted(raws)


@given(st.lists(st.integers(-(2**31), 2**31 - 1), min_size=2, unique=True))
def test_desc_reverses_distinct_values(values: list[int]) -> None:
    asc, desc = clustering_key_function(["int"], [False]), clustering_key_function(["int"], [True])
    raws = [[struct.pack(">i", v)] for v in values]
    assert sorted(raws, key=desc) == sorted(raws, key=asc)[::-1]
