"""CQL literals of decoded values, exact for every type, for the statements a reconcile pack holds.

``literal(cql_type, value)`` writes what ``values.decoder_for`` decoded back as CQL source text that
parses to the same value: integers and decimals in full, floats by ``repr`` (the shortest text that
reads back to the same double; a ``float`` column reads it back to the same single), ``NaN`` and
``Infinity``, blobs as ``0x`` hex, timestamps to the millisecond in UTC (an int of milliseconds
outside datetime's range), dates as ``'YYYY-MM-DD'`` (or CQL's unsigned day number beyond Python's
dates), times as the driver prints them, durations as ``1mo2d3ns``,
uuids unquoted, strings with quotes doubled, and collections, tuples, vectors and UDTs (fields by
name) built from their members' literals.
"""

from __future__ import annotations

import functools
import math
import struct
from collections.abc import Callable
from decimal import Decimal
from typing import Any
from uuid import UUID

from cassandra.util import Duration

from migrator.backends.cassandra import cql, values
from migrator.backends.cassandra.ordering import CqlType

DATE_EPOCH = 2**31  # CQL's date is an unsigned day count with the epoch in the middle


def cell_literal(cql_type: CqlType, raw: bytes | None, value: Any) -> str:
    """A scanned cell's literal: ``literal(value)``, or ``blobAs<type>(0x)`` for an empty cell.

    An empty value of a type where empty is not a value (an ``int`` of 0 bytes, decoded as None) has no
    literal; only the blob conversion writes it back.
    """
    if raw == b"" and value is None and not cql_type.params:
        return f"blobAs{cql_type.kind}(0x)"
    return literal(cql_type, value)


def raw_literal(cql_type: CqlType, decode: Callable[[bytes | None], Any]) -> Callable[[bytes | None], str]:
    """A function from a scanned cell to ``cell_literal(cql_type, raw, decode(raw))``, the same text.

    Integers, strings, blobs, floats, booleans and uuids are written from their bytes, without the
    driver's decoding (a diff writes every cell of each row it puts in the pack); a null, an empty
    cell and every other type go through ``cell_literal``.
    """
    kind = cql_type.kind

    def decoded(raw: bytes | None) -> str:
        return cell_literal(cql_type, raw, decode(raw))

    if kind == "varint":
        return lambda raw: str(int.from_bytes(raw, "big", signed=True)) if raw else decoded(raw)
    if kind in _INT_BYTES:
        size = _INT_BYTES[kind]
        return lambda raw: str(int.from_bytes(raw, "big", signed=True)) if raw and len(raw) == size else decoded(raw)
    if kind in ("text", "ascii"):
        codec = "ascii" if kind == "ascii" else "utf-8"
        return lambda raw: _string(raw.decode(codec)) if raw is not None else "null"
    if kind == "blob":
        return lambda raw: "0x" + raw.hex() if raw is not None else "null"
    if kind in ("double", "float"):
        number = _NUMBERS[kind]
        return lambda raw: _float(number.unpack(raw)[0]) if raw and len(raw) == number.size else decoded(raw)
    if kind == "boolean":
        return lambda raw: ("true" if raw[0] else "false") if raw and len(raw) == 1 else decoded(raw)
    if kind in ("uuid", "timeuuid"):
        return lambda raw: str(UUID(bytes=raw)) if raw and len(raw) == 16 else decoded(raw)
    return decoded


_INT_BYTES = {"bigint": 8, "int": 4, "smallint": 2, "tinyint": 1}
_NUMBERS = {"double": struct.Struct(">d"), "float": struct.Struct(">f")}


def literal(cql_type: CqlType, value: Any) -> str:
    """``value`` (as decoded) as a CQL literal of ``cql_type``."""
    if value is None:
        return "null"
    kind = cql_type.kind
    if kind in ("ascii", "text", "inet"):
        return _string(str(value))
    if kind in ("bigint", "int", "smallint", "tinyint", "varint", "counter"):
        return str(int(value))
    if kind == "boolean":
        return "true" if value else "false"
    if kind == "blob":
        return "0x" + bytes(value).hex()
    if kind == "decimal":
        return str(Decimal(value))
    if kind in ("double", "float"):
        return _float(float(value))
    if kind in ("uuid", "timeuuid"):
        return str(value)
    if kind == "timestamp":
        if isinstance(value, int):
            return str(value)
        return _string(value.strftime("%Y-%m-%d %H:%M:%S.") + f"{value.microsecond // 1000:03d}+0000")
    if kind == "date":
        return _date(value)
    if kind == "time":
        return _string(str(value))
    if kind == "duration":
        return _duration(value)
    if kind in ("list", "vector"):
        return "[" + ", ".join(literal(cql_type.params[0], v) for v in value) + "]"
    if kind == "set":
        return "{" + ", ".join(literal(cql_type.params[0], v) for v in value) + "}"
    if kind == "map":
        key_type, value_type = cql_type.params
        return "{" + ", ".join(f"{literal(key_type, k)}: {literal(value_type, v)}" for k, v in value.items()) + "}"
    if kind == "tuple":
        return "(" + ", ".join(literal(t, v) for t, v in zip(cql_type.params, value, strict=True)) + ")"
    if kind == "udt":
        held = values.udt_items(value)
        fields = [(name, t, held.get(name)) for name, t in zip(cql_type.field_names, cql_type.params, strict=True)]
        return "{" + ", ".join(f"{cql.quote(name)}: {literal(t, v)}" for name, t, v in fields) + "}"
    raise ValueError(f"no CQL literal for type {kind!r}")


def _string(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _float(value: float) -> str:
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "Infinity" if value > 0 else "-Infinity"
    return repr(value)


def _date(value: Any) -> str:
    """``'YYYY-MM-DD'``; beyond Python's dates, the unsigned day number CQL also reads (epoch at 2**31)."""
    try:
        return _string(value.date().isoformat())
    except (ValueError, OverflowError):
        return _string(str(value.days_from_epoch + DATE_EPOCH))


def _duration(value: Duration) -> str:
    months, days, nanos = value.months, value.days, value.nanoseconds
    sign = "-" if min(months, days, nanos) < 0 else ""
    return f"{sign}{abs(months)}mo{abs(days)}d{abs(nanos)}ns"


def statement_insert(qualified: str, row: dict[str, str], timestamp: int | None = None) -> str:
    """``INSERT INTO t ("a", "b") VALUES (<a>, <b>) [USING TIMESTAMP <t>];`` from column literals."""
    using = f" USING TIMESTAMP {timestamp}" if timestamp is not None else ""
    return f"INSERT INTO {qualified} ({_column_list(tuple(row))}) VALUES ({', '.join(row.values())}){using};"


@functools.lru_cache(maxsize=256)
def _column_list(names: tuple[str, ...]) -> str:
    return cql.column_list(names)  # a table's statements name the same columns, row after row


def statement_delete(qualified: str, key: dict[str, str], timestamp: int | None = None) -> str:
    """``DELETE FROM t [USING TIMESTAMP <t>] WHERE "k" = <k> AND ...;`` from key literals."""
    using = f" USING TIMESTAMP {timestamp}" if timestamp is not None else ""
    return f"DELETE FROM {qualified}{using} WHERE {where(key)};"


def where(key: dict[str, str]) -> str:
    """``"k" = <k> AND "c" = <c>`` from key literals."""
    return " AND ".join(_equals(name) + text for name, text in key.items())


@functools.lru_cache(maxsize=256)
def _equals(name: str) -> str:
    return f"{cql.quote(name)} = "  # a table's changes name the same key columns, row after row

