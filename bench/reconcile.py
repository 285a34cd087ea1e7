"""The reconcile phases both benches time on diverged tables: validate (diff's yardstick), diff, apply."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any


def changed_rows(rows: int, fraction: float) -> int:
    """How many rows (the first ones by number) a bench rewrites in production for ``--diverge``."""
    return max(1, round(rows * fraction))


def time_phases(spark: Any, loaded: Any, output: Path, changed: int, timed: Callable[[str], Any],
                same_rows: Callable[[int], Any] | None = None) -> None:
    """With ``changed`` rows of production in conflict: ``validate``, ``diff`` and ``apply`` of its pack, timed.

    ``same_rows(n)``, when given (only some rows in conflict), makes a table of ``n`` rows and returns
    the config migrating it: that ``migrate`` is timed too, apply's yardstick for the same number of rows.
    """
    from migrator.migrate import migrate
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
    if applied.skipped or sum(c.get("applied", 0) for c in applied.outcomes.values()) != changed:
        skipped = (output / "apply" / "skipped.jsonl").read_text().splitlines()
        raise AssertionError(f"apply: {applied.outcomes}, expected {changed} applied; skipped: {skipped[:3]}")
    if same_rows is not None:
        small = same_rows(changed)
        with timed("migrate (same rows)"):
            assert migrate(small, spark).rows == changed


def phase_rows(name: str, rows: int, changed: int) -> int:
    """How many rows a phase handled: apply and its yardstick write the changed rows only."""
    return changed if name in ("apply", "migrate (same rows)") else rows


def ratios(results: dict[str, Any], rows: int, changed: int) -> str:
    """The RESULT line's reconcile part: diff's rows/s over validate's (same tables), apply's over migrate's."""
    apply_rate, migrate_rate = changed / results["apply"].seconds, rows / results["migrate"].seconds
    same = results.get("migrate (same rows)")
    return (f" diff_vs_validate={results['validate diverged'].seconds / results['diff'].seconds:.2f}"
            f" apply_vs_migrate={apply_rate / migrate_rate:.2f}"
            + (f" apply_vs_migrate_same_rows={same.seconds / results['apply'].seconds:.2f}" if same else "")
            + f" conflicts={changed}")
