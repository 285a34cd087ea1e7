"""``migrator diff``: what differs between dev (the source) and production (the target), and each conflict's fate.

The comparison is the validation job itself (same splits, savepoints and resume, exact totals), run
with a difference sink that asks each backend for both rows' digests and write times. Executors write
every difference to ``<output>/differences/split-*.jsonl``; a driver thread reads them once, one at
a time, split by split in index order as each split's file is published (so the driver's pass runs
while the executors still compare), and writes into ``<output>``:

* ``summary.json`` and ``summary.txt``: per table, rows **added** (only in dev), **removed** (only in
  production) and **conflicts** (in both, different), and how the conflicts are decided;
* ``conflicts.json``: every conflict with its key, both digests, the differing columns with both
  values, both write times, the decision and what made it (a recorded decision in
  ``resolutions.json``, else the table's strategy).

Memory on the driver is one difference at a time, whatever the number of rows: ``conflicts.json`` is
written as the differences are read. A fresh diff (not resuming a savepoint) clears the previous
``differences`` folder first, so files of an older run are never mixed in. If the job fails or is
stopped, the thread discards what it wrote (the pack folder, an unpublished ``conflicts.json``); a
resumed diff writes them whole. A split file replaced after it was read (a resumed job doing a split
again) makes the pass run again from the files.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import logging
import shutil
import time
from collections import Counter
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from migrator.backends.base import backend_for
from migrator.config import LoadedConfig, MigratorConfig, ValidationSettings
from migrator.differences import Abandoned, DifferenceFollower, read_differences
from migrator.errors import ConfigError
from migrator.files import atomic_file, write_atomically
from migrator.reconcile.checkpoints import config_hash
from migrator.reconcile.decisions import DECISIONS, Conflict, decide
from migrator.reconcile.pack import PackWriter
from migrator.reconcile.preflight import settings_of, strategy_problems
from migrator.reconcile.resolutions import Resolutions
from migrator.report.model import DIFFERING, EXTRA, MISSING, Example
from migrator.report.view import json_text

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

log = logging.getLogger("migrator.reconcile")

EXACT = {"compareTimestamps": False, "ttlToleranceMillis": 0, "writetimeToleranceMillis": 0, "failuresToFetch": 100,
         "floatingPointTolerance": 0.0, "timestampMsTolerance": 0}
ADDED, REMOVED, CONFLICTS = "added", "removed", "conflicts"


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


@dataclass
class DiffResult:
    """What ``diff`` found, and where it wrote it."""

    output: Path
    tables: dict[str, TableDiff]
    seconds: float
    voided: int = 0  # recorded decisions found void because a row changed since
    pack: Path | None = None  # the pack's folder

    @property
    def identical(self) -> bool:
        """No row added, removed or in conflict."""
        return all(t.added == t.removed == t.conflicts == 0 for t in self.tables.values())


def table_name(block: Any) -> str:
    """A table as reconcile names it: ``keyspace.table``, or the table alone where there is no keyspace."""
    keyspace = getattr(block, "keyspace", None)
    return f"{keyspace}.{block.table}" if keyspace else str(block.table)


def diff_preflight(config: MigratorConfig) -> None:
    """Refuse what ``diff`` cannot run before connecting or starting Spark (exit 2)."""
    settings = settings_of(config)
    problems = strategy_problems(config, settings, backend_for(config).capabilities)
    if problems:
        raise ConfigError(problems)


def diff(loaded: LoadedConfig, spark: SparkSession) -> DiffResult:
    """Compare dev and production, then write the summary and conflicts.json (see the module docstring)."""
    from migrator.validate import validate

    config = loaded.model
    diff_preflight(config)
    settings = settings_of(config)
    output = Path(settings.output)
    differences = output / "differences"
    if config.migrator_state is None and differences.exists():
        shutil.rmtree(differences)  # a fresh diff: never mix in an older run's files
    comparing = LoadedConfig(config.model_copy(update={"validation": comparison_settings(config)}), loaded.raw,
                             loaded.source)
    started = time.monotonic()
    follower = DifferenceFollower(differences)
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="diff-outputs") as pool:
        # the outputs are written from each split's file as it is published, while the job runs
        outputs = pool.submit(write_outputs, loaded, examples=follower.examples(), started=started)
        try:
            validate(comparing, spark, differences=differences, digests=True,
                     written_attribute=settings.updated_at_attribute, command="diff")
        except BaseException:
            follower.abandoned.set()
            follower.finished.set()
            with contextlib.suppress(Abandoned):
                outputs.result()  # the thread discards what it wrote
            raise
        follower.finished.set()
        result = outputs.result()
    if follower.changed():
        log.info("diff: a split's differences were replaced while the job ran (a split done again); reading all again")
        result = write_outputs(loaded, started=started)
    return result


def comparison_settings(config: MigratorConfig) -> ValidationSettings:
    """The config's ``validation`` block, else an exact comparison (no tolerance)."""
    return config.validation or ValidationSettings.model_validate(EXACT)


def write_outputs(loaded: LoadedConfig, *, examples: Iterable[Example] | None = None,
                  started: float | None = None) -> DiffResult:
    """From the differences (``examples``, else the files) and today's decisions: conflicts.json, the pack, the summary.

    ``started``: when the diff began (``time.monotonic()``), for the summary's duration.
    """
    config = loaded.model
    settings = settings_of(config)
    output = Path(settings.output)
    table, dev = table_name(config.target), table_name(config.source)
    pack = PackWriter(output, backend_for(config).changes(config), table=table, dev=dev,
                      allow_deletes=settings.allow_deletes, config_hash=config_hash(loaded.raw))
    found = examples if examples is not None else read_differences(output / "differences")
    result = summarize(found, output, table, settings.strategy_for(table), pack)
    result.seconds = time.monotonic() - started if started is not None else 0.0
    write_summary(result, dev=dev, prod=table)
    return result


def summarize(differences: Iterable[Example], output: Path, table: str, strategy: str, pack: PackWriter) -> DiffResult:
    """Read every difference once: count them, decide each conflict, stream conflicts.json and the pack."""
    resolutions = Resolutions(output / "resolutions.json")
    tally = TableDiff(table, strategy)
    output.mkdir(parents=True, exist_ok=True)
    try:
        with atomic_file(output / "conflicts.json") as handle:
            handle.write('{"conflicts": [')
            first = True
            for example in differences:
                if example.kind == MISSING:
                    tally.added += 1
                    pack.added(example)
                elif example.kind == EXTRA:
                    tally.removed += 1
                    pack.removed(example)
                elif example.kind == DIFFERING:
                    tally.conflicts += 1
                    conflict = conflict_of(table, example)
                    recorded = resolutions.lookup(conflict)
                    decision = recorded or decide(strategy, conflict)
                    by = "resolutions.json" if recorded else f"strategy {strategy}"
                    tally.decisions[decision] += 1
                    _write_conflict(handle, conflict, decision, by, first)
                    pack.conflict(example, decision, by)
                    first = False
            handle.write("\n]}\n")
    except BaseException:
        pack.close(failed=True)
        raise
    pack.close()
    return DiffResult(output, {table: tally}, 0.0, voided=resolutions.voided, pack=pack.folder)


def conflict_of(table: str, example: Example) -> Conflict:
    """A DIFFERING difference as a conflict: dev is the source side, production the target side."""
    dev, prod = example.source or {}, example.target or {}
    return Conflict(table, example.key, example.target_digest or "", example.source_digest or "",
                    tuple(example.columns), example.target_written, example.source_written,
                    {c: {"prod": prod.get(c), "dev": dev.get(c)} for c in example.columns})


def _write_conflict(handle: IO[str], conflict: Conflict, decision: str, by: str, first: bool) -> None:
    entry = {"table": conflict.table, "key": conflict.key, "prodDigest": conflict.prod_digest,
             "devDigest": conflict.dev_digest, "columns": conflict.values, "prodWritten": conflict.prod_written,
             "devWritten": conflict.dev_written, "decision": decision, "decidedBy": by}
    handle.write(("\n " if first else ",\n ") + json_text(entry))


def write_summary(result: DiffResult, *, dev: str, prod: str) -> None:
    """summary.json and summary.txt in the output folder."""
    now = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    data = {"writtenAt": now, "dev": dev, "production": prod, "identical": result.identical,
            "seconds": round(result.seconds, 1), "voidedDecisions": result.voided,
            "tables": {name: t.to_json() for name, t in result.tables.items()},
            "files": {"conflicts": "conflicts.json", "differences": "differences/", "resolutions": "resolutions.json",
                      "pack": "pack/"}}
    write_atomically(result.output / "summary.json", json.dumps(data, indent=2) + "\n")
    write_atomically(result.output / "summary.txt", summary_text(result, dev=dev, prod=prod) + "\n")


def summary_text(result: DiffResult, *, dev: str, prod: str) -> str:
    """The summary for people (also printed by the command)."""
    lines = [f"diff of dev {dev} (source) against production {prod} (target): "
             + ("identical" if result.identical else "they differ")]
    for name, t in result.tables.items():
        lines.append(f"  {name}: {t.added:,} added (only in dev), {t.removed:,} removed (only in production), "
                     f"{t.conflicts:,} conflicts")
        if t.conflicts:
            lines.append(f"    conflicts by decision (strategy {t.strategy}): "
                         + ", ".join(f"{d} {t.decisions.get(d, 0):,}" for d in DECISIONS))
    if result.voided:
        lines.append(f"  {result.voided:,} recorded decision(s) are void (a row changed since) and must be made again")
    lines.append(f"  written to {result.output}: summary.json, summary.txt, conflicts.json, differences/"
                 + f", pack/ (review it, then: migrator apply --config <config> --pack {result.pack})")
    return "\n".join(lines)
