"""Segment planning and the segment part of savepoints, without a server."""

from __future__ import annotations

import pytest

from migrator.backends.dynamodb import segments
from migrator.config import MigratorState

GIB = 1024**3


@pytest.mark.parametrize(("configured", "size", "throughput", "expected"), [
    (None, 1 * GIB, 40_000, 10),  # 1 GB on demand: one segment per 100 MiB
    (None, 100 * GIB, 40_000, 200),  # 100 GB on demand: 40000 * 0.5 / 100 read units
    (None, 100 * GIB, 1_000_000, 1024),
    (None, 1 * GIB, 10_000, 10),
    (42, 100 * GIB, 40_000, 42),  # scanSegments wins
    (None, 0, 40_000, 1),  # an empty (or unreported) size still gets one segment
    (None, 100 * GIB, 150, 1),  # a tiny read budget: never below one
    (2_000_000, 1, 1, 1_000_000),  # clamped
])
def test_total_segments_follow_upstream(configured, size, throughput, expected):
    assert segments.total_segments(configured, size, throughput, 0.5) == expected


def test_a_resume_plans_the_savepoint_s_total_unless_the_config_pins_one():
    state = MigratorState.model_validate({"totalSegments": 7})
    assert segments.planned_total(None, state, 100 * GIB, 40_000, 0.5) == 7
    assert segments.planned_total(9, state, 100 * GIB, 40_000, 0.5) == 9
    assert segments.planned_total(None, None, 100 * GIB, 40_000, 0.5) == 200


def test_the_throughput_budget_is_configured_else_the_table_s_else_on_demand():
    assert segments.throughput(500, 100) == 500
    assert segments.throughput(None, 100) == 100
    assert segments.throughput(None, 0) == segments.ON_DEMAND_THROUGHPUT


def test_savepoint_fields_merge_resumed_and_finished_segments():
    assert segments.fields([3, 1], [2, 3, 0]) == {"skipSegments": [0, 1, 2, 3]}


def test_a_savepoint_numbered_out_of_another_total_is_refused_with_the_fix():
    state = MigratorState.model_validate({"totalSegments": 8})
    [(where, message)] = segments.problems(state, 16, [1, 2], None)
    assert where == "migratorState.totalSegments"
    assert "numbered out of 8, this run plans 16" in message and "scanSegments: 8" in message
    [(where, _)] = segments.problems(state, 16, [1], 16)
    assert where == "source.scanSegments"
    assert segments.problems(state, 8, [1, 7], None) == []


def test_segments_beyond_the_total_are_refused_even_without_a_total_in_the_savepoint():
    [(where, message)] = segments.problems(None, 4, [1, 5, 9], None)
    assert where == "skipSegments" and "[5, 9]" in message
