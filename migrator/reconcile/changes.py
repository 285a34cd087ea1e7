"""The changes a reconcile makes to production, and what a backend provides to write and apply them.

A ``Change`` is one row of production to write (``put``: a dev row added, or a conflict decided for
dev) or to delete (``delete``: a row only production has). It carries the digest of the production
row it was decided on (``expect``; None: the row must be absent) and the digest of the row it leaves
(``want``; None for a delete), so ``apply`` can tell, row by row, whether production still is what
``diff`` saw (write), already is what the pack wants (nothing to do), or changed since (skip and
report, never overwrite).

A backend that reconciles provides a ``ChangeFormat``: how a change reads in its pack file (CQL
statements, JSON lines), how it is parsed back, and an ``Applier`` that checks and writes batches of
changes to production.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any, Protocol

PUT = "put"
DELETE = "delete"

APPLIED = "applied"  # written
ALREADY = "already"  # production already holds what the change wants: nothing written
SKIPPED = "skipped"  # production changed since the diff: left alone, reported
OUTCOMES = (APPLIED, ALREADY, SKIPPED)


@dataclass(frozen=True)
class Change:
    """One row of production to write or delete (see the module docstring)."""

    op: str
    key: dict[str, Any]
    expect: str | None
    want: str | None
    row: dict[str, Any] | None = None  # the row to write, in the backend's form
    why: str = ""  # "added", "conflict: <decided by>", "removed"
    enabled: bool = True  # a delete the config does not allow is written to the pack disabled
    address: dict[str, Any] | None = None  # the backend's way back to the production row (``Example.address``)


def classify(changes: list[Change], current: Iterable[str | None]) -> tuple[list[str], list[Change]]:
    """Each change's outcome given production's digest now (None: no row), and the changes to write.

    ``want`` is checked first: a delete wants no row, so an absent row is ``ALREADY`` for it.
    """
    outcomes, to_write = [], []
    for change, now in zip(changes, current, strict=True):
        if now == change.want:
            outcomes.append(ALREADY)
        elif now == change.expect:
            outcomes.append(APPLIED)
            to_write.append(change)
        else:
            outcomes.append(SKIPPED)
    return outcomes, to_write


class Applier(Protocol):
    """Writes changes to production, each only if production still is what the diff saw."""

    def apply(self, changes: list[Change], *, dry_run: bool = False) -> list[str]:
        """The outcome of each change (``OUTCOMES``), in order; with ``dry_run`` nothing is written."""
        ...

    def close(self) -> None:
        """Release connections."""
        ...


class ChangeFormat(Protocol):
    """How a backend writes changes into its pack file, reads them back, and applies them."""

    extension: str  # the pack file's suffix: "cql", "jsonl"

    def header(self, table: str, dev: str, production: str) -> list[str]:
        """The file's first lines (comments): what it is and how to read it."""
        ...

    def render(self, change: Change) -> str:
        """The change's text, ending with a newline; a disabled change is written commented out."""
        ...

    def parse(self, lines: Iterable[str]) -> Iterator[Change]:
        """The enabled changes of a pack file, in order (comments and disabled changes are skipped)."""
        ...

    def applier(self) -> Applier:
        """A connection to production that applies changes."""
        ...
