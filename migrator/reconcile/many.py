"""Reconciling many tables in one run: each table's outputs in a folder of its own, and a summary of all.

With a many-table config (``migrator.config.tables``), ``reconcile.output`` holds one folder per table
(``folder_name`` of its source name), each exactly what a one-table reconcile writes there
(``summary``, ``conflicts.json``, ``differences/``, ``resolutions.json``, ``pack/``, ``checkpoints/``,
``schema_diff``), and at its top ``summary.json``/``summary.txt`` (every table and the totals) and
``schema_diff.json``/``schema_diff.txt``.

* ``diff`` compares every table in one Spark job (the validation job, a difference sink and renderer
  per table), then writes each table's outputs from its files.
* ``resolve-conflicts`` asks table after table; ``q`` ends the whole session; every table's outputs are
  rebuilt either way.
* ``apply --pack <reconcile.output>`` applies each table's pack in turn, each with its own checkpoints,
  and stops at the first table a signal interrupts.
* ``schema-diff`` and ``schema-migrate`` describe each table pair and write each table's files.

The tables are the config's at the moment the command runs (a table created since the diff has no
folder: ``apply`` refuses to run without its pack).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from migrator.backends.base import backend_for
from migrator.config import LoadedConfig
from migrator.differences import DifferenceSink
from migrator.files import make_folder, write_atomically
from migrator.tableset import TableJob, folder_name, plan_jobs

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

    from migrator.reconcile.apply import ApplyResult
    from migrator.reconcile.diff import DiffResult
    from migrator.reconcile.schema import Drift

TableRun = tuple[TableJob, LoadedConfig]


def table_runs(loaded: LoadedConfig) -> list[TableRun] | None:
    """None for a one-table config; else each table's config, its ``reconcile.output`` its own folder."""
    from migrator.reconcile.preflight import settings_of

    config = loaded.model
    if not config.many_tables:
        return None
    settings = settings_of(config)
    root = Path(settings.output)
    jobs, _ = plan_jobs(config, backend_for(config))
    runs = []
    for job in jobs:
        own = settings.model_copy(update={"output": str(root / folder_name(job.name))})
        model = job.config.model_copy(update={"reconcile": own, "apply_checkpoint": None})
        runs.append((job, LoadedConfig(model, loaded.raw, loaded.source)))
    return runs


def output_of(run: TableRun) -> Path:
    """The table's own output folder."""
    reconcile = run[1].model.reconcile
    assert reconcile is not None
    return Path(reconcile.output)


def diff_tables(loaded: LoadedConfig, runs: list[TableRun], spark: SparkSession) -> DiffResult:
    """Compare every table in one job, then write each table's outputs and the summary of all."""
    import shutil

    from migrator.files import probe_folder
    from migrator.reconcile.diff import DiffResult, comparison_settings, diff_preflight, rendering_of, write_outputs
    from migrator.reconcile.preflight import settings_of
    from migrator.validate import validate_all

    config = loaded.model
    diff_preflight(config)
    settings = settings_of(config)
    root = Path(settings.output)
    probe_folder(root)
    by_name = {run[0].name: run for run in runs}
    for run in runs:
        differences = output_of(run) / "differences"
        if config.migrator_state is None and differences.exists():
            shutil.rmtree(differences)  # a fresh diff: never mix in an older run's files

    def sink_for(job: TableJob) -> DifferenceSink | None:
        run = by_name.get(job.name)
        if run is None:  # a table that appeared between two listings: compared, its outputs next time
            return None
        return DifferenceSink(str((output_of(run) / "differences").resolve()), True, settings.updated_at_attribute,
                              rendering_of(run[1].model))

    comparing = LoadedConfig(config.model_copy(update={"validation": comparison_settings(config)}), loaded.raw,
                             loaded.source)
    started = time.monotonic()
    validate_all(comparing, spark, command="diff", sink_for=sink_for)
    result = DiffResult(root, {}, 0.0, pack=None)
    for run in runs:
        part = write_outputs(run[1], started=started)
        result.tables.update(part.tables)
        result.voided += part.voided
        result.folders[run[0].name] = output_of(run)
    result.seconds = time.monotonic() - started
    write_summary_of_all(result, len(runs))
    return result


def write_summary_of_all(result: DiffResult, count: int) -> None:
    """The top-level summary.json and summary.txt of a many-table diff."""
    from migrator.reconcile.diff import write_summary

    write_summary(result, dev=f"{count} tables", prod=f"{count} tables")


def resolve_tables(runs: list[TableRun], root: Path, *, auto: bool, resume: bool, ask: Callable[[str], str],
                   say: Callable[[str], None]) -> tuple[int, DiffResult]:
    """Each table's session in turn (``q`` ends them all); every table's outputs rebuilt; pending and result."""
    from migrator.reconcile.decisions import PENDING
    from migrator.reconcile.diff import DiffResult, write_outputs
    from migrator.reconcile.resolve import session

    quit_ = auto
    result = DiffResult(root, {}, 0.0, pack=None)
    for run in runs:
        if not quit_:
            say(f"\n== table {run[0].name} ==")
            quit_ = session(output_of(run), resume=resume, ask=ask, say=say)
        part = write_outputs(run[1])
        result.tables.update(part.tables)
        result.voided += part.voided
        result.folders[run[0].name] = output_of(run)
    write_summary_of_all(result, len(runs))
    pending = sum(t.decisions.get(PENDING, 0) for t in result.tables.values())
    return pending, result


def apply_tables(runs: list[TableRun], packs: Path, *, dry_run: bool, resume: bool) -> ApplyResult:
    """Each table's pack (``<packs>/<table folder>/pack``) in turn; stops at the first interrupted one."""
    from migrator.errors import ConfigError
    from migrator.reconcile.apply import ApplyResult, apply
    from migrator.reconcile.pack import MANIFEST

    missing = [run[0].name for run in runs if not (packs / folder_name(run[0].name) / "pack" / MANIFEST).is_file()]
    if missing:
        raise ConfigError([("--pack", f"{packs} holds no finished pack for {', '.join(missing)}\n    fix: pass the "
                                      "reconcile.output folder of the diff made with this config (each table's "
                                      "<table>/pack/ is applied), or run migrator diff again")])
    total = ApplyResult(packs, dry_run=dry_run)
    started = time.monotonic()
    for run in runs:
        part = apply(run[1], packs / folder_name(run[0].name) / "pack", dry_run=dry_run, resume=resume)
        total.outcomes.update(part.outcomes)
        if part.interrupted_by:
            total.interrupted_by = part.interrupted_by
            break
    total.seconds = time.monotonic() - started
    return total


def schema_diff_tables(runs: list[TableRun], root: Path) -> tuple[list[Drift], str]:
    """Each table's schema diff in its folder, and one file of all at the top; every drift and the text."""
    from migrator.errors import RuntimeFailure
    from migrator.reconcile.schema import Drift, run_schema_diff

    drifts: list[Drift] = []
    texts, parts = [], {}
    for run in runs:
        try:
            found, text = run_schema_diff(run[1])
        except RuntimeFailure as exc:  # a table production does not have yet: migrate creates it
            missing = Drift("table", run[0].target, f"{run[0].name} ({exc.message})", None)
            drifts.append(missing)
            texts.append(f"schema of dev {run[0].name}: {missing.text()}")
            parts[run[0].name] = {"drift": True, "differences": [{"section": "table", "name": run[0].target,
                                                                  "kind": missing.kind, "dev": run[0].name}]}
            continue
        drifts += found
        texts.append(text)
        parts[run[0].name] = json.loads((output_of(run) / "schema_diff.json").read_text(encoding="utf-8"))
    text = "\n".join(texts)
    make_folder(root)
    write_atomically(root / "schema_diff.json", json.dumps({"drift": bool(drifts), "tables": parts}, indent=2) + "\n")
    write_atomically(root / "schema_diff.txt", text + "\n")
    return drifts, text


def schema_migrate_tables(runs: list[TableRun]) -> list[tuple[Path, int]]:
    """Each table's migration file in its folder: paths and statement counts.

    A table production does not have is left to ``migrate``, which creates it (a warning says so).
    """
    import logging

    from migrator.errors import RuntimeFailure
    from migrator.reconcile.schema import run_schema_migrate

    out = []
    for run in runs:
        try:
            out.append(run_schema_migrate(run[1]))
        except RuntimeFailure as exc:
            logging.getLogger("migrator.reconcile").warning("table %s: %s; migrate creates a missing target table",
                                                            run[0].name, exc.message)
    return out
