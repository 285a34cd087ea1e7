"""The streaming loop's parts that need no Spark: the progress line, and a quiet accumulator server."""

from __future__ import annotations

import sys
from types import SimpleNamespace
from typing import Any

from migrator.backends.base import ShardRead
from migrator.spark import quiet_accumulator_server
from migrator.streaming import Meter


def test_the_progress_line_has_changes_rate_shards_and_lag() -> None:
    now = [0.0]
    meter = Meter("the stream of orders", clock=lambda: now[0])
    meter.add([ShardRead("a", "1", applied=30, behind_s=0.0), ShardRead("b", "2", applied=20, behind_s=4.25)])
    now[0] = 10.0
    assert meter.due()
    assert meter.line(2, 3) == ("streaming the stream of orders: 50 changes applied, 5/s; shards: 2 being read, "
                                "3 finished; behind the stream by 4.2 s")
    meter.add([ShardRead("a", "3", applied=0)])
    now[0] = 11.0
    assert not meter.due() and "50 changes applied, 0/s" in meter.line(2, 3)


def test_a_dropped_jvm_connection_is_not_a_traceback() -> None:
    shown: list[Any] = []
    server = SimpleNamespace(handle_error=lambda request, address: shown.append(sys.exc_info()[0]))
    quiet_accumulator_server(SimpleNamespace(_accumulatorServer=server))
    try:
        raise EOFError
    except EOFError:
        server.handle_error(None, None)
    try:
        raise ValueError("a real bug")
    except ValueError:
        server.handle_error(None, None)
    assert shown == [ValueError]
