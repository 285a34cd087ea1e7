"""Golden snapshots of every rendering of the hand-built reports.

After an intended change of the output, regenerate with ``UPDATE_GOLDEN=1 pytest tests/unit/report``
and review the diff of ``tests/unit/report/golden/`` like code.
"""

from __future__ import annotations

import io
import os
from pathlib import Path

import pytest
from rich.console import Console

from migrator.report.render import console_summary, write_report

from .reports import REPORTS

GOLDEN = Path(__file__).parent / "golden"
UPDATE = os.environ.get("UPDATE_GOLDEN") == "1"
FILES = ("report.json", "report.txt", "report.html")


def check_golden(path: Path, actual: str) -> None:
    if UPDATE:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(actual.encode("utf-8"))  # regenerated: the comparison below then holds
    assert path.exists(), f"no golden file {path}; run UPDATE_GOLDEN=1 pytest {Path(__file__).parent}"
    assert actual == path.read_bytes().decode("utf-8")


def console_text(name: str) -> str:
    console = Console(file=io.StringIO(), width=100, color_system=None, force_terminal=False)
    console.print(console_summary(REPORTS[name]()))
    text = console.file.getvalue()  # type: ignore[attr-defined]
    return "".join(line.rstrip() + "\n" for line in text.splitlines())  # rich pads lines with spaces


@pytest.mark.parametrize("file_name", FILES)
@pytest.mark.parametrize("name", sorted(REPORTS))
def test_written_reports_match_golden(tmp_path: Path, name: str, file_name: str) -> None:
    paths = write_report(REPORTS[name](), tmp_path / "out")
    assert {p.name for p in paths.values()} == set(FILES)
    check_golden(GOLDEN / name / file_name, (tmp_path / "out" / file_name).read_bytes().decode("utf-8"))


@pytest.mark.parametrize("name", sorted(REPORTS))
def test_console_summary_matches_golden(name: str) -> None:
    check_golden(GOLDEN / name / "console.txt", console_text(name))
