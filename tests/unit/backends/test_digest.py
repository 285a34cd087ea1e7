import struct

from hypothesis import given
from hypothesis import strategies as st

from migrator.backends.cassandra.digest import RowDigester, canonicalizer, encode_cell


def _cell(cql_type, raw):
    tag, fn = canonicalizer(cql_type)
    return encode_cell(tag, fn, raw)


def test_null_differs_from_every_empty_value():
    assert _cell("text", None) != _cell("text", b"")
    assert _cell("blob", None) != _cell("blob", b"")
    assert _cell("int", None) != _cell("int", b"")


@given(st.integers(min_value=-(2**31), max_value=2**31 - 1))
def test_int_and_bigint_and_varint_of_the_same_value_encode_alike(n):
    as_int = _cell("int", struct.pack(">i", n))
    assert as_int == _cell("bigint", struct.pack(">q", n))
    size = (n if n >= 0 else ~n).bit_length() // 8 + 1
    assert as_int == _cell("varint", n.to_bytes(size, "big", signed=True))


def test_float_widened_to_double_and_text_families():
    assert _cell("float", struct.pack(">f", 1.5)) == _cell("double", struct.pack(">d", 1.5))
    assert _cell("ascii", b"abc") == _cell("text", b"abc")
    assert _cell("frozen<list<int>>", b"\x00") == _cell("list<int>", b"\x00")


def test_families_never_collide():
    assert _cell("int", b"\x00\x00\x00\x01") != _cell("blob", b"\x01")
    assert _cell("text", b"1") != _cell("blob", b"1")


def test_length_prefix_keeps_cell_boundaries():
    digester = RowDigester([0, 1], ["text", "text"])
    assert digester.digest([b"ab", b"c"]) != digester.digest([b"a", b"bc"])
    assert digester.digest([b"ab", None]) != digester.digest([b"ab", b""])
    assert len(digester.digest([b"x", b"y"])) == 16
