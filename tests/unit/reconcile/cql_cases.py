"""Raw CQL rows of a table with one column of each type family, as both scans of a diff read them.

Shared by the golden test of diff's written outputs: the rows are serialized the way the server
sends them, laid out as ``build_compare_plan`` lays out a diff's scans (key, cells, WRITETIMEs).
"""

from __future__ import annotations

import datetime as dt
import struct
from collections import namedtuple
from decimal import Decimal
from typing import Any
from uuid import UUID

from migrator.backends.cassandra.compare_plan import ComparePlan
from migrator.backends.cassandra.connection import ConnectionSpec
from migrator.backends.cassandra.ordering import parse_cql_type
from migrator.backends.cassandra.raw import encode_bigint
from migrator.backends.cassandra.rowdiff import CompareColumn, CompareSettings, Row
from migrator.backends.cassandra.values import driver_type
from migrator.report.model import DIFFERING, EXTRA, MISSING

USER_TYPES = {"point": (("x", "int"), ("label", "text"))}
KEYS = (("k", "int"), ("c", "text"))
CELLS = (("v", "text"), ("n", "bigint"), ("d", "double"), ("f", "float"), ("b", "blob"), ("ts", "timestamp"),
         ("u", "uuid"), ("dec", "decimal"), ("flag", "boolean"), ("i", "int"), ("day", "date"),
         ("tags", "set<text>"), ("m", "map<text, int>"), ("l", "frozen<list<int>>"), ("p", "frozen<point>"))
MULTICELL = frozenset({"tags", "m"})
FUTURE_US = 7_258_118_400_000_000  # 2200-01-01: a production write ahead of any diff's clock
NULL_ITEM = struct.pack(">i", -1)
Point = namedtuple("Point", ["x", "label"])


def plan() -> ComparePlan:
    """Key (k, c), the cells, then each cell's WRITETIME (multicell ones as lists), in a diff's layout."""
    first = len(KEYS)
    columns = tuple(CompareColumn(name, t, t, first + i, multicell=name in MULTICELL) for i, (name, t) in
                    enumerate(CELLS))
    written = tuple((first + len(CELLS) + i, name in MULTICELL) for i, (name, _) in enumerate(CELLS))
    spec = ConnectionSpec("source", "127.0.0.1", 9042)
    return ComparePlan(
        source=spec, target=spec, source_consistency="LOCAL_QUORUM", target_consistency="LOCAL_QUORUM",
        fetch_size=100, source_select="", target_select="", source_by_key="", target_by_key="",
        source_by_partition="", target_by_partition="", partition_key=(0,), clustering=(1,), key_names=("k", "c"),
        key_types=("int", "text"), clustering_types=("text",), clustering_reversed=(False,), columns=columns,
        settings=CompareSettings(0.0, 0, 0, 0.0, 100), user_types=dict(USER_TYPES), digests=True,
        written=written, bindable=True)  # pins the cell bytes a put carries (a real plan with a UDT has none)


def enc(cql_type: str, value: Any) -> bytes | None:
    """A value serialized as the server sends it (None stays a null cell, bytes are a raw cell as is)."""
    if value is None or (isinstance(value, bytes) and cql_type != "blob"):
        return value
    if isinstance(value, set):
        value = sorted(value)  # as the server sends a set; Python's set order changes with PYTHONHASHSEED
    return bytes(driver_type(parse_cql_type(cql_type, USER_TYPES)).to_binary(value, 4))


def writetimes(times: list[int | None]) -> bytes:
    """A multicell column's WRITETIME(): one bigint per element."""
    parts = [struct.pack(">i", len(times))]
    for t in times:
        parts.append(NULL_ITEM if t is None else struct.pack(">i", 8) + encode_bigint(t))
    return b"".join(parts)


BASE: dict[str, Any] = {
    "v": "it's \u00e9t\u00e9 \u2603 \"quoted\"", "n": -(2**63), "d": 0.1, "f": 1.5, "b": b"\x00\xff'",
    "ts": dt.datetime(2024, 2, 29, 23, 59, 59, 123000), "u": UUID("6ba7b810-9dad-11d1-80b4-00c04fd430c8"),
    "dec": Decimal("-12.3400"), "flag": True, "i": 7, "day": dt.date(1999, 12, 31), "tags": {"b", "a'"},
    "m": {"x": 1, "y": -2}, "l": [3, 1, 2], "p": Point(1, "o'k"),
}


def row(k: int, c: str | None, written: int, **cells: Any) -> Row:
    """A scanned row: key, the cells (``BASE`` with ``cells`` over it), each cell's WRITETIME."""
    values = {**BASE, **cells}
    key = [enc("int", k), enc("text", c)]
    data = [enc(t, values[name]) for name, t in CELLS]
    times = []
    for (name, _), raw in zip(CELLS, data, strict=True):
        if name in MULTICELL:
            times.append(None if raw is None else writetimes([written] * len(values[name])))
        else:
            times.append(None if raw is None else encode_bigint(written))
    return tuple(key + data + times)


def cases() -> list[tuple[str, Row | None, Row | None]]:
    """Differences of every kind, with the edge cases of values, keys and write times."""
    nan, inf = float("nan"), float("inf")
    return [
        (MISSING, row(1, "a", 1_000), None),
        (DIFFERING, row(2, "b", 3_000, v="dev", n=5), row(2, "b", 2_000, v="prod", n=6)),
        (EXTRA, None, row(3, "c", 1_000, v=None, tags=set())),
        (DIFFERING, row(4, "d", 1_000, tags={"a'", "b", "z"}), row(4, "d", 5_000)),
        (DIFFERING, row(5, "\u00e9'e", 4_000, d=nan, f=-inf, i=b""), row(5, "\u00e9'e", FUTURE_US, d=1.0)),
        (MISSING, row(6, None, 1_000, v="static only"), None),
        (DIFFERING, row(7, "g", 1_000, v=None, m={}, p=Point(None, None)), row(7, "g", 1_000)),
        (EXTRA, None, row(8, "h", 2_000, b=b"")),
        (DIFFERING, row(9, "i", 2_000, dec=Decimal("1E+3"), day=dt.date(2000, 1, 1), b=b""),
         row(9, "i", 2_000, dec=Decimal("1000"))),
    ]
