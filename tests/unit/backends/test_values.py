"""Raw cells decoded, displayed and compared: decoder_for, to_display, numeric_difference, values_equal."""

from __future__ import annotations

import datetime as dt
import json
import math
import struct
from collections import namedtuple
from decimal import Decimal
from typing import Any
from uuid import UUID

import pytest
from cassandra.util import Date, Duration, OrderedMapSerializedKey, SortedSet, Time

from migrator.backends.cassandra.ordering import parse_cql_type
from migrator.backends.cassandra.values import (
    decoder_for,
    driver_type,
    numeric_difference,
    to_display,
    values_equal,
)

UDTS = {"point": [("x", "int"), ("label", "text")], "place": [("at", "frozen<point>"), ("tags", "frozen<set<text>>")]}
Point = namedtuple("Point", ["x", "label"])
Point3 = namedtuple("Point3", ["x", "label", "extra"])  # the same UDT after ALTER TYPE ADD extra
V1 = UUID("6ba7b810-9dad-11d1-80b4-00c04fd430c8")


def enc(cql_type: str, value: Any) -> bytes:
    raw = driver_type(parse_cql_type(cql_type, UDTS)).to_binary(value, 4)
    assert raw is not None
    return bytes(raw)


# --- decoder_for --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("cql_type", "raw", "expected"),
    [
        ("int", b"\x00\x00\x00\x07", 7),
        ("int", b"\xff\xff\xff\xff", -1),
        ("int", b"", None),  # an empty int means nothing
        ("int", None, None),
        ("bigint", struct.pack(">q", -(2**63)), -(2**63)),
        ("counter", struct.pack(">q", 42), 42),
        ("smallint", b"\x80\x00", -32768),
        ("tinyint", b"\x7f", 127),
        ("varint", b"\x00\x00\x80", 128),
        ("varint", (2**100).to_bytes(13, "big", signed=True), 2**100),
        ("text", "héllo ☃".encode(), "héllo ☃"),
        ("varchar", b"", ""),
        ("ascii", b"abc", "abc"),
        ("blob", b"\x00\xff", b"\x00\xff"),
        ("boolean", b"\x01", True),
        ("boolean", b"\x00", False),
        ("decimal", struct.pack(">i", 2) + b"\x00\x96", Decimal("1.50")),
        ("decimal", struct.pack(">i", -3) + b"\x07", Decimal("7E+3")),
        ("uuid", V1.bytes, V1),
        ("timeuuid", V1.bytes, V1),
        ("inet", b"\x7f\x00\x00\x01", "127.0.0.1"),
        ("inet", bytes(15) + b"\x01", "::1"),
        ("timestamp", struct.pack(">q", 1), dt.datetime(1970, 1, 1, 0, 0, 0, 1000)),
        ("timestamp", struct.pack(">q", 1_709_164_800_123), dt.datetime(2024, 2, 29, 0, 0, 0, 123000)),
        ("timestamp", struct.pack(">q", -62_135_596_800_000), dt.datetime(1, 1, 1)),
        ("timestamp", struct.pack(">q", -62_135_596_800_001), -62_135_596_800_001),  # before year 1: an int
        ("timestamp", struct.pack(">q", 2**62), 2**62),
        ("date", b"\x80\x00\x00\x00", Date(dt.date(1970, 1, 1))),
        ("time", struct.pack(">q", 3_600_000_000_001), Time(3_600_000_000_001)),
        ("duration", enc("duration", Duration(1, 2, 3)), Duration(1, 2, 3)),
        ("frozen<list<timestamp>>", enc("list<bigint>", [0, 2**62]), [dt.datetime(1970, 1, 1), 2**62]),
        ("set<int>", enc("set<int>", [1, 2]), SortedSet([1, 2])),
        ("tuple<int, text>", enc("tuple<int, text>", (1, None)), (1, None)),
        ("vector<float, 2>", struct.pack(">ff", 1.5, -2.0), [1.5, -2.0]),
    ],
)
def test_decoder_gives_the_driver_values(cql_type: str, raw: bytes | None, expected: Any) -> None:
    value = decoder_for(cql_type)(raw)
    assert value == expected
    assert type(value) is type(expected) or isinstance(value, type(expected))


def test_decoder_keeps_float_specials() -> None:
    assert math.isnan(decoder_for("double")(struct.pack(">d", math.nan)))
    assert math.copysign(1.0, decoder_for("float")(struct.pack(">f", -0.0))) == -1.0
    assert decoder_for("double")(struct.pack(">d", -math.inf)) == -math.inf


def test_decoder_maps_are_ordered_maps_with_any_keys() -> None:
    value = decoder_for("frozen<map<frozen<list<int>>, text>>")(enc("map<list<int>, text>", {(1, 2): "a"}))
    assert isinstance(value, OrderedMapSerializedKey)
    assert list(value.items()) == [([1, 2], "a")]
    assert to_display(value) == [[[1, 2], "a"]]


def test_decoder_user_types_are_namedtuples_and_short_values_get_null_fields() -> None:
    decode = decoder_for('frozen<"place">', {"place": UDTS["place"], "point": UDTS["point"]})
    value = decode(enc("frozen<place>", ((1, "x"), {"b", "a"})))
    assert value._fields == ("at", "tags")
    assert value.at._fields == ("x", "label")
    assert (value.at.x, value.at.label, value.tags) == (1, "x", SortedSet(["a", "b"]))
    short = decoder_for("frozen<point>", UDTS)(struct.pack(">i", 4) + struct.pack(">i", 9))
    assert (short.x, short.label) == (9, None)


def test_decoder_refuses_unknown_types_by_name() -> None:
    with pytest.raises(ValueError, match="unknown CQL type 'nosuch'"):
        decoder_for("frozen<list<nosuch>>")


# --- to_display ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, None),
        (True, True),
        (2**80, 2**80),
        (-62_135_596_800_001, -62_135_596_800_001),  # a timestamp outside datetime's range stays an int
        (1.25, 1.25),
        (math.nan, "NaN"),
        (math.inf, "Infinity"),
        (-math.inf, "-Infinity"),
        (Decimal("1.50"), "1.50"),
        (Decimal("7E+3"), "7E+3"),
        ("text", "text"),
        (b"\x00\xab", "0x00ab"),
        (b"", "0x"),
        (V1, "6ba7b810-9dad-11d1-80b4-00c04fd430c8"),
        (dt.datetime(2024, 2, 29, 1, 2, 3, 123000), "2024-02-29T01:02:03.123"),
        (dt.datetime(2024, 2, 29, 1, 2, 3, 123456), "2024-02-29T01:02:03.123456"),
        (dt.datetime(2024, 2, 29, 1, 2, 3, tzinfo=dt.UTC), "2024-02-29T01:02:03.000+00:00"),
        (dt.date(2024, 2, 29), "2024-02-29"),
        (dt.time(23, 59, 59), "23:59:59"),
        (Date(dt.date(2024, 2, 29)), "2024-02-29"),
        (Date(-(2**31)), "-2147483648"),
        (Time(3_600_000_000_001), "01:00:00.000000001"),
        (Duration(1, 2, 3), "1mo2d3ns"),
        ([1, [2.5, math.nan]], [1, [2.5, "NaN"]]),
        ((1, "a", None), [1, "a", None]),
        ({3, 1, 2}, [1, 2, 3]),
        (SortedSet([b"\x02", b"\x01"]), ["0x01", "0x02"]),
        ({None, 1}, [1, None]),  # unorderable together: sorted by repr
        ({"b": 1, "a": Decimal("2.0")}, {"b": 1, "a": "2.0"}),
        (OrderedMapSerializedKey(driver_type(parse_cql_type("int")), 4), {}),
        ({2: "x", 1: "y"}, [[2, "x"], [1, "y"]]),
        ({(1, 2): {V1}}, [[[1, 2], ["6ba7b810-9dad-11d1-80b4-00c04fd430c8"]]]),
        (Point(1, None), {"x": 1, "label": None}),
        ([Point(1, "a")], [{"x": 1, "label": "a"}]),
    ],
)
def test_to_display(value: Any, expected: Any) -> None:
    shown = to_display(value)
    assert shown == expected
    assert json.loads(json.dumps(shown, allow_nan=False)) == expected


def test_to_display_of_a_decoded_map_with_udt_values() -> None:
    decode = decoder_for("frozen<map<int, frozen<point>>>", UDTS)
    shown = to_display(decode(enc("map<int, frozen<point>>", {2: (1, "a"), 1: (None, None)})))
    assert shown in ([[2, {"x": 1, "label": "a"}], [1, {"x": None, "label": None}]],
                     [[1, {"x": None, "label": None}], [2, {"x": 1, "label": "a"}]])


# --- numeric_difference -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("a", "b", "expected"),
    [
        (5, 3, 2.0),
        (3, 5, 2.0),
        (1.5, 1.25, 0.25),
        (Decimal("1.10"), Decimal("1.1"), 0.0),
        (Decimal("0.3"), 0.25, 0.04999999999999999),  # float arithmetic once a float is involved
        (Decimal("1E-100"), Decimal(0), 1e-100),
        (Decimal("1E+400"), Decimal("-1E+400"), math.inf),
        (10**400, 0, math.inf),
        (math.nan, math.nan, 0.0),
        (math.inf, math.inf, 0.0),
        (dt.datetime(2024, 1, 1, 0, 0, 1), dt.datetime(2024, 1, 1), 1000.0),
        (dt.datetime(1970, 1, 1, 0, 0, 0, 5000), 2, 3.0),  # a datetime and an out-of-range int timestamp
        (dt.datetime(2024, 1, 1, 1, tzinfo=dt.timezone(dt.timedelta(hours=1))), dt.datetime(2024, 1, 1), 0.0),
        ("a", "b", None),
        (True, 1, None),
        (dt.date(2024, 1, 2), dt.date(2024, 1, 1), None),
        ([1], [2], None),
    ],
)
def test_numeric_difference(a: Any, b: Any, expected: float | None) -> None:
    assert numeric_difference(a, b) == expected


def test_numeric_difference_with_one_nan_is_nan() -> None:
    difference = numeric_difference(math.nan, 1.0)
    assert difference is not None
    assert math.isnan(difference)


# --- values_equal -------------------------------------------------------------------------------


def eq(a: Any, b: Any, float_tolerance: float = 0.01, timestamp_ms_tolerance: int = 5) -> bool:
    return values_equal(a, b, float_tolerance=float_tolerance, timestamp_ms_tolerance=timestamp_ms_tolerance)


@pytest.mark.parametrize(
    ("a", "b", "expected"),
    [
        (None, None, True),
        (None, 0, False),
        (0, None, False),
        (1, 1, True),
        (1, 2, False),  # integers are exact, whatever the tolerance
        (10**30, 10**30 + 1, False),
        (1.0, 1.005, True),
        (1.0, 1.02, False),
        (1, 1.005, True),  # a float is involved: tolerance applies
        (Decimal("1.000"), Decimal("1.009"), True),
        (Decimal("1.5"), Decimal("1.50"), True),
        (Decimal("1.5"), 1.505, True),
        (math.nan, math.nan, True),
        (math.nan, 1.0, False),
        (math.inf, math.inf, True),
        (math.inf, -math.inf, False),
        (math.inf, 1e308, False),
        (-0.0, 0.0, True),
        (True, 1, True),
        (dt.datetime(2024, 1, 1), dt.datetime(2024, 1, 1, 0, 0, 0, 5000), True),
        (dt.datetime(2024, 1, 1), dt.datetime(2024, 1, 1, 0, 0, 0, 6000), False),
        (dt.datetime(1970, 1, 1, 0, 0, 0, 3000), 0, True),
        (dt.datetime(2024, 1, 1), "2024-01-01", False),
        ("a", "a", True),
        ("a", "A", False),
        (b"\x00", b"\x00", True),
        (V1, V1, True),
        ([1.0, 2.0], [1.001, 2.001], True),
        ([1.0, 2.0], [1.0], False),
        ([1, 2], [1, 3], False),
        ((1, 2.0), [1, 2.001], True),
        ([[math.nan]], [[math.nan]], True),
        ({1.0, 2.0}, {2.001, 1.001}, True),
        (SortedSet([1.0, 2.0]), {1.0, 2.5}, False),
        ({1.0}, {1.0, 2.0}, False),
        ({"a": 1.0, "b": 2.0}, {"b": 2.001, "a": 1.001}, True),
        ({"a": 1.0}, {"b": 1.0}, False),
        ({1.0: "x"}, {1.001: "x"}, True),
        ({"a": [1.0]}, {"a": [1.5]}, False),
        (Point(1, 2.0), Point(1, 2.001), True),
        (Point(1, 2.0), Point(2, 2.0), False),
        (Point(1, None), Point3(1, None, None), True),
        (Point(1, None), Point3(1, None, 0), False),
        (Point(1, "a"), (1, "a"), True),  # not both UDTs: plain ==
        (Duration(1, 2, 3), Duration(1, 2, 3), True),
        ({None, 1.0}, {1.001, None}, True),
    ],
)
def test_values_equal(a: Any, b: Any, expected: bool) -> None:
    assert eq(a, b) is expected
    assert eq(b, a) is expected


def test_values_equal_tolerances_are_inclusive_and_zero_means_exact() -> None:
    assert eq(1.0, 1.5, float_tolerance=0.5)
    assert not eq(1.0, 1.0000001, float_tolerance=0.0)
    assert eq(dt.datetime(2024, 1, 1), dt.datetime(2024, 1, 1, 0, 0, 1), timestamp_ms_tolerance=1000)
    assert not eq(dt.datetime(2024, 1, 1), dt.datetime(2024, 1, 1, 0, 0, 0, 1000), timestamp_ms_tolerance=0)


def test_values_equal_on_decoded_cells() -> None:
    decode = decoder_for("frozen<map<text, frozen<list<double>>>>")
    left = decode(enc("map<text, list<double>>", {"a": [1.0, math.nan], "b": []}))
    right = decode(enc("map<text, list<double>>", {"a": [1.004, math.nan], "b": []}))
    assert eq(left, right)
    assert not eq(left, right, float_tolerance=0.001)
