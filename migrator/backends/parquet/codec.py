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
import struct
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
from cassandra.marshal import uvint_pack, uvint_unpack

from migrator.backends.cassandra.ordering import CqlType, UserTypes, parse_cql_type, user_types_in
from migrator.backends.cassandra.raw import frame_items, join_elements, split_elements, split_fields
from migrator.backends.cassandra.values import driver_type
from migrator.backends.parquet.arrays import (
    INT32,
    Cells,
    CodecError,
    binary_buffers,
    cells_from,
    gather,
    ints_at,
    mismatch,
    null_mask,
    offsets_of,
    plain,
    validity,
    windows,
)
from migrator.backends.parquet.scalars import (
    DATE_FLIP,
    NUMBERS,
    Boolean,
    Bytes,
    Converter,
    Fixed,
    Number,
    Uuid,
    per_value,
)

FrozenUserTypes = tuple[tuple[str, tuple[tuple[str, str], ...]], ...]

__all__ = ["CodecError", "ColumnCodec", "arrow_schema", "codec_for"]


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
def _converter(cql_type: str, user_types: FrozenUserTypes) -> Converter:
    return _build(parse_cql_type(cql_type, dict(user_types)))



# --- collections ---------------------------------------------------------------------------------


def _is_list(arrow_type: pa.DataType) -> bool:
    return bool(pa.types.is_list(arrow_type) or pa.types.is_large_list(arrow_type)
                or pa.types.is_fixed_size_list(arrow_type))


def _list_shape(array: pa.Array) -> tuple[np.ndarray, np.ndarray | None]:
    """Element counts of a list-like array's entries (0 for null ones), and their validity."""
    valid = validity(array)
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
    data, bounds = binary_buffers(cells)
    lengths = np.diff(bounds)
    present = lengths != 0
    starts, lengths = bounds[:-1][present], lengths[present]
    entry = sum(4 + width for width in widths)
    if (lengths < 4).any():
        return None
    counts = ints_at(data, starts).astype(np.int64)
    if (lengths != 4 + counts * entry).any():
        return None
    positions = _entry_starts(starts + 4, counts, entry)
    parts = []
    for width in widths:
        if (ints_at(data, positions) != width).any():
            return None
        parts.append(windows(data, width)[positions + 4])
        positions = positions + 4 + width
    all_counts = np.zeros(len(present), np.int64)
    all_counts[present] = counts
    return parts, pa.array(offsets_of(all_counts), pa.int32()), present


def _write_regular(parts: Sequence[np.ndarray], counts: np.ndarray, valid: np.ndarray | None) -> list[bytes | None]:
    """Collections of fixed-width items serialized with numpy: the inverse of ``_read_regular``."""
    entry = sum(4 + part.shape[1] for part in parts)
    present = np.ones(len(counts), bool) if valid is None else valid
    edges = offsets_of(np.where(present, 4 + counts * entry, 0))
    out = np.empty(int(edges[-1]), np.uint8)
    starts, kept = edges[:-1][present], counts[present]
    windows(out, 4)[starts] = kept.astype(">i4").view(np.uint8).reshape(-1, 4)
    positions = _entry_starts(starts + 4, kept, entry)
    for part in parts:
        windows(out, 4)[positions] = np.frombuffer(INT32.pack(part.shape[1]), np.uint8)
        windows(out, part.shape[1])[positions + 4] = part
        positions = positions + 4 + part.shape[1]
    return cells_from(out, edges, valid)


class _Collection(Converter):
    """list and set (one part: the element), map (two: key and value)."""

    def __init__(self, cql: str, parts: Sequence[Converter]) -> None:
        self.cql, self.parts = cql, tuple(parts)
        types = [part.arrow_type for part in parts]
        self.arrow_type = pa.list_(types[0]) if len(types) == 1 else pa.map_(*types)
        fixed = tuple(part for part in parts if isinstance(part, Fixed))
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
            mask = null_mask(cells)
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
            raise mismatch(array.type, self.cql, "not a map")
        if len(self.parts) == 1 and not _is_list(array.type):
            raise mismatch(array.type, self.cql, "not a list")
        return array

    def encode(self, array: pa.Array) -> list[bytes | None]:
        counts, valid = _list_shape(array)
        flats = [plain(flat) for flat in self._entries(array)]
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
            out.append(join_elements(items[pos:end], count) if ok else None)
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


class _Struct(Converter):
    """tuple (fields ``_1``, ``_2``, ...) and UDT; missing trailing fields of a value are null."""

    def __init__(self, cql: str, names: Sequence[str], fields: Sequence[Converter]) -> None:
        self.cql, self.names, self.fields = cql, tuple(names), tuple(fields)
        self.arrow_type = pa.struct([pa.field(n, f.arrow_type) for n, f in zip(names, fields, strict=True)])

    def to_arrow(self, cells: Cells) -> pa.Array:
        width = len(self.fields)
        blank = [None] * width
        rows = [self._values(cell) if cell else blank for cell in cells]
        columns = list(zip(*rows, strict=True)) or [()] * width
        arrays = [field.to_arrow(column) for field, column in zip(self.fields, columns, strict=True)]
        return pa.StructArray.from_arrays(arrays, fields=list(self.arrow_type), mask=null_mask(cells))

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
            raise mismatch(array.type, self.cql, "not a struct")
        extra = [field.name for field in array.type if field.name not in self.names]
        if extra:
            raise mismatch(array.type, self.cql, f"unknown fields {extra}")
        return array

    def encode(self, array: pa.Array) -> list[bytes | None]:
        given = dict(zip([field.name for field in array.type], array.flatten(), strict=True))
        nulls: list[bytes | None] = [None] * len(array)
        columns = [field.from_arrow(given[name]) if name in given else nulls
                   for name, field in zip(self.names, self.fields, strict=True)]
        rows = zip(*columns, strict=True)
        valid = validity(array)
        if valid is None:
            return [frame_items(row) for row in rows]
        return [frame_items(row) if ok else None for row, ok in zip(rows, valid.tolist(), strict=True)]


class _Vector(Converter):
    """vector<T, n>: n elements, fixed-size ones concatenated, others each after its unsigned vint length."""

    def __init__(self, cql: str, element: Converter, dimension: int, element_size: int | None) -> None:
        self.cql, self.element, self.dimension, self.size = cql, element, dimension, element_size
        self.arrow_type = pa.list_(element.arrow_type)
        # Cassandra frames smallint, tinyint, date and time elements as variable-size: follow the driver.
        self._fixed = element if isinstance(element, Fixed) and element.width == element_size else None

    def to_arrow(self, cells: Cells) -> pa.Array:
        if self._fixed is not None:
            rows, present = gather(cells, self.dimension * self._fixed.width, self.cql)
            values = self._fixed.from_rows(rows.reshape(-1, self._fixed.width), None)
        else:
            present = np.asarray([bool(cell) for cell in cells], dtype=bool)
            values = self.element.to_arrow([item for cell in cells if cell for item in self._items(cell)])
        counts = np.ones(len(cells), np.int64) if present is None else present.astype(np.int64)
        offsets = pa.array(offsets_of(counts * self.dimension), pa.int32())
        mask = None if present is None or present.all() else pa.array(~present)
        return pa.ListArray.from_arrays(offsets, values, self.arrow_type, mask=mask)

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
            raise mismatch(array.type, self.cql, "not a list")
        return array

    def encode(self, array: pa.Array) -> list[bytes | None]:
        counts, valid = _list_shape(array)
        flat = array.flatten()
        if (counts != (self.dimension if valid is None else np.where(valid, self.dimension, 0))).any():
            raise mismatch(array.type, self.cql, f"every vector has {self.dimension} elements")
        if flat.null_count:
            raise mismatch(array.type, self.cql, "a vector holds no nulls")
        if self._fixed is not None:
            data = self._fixed.blob(self._fixed.conform(plain(flat)))
            return cells_from(data, offsets_of(counts * self._fixed.width), valid)
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


def _build(parsed: CqlType) -> Converter:
    kind, cql = parsed.kind, _describe(parsed)
    if kind in NUMBERS:
        return Number(cql, *NUMBERS[kind], flip=DATE_FLIP if kind == "date" else None)
    if kind == "boolean":
        return Boolean()
    if kind in ("uuid", "timeuuid"):
        return Uuid(cql)
    if kind in ("text", "ascii", "blob"):
        return Bytes(cql, pa.binary() if kind == "blob" else pa.string())
    if kind in ("inet", "decimal", "varint", "duration"):
        return per_value(kind, cql)
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
