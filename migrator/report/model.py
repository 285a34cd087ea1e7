"""What a validation finds, as plain picklable data: per range on executors, merged on the driver.

Executors return one ``RangeResult`` per token range; the driver merges them with ``merge`` into a
``ValidationReport``. Merging is associative and order-independent, and examples are kept in
(range index, position) order, so a validation resumed from a savepoint yields the same report as
an uninterrupted one. Every class is plain data: JSON-safe through ``to_json``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass, field, replace
from typing import Any

MISSING, EXTRA, DIFFERING = "missing", "extra", "differing"
KINDS = (MISSING, EXTRA, DIFFERING)


@dataclass
class ColumnStats:
    """Per column (renamed target name; ``writetime(c)`` / ``ttl(c)`` for metadata)."""

    unequal: int = 0
    # largest difference seen: numbers as they are, timestamp values and writetimes in milliseconds, TTLs in seconds
    max_difference: float | None = None
    null_vs_value: int = 0  # one side null, the other not

    def add(self, other: ColumnStats) -> None:
        """Merge another range's statistics for the same column."""
        self.unequal += other.unequal
        self.null_vs_value += other.null_vs_value
        if other.max_difference is not None:
            self.max_difference = (
                other.max_difference if self.max_difference is None else max(self.max_difference, other.max_difference)
            )


@dataclass
class Example:
    """One row that differs: its key, both sides as displayable values, and what differs."""

    kind: str  # MISSING | EXTRA | DIFFERING
    key: dict[str, Any]
    source: dict[str, Any] | None
    target: dict[str, Any] | None
    columns: list[str]
    range_index: int
    position: int  # order within the range scan, for a deterministic choice of examples
    token: int
    # filled when the difference sink asks for them (reconcile's diff): each side's row digest, and the
    # row's newest write time where the store keeps one (CQL: microseconds; DynamoDB: updatedAtAttribute)
    source_digest: str | None = None
    target_digest: str | None = None
    source_written: float | None = None
    target_written: float | None = None
    # CQL: the row a reconcile pack writes, as literals by target column (the source row for MISSING and
    # DIFFERING, the key alone for EXTRA); DynamoDB needs none (its items are exact JSON already)
    literals: dict[str, str] | None = None
    # where apply finds the row in production again, opaque to reconcile (CQL: its token and key bytes)
    address: dict[str, Any] | None = None


@dataclass
class RangeResult:
    """What one token range produced."""

    index: int
    start: int
    end: int
    source_rows: int = 0
    target_rows: int = 0
    missing: int = 0
    extra: int = 0
    differing: int = 0
    rechecked: int = 0  # mismatches re-read because the table may still be receiving writes
    resolved_on_recheck: int = 0
    repaired: dict[str, int] = field(default_factory=dict)  # copiedMissing, copiedDiffering, deletedExtra
    columns: dict[str, ColumnStats] = field(default_factory=dict)
    examples: list[Example] = field(default_factory=list)
    differences_file: str | None = None  # every difference of the range, when a sink was given


@dataclass
class Counts:
    """The five totals; the field names are the report's JSON keys."""

    sourceRows: int = 0
    targetRows: int = 0
    missing: int = 0
    extra: int = 0
    differing: int = 0


@dataclass
class ValidationReport:
    """The merged result of a validation run (possibly across resumed runs)."""

    source: str
    target: str
    ranges_total: int
    ranges_done: int = 0
    counts: Counts = field(default_factory=Counts)
    columns: dict[str, ColumnStats] = field(default_factory=dict)
    examples: dict[str, list[Example]] = field(default_factory=lambda: {k: [] for k in KINDS})
    ranges: list[RangeResult] = field(default_factory=list)  # examples stripped; for the ring picture
    rechecked: int = 0
    resolved_on_recheck: int = 0
    repaired: dict[str, int] = field(default_factory=dict)
    settings: dict[str, Any] = field(default_factory=dict)
    seconds: float = 0.0
    differences: str | None = None  # the directory holding every difference, one file per range
    split_unit: str = "token"  # what ranges' start/end count: "token" (a CQL ring), "segment" (a scan segment), "file"
    from_totals: str | None = None  # the kind counted from the totals, row by row never (``count_from_totals``)

    @property
    def equal(self) -> bool:
        """No row missing, extra or differing."""
        c = self.counts
        return c.missing == c.extra == c.differing == 0

    def to_json(self) -> dict[str, Any]:
        """Plain data for report.json and for savepoints."""
        data = asdict(self)
        data["equal"] = self.equal
        # absent unless differences were written, so reports without them read as before
        if data["differences"] is None:
            del data["differences"]
        if data["split_unit"] == "token":  # CQL reports read as before; DynamoDB's say "segment"
            del data["split_unit"]
        if data["from_totals"] is None:
            del data["from_totals"]
        for r in data["ranges"]:
            if r["differences_file"] is None:
                del r["differences_file"]
            for example in r["examples"]:
                example_json(example)
        for examples in data["examples"].values():
            for example in examples:
                example_json(example)
        return data


SIGNED = ("source_digest", "target_digest", "source_written", "target_written", "literals", "address")


def example_json(example: dict[str, Any]) -> dict[str, Any]:
    """An example's plain data, without the digest fields a validation does not fill (reports read as before)."""
    for name in SIGNED:
        if example.get(name) is None:
            example.pop(name, None)
    return example


def merge(report: ValidationReport, results: Iterable[RangeResult], failures_to_fetch: int) -> ValidationReport:
    """Add range results to a report; keeps the first ``failures_to_fetch`` examples of each kind."""
    examples = {k: list(v) for k, v in report.examples.items()}
    for r in sorted(results, key=lambda r: r.index):
        c = report.counts
        c.sourceRows += r.source_rows
        c.targetRows += r.target_rows
        c.missing += r.missing
        c.extra += r.extra
        c.differing += r.differing
        report.rechecked += r.rechecked
        report.resolved_on_recheck += r.resolved_on_recheck
        for name, n in r.repaired.items():
            report.repaired[name] = report.repaired.get(name, 0) + n
        for name, stats in r.columns.items():
            report.columns.setdefault(name, ColumnStats()).add(stats)
        for ex in r.examples:
            examples.setdefault(ex.kind, []).append(ex)
        report.ranges.append(RangeResult(r.index, r.start, r.end, r.source_rows, r.target_rows, r.missing, r.extra,
                                         r.differing, differences_file=r.differences_file))
        report.ranges_done += 1
    report.ranges.sort(key=lambda r: r.index)
    report.examples = {
        k: sorted(v, key=lambda e: (e.range_index, e.position))[:failures_to_fetch] for k, v in examples.items()
    }
    return report


def count_from_totals(report: ValidationReport, kind: str) -> ValidationReport:
    """``report`` with its ``kind`` count (missing or extra) worked out from the totals; the rows stay unknown.

    Every row compared is in exactly one of: missing, extra, or found on both sides (equal or
    differing), so ``sourceRows - missing == targetRows - extra``. A comparison that counts one side's
    rows without looking each one up (an S3 export cannot be read by key) gets the other kind from
    that. Exact when neither side changes while it is compared; a negative result (a side changed)
    is reported as 0. Idempotent: the count is replaced, never added to.
    """
    c = report.counts
    if kind == EXTRA:
        c.extra = max(0, c.targetRows - (c.sourceRows - c.missing))
    elif kind == MISSING:
        c.missing = max(0, c.sourceRows - (c.targetRows - c.extra))
    else:
        raise ValueError(f"only missing or extra rows can be counted from the totals, not {kind!r}")
    report.from_totals = kind
    return report


def report_from_json(data: dict[str, Any]) -> ValidationReport:
    """The inverse of ``ValidationReport.to_json`` (savepoints carry a partial report this way)."""
    fields = {k: v for k, v in data.items() if k != "equal"}
    fields["counts"] = Counts(**data.get("counts", {}))
    fields["columns"] = {k: ColumnStats(**v) for k, v in data.get("columns", {}).items()}
    fields["examples"] = {k: [Example(**e) for e in v] for k, v in data.get("examples", {}).items()}
    fields["ranges"] = [_range_from_json(r) for r in data.get("ranges", [])]
    return ValidationReport(**fields)


def _range_from_json(data: dict[str, Any]) -> RangeResult:
    fields = dict(data)
    fields["columns"] = {k: ColumnStats(**v) for k, v in data.get("columns", {}).items()}
    fields["examples"] = [Example(**e) for e in data.get("examples", [])]
    return RangeResult(**fields)


def trim_examples(results: dict[int, RangeResult], failures_to_fetch: int) -> dict[int, RangeResult]:
    """Drop the examples that can no longer be among the first ``failures_to_fetch`` of their kind.

    Safe at any time: results arriving later can only push an example out of the first N, never
    bring back one that N earlier examples already precede. Inputs are not modified.
    """
    keep: set[tuple[int, int]] = set()
    by_kind: dict[str, list[Example]] = {}
    for result in results.values():
        for ex in result.examples:
            by_kind.setdefault(ex.kind, []).append(ex)
    for examples in by_kind.values():
        examples.sort(key=lambda e: (e.range_index, e.position))
        keep.update((e.range_index, e.position) for e in examples[:failures_to_fetch])
    out = {}
    for index, result in results.items():
        kept = [e for e in result.examples if (e.range_index, e.position) in keep]
        out[index] = result if len(kept) == len(result.examples) else replace(result, examples=kept)
    return out
