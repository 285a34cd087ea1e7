"""The outage tolerance: retries stop within the tolerance, on a fake clock; the config keys that set it."""

from __future__ import annotations

import pytest

from migrator.backends.cassandra.connection import REQUEST_TIMEOUT_S
from migrator.backends.cassandra.connection import spec_from_settings as cql_spec
from migrator.backends.dynamodb.client import spec_from_settings as dynamodb_spec
from migrator.retry import BACKOFF_CAP_S, DEFAULT_OUTAGE_S, RetryPolicy
from tests.unit.config.helpers import DYNAMO_SOURCE, cql_tree, load_tree, problems, with_source, with_target


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


@pytest.mark.parametrize("tolerance", [0.0, 1.0, 30.0, 120.0])
def test_no_try_starts_past_the_tolerance_and_the_pauses_are_capped(tolerance):
    clock = Clock()
    outage = RetryPolicy(outage_s=tolerance).outage(clock)
    pauses = []
    while (pause := outage.next_pause()) is not None:
        assert 0 <= pause <= BACKOFF_CAP_S
        pauses.append(pause)
        clock.now += pause
    assert sum(pauses) <= tolerance
    assert tolerance - sum(pauses) <= BACKOFF_CAP_S  # it did not give up long before the tolerance
    assert outage.attempts == len(pauses) + 1
    assert outage.describe() == f"{len(pauses) + 1} {'try' if not pauses else 'tries'} over {sum(pauses):.0f} s"


def test_the_backoff_grows_then_stays_under_the_cap():
    policy = RetryPolicy(base_s=0.1, cap_s=5.0)
    for n, ceiling in ((1, 0.1), (2, 0.2), (3, 0.4), (7, 5.0), (1000, 5.0)):
        assert all(ceiling / 2 <= policy.pause(n) <= ceiling for _ in range(100))


def test_both_backends_take_the_tolerance_from_their_side_and_default_to_two_minutes():
    loaded = load_tree(with_source(outageToleranceSeconds=30, requestTimeoutMs=2500))
    source = cql_spec("source", loaded.model.source)
    target = cql_spec("target", loaded.model.target)
    assert (source.retry.outage_s, source.request_timeout_s) == (30.0, 2.5)
    assert (target.retry.outage_s, target.request_timeout_s) == (DEFAULT_OUTAGE_S, REQUEST_TIMEOUT_S)
    dynamo = load_tree(cql_tree(source={**DYNAMO_SOURCE, "outageToleranceSeconds": 0}))
    assert dynamodb_spec("source", dynamo.model.source).retry.outage_s == 0.0


@pytest.mark.parametrize(("value", "problem"), [
    (-1, "must be at least 0, got -1"),
    (86_401, "must be at most 86400, got 86401"),
    (True, "expected a number, got true"),
    (float("inf"), "finite"),
])
def test_a_bad_tolerance_is_refused_with_its_path(value, problem):
    found = problems(with_target(outageToleranceSeconds=value))
    assert problem in found["target.outageToleranceSeconds"]


def test_a_bad_request_timeout_is_refused_with_its_path():
    assert "must be greater than 0, got 0" in problems(with_source(requestTimeoutMs=0))["source.requestTimeoutMs"]
