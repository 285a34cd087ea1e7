"""Benchmark table shapes: their CQL and a deterministic row generator per shape."""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Shape:
    name: str
    columns: str  # CREATE TABLE body
    insert_columns: tuple[str, ...]
    key: tuple[str, ...] = ("id",)
    multicell: bool = False  # has non-frozen collections: no connector copy can preserve their elements' metadata

    @property
    def cells(self) -> list[str]:
        """The non-key columns."""
        return [c for c in self.insert_columns if c not in self.key]

    def rows(self, start: int, stop: int, seed: int = 0) -> Iterator[tuple[Any, ...]]:
        """Rows ``start`` to ``stop``; another ``seed`` gives the same keys with other values."""
        rnd = random.Random(start + seed * 10**12)
        for i in range(start, stop):
            yield ROW_MAKERS[self.name](i, rnd)


SHAPES = {
    "narrow": Shape("narrow", "(id bigint PRIMARY KEY, n int, s text, d double)", ("id", "n", "s", "d")),
    "wide": Shape(
        "wide",
        "(p bigint, c int, " + ", ".join(f"t{i} text" for i in range(10)) + ", v double, PRIMARY KEY (p, c))",
        ("p", "c", *[f"t{i}" for i in range(10)], "v"),
        key=("p", "c"),
    ),
    "collections": Shape(
        "collections",
        "(id bigint PRIMARY KEY, tags set<text>, attrs map<text, int>, nums frozen<list<int>>, label text)",
        ("id", "tags", "attrs", "nums", "label"),
        multicell=True,
    ),
    "lists": Shape("lists", "(id bigint PRIMARY KEY, l list<text>, v text)", ("id", "l", "v"), multicell=True),
}


def _narrow(i: int, rnd: random.Random) -> tuple[Any, ...]:
    return (i, rnd.randint(-(2**31), 2**31 - 1), f"value-{i:012d}", rnd.random())


def _wide(i: int, rnd: random.Random) -> tuple[Any, ...]:
    return (i // 100, i % 100, *[f"{i}-{k}-{rnd.getrandbits(32):08x}" for k in range(10)], rnd.random())


def _collections(i: int, rnd: random.Random) -> tuple[Any, ...]:
    return (i, {f"t{rnd.randint(0, 20)}" for _ in range(3)}, {f"k{k}": rnd.randint(0, 999) for k in range(3)},
            [rnd.randint(0, 99) for _ in range(4)], f"label-{i}")


def _lists(i: int, rnd: random.Random) -> tuple[Any, ...]:
    return (i, [f"e{i}-{k}-{rnd.getrandbits(16):04x}" for k in range(3)], f"value-{i}")


ROW_MAKERS = {"narrow": _narrow, "wide": _wide, "collections": _collections, "lists": _lists}
