"""What differs between two scanned rows (rowdiff): cells within tolerances, WRITETIME/TTL, the bytewise flag."""

from __future__ import annotations

import datetime as dt
import math
import struct
from typing import Any

import pytest

from migrator.backends.cassandra.ordering import parse_cql_type
from migrator.backends.cassandra.raw import encode_bigint, encode_int
from migrator.backends.cassandra.rowdiff import (
    CompareColumn,
    CompareSettings,
    RowDiffer,
    metadata_difference,
    metadata_value,
)
from migrator.backends.cassandra.values import driver_type

INF = float("inf")
KEY = encode_int(1)
NULL_ITEM = struct.pack(">i", -1)


def enc(cql_type: str, value: Any) -> bytes | None:
    """A value serialized as the server sends it (None stays a null cell)."""
    if value is None:
        return None
    return bytes(driver_type(parse_cql_type(cql_type)).to_binary(value, 4))


def int_list(items: list[int | None], encode: Any = encode_bigint) -> bytes:
    """A WRITETIME()/TTL() list of a multi-cell column; None is a null item."""
    parts = [struct.pack(">i", len(items))]
    for item in items:
        parts.append(NULL_ITEM if item is None else struct.pack(">i", len(encode(item))) + encode(item))
    return b"".join(parts)


def settings(**changes: Any) -> CompareSettings:
    values: dict[str, Any] = {
        "float_tolerance": 0.0,
        "timestamp_ms_tolerance": 0,
        "writetime_tolerance_us": 0,
        "ttl_tolerance_s": 0.0,
        "failures_to_fetch": 10,
    }
    values.update(changes)
    return CompareSettings(**values)


def differ(source_type: str, target_type: str | None = None, **options: Any) -> RowDiffer:
    """One compared column ``v`` at position 1, after a key at position 0."""
    tolerance = options.pop("tolerance", None)
    column = CompareColumn("v", source_type, target_type or source_type, 1, tolerance=tolerance)
    return RowDiffer([column], settings(**options))


def diff(d: RowDiffer, source: Any, target: Any) -> list[Any]:
    c = d.columns[0]
    return d.differences((KEY, enc(c.source_type, source)), (KEY, enc(c.target_type, target)))


# --- cells ---------------------------------------------------------------------------------------


def test_equal_rows_have_no_differences():
    columns = [CompareColumn("a", "int", "int", 1), CompareColumn("b", "text", "text", 2)]
    d = RowDiffer(columns, settings())
    row = (KEY, encode_int(5), b"five")
    assert d.differences(row, tuple(row)) == []


def test_a_differing_int_is_reported_with_both_values_and_the_numeric_difference():
    assert diff(differ("int"), 5, 7) == [("v", 5, 7, 2.0)]


def test_only_the_differing_columns_are_reported_in_column_order():
    columns = [CompareColumn("a", "int", "int", 1), CompareColumn("b", "text", "text", 2),
               CompareColumn("c", "int", "int", 3)]
    d = RowDiffer(columns, settings())
    source = (KEY, encode_int(1), b"same", encode_int(3))
    target = (KEY, encode_int(2), b"same", encode_int(-3))
    assert d.differences(source, target) == [("a", 1, 2, 1.0), ("c", 3, -3, 6.0)]


def test_text_differences_carry_no_numeric_difference():
    assert diff(differ("text"), "abc", "abd") == [("v", "abc", "abd", None)]


@pytest.mark.parametrize("cql_type", ["double", "float"])
def test_floating_point_values_within_the_tolerance_are_equal(cql_type):
    d = differ(cql_type, float_tolerance=0.25)
    assert diff(d, 1.0, 1.25) == []
    assert diff(d, 1.0, 0.75) == []
    assert diff(d, 1.0, 1.5) == [("v", 1.0, 1.5, 0.5)]


def test_a_float_source_and_a_double_target_holding_the_same_value_are_equal():
    assert diff(differ("float", "double"), 1.5, 1.5) == []


def test_nan_equals_nan_even_with_different_bit_patterns():
    d = differ("double")
    nan = struct.pack(">d", float("nan"))
    other_nan = b"\x7f\xf8\x00\x00\x00\x00\x00\x01"  # a quiet NaN with a payload: different bytes, still NaN
    assert d.src_digest.digest((KEY, nan)) != d.tgt_digest.digest((KEY, other_nan))  # so values get decoded
    assert d.differences((KEY, nan), (KEY, nan)) == []
    assert d.differences((KEY, nan), (KEY, other_nan)) == []


def test_nan_differs_from_a_number():
    [(name, a, b, size)] = diff(differ("double", float_tolerance=1e9), float("nan"), 1.0)
    assert (name, b) == ("v", 1.0)
    assert math.isnan(a) and math.isnan(size)


def test_a_column_tolerance_overrides_the_floating_point_tolerance_both_ways():
    looser = differ("double", float_tolerance=0.0, tolerance=0.5)
    assert diff(looser, 1.0, 1.5) == []
    assert diff(looser, 1.0, 1.75) == [("v", 1.0, 1.75, 0.75)]
    stricter = differ("double", float_tolerance=1.0, tolerance=0.125)
    assert diff(stricter, 1.0, 1.5) == [("v", 1.0, 1.5, 0.5)]


def test_a_column_tolerance_makes_integers_tolerant_too():
    d = differ("bigint", tolerance=5)
    assert diff(d, 10, 15) == []
    assert diff(d, 10, 16) == [("v", 10, 16, 6.0)]
    assert diff(differ("bigint"), 10, 11) == [("v", 10, 11, 1.0)]  # without one, integers must be equal


def test_a_column_tolerance_on_a_non_numeric_column_falls_back_to_equality():
    assert diff(differ("text", tolerance=100), "a", "b") == [("v", "a", "b", None)]


def test_an_int_source_and_a_bigint_target_with_the_same_value_are_equal():
    d = differ("int", "bigint")
    assert diff(d, 7, 7) == []
    assert diff(d, -(2**31), -(2**31)) == []
    assert diff(d, 7, 2**40) == [("v", 7, 2**40, float(2**40 - 7))]


def test_bytewise_holds_when_each_column_is_read_as_the_same_family_on_both_sides():
    assert differ("int").bytewise is True
    assert differ("text").bytewise is True
    # a lossless widening stays in its family: identical bytes still mean equal values
    assert differ("int", "bigint").bytewise is True
    assert differ("float", "double").bytewise is True
    assert differ("ascii", "text").bytewise is True
    assert differ("list<int>", "frozen<list<int>>").bytewise is True


def test_bytewise_is_off_when_a_column_changes_family():
    assert differ("list<int>", "list<bigint>").bytewise is False
    assert differ("text", "blob").bytewise is False
    mixed = [CompareColumn("a", "int", "int", 1), CompareColumn("b", "decimal", "double", 2)]
    assert RowDiffer(mixed, settings()).bytewise is False


def test_identical_bytes_of_different_families_are_not_equal_values():
    # why bytewise must be off for such layouts: the same bytes, read as text and as a blob
    d = differ("text", "blob")
    assert d.differences((KEY, b"abc"), (KEY, b"abc")) == [("v", "abc", b"abc", None)]


def test_a_widened_collection_is_compared_element_by_element():
    d = differ("list<int>", "list<bigint>")
    assert diff(d, [1, 2], [1, 2]) == []
    assert diff(d, [1, 2], [1, 3]) == [("v", [1, 2], [1, 3], None)]


def test_null_against_a_value_is_a_difference_either_way():
    d = differ("int")
    assert diff(d, None, 5) == [("v", None, 5, None)]
    assert diff(d, 5, None) == [("v", 5, None, None)]
    assert diff(d, None, None) == []


def test_an_empty_int_cell_differs_from_a_null_one_only_as_bytes():
    # an empty int decodes to None, like a null: the digests differ but the values do not
    d = differ("int")
    assert d.differences((KEY, b""), (KEY, None)) == []


def test_timestamps_within_the_millisecond_tolerance_are_equal():
    at = dt.datetime(2024, 1, 2, 3, 4, 5)
    later = at + dt.timedelta(milliseconds=3)
    assert diff(differ("timestamp", timestamp_ms_tolerance=3), at, later) == []
    assert diff(differ("timestamp", timestamp_ms_tolerance=2), at, later) == [("v", at, later, 3.0)]


# --- WRITETIME and TTL ---------------------------------------------------------------------------


def metadata_differ(multicell: bool = False, **options: Any) -> RowDiffer:
    """Column ``v`` at 1 with its WRITETIME at 2 and TTL at 3."""
    cql_type = "set<int>" if multicell else "int"
    column = CompareColumn("v", cql_type, cql_type, 1, writetime=2, ttl=3, multicell=multicell)
    return RowDiffer([column], settings(**options))


def row(value: bytes | None, writetime: bytes | None, ttl: bytes | None) -> tuple[bytes | None, ...]:
    return (KEY, value, writetime, ttl)


def test_writetimes_within_the_tolerance_in_microseconds_are_equal():
    d = metadata_differ(writetime_tolerance_us=1000)
    source = row(encode_int(1), encode_bigint(1_000_000), None)
    assert d.differences(source, row(encode_int(1), encode_bigint(1_001_000), None)) == []
    assert d.differences(source, row(encode_int(1), encode_bigint(999_000), None)) == []


def test_a_writetime_difference_is_reported_in_milliseconds():
    d = metadata_differ(writetime_tolerance_us=1000)
    source = row(encode_int(1), encode_bigint(1_000_000), None)
    target = row(encode_int(1), encode_bigint(1_002_500), None)
    assert d.differences(source, target) == [("writetime(v)", 1_000_000, 1_002_500, 2.5)]


def test_ttls_within_the_tolerance_in_seconds_are_equal_beyond_it_reported_in_seconds():
    d = metadata_differ(ttl_tolerance_s=60.0)
    source = row(encode_int(1), encode_bigint(5), encode_int(100))
    assert d.differences(source, row(encode_int(1), encode_bigint(5), encode_int(160))) == []
    assert d.differences(source, row(encode_int(1), encode_bigint(5), encode_int(161))) == [
        ("ttl(v)", 100, 161, 61.0)
    ]


def test_a_ttl_on_one_side_only_is_reported_without_a_size():
    d = metadata_differ(ttl_tolerance_s=1e9)
    source = row(encode_int(1), encode_bigint(5), None)
    target = row(encode_int(1), encode_bigint(5), encode_int(100))
    assert d.differences(source, target) == [("ttl(v)", None, 100, None)]


def test_cell_differences_come_before_metadata_differences():
    d = metadata_differ()
    source = row(encode_int(1), encode_bigint(10), encode_int(0))
    target = row(encode_int(2), encode_bigint(2010), encode_int(3))
    assert d.differences(source, target) == [
        ("v", 1, 2, 1.0),
        ("writetime(v)", 10, 2010, 2.0),
        ("ttl(v)", 0, 3, 3.0),
    ]


def test_metadata_is_compared_only_for_columns_with_both_selectors():
    column = CompareColumn("v", "int", "int", 1, writetime=2, ttl=None)
    d = RowDiffer([column], settings())
    assert d.differences(row(encode_int(1), encode_bigint(1), None), row(encode_int(1), encode_bigint(9), None)) == []


def test_multicell_metadata_is_compared_element_by_element():
    d = metadata_differ(multicell=True, writetime_tolerance_us=1000)
    value = enc("set<int>", {1, 2})
    ttls = int_list([None, None], encode_int)
    source = row(value, int_list([10, 5000]), ttls)
    assert d.differences(source, row(value, int_list([900, 5000]), ttls)) == []
    assert d.differences(source, row(value, int_list([10, 8000]), ttls)) == [
        ("writetime(v)", (10, 5000), (10, 8000), 3.0)
    ]


def test_multicell_metadata_of_different_lengths_is_reported_without_a_size():
    d = metadata_differ(multicell=True, writetime_tolerance_us=10**12)
    source = row(enc("set<int>", {1, 2}), int_list([10, 20]), int_list([None, None], encode_int))
    target = row(enc("set<int>", {1}), int_list([10]), int_list([None], encode_int))
    assert d.differences(source, target) == [
        ("v", {1, 2}, {1}, None),
        ("writetime(v)", (10, 20), (10,), None),
        ("ttl(v)", (None, None), (None,), None),
    ]


def test_metadata_value_decodes_single_cells_and_element_lists():
    assert metadata_value(encode_bigint(1_700_000_000_000_000), False) == 1_700_000_000_000_000
    assert metadata_value(encode_int(3600), False) == 3600
    assert metadata_value(None, False) is None
    assert metadata_value(int_list([1, None, 3]), True) == (1, None, 3)
    assert metadata_value(int_list([]), True) == ()
    assert metadata_value(None, True) is None


@pytest.mark.parametrize(
    ("a", "b", "expected"),
    [
        (None, None, 0.0),
        (None, 5, INF),
        (5, None, INF),
        (3, 7, 4.0),
        (7, 3, 4.0),
        ((1, 2), (1, 5), 3.0),
        ((1, 9), (4, 8), 3.0),  # the largest element difference
        ((1,), (1, 2), INF),
        ((), (), 0.0),
        ((None,), (None,), 0.0),
        ((None, 3), (None, 5), 2.0),
        ((None,), (1,), INF),
    ],
)
def test_metadata_difference(a, b, expected):
    result = metadata_difference(a, b)
    assert result == expected
    assert type(result) is float
