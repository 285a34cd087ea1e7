"""The merge-join of two sorted row streams (migrator.join): classification, the bytewise fast path, paging."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from migrator.join import CHUNK_ROWS, EQUAL, Match, merge_join
from migrator.report.model import DIFFERING, EXTRA, MISSING

Row = Any  # (key, value) tuples


def differences(s: Sequence[Any], t: Sequence[Any]) -> list[tuple[str, Any, Any]]:
    return [("v", s[1], t[1])] if s[1] != t[1] else []


def join(source: Iterable[list[Row]], target: Iterable[list[Row]], **options: Any) -> list[Match]:
    return list(
        merge_join(
            source,
            target,
            order_key=lambda r: r[0],
            same_key=lambda s, t: s[0] == t[0],
            differences=differences,
            **options,
        )
    )


def steps(matches: list[Match]) -> list[tuple[str, Any, Any]]:
    return [(m.kind, m.source, m.target) for m in matches]


def rows(*keys: int, value: str = "x") -> list[Row]:
    return [(k, value) for k in keys]


def conserved(matches: list[Match]) -> tuple[int, int]:
    """Rows of each side accounted for by the matches."""
    source = sum(m.rows for m in matches if m.kind != EXTRA)
    target = sum(m.rows for m in matches if m.kind != MISSING)
    return source, target


# --- classification ------------------------------------------------------------------------------


@pytest.mark.parametrize("bytewise", [False, True])
def test_two_empty_streams_yield_nothing(bytewise):
    assert join([], [], bytewise=bytewise) == []
    assert join([[], []], [[]], bytewise=bytewise) == []


@pytest.mark.parametrize("bytewise", [False, True])
def test_an_empty_target_makes_every_source_row_missing(bytewise):
    source = [rows(1, 2), rows(3)]
    assert join(source, [], bytewise=bytewise) == [
        Match(MISSING, (1, "x"), None),
        Match(MISSING, (2, "x"), None),
        Match(MISSING, (3, "x"), None),
    ]


@pytest.mark.parametrize("bytewise", [False, True])
def test_an_empty_source_makes_every_target_row_extra(bytewise):
    target = [rows(1), rows(2, 3)]
    assert join([[]], target, bytewise=bytewise) == [
        Match(EXTRA, None, (1, "x")),
        Match(EXTRA, None, (2, "x")),
        Match(EXTRA, None, (3, "x")),
    ]


def test_empty_pages_anywhere_in_a_stream_are_skipped():
    source = [[], rows(1), [], [], rows(2, 3), []]
    target = [rows(1), [], rows(2), [], rows(3), []]
    assert steps(join(source, target)) == [
        (EQUAL, (1, "x"), (1, "x")),
        (EQUAL, (2, "x"), (2, "x")),
        (EQUAL, (3, "x"), (3, "x")),
    ]


def test_missing_extra_differing_and_equal_rows_interleave_in_key_order():
    source = [[(1, "a"), (2, "b"), (4, "d")], [(5, "e"), (7, "g")]]
    target = [[(2, "b"), (3, "c")], [(4, "D"), (6, "f"), (7, "g"), (8, "h")]]
    matches = join(source, target)
    assert steps(matches) == [
        (MISSING, (1, "a"), None),
        (EQUAL, (2, "b"), (2, "b")),
        (EXTRA, None, (3, "c")),
        (DIFFERING, (4, "d"), (4, "D")),
        (MISSING, (5, "e"), None),
        (EXTRA, None, (6, "f")),
        (EQUAL, (7, "g"), (7, "g")),
        (EXTRA, None, (8, "h")),
    ]
    assert [m.differences for m in matches if m.kind == DIFFERING] == [[("v", "d", "D")]]
    assert all(m.rows == 1 for m in matches)


def test_an_equal_pair_carries_no_differences_and_a_missing_row_none():
    [equal, differing, missing] = join([[(1, "a"), (2, "b"), (3, "c")]], [[(1, "a"), (2, "B")]])
    assert equal == Match(EQUAL, (1, "a"), (1, "a"), [], 1)
    assert differing == Match(DIFFERING, (2, "b"), (2, "B"), [("v", "b", "B")], 1)
    assert missing == Match(MISSING, (3, "c"), None, (), 1)


def test_rows_with_the_same_order_key_but_different_keys_are_not_paired():
    # same_key, not order_key, decides a pair: two rows sorting together stay two rows
    matches = list(
        merge_join(
            [[("a", 1)]],
            [[("A", 1)]],
            order_key=lambda r: r[0].lower(),
            same_key=lambda s, t: s[0] == t[0],
            differences=differences,
        )
    )
    assert [m.kind for m in matches] == [EXTRA, MISSING]


# --- the bytewise fast path ------------------------------------------------------------------------


def test_identical_runs_are_one_equal_match_per_page_overlap():
    source = [rows(1, 2, 3, 4, 5)]
    target = [rows(1, 2), rows(3, 4, 5)]
    assert join(source, target, bytewise=True) == [
        Match(EQUAL, None, None, (), 2),
        Match(EQUAL, None, None, (), 3),
    ]


def test_cells_past_compared_do_not_break_a_run_nor_make_a_difference():
    # (key, value, write time): equal rows whose write times differ, as after a migrate
    source = [[(k, "x", 100 + k) for k in range(5)]]
    target = [[(k, "x", 900 + k) for k in range(5)]]
    assert [(m.kind, m.rows) for m in join(source, target, bytewise=True, compared=2)] == [(EQUAL, 5)]
    # without it, the run is walked and each pair compared row by row
    assert [(m.kind, m.rows) for m in join(source, target, bytewise=True)] == [(EQUAL, 1)] * 5
    target[0][4] = (4, "y", 904)
    assert [m.kind for m in join(source, target, bytewise=True, compared=2)] == [EQUAL] * 4 + [DIFFERING]


def test_runs_never_exceed_the_chunk_size():
    source = [rows(*range(7))]
    target = [rows(*range(3)), rows(*range(3, 7))]
    assert [(m.kind, m.rows) for m in join(source, target, bytewise=True, chunk=2)] == [
        (EQUAL, 2),
        (EQUAL, 1),  # the end of the target's first page
        (EQUAL, 2),
        (EQUAL, 2),
    ]


def test_the_default_chunk_caps_a_run_of_equal_rows():
    keys = range(CHUNK_ROWS + 10)
    assert [m.rows for m in join([rows(*keys)], [rows(*keys)], bytewise=True)] == [CHUNK_ROWS, 10]


def test_a_run_with_one_differing_row_is_walked_row_by_row_and_finds_that_row():
    source: list[list[Row]] = [[(1, "a"), (2, "b"), (3, "c"), (4, "d")]]
    target: list[list[Row]] = [[(1, "a"), (2, "b"), (3, "C"), (4, "d")]]
    calls: list[tuple[Any, Any]] = []

    def counting(s: Sequence[Any], t: Sequence[Any]) -> list[tuple[str, Any, Any]]:
        calls.append((s, t))
        return differences(s, t)

    matches = list(
        merge_join(
            source, target, order_key=lambda r: r[0], same_key=lambda s, t: s[0] == t[0],
            differences=counting, bytewise=True,
        )
    )
    assert steps(matches) == [
        (EQUAL, (1, "a"), (1, "a")),
        (EQUAL, (2, "b"), (2, "b")),
        (DIFFERING, (3, "c"), (3, "C")),
        (EQUAL, (4, "d"), (4, "d")),
    ]
    assert matches[2].differences == [("v", "c", "C")]
    # identical rows are settled by the bytewise promise; only the differing pair is compared
    assert calls == [((3, "c"), (3, "C"))]


def test_after_a_row_by_row_walk_the_fast_path_resumes():
    source = [[(1, "a"), (2, "B"), (3, "c"), (4, "d")]]
    target = [[(1, "a"), (2, "b"), (3, "c"), (4, "d")]]
    assert [(m.kind, m.rows) for m in join(source, target, bytewise=True, chunk=2)] == [
        (EQUAL, 1),
        (DIFFERING, 1),
        (EQUAL, 2),
    ]


def test_a_missing_row_inside_a_run_shifts_the_rest_without_losing_rows():
    source = [rows(1, 2, 3, 4, 5)]
    target = [rows(1, 3, 4, 5)]
    matches = join(source, target, bytewise=True)
    assert [(m.kind, m.source and m.source[0], m.rows) for m in matches] == [
        (EQUAL, 1, 1),
        (MISSING, 2, 1),
        (EQUAL, 3, 1),
        (EQUAL, 4, 1),  # the four-row walk ends here: the next run, row 5 alone, is compared as a slice
        (EQUAL, None, 1),
    ]
    assert conserved(matches) == (5, 4)


def test_without_bytewise_every_match_is_a_single_row_pair():
    keys = range(20)
    matches = join([rows(*keys)], [rows(*keys)], bytewise=False, chunk=4)
    assert [m.rows for m in matches] == [1] * 20
    assert steps(matches) == [(EQUAL, (k, "x"), (k, "x")) for k in keys]


@pytest.mark.parametrize("chunk", [0, -1])
def test_a_chunk_below_one_row_is_rejected_at_the_call(chunk):
    with pytest.raises(ValueError, match=rf"^chunk must be at least 1 row, got {chunk}$"):
        merge_join([], [], order_key=lambda r: r, same_key=lambda s, t: True, differences=differences, chunk=chunk)


# --- against a reference -------------------------------------------------------------------------


def paginate(items: list[Row], sizes: list[int]) -> list[list[Row]]:
    """``items`` cut into pages of the given sizes (0 = an empty page), the rest in a last page."""
    pages, start = [], 0
    for size in sizes:
        pages.append(items[start : start + size])
        start += size
    pages.append(items[start:])
    return pages


def reference(source: dict[int, int], target: dict[int, int]) -> list[tuple[str, int]]:
    out = []
    for key in sorted(source.keys() | target.keys()):
        if key not in target:
            out.append((MISSING, key))
        elif key not in source:
            out.append((EXTRA, key))
        else:
            out.append((EQUAL if source[key] == target[key] else DIFFERING, key))
    return out


def keyed(matches: list[Match]) -> list[tuple[str, int]]:
    return [(m.kind, (m.source or m.target)[0]) for m in matches]  # type: ignore[index]


tables = st.dictionaries(st.integers(0, 40), st.integers(0, 2), max_size=30)
page_sizes = st.lists(st.integers(0, 6), max_size=12)


@given(tables, tables, page_sizes, page_sizes)
def test_row_by_row_join_matches_a_dict_based_reference(source, target, source_pages, target_pages):
    matches = join(paginate(sorted(source.items()), source_pages), paginate(sorted(target.items()), target_pages))
    assert keyed(matches) == reference(source, target)
    assert conserved(matches) == (len(source), len(target))


@given(tables, tables, page_sizes, page_sizes, st.integers(1, 5))
def test_bytewise_join_finds_the_same_mismatches_and_conserves_rows(source, target, source_pages, target_pages,
                                                                    chunk):
    matches = join(
        paginate(sorted(source.items()), source_pages),
        paginate(sorted(target.items()), target_pages),
        bytewise=True,
        chunk=chunk,
    )
    expected = reference(source, target)
    assert keyed([m for m in matches if m.kind != EQUAL]) == [e for e in expected if e[0] != EQUAL]
    assert sum(m.rows for m in matches if m.kind == EQUAL) == sum(1 for e in expected if e[0] == EQUAL)
    assert conserved(matches) == (len(source), len(target))
    assert all(1 <= m.rows <= chunk for m in matches)
    assert all(m.source is None and m.target is None for m in matches if m.rows > 1)
