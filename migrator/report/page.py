"""The HTML report (``report.html``): one self-contained page, the text report's content in tables.

Inline CSS, an inline SVG of the token ring (``ring``), no script and no external resource: it opens
from a CI artifact or a mail attachment as it is. Every value and name is escaped with
``html.escape``; all markup is ASCII, only names and values may not be (UTF-8, declared in the page).
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

from migrator.report import view
from migrator.report.model import ValidationReport
from migrator.report.ring import AXES, render_ring_svg
from migrator.report.text import COLUMN_HEADERS

CSS = """
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#222;margin:24px auto;
max-width:1100px;padding:0 16px}
h1{font-size:22px;margin:0 0 12px}h2{font-size:17px;margin:28px 0 8px;border-bottom:1px solid #ddd}
h3{font-size:15px;margin:18px 0 6px}
table{border-collapse:collapse;margin:4px 0 8px}
th,td{border:1px solid #ddd;padding:3px 10px;text-align:left;vertical-align:top}
th{background:#f4f4f4;font-weight:600}
td.num{text-align:right;font-variant-numeric:tabular-nums}
table.facts th{background:none;border:none;padding-left:0}table.facts td{border:none}
code{font:13px/1.35 ui-monospace,Menlo,Consolas,monospace;white-space:pre-wrap;overflow-wrap:anywhere}
.verdict{font-size:18px;font-weight:700;padding:8px 12px;border-radius:4px;display:inline-block;margin:12px 0 4px}
.equal{background:#e3f4e6;color:#1b5e20}.differences{background:#fdecea;color:#b71c1c}
.note{margin:4px 0;color:#444}.key{font-weight:600}.where{color:#777;font-size:12px}
table.examples{width:100%}table.examples tr.first td{border-top:2px solid #bbb}td.example{width:20%}
code.name{white-space:nowrap}
.ring{max-width:1000px;border:1px solid #eee}
"""


def _row(cells: Sequence[str], *, header: bool = False, numeric: frozenset[int] = frozenset()) -> str:
    tag = "th" if header else "td"
    out = ((f'<{tag} class="num">' if i in numeric else f"<{tag}>") + f"{c}</{tag}>" for i, c in enumerate(cells))
    return "<tr>" + "".join(out) + "</tr>"


def table(headers: Sequence[str], rows: Sequence[Sequence[str]], numeric: frozenset[int], css: str = "") -> list[str]:
    """A table of already escaped cells (``numeric``: the right-aligned columns)."""
    opening = f'<table class="{css}">' if css else "<table>"
    head = [_row(headers, header=True)] if headers else []
    return [opening, *head, *(_row(r, numeric=numeric) for r in rows), "</table>"]


def _code(text: str) -> str:
    return f"<code>{escape(text)}</code>"


def _examples(report: ValidationReport) -> list[str]:
    parts: list[str] = []
    for section in view.kind_views(report):
        parts.append(f"<h3>{escape(section.title)}: {escape(section.shown)}</h3>")
        three = any(len(f) == 3 for e in section.examples for f in e.fields)
        headers = ["key", "column", "source", "target"] if three else ["key", "column", "value"]
        parts += ['<table class="examples">', _row(headers, header=True)]
        for example in section.examples:
            fields = example.fields or [("(row not available)",)]
            key = (
                f'<td class="example" rowspan="{len(fields)}"><span class="key">{_code(example.key)}</span><br>'
                f'<span class="where">{escape(example.where)}</span></td>'
            )
            for i, field in enumerate(fields):
                cells = [f'<code class="name">{escape(field[0])}</code>', *(_code(v) for v in field[1:])]
                cells += [""] * (len(headers) - 1 - len(cells))
                opening = '<tr class="first">' + key if i == 0 else "<tr>"
                parts.append(opening + "".join(f"<td>{c}</td>" for c in cells) + "</tr>")
        parts.append("</table>")
    return parts or ["<p>(none)</p>"]


def render_html(report: ValidationReport) -> str:
    """The whole HTML page."""
    return page(view.title(report), sections(report))


def page(title: str, body: Sequence[str]) -> str:
    """A self-contained page around ``body`` (markup already escaped)."""
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en">',
        '<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{escape(title)}</title>",
        f"<style>{CSS}</style>",
        "</head>",
        "<body>",
        *body,
        "</body>",
        "</html>",
    ]
    return "\n".join(parts) + "\n"


def sections(report: ValidationReport) -> list[str]:
    """One report's content: title, facts, verdict, counts, ring, columns, examples, settings."""
    title = escape(view.title(report))
    verdict_css = "equal" if report.equal else "differences"
    columns = [[escape(c) for c in row] for row in view.column_rows(report.columns)]
    settings = [[escape(name), _code(value)] for name, value in view.settings(report)]
    axis = AXES.get(report.split_unit)  # None: the token ring
    return [
        f"<h1>{title}</h1>",
        *table([], [[escape(k), escape(v)] for k, v in view.facts(report)], frozenset(), css="facts"),
        f'<div class="verdict {verdict_css}">{escape(view.verdict(report))}</div>',
        *(f'<p class="note">{escape(note)}</p>' for note in view.notes(report)),
        "<h2>Counts</h2>",
        *table(["", "rows"], [[escape(k), escape(v)] for k, v in view.counts(report)], frozenset({1})),
        f"<h2>Differences per {axis}</h2>" if axis else "<h2>Differences along the token ring</h2>",
        render_ring_svg(report.ranges, segments=report.ranges_total, axis=axis) if axis
        else render_ring_svg(report.ranges),
        "<h2>Columns with unequal values</h2>",
        *(table(COLUMN_HEADERS, columns, frozenset({1, 2, 3})) if columns else ["<p>(none)</p>"]),
        "<h2>Examples</h2>",
        *_examples(report),
        "<h2>Settings</h2>",
        *(table(["setting", "value"], settings, frozenset()) if settings else ["<p>(none recorded)</p>"]),
    ]
