"""Executor side of validation: scan one token range of both tables and merge-join them.

Both scans arrive in the server's order (token, partition key, clustering), which ``order_key``
reproduces from the scanned bytes, so ``migrator.join.merge_join`` walks them side by side with
memory bounded by a page of each side. ``rowdiff`` decides what differs between two rows with the
same key. This module adds what needs the clusters: the scans, re-reading mismatches before they are
reported (for tables that still receive writes), repairs, and writing every difference to the
split's file when a ``DifferenceSink`` is given. The counts are exact, never a sample; the
``RangeResult`` carries at most ``failuresToFetch`` examples of each kind.
"""

from __future__ import annotations

import operator
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from migrator.backends.base import WorkItem
from migrator.backends.cassandra import ordering
from migrator.backends.cassandra.compare_plan import ComparePlan, row_key
from migrator.backends.cassandra.connection import ConnectionSpec, cached_session, consistency, prepared
from migrator.backends.cassandra.examples import ExampleMaker
from migrator.backends.cassandra.raw import bind_raw
from migrator.backends.cassandra.repair import Repairer
from migrator.backends.cassandra.rowdiff import Difference, Row, RowDiffer
from migrator.backends.cassandra.scan import scan_pages
from migrator.differences import DifferenceSink, DifferenceWriter
from migrator.join import EQUAL, merge_join
from migrator.planning.tokens import Work
from migrator.report.model import DIFFERING, EXTRA, MISSING, ColumnStats, RangeResult


def compare_item(plan: ComparePlan, sink: DifferenceSink | None, item: WorkItem) -> RangeResult:
    """The compare task of the backend protocol: one pending split, its remaining pieces."""
    work: Work = item.spec
    split = (work.split.start, work.split.end)
    return compare_range(plan, item.index, split, [(p.start, p.end) for p in work.pieces], sink)


def compare_range(plan: ComparePlan, index: int, split: tuple[int, int], pieces: Sequence[tuple[int, int]],
                  sink: DifferenceSink | None = None) -> RangeResult:
    """Compare every row whose token lies in ``pieces``; the result is for split ``index``."""
    with DifferenceWriter.open(sink, index) as differences:
        result = RangeComparer(plan, index, split, differences).run(pieces)
    if differences is not None:
        result.differences_file = str(differences.path)
    return result


class RangeComparer:
    """Feeds the two scans of one range to the merge-join and fills a ``RangeResult`` from its matches."""

    def __init__(self, plan: ComparePlan, index: int, split: tuple[int, int],
                 differences: DifferenceWriter | None = None) -> None:
        self.plan = plan
        self.result = RangeResult(index, split[0], split[1])
        self.src = cached_session(plan.source, raw=True)
        self.tgt = cached_session(plan.target, raw=True)
        self.differ = RowDiffer(plan.columns, plan.settings, plan.user_types)
        self.clustering_key = ordering.clustering_key_function(
            plan.clustering_types, plan.clustering_reversed, plan.user_types
        )
        self.key_positions = plan.partition_key + plan.clustering
        self._hash = token_function(plan.partitioner)
        self._key_of = operator.itemgetter(*self.key_positions)
        self.position = 0
        self.pending: list[tuple[str, Row | None, Row | None]] = []
        self.repairer: Repairer | None = None
        self.differences = differences
        self.kept: Counter[str] = Counter()  # examples kept in the result, by kind
        self.examples = ExampleMaker(plan, self.differ, self.token)

    # --- scanning ---

    def _pages(self, session: Any, cql: str, cl: str, pieces: Sequence[tuple[int, int]],
               spec: ConnectionSpec) -> Iterator[list[Row]]:
        stmt = prepared(session, cql)
        stmt.consistency_level = consistency(cl)
        for start, end in pieces:
            yield from scan_pages(session, stmt, (start, end), self.plan.fetch_size, spec)

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

    def same_key(self, s: Row, t: Row) -> bool:
        """Whether two rows have the same primary key bytes."""
        return bool(self._key_of(s) == self._key_of(t))

    def run(self, pieces: Sequence[tuple[int, int]]) -> RangeResult:
        """Merge the two scans; then recheck and repair what was found."""
        p = self.plan
        result = self.result
        for match in merge_join(
            self._pages(self.src, p.source_select, p.source_consistency, pieces, p.source),
            self._pages(self.tgt, p.target_select, p.target_consistency, pieces, p.target),
            order_key=self.order_key, same_key=self.same_key, differences=self.differ.differences,
            bytewise=self.differ.bytewise, compared=p.written[0][0] if p.written else None,
        ):
            kind = match.kind
            result.source_rows += match.rows if kind != EXTRA else 0
            result.target_rows += match.rows if kind != MISSING else 0
            if kind == EQUAL:
                self.position += match.rows
            else:
                self._found(kind, match.source, match.target, match.differences)
        self._recheck()
        if self.repairer is not None:
            self.repairer.finish()
        return self.result

    # --- classifying ---

    def _found(self, kind: str, s: Row | None, t: Row | None, differences: Sequence[Difference] = ()) -> None:
        self.position += 1
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
        sampled = self.kept[kind] < self.plan.settings.failures_to_fetch
        if sampled or self.differences is not None:
            example = self.examples.example(kind, s, t, differences, r.index, self.position)
            if sampled:
                r.examples.append(example)
                self.kept[kind] += 1
            if self.differences is not None:
                self.differences.write(example)
        self._repair(kind, s, t)

    def _stat(self, name: str, a: Any, b: Any, diff: float | None) -> None:
        stats = self.result.columns.setdefault(name, ColumnStats())
        stats.unequal += 1
        if (a is None) != (b is None):
            stats.null_vs_value += 1
        if diff is not None:
            stats.max_difference = diff if stats.max_difference is None else max(stats.max_difference, diff)

    # --- rechecks, repairs ---

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
            new_kind = recheck_kind(s2, t2)
            if new_kind == DIFFERING:
                assert s2 is not None and t2 is not None
                differences = self.differ.differences(s2, t2)
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
        static_only, key = row_key(p, row)
        if static_only:
            cql = p.source_by_partition if source else p.target_by_partition
        else:
            cql = p.source_by_key if source else p.target_by_key
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
            self.repairer = Repairer(self.plan, self.result)
        row = t if kind == EXTRA else s
        assert row is not None
        self.repairer.repair(kind, row)


def recheck_kind(source: Row | None, target: Row | None) -> str | None:
    """What a re-read pair is before its cells are compared: gone on both sides, missing, extra or a pair."""
    if source is None and target is None:
        return None
    if target is None:
        return MISSING
    if source is None:
        return EXTRA
    return DIFFERING


def token_function(partitioner: str) -> Any:
    """The partitioner's hash of a partition key's bytes (the driver's, which matches the server's)."""
    from cassandra.metadata import MD5Token, Murmur3Token

    return {"Murmur3Partitioner": Murmur3Token, "RandomPartitioner": MD5Token}[partitioner].hash_fn


def row_token(plan: ComparePlan) -> Callable[[Row], int]:
    """A function from a scanned row to its token (its partition key hashed as the server does)."""
    hash_fn, positions = token_function(plan.partitioner), plan.partition_key
    return lambda row: int(hash_fn(ordering.routing_key([row[i] or b"" for i in positions])))
