"""Merge-join of two row streams that arrive in the same total order: the comparison, without I/O.

Both sides come as iterables of pages (lists of rows) sorted by ``order_key``. Walking them side by
side classifies every row exactly once: ``MISSING`` (only in the source), ``EXTRA`` (only in the
target), ``DIFFERING`` (same key, and ``differences`` found something) or ``EQUAL``. Memory is one
page of each side: no shuffle, no hash map, whatever the stream length.

When ``bytewise`` is true the caller promises that two identical rows are equal rows (same key,
same values, read as the same types on both sides). Runs of up to ``chunk`` rows are then compared
as whole slices, one C-level comparison for the common case of equal tables, and reported as one
``EQUAL`` match carrying the run's length; a run that differs is walked row by row. With
``compared``, only a row's first ``compared`` cells count for that (the cells after them are read
for other uses, such as the write times reconcile's diff records, and may differ between equal rows).

Everything here is pure: the database-specific parts (reading pages, the order, what makes two rows
differ) are the caller's functions.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from migrator.report.model import DIFFERING, EXTRA, MISSING

EQUAL = "equal"
CHUNK_ROWS = 256

Row = Sequence[Any]


@dataclass(frozen=True, slots=True)
class Match:
    """One step of the join: a row of one side, or a pair of rows with the same key.

    An ``EQUAL`` run compared as a slice carries its length in ``rows`` (1 or more) and no
    ``source``/``target`` row.
    """

    kind: str
    source: Row | None
    target: Row | None
    differences: Sequence[Any] = ()
    rows: int = 1


def merge_join(
    source: Iterable[list[Row]],
    target: Iterable[list[Row]],
    *,
    order_key: Callable[[Row], Any],
    same_key: Callable[[Row, Row], bool],
    differences: Callable[[Row, Row], Sequence[Any]],
    bytewise: bool = False,
    compared: int | None = None,
    chunk: int = CHUNK_ROWS,
) -> Iterator[Match]:
    """Every row of both streams, classified, in stream order (see the module docstring)."""
    if chunk < 1:
        raise ValueError(f"chunk must be at least 1 row, got {chunk}")
    same: Callable[[Row, Row], bool] = operator.eq
    cut = None
    if compared is not None:
        cut = operator.itemgetter(slice(0, compared))
        same = lambda s, t: cut(s) == cut(t)  # noqa: E731
    return _join(source, target, order_key, same_key, differences, same if bytewise else None, chunk, cut)


def _join(source: Iterable[list[Row]], target: Iterable[list[Row]], order_key: Callable[[Row], Any],
          same_key: Callable[[Row, Row], bool], differences: Callable[[Row, Row], Sequence[Any]],
          same: Callable[[Row, Row], bool] | None, chunk: int, cut: Callable[[Row], Row] | None) -> Iterator[Match]:
    src, tgt = _Cursor(iter(source), order_key), _Cursor(iter(target), order_key)
    while src.row is not None or tgt.row is not None:
        steps = 1
        if same is not None and (run := min(chunk, src.left, tgt.left)) > 0:
            a, b = src.page[src.i : src.i + run], tgt.page[tgt.i : tgt.i + run]
            # with ``cut``, each row's compared cells: mapped in C, no Python call per row
            if a == b if cut is None else list(map(cut, a)) == list(map(cut, b)):
                src.advance(run)
                tgt.advance(run)
                yield Match(EQUAL, None, None, (), run)
                continue
            steps = run
        for _ in range(steps):
            match = _step(src, tgt, same_key, differences, same)
            if match is not None:
                yield match


def _step(src: _Cursor, tgt: _Cursor, same_key: Callable[[Row, Row], bool],
          differences: Callable[[Row, Row], Sequence[Any]], same: Callable[[Row, Row], bool] | None) -> Match | None:
    """A pair of rows with the same key, or the row that comes first; None once both sides are done."""
    s, t = src.row, tgt.row
    if s is None and t is None:
        return None
    identical = same is not None and s is not None and t is not None and same(s, t)
    if s is not None and t is not None and (identical or same_key(s, t)):
        found = () if identical else differences(s, t)
        src.advance(1)
        tgt.advance(1)
        return Match(DIFFERING if found else EQUAL, s, t, found)
    if t is None or (s is not None and src.order_key() < tgt.order_key()):
        src.advance(1)
        return Match(MISSING, s, None)
    tgt.advance(1)
    return Match(EXTRA, None, t)


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
