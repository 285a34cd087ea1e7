"""Python sort keys that order raw CQL values exactly like Cassandra 5.0 orders rows and partitions.

A validation job merge-joins two streams that arrive in server order; it needs keys whose Python
ordering is the server's. Partitions come by Murmur3 token, then by partition key bytes (unsigned);
rows inside a partition by their clustering values, each compared with its type's comparator
(``org.apache.cassandra.db.marshal``), a DESC column with the comparator reversed.

The comparator rules reproduced here, as Cassandra 5.0 implements them:

- an *empty* value (0 bytes, a legacy oddity) sorts before every non-empty value of its type;
  a null tuple/UDT field sorts before an empty one; null clustering values (static rows) first,
  DESC or not;
- integers (tinyint ... varint, counter), timestamp: by signed value; varint by value, whatever
  its encoding length;
- text, ascii, blob, inet, date, time: unsigned bytes (``date`` is days + 2^31 stored unsigned,
  ``time`` a non-negative long, so byte order is time order; an IPv4 inet is a 4-byte prefix);
- boolean: false before true, any non-zero byte is true;
- float/double: ``Float.compareTo``/``Double.compareTo``: -0.0 before 0.0, NaN after +Infinity,
  every NaN equal to every other;
- decimal: ``BigDecimal.compareTo``, by value only: 1.0 and 1.00 are the *same* clustering value;
- uuid: version first; version 1 by timestamp (time_hi, time_mid, time_low) then the low 8 bytes
  unsigned; other versions by all 16 bytes unsigned;
- timeuuid: by timestamp, then the low 8 bytes compared as *signed* bytes (CASSANDRA-8730);
- frozen list/set: element by element, then the shorter first (sets and maps are serialized in
  element order by the server); map: key, value, key, value ..., then the shorter first;
- tuple/UDT: field by field, a null field before any value; trailing null fields are ignored,
  so ``(1, null)`` equals ``(1)``; then the shorter first.

Keys are plain ints, bytes, bools, Decimals and tuples of them, plus two markers (null, empty)
that sort before everything and a wrapper that reverses DESC columns. They are only meant to be
compared with keys made by the same function.
"""

from __future__ import annotations

import re
import struct
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from decimal import MAX_EMAX, MAX_PREC, MIN_EMIN, Context, Decimal
from typing import Any

from migrator.backends.cassandra.cql import unquote
from migrator.backends.cassandra.raw import split_elements, split_fields

UserTypes = Mapping[str, Sequence[tuple[str, str]]]
KeyFunction = Callable[[bytes], Any]

NATIVE_TYPES = frozenset({
    "ascii", "bigint", "blob", "boolean", "counter", "date", "decimal", "double", "duration", "float",
    "inet", "int", "smallint", "text", "time", "timestamp", "timeuuid", "tinyint", "uuid", "varint",
})
_ALIASES = {"varchar": "text"}
_COLLECTION_ARITY = {"list": 1, "set": 1, "map": 2}
_SIGNED = frozenset({"tinyint", "smallint", "int", "bigint", "counter", "varint", "timestamp"})
_BYTE_ORDER = frozenset({"text", "ascii", "blob", "inet", "date", "time"})
_COMPOSITE_MAX_COMPONENT = 0xFFFF  # a composite partition key component has an unsigned short length
_U16 = struct.Struct(">H")
_I32 = struct.Struct(">i")
_I64 = struct.Struct(">q")
# Exact decimal arithmetic: scaleb never rounds below MAX_PREC digits.
_EXACT = Context(prec=MAX_PREC, Emax=MAX_EMAX, Emin=MIN_EMIN)


# --- CQL type strings --------------------------------------------------------------------------


@dataclass(frozen=True)
class CqlType:
    """A parsed CQL type: a native name, a collection, a tuple, a vector or a user-defined type.

    ``kind`` is the native name (aliases resolved: varchar -> text) or one of ``list``, ``set``,
    ``map``, ``tuple``, ``vector``, ``udt``. UDTs carry their ``name`` and ``field_names``, with the
    field types in ``params``; vectors carry their ``dimension``.
    """

    kind: str
    params: tuple[CqlType, ...] = ()
    frozen: bool = False
    name: str | None = None
    field_names: tuple[str, ...] = ()
    dimension: int | None = None


_TOKEN = re.compile(r'\s*(?:("(?:[^"]|"")*")|(\'(?:[^\']|\'\')*\')|([A-Za-z0-9_]+)|(\S))')


def _tokenize(text: str) -> list[str]:
    tokens: list[str] = []
    pos = 0
    text = text.rstrip()
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if match is None:  # pragma: no cover - the pattern matches any non-blank character
            raise ValueError(f"cannot read CQL type {text!r} at position {pos}")
        tokens.append(match.group(match.lastindex or 0))
        pos = match.end()
    return tokens


class _Parser:
    def __init__(self, text: str, user_types: UserTypes) -> None:
        self.text = text
        self.tokens = _tokenize(text)
        self.pos = 0
        self.user_types = user_types

    def fail(self, why: str) -> ValueError:
        return ValueError(f"cannot parse CQL type {self.text!r}: {why}")

    def next(self) -> str:
        if self.pos >= len(self.tokens):
            raise self.fail("it ends too early")
        token = self.tokens[self.pos]
        self.pos += 1
        return token

    def expect(self, token: str) -> None:
        got = self.next()
        if got != token:
            raise self.fail(f"expected {token!r}, got {got!r}")

    def parse(self) -> CqlType:
        result = self.type()
        if self.pos != len(self.tokens):
            raise self.fail(f"unexpected {self.tokens[self.pos]!r}")
        return result

    def params(self) -> list[CqlType]:
        self.expect("<")
        found = [self.type()]
        while (token := self.next()) == ",":
            found.append(self.type())
        if token != ">":
            raise self.fail(f"expected ',' or '>', got {token!r}")
        return found

    def type(self) -> CqlType:
        token = self.next()
        word = token.lower()
        if token.startswith("'"):
            raise ValueError(f"unknown CQL type {token} (custom types have no known order or codec)")
        if word == "frozen" and self.peek() == "<":
            (inner,) = self.arity(word, self.params(), 1)
            return CqlType(inner.kind, inner.params, True, inner.name, inner.field_names, inner.dimension)
        if word in _COLLECTION_ARITY and self.peek() == "<":
            return CqlType(word, tuple(self.arity(word, self.params(), _COLLECTION_ARITY[word])))
        if word == "tuple" and self.peek() == "<":
            return CqlType("tuple", tuple(self.params()), frozen=True)
        if word == "vector" and self.peek() == "<":
            return self.vector()
        if not token.startswith('"'):
            word = _ALIASES.get(word, word)
            if word in NATIVE_TYPES:
                return CqlType(word)
        return self.user_type(token)

    def vector(self) -> CqlType:
        self.expect("<")
        element = self.type()
        self.expect(",")
        size = self.next()
        self.expect(">")
        if not size.isdigit():
            raise self.fail(f"a vector dimension must be a number, got {size!r}")
        return CqlType("vector", (element,), frozen=True, dimension=int(size))

    def user_type(self, token: str) -> CqlType:
        if self.peek() == ".":  # keyspace-qualified: keep the type name
            self.next()
            token = self.next()
        quoted = token.startswith('"')
        name = unquote(token)
        candidates = [name] if quoted else [name, name.lower()]
        found = next((c for c in candidates if c in self.user_types), None)
        if found is None:
            raise ValueError(f"unknown CQL type {name!r} in {self.text!r} (a user-defined type? "
                             "pass its fields in user_types)")
        name, fields = found, self.user_types[found]
        field_types = tuple(parse_cql_type(ftype, self.user_types) for _, ftype in fields)
        return CqlType("udt", field_types, frozen=True, name=name, field_names=tuple(f for f, _ in fields))

    def peek(self) -> str | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def arity(self, name: str, found: list[CqlType], count: int) -> list[CqlType]:
        if len(found) != count:
            raise self.fail(f"{name} takes {count} type parameter(s), got {len(found)}")
        return found


def user_types_in(parsed: CqlType) -> list[str]:
    """The names of the UDTs ``parsed`` uses, each after those its own fields use (dependencies first)."""
    found: list[str] = []

    def visit(t: CqlType) -> None:
        for param in t.params:
            visit(param)
        if t.kind == "udt" and t.name is not None and t.name not in found:
            found.append(t.name)

    visit(parsed)
    return found


def parse_cql_type(text: str, user_types: UserTypes | None = None) -> CqlType:
    """Parse a CQL type as the driver's ``ColumnMetadata.cql_type`` spells it.

    ``user_types`` maps a UDT name to its ``(field, cql type)`` pairs; names not found there, and
    custom (quoted class name) types, raise ``ValueError`` naming the type.
    """
    return _Parser(text, user_types or {}).parse()


# --- markers and the DESC wrapper ----------------------------------------------------------------


class _Marker:
    """Sorts before every other key; markers among themselves by rank (null before empty)."""

    __slots__ = ("name", "rank")

    def __init__(self, rank: int, name: str) -> None:
        self.rank, self.name = rank, name

    def __lt__(self, other: object) -> bool:
        return self.rank < other.rank if isinstance(other, _Marker) else True

    def __le__(self, other: object) -> bool:
        return self.rank <= other.rank if isinstance(other, _Marker) else True

    def __gt__(self, other: object) -> bool:
        return self.rank > other.rank if isinstance(other, _Marker) else False

    def __ge__(self, other: object) -> bool:
        return self.rank >= other.rank if isinstance(other, _Marker) else False

    def __eq__(self, other: object) -> bool:
        return self is other

    def __hash__(self) -> int:
        return hash(self.name)

    def __repr__(self) -> str:
        return self.name

    def __reduce__(self) -> str:  # keep identity across pickling (Spark ships keys around)
        return self.name


NULL = _Marker(0, "NULL")
EMPTY = _Marker(1, "EMPTY")


class Desc:
    """A key compared the other way round (a DESC clustering column)."""

    __slots__ = ("key",)

    def __init__(self, key: Any) -> None:
        self.key = key

    def __lt__(self, other: object) -> bool:
        return other.key < self.key if isinstance(other, Desc) else NotImplemented

    def __le__(self, other: object) -> bool:
        return other.key <= self.key if isinstance(other, Desc) else NotImplemented

    def __gt__(self, other: object) -> bool:
        return other.key > self.key if isinstance(other, Desc) else NotImplemented

    def __ge__(self, other: object) -> bool:
        return other.key >= self.key if isinstance(other, Desc) else NotImplemented

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Desc) and bool(self.key == other.key)

    def __hash__(self) -> int:
        return hash(("desc", self.key))

    def __repr__(self) -> str:
        return f"Desc({self.key!r})"


# --- per-type keys -------------------------------------------------------------------------------


def _same(raw: bytes) -> Any:
    return raw


def _signed(raw: bytes) -> Any:
    return int.from_bytes(raw, "big", signed=True) if raw else EMPTY


def _boolean(raw: bytes) -> Any:
    return raw[0] != 0 if raw else EMPTY


def _ieee(codec: struct.Struct, magnitude: int, infinity: int, canonical_nan: int) -> Callable[[bytes], Any]:
    """Float.compareTo / Double.compareTo order as one int.

    NaNs collapse to the canonical NaN, above +Infinity; negative numbers get their magnitude bits
    flipped so that -0.0 < 0.0 and -2.0 < -1.0.
    """

    def key(raw: bytes) -> Any:
        if not raw:
            return EMPTY
        bits = codec.unpack(raw)[0]
        if bits & magnitude > infinity:
            return canonical_nan
        return bits ^ magnitude if bits < 0 else bits

    return key


_double = _ieee(_I64, 0x7FFF_FFFF_FFFF_FFFF, 0x7FF0_0000_0000_0000, 0x7FF8_0000_0000_0000)
_float = _ieee(_I32, 0x7FFF_FFFF, 0x7F80_0000, 0x7FC0_0000)


def _decimal(raw: bytes) -> Any:
    if not raw:
        return EMPTY
    scale = _I32.unpack_from(raw, 0)[0]
    return _EXACT.scaleb(Decimal(int.from_bytes(raw[4:], "big", signed=True)), -scale)


def _timestamp_high(raw: bytes) -> int:
    # time_hi_and_version, time_mid, time_low: the 60-bit timestamp with the version on top
    return int.from_bytes(raw[6:8] + raw[4:6] + raw[0:4], "big")


def _uuid(raw: bytes) -> Any:
    if len(raw) != 16:
        return EMPTY
    version = raw[6] >> 4
    high = _timestamp_high(raw) if version == 1 else int.from_bytes(raw[:8], "big")
    return (version << 128) | (high << 64) | int.from_bytes(raw[8:], "big")


def _timeuuid(raw: bytes) -> Any:
    if len(raw) != 16:
        return EMPTY
    # The low bytes compare as signed bytes: flipping each sign bit makes that an unsigned order.
    return (_timestamp_high(raw) << 64) | (int.from_bytes(raw[8:], "big") ^ 0x8080_8080_8080_8080)


_NATIVE_KEYS: dict[str, KeyFunction] = {
    **dict.fromkeys(_SIGNED, _signed),
    **dict.fromkeys(_BYTE_ORDER, _same),
    "boolean": _boolean, "float": _float, "double": _double, "decimal": _decimal,
    "uuid": _uuid, "timeuuid": _timeuuid,
}


def _sequence_key(element_keys: Sequence[KeyFunction], per_entry: int) -> KeyFunction:
    def key(raw: bytes) -> Any:
        if not raw:
            return EMPTY
        items = split_elements(raw, per_entry=per_entry)
        return tuple(NULL if item is None else element_keys[i % per_entry](item) for i, item in enumerate(items))

    return key


def _fields_key(field_keys: Sequence[KeyFunction]) -> KeyFunction:
    def key(raw: bytes) -> Any:
        if not raw:
            return EMPTY
        # A value may have fewer fields than its type (written before ALTER TYPE ADD): zip stops early.
        fields = split_fields(raw)[: len(field_keys)]
        keys = [NULL if value is None else fkey(value) for fkey, value in zip(field_keys, fields, strict=False)]
        while keys and keys[-1] is NULL:  # Cassandra ignores trailing null fields
            keys.pop()
        return tuple(keys)

    return key


def key_function_for(cql_type: CqlType) -> KeyFunction:
    """The sort key of one non-null raw value of ``cql_type``; ``ValueError`` for unorderable types."""
    if cql_type.kind in _NATIVE_KEYS:
        return _NATIVE_KEYS[cql_type.kind]
    params = [key_function_for(p) for p in cql_type.params]
    if cql_type.kind in ("list", "set"):
        return _sequence_key(params, 1)
    if cql_type.kind == "map":
        return _sequence_key(params, 2)
    if cql_type.kind in ("tuple", "udt"):
        return _fields_key(params)
    if cql_type.kind == "duration":
        raise ValueError("type 'duration' has no order: it cannot be part of a clustering key")
    raise ValueError(f"type {cql_type.kind!r} is not supported in a clustering key")


def clustering_key_function(
    cql_types: Sequence[str], reversed_flags: Sequence[bool], user_types: UserTypes | None = None
) -> Callable[[Sequence[bytes | None]], tuple[Any, ...]]:
    """A function from a row's raw clustering values to a tuple sorting like Cassandra sorts the rows.

    ``cql_types`` are the clustering columns' types in order, ``reversed_flags`` their DESC flags.
    Null values (a static-only partition's row) sort first, whatever the column order.
    """
    if len(cql_types) != len(reversed_flags):
        raise ValueError(f"{len(cql_types)} clustering types but {len(reversed_flags)} order flags")
    pairs = zip(cql_types, reversed_flags, strict=True)
    columns = [(key_function_for(parse_cql_type(t, user_types)), bool(r)) for t, r in pairs]

    def key(values: Sequence[bytes | None]) -> tuple[Any, ...]:
        return tuple(
            NULL if value is None else Desc(fkey(value)) if desc else fkey(value)
            for (fkey, desc), value in zip(columns, values, strict=True)
        )

    return key


# --- partitions ----------------------------------------------------------------------------------


def routing_key(values: Sequence[bytes]) -> bytes:
    """The partition key bytes the server orders by (and hashes into the token).

    One column: its value. Several: each component as a 2-byte length, the bytes, then 0x00.
    """
    if not values:
        raise ValueError("a partition key has at least one column")
    if len(values) == 1:
        return bytes(values[0])
    parts: list[bytes] = []
    for value in values:
        if len(value) > _COMPOSITE_MAX_COMPONENT:
            raise ValueError(f"a partition key component is at most 65535 bytes, got {len(value)}")
        parts += (_U16.pack(len(value)), bytes(value), b"\x00")
    return b"".join(parts)


def partition_order_key(token: int, key_bytes: bytes) -> tuple[int, bytes]:
    """Server order of partitions: the Murmur3 token, then the key bytes compared unsigned."""
    return (token, bytes(key_bytes))
