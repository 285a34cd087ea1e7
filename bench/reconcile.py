"""The reconcile phases both benches time on diverged tables: validate (diff's yardstick), diff, apply."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any


def changed_rows(rows: int, fraction: float) -> int:
    """How many rows (the first ones by number) a bench rewrites in production for ``--diverge``."""
    return max(1, round(rows * fraction))


def time_phases(spark: Any, loaded: Any, output: Path, changed: int, timed: Callable[[str], Any],
                same_rows: Callable[[int], Any] | None = None, rounds: int = 1,
                rediverge: Callable[[], None] | None = None) -> None:
    """With ``changed`` rows of production in conflict: ``validate``, ``diff`` and ``apply`` of its pack, timed.

    ``rounds``: validate and diff alternate that many times (phases ``validate diverged #2``,
    ``diff #2``...); ``ratios`` takes each one's fastest round, so a slow spell of a shared machine
    does not decide the ratio. ``same_rows(n)``, when given (only some rows in conflict), makes a
    table of ``n`` rows and returns the config migrating it: that ``migrate`` is timed too, apply's
    yardstick for the same number of rows. ``rediverge()``, when given, rewrites production's
    conflicting rows as the diff saw them, so that apply and its yardstick alternate ``rounds``
    times too.
    """
    from migrator.migrate import migrate
    from migrator.reconcile.apply import apply
    from migrator.reconcile.diff import diff
    from migrator.validate import validate

    for n in range(1, rounds + 1):
        suffix = _round(n)
        with timed("validate diverged" + suffix):  # diff's yardstick: validate on the same (diverged) tables
            report = validate(loaded, spark)
        assert report.counts.differing == changed, report.counts
        with timed("diff" + suffix):
            found = diff(loaded, spark)
        assert next(iter(found.tables.values())).conflicts == changed, found.tables
    for n in range(1, (rounds if rediverge is not None else 1) + 1):
        suffix = _round(n)
        if n > 1 and rediverge is not None:
            rediverge()
        with timed("apply" + suffix):
            applied = apply(loaded, output / "pack")
        if applied.skipped or sum(c.get("applied", 0) for c in applied.outcomes.values()) != changed:
            skipped = (output / "apply" / "skipped.jsonl").read_text().splitlines()
            raise AssertionError(f"apply: {applied.outcomes}, expected {changed} applied; skipped: {skipped[:3]}")
        if same_rows is not None:
            small = same_rows(changed)
            with timed("migrate (same rows)" + suffix):
                assert migrate(small, spark).rows == changed


def _round(n: int) -> str:
    """A phase's name suffix in round ``n`` (none in the first)."""
    return f" #{n}" if n > 1 else ""


def phase_rows(name: str, rows: int, changed: int) -> int:
    """How many rows a phase handled: apply and its yardstick write the changed rows only."""
    return changed if name.split(" #")[0] in ("apply", "migrate (same rows)") else rows


def ratios(results: dict[str, Any], rows: int, changed: int) -> str:
    """The RESULT line's reconcile part: diff's rows/s over validate's (same tables), apply's over migrate's."""
    apply_s = fastest(results, "apply")
    apply_rate, migrate_rate = changed / apply_s, rows / results["migrate"].seconds
    same = "migrate (same rows)" in results
    return (f" diff_vs_validate={fastest(results, 'validate diverged') / fastest(results, 'diff'):.2f}"
            f" apply_vs_migrate={apply_rate / migrate_rate:.2f}"
            + (f" apply_vs_migrate_same_rows={fastest(results, 'migrate (same rows)') / apply_s:.2f}" if same else "")
            + f" conflicts={changed}")


def fastest(results: dict[str, Any], phase: str) -> float:
    """The seconds of a phase's fastest round."""
    return min(p.seconds for name, p in results.items() if name == phase or name.startswith(phase + " #"))
