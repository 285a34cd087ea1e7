"""The validation report of a many-table run: a total, one line per table, then each table's own report.

``TablesReport`` holds each table's ``ValidationReport`` (the same report a one-table run writes) and,
for a table that stopped on an error, why. The files: ``report.json`` (``counts`` and ``equal`` for
the whole run, then ``tables``, each with its name, target, failure and its own report's JSON),
``report.txt`` and ``report.html`` (a table of every table's counts with a total row, then each
table's report as a section). A one-table run writes the one-table files, unchanged.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from html import escape
from pathlib import Path
from typing import Any

from rich.console import Group
from rich.table import Table
from rich.text import Text

from migrator.report.model import Counts, ValidationReport
from migrator.report.page import page, sections, table
from migrator.report.render import COUNT_KEYS, report_json, write_texts
from migrator.report.text import render_text
from migrator.report.view import count, json_safe

HEADERS = ("table", "target", "source rows", "target rows", "missing", "extra", "differing", "verdict")


@dataclass(frozen=True)
class TableReport:
    """One table's part: its names, its report, and why it stopped if it did."""

    name: str
    target: str
    report: ValidationReport
    failure: str | None = None

    @property
    def verdict(self) -> str:
        """``FAILED``, ``EQUAL`` or ``DIFFERENT``."""
        return "FAILED" if self.failure else "EQUAL" if self.report.equal else "DIFFERENT"


@dataclass(frozen=True)
class TablesReport:
    """Every table's report, in the run's order."""

    tables: list[TableReport]

    @property
    def counts(self) -> Counts:
        """The counts of every table, summed."""
        total = Counts()
        for part in self.tables:
            for key in COUNT_KEYS:
                setattr(total, key, getattr(total, key) + getattr(part.report.counts, key))
        return total

    @property
    def equal(self) -> bool:
        """Every table compared to the end and equal."""
        return all(part.verdict == "EQUAL" for part in self.tables)

    @property
    def failed(self) -> list[TableReport]:
        """The tables that stopped on an error."""
        return [part for part in self.tables if part.failure]

    def rows(self) -> list[list[str]]:
        """One row per table and a total row: names, counts, verdict."""
        out = [[part.name, part.target, *(count(getattr(part.report.counts, k)) for k in COUNT_KEYS), part.verdict]
               for part in self.tables]
        total = self.counts
        out.append(["total", f"{len(self.tables)} tables", *(count(getattr(total, k)) for k in COUNT_KEYS),
                    "EQUAL" if self.equal else "DIFFERENT" if not self.failed else f"{len(self.failed)} FAILED"])
        return out


def render_tables_json(report: TablesReport) -> str:
    """``counts`` and ``equal`` of the run, then each table's entry with its own report."""
    data = {
        "counts": {key: getattr(report.counts, key) for key in COUNT_KEYS},
        "equal": report.equal,
        "tables": [{"name": part.name, "target": part.target, "verdict": part.verdict, "failure": part.failure,
                    "report": report_json(part.report)} for part in report.tables],
    }
    return json.dumps(json_safe(data), indent=2, sort_keys=False) + "\n"


def render_tables_text(report: TablesReport) -> str:
    """The overview table, then every table's text report."""
    heading = f"Validation of {len(report.tables)} tables"
    rows = report.rows()
    widths = [max(len(str(row[i])) for row in [list(HEADERS), *rows]) for i in range(len(HEADERS))]
    numeric = range(2, 7)

    def line(cells: list[str]) -> str:
        return "  " + "  ".join(c.rjust(w) if i in numeric else c.ljust(w)
                                for i, (c, w) in enumerate(zip(cells, widths, strict=True))).rstrip()

    lines = [heading, "=" * len(heading), "", line(list(HEADERS)), *(line(row) for row in rows)]
    lines += [f"  {part.name}: {part.failure}" for part in report.failed]
    text = "\n".join(lines) + "\n"
    for part in report.tables:
        text += "\n\n" + render_text(part.report)
    return text


def render_tables_html(report: TablesReport) -> str:
    """One page: the overview table, then every table's sections."""
    title = f"Validation of {len(report.tables)} tables"
    body = [f"<h1>{escape(title)}</h1>",
            *table(list(HEADERS), [[escape(c) for c in row] for row in report.rows()], frozenset(range(2, 7)))]
    body += [f'<p class="note">{escape(part.name)}: {escape(part.failure or "")}</p>' for part in report.failed]
    for part in report.tables:
        body += ["<hr>", *sections(part.report)]
    return page(title, body)


def write_tables_report(report: TablesReport, directory: str | Path) -> dict[str, Path]:
    """Create ``directory`` and write the three files into it; returns their paths by format."""
    return write_texts({"json": render_tables_json(report), "txt": render_tables_text(report),
                        "html": render_tables_html(report)}, directory)


def tables_console_summary(report: TablesReport) -> Group:
    """The overview table, coloured by verdict."""
    grid = Table(title=f"validation of {len(report.tables)} tables")
    for index, header in enumerate(HEADERS):
        grid.add_column(header, justify="right" if 2 <= index <= 6 else "left")
    for row in report.rows():
        grid.add_row(*row)
    style = "bold green" if report.equal else "bold red"
    verdict = "EQUAL" if report.equal else "DIFFERENCES FOUND" if not report.failed else "SOME TABLES FAILED"
    parts: list[Any] = [grid, Text(verdict, style=style)]
    parts += [Text(f"{part.name}: {part.failure}") for part in report.failed]
    return Group(*parts)
