"""Each split's share of ``diff``'s outputs: its ``conflicts.json`` entries, its pack changes and its counts.

One ``SplitRenderer`` turns a split's differences into text: conflict entries (decided by a recorded
decision or the table's strategy), puts (rows only dev has, conflicts decided for dev) and deletes
(rows only production has), in the order found, and counts them (``TableDiff``).

It runs in two places, to the same effect:

* **on the executors**, while they compare (``Fragments``, the difference sink's companion): beside
  ``split-<i>.jsonl`` each split publishes ``split-<i>.conflicts``, ``.puts``, ``.deletes`` and
  ``.tally`` (its counts, and the signature of what it was rendered for), all before the records
  file, so a published records file always has its fragments. The driver then only concatenates;
* **on the driver**, from the records, where fragments cannot serve: a person recorded decisions
  (``resolutions.json`` has entries, which the executors do not see), the fragments were rendered for
  other settings (another strategy, ``allowDeletes``, table or renderer version), or are missing or
  truncated (a records file written by ``validate --differences``, a crash).
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import shutil
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, Protocol

from migrator.files import atomic_file, write_atomically
from migrator.reconcile.changes import DELETE, PUT, Change, ChangeFormat
from migrator.reconcile.decisions import DECISIONS, KEEP_PROD, PENDING, USE_DEV, Conflict, decide
from migrator.reconcile.resolutions import Resolutions
from migrator.report.model import DIFFERING, EXTRA, MISSING, Example
from migrator.report.view import json_text

VERSION = 1  # of the fragments' text: fragments of another version are rendered again on the driver
ADDED, REMOVED, CONFLICTS = "added", "removed", "conflicts"
FRAGMENTS = ("conflicts", "puts", "deletes")
CHUNK = 1 << 20


class Writable(Protocol):
    """Where rendered text goes: an open file, or ``EntryList``."""

    def write(self, text: str, /) -> Any:
        """Append ``text``."""
        ...


@dataclass
class TableDiff:
    """One table's differences and how its conflicts are decided."""

    table: str
    strategy: str
    added: int = 0
    removed: int = 0
    conflicts: int = 0
    decisions: Counter[str] = field(default_factory=Counter)

    def to_json(self) -> dict[str, Any]:
        """The table's entry in summary.json."""
        return {ADDED: self.added, REMOVED: self.removed, CONFLICTS: self.conflicts, "strategy": self.strategy,
                "decisions": {d: self.decisions.get(d, 0) for d in DECISIONS}}

    def add(self, data: dict[str, Any]) -> None:
        """Add a split's counts (``to_json``'s form)."""
        self.added += data[ADDED]
        self.removed += data[REMOVED]
        self.conflicts += data[CONFLICTS]
        self.decisions.update(data["decisions"])


@dataclass(frozen=True)
class Rendering:
    """What a table's outputs are rendered for: the same on the executors and on the driver."""

    table: str
    strategy: str
    allow_deletes: bool
    fmt: ChangeFormat

    @functools.cached_property
    def signature(self) -> str:
        """Fragments rendered for another signature are not used."""
        what = [VERSION, self.table, self.strategy, self.allow_deletes, type(self.fmt).__qualname__,
                self.fmt.extension]
        return hashlib.sha256(json.dumps(what).encode()).hexdigest()[:16]

    @contextlib.contextmanager
    def fragments(self, records: Path) -> Iterator[Callable[[Example], None]]:
        """The difference sink's companion: split fragments beside ``records``, published if the block succeeds."""
        tally = TableDiff(self.table, self.strategy)
        with contextlib.ExitStack() as files:
            # not synced (the records file is): a fragment a crash truncated fails its size check, and the
            # driver renders that split from its records
            conflicts, puts, deletes = (files.enter_context(atomic_file(_fragment(records, name), durable=False))
                                        for name in FRAGMENTS)
            yield SplitRenderer(self, conflicts, puts, deletes, tally).add
        write_atomically(_fragment(records, "tally"),
                         json.dumps({"signature": self.signature, "bytes": _sizes(records), **tally.to_json()}),
                         durable=False)


class SplitRenderer:
    """Renders differences into conflict entries, puts and deletes (see the module docstring)."""

    def __init__(self, rendering: Rendering, conflicts: Writable, puts: Writable, deletes: Writable, tally: TableDiff,
                 resolutions: Resolutions | None = None) -> None:
        self.rendering = rendering
        self.conflicts, self.puts, self.deletes = conflicts, puts, deletes
        self.tally = tally
        self.resolutions = resolutions
        self.render = rendering.fmt.render
        self.by_strategy = f"strategy {rendering.strategy}"
        if rendering.allow_deletes:
            self.why_removed = "removed: only in production"
        else:
            self.why_removed = "removed: only in production (disabled: reconcile.allowDeletes is false)"

    def add(self, example: Example) -> None:
        """One difference: counted, and rendered where it goes."""
        if example.kind == MISSING:
            self.tally.added += 1
            self.puts.write(self.render(Change(PUT, example.key, None, example.source_digest, _row(example), "added",
                                               address=example.address)))
        elif example.kind == EXTRA:
            self.tally.removed += 1
            self.deletes.write(self.render(Change(DELETE, example.key, example.target_digest, None, example.literals,
                                                  self.why_removed, enabled=self.rendering.allow_deletes,
                                                  address=example.address)))
        elif example.kind == DIFFERING:
            self.tally.conflicts += 1
            conflict = conflict_of(self.rendering.table, example)
            recorded = self.resolutions.lookup(conflict) if self.resolutions is not None else None
            decision = recorded or decide(self.rendering.strategy, conflict)
            by = "resolutions.json" if recorded else self.by_strategy
            self.tally.decisions[decision] += 1
            self.conflicts.write(",\n " + conflict_entry(conflict, decision, by))
            if decision == USE_DEV:
                self.puts.write(self.render(Change(PUT, example.key, example.target_digest, example.source_digest,
                                                   _row(example), f"conflict, dev's row ({by})",
                                                   address=example.address)))


def conflict_of(table: str, example: Example) -> Conflict:
    """A DIFFERING difference as a conflict: dev is the source side, production the target side."""
    dev, prod = example.source or {}, example.target or {}
    return Conflict(table, example.key, example.target_digest or "", example.source_digest or "",
                    tuple(example.columns), example.target_written, example.source_written,
                    {c: {"prod": prod.get(c), "dev": dev.get(c)} for c in example.columns})


def conflict_entry(conflict: Conflict, decision: str, by: str) -> str:
    """A conflict's entry in conflicts.json (one line)."""
    return json_text({"table": conflict.table, "key": conflict.key, "prodDigest": conflict.prod_digest,
                      "devDigest": conflict.dev_digest, "columns": conflict.values,
                      "prodWritten": conflict.prod_written, "devWritten": conflict.dev_written,
                      "decision": decision, "decidedBy": by})


def pack_counts(tally: TableDiff, allow_deletes: bool) -> Counter[str]:
    """A table's counts in pack.json, from its differences' counts."""
    return Counter({"added": tally.added, "conflictsForDev": tally.decisions.get(USE_DEV, 0),
                    "deletes": tally.removed if allow_deletes else 0,
                    "deletesDisabled": 0 if allow_deletes else tally.removed,
                    "keptProduction": tally.decisions.get(KEEP_PROD, 0), "pending": tally.decisions.get(PENDING, 0)})


def _row(example: Example) -> dict[str, Any] | None:
    """The row a put writes, in the backend's form: CQL literals where the backend gave them, else dev's row."""
    return example.literals if example.literals is not None else example.source


def _fragment(records: Path, name: str) -> Path:
    return records.with_suffix(f".{name}")


def rendered_counts(records: Path, signature: str) -> dict[str, Any] | None:
    """A split's counts if its fragments were rendered for ``signature`` and are all there whole, else None."""
    try:
        data: dict[str, Any] = json.loads(_fragment(records, "tally").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if data.get("signature") == signature and data.get("bytes") == _sizes(records) else None


def _sizes(records: Path) -> dict[str, int] | None:
    """Each fragment's size in bytes; None if one is missing."""
    try:
        return {name: _fragment(records, name).stat().st_size for name in FRAGMENTS}
    except OSError:
        return None


class EntryList:
    """The ``conflicts`` array of conflicts.json, from entries each written with a comma in front."""

    def __init__(self, handle: IO[str]) -> None:
        self.handle = handle
        self.first = True

    def write(self, text: str) -> None:
        """Entries' text, each starting with its comma (the array's first loses it)."""
        if self.first and text:
            text = text[1:]
            self.first = False
        self.handle.write(text)

    def copy(self, path: Path) -> None:
        """A split's conflicts fragment."""
        with open(path, encoding="utf-8", newline="") as fragment:
            self.write(fragment.read(CHUNK))
            shutil.copyfileobj(fragment, self.handle, CHUNK)


def copy_fragments(records: Path, entries: EntryList, puts: IO[str], deletes: IO[str]) -> None:
    """Append a split's fragments to conflicts.json's array and the pack's puts and deletes."""
    entries.copy(_fragment(records, "conflicts"))
    for name, handle in (("puts", puts), ("deletes", deletes)):
        with open(_fragment(records, name), encoding="utf-8", newline="") as fragment:
            shutil.copyfileobj(fragment, handle, CHUNK)
