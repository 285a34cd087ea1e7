"""Raw CQL cells made readable and comparable: decoding, display, tolerant equality.

``decoder_for`` turns a raw cell into the Python value cassandra-driver would give (built from
the driver's own type classes), except that a timestamp outside Python's datetime range comes
back as an int of milliseconds instead of failing. ``to_display`` makes any decoded value
JSON-safe for reports; ``values_equal`` and ``numeric_difference`` compare decoded values the way
validation does: floating-point numbers, decimals and timestamps within a tolerance, integers
exactly, collections and UDTs element by element.
"""

from __future__ import annotations

import datetime as dt
import functools
import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from decimal import MAX_EMAX, MIN_EMIN, Context, Decimal
from typing import Any
from uuid import UUID

from cassandra import cqltypes
from cassandra.util import Date, Duration, SortedSet, Time

from migrator.backends.cassandra.ordering import CqlType, UserTypes, parse_cql_type

PROTOCOL_VERSION = 4
UDT_KEYSPACE = "migrator_values"  # the driver caches UDT classes per (keyspace, name): keep ours apart
_EPOCH = dt.datetime(1970, 1, 1)
_ONE_MS = dt.timedelta(milliseconds=1)
_SETS = (set, frozenset, SortedSet)
_DIFF_CONTEXT = Context(prec=40, Emax=MAX_EMAX, Emin=MIN_EMIN)  # enough digits for a float result


class _Timestamp(cqltypes.DateType):  # a leading underscore keeps it out of the driver's registry
    """``timestamp`` decoded exactly to the millisecond; an int of ms outside datetime's range."""

    cassname = "DateType"

    @staticmethod
    def deserialize(byts: bytes, protocol_version: int) -> Any:
        millis = int.from_bytes(byts, "big", signed=True)
        try:
            return _EPOCH + dt.timedelta(milliseconds=millis)
        except OverflowError:
            return millis


_NATIVE: dict[str, Any] = {
    "ascii": cqltypes.AsciiType, "bigint": cqltypes.LongType, "blob": cqltypes.BytesType,
    "boolean": cqltypes.BooleanType, "counter": cqltypes.CounterColumnType, "date": cqltypes.SimpleDateType,
    "decimal": cqltypes.DecimalType, "double": cqltypes.DoubleType, "duration": cqltypes.DurationType,
    "float": cqltypes.FloatType, "inet": cqltypes.InetAddressType, "int": cqltypes.Int32Type,
    "smallint": cqltypes.ShortType, "text": cqltypes.UTF8Type, "time": cqltypes.TimeType,
    "timestamp": _Timestamp, "timeuuid": cqltypes.TimeUUIDType, "tinyint": cqltypes.ByteType,
    "uuid": cqltypes.UUIDType, "varint": cqltypes.IntegerType,
}


def driver_type(cql_type: CqlType) -> Any:
    """The cassandra-driver type class for a parsed CQL type."""
    if cql_type.kind in _NATIVE:
        return _NATIVE[cql_type.kind]
    params = [driver_type(p) for p in cql_type.params]
    if cql_type.kind == "list":
        return cqltypes.ListType.apply_parameters(params)
    if cql_type.kind == "set":
        return cqltypes.SetType.apply_parameters(params)
    if cql_type.kind == "map":
        return cqltypes.MapType.apply_parameters(params)
    if cql_type.kind == "tuple":
        return cqltypes.TupleType.apply_parameters(params)
    if cql_type.kind == "vector":
        return cqltypes.VectorType.apply_parameters([params[0], cql_type.dimension], None)
    if cql_type.kind == "udt":
        return _user_type(cql_type.name or "", cql_type.field_names, tuple(params))
    raise ValueError(f"no decoder for CQL type {cql_type.kind!r}")  # pragma: no cover - parse rejects it first


class UdtValue(tuple):  # type: ignore[type-arg]
    """A decoded UDT: its field values in order; ``_fields`` names them exactly as CQL spells them.

    The driver's namedtuples cannot carry names that are not Python identifiers (``"Field One"``,
    ``from``, ``_x``): it renames them ``_0``, ``_1`` or drops every name, and a value written back
    as a literal or shown in a report would lose its fields. A subclass per field list holds them.
    """

    __slots__ = ()
    _fields: tuple[str, ...] = ()

    def __new__(cls, *values: Any) -> UdtValue:
        """The value of fields given one by one, as the driver's codec calls ``tuple_type(*values)``."""
        return super().__new__(cls, values)

    def __getattr__(self, name: str) -> Any:
        """A field by name, as on the driver's namedtuples (``value.street``); any name via ``udt_items``."""
        try:
            return self[self._fields.index(name)]
        except ValueError:
            raise AttributeError(name) from None

    def __reduce__(self) -> tuple[Any, ...]:  # the subclass is made at run time: pickle by its names
        return udt_value, (self._fields, tuple(self))


@functools.cache
def _udt_class(fields: tuple[str, ...]) -> type[UdtValue]:
    return type("UdtValue", (UdtValue,), {"__slots__": (), "_fields": fields})


def udt_value(fields: tuple[str, ...], values: Sequence[Any]) -> UdtValue:
    """A UDT value with these field names and values."""
    return _udt_class(tuple(fields))(*values)


def udt_items(value: Any) -> dict[str, Any]:
    """``{field name: value}`` of a decoded UDT (ours or the driver's namedtuple)."""
    return dict(zip(_udt_fields(value), value, strict=True))


@functools.cache
def _user_type(name: str, fields: tuple[str, ...], params: tuple[Any, ...]) -> Any:
    """The driver's UDT codec, built directly so its values are ``UdtValue``s (never renamed or nameless)."""
    return type("MigratorUserType", (cqltypes.UserType,), {
        "subtypes": params, "cassname": cqltypes.UserType.cassname, "typename": name, "fieldnames": fields,
        "keyspace": UDT_KEYSPACE, "mapped_class": None, "tuple_type": _udt_class(fields)})


def decoder_for(cql_type: str, user_types: UserTypes | None = None) -> Callable[[bytes | None], Any]:
    """A function from a raw cell (``None`` for null) to its Python value, as the driver decodes it.

    An empty cell of a type where that means nothing (an int of 0 bytes) decodes to ``None``.
    """
    type_class = driver_type(parse_cql_type(cql_type, user_types))

    def decode(raw: bytes | None) -> Any:
        return type_class.from_binary(raw, PROTOCOL_VERSION)

    return decode


# --- display ------------------------------------------------------------------------------------


def _is_udt(value: Any) -> bool:
    return isinstance(value, tuple) and hasattr(type(value), "_fields")


def _udt_fields(value: Any) -> tuple[str, ...]:
    return tuple(value._fields)


def _sorted(values: Iterable[Any]) -> list[Any]:
    items = list(values)
    try:
        return sorted(items)
    except TypeError:  # mixed or unorderable (None, dicts): a stable order still beats none
        return sorted(items, key=repr)


def _float_display(value: float) -> float | str:
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "Infinity" if value > 0 else "-Infinity"
    return value


def to_display(value: Any) -> Any:
    """A JSON-safe rendering of a decoded value, for reports and logs.

    ints stay ints (timestamps outside datetime's range included), decimals become strings,
    NaN/±Infinity strings, temporal values ISO strings, bytes ``0x…`` hex, sets sorted lists,
    maps dicts when every key is a string and ``[key, value]`` pairs otherwise, UDTs dicts.
    """
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        return _float_display(value)
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, dt.datetime):
        return value.isoformat(timespec="milliseconds" if value.microsecond % 1000 == 0 else "microseconds")
    if isinstance(value, (dt.date, dt.time)):
        return value.isoformat()
    if isinstance(value, (bytes, bytearray, memoryview)):
        return "0x" + bytes(value).hex()
    if isinstance(value, (UUID, Duration, Date, Time)):
        return str(value)
    if isinstance(value, Mapping):
        pairs = [(to_display(k), to_display(v)) for k, v in value.items()]
        if all(isinstance(k, str) for k, _ in pairs):
            return dict(pairs)
        return [[k, v] for k, v in pairs]
    if _is_udt(value):
        return {name: to_display(v) for name, v in zip(_udt_fields(value), value, strict=True)}
    if isinstance(value, _SETS):
        return _sorted(to_display(v) for v in value)
    if isinstance(value, (list, tuple)):
        return [to_display(v) for v in value]
    return str(value)


# --- comparison ---------------------------------------------------------------------------------


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float, Decimal)) and not isinstance(value, bool)


def _is_nan(value: Any) -> bool:
    return (isinstance(value, float) and math.isnan(value)) or (isinstance(value, Decimal) and value.is_nan())


def _millis(value: Any) -> float | None:
    """Milliseconds since the epoch of a timestamp (a datetime, or an int outside datetime's range)."""
    if isinstance(value, dt.datetime):
        naive = value if value.tzinfo is None else value.astimezone(dt.UTC).replace(tzinfo=None)
        return (naive - _EPOCH) / _ONE_MS
    if isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    return None


def _number_difference(a: Any, b: Any) -> float:
    if (_is_nan(a) and _is_nan(b)) or a == b:
        return 0.0
    if isinstance(a, float) or isinstance(b, float):
        return abs(float(a) - float(b))
    if isinstance(a, Decimal) or isinstance(b, Decimal):
        return float(abs(_DIFF_CONTEXT.subtract(Decimal(a), Decimal(b))))
    try:
        return float(abs(a - b))
    except OverflowError:
        return math.inf


def numeric_difference(a: Any, b: Any) -> float | None:
    """``|a - b|`` as a float for two numbers, in milliseconds for two timestamps; else ``None``.

    Two NaNs differ by 0.0 (they are equal for validation); a NaN and a number by NaN.
    """
    if _is_number(a) and _is_number(b):
        return _number_difference(a, b)
    if isinstance(a, dt.datetime) or isinstance(b, dt.datetime):
        ma, mb = _millis(a), _millis(b)
        if ma is not None and mb is not None:
            return abs(ma - mb)
    return None


Equal = Callable[[Any, Any], bool]


def _pairs_equal(left: Sequence[Any], right: Sequence[Any], equal: Equal) -> bool:
    return len(left) == len(right) and all(equal(a, b) for a, b in zip(left, right, strict=True))


def _udt_equal(a: Any, b: Any, equal: Equal) -> bool:
    fa, fb = udt_items(a), udt_items(b)
    names = list(fa) + [name for name in fb if name not in fa]
    return all(equal(fa.get(name), fb.get(name)) for name in names)


def _map_equal(a: Mapping[Any, Any], b: Mapping[Any, Any], equal: Equal) -> bool:
    left, right = _sorted(a.keys()), _sorted(b.keys())
    return _pairs_equal(left, right, equal) and all(equal(a[ka], b[kb]) for ka, kb in zip(left, right, strict=True))


def values_equal(a: Any, b: Any, *, float_tolerance: float, timestamp_ms_tolerance: int) -> bool:
    """Whether two decoded values match, the way validation compares cells.

    NaN equals NaN; as soon as a float or a decimal is involved two numbers match within
    ``float_tolerance`` (absolute), while two integers must be equal; timestamps match within
    ``timestamp_ms_tolerance`` ms; lists, tuples, UDTs (field by field, a missing field is null),
    sets and maps (both sorted, then pairwise) apply the same rules to their elements; anything
    else compares with ``==``.
    """

    def equal(x: Any, y: Any) -> bool:
        return values_equal(x, y, float_tolerance=float_tolerance, timestamp_ms_tolerance=timestamp_ms_tolerance)

    if a is None or b is None:
        return a is None and b is None
    if _is_number(a) and _is_number(b):
        if isinstance(a, int) and isinstance(b, int):
            return bool(a == b)
        if _is_nan(a) or _is_nan(b):
            return _is_nan(a) and _is_nan(b)
        return _number_difference(a, b) <= float_tolerance
    if isinstance(a, dt.datetime) or isinstance(b, dt.datetime):
        difference = numeric_difference(a, b)
        return difference is not None and difference <= timestamp_ms_tolerance
    if _is_udt(a) and _is_udt(b):
        return _udt_equal(a, b, equal)
    if isinstance(a, Mapping) and isinstance(b, Mapping):
        return _map_equal(a, b, equal)
    if isinstance(a, _SETS) and isinstance(b, _SETS):
        return _pairs_equal(_sorted(a), _sorted(b), equal)
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)) and not (_is_udt(a) or _is_udt(b)):
        return _pairs_equal(a, b, equal)
    return bool(a == b)
