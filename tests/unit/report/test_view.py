"""The strings every rendering shares: values, numbers, verdict, notes, column order, example sections."""

from __future__ import annotations

from typing import Any

import pytest

from migrator.report import view
from migrator.report.model import DIFFERING, EXTRA, MISSING, ColumnStats, Counts, Example, ValidationReport
from migrator.report.text import render_text

from .reports import LONG_BIO, differences_report, equal_report, partial_report


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        (None, "null"),
        (True, "true"),
        (42, "42"),
        (1.5, "1.5"),
        ("a", '"a"'),
        ("", '""'),
        ("null", '"null"'),
        ("two\nlines\t\r", '"two\\nlines\\t\\r"'),
        ("\x85\x7f", '"\\u0085\\u007f"'),
        ("Zo\u00eb", '"Zo\u00eb"'),
        ({"street": "Main", "tags": [1, 2], "geo": None}, '{"street": "Main", "tags": [1, 2], "geo": null}'),
        ([{"a": 1}, {"a": 2}], '[{"a": 1}, {"a": 2}]'),
        (float("nan"), '"nan"'),
        (b"\x01", "\"b'\\\\x01'\""),
    ],
)
def test_format_value(value: Any, shown: str) -> None:
    assert view.format_value(value) == shown


def test_long_values_are_cut() -> None:
    assert view.format_value("y" * 600) == '"' + "y" * 499 + "... (102 more characters)"


def test_long_differing_values_start_before_their_first_difference() -> None:
    source, target = view.format_pair(LONG_BIO, LONG_BIO + "!")
    # the JSON texts share 609 characters ('"' + 600 x + ' the end'); kept: the last 40 of them
    assert source == "(569 equal characters)..." + "x" * 32 + ' the end"'
    assert target == "(569 equal characters)..." + "x" * 32 + ' the end!"'


def test_short_differing_values_are_shown_whole() -> None:
    assert view.format_pair("x" * 100, "x" * 99 + "y") == ('"' + "x" * 100 + '"', '"' + "x" * 99 + 'y"')


@pytest.mark.parametrize(
    ("number", "shown"),
    [
        (None, "-"),
        (1500.0, "1,500"),
        (-2.0, "-2"),
        (3, "3"),
        (10**20, "100,000,000,000,000,000,000"),
        (0.25, "0.25"),
        (0.1 + 0.2, "0.30000000000000004"),
        (1e300, "1e+300"),
        (float("inf"), "inf"),
        (float("nan"), "nan"),
    ],
)
def test_format_number(number: float | None, shown: str) -> None:
    assert view.format_number(number) == shown


def test_verdicts() -> None:
    assert view.verdict(equal_report()) == "EQUAL"
    assert view.verdict(differences_report()) == "DIFFERENCES FOUND: 3 missing, 1 extra, 2 differing"
    big = ValidationReport("s", "t", 1, counts=Counts(missing=1_234_567))
    assert view.verdict(big) == "DIFFERENCES FOUND: 1,234,567 missing, 0 extra, 0 differing"


def test_notes() -> None:
    assert view.notes(differences_report()) == [
        "Rechecked 5 mismatching rows (the tables may be receiving writes); 2 were equal on recheck.",
        "Repairs: copiedMissing 3, deletedExtra 1",
    ]
    assert view.notes(partial_report()) == ["INCOMPLETE: 3 of 16 ranges validated; 13 not compared yet."]
    assert view.notes(ValidationReport("s", "t", 0)) == []
    assert view.notes(ValidationReport("s", "t", 0, from_totals=EXTRA)) == [
        "Extra rows are counted from the totals (target rows minus the rows found on both sides): one side "
        "cannot be looked up by key, so none of them is listed."
    ]
    assert view.notes(ValidationReport("s", "t", 0, from_totals=MISSING))[0].startswith(
        "Missing rows are counted from the totals (source rows minus")


def test_repairs_known_first_then_by_name() -> None:
    repaired = {"zeta": 1, "deletedExtra": 2, "alpha": 3, "copiedMissing": 0, "copiedDiffering": 4}
    assert view.repair_items(repaired) == [("copiedDiffering", 4), ("deletedExtra", 2), ("alpha", 3), ("zeta", 1)]


def test_columns_by_unequal_then_name_without_equal_ones() -> None:
    assert view.column_rows(differences_report().columns) == [
        ("writetime(score)", "2", "0", "1,500"),
        ("address", "1", "0", "-"),
        ("bio", "1", "0", "-"),
        ("name", "1", "0", "-"),
        ("score", "1", "0", "0.25"),
        ("ttl(score)", "1", "1", "-"),
    ]
    assert [row[0] for row in view.column_rows(differences_report().columns, limit=2)] == [
        "writetime(score)",
        "address",
    ]
    assert view.unequal_column_count(differences_report().columns) == 6


def test_example_sections() -> None:
    sections = list(view.kind_views(differences_report()))
    assert [(s.kind, s.shown) for s in sections] == [
        (MISSING, "showing 2 of 3"),
        (EXTRA, "showing 1 of 1"),
        (DIFFERING, "showing 2 of 2"),
    ]
    first = sections[2].examples[0]
    assert first.key == 'id=5, ck="c"'
    assert first.where == "range 2, token -4611686018427387000"
    assert first.fields[2] == ("score", "1.0", "1.25")


def test_absent_columns_and_missing_rows_and_unknown_kinds() -> None:
    report = ValidationReport("s", "t", 1, counts=Counts(differing=1))
    report.examples[DIFFERING] = [Example(DIFFERING, {"k": 1}, {"a": None}, {"b": 2}, ["a", "b"], 0, 0, 7)]
    report.examples[MISSING] = [Example(MISSING, {"k": 2}, None, None, [], 0, 1, 8)]
    report.examples["dangling"] = [Example("dangling", {"k": 3}, {"c": 1}, {"c": 2}, ["c"], 0, 2, 9)]
    sections = {s.kind: s for s in view.kind_views(report)}
    assert list(sections) == [MISSING, DIFFERING, "dangling"]
    assert sections[DIFFERING].examples[0].fields == [("a", "null", "(absent)"), ("b", "(absent)", "2")]
    assert sections[MISSING].examples[0].fields == []
    assert sections[MISSING].shown == "showing 1 of 1"  # never "1 of 0"
    assert sections["dangling"].title == "dangling rows"
    text = render_text(report)
    assert "  k=2  (range 0, token 8)\n    (row not available)\n" in text
    assert "    a: source=null target=(absent)\n" in text


def test_text_report_is_ascii_except_values() -> None:
    text = render_text(differences_report())
    assert {c for c in text if not c.isascii()} == {"\u00eb", "\U0001f680", "\u00c9"}


def test_text_lists_only_unequal_columns() -> None:
    report = ValidationReport("s", "t", 1, columns={"a": ColumnStats(), "b": ColumnStats(unequal=3, null_vs_value=3)})
    assert "  column  unequal  null vs value  max difference\n" in render_text(report)
    assert "\n  b             3              3               -\n" in render_text(report)
    assert "\n  a " not in render_text(report)
