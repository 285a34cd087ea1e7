"""The HTML page: self-contained, escaped, and a ring picture with one bar group per validated range."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

import pytest

from migrator.planning.tokens import MURMUR3
from migrator.report.model import RangeResult, ValidationReport
from migrator.report.render import render_html
from migrator.report.ring import AXES, render_ring_svg

from .reports import REPORTS, differences_report, equal_report, partial_report


def svg_of(page: str) -> ET.Element:
    match = re.search(r"<svg .*?</svg>", page, re.DOTALL)
    assert match is not None
    return ET.fromstring(match.group(0))  # the SVG part is well-formed XML


def groups(svg: ET.Element) -> list[ET.Element]:
    return svg.findall("g[@class='range']")


def rects(group: ET.Element) -> list[dict[str, str]]:
    return [dict(r.attrib) for r in group.findall("rect")]


@pytest.mark.parametrize("name", sorted(REPORTS))
def test_page_is_self_contained(name: str) -> None:
    page = render_html(REPORTS[name]())
    lowered = page.lower()
    for reference in ("http://", "https://", "<script", "src=", "href=", "url(", "@import", "<link"):
        assert reference not in lowered


def test_values_are_escaped() -> None:
    page = render_html(differences_report())
    assert "&quot;&lt;script&gt;alert(\\&quot;pwned\\&quot;)&lt;/script&gt;&quot;" in page
    assert "<script" not in page
    assert "Rue de l&#x27;\u00c9glise" in page


def test_only_values_are_not_ascii() -> None:
    page = render_html(differences_report())
    assert {c for c in page if not c.isascii()} == {"\u00eb", "\U0001f680", "\u00c9"}


def test_one_bar_group_per_validated_range() -> None:
    for report in (equal_report(), differences_report(), partial_report()):
        found = groups(svg_of(render_html(report)))
        assert sorted(int(g.attrib["data-index"]) for g in found) == [r.index for r in report.ranges]


def test_partial_report_bars() -> None:
    svg = svg_of(render_html(partial_report()))
    by_index = {int(g.attrib["data-index"]): g for g in groups(svg)}
    assert list(by_index) == [0, 12, 7]  # equal ranges first, differences drawn over them
    # ring (-2**63, 2**63-1] over x 60..980; range 7 of 16 is (-2**60 - 1, -1]: x 462.5..520, minus gaps of 0.5
    assert rects(by_index[7]) == [
        {"class": "differing", "x": "463.00", "y": "68.00", "width": "56.50", "height": "162.00"}
    ]
    assert rects(by_index[0]) == [{"class": "eq", "x": "60.50", "y": "227.00", "width": "56.50", "height": "3.00"}]
    title = by_index[7].find("title")
    assert title is not None
    assert title.text == (
        "range 7: (-1152921504606846977, -1]: 0 missing, 0 extra, 1 differing; 100 source rows, 100 target rows"
    )


def test_kinds_are_stacked_in_legend_order() -> None:
    svg = svg_of(render_html(differences_report()))
    by_index = {int(g.attrib["data-index"]): g for g in groups(svg)}
    # the tallest range holds 2 differences: 162 units for 2, 81 each
    assert [(r["class"], r["y"], r["height"]) for r in rects(by_index[5])] == [
        ("missing", "149.00", "81.00"),
        ("extra", "68.00", "81.00"),
    ]
    assert [r["class"] for r in rects(by_index[3])] == ["eq"]


def test_axis_labels_show_min_mid_max_token() -> None:
    labels = [t.text for t in svg_of(render_html(equal_report())).findall("text")]
    assert str(MURMUR3.min_token) in labels
    assert "0" in labels
    assert str(MURMUR3.max_token) in labels
    assert "token (Murmur3Partitioner ring)" in labels


def test_no_range_yet() -> None:
    svg = ET.fromstring(render_ring_svg([]))
    assert groups(svg) == []
    assert "no range validated yet" in [t.text for t in svg.findall("text")]


def test_random_partitioner_ring() -> None:
    svg = ET.fromstring(render_ring_svg([RangeResult(0, -1, 2**126, extra=1)]))
    labels = [t.text for t in svg.findall("text")]
    assert ["-1", str(2**126), str(2**127)] == [x for x in labels if x in ("-1", str(2**126), str(2**127))]
    assert "token (RandomPartitioner ring)" in labels
    assert rects(groups(svg)[0]) == [
        {"class": "extra", "x": "60.50", "y": "68.00", "width": "459.00", "height": "162.00"}
    ]


def test_scan_segments_are_the_axis_of_a_dynamodb_validation() -> None:
    svg = ET.fromstring(render_ring_svg([RangeResult(3, 3, 4, missing=1), RangeResult(0, 0, 1)], segments=8))
    labels = [t.text for t in svg.findall("text")]
    assert "scan segment" in labels and "0" in labels and "8" in labels
    found = {int(g.attrib["data-index"]): g for g in groups(svg)}
    assert found[3].find("title").text.startswith("segment 3: 1 missing")
    assert rects(found[3])[0]["x"] == "405.50" and rects(found[3])[0]["width"] == "114.00"


def test_data_files_are_the_axis_of_an_export_validation() -> None:
    svg = ET.fromstring(render_ring_svg([RangeResult(1, 1, 2, extra=1)], segments=4, axis=AXES["file"]))
    assert "data file" in [t.text for t in svg.findall("text")]
    assert groups(svg)[0].find("title").text.startswith("file 1: 0 missing, 1 extra")


def test_wrapping_range_has_two_pieces() -> None:
    svg = ET.fromstring(render_ring_svg([RangeResult(0, 2**62, -(2**62), missing=1)]))
    assert [(r["x"], r["width"]) for r in rects(groups(svg)[0])] == [("750.50", "229.00"), ("60.50", "229.00")]


def test_narrow_ranges_stay_visible() -> None:
    narrow = [RangeResult(0, 0, 10), RangeResult(1, 10, 20, differing=1)]
    found = {int(g.attrib["data-index"]): rects(g)[0] for g in groups(ET.fromstring(render_ring_svg(narrow)))}
    assert (found[0]["x"], found[0]["width"]) == ("519.50", "1.00")
    assert (found[1]["x"], found[1]["width"]) == ("518.50", "3.00")


def test_tiny_counts_stay_visible_next_to_large_ones() -> None:
    ranges = [RangeResult(0, -(2**63), 0, missing=10_000), RangeResult(1, 0, 2**63 - 1, extra=1)]
    found = {int(g.attrib["data-index"]): rects(g)[0] for g in groups(ET.fromstring(render_ring_svg(ranges)))}
    assert found[1]["height"] == "6.00"


def test_page_sections_of_equal_report() -> None:
    page = render_html(equal_report())
    assert '<div class="verdict equal">EQUAL</div>' in page
    assert "<h2>Columns with unequal values</h2>\n<p>(none)</p>" in page
    assert "<h2>Examples</h2>\n<p>(none)</p>" in page


def test_report_without_anything() -> None:
    page = render_html(ValidationReport("s", "t", 0))
    assert "<p>(none recorded)</p>" in page
    assert '<div class="verdict equal">EQUAL</div>' in page
