"""apply's run leaves the garbage collector as it found it, having collected less often meanwhile."""

import gc

import pytest

from migrator.reconcile.apply import YOUNG_OBJECTS, _frozen


def test_the_collector_is_frozen_and_collects_rarely_during_the_run_then_is_as_before():
    before = gc.get_threshold()
    with _frozen():
        assert gc.get_freeze_count() > 0
        assert gc.get_threshold() == (max(before[0], YOUNG_OBJECTS), *before[1:])
    assert gc.get_threshold() == before
    assert gc.get_freeze_count() == 0


def test_a_failing_run_also_restores_the_collector():
    before = gc.get_threshold()
    with pytest.raises(RuntimeError), _frozen():
        raise RuntimeError("batch failed")
    assert gc.get_threshold() == before
    assert gc.get_freeze_count() == 0
