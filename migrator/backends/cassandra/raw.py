"""Raw (serialized) CQL values: a protocol handler that keeps cells as bytes, and the codecs we need.

Rows are copied as the bytes the source sent, never as Python objects, whenever source and target
column types match: this is exact for every CQL type (empty values, decimals with any scale,
timestamps outside Python's range, nested UDTs) and it is the cheapest thing the executor can do.

The few places that must look inside a value use the helpers below: WRITETIME/TTL numbers, the
elements of a non-frozen collection (one cell each, each with its own timestamp), decimal scale.
Formats follow the CQL native protocol v4 spec: a collection is ``[int n]`` followed by n
``[int len][bytes]`` elements (maps: key then value), a UDT is its fields one after the other.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable, Sequence
from decimal import Decimal
from typing import Any

from cassandra.cqltypes import BytesType
from cassandra.protocol import ResultMessage, _ProtocolHandler

try:  # the Cython row parser is ~10x faster; the pure-Python fallback keeps us working without it
    from cassandra.obj_parser import ListParser
    from cassandra.row_parser import make_recv_results_rows

    _FAST_ROWS = make_recv_results_rows(ListParser())
except ImportError:  # pragma: no cover - depends on how cassandra-driver was built
    _FAST_ROWS = None

_INT32 = struct.Struct(">i")
_INT64 = struct.Struct(">q")
RESULT_KIND_ROWS = 0x0002


def _as_bytes_metadata(metadata: Sequence[tuple[Any, ...]] | None) -> list[tuple[Any, ...]] | None:
    if metadata is None:
        return None
    return [(md[0], md[1], md[2], BytesType) for md in metadata]


class RawResultMessage(ResultMessage):
    """A RESULT message whose rows hold every cell as ``bytes`` (``None`` for null)."""

    column_metadata: list[tuple[Any, ...]] | None

    def recv_results_metadata(self, f: Any, user_type_map: Any) -> None:
        """Read the metadata as usual, then declare every column a blob so cells stay raw."""
        super().recv_results_metadata(f, user_type_map)
        if self.kind == RESULT_KIND_ROWS and self.column_metadata:
            self.column_metadata = _as_bytes_metadata(self.column_metadata)

    def recv_results_rows(
        self, f: Any, protocol_version: int, user_type_map: Any, result_metadata: Any, ce_policy: Any
    ) -> None:
        """Parse the rows with every column typed as a blob, without a column-encryption policy."""
        raw_metadata = _as_bytes_metadata(result_metadata)
        if _FAST_ROWS is not None:
            _FAST_ROWS(self, f, protocol_version, user_type_map, raw_metadata, None)
        else:  # pragma: no cover
            ResultMessage.recv_results_rows(self, f, protocol_version, user_type_map, raw_metadata, None)


class RawProtocolHandler(_ProtocolHandler):
    """Protocol handler for sessions that scan: rows come back as tuples of bytes."""

    message_types_by_opcode = _ProtocolHandler.message_types_by_opcode.copy()
    message_types_by_opcode[RawResultMessage.opcode] = RawResultMessage


def bind_raw(statement: Any, values: list[Any]) -> Any:
    """A bound statement carrying already-serialized values (bytes, None or UNSET_VALUE) as they are."""
    from cassandra.query import BoundStatement

    bound = BoundStatement(statement)
    bound.values = values
    return bound


# --- numbers -----------------------------------------------------------------------------------


def decode_int(raw: bytes | None) -> int | None:
    """A CQL int/bigint/counter (4 or 8 bytes) as a Python int; ``None`` for null or empty."""
    if not raw:
        return None
    return int.from_bytes(raw, "big", signed=True)


def encode_bigint(value: int) -> bytes:
    """A Python int as a serialized CQL bigint (8 bytes, big-endian)."""
    return _INT64.pack(value)


def encode_int(value: int) -> bytes:
    """A Python int as a serialized CQL int (4 bytes, big-endian)."""
    return _INT32.pack(value)


# --- collections -------------------------------------------------------------------------------


def split_elements(raw: bytes, *, per_entry: int = 1) -> list[bytes | None]:
    """The serialized items of a list or set (``per_entry=1``) or a map (``per_entry=2``).

    Map keys and values come interleaved; the leading entry count is not returned.
    """
    count = _INT32.unpack_from(raw, 0)[0]
    return _read_items(raw, 4, count * per_entry)


def split_fields(raw: bytes) -> list[bytes | None]:
    """The serialized fields of a UDT or tuple value (no leading count: read to the end)."""
    return _read_items(raw, 0, None)


def _read_items(raw: bytes, pos: int, count: int | None) -> list[bytes | None]:
    items: list[bytes | None] = []
    end = len(raw)
    while (count is None and pos < end) or (count is not None and len(items) < count):
        size = _INT32.unpack_from(raw, pos)[0]
        pos += 4
        if size < 0:
            items.append(None)
        else:
            items.append(bytes(raw[pos : pos + size]))
            pos += size
    return items


def join_elements(items: Iterable[bytes | None], count: int) -> bytes:
    """Serialize ``count`` collection entries (a map entry counts once but passes two items)."""
    return _INT32.pack(count) + frame_items(items)


_NULL_ITEM = _INT32.pack(-1)


def frame_items(items: Iterable[bytes | None]) -> bytes:
    """Items one after the other, each after its int32 length (-1 for a null: UDT and tuple fields)."""
    return b"".join([_NULL_ITEM if item is None else _INT32.pack(len(item)) + item for item in items])


def split_int_list(raw: bytes | None) -> list[int | None]:
    """WRITETIME()/TTL() of a multi-cell column: a list<bigint>/list<int> whose items may be null."""
    if raw is None:
        return []
    return [decode_int(item) for item in split_elements(raw)]


# --- decimals ----------------------------------------------------------------------------------


def strip_decimal(raw: bytes) -> bytes:
    """Remove trailing zeros from a serialized decimal (scale int + varint unscaled).

    Like Java's ``BigDecimal.stripTrailingZeros``: 3.5000 -> 3.5, 100 -> 1E+2, 0.000 -> 0.
    """
    if len(raw) < 5:
        return raw
    scale = _INT32.unpack_from(raw, 0)[0]
    unscaled = int.from_bytes(raw[4:], "big", signed=True)
    if unscaled == 0:
        return _INT32.pack(0) + b"\x00"
    while unscaled % 10 == 0:
        unscaled //= 10
        scale -= 1
    return _INT32.pack(scale) + varint_bytes(unscaled)


def varint_bytes(value: int) -> bytes:
    """Minimal big-endian two's complement bytes of an integer (CQL varint)."""
    magnitude = value if value >= 0 else ~value
    return value.to_bytes(magnitude.bit_length() // 8 + 1, "big", signed=True)


def _stripped(value: Decimal) -> Decimal:
    """Trailing zeros removed from the digits, never rounded (``normalize`` would round to 28 digits)."""
    if not value.is_finite():
        return value
    sign, digits, exponent = value.as_tuple()
    assert isinstance(exponent, int)
    if not any(digits):
        return Decimal(0)
    end = len(digits)
    while digits[end - 1] == 0:
        end -= 1
    return Decimal((sign, digits[:end], exponent + len(digits) - end))


def strip_decimal_value(value: Any) -> Any:
    """The same for decoded values, recursively through collections, tuples and UDTs."""
    if isinstance(value, Decimal):
        return _stripped(value)
    if isinstance(value, (list, set, frozenset)) or type(value) is tuple:
        return type(value)(strip_decimal_value(v) for v in value)
    if isinstance(value, dict):
        return {strip_decimal_value(k): strip_decimal_value(v) for k, v in value.items()}
    if isinstance(value, tuple) and hasattr(value, "_fields"):  # UDT namedtuple
        return type(value)(*(strip_decimal_value(v) for v in value))
    return value
