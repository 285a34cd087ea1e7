"""The reconcile phases both benches time on diverged tables: validate (diff's yardstick), diff, apply."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any


def time_phases(spark: Any, loaded: Any, output: Path, rows: int, timed: Callable[[str], Any]) -> None:
    """With every row of the tables in conflict: ``validate``, ``diff`` and ``apply`` of its pack, each timed."""
    from migrator.reconcile.apply import apply
    from migrator.reconcile.diff import diff
    from migrator.validate import validate

    with timed("validate diverged"):  # the yardstick of diff: validate on the same (diverged) tables
        report = validate(loaded, spark)
    assert report.counts.differing == rows, report.counts
    with timed("diff"):
        found = diff(loaded, spark)
    assert next(iter(found.tables.values())).conflicts == rows, found.tables
    with timed("apply"):
        applied = apply(loaded, output / "pack")
    assert applied.skipped == 0 and sum(c.get("applied", 0) for c in applied.outcomes.values()) == rows


def ratios(results: dict[str, Any]) -> str:
    """The RESULT line's reconcile part: diff's rows/s over validate's, apply's over migrate's."""
    return (f" diff_vs_validate={results['validate diverged'].seconds / results['diff'].seconds:.2f}"
            f" apply_vs_migrate={results['migrate'].seconds / results['apply'].seconds:.2f}")
