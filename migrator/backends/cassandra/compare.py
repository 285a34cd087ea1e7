"""Executor side of validation: merge-join one token range of the source and of the target.

Both scans arrive in the server's order (token, partition key, clustering), so walking them side by
side finds rows missing in the target, rows only in the target, and rows present in both, with
memory bounded by a page of each side: no shuffle and no hash map. Both scans select the same
columns in the same order, so when every compared column has the same type family on both sides,
two rows whose serialized cells are identical are equal (and have the same key): one comparison of
two tuples of bytes settles the common case. Other rows in both sides are compared through their
digests (``migrator.digest``); only rows whose digests differ are compared column by column,
applying the tolerances. Mismatches can be re-read before being reported (for tables that
still receive writes), and repaired.
"""

from __future__ import annotations

import operator
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from migrator.backends.cassandra import ordering, values
from migrator.backends.cassandra.connection import ConnectionSpec, cached_session, prepared
from migrator.backends.cassandra.copier import consistency, scan_pages
from migrator.backends.cassandra.raw import bind_raw, decode_int, split_int_list
from migrator.digest import RowDigester
from migrator.report.model import DIFFERING, EXTRA, MISSING, ColumnStats, Example, RangeResult

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


@dataclass(frozen=True)
class ComparePlan:
    """Everything an executor needs to compare a range, as plain data."""

    source: ConnectionSpec
    target: ConnectionSpec
    source_consistency: str
    target_consistency: str
    fetch_size: int
    source_select: str  # token range scans: pk..., ck..., cells..., metadata...
    target_select: str
    source_by_key: str  # the same selectors, for one primary key (rechecks)
    target_by_key: str
    source_by_partition: str
    target_by_partition: str
    partition_key: tuple[int, ...]
    clustering: tuple[int, ...]
    key_names: tuple[str, ...]
    key_types: tuple[str, ...]
    clustering_types: tuple[str, ...]
    clustering_reversed: tuple[bool, ...]
    columns: tuple[CompareColumn, ...]
    settings: CompareSettings
    user_types: dict[str, tuple[tuple[str, str], ...]] = field(default_factory=dict)
    repair: Any = None  # a CopyPlan whose by-key select feeds the migrate writers
    delete_cql: str | None = None
    delete_partition_cql: str | None = None
    clear_cql: str | None = None  # DELETE ... USING TIMESTAMP ? for one row
    partitioner: str = "Murmur3Partitioner"


def compare_range(
    plan: ComparePlan, index: int, split: tuple[int, int], pieces: Sequence[tuple[int, int]]
) -> RangeResult:
    """Compare every row whose token lies in ``pieces``; the result is for split ``index``."""
    return RangeComparer(plan, index, split).run(pieces)


class RangeComparer:
    """Walks the two scans of one range side by side and fills a ``RangeResult``."""

    def __init__(self, plan: ComparePlan, index: int, split: tuple[int, int]) -> None:
        self.plan = plan
        self.result = RangeResult(index, split[0], split[1])
        self.src = cached_session(plan.source, raw=True)
        self.tgt = cached_session(plan.target, raw=True)
        cols = plan.columns
        self.src_digest = RowDigester([c.position for c in cols], [c.source_type for c in cols])
        self.tgt_digest = RowDigester([c.position for c in cols], [c.target_type for c in cols])
        # identical bytes mean equal values only when each column is read as the same family on both sides
        self.bytewise = self.src_digest.families() == self.tgt_digest.families()
        self.decode_src = [values.decoder_for(c.source_type, plan.user_types) for c in cols]
        self.decode_tgt = [values.decoder_for(c.target_type, plan.user_types) for c in cols]
        self.decode_key = [values.decoder_for(t, plan.user_types) for t in plan.key_types]
        self.clustering_key = ordering.clustering_key_function(
            plan.clustering_types, plan.clustering_reversed, plan.user_types
        )
        self.key_positions = plan.partition_key + plan.clustering
        self._hash = token_function(plan.partitioner)
        self._key_of = operator.itemgetter(*self.key_positions)
        self.position = 0
        self.pending: list[tuple[str, Row | None, Row | None]] = []
        self.repairer: Any = None

    # --- scanning ---

    def _pages(self, session: Any, cql: str, cl: str, pieces: Sequence[tuple[int, int]]) -> Iterator[list[Row]]:
        stmt = prepared(session, cql)
        stmt.consistency_level = consistency(cl)
        for start, end in pieces:
            yield from scan_pages(session, stmt, (start, end), self.plan.fetch_size)

    def _partition_bytes(self, row: Row) -> bytes:
        return ordering.routing_key([row[i] or b"" for i in self.plan.partition_key])

    def order_key(self, row: Row) -> tuple[Any, ...]:
        """Where the row sits in the server's order: (token, partition key), then clustering."""
        pk = self._partition_bytes(row)
        return ordering.partition_order_key(self._hash(pk), pk), self.clustering_key(
            [row[i] for i in self.plan.clustering])

    def token(self, row: Row) -> int:
        """The row's token, as the server computes it."""
        return int(self._hash(self._partition_bytes(row)))

    def run(self, pieces: Sequence[tuple[int, int]]) -> RangeResult:
        """Merge the two scans; then recheck and repair what was found.

        When byte-identical rows mean equal rows, runs of up to ``CHUNK_ROWS`` rows are first
        compared as whole slices (one C-level comparison); a run that differs is walked row by row.
        """
        p = self.plan
        src = _Cursor(self._pages(self.src, p.source_select, p.source_consistency, pieces), self.order_key)
        tgt = _Cursor(self._pages(self.tgt, p.target_select, p.target_consistency, pieces), self.order_key)
        result = self.result
        while src.row is not None or tgt.row is not None:
            steps = 1
            if self.bytewise and (run := min(CHUNK_ROWS, src.left, tgt.left)) > 0:
                if src.page[src.i : src.i + run] == tgt.page[tgt.i : tgt.i + run]:
                    result.source_rows += run
                    result.target_rows += run
                    self.position += run
                    src.advance(run)
                    tgt.advance(run)
                    continue
                steps = run
            for _ in range(steps):
                self._step(src, tgt)
        self._recheck()
        if self.repairer is not None:
            self.repairer.finish()
        return self.result

    def _step(self, src: _Cursor, tgt: _Cursor) -> None:
        """One step of the merge: a pair of rows with the same key, or the row that comes first."""
        s, t = src.row, tgt.row
        if s is None and t is None:
            return
        identical = self.bytewise and s == t  # same key, cells and metadata
        if s is not None and t is not None and (identical or self._same_key(s, t)):
            self.result.source_rows += 1
            self.result.target_rows += 1
            differences = [] if identical else self._differences(s, t)
            self._found(DIFFERING if differences else None, s, t, differences)
            src.advance(1)
            tgt.advance(1)
        elif t is None or (s is not None and src.order_key() < tgt.order_key()):
            self.result.source_rows += 1
            self._found(MISSING, s, None)
            src.advance(1)
        elif t is not None:
            self.result.target_rows += 1
            self._found(EXTRA, None, t)
            tgt.advance(1)

    def _same_key(self, s: Row, t: Row) -> bool:
        return self._key_of(s) == self._key_of(t)

    # --- classifying ---

    def _found(self, kind: str | None, s: Row | None, t: Row | None,
               differences: Sequence[Difference] = ()) -> None:
        self.position += 1
        if kind is None:
            return
        if self.plan.settings.recheck and len(self.pending) < self.plan.settings.recheck_limit:
            self.pending.append((kind, s, t))
            return
        self._count(kind, s, t, differences)

    def _count(self, kind: str, s: Row | None, t: Row | None, differences: Sequence[Difference] = ()) -> None:
        r = self.result
        if kind == MISSING:
            r.missing += 1
        elif kind == EXTRA:
            r.extra += 1
        elif kind == DIFFERING:
            r.differing += 1
            for name, a, b, diff in differences:
                self._stat(name, a, b, diff)
        if sum(1 for e in r.examples if e.kind == kind) < self.plan.settings.failures_to_fetch:
            r.examples.append(self._example(kind, s, t, [d[0] for d in differences]))
        self._repair(kind, s, t)

    def _differences(self, s: Row, t: Row) -> list[Difference]:
        """What differs beyond the tolerances; values are only decoded when the digests differ."""
        found = []
        if self.src_digest.digest(s) != self.tgt_digest.digest(t):
            src_cells, tgt_cells = self.src_digest.cells(s), self.tgt_digest.cells(t)
            for i, col in enumerate(self.plan.columns):
                if src_cells[i] == tgt_cells[i]:
                    continue
                a, b = self.decode_src[i](s[col.position]), self.decode_tgt[i](t[col.position])
                if not self._equal(col, a, b):
                    found.append((col.name, a, b, values.numeric_difference(a, b)))
        return found + self._metadata_differences(s, t)

    def _equal(self, col: CompareColumn, a: Any, b: Any) -> bool:
        st = self.plan.settings
        if col.tolerance is not None:
            diff = values.numeric_difference(a, b)
            if diff is not None:
                return diff <= col.tolerance
        return values.values_equal(a, b, float_tolerance=st.float_tolerance,
                                   timestamp_ms_tolerance=st.timestamp_ms_tolerance)

    def _metadata_differences(self, s: Row, t: Row) -> list[Difference]:
        st = self.plan.settings
        out: list[Difference] = []
        for col in self.plan.columns:
            if col.writetime is None or col.ttl is None:
                continue
            for label, pos, tolerance, scale in (("writetime", col.writetime, st.writetime_tolerance_us, 1000.0),
                                                 ("ttl", col.ttl, st.ttl_tolerance_s, 1.0)):
                a, b = _meta(s[pos], col.multicell), _meta(t[pos], col.multicell)
                diff = _meta_difference(a, b)
                if diff is not None and diff <= tolerance:
                    continue
                shown = None if diff is None or diff == float("inf") else diff / scale
                out.append((f"{label}({col.name})", a, b, shown))
        return out

    def _stat(self, name: str, a: Any, b: Any, diff: float | None) -> None:
        stats = self.result.columns.setdefault(name, ColumnStats())
        stats.unequal += 1
        if (a is None) != (b is None):
            stats.null_vs_value += 1
        if diff is not None:
            stats.max_difference = diff if stats.max_difference is None else max(stats.max_difference, diff)

    # --- examples, rechecks, repairs ---

    def _display(self, row: Row | None, decoders: list[Any]) -> dict[str, Any] | None:
        if row is None:
            return None
        out = self._key(row)
        for col, decode in zip(self.plan.columns, decoders, strict=True):
            out[col.name] = values.to_display(decode(row[col.position]))
        return out

    def _key(self, row: Row) -> dict[str, Any]:
        return {name: values.to_display(decode(row[i])) for name, decode, i in
                zip(self.plan.key_names, self.decode_key, self.key_positions, strict=True)}

    def _example(self, kind: str, s: Row | None, t: Row | None, columns: list[str]) -> Example:
        row = s if s is not None else t
        assert row is not None
        return Example(kind, self._key(row), self._display(s, self.decode_src), self._display(t, self.decode_tgt),
                       columns, self.result.index, self.position, self.token(row))

    def _recheck(self) -> None:
        if not self.pending:
            return
        delay = self.plan.settings.recheck_delay_s
        # executor stderr reaches the driver's log (and tells a watcher when rechecking starts)
        print(f"migrator: range {self.result.index}: re-reading {len(self.pending)} mismatching rows in {delay:g} s",
              file=sys.stderr, flush=True)
        time.sleep(delay)
        for kind, s, t in self.pending:
            row = s if s is not None else t
            assert row is not None
            self.result.rechecked += 1
            s2 = self._reread(self.src, row, source=True)
            t2 = self._reread(self.tgt, row, source=False)
            differences: list[Difference] = []
            if s2 is None and t2 is None:
                new_kind = None
            elif t2 is None:
                new_kind = MISSING
            elif s2 is None:
                new_kind = EXTRA
            else:
                differences = self._differences(s2, t2)
                new_kind = DIFFERING if differences else None
            self._adjust_rows(kind, s2, t2)
            if new_kind is None:
                self.result.resolved_on_recheck += 1
            else:
                self._count(new_kind, s2, t2, differences)
        self.pending.clear()

    def _adjust_rows(self, old_kind: str, s2: Row | None, t2: Row | None) -> None:
        """Row totals follow what the re-read saw."""
        had_s, had_t = old_kind != EXTRA, old_kind != MISSING
        self.result.source_rows += (s2 is not None) - had_s
        self.result.target_rows += (t2 is not None) - had_t

    def _reread(self, session: Any, row: Row, *, source: bool) -> Row | None:
        p = self.plan
        static_only = bool(p.clustering) and row[p.clustering[0]] is None
        if static_only:
            cql = p.source_by_partition if source else p.target_by_partition
            key = [row[i] for i in p.partition_key]
        else:
            cql = p.source_by_key if source else p.target_by_key
            key = [row[i] for i in self.key_positions]
        stmt = prepared(session, cql)
        stmt.consistency_level = consistency(p.source_consistency if source else p.target_consistency)
        found = session.execute(bind_raw(stmt, key)).one()
        return tuple(found) if found is not None else None

    def _repair(self, kind: str, s: Row | None, t: Row | None) -> None:
        st = self.plan.settings
        wanted = {MISSING: st.copy_missing, DIFFERING: st.copy_differing, EXTRA: st.delete_extra}[kind]
        if not wanted:
            return
        if self.repairer is None:
            from migrator.backends.cassandra.repair import Repairer

            self.repairer = Repairer(self.plan, self.result)
        row = t if kind == EXTRA else s
        assert row is not None
        self.repairer.repair(kind, row)


CHUNK_ROWS = 256


class _Cursor:
    """A position in a stream of pages: the current row, and how many rows are left in its page."""

    def __init__(self, pages: Iterator[list[Row]], key_of: Callable[[Row], Any]) -> None:
        self._pages = pages
        self._key_of = key_of
        self.page: list[Row] = []
        self.i = 0
        self.row: Row | None = None
        self._key: Any = None  # the current row's order key, computed at most once
        self._next_page()

    @property
    def left(self) -> int:
        """Rows left in the current page, the current one included."""
        return len(self.page) - self.i

    def _next_page(self) -> None:
        for page in self._pages:
            if page:
                self.page, self.i, self.row = page, 0, page[0]
                return
        self.page, self.i, self.row = [], 0, None

    def advance(self, n: int) -> None:
        """Move ``n`` rows on (never past the current page)."""
        self.i += n
        self._key = None
        if self.i < len(self.page):
            self.row = self.page[self.i]
        else:
            self._next_page()

    def order_key(self) -> Any:
        """The current row's order key, computed once per row (only called while there is a row)."""
        if self._key is None:
            assert self.row is not None
            self._key = self._key_of(self.row)
        return self._key


def token_function(partitioner: str) -> Any:
    """The partitioner's hash of a partition key's bytes (the driver's, which matches the server's)."""
    from cassandra.metadata import MD5Token, Murmur3Token

    return {"Murmur3Partitioner": Murmur3Token, "RandomPartitioner": MD5Token}[partitioner].hash_fn


def _meta(raw: bytes | None, multicell: bool) -> Any:
    if multicell:
        return tuple(split_int_list(raw)) if raw is not None else None
    return decode_int(raw)


def _meta_difference(a: Any, b: Any) -> float | None:
    """Largest absolute difference between two writetimes/TTLs (or element lists); inf if not comparable."""
    if a is None and b is None:
        return 0.0
    if a is None or b is None:
        return float("inf")
    if isinstance(a, tuple):
        if len(a) != len(b):
            return float("inf")
        diffs = [_meta_difference(x, y) for x, y in zip(a, b, strict=True)]
        return max((d for d in diffs if d is not None), default=0.0)
    return float(abs(a - b))
