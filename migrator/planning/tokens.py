"""Token ranges of a Cassandra/Scylla ring: split, unwrap, coalesce, subtract, plan.

Guarantees:

* Every ``TokenRange`` is non-empty and half-open on the left, ``(start, end]``, exactly the CQL
  predicate ``token(pk) > start AND token(pk) <= end``; it checks this itself when built.
* The ring of a partitioner is ``(min_token, max_token]``: it holds every token a key can hash to.
* All functions are pure and use integer arithmetic only, so the same input always gives the same
  boundaries (a resumed run plans exactly what the interrupted one planned).
* Resume matching is by containment, not by equality: a split is done when the ranges of the
  savepoint cover it, and a partly covered split is scanned only where it is not covered. Upstream
  skips a range only when it matches a planned range exactly, which breaks resuming as soon as the
  splitting changes (scylla-migrator issue #398).
"""

from __future__ import annotations

import bisect
import itertools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

MURMUR3_CLASS = "org.apache.cassandra.dht.Murmur3Partitioner"
RANDOM_CLASS = "org.apache.cassandra.dht.RandomPartitioner"
_UNSUPPORTED_PARTITIONERS = frozenset(
    {
        "ByteOrderedPartitioner",
        "OrderPreservingPartitioner",
        "CollatingOrderPreservingPartitioner",
        "LocalPartitioner",
    }
)
TOKEN_TYPES = frozenset({"long", "bigint"})


@dataclass(frozen=True)
class Partitioner:
    """A token partitioner: the ring is ``(min_token, max_token]``.

    ``token_type`` is how tokens are typed in a savepoint (``long`` or ``bigint``, as upstream).
    """

    name: str
    min_token: int
    max_token: int
    token_type: str

    def __post_init__(self) -> None:
        if self.min_token >= self.max_token:
            raise ValueError(
                f"partitioner {self.name}: min_token must be below max_token, "
                f"got {self.min_token} and {self.max_token}"
            )
        if self.token_type not in TOKEN_TYPES:
            raise ValueError(f"partitioner {self.name}: token_type must be one of {sorted(TOKEN_TYPES)}")

    @property
    def ring(self) -> TokenRange:
        """The whole ring as one range."""
        return TokenRange(self.min_token, self.max_token)

    @property
    def short_name(self) -> str:
        """The class name without its package, e.g. ``Murmur3Partitioner``."""
        return self.name.rsplit(".", 1)[-1]


MURMUR3 = Partitioner(MURMUR3_CLASS, -(2**63), 2**63 - 1, "long")
RANDOM = Partitioner(RANDOM_CLASS, -1, 2**127, "bigint")
_SUPPORTED = {p.short_name: p for p in (MURMUR3, RANDOM)}


def partitioner_for(class_name: str) -> Partitioner:
    """The partitioner for a class name as the cluster reports it (full or short name)."""
    short = class_name.strip().rsplit(".", 1)[-1]
    if short in _SUPPORTED:
        return _SUPPORTED[short]
    if short in _UNSUPPORTED_PARTITIONERS:
        raise ValueError(
            f"partitioner {class_name} is not supported: its tokens are not numbers that can be split "
            f"evenly; supported are {', '.join(sorted(_SUPPORTED))}"
        )
    raise ValueError(f"unknown partitioner {class_name!r}; supported are {', '.join(sorted(_SUPPORTED))}")


@dataclass(frozen=True, order=True)
class TokenRange:
    """The tokens ``t`` with ``start < t <= end``; never empty."""

    start: int
    end: int

    def __post_init__(self) -> None:
        if not isinstance(self.start, int) or not isinstance(self.end, int):
            raise TypeError(f"token range bounds must be integers, got {self.start!r} and {self.end!r}")
        if isinstance(self.start, bool) or isinstance(self.end, bool):
            raise TypeError(f"token range bounds must be integers, got {self.start!r} and {self.end!r}")
        if self.start >= self.end:
            raise ValueError(f"token range start must be below end, got start={self.start} end={self.end}")

    @property
    def width(self) -> int:
        """How many tokens the range holds."""
        return self.end - self.start

    def contains(self, token: int) -> bool:
        """Whether ``token`` is in the range."""
        return self.start < token <= self.end

    def __str__(self) -> str:
        return f"({self.start}, {self.end}]"


def split_ring(partitioner: Partitioner, n: int) -> list[TokenRange]:
    """``n`` contiguous ranges covering the ring exactly once; widths differ by at most one token."""
    width = partitioner.max_token - partitioner.min_token
    if not 1 <= n <= width:
        raise ValueError(f"split count must be between 1 and {width}, got {n}")
    bounds = [partitioner.min_token + (width * i) // n for i in range(n + 1)]
    return [TokenRange(lo, hi) for lo, hi in itertools.pairwise(bounds)]


def _check_token(token: int, partitioner: Partitioner) -> None:
    if not partitioner.min_token <= token <= partitioner.max_token:
        raise ValueError(
            f"token {token} is outside the {partitioner.short_name} ring "
            f"[{partitioner.min_token}, {partitioner.max_token}]"
        )


def unwrap(start: int, end: int, partitioner: Partitioner) -> list[TokenRange]:
    """The non-wrapping ranges, sorted, for a ring range that may wrap around.

    ``start < end`` is the plain range; ``start > end`` wraps: ``(start, max]`` plus ``(min, end]``;
    ``start == end`` is the whole ring (Cassandra's convention). Empty pieces are dropped.
    """
    _check_token(start, partitioner)
    _check_token(end, partitioner)
    if start < end:
        return [TokenRange(start, end)]
    if start == end:
        return [partitioner.ring]
    pieces = []
    if end > partitioner.min_token:
        pieces.append(TokenRange(partitioner.min_token, end))
    if start < partitioner.max_token:
        pieces.append(TokenRange(start, partitioner.max_token))
    return pieces


def coalesce(ranges: Iterable[TokenRange]) -> list[TokenRange]:
    """The same tokens in the fewest ranges: sorted, overlapping or adjacent ranges merged."""
    merged: list[TokenRange] = []
    for r in sorted(ranges):
        if merged and r.start <= merged[-1].end:
            if r.end > merged[-1].end:
                merged[-1] = TokenRange(merged[-1].start, r.end)
        else:
            merged.append(r)
    return merged


def _overlapping(r: TokenRange, done: Sequence[TokenRange], ends: Sequence[int]) -> Iterable[TokenRange]:
    """The ranges of coalesced ``done`` (with ``ends`` their end tokens) that overlap ``r``."""
    i = bisect.bisect_right(ends, r.start)
    while i < len(done) and done[i].start < r.end:
        yield done[i]
        i += 1


def _subtract_coalesced(r: TokenRange, done: Sequence[TokenRange], ends: Sequence[int]) -> list[TokenRange]:
    pieces = []
    cursor = r.start
    for d in _overlapping(r, done, ends):
        if d.start > cursor:
            pieces.append(TokenRange(cursor, d.start))
        cursor = max(cursor, d.end)
    if cursor < r.end:
        pieces.append(TokenRange(cursor, r.end))
    return pieces


def subtract(r: TokenRange, done: Iterable[TokenRange]) -> list[TokenRange]:
    """The parts of ``r`` not covered by ``done``, sorted and coalesced."""
    merged = coalesce(done)
    return _subtract_coalesced(r, merged, [d.end for d in merged])


def intersect(r: TokenRange, done: Iterable[TokenRange]) -> list[TokenRange]:
    """The parts of ``r`` covered by ``done``, sorted and coalesced."""
    merged = coalesce(done)
    ends = [m.end for m in merged]
    return [TokenRange(max(r.start, d.start), min(r.end, d.end)) for d in _overlapping(r, merged, ends)]


def covers(done: Iterable[TokenRange], r: TokenRange) -> bool:
    """Whether every token of ``r`` is in one of the ``done`` ranges."""
    return not subtract(r, done)


def aligned(skip_coalesced: Iterable[TokenRange], splits: Iterable[TokenRange]) -> bool:
    """Whether every boundary of the skip ranges is also a boundary of the splits.

    False means the skip ranges were written with another splitting (or another ring): resuming
    still works, but some splits are only partly done and get scanned piecewise. The skip ranges
    are coalesced first, so boundaries between adjacent skip ranges do not count.
    """
    boundaries: set[int] = set()
    for s in splits:
        boundaries.update((s.start, s.end))
    return all(r.start in boundaries and r.end in boundaries for r in coalesce(skip_coalesced))


@dataclass(frozen=True)
class Work:
    """A split that is not done yet: its index in the plan, and the pieces of it still to scan."""

    index: int
    split: TokenRange
    pieces: tuple[TokenRange, ...]

    def __post_init__(self) -> None:
        if self.index < 0:
            raise ValueError(f"work index must be >= 0, got {self.index}")
        if not self.pieces:
            raise ValueError(f"work for split {self.split} has no pieces left to scan")
        if coalesce(self.pieces) != list(self.pieces):
            raise ValueError(f"work pieces must be sorted, disjoint and not adjacent, got {self.pieces}")
        if self.pieces[0].start < self.split.start or self.pieces[-1].end > self.split.end:
            raise ValueError(f"work pieces {self.pieces} must lie inside their split {self.split}")

    @property
    def partial(self) -> bool:
        """Whether part of the split was already done by an earlier run."""
        return self.pieces != (self.split,)


@dataclass(frozen=True)
class Plan:
    """The splits of the ring and the work left after subtracting what a savepoint says is done.

    ``skip`` is the coalesced set of done ranges the plan was made with.
    """

    partitioner: Partitioner
    all_ranges: tuple[TokenRange, ...]
    pending: tuple[Work, ...]
    skip: tuple[TokenRange, ...]

    def __post_init__(self) -> None:
        indexes = [w.index for w in self.pending]
        if indexes != sorted(set(indexes)) or (indexes and indexes[-1] >= len(self.all_ranges)):
            raise ValueError("pending work must have distinct, sorted indexes into all_ranges")
        for w in self.pending:
            if self.all_ranges[w.index] != w.split:
                raise ValueError(f"pending work {w.index} does not match split {self.all_ranges[w.index]}")

    @property
    def done_count(self) -> int:
        """How many splits the skip ranges cover completely."""
        return len(self.all_ranges) - len(self.pending)

    @property
    def skip_aligned(self) -> bool:
        """Whether the skip ranges line up with this plan's splits (see ``aligned``)."""
        return aligned(self.skip, self.all_ranges)


def skip_ranges(pairs: Iterable[tuple[int, int]], partitioner: Partitioner) -> list[TokenRange]:
    """``skipTokenRanges`` pairs as token ranges, wrap-around pairs unwrapped."""
    return [r for a, b in pairs for r in unwrap(a, b, partitioner)]


def plan(partitioner: Partitioner, split_count: int, skip: Iterable[TokenRange]) -> Plan:
    """Split the ring into ``split_count`` ranges and subtract the ``skip`` ranges from them.

    Raises ``ValueError`` when a skip range lies outside the ring: the savepoint was then written
    for another partitioner.
    """
    ring = partitioner.ring
    merged = coalesce(skip)
    for r in merged:
        if r.start < ring.start or r.end > ring.end:
            raise ValueError(f"skip range {r} lies outside the {partitioner.short_name} ring {ring}")
    ends = [r.end for r in merged]
    splits = split_ring(partitioner, split_count)
    pending = []
    for i, split in enumerate(splits):
        pieces = _subtract_coalesced(split, merged, ends)
        if pieces:
            pending.append(Work(i, split, tuple(pieces)))
    return Plan(partitioner, tuple(splits), tuple(pending), tuple(merged))
