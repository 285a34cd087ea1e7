"""Property-based tests: split, unwrap, coalesce, subtract and plan keep the token sets right.

Two kinds of domains are used: the real rings (tokens are sampled, extremes included) and a tiny
ring of 201 tokens where every token is checked, so overlaps and adjacency happen often.
"""

from __future__ import annotations

import itertools

from hypothesis import given, settings
from hypothesis import strategies as st

from migrator.planning.tokens import (
    MURMUR3,
    RANDOM,
    Partitioner,
    TokenRange,
    coalesce,
    covers,
    intersect,
    plan,
    split_ring,
    subtract,
    unwrap,
)

TINY = Partitioner("tiny", -100, 100, "long")
PARTITIONERS = st.sampled_from([MURMUR3, RANDOM])


def tokens_of(p: Partitioner) -> st.SearchStrategy[int]:
    """Any token of the ring's closed bounds, with the extremes and their neighbours favoured."""
    edges = [p.min_token, p.min_token + 1, p.max_token - 1, p.max_token, 0]
    return st.one_of(st.sampled_from(edges), st.integers(p.min_token, p.max_token))


@st.composite
def ranges_in(draw: st.DrawFn, p: Partitioner) -> TokenRange:
    a, b = draw(st.lists(tokens_of(p), min_size=2, max_size=2, unique=True))
    return TokenRange(min(a, b), max(a, b))


def in_any(token: int, ranges: list[TokenRange]) -> bool:
    return any(r.contains(token) for r in ranges)


def tiny_tokens() -> range:
    """Every token of the tiny ring, (min, max]."""
    return range(TINY.min_token + 1, TINY.max_token + 1)


@settings(max_examples=200)
@given(p=PARTITIONERS, n=st.integers(1, 5000))
def test_split_ring_covers_the_ring_exactly_once(p: Partitioner, n: int) -> None:
    splits = split_ring(p, n)
    assert len(splits) == n
    assert splits[0].start == p.min_token
    assert splits[-1].end == p.max_token
    assert all(a.end == b.start for a, b in itertools.pairwise(splits))
    assert sum(r.width for r in splits) == p.max_token - p.min_token
    widths = {r.width for r in splits}
    assert max(widths) - min(widths) <= 1
    assert split_ring(p, n) == splits


@given(n=st.integers(1, 200))
def test_split_ring_tiny_ring_every_token_once(n: int) -> None:
    splits = split_ring(TINY, n)
    for t in tiny_tokens():
        assert sum(r.contains(t) for r in splits) == 1


@given(data=st.data(), p=PARTITIONERS)
def test_unwrap_covers_the_right_tokens(data: st.DataObject, p: Partitioner) -> None:
    s = data.draw(tokens_of(p), label="start")
    e = data.draw(tokens_of(p), label="end")
    pieces = unwrap(s, e, p)
    assert pieces == coalesce(pieces)  # sorted, disjoint, never adjacent
    probes = data.draw(st.lists(tokens_of(p), min_size=1, max_size=30), label="probes")
    probes += [s, e, min(s + 1, p.max_token), min(e + 1, p.max_token), p.min_token + 1, p.max_token]
    for t in probes:
        if t == p.min_token:
            continue  # not a token of the ring (min, max]
        if s < e:
            expected = s < t <= e
        elif s > e:
            expected = t > s or t <= e
        else:
            expected = True
        assert in_any(t, pieces) == expected, (s, e, t)


@given(s=st.integers(TINY.min_token, TINY.max_token), e=st.integers(TINY.min_token, TINY.max_token))
def test_unwrap_tiny_ring_exact(s: int, e: int) -> None:
    pieces = unwrap(s, e, TINY)
    covered = {t for t in tiny_tokens() if in_any(t, pieces)}
    if s < e:
        expected = set(range(s + 1, e + 1))
    elif s > e:
        expected = set(range(s + 1, TINY.max_token + 1)) | set(range(TINY.min_token + 1, e + 1))
    else:
        expected = set(tiny_tokens())
    assert covered == expected


@given(rs=st.lists(ranges_in(TINY), max_size=12))
def test_coalesce_is_minimal_idempotent_and_keeps_the_tokens(rs: list[TokenRange]) -> None:
    merged = coalesce(rs)
    assert coalesce(merged) == merged
    assert coalesce(reversed(rs)) == merged
    assert all(a.end < b.start for a, b in itertools.pairwise(merged))  # sorted, gaps between
    for t in tiny_tokens():
        assert in_any(t, merged) == in_any(t, rs)
    assert len(merged) <= len(rs)


@given(data=st.data(), p=PARTITIONERS)
def test_coalesce_keeps_tokens_on_real_rings(data: st.DataObject, p: Partitioner) -> None:
    rs = data.draw(st.lists(ranges_in(p), max_size=8))
    merged = coalesce(rs)
    assert all(a.end < b.start for a, b in itertools.pairwise(merged))
    probes = data.draw(st.lists(tokens_of(p), max_size=30))
    probes += [b for r in rs for b in (r.start, r.end, r.start + 1)]
    for t in probes:
        assert in_any(t, merged) == in_any(t, rs)


@given(r=ranges_in(TINY), done=st.lists(ranges_in(TINY), max_size=10))
def test_subtract_and_intersect_partition_the_range(r: TokenRange, done: list[TokenRange]) -> None:
    rest = subtract(r, done)
    inside = intersect(r, done)
    assert rest == coalesce(rest)
    assert inside == coalesce(inside)
    for t in tiny_tokens():
        in_rest, in_inside = in_any(t, rest), in_any(t, inside)
        assert not (in_rest and in_inside)
        assert (in_rest or in_inside) == r.contains(t)
        assert in_rest == (r.contains(t) and not in_any(t, done))
    assert covers(done, r) == (rest == [])
    assert sum(x.width for x in rest) + sum(x.width for x in inside) == r.width


@given(data=st.data(), n=st.integers(1, 64), skip=st.lists(ranges_in(TINY), max_size=10))
def test_plan_pending_plus_skip_is_the_ring_tiny(data: st.DataObject, n: int, skip: list[TokenRange]) -> None:
    p = plan(TINY, n, skip)
    assert p.all_ranges == tuple(split_ring(TINY, n))
    pieces = [piece for w in p.pending for piece in w.pieces]
    for t in tiny_tokens():
        in_skip = in_any(t, skip)
        in_pieces = sum(piece.contains(t) for piece in pieces)
        assert in_pieces == (0 if in_skip else 1), t
    for w in p.pending:
        assert all(w.split.start <= x.start and x.end <= w.split.end for x in w.pieces)
    fully_done = [i for i, s in enumerate(p.all_ranges) if covers(skip, s)]
    assert p.done_count == len(fully_done)
    assert {w.index for w in p.pending}.isdisjoint(fully_done)


@settings(max_examples=50)
@given(data=st.data(), p=PARTITIONERS, n=st.integers(1, 300))
def test_plan_pending_never_intersects_skip_real_rings(data: st.DataObject, p: Partitioner, n: int) -> None:
    old_n = data.draw(st.integers(1, 300), label="savepoint split count")
    old = split_ring(p, old_n)
    done = data.draw(st.lists(st.sampled_from(old), max_size=old_n, unique=True), label="done")
    extra = data.draw(st.lists(ranges_in(p), max_size=4), label="extra")
    skip = done + extra
    result = plan(p, n, skip)
    pieces = [piece for w in result.pending for piece in w.pieces]
    skip_merged = coalesce(skip)
    for piece in pieces:
        assert intersect(piece, skip_merged) == []
    covered = sum(x.width for x in pieces) + sum(x.width for x in skip_merged)
    assert covered == p.max_token - p.min_token
    if old_n == n and not extra:
        assert result.skip_aligned
        assert result.done_count == len(done)
        assert sorted(w.index for w in result.pending) == [i for i, r in enumerate(old) if r not in done]
