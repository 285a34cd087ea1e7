"""render_json / write_report: key order, counts, defensive values, atomic files."""

from __future__ import annotations

import datetime
import json
import os
import uuid
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from migrator import files
from migrator.report.model import DIFFERING, Example, ValidationReport, report_from_json
from migrator.report.render import JSON_ORDER, render_html, render_json, render_text, write_report

from .reports import SCRIPT, differences_report, equal_report, partial_report


def _strict_loads(text: str) -> Any:
    def reject(constant: str) -> None:
        raise ValueError(f"not JSON: {constant}")

    return json.loads(text, parse_constant=reject)


def test_json_top_level_order_and_counts() -> None:
    data = _strict_loads(render_json(differences_report()))
    assert list(data) == list(JSON_ORDER)
    assert list(data["counts"].items()) == [
        ("sourceRows", 10_000),
        ("targetRows", 9_998),
        ("missing", 3),
        ("extra", 1),
        ("differing", 2),
    ]
    assert data["equal"] is False
    assert data["columns"]["writetime(score)"] == {"unequal": 2, "max_difference": 1500.0, "null_vs_value": 0}
    assert data["repaired"] == {"deletedExtra": 1, "copiedMissing": 3, "copiedDiffering": 0}
    assert [r["index"] for r in data["ranges"]] == list(range(8))


def test_json_keeps_values_exactly() -> None:
    data = _strict_loads(render_json(differences_report()))
    assert data["examples"]["extra"][0]["target"]["name"] == SCRIPT
    assert data["examples"]["missing"][0]["source"]["name"] == "Zo\u00eb \U0001f680"
    assert data["examples"]["differing"][0]["source"]["address"]["geo"] == {"lat": 48.86, "lon": 2.35}
    assert data["examples"]["differing"][0]["token"] == -4611686018427387000
    assert render_json(differences_report()).isascii()


def test_json_equal_report() -> None:
    data = _strict_loads(render_json(equal_report()))
    assert data["equal"] is True
    assert data["counts"] == {"sourceRows": 1000, "targetRows": 1000, "missing": 0, "extra": 0, "differing": 0}
    assert data["examples"] == {"missing": [], "extra": [], "differing": []}


def test_json_makes_unexpected_values_strings() -> None:
    report = partial_report()
    odd = {
        "decimal": Decimal("1.10"),
        "blob": b"\x00\x01",
        "when": datetime.datetime(2024, 1, 2, 3, 4, 5),
        "id": uuid.UUID(int=1),
        "nan": float("nan"),
        "inf": float("-inf"),
        "tuple_keys": {(1, 2): "t", 3: "n"},
        "frozen": (1, "a"),
    }
    report.examples[DIFFERING] = [Example(DIFFERING, {"k": 1}, odd, None, list(odd), 7, 0, -5)]
    source = _strict_loads(render_json(report))["examples"]["differing"][0]["source"]
    assert source == {
        "decimal": "1.10",
        "blob": "b'\\x00\\x01'",
        "when": "2024-01-02 03:04:05",
        "id": "00000000-0000-0000-0000-000000000001",
        "nan": "nan",
        "inf": "-inf",
        "tuple_keys": {"(1, 2)": "t", "3": "n"},
        "frozen": [1, "a"],
    }


class _GrownReport(ValidationReport):
    """A model that gained a field: it must follow the known keys, not vanish."""

    def to_json(self) -> dict[str, Any]:
        return {"partitioner": "Murmur3Partitioner", **super().to_json()}


def test_json_keys_unknown_to_the_order_come_last() -> None:
    base = equal_report()
    grown = _GrownReport(base.source, base.target, base.ranges_total, base.ranges_done, base.counts)
    assert list(_strict_loads(render_json(grown))) == [*JSON_ORDER, "partitioner"]


def test_write_report_writes_three_files(tmp_path: Path) -> None:
    report = differences_report()
    directory = tmp_path / "a" / "b"
    paths = write_report(report, str(directory))
    assert paths == {
        "json": directory / "report.json",
        "txt": directory / "report.txt",
        "html": directory / "report.html",
    }
    assert sorted(p.name for p in directory.iterdir()) == ["report.html", "report.json", "report.txt"]
    assert paths["json"].read_bytes() == render_json(report).encode("utf-8")
    assert paths["txt"].read_bytes() == render_text(report).encode("utf-8")
    assert paths["html"].read_bytes() == render_html(report).encode("utf-8")


def test_write_report_replaces_previous_reports(tmp_path: Path) -> None:
    write_report(differences_report(), tmp_path)
    write_report(equal_report(), tmp_path)
    assert (tmp_path / "report.txt").read_text(encoding="utf-8") == render_text(equal_report())
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report.html", "report.json", "report.txt"]


def test_write_report_failure_leaves_old_file_and_no_temp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write_report(equal_report(), tmp_path)
    before = (tmp_path / "report.json").read_bytes()

    def fail(src: object, dst: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(files.os, "replace", fail)
    with pytest.raises(files.WriteFailed, match=r"report\.json: No space left on device \(ENOSPC\)$"):
        write_report(differences_report(), tmp_path)
    assert (tmp_path / "report.json").read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report.html", "report.json", "report.txt"]


@pytest.mark.parametrize("umask", [0o022, 0o000])
def test_reports_are_owner_only_whatever_the_umask(tmp_path: Path, umask: int) -> None:
    old = os.umask(umask)
    try:
        paths = write_report(equal_report(), tmp_path / "new" / "reports")
    finally:
        os.umask(old)
    assert {p.stat().st_mode & 0o777 for p in paths.values()} == {0o600}
    assert [(tmp_path / d).stat().st_mode & 0o777 for d in ("new", "new/reports")] == [0o700, 0o700]


@pytest.mark.parametrize("make", [equal_report, differences_report, partial_report])
def test_report_json_reads_back_as_the_same_report(make: Any) -> None:
    report = make()
    assert report_from_json(_strict_loads(render_json(report))) == report
