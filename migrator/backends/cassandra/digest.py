"""Canonical, typed, length-prefixed encoding of row cells, and the row digest built on it.

The one place where "are these two cells the same value?" is decided byte-wise. Each cell becomes
``tag | length | payload``: the tag names the value's family, so values of different families never
collide; a null is a distinct marker (length -1), so null differs from every empty value. Within a
family the payload is canonical, so lossless widenings compare equal (an ``int`` 7 in the source and
a ``bigint`` 7 in the target, ``ascii`` and ``text``, ``float`` and ``double``). Everything else is the
CQL serialization itself, which the server already produces canonically (sets and maps sorted).
"""

from __future__ import annotations

import hashlib
import struct
from collections.abc import Callable, Sequence

from migrator.backends.cassandra.raw import varint_bytes

DIGEST_BYTES = 16
_LEN = struct.Struct(">i")
_NULL = _LEN.pack(-1)
_INTEGERS = frozenset({"tinyint", "smallint", "int", "bigint", "varint", "counter"})
_FLOATS = {"float": struct.Struct(">f"), "double": struct.Struct(">d")}
_TEXT = frozenset({"ascii", "text", "varchar"})

Canonical = Callable[[bytes], bytes]


def _integer(raw: bytes) -> bytes:
    return varint_bytes(int.from_bytes(raw, "big", signed=True)) if raw else b""


def _floating(codec: struct.Struct) -> Canonical:
    def canonical(raw: bytes) -> bytes:
        if len(raw) != codec.size:
            return raw
        return _FLOATS["double"].pack(codec.unpack(raw)[0])

    return canonical


def _same(raw: bytes) -> bytes:
    return raw


def canonicalizer(cql_type: str) -> tuple[bytes, Canonical]:
    """The family tag and payload function for a column type (as the driver names it)."""
    if cql_type in _INTEGERS:
        return b"i", _integer
    if cql_type in _FLOATS:
        return b"f", _floating(_FLOATS[cql_type])
    if cql_type in _TEXT:
        return b"s", _same
    stripped = cql_type[len("frozen<") : -1] if cql_type.startswith("frozen<") else cql_type
    return b"t:" + stripped.encode(), _same


def encode_cell(tag: bytes, canonical: Canonical, raw: bytes | None) -> bytes:
    """``tag | length | payload``; a null is the tag and length -1."""
    if raw is None:
        return tag + _NULL
    payload = canonical(raw)
    return tag + _LEN.pack(len(payload)) + payload


class RowDigester:
    """Digests the chosen cells of raw rows; build once per column layout, call per row."""

    def __init__(self, positions: Sequence[int], cql_types: Sequence[str]) -> None:
        self.columns = [(pos, *canonicalizer(t)) for pos, t in zip(positions, cql_types, strict=True)]
        # the last row's cells: a differing row is encoded once for the comparison and once more for its digest
        self._last: tuple[Sequence[bytes | None] | None, list[bytes]] = (None, [])

    def families(self) -> list[bytes]:
        """Each chosen column's family tag, in order."""
        return [tag for _, tag, _ in self.columns]

    def cells(self, row: Sequence[bytes | None]) -> list[bytes]:
        """Each chosen cell's canonical encoding (for column-by-column comparison)."""
        last, cells = self._last
        if row is not last:  # the same row object (held by the cache, so never a new row at its address)
            cells = [encode_cell(tag, fn, row[pos]) for pos, tag, fn in self.columns]
            self._last = (row, cells)
        return cells

    def digest(self, row: Sequence[bytes | None]) -> bytes:
        """A 16-byte BLAKE2b digest of the row's canonical cells."""
        return hashlib.blake2b(b"".join(self.cells(row)), digest_size=DIGEST_BYTES).digest()
