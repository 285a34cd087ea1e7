"""console_summary: plain text when not a terminal, no markup injection, at most ten columns."""

from __future__ import annotations

import io

from rich.console import Console

from migrator.report.console import console_summary
from migrator.report.model import ColumnStats, Counts, ValidationReport


def plain(report: ValidationReport, width: int = 100) -> str:
    console = Console(file=io.StringIO(), width=width, color_system=None, force_terminal=False)
    console.print(console_summary(report))
    text = console.file.getvalue()  # type: ignore[attr-defined]
    return "\n".join(line.rstrip() for line in text.splitlines())


def test_names_are_not_markup() -> None:
    report = ValidationReport(
        "ks.t[dc1]",
        "ks.t [bold]x[/bold]",
        1,
        counts=Counts(differing=1),
        columns={"[red]c[/red]": ColumnStats(unequal=1)},
    )
    text = plain(report)
    assert text.splitlines()[0] == "Validation of ks.t[dc1] -> ks.t [bold]x[/bold]"
    assert text.splitlines()[-1] == "  [red]c[/red]         1               0                -"


def test_top_ten_columns_and_how_many_more() -> None:
    columns = {f"c{i:02d}": ColumnStats(unequal=i) for i in range(1, 13)}
    columns["same"] = ColumnStats()
    text = plain(ValidationReport("s", "t", 1, counts=Counts(differing=12), columns=columns))
    shown = [line.split()[0] for line in text.splitlines() if line.startswith("  c") and "unequal" not in line]
    assert shown == [f"c{i:02d}" for i in range(12, 2, -1)]
    assert text.splitlines()[-1].strip() == "and 2 more columns with unequal values (see the report)"


def test_equal_report_has_no_column_table() -> None:
    text = plain(ValidationReport("s", "t", 2, 2, Counts(5, 5)))
    assert text.splitlines() == [
        "Validation of s -> t",
        "  ranges                   2 of 2 done",
        "  duration                     0:00:00",
        "  source rows                        5",
        "  target rows                        5",
        "  missing (source only)              0",
        "  extra (target only)                0",
        "  differing                          0",
        "EQUAL",
    ]
