"""What differs between a source row and a target row with the same key, as scanned (raw CQL bytes).

Rows are tuples of serialized cells laid out by the compare plan. The decision is layered so the
common case costs least:

* ``bytewise``: when every compared column is read as the same type family on both sides, identical
  tuples are equal rows (the merge-join settles those without calling in here);
* otherwise the two rows' digests (``digest``) are compared; equal digests mean equal cells;
* only rows whose digests differ are decoded column by column and compared with the tolerances
  (``floatingPointTolerance``, ``timestampMsTolerance``, ``columnTolerances``); NaN equals NaN;
* WRITETIME and TTL are compared as numbers within their tolerances, element by element for
  non-frozen collections.

No I/O: everything here works on bytes, so it is tested without a cluster.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from migrator.backends.cassandra import values
from migrator.backends.cassandra.digest import RowDigester
from migrator.backends.cassandra.ordering import UserTypes
from migrator.backends.cassandra.raw import decode_int, split_int_list

Row = Sequence[bytes | None]
Difference = tuple[str, Any, Any, float | None]  # column (or writetime(c)/ttl(c)), source, target, size


@dataclass(frozen=True)
class CompareColumn:
    """A compared cell column; ``position`` is the same in both scans."""

    name: str  # the target's (renamed) name, used in reports
    source_type: str
    target_type: str
    position: int
    writetime: int | None = None
    ttl: int | None = None
    multicell: bool = False
    tolerance: float | None = None


@dataclass(frozen=True)
class CompareSettings:
    """Tolerances (converted to the units the server reports), sample size, rechecks and repairs."""

    float_tolerance: float
    timestamp_ms_tolerance: int
    writetime_tolerance_us: int
    ttl_tolerance_s: float
    failures_to_fetch: int
    recheck: bool = False
    recheck_delay_s: float = 5.0
    recheck_limit: int = 1000
    copy_missing: bool = False
    copy_differing: bool = False
    delete_extra: bool = False


class RowDiffer:
    """Compares rows of one column layout; build once per range, call per pair of rows."""

    def __init__(self, columns: Sequence[CompareColumn], settings: CompareSettings,
                 user_types: UserTypes | None = None) -> None:
        self.columns = tuple(columns)
        self.settings = settings
        user_types = user_types or {}
        self.src_digest = RowDigester([c.position for c in columns], [c.source_type for c in columns])
        self.tgt_digest = RowDigester([c.position for c in columns], [c.target_type for c in columns])
        # identical bytes mean equal values only when each column is read as the same family on both sides
        self.bytewise = self.src_digest.families() == self.tgt_digest.families()
        self.decode_src = [values.decoder_for(c.source_type, user_types) for c in columns]
        self.decode_tgt = [values.decoder_for(c.target_type, user_types) for c in columns]

    def differences(self, s: Row, t: Row) -> list[Difference]:
        """What differs beyond the tolerances; values are only decoded where the canonical cells differ."""
        found = []
        src_cells, tgt_cells = self.src_digest.cells(s), self.tgt_digest.cells(t)
        if src_cells != tgt_cells:
            for i, col in enumerate(self.columns):
                if src_cells[i] == tgt_cells[i]:
                    continue
                a, b = self.decode_src[i](s[col.position]), self.decode_tgt[i](t[col.position])
                if not self._equal(col, a, b):
                    found.append((col.name, a, b, values.numeric_difference(a, b)))
        return found + self._metadata_differences(s, t)

    def _equal(self, col: CompareColumn, a: Any, b: Any) -> bool:
        st = self.settings
        if col.tolerance is not None:
            diff = values.numeric_difference(a, b)
            if diff is not None:
                return diff <= col.tolerance
        return values.values_equal(a, b, float_tolerance=st.float_tolerance,
                                   timestamp_ms_tolerance=st.timestamp_ms_tolerance)

    def _metadata_differences(self, s: Row, t: Row) -> list[Difference]:
        st = self.settings
        out: list[Difference] = []
        for col in self.columns:
            if col.writetime is None or col.ttl is None:
                continue
            for label, pos, tolerance, scale in (("writetime", col.writetime, st.writetime_tolerance_us, 1000.0),
                                                 ("ttl", col.ttl, st.ttl_tolerance_s, 1.0)):
                a, b = metadata_value(s[pos], col.multicell), metadata_value(t[pos], col.multicell)
                diff = metadata_difference(a, b)
                if diff <= tolerance:
                    continue
                shown = None if diff == float("inf") else diff / scale
                out.append((f"{label}({col.name})", a, b, shown))
        return out


def metadata_value(raw: bytes | None, multicell: bool) -> Any:
    """A scanned WRITETIME/TTL: an int, a tuple of ints (one per collection element), or None."""
    if multicell:
        return tuple(split_int_list(raw)) if raw is not None else None
    return decode_int(raw)


def metadata_difference(a: Any, b: Any) -> float:
    """Largest absolute difference between two writetimes/TTLs (or element lists); inf if not comparable."""
    if a is None and b is None:
        return 0.0
    if a is None or b is None:
        return float("inf")
    if isinstance(a, tuple):
        if len(a) != len(b):
            return float("inf")
        return max((metadata_difference(x, y) for x, y in zip(a, b, strict=True)), default=0.0)
    return float(abs(a - b))
