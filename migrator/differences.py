"""Every difference a validation finds, one JSON-lines file per split, written by the executors.

The report keeps a sample (``failuresToFetch`` examples of each kind); reconciling needs them all.
With a ``DifferenceSink``, the executor comparing split ``i`` writes ``split-<i>.jsonl`` in the
sink's directory: one line per row that is missing, extra or differing, with its key, both sides'
values and the differing columns (the fields of ``report.model.Example``).

Guarantees:

* A split's file is complete or absent: lines go to a temporary file, renamed into place (after an
  fsync) only when the split's comparison finished. A failed or killed task leaves no partial file.
* A retried, speculated or resumed split replaces its file, so every difference is listed exactly
  once across retries and resumes (as long as the runs share the directory).
* Memory stays bounded: lines are written as rows are compared; only counts and the file's path
  travel back to the driver.

A sink may carry a ``companion``: more files rendered from the same differences beside each split's
records (reconcile's diff renders its outputs' share there), published just before the records file.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import threading
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, Protocol

from migrator.files import atomic_file, make_folder
from migrator.report.model import Example, example_json
from migrator.report.view import json_text

FILE_PATTERN = "split-{index:06d}.jsonl"
_FIELDS = dataclasses.fields(Example)
_NAMES = frozenset(f.name for f in _FIELDS)


class Companion(Protocol):
    """Renders a split's differences into more files beside its records (``records``: the records file's path)."""

    def fragments(self, records: Path) -> AbstractContextManager[Callable[[Example], None]]:
        """A function taking each difference; the files appear only if the block succeeds."""
        ...


@dataclass(frozen=True)
class DifferenceSink:
    """Where executors write every difference they find: one JSON-lines file per split.

    ``directory`` must be a local path that every executor can write and the reader can see (local
    mode, or a shared filesystem on a cluster).
    """

    directory: str
    digests: bool = False  # also each side's row digest and newest write time (reconcile's diff)
    written_attribute: str | None = None  # where the store keeps no write times: the attribute holding one
    companion: Companion | None = None


def split_file(directory: str | os.PathLike[str], index: int) -> Path:
    """Where split ``index``'s differences are written."""
    return Path(directory) / FILE_PATTERN.format(index=index)


class DifferenceWriter:
    """Writes one split's differences into an open atomic file; get one with ``open``."""

    def __init__(self, path: Path, handle: IO[str], also: Callable[[Example], None] | None = None) -> None:
        self.path = path
        self.count = 0
        self._handle = handle
        self._also = also

    @classmethod
    @contextlib.contextmanager
    def open(cls, sink: DifferenceSink | None, index: int) -> Iterator[DifferenceWriter | None]:
        """A writer for split ``index`` (None without a sink); the file appears only if the block succeeds."""
        if sink is None:
            yield None
            return
        path = split_file(sink.directory, index)
        make_folder(path.parent)
        with atomic_file(path) as handle, (sink.companion.fragments(path) if sink.companion is not None
                                           else contextlib.nullcontext()) as also:
            yield cls(path, handle, also)  # the companion's files are published first, then the records

    def write(self, example: Example) -> None:
        """Append one difference."""
        # a shallow copy of its fields, in their order (dataclasses.asdict would deep-copy every value first)
        fields = dict(vars(example))
        if len(fields) != len(_FIELDS):  # an attribute besides the fields: never written
            fields = {f.name: getattr(example, f.name) for f in _FIELDS}
        self._handle.write(json_text(example_json(fields)) + "\n")
        self.count += 1
        if self._also is not None:
            self._also(example)


def read_differences(directory: str | os.PathLike[str]) -> Iterator[Example]:
    """Every difference in a sink's directory, split by split, in the order found."""
    for path in split_files(directory):
        yield from read_split(path)


def split_files(directory: str | os.PathLike[str], *, start: int = 0) -> Iterator[Path]:
    """The records files of a sink's directory (splits from index ``start``), in index order."""
    for index, path in sorted((index, path) for path in Path(directory).glob("split-*.jsonl")
                              if (index := _split_index(path)) is not None):
        if index >= start:
            yield path


class Abandoned(Exception):
    """The job failed: what a ``DifferenceFollower`` yielded so far is incomplete."""


class DifferenceFollower:
    """Every split's records file, while the job still runs: in index order, as each is published.

    ``splits`` waits for split 0's file, then split 1's, and so on (a split's file appears whole,
    when the split is done). Once ``finished`` is set, the files left follow in index order, so it
    yields what ``split_files`` gives after the job. Setting ``abandoned`` makes it raise
    ``Abandoned``. A split run again after its file was read (a resumed job re-doing a split the
    savepoint missed) replaces that file: ``changed`` then says the pass must be made again.
    """

    def __init__(self, directory: str | os.PathLike[str], *, poll_s: float = 0.1) -> None:
        self.directory = directory
        self.poll_s = poll_s
        self.finished = threading.Event()
        self.abandoned = threading.Event()
        self._read: dict[Path, tuple[int, int, int]] = {}  # files read while the job ran: their identity then

    def splits(self) -> Iterator[Path]:
        """The records files (see the class docstring); read each before asking for the next."""
        index = 0
        while not self.finished.is_set():
            if self.abandoned.is_set():
                raise Abandoned
            path = split_file(self.directory, index)
            try:
                self._read[path] = _identity(path)
            except FileNotFoundError:
                self.finished.wait(self.poll_s)
                continue
            yield path
            index += 1
        if self.abandoned.is_set():
            raise Abandoned
        yield from split_files(self.directory, start=index)

    def changed(self) -> bool:
        """Whether a file read while the job ran was replaced since."""
        for path, identity in self._read.items():
            try:
                if _identity(path) != identity:
                    return True
            except FileNotFoundError:
                return True
        return False


def _identity(path: Path) -> tuple[int, int, int]:
    stat = path.stat()
    return stat.st_ino, stat.st_mtime_ns, stat.st_size


def read_split(path: Path) -> Iterator[Example]:
    """The differences of one records file, in the order found."""
    with open(path, encoding="utf-8") as handle:
        for line in handle:
            yield Example(**_fields(json.loads(line)))


def _split_index(path: Path) -> int | None:
    """The split index in a file name such as ``split-000042.jsonl`` (more digits beyond a million splits)."""
    digits = path.name[len("split-") : -len(".jsonl")]
    return int(digits) if digits.isdigit() else None


def _fields(data: dict[str, Any]) -> dict[str, Any]:
    return {name: value for name, value in data.items() if name in _NAMES}
