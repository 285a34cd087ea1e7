"""CQL <-> Arrow codec: every CQL type through to_arrow, a Parquet file and from_arrow, byte for byte."""

from __future__ import annotations

import math
import pickle
import struct
import uuid
from decimal import Decimal
from ipaddress import ip_address
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from cassandra.util import Date, Duration, Time
from hypothesis import given, settings
from hypothesis import strategies as st

from migrator.backends.cassandra.ordering import parse_cql_type
from migrator.backends.cassandra.raw import encode_bigint, encode_int, join_elements, varint_bytes
from migrator.backends.cassandra.values import driver_type
from migrator.backends.parquet.codec import CodecError, ColumnCodec, arrow_schema, codec_for

INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
YEAR_300000_MS = 9_404_541_440_000_000  # about 300000-01-01: far outside datetime's range
USER_TYPES = {
    "address": (("street", "text"), ("zip", "int"), ("tags", "frozen<set<text>>")),
    "person": (("name", "text"), ("home", "frozen<address>"), ("born", "timestamp")),
    "pair": (("a", "int"), ("b", "text")),
}


def serialize(cql: str, value: Any) -> bytes | None:
    """A value serialized by cassandra-driver's own type classes."""
    return None if value is None else driver_type(parse_cql_type(cql, USER_TYPES)).serialize(value, 4)


def fields(*values: bytes | None) -> bytes:
    """A tuple or UDT value from serialized fields (None: a null field)."""
    return b"".join(struct.pack(">i", -1) if v is None else struct.pack(">i", len(v)) + v for v in values)


def collection(*items: bytes) -> bytes:
    return join_elements(items, len(items))


def mapping(*pairs: tuple[bytes, bytes]) -> bytes:
    return join_elements([part for pair in pairs for part in pair], len(pairs))


def timestamp(ms: int) -> bytes:
    return encode_bigint(ms)


def decimal(scale: int, unscaled: int) -> bytes:
    return encode_int(scale) + varint_bytes(unscaled)


def through_parquet(codec: ColumnCodec, cells: list[bytes | None], path: Any = None) -> list[bytes | None]:
    """to_arrow, written to a Parquet file (in memory without ``path``) and read back, then from_arrow."""
    array = codec.to_arrow(cells)
    assert array.type == codec.arrow_type
    assert len(array) == len(cells)
    sink = path or pa.BufferOutputStream()
    pq.write_table(pa.table({"c": array}), sink)
    column = pq.read_table(path or pa.BufferReader(sink.getvalue())).column("c")
    assert column.type == codec.arrow_type
    return codec.from_arrow(column)


# --- every type, byte for byte -------------------------------------------------------------------

U1, U2 = uuid.UUID("12345678-1234-5678-1234-567812345678"), uuid.UUID("e7a6a5d0-1d4b-11ee-8000-000000000001")
DRIVER_VALUES: dict[str, list[Any]] = {
    "ascii": ["", "abc"],
    "text": ["", "héllo ✓ \x00", "x" * 1000],
    "varchar": ["v"],
    "blob": [b"", b"\x00\xff\x80"],
    "tinyint": [-128, 0, 127],
    "smallint": [-32768, 32767],
    "int": [-(2**31), 0, 2**31 - 1],
    "bigint": [INT64_MIN, -1, 0, INT64_MAX],
    "counter": [INT64_MIN, INT64_MAX],
    "float": [1.5, -0.0, math.inf, -math.inf, 3.4028234663852886e38],
    "double": [5e-324, -0.0, math.inf, -math.inf, 1.7976931348623157e308],
    "boolean": [True, False],
    "date": [Date(0), Date(-(2**31)), Date(2**31 - 1)],
    "time": [Time(0), Time(86_399_999_999_999)],
    "uuid": [U1, uuid.UUID(int=0), uuid.UUID(int=2**128 - 1)],
    "timeuuid": [U2],
    "inet": ["127.0.0.1", "0.0.0.0", "::1", "2001:db8::ff00:42:8329", "::ffff:1.2.3.4"],
    "decimal": [Decimal("1.50"), Decimal("-0.000"), Decimal("1.5E+3"), Decimal("0E-7"),
                Decimal("-123456789012345678901234567890123456789.0123456789")],
    "varint": [0, -1, 127, 128, -128, -129, 10**200, -(10**200) + 7],
    "duration": [Duration(0, 0, 0), Duration(-1, -2, -3), Duration(2**31 - 1, -(2**31), INT64_MAX),
                 Duration(-(2**31), 2**31 - 1, INT64_MIN)],
    "list<int>": [[1, 2, 3], [-(2**31)]],
    "frozen<list<int>>": [[], [7]],
    "set<timestamp>": [[0, INT64_MAX]],
    "list<boolean>": [[True, False, True]],
    "list<date>": [[Date(0), Date(-(2**31))]],
    "list<smallint>": [[-32768, 1]],
    "frozen<set<timeuuid>>": [[], [U2]],
    "map<int, bigint>": [{1: 2, -3: INT64_MIN}],
    "frozen<map<uuid, double>>": [{}, {U1: -0.0, U2: math.inf}],
    "frozen<list<text>>": [[], ["a", ""]],
    "set<uuid>": [[U1, U2]],
    "map<text, int>": [{"a": 1, "": -1}],
    "frozen<map<int, frozen<list<double>>>>": [{}, {1: [], 2: [1.5, math.inf]}],
    "tuple<int, text, decimal>": [(1, None, Decimal("1.50")), (None, None, None), (-5, "", Decimal("1E+9"))],
    "frozen<address>": [("Main St", 12345, ["a", "b"]), (None, None, None)],
    "frozen<person>": [("ann", ("Elm", 1, []), None), ("bob", None, None)],
    "map<frozen<pair>, frozen<list<boolean>>>": [{(1, "x"): [True, False], (2, None): []}],
    "list<frozen<tuple<int, decimal>>>": [[(1, Decimal("-0.05")), (None, Decimal("7E+2"))]],
    "list<frozen<list<frozen<set<bigint>>>>>": [[[[INT64_MIN], []], []]],
    "vector<float, 3>": [[1.0, -2.5, math.inf]],
    "vector<bigint, 2>": [[INT64_MIN, INT64_MAX]],
    "vector<uuid, 2>": [[U1, U2]],
    "vector<boolean, 2>": [[True, False]],
    "vector<text, 3>": [["a", "", "x" * 300]],
    "vector<smallint, 2>": [[-32768, 32767]],
    "vector<varint, 2>": [[10**200, -1]],
    "vector<vector<double, 2>, 2>": [[[1.0, 2.0], [-0.0, 5e-324]]],
    "vector<frozen<list<int>>, 2>": [[[1, 2], []]],
}


@pytest.mark.parametrize(("cql", "values"), list(DRIVER_VALUES.items()), ids=list(DRIVER_VALUES))
def test_driver_serialized_values_come_back_byte_for_byte(cql: str, values: list[Any], tmp_path: Any) -> None:
    cells = [None, *(serialize(cql, v) for v in values), None]
    assert through_parquet(codec_for(cql, USER_TYPES), cells, tmp_path / "c.parquet") == cells


HAND_BUILT: dict[str, list[bytes | None]] = {
    "timestamp": [timestamp(INT64_MIN + 1), timestamp(INT64_MAX), timestamp(0), timestamp(-1),
                  timestamp(YEAR_300000_MS), timestamp(-YEAR_300000_MS), timestamp(INT64_MIN)],
    "date": [struct.pack(">I", 0), struct.pack(">I", 2**31), struct.pack(">I", 2**32 - 1)],
    "float": [bytes.fromhex("7fc00000"), bytes.fromhex("7fa00001"), bytes.fromhex("ffc00123")],  # NaN payloads
    "double": [bytes.fromhex("7ff8000000000000"), bytes.fromhex("fff0000000000001")],
    "decimal": [decimal(-(2**31), 7), decimal(2**31 - 1, -(10**300)), decimal(-3, 15), decimal(400, 10**600 + 1)],
    "frozen<list<timestamp>>": [collection(timestamp(INT64_MIN + 1), timestamp(YEAR_300000_MS), timestamp(0))],
    "map<frozen<person>, frozen<list<timestamp>>>": [
        mapping((fields(b"ann", fields(b"Elm", None, None), timestamp(INT64_MAX)), collection(timestamp(-1))),
                (fields(None, None, None), collection())),
    ],
    "list<text>": [collection(b"a", b"b"), struct.pack(">i", 2) + fields(None, b"x")],  # a null element
    "list<bigint>": [collection(encode_bigint(1)), struct.pack(">i", 2) + fields(encode_bigint(2), None)],
    "map<int, double>": [mapping((encode_int(1), struct.pack(">d", 2.5))),
                         struct.pack(">i", 1) + fields(encode_int(2), None)],
    "vector<double, 2>": [struct.pack(">dd", math.nan, -math.inf)],
}


@pytest.mark.parametrize(("cql", "cells"), list(HAND_BUILT.items()), ids=list(HAND_BUILT))
def test_hand_built_values_come_back_byte_for_byte(cql: str, cells: list[bytes | None], tmp_path: Any) -> None:
    cells = [*cells, None]
    assert through_parquet(codec_for(cql, USER_TYPES), cells, tmp_path / "c.parquet") == cells


def test_values_outside_datetime_are_exact_in_arrow() -> None:
    array = codec_for("timestamp").to_arrow([timestamp(INT64_MIN + 1), timestamp(YEAR_300000_MS)])
    assert array.cast(pa.int64()).to_pylist() == [INT64_MIN + 1, YEAR_300000_MS]
    dates = codec_for("date").to_arrow([struct.pack(">I", 0), struct.pack(">I", 2**32 - 1)])
    assert dates.cast(pa.int32()).to_pylist() == [-(2**31), 2**31 - 1]


def test_text_forms_of_decimal_varint_inet_keep_every_digit() -> None:
    cells = [decimal(2, 150), decimal(-2, 15), decimal(3, 0), decimal(0, -(10**50))]
    assert codec_for("decimal").to_arrow(cells).to_pylist() == ["1.50", "1.5E+3", "0.000", "-1" + "0" * 50]
    assert codec_for("varint").to_arrow([varint_bytes(-(10**200))]).to_pylist() == ["-1" + "0" * 200]
    assert codec_for("inet").to_arrow([ip_address("::1").packed]).to_pylist() == ["::1"]


def test_empty_cells_are_null_except_for_text_ascii_and_blob() -> None:
    for cql in ("int", "bigint", "boolean", "timestamp", "uuid", "inet", "decimal", "varint", "duration",
                "list<int>", "map<int, int>", "frozen<pair>", "tuple<int>", "vector<float, 2>", "vector<text, 1>"):
        codec = codec_for(cql, USER_TYPES)
        assert codec.to_arrow([b"", None]).null_count == 2, cql
        assert codec.from_arrow(codec.to_arrow([b""])) == [None], cql
    for cql in ("text", "ascii", "blob"):
        assert codec_for(cql).from_arrow(codec_for(cql).to_arrow([b""])) == [b""]


def test_missing_trailing_udt_fields_read_as_nulls_and_come_back_explicit() -> None:
    codec = codec_for("frozen<person>", USER_TYPES)
    short = fields(b"ann", fields(b"Elm"))  # written before ALTER TYPE added born, zip and tags
    array = codec.to_arrow([short])
    assert array.to_pylist() == [{"name": "ann", "home": {"street": "Elm", "zip": None, "tags": None}, "born": None}]
    assert codec.from_arrow(array) == [fields(b"ann", fields(b"Elm", None, None), None)]


def test_an_empty_element_in_a_collection_is_a_null_element() -> None:
    codec = codec_for("list<int>")
    assert codec.from_arrow(codec.to_arrow([collection(b"", encode_int(1))])) == [
        struct.pack(">i", 2) + fields(None, encode_int(1))]


# --- hypothesis round trips ----------------------------------------------------------------------

INT64 = st.integers(INT64_MIN, INT64_MAX)
INT32 = st.integers(-(2**31), 2**31 - 1)


def optional(values: st.SearchStrategy[bytes]) -> st.SearchStrategy[list[bytes | None]]:
    return st.lists(st.none() | values, max_size=20)


@settings(max_examples=60, deadline=None)
@given(optional(INT64.map(encode_bigint)))
def test_bigint_and_timestamp_round_trip(cells: list[bytes | None]) -> None:
    assert through_parquet(codec_for("bigint"), cells) == cells
    assert through_parquet(codec_for("timestamp"), cells) == cells


@settings(max_examples=60, deadline=None)
@given(optional(st.builds(decimal, INT32, st.integers(-(10**60), 10**60))))
def test_decimal_round_trips(cells: list[bytes | None]) -> None:
    assert through_parquet(codec_for("decimal"), cells) == cells


@settings(max_examples=60, deadline=None)
@given(optional(st.lists(st.text(max_size=10), max_size=5).map(lambda v: serialize("list<text>", v) or b"")))
def test_list_of_text_round_trips(cells: list[bytes | None]) -> None:
    assert through_parquet(codec_for("list<text>"), cells) == cells


@settings(max_examples=60, deadline=None)
@given(optional(st.dictionaries(INT32.map(encode_int), st.lists(INT64.map(timestamp), max_size=4).map(
    lambda stamps: collection(*stamps)), max_size=4).map(lambda entries: mapping(*entries.items()))))
def test_map_of_timestamp_lists_round_trips(cells: list[bytes | None]) -> None:
    assert through_parquet(codec_for("map<int, frozen<list<timestamp>>>"), cells) == cells


# --- Arrow and Parquet types ---------------------------------------------------------------------

DURATION = pa.struct([("months", pa.int32()), ("days", pa.int32()), ("nanoseconds", pa.int64())])
ARROW_TYPES = {
    "ascii": pa.string(), "text": pa.string(), "varchar": pa.string(), "blob": pa.binary(),
    "tinyint": pa.int8(), "smallint": pa.int16(), "int": pa.int32(), "bigint": pa.int64(), "counter": pa.int64(),
    "float": pa.float32(), "double": pa.float64(), "boolean": pa.bool_(),
    "timestamp": pa.timestamp("ms", tz="UTC"), "date": pa.date32(), "time": pa.time64("ns"),
    "uuid": pa.uuid(), "timeuuid": pa.uuid(), "inet": pa.string(), "decimal": pa.string(), "varint": pa.string(),
    "duration": DURATION,
    "list<int>": pa.list_(pa.int32()), "frozen<set<timeuuid>>": pa.list_(pa.uuid()),
    "map<text, frozen<list<date>>>": pa.map_(pa.string(), pa.list_(pa.date32())),
    "tuple<int, duration>": pa.struct([("_1", pa.int32()), ("_2", DURATION)]),
    "frozen<pair>": pa.struct([("a", pa.int32()), ("b", pa.string())]),
    "vector<float, 4>": pa.list_(pa.float32()),
}


@pytest.mark.parametrize(("cql", "expected"), list(ARROW_TYPES.items()), ids=list(ARROW_TYPES))
def test_arrow_types(cql: str, expected: pa.DataType) -> None:
    assert codec_for(cql, USER_TYPES).arrow_type == expected


def test_arrow_schema_has_nullable_fields() -> None:
    schema = arrow_schema([("id", "uuid"), ("who", "frozen<pair>")], USER_TYPES)
    assert schema.names == ["id", "who"]
    assert schema.types == [pa.uuid(), ARROW_TYPES["frozen<pair>"]]
    assert all(field.nullable for field in schema)


def test_parquet_files_carry_logical_types(tmp_path: Any) -> None:
    columns = {"u": ("uuid", serialize("uuid", U1)), "ts": ("timestamp", timestamp(0)),
               "d": ("date", struct.pack(">I", 2**31)), "t": ("time", encode_bigint(1)), "s": ("text", b"x")}
    table = pa.table({name: codec_for(cql).to_arrow([cell]) for name, (cql, cell) in columns.items()})
    pq.write_table(table, tmp_path / "t.parquet")
    schema = pq.ParquetFile(tmp_path / "t.parquet").schema
    logical = {schema.column(i).name: str(schema.column(i).logical_type) for i in range(len(columns))}
    assert logical["u"] == "UUID"
    assert logical["ts"].startswith("Timestamp(isAdjustedToUTC=true, timeUnit=milliseconds")
    assert logical["d"] == "Date"
    assert logical["t"].startswith("Time(isAdjustedToUTC=false, timeUnit=nanoseconds")
    assert logical["s"] == "String"


def test_codecs_pickle_and_keep_only_the_user_types_they_use() -> None:
    codec = codec_for("frozen<person>", USER_TYPES)
    assert [name for name, _ in codec.user_types] == ["address", "person"]
    copy = pickle.loads(pickle.dumps(codec))
    assert copy == codec
    assert copy.to_arrow([None]).type == codec.arrow_type


# --- arrays written by other tools ---------------------------------------------------------------


def test_exact_timestamps_of_other_units_and_zones_are_accepted() -> None:
    codec = codec_for("timestamp")
    assert codec.from_arrow(pa.array([1000, None], pa.timestamp("us", tz="Europe/Paris"))) == [timestamp(1), None]
    assert codec.from_arrow(pa.array([-2_000_000], pa.timestamp("ns"))) == [timestamp(-2)]  # as int96 reads


def test_timestamps_below_the_millisecond_are_refused_naming_both_types() -> None:
    with pytest.raises(CodecError, match=r"timestamp\[us\].*CQL timestamp.*lose data"):
        codec_for("timestamp").from_arrow(pa.array([1001], pa.timestamp("us")))


def test_integers_of_any_width_that_fit() -> None:
    assert codec_for("bigint").from_arrow(pa.array([7, None], pa.int32())) == [encode_bigint(7), None]
    assert codec_for("int").from_arrow(pa.array([-1], pa.int16())) == [encode_int(-1)]
    assert codec_for("smallint").from_arrow(pa.array([255], pa.uint8())) == [struct.pack(">h", 255)]
    with pytest.raises(CodecError, match=r"Arrow type int64 to CQL int"):
        codec_for("int").from_arrow(pa.array([2**40]))


def test_decimal128_becomes_exact_decimal_and_varint() -> None:
    array = pa.array([Decimal("1.50"), Decimal("-0.05"), None], pa.decimal128(10, 2))
    cells = codec_for("decimal").from_arrow(array)
    assert cells == [decimal(2, 150), decimal(2, -5), None]
    assert codec_for("decimal").to_arrow(cells).to_pylist() == ["1.50", "-0.05", None]
    whole = pa.array([Decimal("12.00")], pa.decimal256(40, 2))
    assert codec_for("varint").from_arrow(whole) == [varint_bytes(12)]
    with pytest.raises(CodecError, match=r"decimal128\(10, 2\).*CQL varint"):
        codec_for("varint").from_arrow(array)


def test_uuids_as_text_binary_and_fixed_size_binary() -> None:
    codec, raw = codec_for("uuid"), U1.bytes
    assert codec.from_arrow(pa.array([str(U1), None])) == [raw, None]
    assert codec.from_arrow(pa.array([raw], pa.binary(16))) == [raw]
    assert codec.from_arrow(pa.array([raw], pa.large_binary())) == [raw]
    with pytest.raises(CodecError, match=r"Arrow type string to CQL uuid"):
        codec.from_arrow(pa.array(["not a uuid"]))
    with pytest.raises(CodecError, match=r"Arrow type bool to CQL uuid"):
        codec.from_arrow(pa.array([True]))


def test_large_dictionary_and_chunked_arrays() -> None:
    text = codec_for("text")
    assert text.from_arrow(pa.array(["a", None], pa.large_string())) == [b"a", None]
    assert text.from_arrow(pa.array(["x", "y", "x"]).dictionary_encode()) == [b"x", b"y", b"x"]
    assert text.from_arrow(pa.chunked_array([["a"], [], ["b", None]])) == [b"a", b"b", None]
    nested = pa.array([[1, 2], None], pa.large_list(pa.int32()))
    assert codec_for("list<bigint>").from_arrow(nested) == [collection(encode_bigint(1), encode_bigint(2)), None]


def test_floats_only_when_not_rounded() -> None:
    assert codec_for("float").from_arrow(pa.array([1.5, math.inf])) == [struct.pack(">f", 1.5),
                                                                        struct.pack(">f", math.inf)]
    with pytest.raises(CodecError, match=r"double to CQL float: some values would be rounded"):
        codec_for("float").from_arrow(pa.array([0.1]))


def test_structs_by_field_name() -> None:
    codec = codec_for("frozen<pair>", USER_TYPES)
    assert codec.from_arrow(pa.array([{"b": "x"}], pa.struct([("b", pa.string())]))) == [fields(None, b"x")]
    with pytest.raises(CodecError, match=r"CQL pair: unknown fields \['c'\]"):
        codec.from_arrow(pa.array([{"a": 1, "c": 2}]))


def test_month_day_nano_intervals_as_durations() -> None:
    array = pa.array([pa.MonthDayNano([1, -2, 3]), None], pa.month_day_nano_interval())
    assert codec_for("duration").from_arrow(array) == [serialize("duration", Duration(1, -2, 3)), None]


def test_durations_need_exactly_their_three_fields() -> None:
    codec = codec_for("duration")
    widened = pa.array([{"nanoseconds": 3, "days": 2, "months": 1}],
                       pa.struct([("nanoseconds", pa.int64()), ("days", pa.int64()), ("months", pa.int64())]))
    assert codec.from_arrow(widened) == [serialize("duration", Duration(1, 2, 3))]
    with pytest.raises(CodecError, match=r"CQL duration: the fields are months, days, nanoseconds"):
        codec.from_arrow(pa.array([{"months": 1, "days": 2, "nanoseconds": 3, "extra": 4}]))
    with pytest.raises(CodecError, match=r"CQL duration"):
        codec.from_arrow(pa.array([{"months": None, "days": 2, "nanoseconds": 3}]))


def test_vectors_of_the_wrong_size_are_refused() -> None:
    with pytest.raises(CodecError, match=r"CQL vector<float, 3>: every vector has 3 elements"):
        codec_for("vector<float, 3>").from_arrow(pa.array([[1.0, 2.0]], pa.list_(pa.float32())))


# --- invalid cells -------------------------------------------------------------------------------


@pytest.mark.parametrize(("cql", "cell", "message"), [
    ("bigint", b"\x00\x01\x02", r"CQL bigint value is 8 bytes, got 3 \(cell 0\)"),
    ("uuid", b"\x00" * 15, r"CQL uuid value is 16 bytes, got 15"),
    ("text", b"\xff\xfe", r"CQL text value is not valid UTF-8"),
    ("inet", b"\x01\x02\x03", r"cannot read a CQL inet value"),
    ("vector<float, 2>", b"\x00" * 4, r"CQL vector<float, 2> value is 8 bytes, got 4"),
    ("vector<text, 2>", b"\x01a", r"not 2 length-prefixed elements"),
    ("frozen<pair>", fields(b"", b"", b""), r"CQL pair value has 3 fields, its type 2"),
    ("frozen<pair>", b"\x00\x00", r"CQL pair value is truncated"),
    ("list<int>", struct.pack(">i", 2) + fields(encode_int(1)), r"CQL list<int> value is truncated \(cell 0\)"),
    ("map<int, int>", collection(encode_int(1)), r"CQL map<int, int> value is truncated"),
])
def test_invalid_cells_are_refused_with_the_type(cql: str, cell: bytes, message: str) -> None:
    with pytest.raises(CodecError, match=message):
        codec_for(cql, USER_TYPES).to_arrow([cell])
