"""How a DynamoDB apply cuts a batch into read-compare-write tasks."""

from __future__ import annotations

import pytest

from migrator.backends.dynamodb.reconcile import PROBE_KEYS, SMALLEST_TASK, TASKS_IN_FLIGHT, tasks
from migrator.reconcile.changes import PUT, Change


def changes(n: int) -> list[Change]:
    return [Change(PUT, {"id": {"S": str(i)}}, None, "w") for i in range(n)]


@pytest.mark.parametrize("n", [0, 1, 24, 25, 26, 100, 101, 999, 1000, 1001, 4321])
def test_every_change_is_in_one_task_in_order_and_no_task_exceeds_one_batch_read(n):
    batch = changes(n)
    cut = tasks(batch)
    assert [c for task in cut for c in task] == batch
    assert all(0 < len(task) <= PROBE_KEYS for task in cut)
    assert max((len(t) for t in cut), default=0) - min((len(t) for t in cut), default=0) <= PROBE_KEYS // 2 + 1


def test_small_batches_are_spread_over_the_threads_without_tiny_tasks():
    assert [len(t) for t in tasks(changes(100))] == [25, 25, 25, 25]
    assert len(tasks(changes(SMALLEST_TASK * TASKS_IN_FLIGHT))) == TASKS_IN_FLIGHT
    assert [len(t) for t in tasks(changes(1000))] == [100] * 10
