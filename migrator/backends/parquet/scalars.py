"""Converters of the scalar CQL types.

Fixed-width ones go column-wise with numpy, text and blobs through Arrow in C, and the few others
(inet, decimal, varint, duration) value by value.

``codec`` has the type mapping; ``Converter`` is what every converter (nested ones too) provides.
"""

from __future__ import annotations

import ipaddress
import struct
from collections.abc import Callable
from decimal import MAX_EMAX, MAX_PREC, MIN_EMIN, Context, Decimal
from typing import Any
from uuid import UUID

import numpy as np
import pyarrow as pa
from cassandra.marshal import vints_pack, vints_unpack

from migrator.backends.cassandra.raw import varint_bytes
from migrator.backends.parquet.arrays import (
    INT32,
    Cells,
    CodecError,
    cast_exact,
    cells_from,
    gather,
    mismatch,
    plain,
    scatter,
    validity,
)

_INT32_RANGE = range(-(2**31), 2**31)
DATE_FLIP = np.int32(-(2**31))  # raw days are unsigned with the epoch at 2^31: flipping the top bit
_EXACT = Context(prec=MAX_PREC, Emax=MAX_EMAX, Emin=MIN_EMIN)  # scaleb never rounds
_DURATION = pa.struct([("months", pa.int32()), ("days", pa.int32()), ("nanoseconds", pa.int64())])
NUMBERS = {  # CQL type: (Arrow type, the signed integer type of the same width its bits are read as)
    "tinyint": (pa.int8(), pa.int8()), "smallint": (pa.int16(), pa.int16()), "int": (pa.int32(), pa.int32()),
    "bigint": (pa.int64(), pa.int64()), "counter": (pa.int64(), pa.int64()),
    "float": (pa.float32(), pa.int32()), "double": (pa.float64(), pa.int64()),
    "timestamp": (pa.timestamp("ms", tz="UTC"), pa.int64()), "time": (pa.time64("ns"), pa.int64()),
    "date": (pa.date32(), pa.int32()),
}


# --- fixed-width types ---------------------------------------------------------------------------


class Converter:
    """One CQL type's conversions; ``cql`` names the type in errors."""

    cql: str
    arrow_type: pa.DataType

    def to_arrow(self, cells: Cells) -> pa.Array:
        """Raw CQL cells as an Arrow array of ``arrow_type``."""
        raise NotImplementedError

    def from_arrow(self, array: pa.Array | pa.ChunkedArray) -> list[bytes | None]:
        """An Arrow array (this type, or one that converts without loss) as raw CQL cells."""
        array = self.conform(plain(array))
        return self.encode(array) if len(array) else []

    def conform(self, array: pa.Array) -> pa.Array:
        """``array`` (plain) as this converter's Arrow type, or ``CodecError``."""
        return cast_exact(array, self.arrow_type, self.cql)

    def encode(self, array: pa.Array) -> list[bytes | None]:
        """A non-empty conformed array as cells."""
        raise NotImplementedError


class Fixed(Converter):
    """Values of ``width`` bytes, converted a whole column (or all elements of a column) at a time."""

    width: int

    def to_arrow(self, cells: Cells) -> pa.Array:
        """Raw CQL cells as an Arrow array of ``arrow_type``."""
        return self.from_rows(*gather(cells, self.width, self.cql))

    def encode(self, array: pa.Array) -> list[bytes | None]:
        """An array already in ``arrow_type`` as raw CQL cells."""
        return cells_from(self.blob(array), np.arange(len(array) + 1) * self.width, validity(array))

    def from_rows(self, rows: np.ndarray, present: np.ndarray | None) -> pa.Array:
        """An (m, width) uint8 matrix of raw values as an array, spread over ``present`` if given."""
        raise NotImplementedError

    def blob(self, array: pa.Array) -> np.ndarray:
        """The raw values of a conformed array as an (n, width) uint8 matrix (any bytes for nulls)."""
        raise NotImplementedError


class Number(Fixed):
    """Integers, floats (their bits), timestamp, date and time: big-endian integers of their width."""

    def __init__(self, cql: str, arrow_type: pa.DataType, bits_type: pa.DataType, flip: np.int32 | None) -> None:
        self.cql, self.arrow_type, self._bits_type, self._flip = cql, arrow_type, bits_type, flip
        self.width = bits_type.bit_width // 8
        self._big = np.dtype(f">i{self.width}")
        self._native = np.dtype(f"=i{self.width}")

    def from_rows(self, rows: np.ndarray, present: np.ndarray | None) -> pa.Array:
        """Values as rows of their big-endian bytes (``present``: which are not null) as an Arrow array."""
        values = rows.view(self._big).reshape(-1).astype(self._native)
        if self._flip is not None:
            values ^= self._flip
        values, mask = scatter(values, present)
        return pa.array(values, self._bits_type, mask=mask).view(self.arrow_type)

    def blob(self, array: pa.Array) -> np.ndarray:
        """The values of an array in ``arrow_type`` as rows of their big-endian bytes."""
        bits = array.view(self._bits_type)
        values = np.frombuffer(bits.buffers()[1], self._native, len(bits), bits.offset * self.width)
        if self._flip is not None:
            values = values ^ self._flip
        return values.astype(self._big).view(np.uint8).reshape(-1, self.width)


class Boolean(Fixed):
    """``boolean``: one byte, 0 or 1."""

    cql, arrow_type, width = "boolean", pa.bool_(), 1

    def from_rows(self, rows: np.ndarray, present: np.ndarray | None) -> pa.Array:
        """Values as rows of their big-endian bytes (``present``: which are not null) as an Arrow array."""
        values, mask = scatter(rows[:, 0] != 0, present)
        return pa.array(values, pa.bool_(), mask=mask)

    def blob(self, array: pa.Array) -> np.ndarray:
        """The values of an array in ``arrow_type`` as rows of their big-endian bytes."""
        return array.fill_null(False).to_numpy(zero_copy_only=False).astype(np.uint8).reshape(-1, 1)


class Uuid(Fixed):
    """``uuid`` and ``timeuuid``: 16 bytes, Arrow's uuid type."""

    arrow_type, width = pa.uuid(), 16

    def __init__(self, cql: str) -> None:
        self.cql = cql

    def from_rows(self, rows: np.ndarray, present: np.ndarray | None) -> pa.Array:
        """Values as rows of their big-endian bytes (``present``: which are not null) as an Arrow array."""
        values, mask = scatter(rows, present)
        bitmap = None if mask is None else pa.array(~mask).buffers()[1]
        storage = pa.Array.from_buffers(pa.binary(16), len(values), [bitmap, pa.py_buffer(values)])
        return pa.ExtensionArray.from_storage(self.arrow_type, storage)

    def conform(self, array: pa.Array) -> pa.Array:
        """``array`` in ``arrow_type``; ``CodecError`` when that would lose anything."""
        if _is_text(array.type):
            try:
                return pa.array([None if s is None else UUID(s).bytes for s in array.to_pylist()], pa.binary(16))
            except ValueError as exc:
                raise mismatch(array.type, self.cql, exc) from None
        return cast_exact(array, pa.binary(16), self.cql)

    def blob(self, array: pa.Array) -> np.ndarray:
        """The values of an array in ``arrow_type`` as rows of their big-endian bytes."""
        return np.frombuffer(array.buffers()[1], np.uint8, len(array) * 16, array.offset * 16).reshape(-1, 16)


# --- text, blobs and types converted value by value ----------------------------------------------


class Bytes(Converter):
    """text, ascii (UTF-8 checked by Arrow) and blob."""

    def __init__(self, cql: str, arrow_type: pa.DataType) -> None:
        self.cql, self.arrow_type = cql, arrow_type

    def to_arrow(self, cells: Cells) -> pa.Array:
        """Raw CQL cells as an Arrow array of ``arrow_type``."""
        binary = pa.array(cells, pa.binary())
        try:
            return binary.cast(self.arrow_type)
        except pa.ArrowInvalid as exc:
            raise CodecError(f"a CQL {self.cql} value is not valid UTF-8 ({exc})") from None

    def encode(self, array: pa.Array) -> list[bytes | None]:
        """An array already in ``arrow_type`` as raw CQL cells."""
        cells: list[bytes | None] = array.view(pa.binary()).to_pylist()
        return cells


class _PerValue(Converter):
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
        given = plain(array)  # kept to name the type the values came as
        values, encode = self.conform(given).to_pylist(), self._encode
        try:
            return [None if value is None else encode(value) for value in values]
        except (ValueError, TypeError, ArithmeticError, struct.error) as exc:
            raise mismatch(given.type, self.cql, exc) from None

    def conform(self, array: pa.Array) -> pa.Array:
        if array.type != self.arrow_type and not self._accepts(array.type):
            raise mismatch(array.type, self.cql, "not a compatible type")
        return cast_exact(array, self.arrow_type, self.cql)


def _is_text(arrow_type: pa.DataType) -> bool:
    return bool(pa.types.is_string(arrow_type) or pa.types.is_large_string(arrow_type))


def _is_number_text(arrow_type: pa.DataType) -> bool:
    return _is_text(arrow_type) or bool(pa.types.is_integer(arrow_type) or pa.types.is_decimal(arrow_type))


def _decimal_text(raw: bytes) -> str:
    scale = INT32.unpack_from(raw)[0]
    return str(_EXACT.scaleb(Decimal(int.from_bytes(raw[4:], "big", signed=True)), -scale))


def _decimal_raw(text: str) -> bytes:
    value = Decimal(text)
    exponent = value.as_tuple().exponent
    if not isinstance(exponent, int) or -exponent not in _INT32_RANGE:
        raise ValueError(f"{text!r} is not a CQL decimal (finite, scale within int32)")
    return INT32.pack(-exponent) + varint_bytes(int(_EXACT.scaleb(value, -exponent)))


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
            raise mismatch(array.type, self.cql, f"the fields are {', '.join(_DURATION.names)}")
        return super().conform(array)


def per_value(kind: str, cql: str) -> Converter:
    """The converter of a type read value by value: inet, decimal, varint or duration."""
    if kind == "inet":
        return _PerValue(cql, pa.string(), lambda raw: str(ipaddress.ip_address(raw)),
                         lambda text: ipaddress.ip_address(text).packed, _is_text)
    if kind == "decimal":
        return _PerValue(cql, pa.string(), _decimal_text, _decimal_raw, _is_number_text)
    if kind == "varint":
        return _PerValue(cql, pa.string(), _varint_text, _varint_raw, _is_number_text)
    return _Duration(cql)


