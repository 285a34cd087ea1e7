"""Exact-value tests for token ranges, splitting, unwrapping and planning."""

from __future__ import annotations

import pytest

from migrator.planning.tokens import (
    MURMUR3,
    RANDOM,
    Partitioner,
    Plan,
    TokenRange,
    Work,
    aligned,
    coalesce,
    covers,
    intersect,
    partitioner_for,
    plan,
    split_ring,
    subtract,
    unwrap,
)

MIN = -9223372036854775808
MAX = 9223372036854775807


def test_partitioner_constants() -> None:
    assert (MURMUR3.min_token, MURMUR3.max_token, MURMUR3.token_type) == (MIN, MAX, "long")
    assert (RANDOM.min_token, RANDOM.max_token, RANDOM.token_type) == (-1, 2**127, "bigint")
    assert MURMUR3.ring == TokenRange(MIN, MAX)
    assert MURMUR3.short_name == "Murmur3Partitioner"


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("org.apache.cassandra.dht.Murmur3Partitioner", MURMUR3),
        ("Murmur3Partitioner", MURMUR3),
        (" org.apache.cassandra.dht.RandomPartitioner ", RANDOM),
        ("RandomPartitioner", RANDOM),
    ],
)
def test_partitioner_for_supported(name: str, expected: Partitioner) -> None:
    assert partitioner_for(name) is expected


@pytest.mark.parametrize(
    "name",
    ["org.apache.cassandra.dht.ByteOrderedPartitioner", "OrderPreservingPartitioner"],
)
def test_partitioner_for_unsupported_names_it(name: str) -> None:
    with pytest.raises(ValueError, match=f"partitioner {name} is not supported"):
        partitioner_for(name)


def test_partitioner_for_unknown() -> None:
    with pytest.raises(ValueError, match="unknown partitioner 'Foo'"):
        partitioner_for("Foo")


def test_partitioner_validates_itself() -> None:
    with pytest.raises(ValueError, match="min_token must be below max_token"):
        Partitioner("x", 5, 5, "long")
    with pytest.raises(ValueError, match="token_type"):
        Partitioner("x", 0, 5, "int")


def test_token_range_validates_itself() -> None:
    with pytest.raises(ValueError, match="token range start must be below end, got start=3 end=3"):
        TokenRange(3, 3)
    with pytest.raises(ValueError, match="token range start must be below end, got start=4 end=3"):
        TokenRange(4, 3)
    with pytest.raises(TypeError):
        TokenRange(1.0, 3)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        TokenRange(False, 3)


def test_token_range_helpers() -> None:
    r = TokenRange(-5, 10)
    assert r.width == 15
    assert not r.contains(-5)
    assert r.contains(-4)
    assert r.contains(10)
    assert not r.contains(11)
    assert str(TokenRange(MIN, -4611686018427387905)) == "(-9223372036854775808, -4611686018427387905]"
    assert sorted([TokenRange(3, 4), TokenRange(1, 9), TokenRange(1, 2)]) == [
        TokenRange(1, 2),
        TokenRange(1, 9),
        TokenRange(3, 4),
    ]


def test_split_ring_murmur3_four() -> None:
    assert split_ring(MURMUR3, 4) == [
        TokenRange(-9223372036854775808, -4611686018427387905),
        TokenRange(-4611686018427387905, -1),
        TokenRange(-1, 4611686018427387903),
        TokenRange(4611686018427387903, 9223372036854775807),
    ]


def test_split_ring_one_is_the_whole_ring() -> None:
    assert split_ring(MURMUR3, 1) == [TokenRange(MIN, MAX)]
    assert split_ring(RANDOM, 1) == [TokenRange(-1, 2**127)]


def test_split_ring_random_two() -> None:
    assert split_ring(RANDOM, 2) == [TokenRange(-1, 2**126 - 1), TokenRange(2**126 - 1, 2**127)]


def test_split_ring_rejects_bad_counts() -> None:
    with pytest.raises(ValueError, match="split count must be between 1 and"):
        split_ring(MURMUR3, 0)
    tiny = Partitioner("tiny", 0, 3, "long")
    assert split_ring(tiny, 3) == [TokenRange(0, 1), TokenRange(1, 2), TokenRange(2, 3)]
    with pytest.raises(ValueError, match="split count must be between 1 and 3, got 4"):
        split_ring(tiny, 4)


def test_unwrap_cases() -> None:
    assert unwrap(-10, 10, MURMUR3) == [TokenRange(-10, 10)]
    assert unwrap(10, -10, MURMUR3) == [TokenRange(MIN, -10), TokenRange(10, MAX)]
    assert unwrap(7, 7, MURMUR3) == [TokenRange(MIN, MAX)]
    assert unwrap(MAX, 5, MURMUR3) == [TokenRange(MIN, 5)]
    assert unwrap(5, MIN, MURMUR3) == [TokenRange(5, MAX)]
    assert unwrap(MAX, MIN, MURMUR3) == []
    assert unwrap(MIN, MAX, MURMUR3) == [TokenRange(MIN, MAX)]


def test_unwrap_rejects_tokens_outside_the_ring() -> None:
    with pytest.raises(ValueError, match=r"token 170141183460469231731687303715884105728 is outside"):
        unwrap(0, 2**127, MURMUR3)
    with pytest.raises(ValueError, match="outside the RandomPartitioner ring"):
        unwrap(-2, 5, RANDOM)


def test_coalesce_merges_overlapping_and_adjacent_only() -> None:
    ranges = [TokenRange(10, 20), TokenRange(0, 5), TokenRange(5, 7), TokenRange(15, 30), TokenRange(31, 40)]
    assert coalesce(ranges) == [TokenRange(0, 7), TokenRange(10, 30), TokenRange(31, 40)]
    assert coalesce([]) == []
    assert coalesce([TokenRange(0, 100), TokenRange(10, 20)]) == [TokenRange(0, 100)]


def test_subtract_intersect_covers() -> None:
    done = [TokenRange(10, 20), TokenRange(30, 40), TokenRange(20, 25)]
    r = TokenRange(0, 35)
    assert subtract(r, done) == [TokenRange(0, 10), TokenRange(25, 30)]
    assert intersect(r, done) == [TokenRange(10, 25), TokenRange(30, 35)]
    assert subtract(TokenRange(12, 24), done) == []
    assert covers(done, TokenRange(12, 24))
    assert not covers(done, TokenRange(12, 26))
    assert subtract(TokenRange(40, 50), done) == [TokenRange(40, 50)]
    assert intersect(TokenRange(40, 50), done) == []


def test_plan_without_skip_scans_every_split_whole() -> None:
    p = plan(MURMUR3, 4, [])
    assert p.all_ranges == tuple(split_ring(MURMUR3, 4))
    assert [w.index for w in p.pending] == [0, 1, 2, 3]
    assert all(w.pieces == (w.split,) and not w.partial for w in p.pending)
    assert p.done_count == 0
    assert p.skip == ()
    assert p.skip_aligned


def test_plan_with_skip_from_same_splitting() -> None:
    splits = split_ring(MURMUR3, 4)
    p = plan(MURMUR3, 4, [splits[2], splits[0]])
    assert [w.index for w in p.pending] == [1, 3]
    assert p.done_count == 2
    assert p.skip == (splits[0], splits[2])
    assert p.skip_aligned


def test_plan_resumes_after_split_count_changed() -> None:
    # A savepoint written with 4 splits, where the first two were done, resumed with 8 splits:
    # upstream would re-copy everything (issue #398), containment skips the first four of eight.
    done = split_ring(MURMUR3, 4)[:2]
    p = plan(MURMUR3, 8, done)
    assert p.done_count == 4
    assert [w.index for w in p.pending] == [4, 5, 6, 7]
    assert p.skip == (TokenRange(MIN, -1),)
    assert p.skip_aligned
    # ... and with 3 splits the middle one is only partly done.
    p3 = plan(MURMUR3, 3, done)
    splits3 = split_ring(MURMUR3, 3)
    assert p3.done_count == 1
    assert [(w.index, w.pieces) for w in p3.pending] == [
        (1, (TokenRange(-1, splits3[1].end),)),
        (2, (splits3[2],)),
    ]
    assert p3.pending[0].partial
    assert not p3.skip_aligned


def test_plan_with_upstream_wrapping_ranges() -> None:
    skip = unwrap(9000000000000000000, -9000000000000000000, MURMUR3)
    p = plan(MURMUR3, 2, skip)
    assert p.done_count == 0
    assert [w.pieces for w in p.pending] == [
        (TokenRange(-9000000000000000000, -1),),
        (TokenRange(-1, 9000000000000000000),),
    ]
    assert not p.skip_aligned
    assert plan(MURMUR3, 2, unwrap(0, 0, MURMUR3)).pending == ()


def test_plan_rejects_skip_outside_the_ring() -> None:
    with pytest.raises(ValueError, match="lies outside the Murmur3Partitioner ring"):
        plan(MURMUR3, 4, [TokenRange(0, 2**100)])


def test_aligned() -> None:
    splits = [TokenRange(0, 10), TokenRange(10, 20), TokenRange(20, 30)]
    assert aligned([], splits)
    assert aligned([TokenRange(0, 10), TokenRange(10, 30)], splits)
    # adjacent skip ranges meeting at 5 coalesce into (0, 10]: still aligned
    assert aligned([TokenRange(0, 5), TokenRange(5, 10)], splits)
    assert not aligned([TokenRange(0, 5)], splits)


def test_work_and_plan_validate_themselves() -> None:
    split = TokenRange(0, 10)
    with pytest.raises(ValueError, match="no pieces left"):
        Work(0, split, ())
    with pytest.raises(ValueError, match="must lie inside their split"):
        Work(0, split, (TokenRange(5, 11),))
    with pytest.raises(ValueError, match="sorted, disjoint and not adjacent"):
        Work(0, split, (TokenRange(5, 6), TokenRange(1, 2)))
    with pytest.raises(ValueError, match="index must be >= 0"):
        Work(-1, split, (split,))
    with pytest.raises(ValueError, match="does not match split"):
        Plan(MURMUR3, (split,), (Work(0, TokenRange(0, 9), (TokenRange(0, 9),)),), ())
    with pytest.raises(ValueError, match="distinct, sorted indexes"):
        Plan(MURMUR3, (split,), (Work(1, split, (split,)),), ())
