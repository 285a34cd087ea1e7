"""``migrator diff``: what differs between dev (the source) and production (the target), and each conflict's fate.

The comparison is the validation job itself (same splits, savepoints and resume, exact totals), run
with a difference sink that asks each backend for both rows' digests and write times. Executors write
every difference to ``<output>/differences/split-*.jsonl``, and beside it the split's share of the
outputs, already rendered (``render``). A driver thread takes the splits in index order as each is
published (so its pass runs while the executors still compare), appends each split's share, or
renders it from the differences where the share cannot serve, and writes into ``<output>``:

* ``summary.json`` and ``summary.txt``: per table, rows **added** (only in dev), **removed** (only in
  production) and **conflicts** (in both, different), and how the conflicts are decided;
* ``conflicts.json``: every conflict with its key, both digests, the differing columns with both
  values, both write times, the decision and what made it (a recorded decision in
  ``resolutions.json``, else the table's strategy).

Memory on the driver is one difference (or one copy buffer) at a time, whatever the number of rows.
A fresh diff (not resuming a savepoint) clears the previous ``differences`` folder first, so files of
an older run are never mixed in. If the job fails or is stopped, the thread discards what it wrote
(the pack folder, an unpublished ``conflicts.json``); a resumed diff writes them whole. A split file
replaced after it was read (a resumed job doing a split again) makes the pass run again from the files.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import logging
import shutil
import time
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from migrator.backends.base import backend_for
from migrator.config import LoadedConfig, MigratorConfig, ValidationSettings
from migrator.differences import Abandoned, DifferenceFollower, read_split, split_files
from migrator.errors import ConfigError
from migrator.files import atomic_file, make_folder, probe_folder, write_atomically
from migrator.reconcile.checkpoints import config_hash
from migrator.reconcile.decisions import DECISIONS
from migrator.reconcile.pack import PackWriter
from migrator.reconcile.preflight import settings_of, strategy_problems
from migrator.reconcile.render import EntryList, Rendering, SplitRenderer, TableDiff, copy_fragments, rendered_counts
from migrator.reconcile.resolutions import Resolutions

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

log = logging.getLogger("migrator.reconcile")

EXACT = {"compareTimestamps": False, "ttlToleranceMillis": 0, "writetimeToleranceMillis": 0, "failuresToFetch": 100,
         "floatingPointTolerance": 0.0, "timestampMsTolerance": 0}


@dataclass
class DiffResult:
    """What ``diff`` found, and where it wrote it."""

    output: Path
    tables: dict[str, TableDiff]
    seconds: float
    voided: int = 0  # recorded decisions found void because a row changed since
    pack: Path | None = None  # the pack's folder
    folders: dict[str, Path] = field(default_factory=dict)  # many tables: each table's output folder

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
    from migrator.reconcile.many import diff_tables, table_runs
    from migrator.validate import validate

    runs = table_runs(loaded)
    if runs is not None:
        return diff_tables(loaded, runs, spark)
    config = loaded.model
    diff_preflight(config)
    settings = settings_of(config)
    output = Path(settings.output)
    probe_folder(output)  # a folder that cannot take the outputs is refused before the comparison (exit 3)
    differences = output / "differences"
    if config.migrator_state is None and differences.exists():
        shutil.rmtree(differences)  # a fresh diff: never mix in an older run's files
    comparing = LoadedConfig(config.model_copy(update={"validation": comparison_settings(config)}), loaded.raw,
                             loaded.source)
    started = time.monotonic()
    follower = DifferenceFollower(differences)
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="diff-outputs") as pool:
        # the outputs are written from each split's file as it is published, while the job runs
        outputs = pool.submit(write_outputs, loaded, splits=follower.splits(), started=started)
        try:
            validate(comparing, spark, differences=differences, digests=True,
                     written_attribute=settings.updated_at_attribute, command="diff",
                     companion=rendering_of(config))
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


def write_outputs(loaded: LoadedConfig, *, splits: Iterable[Path] | None = None,
                  started: float | None = None) -> DiffResult:
    """From the differences (``splits``' records files, else the folder's) and today's decisions: every output.

    That is conflicts.json, the pack and the summary. ``started``: when the diff began
    (``time.monotonic()``), for the summary's duration.
    """
    config = loaded.model
    settings = settings_of(config)
    output = Path(settings.output)
    rendering = rendering_of(config)
    pack = PackWriter(output, rendering.fmt, table=rendering.table, dev=table_name(config.source),
                      allow_deletes=settings.allow_deletes, config_hash=config_hash(loaded.raw))
    found = splits if splits is not None else split_files(output / "differences")
    result = summarize(found, output, rendering, pack)
    result.seconds = time.monotonic() - started if started is not None else 0.0
    write_summary(result, dev=pack.dev, prod=rendering.table)
    return result


def rendering_of(config: MigratorConfig) -> Rendering:
    """What the config's outputs are rendered for (shipped to the executors too)."""
    settings = settings_of(config)
    table = table_name(config.target)
    return Rendering(table, settings.strategy_for(table), settings.allow_deletes, backend_for(config).changes(config))


def summarize(splits: Iterable[Path], output: Path, rendering: Rendering, pack: PackWriter) -> DiffResult:
    """Split by split: append its rendered fragments, or render its differences here (see ``render``)."""
    resolutions = Resolutions(output / "resolutions.json")
    decided_by_hand = bool(resolutions.entries)  # the executors rendered without them: render here
    tally = TableDiff(rendering.table, rendering.strategy)
    make_folder(output)
    rendered = 0
    try:
        with atomic_file(output / "conflicts.json") as handle:
            handle.write('{"conflicts": [')
            entries = EntryList(handle)
            renderer = SplitRenderer(rendering, entries, pack.handle, pack.deletes, tally, resolutions)
            for records in splits:
                counts = None if decided_by_hand else rendered_counts(records, rendering.signature)
                if counts is not None:
                    copy_fragments(records, entries, pack.handle, pack.deletes)
                    tally.add(counts)
                    rendered += 1
                else:
                    for example in read_split(records):
                        renderer.add(example)
            handle.write("\n]}\n")
    except BaseException:
        pack.discard()
        raise
    pack.close(tally)
    log.debug("diff outputs: %d split(s) appended as the executors rendered them", rendered)
    return DiffResult(output, {rendering.table: tally}, 0.0, voided=resolutions.voided, pack=pack.folder)


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
    if result.folders:
        lines.append(f"  written to {result.output}: summary.json, summary.txt, and a folder per table "
                     f"({', '.join(str(f) for f in result.folders.values())}) holding its conflicts.json, "
                     f"differences/ and pack/ (review them, then: migrator apply --config <config> --pack "
                     f"{result.output})")
        return "\n".join(lines)
    lines.append(f"  written to {result.output}: summary.json, summary.txt, conflicts.json, differences/"
                 + f", pack/ (review it, then: migrator apply --config <config> --pack {result.pack})")
    return "\n".join(lines)
