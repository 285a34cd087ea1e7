"""A short summary for the console: counts, the verdict and the columns with the most differences.

Returns a rich renderable; rich degrades it to plain text (ASCII boxes where needed) when stdout is
not a terminal. Names and values are ``Text`` objects, never markup, so a ``[`` in a column or table
name is shown as it is.
"""

from __future__ import annotations

from rich import box
from rich.console import Group
from rich.table import Table
from rich.text import Text

from migrator.report import view
from migrator.report.model import ValidationReport

TOP_COLUMNS = 10


def _counts_table(report: ValidationReport) -> Table:
    table = Table(box=None, show_header=False, padding=(0, 2))
    table.add_column("what")
    table.add_column("value", justify="right")
    for label, value in [*view.facts(report)[2:], *view.counts(report)]:
        table.add_row(Text(label), Text(value))
    return table


def _columns_table(report: ValidationReport) -> Table:
    table = Table(title=Text("Columns with unequal values"), box=box.SIMPLE)
    table.add_column("column")
    for header in ("unequal", "null vs value", "max difference"):
        table.add_column(header, justify="right")
    for row in view.column_rows(report.columns, limit=TOP_COLUMNS):
        table.add_row(*(Text(cell) for cell in row))
    return table


def console_summary(report: ValidationReport) -> Group:
    """Title, counts and verdict; then up to ``TOP_COLUMNS`` columns with unequal values, if any."""
    style = "bold green" if report.equal else "bold red"
    parts: list[Table | Text] = [
        Text(view.title(report), style="bold"),
        _counts_table(report),
        Text(view.verdict(report), style=style),
    ]
    parts += [Text(note) for note in view.notes(report)]
    unequal = view.unequal_column_count(report.columns)
    if unequal:
        parts.append(_columns_table(report))
    if unequal > TOP_COLUMNS:  # not a table caption: that would wrap to the table's width
        parts.append(Text(f"and {unequal - TOP_COLUMNS:,} more columns with unequal values (see the report)"))
    return Group(*parts)
