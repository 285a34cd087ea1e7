"""One CQL column between raw serialized cells and an Arrow array, exactly, for every CQL type.

Cells are CQL native protocol v4 values (``bytes``, ``None`` for null), as the raw scan reads them
and the raw writers bind them. The Arrow (and so Parquet) types:

=====================================  =================================================================
CQL                                    Arrow
=====================================  =================================================================
ascii, text (varchar) / blob           string / binary
tinyint smallint int bigint counter    int8 int16 int32 int64 int64
float double boolean                   float32 float64 bool (float bits kept, NaN payloads included)
timestamp                              timestamp[ms, UTC]: the int64 as it is, any value (no datetime)
date / time                            date32 (raw - 2^31 days, every value fits) / time64[ns]
uuid, timeuuid                         uuid extension (fixed_size_binary(16); Parquet UUID type)
inet                                   string (``ipaddress`` text; 4 or 16 raw bytes)
decimal                                string: ``str(Decimal)``, which keeps the scale ("1.50", "1.5E+3")
varint                                 string of decimal digits, any size
duration                               struct<months: int32, days: int32, nanoseconds: int64>
list<T>, set<T>, vector<T, n>          list<T'>          map<K, V>        map<K', V'>
tuple<A, B, ...>                       struct<_1, _2, ...>   user type     struct of its field names
=====================================  =================================================================

Frozen or not makes no difference. Cells come back byte for byte except for: a zero-length cell
of a type other than text, ascii and blob (the legacy "empty" value, which Arrow cannot tell from
null) becomes null, also inside collections, tuples and UDTs; a UDT value with fewer fields than
its type (written before ``ALTER TYPE ... ADD``) comes back with explicit null fields, which
Cassandra treats as the same value; non-canonical encodings (a boolean byte other than 0 and 1, a
varint or decimal with redundant leading bytes) come back canonical, with the same value.

Fixed-width values (numbers, timestamps, dates, times, booleans, uuids) are converted column-wise
with numpy, also as the elements of a vector or a collection (when no element is null or empty);
text and blobs by Arrow in C. Other types go value by value through converters built once per
type and process.

``from_arrow`` also takes what other tools write, converting only when nothing is lost: chunked
and dictionary-encoded arrays, any integer width whose values fit, timestamps of any unit and
time zone that are whole milliseconds (int96 ones arrive as timestamp[ns]), decimal128/256 and
integers as decimal or varint text, uuids as text, binary or fixed_size_binary(16), large
string/binary/list. Anything else raises ``CodecError`` (a ``ValueError``) naming both types.
"""

from __future__ import annotations

import functools
import ipaddress
import struct
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import MAX_EMAX, MAX_PREC, MIN_EMIN, Context, Decimal
from typing import Any
from uuid import UUID

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from cassandra.marshal import uvint_pack, uvint_unpack, vints_pack, vints_unpack

from migrator.backends.cassandra.ordering import CqlType, UserTypes, parse_cql_type, user_types_in
from migrator.backends.cassandra.raw import split_elements, split_fields, varint_bytes
from migrator.backends.cassandra.values import driver_type

Cells = Sequence[bytes | None]
FrozenUserTypes = tuple[tuple[str, tuple[tuple[str, str], ...]], ...]

_I32 = struct.Struct(">i")
_NULL_ITEM = _I32.pack(-1)
_INT32_RANGE = range(-(2**31), 2**31)
_DATE_FLIP = np.int32(-(2**31))  # raw days are unsigned with the epoch at 2^31: flipping the top bit
_EXACT = Context(prec=MAX_PREC, Emax=MAX_EMAX, Emin=MIN_EMIN)  # scaleb never rounds
_DURATION = pa.struct([("months", pa.int32()), ("days", pa.int32()), ("nanoseconds", pa.int64())])
_NUMBERS = {  # CQL type: (Arrow type, the signed integer type of the same width its bits are read as)
    "tinyint": (pa.int8(), pa.int8()), "smallint": (pa.int16(), pa.int16()), "int": (pa.int32(), pa.int32()),
    "bigint": (pa.int64(), pa.int64()), "counter": (pa.int64(), pa.int64()),
    "float": (pa.float32(), pa.int32()), "double": (pa.float64(), pa.int64()),
    "timestamp": (pa.timestamp("ms", tz="UTC"), pa.int64()), "time": (pa.time64("ns"), pa.int64()),
    "date": (pa.date32(), pa.int32()),
}


class CodecError(ValueError):
    """A cell that is not a valid value of its CQL type, or an Arrow array that cannot become one."""


# --- the public interface ------------------------------------------------------------------------


@dataclass(frozen=True)
class ColumnCodec:
    """Converts one column of ``cql_type`` (plain, picklable data: converters are built on first use)."""

    cql_type: str
    user_types: FrozenUserTypes = ()

    @property
    def arrow_type(self) -> pa.DataType:
        """The Arrow type of this column's arrays."""
        return _converter(self.cql_type, self.user_types).arrow_type

    def to_arrow(self, cells: Cells) -> pa.Array:
        """Raw CQL cells (``None`` for null) as an Arrow array of ``arrow_type``."""
        return _converter(self.cql_type, self.user_types).to_arrow(cells)

    def from_arrow(self, array: pa.Array | pa.ChunkedArray) -> list[bytes | None]:
        """An Arrow array (this codec's type, or one convertible without loss) as raw CQL cells."""
        return _converter(self.cql_type, self.user_types).from_arrow(array)


def codec_for(cql_type: str, user_types: UserTypes | None = None) -> ColumnCodec:
    """The codec of a CQL type; ``user_types`` maps UDT names to their ``(field, cql type)`` pairs.

    Raises ``ValueError`` for a type that cannot be parsed (unknown UDT, custom type).
    """
    known = user_types or {}
    used = user_types_in(parse_cql_type(cql_type, known))
    frozen = tuple((name, tuple((field, ftype) for field, ftype in known[name])) for name in used)
    return ColumnCodec(cql_type, frozen)


def arrow_schema(columns: Sequence[tuple[str, str]], user_types: UserTypes | None = None) -> pa.Schema:
    """The Arrow schema of ``(name, cql type)`` columns, every field nullable."""
    return pa.schema([pa.field(name, codec_for(cql, user_types).arrow_type) for name, cql in columns])


@functools.lru_cache(maxsize=1024)
def _converter(cql_type: str, user_types: FrozenUserTypes) -> _Converter:
    return _build(parse_cql_type(cql_type, dict(user_types)))


# --- array helpers -------------------------------------------------------------------------------


def _plain(array: pa.Array | pa.ChunkedArray) -> pa.Array:
    """One contiguous, decoded array: chunks combined, dictionaries decoded, extension types unwrapped."""
    if isinstance(array, pa.ChunkedArray):
        array = array.combine_chunks()
    if pa.types.is_dictionary(array.type):
        array = array.dictionary_decode()
    if isinstance(array.type, pa.BaseExtensionType):
        array = array.storage
    return array


def _mismatch(source: pa.DataType, cql: str, why: object) -> CodecError:
    return CodecError(f"cannot convert Arrow type {source} to CQL {cql}: {why}")


def _cast(array: pa.Array, target: pa.DataType, cql: str) -> pa.Array:
    """``array`` as ``target``, refused when a value would change (pyarrow's safe cast, plus floats)."""
    if array.type == target:
        return array
    try:
        result = pc.cast(array, target, safe=True)
    except pa.ArrowException as exc:
        raise _mismatch(array.type, cql, exc) from None
    if pa.types.is_floating(array.type) and pa.types.is_floating(target):  # safe casts may round these
        back = pc.cast(result, array.type)
        same = pc.or_(pc.equal(back, array), pc.and_(pc.is_nan(back), pc.is_nan(array)))
        if pc.all(same).as_py() is False:
            raise _mismatch(array.type, cql, "some values would be rounded")
    return result


def _validity(array: pa.Array) -> np.ndarray | None:
    """Which entries are not null; ``None`` when none is."""
    if array.null_count == 0:
        return None
    return np.asarray(array.is_valid().to_numpy(zero_copy_only=False), dtype=bool)


def _null_mask(cells: Cells) -> pa.Array | None:
    """Arrow's null mask of cells whose null is ``None`` or zero bytes; ``None`` when none is."""
    mask = [not cell for cell in cells]
    return pa.array(mask, pa.bool_()) if any(mask) else None


def _binary_buffers(cells: Cells) -> tuple[np.ndarray, np.ndarray]:
    """All cells' bytes one after the other (uint8), and where each starts and ends (n + 1 offsets)."""
    binary = pa.array(cells, pa.large_binary())
    bounds = np.frombuffer(binary.buffers()[1], np.int64, len(binary) + 1)
    size = int(bounds[-1])
    return (np.frombuffer(binary.buffers()[2], np.uint8, size) if size else np.zeros(0, np.uint8)), bounds


def _cells_from(data: np.ndarray, bounds: np.ndarray, valid: np.ndarray | None) -> list[bytes | None]:
    """Cells cut from ``data`` at ``bounds`` (``None`` where not ``valid``), by Arrow in C."""
    validity = None if valid is None else pa.array(valid).buffers()[1]
    buffers = [validity, pa.py_buffer(bounds.astype(np.int64)), pa.py_buffer(np.ascontiguousarray(data))]
    cells: list[bytes | None] = pa.Array.from_buffers(pa.large_binary(), len(bounds) - 1, buffers).to_pylist()
    return cells


def _windows(data: np.ndarray, width: int) -> np.ndarray:
    """Every run of ``width`` bytes of ``data`` (a writable view: row i starts at byte i)."""
    return np.lib.stride_tricks.as_strided(data, (max(len(data) - width + 1, 0), width), (1, 1))


def _ints_at(data: np.ndarray, positions: np.ndarray) -> np.ndarray:
    """The big-endian int32s at ``positions`` in ``data``."""
    return _windows(data, 4)[positions].view(">i4").reshape(-1)


def _gather(cells: Cells, width: int, cql: str) -> tuple[np.ndarray, np.ndarray | None]:
    """Non-empty cells of ``width`` bytes as an (m, width) uint8 matrix, and which cells they are.

    The mask is ``None`` when every cell is present; a cell of another length raises ``CodecError``.
    """
    data, bounds = _binary_buffers(cells)
    lengths = np.diff(bounds)
    present = lengths != 0
    wrong = present & (lengths != width)
    if wrong.any():
        index = int(np.argmax(wrong))
        raise CodecError(f"a CQL {cql} value is {width} bytes, got {lengths[index]} (cell {index})")
    return data.reshape(-1, width), (None if present.all() else present)


def _scatter(values: np.ndarray, present: np.ndarray | None) -> tuple[np.ndarray, np.ndarray | None]:
    """Values of the present cells spread over all cells (zeros elsewhere), and the null mask."""
    if present is None:
        return values, None
    full = np.zeros((len(present), *values.shape[1:]), values.dtype)
    full[present] = values
    return full, ~present


def _bounds(sizes: np.ndarray) -> np.ndarray:
    return np.concatenate([[0], np.cumsum(sizes, dtype=np.int64)])


# --- fixed-width types ---------------------------------------------------------------------------


class _Converter:
    """One CQL type's conversions; ``cql`` names the type in errors."""

    cql: str
    arrow_type: pa.DataType

    def to_arrow(self, cells: Cells) -> pa.Array:
        raise NotImplementedError

    def from_arrow(self, array: pa.Array | pa.ChunkedArray) -> list[bytes | None]:
        array = self.conform(_plain(array))
        return self.encode(array) if len(array) else []

    def conform(self, array: pa.Array) -> pa.Array:
        """``array`` (plain) as this converter's Arrow type, or ``CodecError``."""
        return _cast(array, self.arrow_type, self.cql)

    def encode(self, array: pa.Array) -> list[bytes | None]:
        """A non-empty conformed array as cells."""
        raise NotImplementedError


class _Fixed(_Converter):
    """Values of ``width`` bytes, converted a whole column (or all elements of a column) at a time."""

    width: int

    def to_arrow(self, cells: Cells) -> pa.Array:
        return self.from_rows(*_gather(cells, self.width, self.cql))

    def encode(self, array: pa.Array) -> list[bytes | None]:
        return _cells_from(self.blob(array), np.arange(len(array) + 1) * self.width, _validity(array))

    def from_rows(self, rows: np.ndarray, present: np.ndarray | None) -> pa.Array:
        """An (m, width) uint8 matrix of raw values as an array, spread over ``present`` if given."""
        raise NotImplementedError

    def blob(self, array: pa.Array) -> np.ndarray:
        """The raw values of a conformed array as an (n, width) uint8 matrix (any bytes for nulls)."""
        raise NotImplementedError


class _Number(_Fixed):
    """Integers, floats (their bits), timestamp, date and time: big-endian integers of their width."""

    def __init__(self, cql: str, arrow_type: pa.DataType, bits_type: pa.DataType, flip: np.int32 | None) -> None:
        self.cql, self.arrow_type, self._bits_type, self._flip = cql, arrow_type, bits_type, flip
        self.width = bits_type.bit_width // 8
        self._big = np.dtype(f">i{self.width}")
        self._native = np.dtype(f"=i{self.width}")

    def from_rows(self, rows: np.ndarray, present: np.ndarray | None) -> pa.Array:
        values = rows.view(self._big).reshape(-1).astype(self._native)
        if self._flip is not None:
            values ^= self._flip
        values, mask = _scatter(values, present)
        return pa.array(values, self._bits_type, mask=mask).view(self.arrow_type)

    def blob(self, array: pa.Array) -> np.ndarray:
        bits = array.view(self._bits_type)
        values = np.frombuffer(bits.buffers()[1], self._native, len(bits), bits.offset * self.width)
        if self._flip is not None:
            values = values ^ self._flip
        return values.astype(self._big).view(np.uint8).reshape(-1, self.width)


class _Boolean(_Fixed):
    cql, arrow_type, width = "boolean", pa.bool_(), 1

    def from_rows(self, rows: np.ndarray, present: np.ndarray | None) -> pa.Array:
        values, mask = _scatter(rows[:, 0] != 0, present)
        return pa.array(values, pa.bool_(), mask=mask)

    def blob(self, array: pa.Array) -> np.ndarray:
        return array.fill_null(False).to_numpy(zero_copy_only=False).astype(np.uint8).reshape(-1, 1)


class _Uuid(_Fixed):
    arrow_type, width = pa.uuid(), 16

    def __init__(self, cql: str) -> None:
        self.cql = cql

    def from_rows(self, rows: np.ndarray, present: np.ndarray | None) -> pa.Array:
        values, mask = _scatter(rows, present)
        validity = None if mask is None else pa.array(~mask).buffers()[1]
        storage = pa.Array.from_buffers(pa.binary(16), len(values), [validity, pa.py_buffer(values)])
        return pa.ExtensionArray.from_storage(self.arrow_type, storage)

    def conform(self, array: pa.Array) -> pa.Array:
        if _is_text(array.type):
            try:
                return pa.array([None if s is None else UUID(s).bytes for s in array.to_pylist()], pa.binary(16))
            except ValueError as exc:
                raise _mismatch(array.type, self.cql, exc) from None
        return _cast(array, pa.binary(16), self.cql)

    def blob(self, array: pa.Array) -> np.ndarray:
        return np.frombuffer(array.buffers()[1], np.uint8, len(array) * 16, array.offset * 16).reshape(-1, 16)


# --- text, blobs and types converted value by value ----------------------------------------------


class _Bytes(_Converter):
    """text, ascii (UTF-8 checked by Arrow) and blob."""

    def __init__(self, cql: str, arrow_type: pa.DataType) -> None:
        self.cql, self.arrow_type = cql, arrow_type

    def to_arrow(self, cells: Cells) -> pa.Array:
        binary = pa.array(cells, pa.binary())
        try:
            return binary.cast(self.arrow_type)
        except pa.ArrowInvalid as exc:
            raise CodecError(f"a CQL {self.cql} value is not valid UTF-8 ({exc})") from None

    def encode(self, array: pa.Array) -> list[bytes | None]:
        cells: list[bytes | None] = array.view(pa.binary()).to_pylist()
        return cells


class _PerValue(_Converter):
    """Types converted value by value: inet, decimal, varint (as text) and duration."""

    def __init__(self, cql: str, arrow_type: pa.DataType, decode: Callable[[bytes], Any],
                 encode: Callable[[Any], bytes], accepts: Callable[[pa.DataType], bool]) -> None:
        self.cql, self.arrow_type = cql, arrow_type
        self._decode, self._encode, self._accepts = decode, encode, accepts

    def to_arrow(self, cells: Cells) -> pa.Array:
        decode = self._decode
        try:
            return pa.array([decode(cell) if cell else None for cell in cells], self.arrow_type)
        except (ValueError, IndexError, OverflowError, struct.error) as exc:
            raise CodecError(f"cannot read a CQL {self.cql} value: {exc}") from None

    def from_arrow(self, array: pa.Array | pa.ChunkedArray) -> list[bytes | None]:
        plain = _plain(array)  # kept to name the type the values came as
        values, encode = self.conform(plain).to_pylist(), self._encode
        try:
            return [None if value is None else encode(value) for value in values]
        except (ValueError, TypeError, ArithmeticError, struct.error) as exc:
            raise _mismatch(plain.type, self.cql, exc) from None

    def conform(self, array: pa.Array) -> pa.Array:
        if array.type != self.arrow_type and not self._accepts(array.type):
            raise _mismatch(array.type, self.cql, "not a compatible type")
        return _cast(array, self.arrow_type, self.cql)


def _is_text(arrow_type: pa.DataType) -> bool:
    return bool(pa.types.is_string(arrow_type) or pa.types.is_large_string(arrow_type))


def _is_number_text(arrow_type: pa.DataType) -> bool:
    return _is_text(arrow_type) or bool(pa.types.is_integer(arrow_type) or pa.types.is_decimal(arrow_type))


def _decimal_text(raw: bytes) -> str:
    scale = _I32.unpack_from(raw)[0]
    return str(_EXACT.scaleb(Decimal(int.from_bytes(raw[4:], "big", signed=True)), -scale))


def _decimal_raw(text: str) -> bytes:
    value = Decimal(text)
    exponent = value.as_tuple().exponent
    if not isinstance(exponent, int) or -exponent not in _INT32_RANGE:
        raise ValueError(f"{text!r} is not a CQL decimal (finite, scale within int32)")
    return _I32.pack(-exponent) + varint_bytes(int(_EXACT.scaleb(value, -exponent)))


def _varint_text(raw: bytes) -> str:
    return str(Decimal(int.from_bytes(raw, "big", signed=True)))  # str(int) stops at 4300 digits


def _varint_raw(text: str) -> bytes:
    value = Decimal(text)
    if not value.is_finite() or value != value.to_integral_value():
        raise ValueError(f"{text!r} is not an integer")
    return varint_bytes(int(value))


def _duration_value(raw: bytes) -> tuple[int, ...]:
    values = vints_unpack(raw)
    if len(values) != 3:
        raise ValueError(f"a duration is 3 numbers, got {len(values)}")
    return tuple(values)


class _Duration(_PerValue):
    def __init__(self, cql: str) -> None:
        super().__init__(cql, _DURATION, _duration_value,
                         lambda v: vints_pack((v["months"], v["days"], v["nanoseconds"])), pa.types.is_struct)

    def conform(self, array: pa.Array) -> pa.Array:
        if array.type == pa.month_day_nano_interval():
            rows = [None if v is None else (v.months, v.days, v.nanoseconds) for v in array.to_pylist()]
            return pa.array(rows, _DURATION)
        if pa.types.is_struct(array.type) and sorted(f.name for f in array.type) != sorted(_DURATION.names):
            raise _mismatch(array.type, self.cql, f"the fields are {', '.join(_DURATION.names)}")
        return super().conform(array)


def _per_value(kind: str, cql: str) -> _Converter:
    if kind == "inet":
        return _PerValue(cql, pa.string(), lambda raw: str(ipaddress.ip_address(raw)),
                         lambda text: ipaddress.ip_address(text).packed, _is_text)
    if kind == "decimal":
        return _PerValue(cql, pa.string(), _decimal_text, _decimal_raw, _is_number_text)
    if kind == "varint":
        return _PerValue(cql, pa.string(), _varint_text, _varint_raw, _is_number_text)
    return _Duration(cql)


# --- collections ---------------------------------------------------------------------------------


def _is_list(arrow_type: pa.DataType) -> bool:
    return bool(pa.types.is_list(arrow_type) or pa.types.is_large_list(arrow_type)
                or pa.types.is_fixed_size_list(arrow_type))


def _list_shape(array: pa.Array) -> tuple[np.ndarray, np.ndarray | None]:
    """Element counts of a list-like array's entries (0 for null ones), and their validity."""
    valid = _validity(array)
    counts: np.ndarray
    if pa.types.is_fixed_size_list(array.type):
        counts = np.full(len(array), array.type.list_size, np.int64)
    else:
        counts = np.diff(np.asarray(array.offsets.to_numpy(zero_copy_only=False), np.int64))
    if valid is not None:
        counts[~valid] = 0
    return counts, valid


def _entry_starts(starts: np.ndarray, counts: np.ndarray, entry: int) -> np.ndarray:
    """Where each entry of a run of collections is, given where their first entries are, for ``entry`` bytes."""
    before = np.cumsum(counts) - counts
    return np.repeat(starts - before * entry, counts) + np.arange(int(counts.sum())) * entry


def _read_regular(cells: Cells, widths: Sequence[int]) -> tuple[list[np.ndarray], pa.Array, np.ndarray] | None:
    """Collections whose every item has its fixed width, read with numpy; ``None`` when one has not.

    Returns the items of each part (one for lists, two for maps) as (total, width) matrices, the entry
    offsets and which cells are present.
    """
    data, bounds = _binary_buffers(cells)
    lengths = np.diff(bounds)
    present = lengths != 0
    starts, lengths = bounds[:-1][present], lengths[present]
    entry = sum(4 + width for width in widths)
    if (lengths < 4).any():
        return None
    counts = _ints_at(data, starts).astype(np.int64)
    if (lengths != 4 + counts * entry).any():
        return None
    positions = _entry_starts(starts + 4, counts, entry)
    parts = []
    for width in widths:
        if (_ints_at(data, positions) != width).any():
            return None
        parts.append(_windows(data, width)[positions + 4])
        positions = positions + 4 + width
    all_counts = np.zeros(len(present), np.int64)
    all_counts[present] = counts
    return parts, pa.array(_bounds(all_counts), pa.int32()), present


def _write_regular(parts: Sequence[np.ndarray], counts: np.ndarray, valid: np.ndarray | None) -> list[bytes | None]:
    """Collections of fixed-width items serialized with numpy: the inverse of ``_read_regular``."""
    entry = sum(4 + part.shape[1] for part in parts)
    present = np.ones(len(counts), bool) if valid is None else valid
    bounds = _bounds(np.where(present, 4 + counts * entry, 0))
    out = np.empty(int(bounds[-1]), np.uint8)
    starts, kept = bounds[:-1][present], counts[present]
    _windows(out, 4)[starts] = kept.astype(">i4").view(np.uint8).reshape(-1, 4)
    positions = _entry_starts(starts + 4, kept, entry)
    for part in parts:
        _windows(out, 4)[positions] = np.frombuffer(_I32.pack(part.shape[1]), np.uint8)
        _windows(out, part.shape[1])[positions + 4] = part
        positions = positions + 4 + part.shape[1]
    return _cells_from(out, bounds, valid)


def _frame(items: Sequence[bytes | None]) -> bytes:
    """Items each with its int32 length, -1 for null (``raw.join_elements`` takes no nulls)."""
    return b"".join([_NULL_ITEM if item is None else _I32.pack(len(item)) + item for item in items])


class _Collection(_Converter):
    """list and set (one part: the element), map (two: key and value)."""

    def __init__(self, cql: str, parts: Sequence[_Converter]) -> None:
        self.cql, self.parts = cql, tuple(parts)
        types = [part.arrow_type for part in parts]
        self.arrow_type = pa.list_(types[0]) if len(types) == 1 else pa.map_(*types)
        fixed = tuple(part for part in parts if isinstance(part, _Fixed))
        self._fixed = fixed if len(fixed) == len(parts) else None  # numpy does the whole column

    def to_arrow(self, cells: Cells) -> pa.Array:
        regular = None if self._fixed is None else _read_regular(cells, [part.width for part in self._fixed])
        if regular is not None and self._fixed is not None:
            items, bounds, present = regular
            arrays = [part.from_rows(rows, None) for part, rows in zip(self._fixed, items, strict=True)]
            mask = None if present.all() else pa.array(~present)
        else:
            flat, bounds = self._unpack(cells)
            arrays = [part.to_arrow(flat[i :: len(self.parts)]) for i, part in enumerate(self.parts)]
            mask = _null_mask(cells)
        try:
            if len(arrays) == 1:
                return pa.ListArray.from_arrays(bounds, arrays[0], self.arrow_type, mask=mask)
            return pa.MapArray.from_arrays(bounds, *arrays, self.arrow_type, mask=mask)
        except pa.ArrowInvalid as exc:
            raise CodecError(f"cannot convert a CQL {self.cql} value: {exc}") from None

    def _unpack(self, cells: Cells) -> tuple[list[bytes | None], pa.Array]:
        """All items of the collections, flat, and each collection's entry offsets."""
        step = len(self.parts)
        flat: list[bytes | None] = []
        bounds = [0]
        try:
            for cell in cells:
                if cell:
                    flat += split_elements(cell, per_entry=step)
                bounds.append(len(flat))
        except struct.error:
            raise CodecError(f"a CQL {self.cql} value is truncated (cell {len(bounds) - 1})") from None
        return flat, pa.array(np.asarray(bounds, np.int32) // step, pa.int32())

    def conform(self, array: pa.Array) -> pa.Array:
        if len(self.parts) == 2 and not pa.types.is_map(array.type):
            raise _mismatch(array.type, self.cql, "not a map")
        if len(self.parts) == 1 and not _is_list(array.type):
            raise _mismatch(array.type, self.cql, "not a list")
        return array

    def encode(self, array: pa.Array) -> list[bytes | None]:
        counts, valid = _list_shape(array)
        flats = [_plain(flat) for flat in self._entries(array)]
        if self._fixed is not None:
            conformed = [part.conform(flat) for part, flat in zip(self._fixed, flats, strict=True)]
            if not any(c.null_count for c in conformed):
                blobs = [part.blob(c) for part, c in zip(self._fixed, conformed, strict=True)]
                return _write_regular(blobs, counts, valid)
        columns = [part.from_arrow(flat) for part, flat in zip(self.parts, flats, strict=True)]
        items = columns[0] if len(columns) == 1 else [item for pair in zip(*columns, strict=True) for item in pair]
        out: list[bytes | None] = []
        pos = 0
        for count, ok in zip(counts.tolist(), [True] * len(counts) if valid is None else valid.tolist(), strict=True):
            end = pos + count * len(self.parts)
            out.append(_I32.pack(count) + _frame(items[pos:end]) if ok else None)
            pos = end
        return out

    @staticmethod
    def _entries(array: pa.Array) -> list[pa.Array]:
        """The elements of a list-like array, or the keys and the values of a map, flat."""
        if not pa.types.is_map(array.type):
            return [array.flatten()]
        entry = pa.struct([array.type.key_field, array.type.item_field])
        return list(array.view(pa.list_(pa.field("entries", entry, nullable=False))).flatten().flatten())


# --- tuples, UDTs and vectors --------------------------------------------------------------------


class _Struct(_Converter):
    """tuple (fields ``_1``, ``_2``, ...) and UDT; missing trailing fields of a value are null."""

    def __init__(self, cql: str, names: Sequence[str], fields: Sequence[_Converter]) -> None:
        self.cql, self.names, self.fields = cql, tuple(names), tuple(fields)
        self.arrow_type = pa.struct([pa.field(n, f.arrow_type) for n, f in zip(names, fields, strict=True)])

    def to_arrow(self, cells: Cells) -> pa.Array:
        width = len(self.fields)
        blank = [None] * width
        rows = [self._values(cell) if cell else blank for cell in cells]
        columns = list(zip(*rows, strict=True)) or [()] * width
        arrays = [field.to_arrow(column) for field, column in zip(self.fields, columns, strict=True)]
        return pa.StructArray.from_arrays(arrays, fields=list(self.arrow_type), mask=_null_mask(cells))

    def _values(self, cell: bytes) -> list[bytes | None]:
        try:
            values = split_fields(cell)
        except struct.error:
            raise CodecError(f"a CQL {self.cql} value is truncated") from None
        missing = len(self.fields) - len(values)
        if missing < 0:
            raise CodecError(f"a CQL {self.cql} value has {len(values)} fields, its type {len(self.fields)}")
        return values + [None] * missing

    def conform(self, array: pa.Array) -> pa.Array:
        if not pa.types.is_struct(array.type):
            raise _mismatch(array.type, self.cql, "not a struct")
        extra = [field.name for field in array.type if field.name not in self.names]
        if extra:
            raise _mismatch(array.type, self.cql, f"unknown fields {extra}")
        return array

    def encode(self, array: pa.Array) -> list[bytes | None]:
        given = dict(zip([field.name for field in array.type], array.flatten(), strict=True))
        nulls: list[bytes | None] = [None] * len(array)
        columns = [field.from_arrow(given[name]) if name in given else nulls
                   for name, field in zip(self.names, self.fields, strict=True)]
        rows = zip(*columns, strict=True)
        valid = _validity(array)
        if valid is None:
            return [_frame(row) for row in rows]
        return [_frame(row) if ok else None for row, ok in zip(rows, valid.tolist(), strict=True)]


class _Vector(_Converter):
    """vector<T, n>: n elements, fixed-size ones concatenated, others each after its unsigned vint length."""

    def __init__(self, cql: str, element: _Converter, dimension: int, element_size: int | None) -> None:
        self.cql, self.element, self.dimension, self.size = cql, element, dimension, element_size
        self.arrow_type = pa.list_(element.arrow_type)
        # Cassandra frames smallint, tinyint, date and time elements as variable-size: follow the driver.
        self._fixed = element if isinstance(element, _Fixed) and element.width == element_size else None

    def to_arrow(self, cells: Cells) -> pa.Array:
        if self._fixed is not None:
            rows, present = _gather(cells, self.dimension * self._fixed.width, self.cql)
            values = self._fixed.from_rows(rows.reshape(-1, self._fixed.width), None)
        else:
            present = np.asarray([bool(cell) for cell in cells], dtype=bool)
            values = self.element.to_arrow([item for cell in cells if cell for item in self._items(cell)])
        counts = np.ones(len(cells), np.int64) if present is None else present.astype(np.int64)
        bounds = pa.array(_bounds(counts * self.dimension), pa.int32())
        mask = None if present is None or present.all() else pa.array(~present)
        return pa.ListArray.from_arrays(bounds, values, self.arrow_type, mask=mask)

    def _items(self, cell: bytes) -> list[bytes | None]:
        if self.size is not None:
            if len(cell) != self.size * self.dimension:
                raise CodecError(f"a CQL {self.cql} value is {self.size * self.dimension} bytes, got {len(cell)}")
            return [cell[i : i + self.size] for i in range(0, len(cell), self.size)]
        view, pos = memoryview(cell), 0
        items: list[bytes | None] = []
        try:
            for _ in range(self.dimension):
                size, used = uvint_unpack(view[pos:])
                items.append(bytes(view[pos + used : pos + used + size]))
                pos += used + size
        except IndexError:
            pos = -1
        if pos != len(cell):
            raise CodecError(f"a CQL {self.cql} value is not {self.dimension} length-prefixed elements")
        return items

    def conform(self, array: pa.Array) -> pa.Array:
        if not _is_list(array.type):
            raise _mismatch(array.type, self.cql, "not a list")
        return array

    def encode(self, array: pa.Array) -> list[bytes | None]:
        counts, valid = _list_shape(array)
        flat = array.flatten()
        if (counts != (self.dimension if valid is None else np.where(valid, self.dimension, 0))).any():
            raise _mismatch(array.type, self.cql, f"every vector has {self.dimension} elements")
        if flat.null_count:
            raise _mismatch(array.type, self.cql, "a vector holds no nulls")
        if self._fixed is not None:
            data = self._fixed.blob(self._fixed.conform(_plain(flat)))
            return _cells_from(data, _bounds(counts * self._fixed.width), valid)
        items = self.element.from_arrow(flat)
        prefix = (lambda item: b"") if self.size is not None else (lambda item: uvint_pack(len(item)))
        parts = [prefix(item) + item for item in items if item is not None]
        rows = iter([b"".join(parts[i : i + self.dimension]) for i in range(0, len(parts), self.dimension)])
        return [next(rows) if count else None for count in counts.tolist()]


# --- building ------------------------------------------------------------------------------------


def _describe(parsed: CqlType) -> str:
    """The CQL spelling of a parsed type, for messages."""
    if parsed.kind == "udt":
        return parsed.name or "udt"
    if parsed.kind == "vector":
        return f"vector<{_describe(parsed.params[0])}, {parsed.dimension}>"
    if parsed.params:
        return f"{parsed.kind}<{', '.join(_describe(p) for p in parsed.params)}>"
    return parsed.kind


def _build(parsed: CqlType) -> _Converter:
    kind, cql = parsed.kind, _describe(parsed)
    if kind in _NUMBERS:
        return _Number(cql, *_NUMBERS[kind], flip=_DATE_FLIP if kind == "date" else None)
    if kind == "boolean":
        return _Boolean()
    if kind in ("uuid", "timeuuid"):
        return _Uuid(cql)
    if kind in ("text", "ascii", "blob"):
        return _Bytes(cql, pa.binary() if kind == "blob" else pa.string())
    if kind in ("inet", "decimal", "varint", "duration"):
        return _per_value(kind, cql)
    params = [_build(p) for p in parsed.params]
    if kind in ("list", "set", "map"):
        return _Collection(cql, params)
    if kind == "tuple":
        return _Struct(cql, [f"_{i}" for i in range(1, len(params) + 1)], params)
    if kind == "udt":
        return _Struct(cql, parsed.field_names, params)
    if kind == "vector":
        return _Vector(cql, params[0], parsed.dimension or 0, driver_type(parsed.params[0]).serial_size())
    raise ValueError(f"no Parquet conversion for CQL type {cql!r}")  # pragma: no cover - parse rejects it first
