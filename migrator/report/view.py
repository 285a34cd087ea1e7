"""What every rendering of a ``ValidationReport`` shows, as plain strings: one place for wording and formats.

The text, HTML and console renderers only lay these strings out. Guarantees:

* Deterministic: nothing depends on the clock, the locale or hash order; dicts keep the order the
  report gives them (merging already made that order independent of executor timing).
* Values are shown unambiguously in a JSON-like form (strings quoted, ``null``, nested UDTs and
  collections as JSON), on one line: control characters are escaped, so a value cannot forge report
  lines. Long values are cut at ``MAX_VALUE_CHARS`` with the number of characters left out; two
  long differing values are shown from shortly before their first difference.
* Everything except values is plain ASCII.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from json.encoder import c_make_encoder, encode_basestring, encode_basestring_ascii  # type: ignore[attr-defined]
from typing import Any

from migrator.progress import format_duration
from migrator.report.model import DIFFERING, EXTRA, KINDS, MISSING, ColumnStats, Example, ValidationReport

MAX_VALUE_CHARS = 500
WHOLE_FLOAT_LIMIT = 1e15  # larger whole floats are shown as 1e+300 rather than 301 digits
PAIR_CONTEXT_CHARS = 40  # equal characters kept before the first difference of two long values
ABSENT = "(absent)"  # a column the row does not hold at all, unlike a null
REPAIR_ORDER = ("copiedMissing", "copiedDiffering", "deletedExtra")
KIND_TITLES = {
    MISSING: "Missing rows (in source, not in target)",
    EXTRA: "Extra rows (in target, not in source)",
    DIFFERING: "Differing rows (same key, different values)",
}
# C1 control characters and DEL are valid JSON but can act on terminals; JSON escapes only C0.
_ESCAPE_C1 = {code: f"\\u{code:04x}" for code in range(0x7F, 0xA0)}


def json_safe(value: Any) -> Any:
    """``value`` with only JSON types left: other objects become ``str()``, non-finite floats too."""
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    if isinstance(value, Mapping):
        return {k if isinstance(k, str) else str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(v) for v in value]
    return str(value)


def encoder(**options: Any) -> Callable[[Any], str]:
    """``json.JSONEncoder(**options).encode``, built once: the same text, without its cost per call.

    ``JSONEncoder.encode`` (and ``json.dumps`` with options) builds the C encoder again on every call,
    a few microseconds each; diff encodes several small objects per difference. Cycles are not
    checked (the values encoded are trees). Without the C accelerator, the encoder's own ``encode``.
    """
    plain = json.JSONEncoder(**{**options, "check_circular": False})
    if c_make_encoder is None or plain.indent is not None:  # pragma: no cover - CPython has the accelerator
        return plain.encode
    made = c_make_encoder(None, plain.default, encode_basestring if not plain.ensure_ascii else
                          encode_basestring_ascii, None, plain.key_separator, plain.item_separator, plain.sort_keys,
                          plain.skipkeys, plain.allow_nan)
    return lambda value: "".join(made(value, 0))


_STRICT = encoder(ensure_ascii=False, allow_nan=False)


def json_text(value: Any) -> str:
    """``value`` as compact-enough JSON text; values JSON cannot hold go through ``json_safe`` first.

    Rows read as JSON (DynamoDB's wire form) are dumped directly, skipping ``json_safe``'s walk.
    """
    try:
        return _STRICT(value)
    except (TypeError, ValueError):
        return json.dumps(json_safe(value), ensure_ascii=False)


def _one_line(value: Any) -> str:
    return json.dumps(json_safe(value), ensure_ascii=False).translate(_ESCAPE_C1)


def _cut(text: str) -> str:
    if len(text) > MAX_VALUE_CHARS:
        return f"{text[:MAX_VALUE_CHARS]}... ({len(text) - MAX_VALUE_CHARS:,} more characters)"
    return text


def format_value(value: Any) -> str:
    """One line, JSON-like: ``"text"``, ``42``, ``null``, ``{"street": "Main", "tags": [1, 2]}``."""
    return _cut(_one_line(value))


def format_pair(source: Any, target: Any) -> tuple[str, str]:
    """Both sides of a differing value; long ones start shortly before their first difference."""
    texts = _one_line(source), _one_line(target)
    if max(len(t) for t in texts) > MAX_VALUE_CHARS:
        common = next((i for i, (a, b) in enumerate(zip(*texts, strict=False)) if a != b), min(map(len, texts)))
        skip = common - PAIR_CONTEXT_CHARS
        if skip > 0:
            texts = (
                f"({skip:,} equal characters)...{texts[0][skip:]}",
                f"({skip:,} equal characters)...{texts[1][skip:]}",
            )
    return _cut(texts[0]), _cut(texts[1])


def format_number(value: float | None) -> str:
    """``1,500`` for whole numbers, the shortest exact form otherwise (``0.25``, ``1e+300``), ``-`` for none."""
    if value is None:
        return "-"
    if isinstance(value, int) or (value.is_integer() and abs(value) < WHOLE_FLOAT_LIMIT):
        return f"{int(value):,}"
    return repr(value)


def format_key(key: Mapping[str, Any]) -> str:
    """``id=1, ck="a"``."""
    return ", ".join(f"{name}={format_value(value)}" for name, value in key.items())


def count(n: int) -> str:
    """A count with thousands separators."""
    return f"{n:,}"


def title(report: ValidationReport) -> str:
    """``Validation of <source> -> <target>``."""
    return f"Validation of {report.source} -> {report.target}"


def facts(report: ValidationReport) -> list[tuple[str, str]]:
    """The header: where from, where to, how far, how long."""
    return [
        ("source", report.source),
        ("target", report.target),
        ("ranges", f"{count(report.ranges_done)} of {count(report.ranges_total)} done"),
        ("duration", format_duration(report.seconds)),
    ]


def counts(report: ValidationReport) -> list[tuple[str, str]]:
    """The counts table: label and value."""
    c = report.counts
    return [
        ("source rows", count(c.sourceRows)),
        ("target rows", count(c.targetRows)),
        ("missing (source only)", count(c.missing)),
        ("extra (target only)", count(c.extra)),
        ("differing", count(c.differing)),
    ]


def verdict(report: ValidationReport) -> str:
    """``EQUAL`` or ``DIFFERENCES FOUND: 3 missing, 1 extra, 2 differing``."""
    if report.equal:
        return "EQUAL"
    c = report.counts
    return f"DIFFERENCES FOUND: {count(c.missing)} missing, {count(c.extra)} extra, {count(c.differing)} differing"


def notes(report: ValidationReport) -> list[str]:
    """Lines qualifying the verdict: an unfinished run, counts from totals, rechecks, repairs (none if irrelevant)."""
    lines = []
    if report.ranges_done < report.ranges_total:
        left = report.ranges_total - report.ranges_done
        lines.append(
            f"INCOMPLETE: {count(report.ranges_done)} of {count(report.ranges_total)} ranges validated; "
            f"{count(left)} not compared yet."
        )
    if report.rechecked:
        lines.append(
            f"Rechecked {count(report.rechecked)} mismatching rows (the tables may be receiving writes); "
            f"{count(report.resolved_on_recheck)} were equal on recheck."
        )
    if report.from_totals:
        side = "target" if report.from_totals == EXTRA else "source"
        lines.append(
            f"{report.from_totals.capitalize()} rows are counted from the totals ({side} rows minus the rows "
            "found on both sides): one side cannot be looked up by key, so none of them is listed."
        )
    repairs = repair_items(report.repaired)
    if repairs:
        lines.append("Repairs: " + ", ".join(f"{name} {count(n)}" for name, n in repairs))
    return lines


def repair_items(repaired: Mapping[str, int]) -> list[tuple[str, int]]:
    """Repairs in a fixed order (known kinds first, then others by name), zeros left out."""
    names = [n for n in REPAIR_ORDER if n in repaired] + sorted(n for n in repaired if n not in REPAIR_ORDER)
    return [(name, repaired[name]) for name in names if repaired[name]]


def column_rows(columns: Mapping[str, ColumnStats], limit: int | None = None) -> list[tuple[str, str, str, str]]:
    """Columns with unequal values, most unequal first then by name: column, unequal, null vs value, max diff."""
    unequal = sorted(((n, s) for n, s in columns.items() if s.unequal > 0), key=lambda i: (-i[1].unequal, i[0]))
    return [
        (name, count(s.unequal), count(s.null_vs_value), format_number(s.max_difference)) for name, s in unequal[:limit]
    ]


def unequal_column_count(columns: Mapping[str, ColumnStats]) -> int:
    """How many columns have at least one unequal value."""
    return sum(1 for s in columns.values() if s.unequal > 0)


@dataclass(frozen=True)
class ExampleView:
    """One example as strings: ``fields`` are (column, value) for missing/extra, (column, source, target) else."""

    key: str
    where: str
    fields: list[tuple[str, ...]]


@dataclass(frozen=True)
class KindView:
    """The examples of one kind, with how many rows of that kind there are in all."""

    kind: str
    title: str
    total: int
    examples: list[ExampleView]

    @property
    def shown(self) -> str:
        """``showing 2 of 3``."""
        return f"showing {count(len(self.examples))} of {count(self.total)}"


def _fields(example: Example) -> list[tuple[str, ...]]:
    if example.kind in (MISSING, EXTRA):
        row = example.source if example.kind == MISSING else example.target
        return [(name, format_value(value)) for name, value in (row or {}).items()]
    source, target = example.source or {}, example.target or {}
    fields: list[tuple[str, ...]] = []
    for name in example.columns:
        if name in source and name in target:
            fields.append((name, *format_pair(source[name], target[name])))
        else:
            fields.append(
                (
                    name,
                    format_value(source[name]) if name in source else ABSENT,
                    format_value(target[name]) if name in target else ABSENT,
                )
            )
    return fields


def example_view(example: Example) -> ExampleView:
    """The strings shown for one example."""
    return ExampleView(
        key=format_key(example.key),
        where=f"range {example.range_index}, token {example.token}",
        fields=_fields(example),
    )


def kind_views(report: ValidationReport) -> Iterator[KindView]:
    """The example sections: missing, extra, differing (then any other kind by name), empty ones left out."""
    totals = {MISSING: report.counts.missing, EXTRA: report.counts.extra, DIFFERING: report.counts.differing}
    kinds = [k for k in KINDS if k in report.examples] + sorted(k for k in report.examples if k not in KINDS)
    for kind in kinds:
        examples = report.examples[kind]
        if examples:
            yield KindView(
                kind=kind,
                title=KIND_TITLES.get(kind, f"{kind} rows"),
                total=max(totals.get(kind, 0), len(examples)),
                examples=[example_view(e) for e in examples],
            )


def settings(report: ValidationReport) -> list[tuple[str, str]]:
    """The settings (tolerances, limits) the validation ran with, in the report's order."""
    return [(name, format_value(value)) for name, value in report.settings.items()]
