"""An inline SVG picture of where along the token ring (or among the scan segments) the differences lie.

One ``<g class="range">`` per validated range (``report.ranges``; equal ones first, so that
differences are drawn on top), placed by its start and end on the ring and as wide as the range
(but at least ``MIN_BAR_WIDTH``, or ``MIN_DIFFERENCE_WIDTH`` with differences). Its height is
missing + extra + differing, the three stacked in distinct colours, scaled to the range with the
most. An equal range is a thin grey baseline, and a range not validated yet is left empty, so
coverage shows too. Each group has a ``<title>`` (a tooltip, no script needed). The SVG uses no
external resource and no namespace URL (inline in HTML5).

The ring is Murmur3's ``(-2**63, 2**63 - 1]`` unless a range lies beyond it (RandomPartitioner). For
a DynamoDB validation the axis is the scan segments instead (an S3 export's: its data files), ``0``
to their total, split ``s`` drawn over ``(s, s + 1]``.
Coordinates are rounded to two decimals, so the output is deterministic.
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

from migrator.planning.tokens import MURMUR3, RANDOM, Partitioner
from migrator.report.model import DIFFERING, EXTRA, KINDS, MISSING, RangeResult

WIDTH, HEIGHT = 1000, 280
PLOT_LEFT, PLOT_RIGHT, PLOT_TOP, PLOT_BOTTOM = 60, 980, 50, 230
PLOT_WIDTH, PLOT_HEIGHT = PLOT_RIGHT - PLOT_LEFT, PLOT_BOTTOM - PLOT_TOP
MIN_BAR_WIDTH = 1.0  # thousands of ranges: each stays visible (neighbours may overlap)
MIN_DIFFERENCE_WIDTH = 3.0  # a range with differences stays visible among thousands
MIN_SEGMENT_HEIGHT = 6.0  # one differing row among millions stays visible above the baseline
HEADROOM = 3 * MIN_SEGMENT_HEIGHT  # the tallest bar plus the minimum heights fits the plot
BASELINE_HEIGHT = 3.0
BAR_GAP = 0.5  # each side, so that neighbouring bars stay apart when wide enough
COLOURS = {MISSING: "#d55e00", EXTRA: "#0072b2", DIFFERING: "#e69f00"}  # Okabe-Ito: colour-blind safe
EQUAL_COLOUR = "#9e9e9e"
_RULES = {
    "text": "font:12px sans-serif;fill:#333",
    ".eq": f"fill:{EQUAL_COLOUR}",
    **{f".{kind}": f"fill:{colour}" for kind, colour in COLOURS.items()},
    ".frame": "fill:none;stroke:#ccc",
    ".axis": "stroke:#555",
    ".grid": "stroke:#ddd;stroke-dasharray:4 3",
}
SEGMENT_AXIS = "scan segment"
AXES = {"segment": SEGMENT_AXIS, "file": "data file"}  # a report's split unit -> its axis, when not the ring
STYLE = "".join(f".ring {selector}{{{rule}}}" for selector, rule in _RULES.items())  # scoped: inline in a page


def ring_for(ranges: Sequence[RangeResult]) -> Partitioner:
    """Murmur3 unless a range bound lies outside its ring."""
    inside = all(MURMUR3.min_token <= b <= MURMUR3.max_token for r in ranges for b in (r.start, r.end))
    return MURMUR3 if inside else RANDOM


def _n(x: float) -> str:
    return f"{x:.2f}"


def _x(token: int, ring: Partitioner) -> float:
    token = min(max(token, ring.min_token), ring.max_token)
    return PLOT_LEFT + PLOT_WIDTH * ((token - ring.min_token) / (ring.max_token - ring.min_token))


def _spans(r: RangeResult, ring: Partitioner, min_width: float) -> list[tuple[float, float]]:
    """Left edge and width of ``(start, end]`` (two for a range wrapping around the ring).

    Narrower than ``min_width``, a span is widened around its centre and kept inside the plot.
    """
    pieces = [(r.start, r.end)] if r.start < r.end else [(r.start, ring.max_token), (ring.min_token, r.end)]
    spans = []
    for start, end in pieces:
        x0, x1 = _x(start, ring), _x(end, ring)
        if x1 - x0 > min_width + 2 * BAR_GAP:
            x0, x1 = x0 + BAR_GAP, x1 - BAR_GAP
        elif x1 - x0 < min_width:
            x0 = (x0 + x1 - min_width) / 2
            x1 = x0 + min_width
        left = min(max(x0, PLOT_LEFT), PLOT_RIGHT - (x1 - x0))
        spans.append((left, x1 - x0))
    return spans


def _bar(r: RangeResult, ring: Partitioner, scale: float) -> list[str]:
    counts = {MISSING: r.missing, EXTRA: r.extra, DIFFERING: r.differing}
    where = f"{ring.name.split()[-1]} {r.start}" if _linear(ring) else f"range {r.index}: ({r.start}, {r.end}]"
    tip = (
        f"{where}: {r.missing:,} missing, {r.extra:,} extra, "
        f"{r.differing:,} differing; {r.source_rows:,} source rows, {r.target_rows:,} target rows"
    )
    parts = [f'<g class="range" data-index="{r.index}"><title>{escape(tip)}</title>']
    differs = any(counts.values())
    for x, width in _spans(r, ring, MIN_DIFFERENCE_WIDTH if differs else MIN_BAR_WIDTH):
        if not differs:
            y = PLOT_BOTTOM - BASELINE_HEIGHT
            parts.append(
                f'<rect class="eq" x="{_n(x)}" y="{_n(y)}" width="{_n(width)}" height="{_n(BASELINE_HEIGHT)}"/>'
            )
            continue
        top = float(PLOT_BOTTOM)
        for kind in KINDS:  # stacked bottom-up in legend order
            if counts[kind] > 0:
                height = max(counts[kind] * scale, MIN_SEGMENT_HEIGHT)
                top -= height
                parts.append(
                    f'<rect class="{kind}" x="{_n(x)}" y="{_n(top)}" width="{_n(width)}" height="{_n(height)}"/>'
                )
    parts.append("</g>")
    return ["".join(parts)]


def _legend() -> list[str]:
    items = [(MISSING, "missing"), (EXTRA, "extra"), (DIFFERING, "differing"), ("eq", "equal range")]
    parts, x = [], PLOT_LEFT
    for css, label in items:
        parts.append(f'<rect class="{css}" x="{x}" y="14" width="14" height="14"/>')
        parts.append(f'<text x="{x + 20}" y="26">{label}</text>')
        x += 40 + 8 * len(label)
    parts.append(f'<rect class="frame" x="{x}" y="14" width="14" height="14"/>')
    parts.append(f'<text x="{x + 20}" y="26">not validated (empty)</text>')
    return parts


def _axes(ring: Partitioner, max_total: int) -> list[str]:
    mid = (ring.min_token + ring.max_token + 1) // 2
    label_y = PLOT_BOTTOM + 18
    top = PLOT_TOP + HEADROOM  # where the tallest bar ends
    scale_marks = [
        f'<line class="grid" x1="{PLOT_LEFT}" y1="{top}" x2="{PLOT_RIGHT}" y2="{top}"/>',
        f'<text x="{PLOT_LEFT - 6}" y="{top + 4}" text-anchor="end">{max_total:,}</text>',
    ]
    return [
        f'<rect class="frame" x="{PLOT_LEFT}" y="{PLOT_TOP}" width="{PLOT_WIDTH}" height="{PLOT_HEIGHT}"/>',
        f'<line class="axis" x1="{PLOT_LEFT}" y1="{PLOT_BOTTOM}" x2="{PLOT_RIGHT}" y2="{PLOT_BOTTOM}"/>',
        f'<line class="axis" x1="{_n(_x(mid, ring))}" y1="{PLOT_BOTTOM}" x2="{_n(_x(mid, ring))}" '
        f'y2="{PLOT_BOTTOM + 5}"/>',
        f'<text x="{PLOT_LEFT}" y="{label_y}" text-anchor="start">{ring.min_token}</text>',
        f'<text x="{_n(_x(mid, ring))}" y="{label_y}" text-anchor="middle">{mid}</text>',
        f'<text x="{PLOT_RIGHT}" y="{label_y}" text-anchor="end">{ring.max_token}</text>',
        f'<text x="{(PLOT_LEFT + PLOT_RIGHT) // 2}" y="{label_y + 22}" text-anchor="middle">'
        + (f"{ring.name}</text>" if _linear(ring) else f"token ({escape(ring.short_name)} ring)</text>"),
        f'<text x="{PLOT_LEFT - 6}" y="{PLOT_BOTTOM + 4}" text-anchor="end">0</text>',
        *(scale_marks if max_total else []),
    ]


def _linear(ring: Partitioner) -> bool:
    """Whether the axis counts splits (scan segments, data files), not tokens."""
    return ring.name in AXES.values()


def render_ring_svg(ranges: Sequence[RangeResult], *, segments: int | None = None, axis: str = SEGMENT_AXIS) -> str:
    """The SVG element (one line per bar group), to be placed inline in an HTML page.

    ``segments``: the ranges are splits out of this total, named ``axis`` (the axis is then the splits).
    """
    ring = Partitioner(axis, 0, max(1, segments), "long") if segments is not None else ring_for(ranges)
    max_total = max((r.missing + r.extra + r.differing for r in ranges), default=0)
    scale = (PLOT_HEIGHT - HEADROOM) / max_total if max_total else 0.0
    lines = [
        f'<svg class="ring" viewBox="0 0 {WIDTH} {HEIGHT}" width="100%" role="img" '
        'aria-label="differences per token range along the ring">',
        f"<style>{STYLE}</style>",
        *_legend(),
        *_axes(ring, max_total),
    ]
    if not ranges:
        lines.append(
            f'<text x="{(PLOT_LEFT + PLOT_RIGHT) // 2}" y="{(PLOT_TOP + PLOT_BOTTOM) // 2}" '
            'text-anchor="middle">no range validated yet</text>'
        )
    # equal ranges first: a narrow range with differences is then drawn over its neighbours' baselines
    for r in sorted(ranges, key=lambda r: (r.missing + r.extra + r.differing > 0, r.index)):
        lines += _bar(r, ring, scale)
    lines.append("</svg>")
    return "\n".join(lines)
