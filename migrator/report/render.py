"""Write a ``ValidationReport`` as ``report.json``, ``report.txt`` and ``report.html``, atomically.

``render_json`` gives the machine-readable form with a stable top-level key order, ``counts`` first
(exactly ``sourceRows``, ``targetRows``, ``missing``, ``extra``, ``differing``); keys the model adds
later follow ``JSON_ORDER`` in their own order. Anything not JSON-safe becomes ``str()``.

``write_report`` writes each file to a temp file in the same directory, fsyncs it and renames it
over the final name, so a reader (or a crash) never sees a partial report; a failure removes the
temp file and propagates.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from migrator.files import fsync_directory, make_folder, write_atomically
from migrator.report.console import console_summary
from migrator.report.model import ValidationReport
from migrator.report.page import render_html
from migrator.report.text import render_text
from migrator.report.view import json_safe

__all__ = ["JSON_ORDER", "console_summary", "render_html", "render_json", "render_text", "write_report"]

COUNT_KEYS = ("sourceRows", "targetRows", "missing", "extra", "differing")
JSON_ORDER = (
    "counts",
    "equal",
    "source",
    "target",
    "ranges_total",
    "ranges_done",
    "columns",
    "examples",
    "ranges",
    "rechecked",
    "resolved_on_recheck",
    "repaired",
    "settings",
    "seconds",
)
FILE_NAMES = {"json": "report.json", "txt": "report.txt", "html": "report.html"}


def report_json(report: ValidationReport) -> dict[str, Any]:
    """``report.to_json()`` in ``JSON_ORDER``, JSON-safe."""
    data = report.to_json()
    data["counts"] = {key: getattr(report.counts, key) for key in COUNT_KEYS}
    ordered = {key: data[key] for key in JSON_ORDER if key in data}
    ordered.update((key, value) for key, value in data.items() if key not in ordered)
    safe: dict[str, Any] = json_safe(ordered)
    return safe


def render_json(report: ValidationReport) -> str:
    """The JSON report text, indented by two, ending with a newline (ASCII: json's default escapes)."""
    return json.dumps(report_json(report), indent=2, sort_keys=False) + "\n"


def write_report(report: ValidationReport, directory: str | Path) -> dict[str, Path]:
    """Create ``directory`` and write the three reports into it; returns their paths by format."""
    return write_texts({"json": render_json(report), "txt": render_text(report), "html": render_html(report)},
                       directory)


def write_texts(texts: dict[str, str], directory: str | Path) -> dict[str, Path]:
    """Create ``directory`` and write each format's text under its ``FILE_NAMES`` name, atomically."""
    target = Path(directory)
    make_folder(target)
    paths = {fmt: target / FILE_NAMES[fmt] for fmt in texts}
    for fmt, text in texts.items():
        write_atomically(paths[fmt], text, sync_directory=False)
    fsync_directory(target)
    return paths
