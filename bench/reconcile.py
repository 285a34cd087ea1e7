"""The reconcile phases both benches time on diverged tables: validate (diff's yardstick), diff, apply."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any


def changed_rows(rows: int, fraction: float) -> int:
    """How many rows (the first ones by number) a bench rewrites in production for ``--diverge``."""
    return max(1, round(rows * fraction))


def time_phases(spark: Any, loaded: Any, output: Path, changed: int, timed: Callable[[str], Any]) -> None:
    """With ``changed`` rows of production in conflict: ``validate``, ``diff`` and ``apply`` of its pack, timed."""
    from migrator.reconcile.apply import apply
    from migrator.reconcile.diff import diff
    from migrator.validate import validate

    with timed("validate diverged"):  # the yardstick of diff: validate on the same (diverged) tables
        report = validate(loaded, spark)
    assert report.counts.differing == changed, report.counts
    with timed("diff"):
        found = diff(loaded, spark)
    assert next(iter(found.tables.values())).conflicts == changed, found.tables
    with timed("apply"):
        applied = apply(loaded, output / "pack")
    assert applied.skipped == 0 and sum(c.get("applied", 0) for c in applied.outcomes.values()) == changed


def ratios(results: dict[str, Any], rows: int, changed: int) -> str:
    """The RESULT line's reconcile part: diff's rows/s over validate's (same tables), apply's over migrate's."""
    apply_rate, migrate_rate = changed / results["apply"].seconds, rows / results["migrate"].seconds
    return (f" diff_vs_validate={results['validate diverged'].seconds / results['diff'].seconds:.2f}"
            f" apply_vs_migrate={apply_rate / migrate_rate:.2f} conflicts={changed}")
