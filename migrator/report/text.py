"""The plain-text report (``report.txt``): for reading in a terminal, a pager or a CI log.

Sections in order: header, counts, verdict and its notes, columns with unequal values, examples per
kind, settings. Deterministic and ASCII except for the values themselves (see ``view``).
"""

from __future__ import annotations

from collections.abc import Sequence

from migrator.report import view
from migrator.report.model import ValidationReport

INDENT = "  "
COLUMN_HEADERS = ("column", "unequal", "null vs value", "max difference")


def _heading(text: str) -> list[str]:
    return ["", text, "-" * len(text)]


def _table(headers: Sequence[str], rows: Sequence[Sequence[str]], right: frozenset[int]) -> list[str]:
    """Aligned columns; the indices in ``right`` are right-aligned (numbers)."""
    widths = [max(len(cell) for cell in column) for column in zip(headers, *rows, strict=False)]

    def line(cells: Sequence[str]) -> str:
        padded = (c.rjust(w) if i in right else c.ljust(w) for i, (c, w) in enumerate(zip(cells, widths, strict=True)))
        return (INDENT + "  ".join(padded)).rstrip()

    return [line(headers), line(["-" * w for w in widths]), *(line(r) for r in rows)]


def _pairs(pairs: Sequence[tuple[str, str]], *, right: bool) -> list[str]:
    """``label  value`` lines, labels padded to one width; values right-aligned when ``right``."""
    if not pairs:
        return []
    label_width = max(len(label) for label, _ in pairs)
    value_width = max(len(value) for _, value in pairs) if right else 0
    return [f"{INDENT}{label.ljust(label_width)}  {value.rjust(value_width)}".rstrip() for label, value in pairs]


def _examples(report: ValidationReport) -> list[str]:
    lines: list[str] = []
    for section in view.kind_views(report):
        lines += _heading(f"{section.title}: {section.shown}")
        for example in section.examples:
            lines.append(f"{INDENT}{example.key}  ({example.where})")
            if not example.fields:
                lines.append(f"{INDENT * 2}(row not available)")
            for field in example.fields:
                if len(field) == 2:
                    lines.append(f"{INDENT * 2}{field[0]}: {field[1]}")
                else:
                    lines.append(f"{INDENT * 2}{field[0]}: source={field[1]} target={field[2]}")
    return lines


def render_text(report: ValidationReport) -> str:
    """The whole text report, ending with a newline."""
    heading = view.title(report)
    lines = [heading, "=" * len(heading), ""]
    lines += [f"{label + ':':<10}{value}" for label, value in view.facts(report)]
    lines += _heading("Counts")
    lines += _pairs(view.counts(report), right=True)
    lines += ["", view.verdict(report), *view.notes(report)]
    columns = view.column_rows(report.columns)
    lines += _heading("Columns with unequal values")
    if columns:
        lines += _table(COLUMN_HEADERS, columns, right=frozenset({1, 2, 3}))
    else:
        lines.append(f"{INDENT}(none)")
    lines += _examples(report)
    lines += _heading("Settings")
    lines += _pairs(view.settings(report), right=False) or [f"{INDENT}(none recorded)"]
    return "\n".join(lines) + "\n"
