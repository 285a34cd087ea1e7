"""``migrator apply``: make a reviewed pack's changes to production, in batches, with checkpoints.

Each table's pack file is read as a stream, ``reconcile.applyBatchRows`` changes at a time. The
backend's applier reads the batch's production rows and writes a change only where production still
holds the row the diff saw; a row that already holds what the change wants counts as ``already``
(a re-run, or an earlier run cut short), and a row changed since is **skipped**: never overwritten,
listed in ``<output>/apply/skipped.jsonl`` and counted. After each acknowledged batch the checkpoint
(``checkpoints``) records how far the table got; a resumed run starts after it. ``--dry-run`` reads
production and reports what each change would do, writing nothing (no checkpoint either).

``IN_FLIGHT`` batches are applied at once (threads), so that one's reads overlap another's writes;
their outcomes are recorded and the checkpoint moved in pack order, each batch once it and every
batch before it were acknowledged. The pack names each row once, so batches in flight never share a
row.

SIGINT/SIGTERM let the batches in flight finish, write the checkpoint and stop with exit 4.
Exit 0: every change applied or already there; 1: some were skipped (production changed since the
diff: run ``diff`` again to see them); 2: bad input (no pack, another config); 3: a failure (the
checkpoint of the last acknowledged batch stays).
"""

from __future__ import annotations

import contextlib
import gc
import itertools
import json
import logging
import signal
import time
from collections import Counter, deque
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import Any

from migrator.backends.base import backend_for
from migrator.config import LoadedConfig
from migrator.errors import ConfigError
from migrator.files import make_folder, open_private, probe_folder, write_atomically
from migrator.reconcile.changes import ALREADY, APPLIED, OUTCOMES, SKIPPED
from migrator.reconcile.checkpoints import Checkpoints, config_hash
from migrator.reconcile.pack import MANIFEST, read_manifest
from migrator.reconcile.preflight import settings_of

log = logging.getLogger("migrator.reconcile")
IN_FLIGHT = 4  # batches checked and written at once: some read while others write (measured: 2 -> 4, 10% faster)
YOUNG_OBJECTS = 50_000  # collect the youngest generation this rarely while the batches run (CPython's default: 700)


@dataclass
class ApplyResult:
    """What an apply did, per table, and whether it stopped on a signal."""

    pack: Path
    outcomes: dict[str, Counter[str]] = field(default_factory=dict)
    interrupted_by: str | None = None
    dry_run: bool = False
    seconds: float = 0.0

    @property
    def skipped(self) -> int:
        """Changes left alone because production changed since the diff."""
        return sum(c.get(SKIPPED, 0) for c in self.outcomes.values())

    def text(self) -> str:
        """For people."""
        verb = "would be" if self.dry_run else "were"
        lines = [f"apply of {self.pack}{' (dry run: nothing written)' if self.dry_run else ''}"
                 + (f": stopped by {self.interrupted_by}, checkpoint written" if self.interrupted_by else "")]
        for table, c in self.outcomes.items():
            lines.append(f"  {table}: {c.get(APPLIED, 0):,} changes {verb} applied, {c.get(ALREADY, 0):,} already "
                         f"in place, {c.get(SKIPPED, 0):,} skipped (production changed since the diff)")
        return "\n".join(lines)


class _Stop:
    """Records the first SIGINT/SIGTERM; the loop stops after the batches in flight."""

    def __init__(self) -> None:
        self.signal: str | None = None
        self._old: dict[int, Any] = {}

    def __enter__(self) -> _Stop:
        for signum in (signal.SIGINT, signal.SIGTERM):
            self._old[signum] = signal.signal(signum, self._handle)
        return self

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        self.signal = signal.Signals(signum).name

    def __exit__(self, *exc: object) -> None:
        for signum, old in self._old.items():
            signal.signal(signum, old)


@contextlib.contextmanager
def _frozen() -> Iterator[None]:
    """While the batches run, the garbage collector leaves alone what was set up before them.

    The objects alive now (modules, config, sessions) outlive the run, and each collection would
    scan them all again: measured, 0.18 s of collections in an apply of 20,000 changes, 0.06 to 0.1
    with them frozen. The youngest generation is collected after ``YOUNG_OBJECTS`` allocations, not
    CPython's 700, so the changes of the batches in flight are not scanned and promoted again and
    again (0.42 to 0.21 s per 100,000 changes); cycles are still freed, a little later. Afterwards
    the objects are the collector's again and its thresholds as they were.
    """
    thresholds = gc.get_threshold()
    gc.freeze()
    gc.set_threshold(max(thresholds[0], YOUNG_OBJECTS), *thresholds[1:])
    try:
        yield
    finally:
        gc.set_threshold(*thresholds)
        gc.unfreeze()


def pack_manifest(pack: Path) -> dict[str, Any]:
    """The pack's manifest; a missing or unfinished pack is refused."""
    if not (pack / MANIFEST).is_file():
        raise ConfigError([("--pack", f"{pack} is not a finished pack (no {MANIFEST})\n    fix: run migrator diff, "
                                      "review its pack/ folder, then pass it to --pack")])
    return read_manifest(pack)


def check_pack_config(loaded: LoadedConfig, pack: Path, manifest: dict[str, Any]) -> None:
    """Refuse a pack made with another config."""
    if manifest.get("configHash") != config_hash(loaded.raw):
        raise ConfigError([("--pack", f"the pack {pack} was made with another config\n    fix: run migrator diff "
                                      "again with this config, or apply with the config the pack was made with")])


def apply(loaded: LoadedConfig, pack: Path, *, dry_run: bool = False, resume: bool = False) -> ApplyResult:
    """Apply ``pack`` to production (see the module docstring); many tables: each table's pack under it."""
    from migrator.reconcile.many import apply_tables, table_runs

    runs = table_runs(loaded)
    if runs is not None:
        return apply_tables(runs, pack, dry_run=dry_run, resume=resume)
    config = loaded.model
    settings = settings_of(config)
    manifest = pack_manifest(pack)
    fmt = backend_for(config).changes(config)
    output = Path(settings.output)
    checkpoints = Checkpoints(output / "checkpoints", loaded.raw, expiry_hours=settings.checkpoint_expiry_hours)
    resuming = resume or config.apply_checkpoint is not None
    if not resuming:
        check_pack_config(loaded, pack, manifest)  # before begin() removes earlier checkpoints
    if not dry_run:
        probe_folder(checkpoints.directory)  # before the first change: a checkpoint must be writable after it
    checkpoint = None if dry_run else checkpoints.begin(str(pack), resume=resume, embedded=config.apply_checkpoint)
    if resuming:
        check_pack_config(loaded, pack, manifest)  # after the checkpoint's own config check, which says more
    for notice in checkpoint.notices if checkpoint is not None else []:
        log.warning("%s", notice)
    result = ApplyResult(pack, dry_run=dry_run)
    started = time.monotonic()
    report_dir = output / "apply"
    make_folder(report_dir)
    with contextlib.closing(fmt.applier()) as applier, _Stop() as stop, \
            ThreadPoolExecutor(max_workers=IN_FLIGHT, thread_name_prefix="apply") as pool, \
            open_private(report_dir / "skipped.jsonl", append=bool(checkpoint and checkpoint.resumed)) as skipped, \
            _frozen():
        for table, entry in manifest["tables"].items():
            total = entry["added"] + entry["conflictsForDev"] + entry["deletes"]
            progress = checkpoint.progress(table, total) if checkpoint is not None else None
            counts = result.outcomes.setdefault(table, Counter())
            if progress is not None:
                counts.update({APPLIED: progress.applied, ALREADY: progress.already, SKIPPED: progress.skipped})
            start = progress.done if progress is not None else 0
            with open(pack / entry["file"], encoding="utf-8", newline="") as lines:  # values' line breaks as written
                remaining = itertools.islice(fmt.parse(lines), start, None)  # after the checkpoint's acknowledged ones
                in_flight: deque[tuple[list[Any], Future[list[str]]]] = deque()
                while True:
                    while not stop.signal and len(in_flight) < IN_FLIGHT and (
                            batch := list(itertools.islice(remaining, settings.apply_batch_rows))):
                        in_flight.append((batch, pool.submit(applier.apply, batch, dry_run=dry_run)))
                    if not in_flight:
                        break
                    batch, done = in_flight.popleft()
                    _record(batch, done.result(), counts, progress, skipped)  # in pack order, once acknowledged
                    if checkpoint is not None:
                        checkpoints.save(checkpoint)
                    _progress(table, counts, total, started)
            if stop.signal:
                result.interrupted_by = stop.signal
                break
    result.seconds = time.monotonic() - started
    if checkpoint is not None and not result.interrupted_by:
        checkpoints.finish(checkpoint)
    write_atomically(report_dir / "report.json", json.dumps(
        {"pack": str(pack), "dryRun": dry_run, "interruptedBy": result.interrupted_by,
         "seconds": round(result.seconds, 1),
         "tables": {t: {o: c.get(o, 0) for o in OUTCOMES} for t, c in result.outcomes.items()}}, indent=2) + "\n")
    return result


def _record(batch: list[Any], outcomes: list[str], counts: Counter[str], progress: Any, skipped: Any) -> None:
    """Count an acknowledged batch's outcomes, list its skipped changes and move the checkpoint past it."""
    for change, outcome in zip(batch, outcomes, strict=True):
        counts[outcome] += 1
        if outcome == SKIPPED:
            skipped.write(json.dumps({"op": change.op, "key": change.key, "expect": change.expect,
                                      "why": change.why}, ensure_ascii=False, default=str) + "\n")
    skipped.flush()
    if progress is not None:
        progress.done += len(batch)
        progress.applied = counts.get(APPLIED, 0)
        progress.already = counts.get(ALREADY, 0)
        progress.skipped = counts.get(SKIPPED, 0)


def _progress(table: str, counts: Counter[str], total: int, started: float) -> None:
    done = sum(counts.values())
    elapsed = time.monotonic() - started
    rate = done / elapsed if elapsed > 0 else 0.0
    eta = (total - done) / rate if rate > 0 else 0.0
    log.info("apply %s: %s/%s changes (%.0f/s, ETA %.0f s)", table, f"{done:,}", f"{total:,}", rate, eta)
