"""Hand-built validation reports for the renderer tests: equal, with differences, partially done."""

from __future__ import annotations

import itertools

from migrator.planning.tokens import MURMUR3
from migrator.report.model import (
    DIFFERING,
    EXTRA,
    MISSING,
    ColumnStats,
    Counts,
    Example,
    RangeResult,
    ValidationReport,
)

SCRIPT = '<script>alert("pwned")</script>'
LONG_BIO = "x" * 600 + " the end"


def bounds(n: int) -> list[tuple[int, int]]:
    """``n`` consecutive ranges covering the Murmur3 ring."""
    lo, width = MURMUR3.min_token, MURMUR3.max_token - MURMUR3.min_token
    cuts = [lo + width * i // n for i in range(n + 1)]
    return list(itertools.pairwise(cuts))


def equal_report() -> ValidationReport:
    ranges = [RangeResult(i, s, e, source_rows=250, target_rows=250) for i, (s, e) in enumerate(bounds(4))]
    return ValidationReport(
        source="ks.users (cassandra 10.0.0.1:9042)",
        target="ks.users (scylla 10.0.0.2:9042)",
        ranges_total=4,
        ranges_done=4,
        counts=Counts(sourceRows=1000, targetRows=1000),
        columns={"name": ColumnStats(), "score": ColumnStats()},
        ranges=ranges,
        rechecked=3,
        resolved_on_recheck=3,
        settings={"compareTimestamps": False, "floatingPointTolerance": 0.001, "failuresToFetch": 10},
        seconds=65.4,
    )


def _differing_examples() -> list[Example]:
    return [
        Example(
            kind=DIFFERING,
            key={"id": 5, "ck": "c"},
            source={
                "id": 5,
                "ck": "c",
                "name": "line one\nline two",
                "score": 1.0,
                "writetime(score)": 1_700_000_000_000_000,
                "address": {"street": "Rue de l'\u00c9glise", "zip": "75001", "geo": {"lat": 48.86, "lon": 2.35}},
            },
            target={
                "id": 5,
                "ck": "c",
                "name": "line one",
                "score": 1.25,
                "writetime(score)": 1_700_000_000_001_500,
                "address": {"street": "Rue de l'Eglise", "zip": "75001", "geo": None},
            },
            columns=["address", "name", "score", "writetime(score)"],
            range_index=2,
            position=0,
            token=-4611686018427387000,
        ),
        Example(
            kind=DIFFERING,
            key={"id": 6, "ck": "d"},
            source={"id": 6, "ck": "d", "bio": LONG_BIO, "ttl(score)": None, "writetime(score)": 10},
            target={"id": 6, "ck": "d", "bio": LONG_BIO + "!", "ttl(score)": 3600, "writetime(score)": 20},
            columns=["bio", "ttl(score)", "writetime(score)"],
            range_index=6,
            position=3,
            token=5000000000000000000,
        ),
    ]


def differences_report() -> ValidationReport:
    per_range = {  # index: (target_rows, missing, extra, differing)
        1: (1248, 2, 0, 0),
        2: (1250, 0, 0, 1),
        5: (1250, 1, 1, 0),
        6: (1250, 0, 0, 1),
    }
    ranges = []
    for i, (s, e) in enumerate(bounds(8)):
        target_rows, missing, extra, differing = per_range.get(i, (1250, 0, 0, 0))
        ranges.append(RangeResult(i, s, e, 1250, target_rows, missing, extra, differing))
    return ValidationReport(
        source="ks.users (cassandra 10.0.0.1:9042)",
        target="ks.users_v2 (scylla 10.0.0.2:9042)",
        ranges_total=8,
        ranges_done=8,
        counts=Counts(sourceRows=10_000, targetRows=9_998, missing=3, extra=1, differing=2),
        columns={
            "name": ColumnStats(unequal=1),
            "score": ColumnStats(unequal=1, max_difference=0.25),
            "writetime(score)": ColumnStats(unequal=2, max_difference=1500.0),
            "ttl(score)": ColumnStats(unequal=1, null_vs_value=1),
            "tags": ColumnStats(),
            "address": ColumnStats(unequal=1),
            "bio": ColumnStats(unequal=1),
        },
        examples={
            MISSING: [
                Example(
                    kind=MISSING,
                    key={"id": 17, "ck": "a"},
                    source={
                        "id": 17,
                        "ck": "a",
                        "name": "Zo\u00eb \U0001f680",
                        "score": 4.5,
                        "tags": ["x", "y"],
                        "prefs": {"lang": "fr", "theme": "dark"},
                    },
                    target=None,
                    columns=[],
                    range_index=1,
                    position=0,
                    token=-6917529027641081000,
                ),
                Example(
                    kind=MISSING,
                    key={"id": 18, "ck": "b"},
                    source={"id": 18, "ck": "b", "name": None, "score": 0, "tags": [], "prefs": {}},
                    target=None,
                    columns=[],
                    range_index=1,
                    position=5,
                    token=-6000000000000000000,
                ),
            ],
            EXTRA: [
                Example(
                    kind=EXTRA,
                    key={"id": 99, "ck": "z"},
                    source=None,
                    target={"id": 99, "ck": "z", "name": SCRIPT, "score": -1, "tags": None, "prefs": None},
                    columns=[],
                    range_index=5,
                    position=2,
                    token=2500000000000000000,
                )
            ],
            DIFFERING: _differing_examples(),
        },
        ranges=ranges,
        rechecked=5,
        resolved_on_recheck=2,
        repaired={"deletedExtra": 1, "copiedMissing": 3, "copiedDiffering": 0},
        settings={
            "compareTimestamps": True,
            "ttlToleranceMillis": 60000,
            "writetimeToleranceMillis": 1000,
            "floatingPointTolerance": 0.001,
            "failuresToFetch": 2,
        },
        seconds=3725.0,
    )


def partial_report() -> ValidationReport:
    all_bounds = bounds(16)
    ranges = [RangeResult(i, *all_bounds[i], source_rows=100, target_rows=100) for i in (0, 7, 12)]
    ranges[1].differing = 1
    return ValidationReport(
        source="bank.accounts (cassandra src:9042)",
        target="bank.accounts (scylla dst:9042)",
        ranges_total=16,
        ranges_done=3,
        counts=Counts(sourceRows=300, targetRows=300, differing=1),
        columns={"balance": ColumnStats(unequal=1, max_difference=0.005)},
        examples={
            MISSING: [],
            EXTRA: [],
            DIFFERING: [
                Example(
                    kind=DIFFERING,
                    key={"account": "A-1"},
                    source={"account": "A-1", "balance": 10.005},
                    target={"account": "A-1", "balance": 10.0},
                    columns=["balance"],
                    range_index=7,
                    position=0,
                    token=-1000,
                )
            ],
        },
        ranges=ranges,
        settings={"floatingPointTolerance": 0.001},
        seconds=3.2,
    )


REPORTS = {"equal": equal_report, "differences": differences_report, "partial": partial_report}
