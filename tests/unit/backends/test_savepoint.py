"""Driver-side savepoint checks that need no cluster: default splitting and refusing a foreign savepoint.

The identity part (kind, source, target) is the protocol's (``backends.base``); the token part
(partitioner, splitCount, alignment) is the Cassandra backend's (``backends.cassandra.savepoint``).
"""

from __future__ import annotations

from typing import Any

import pytest

from migrator.backends.base import refuse_savepoint, savepoint_identity_problems
from migrator.backends.cassandra import savepoint
from migrator.backends.cassandra.savepoint import default_split_count
from migrator.config import MigratorState
from migrator.errors import EXIT_CONFIG, SavepointMismatch
from migrator.planning import tokens

SOURCE_ID = "Test Cluster/ks.src"
TARGET_ID = "Other Cluster/ks.dst"
FIX = (
    "use the savepoint with the config it was written for, "
    "or start over with --fresh (or delete skipTokenRanges and migratorState)"
)
FIRST_QUARTER = tokens.TokenRange(-(2**63), -4611686018427387905)


@pytest.mark.parametrize(
    ("parallelism", "expected"), [(0, 16), (1, 16), (2, 16), (3, 24), (8, 64), (100, 800)]
)
def test_default_split_count(parallelism, expected):
    assert default_split_count(parallelism) == expected


def state(**keys: Any) -> MigratorState:
    tree = {
        "kind": "migrate",
        "sourceIdentity": SOURCE_ID,
        "targetIdentity": TARGET_ID,
        "partitioner": "Murmur3Partitioner",
        "splitCount": 4,
    }
    tree.update(keys)
    return MigratorState.model_validate({k: v for k, v in tree.items() if v is not None})


def check(
    saved: Any,
    *,
    kind: str = "migrate",
    source: str = SOURCE_ID,
    target: str = TARGET_ID,
    partitioner: tokens.Partitioner = tokens.MURMUR3,
    split_count: int = 4,
    configured: int | None = None,
    skip: tuple[tokens.TokenRange, ...] = (FIRST_QUARTER,),
) -> None:
    plan = tokens.plan(partitioner, split_count, skip)
    refuse_savepoint(savepoint_identity_problems(saved, kind, source, target)
                     + savepoint.problems(saved, partitioner, split_count, configured, plan))


def problems(saved: MigratorState, **kwargs: Any) -> list[tuple[str, str]]:
    with pytest.raises(SavepointMismatch) as info:
        check(saved, **kwargs)
    assert info.value.exit_code == EXIT_CONFIG
    return info.value.problems


def test_no_state_is_accepted():
    check(None, skip=(tokens.TokenRange(0, 5),))


def test_matching_state_is_accepted():
    check(state())
    check(state(), configured=4)
    check(state(kind=None, sourceIdentity=None, targetIdentity=None, partitioner=None, splitCount=None))


def test_another_kind_is_refused():
    assert problems(state(kind="validate")) == [
        ("migratorState.kind", f"this savepoint was written by 'validate', not 'migrate'; {FIX}")
    ]


def test_another_source_or_target_is_refused():
    assert problems(state(), source="Prod/ks.src", target="Test Cluster/ks.dst") == [
        (
            "migratorState.sourceIdentity",
            f"written for source {SOURCE_ID}, but the source is now Prod/ks.src; {FIX}",
        ),
        (
            "migratorState.targetIdentity",
            f"written for target {TARGET_ID}, but the target is now Test Cluster/ks.dst; {FIX}",
        ),
    ]


def test_another_partitioner_is_refused():
    random_quarter = tokens.TokenRange(-1, 2**125 - 1)
    assert problems(state(), partitioner=tokens.RANDOM, skip=(random_quarter,)) == [
        (
            "migratorState.partitioner",
            f"written for Murmur3Partitioner, the source uses RandomPartitioner; {FIX}",
        )
    ]


def test_another_configured_split_count_is_refused():
    assert problems(state(), split_count=8, configured=8) == [
        (
            "source.splitCount",
            "the savepoint's ranges were split 4 ways, the config now says 8; "
            f"set splitCount back to 4, or {FIX}",
        )
    ]


def test_skip_ranges_that_do_not_line_up_are_refused():
    assert problems(state(), skip=(tokens.TokenRange(-(2**63), 12345),)) == [
        (
            "skipTokenRanges",
            f"the finished ranges do not line up with a 4-way split of the ring; "
            f"the file was edited or written with another splitting; {FIX}",
        )
    ]


def test_every_problem_is_reported_at_once():
    found = problems(
        state(kind="validate", splitCount=None), source="Prod/ks.src", skip=(tokens.TokenRange(0, 1),)
    )
    assert [path for path, _ in found] == [
        "migratorState.kind",
        "migratorState.sourceIdentity",
        "skipTokenRanges",
    ]


def test_a_plain_object_with_the_same_attributes_works():
    class Saved:
        kind = "migrate"
        source_identity = SOURCE_ID
        target_identity = TARGET_ID
        partitioner = "Murmur3Partitioner"
        split_count = 4

    check(Saved())
