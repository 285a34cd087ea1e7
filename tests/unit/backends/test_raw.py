"""Serialized CQL values: ints, collection and UDT framing, decimal trailing-zero stripping."""

from __future__ import annotations

import struct
from collections import namedtuple
from decimal import MAX_EMAX, MIN_EMIN, Decimal, localcontext

import pytest
from hypothesis import given
from hypothesis import strategies as st

from migrator.backends.cassandra.raw import (
    decode_int,
    encode_bigint,
    encode_int,
    join_elements,
    split_elements,
    split_fields,
    split_int_list,
    strip_decimal,
    strip_decimal_value,
)

NULL = struct.pack(">i", -1)


def item(value: bytes) -> bytes:
    return struct.pack(">i", len(value)) + value


def decimal_bytes(scale: int, unscaled: int) -> bytes:
    """CQL decimal: 4-byte signed scale, then the unscaled value as a minimal two's-complement varint."""
    magnitude = unscaled if unscaled >= 0 else ~unscaled
    size = (magnitude.bit_length() + 8) // 8
    return struct.pack(">i", scale) + unscaled.to_bytes(size, "big", signed=True)


def decode_decimal(raw: bytes) -> tuple[int, int]:
    """(scale, unscaled) of a serialized decimal."""
    return struct.unpack(">i", raw[:4])[0], int.from_bytes(raw[4:], "big", signed=True)


def as_decimal(scale: int, unscaled: int) -> Decimal:
    return Decimal(f"{unscaled}E{-scale}")  # exact: no context rounding


# --- numbers ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (None, None),
        (b"", None),
        (b"\x00\x00\x00\x07", 7),
        (b"\xff\xff\xff\xff", -1),
        (b"\x80\x00\x00\x00", -(2**31)),
        (b"\x7f\xff\xff\xff\xff\xff\xff\xff", 2**63 - 1),
        (b"\xff\xff\xff\xff\xff\xff\xff\xfe", -2),
    ],
)
def test_decode_int(raw, expected):
    assert decode_int(raw) == expected


def test_encode_int_and_bigint_exact_bytes():
    assert encode_int(1) == b"\x00\x00\x00\x01"
    assert encode_int(-1) == b"\xff\xff\xff\xff"
    assert encode_bigint(1_700_000_000_000_000) == b"\x00\x06\x0a\x24\x18\x1e\x40\x00"
    assert encode_bigint(-(2**63)) == b"\x80" + b"\x00" * 7


def test_encode_int_refuses_out_of_range():
    with pytest.raises(struct.error):
        encode_int(2**31)


@given(st.integers(min_value=-(2**31), max_value=2**31 - 1))
def test_int_round_trip(value):
    assert len(encode_int(value)) == 4
    assert decode_int(encode_int(value)) == value


@given(st.integers(min_value=-(2**63), max_value=2**63 - 1))
def test_bigint_round_trip(value):
    assert len(encode_bigint(value)) == 8
    assert decode_int(encode_bigint(value)) == value


# --- collections ----------------------------------------------------------------------------------


def test_split_list_with_a_null_and_an_empty_element():
    raw = struct.pack(">i", 3) + item(b"\x01") + NULL + item(b"")
    assert split_elements(raw) == [b"\x01", None, b""]


def test_split_empty_collection():
    assert split_elements(struct.pack(">i", 0)) == []


def test_split_map_interleaves_keys_and_values():
    raw = struct.pack(">i", 2) + item(b"a") + item(b"\x00\x00\x00\x01") + item(b"b") + NULL
    assert split_elements(raw, per_entry=2) == [b"a", b"\x00\x00\x00\x01", b"b", None]


def test_split_reads_only_the_counted_entries():
    raw = struct.pack(">i", 1) + item(b"x") + item(b"trailing")
    assert split_elements(raw) == [b"x"]


def test_split_fields_of_a_udt_with_null_and_missing_trailing_fields():
    raw = item(b"\x07") + NULL + item(b"")
    assert split_fields(raw) == [b"\x07", None, b""]
    assert split_fields(b"") == []


def test_join_elements_exact_bytes():
    assert join_elements([b"a", b""], 2) == b"\x00\x00\x00\x02" + b"\x00\x00\x00\x01a" + b"\x00\x00\x00\x00"
    assert join_elements([], 0) == b"\x00\x00\x00\x00"


def test_join_map_entries_counts_entries_not_items():
    raw = join_elements([b"k1", b"v1", b"k2", b"v2"], 2)
    assert raw[:4] == b"\x00\x00\x00\x02"
    assert split_elements(raw, per_entry=2) == [b"k1", b"v1", b"k2", b"v2"]


@given(st.lists(st.binary(max_size=40), max_size=30))
def test_join_then_split_gives_the_items_back(items):
    assert split_elements(join_elements(items, len(items))) == items


@given(st.lists(st.tuples(st.binary(max_size=20), st.binary(max_size=20)), max_size=20))
def test_join_then_split_map_entries(entries):
    flat = [b for entry in entries for b in entry]
    assert split_elements(join_elements(flat, len(entries)), per_entry=2) == flat


def test_split_int_list():
    raw = struct.pack(">i", 3) + item(encode_bigint(1)) + NULL + item(encode_bigint(-5))
    assert split_int_list(raw) == [1, None, -5]
    assert split_int_list(struct.pack(">i", 1) + item(encode_int(86400))) == [86400]
    assert split_int_list(None) == []


# --- decimals -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("scale", "unscaled", "expected"),
    [
        (4, 35000, (1, 35)),  # 3.5000 -> 3.5
        (0, 100, (-2, 1)),  # 100 -> 1E+2
        (3, 0, (0, 0)),  # 0.000 -> 0
        (-5, 0, (0, 0)),  # 0E+5 -> 0
        (2, -110, (1, -11)),  # -1.10 -> -1.1
        (2, 123, (2, 123)),  # 1.23 stays
        (0, 7, (0, 7)),
        (-3, 50, (-4, 5)),  # 5.0E+4 -> 5E+4
    ],
)
def test_strip_decimal_exact_cases(scale, unscaled, expected):
    stripped = strip_decimal(decimal_bytes(scale, unscaled))
    assert decode_decimal(stripped) == expected


def test_strip_decimal_exact_bytes():
    assert strip_decimal(decimal_bytes(4, 35000)) == b"\x00\x00\x00\x01\x23"
    assert strip_decimal(decimal_bytes(3, 0)) == b"\x00\x00\x00\x00\x00"
    assert strip_decimal(decimal_bytes(0, 100)) == b"\xff\xff\xff\xfe\x01"


def test_strip_decimal_leaves_a_truncated_value_alone():
    assert strip_decimal(b"\x00\x00\x00\x02") == b"\x00\x00\x00\x02"
    assert strip_decimal(b"") == b""


@given(
    # leave room below the int32 minimum: stripping zeros lowers the scale by one per zero
    st.integers(min_value=-(2**31) + 64, max_value=2**31 - 1),
    st.one_of(
        st.integers(min_value=-(10**40), max_value=10**40),
        st.builds(lambda m, z: m * 10**z, st.integers(-(10**6), 10**6), st.integers(0, 30)),
    ),
)
def test_strip_decimal_matches_decimal_normalize(scale, unscaled):
    out_scale, out_unscaled = decode_decimal(strip_decimal(decimal_bytes(scale, unscaled)))
    value = as_decimal(scale, unscaled)
    stripped = as_decimal(out_scale, out_unscaled)
    assert stripped == value
    if unscaled == 0:
        assert (out_scale, out_unscaled) == (0, 0)
    else:
        assert out_unscaled % 10 != 0  # the scale is minimal: no trailing zero left
        with localcontext() as ctx:
            ctx.prec = 100  # normalize() rounds to the context precision
            ctx.Emax, ctx.Emin = MAX_EMAX, MIN_EMIN
            normalized = value.normalize()
        assert stripped.as_tuple() == normalized.as_tuple()


def test_strip_decimal_varint_is_minimal_for_negative_powers_of_two():
    assert strip_decimal(decimal_bytes(1, -1280)) == b"\x00\x00\x00\x00\x80"


Udt = namedtuple("Udt", ["amount", "label"])


def test_strip_decimal_value_recurses_through_containers():
    value = {
        Decimal("1.50"): [Decimal("2.000"), Decimal("-0.00"), None],
        "tuple": (Decimal("3.50"), "x"),
        "set": {Decimal("10.0")},
        "frozen": frozenset({Decimal("0.10")}),
        "udt": Udt(Decimal("100.00"), "y"),
    }
    out = strip_decimal_value(value)
    assert list(out) == [Decimal("1.5"), "tuple", "set", "frozen", "udt"]
    assert str(next(iter(out))) == "1.5"
    assert [str(d) if d is not None else None for d in out[Decimal("1.5")]] == ["2", "0", None]
    assert type(out["tuple"]) is tuple and [str(v) for v in out["tuple"]] == ["3.5", "x"]
    assert type(out["set"]) is set and [str(d) for d in out["set"]] == ["1E+1"]
    assert type(out["frozen"]) is frozenset and [str(d) for d in out["frozen"]] == ["0.1"]
    assert type(out["udt"]) is Udt and str(out["udt"].amount) == "1E+2" and out["udt"].label == "y"


@pytest.mark.parametrize("value", [1.50, "1.50", 7, None, b"\x00"])
def test_strip_decimal_value_leaves_other_values_alone(value):
    assert strip_decimal_value(value) is value


def test_strip_decimal_value_keeps_every_digit():
    value = Decimal("1.23456789012345678901234567890123456789000")
    stripped = strip_decimal_value(value)
    assert stripped.as_tuple() == Decimal("1.23456789012345678901234567890123456789").as_tuple()
