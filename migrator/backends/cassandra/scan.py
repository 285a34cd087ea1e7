"""Reading a token range page by page, on an executor.

The next page is fetched while the caller works on the current one, so memory is bounded by two
pages whatever the range holds. A failed page read is retried from its paging state a bounded
number of times, so a transient timeout neither restarts the range nor loses a page.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Iterator, Sequence
from typing import Any

from migrator.errors import RuntimeFailure

log = logging.getLogger(__name__)

READ_ATTEMPTS = 6


def scan_pages(session: Any, statement: Any, params: Sequence[Any], fetch_size: int) -> Iterator[list[Any]]:
    """Pages of raw rows of ``statement`` bound to ``params``, fetched one page ahead."""
    statement.fetch_size = fetch_size
    future = _fetch(session, statement, params, None)
    paging_state = None
    while future is not None:
        result = _result(session, statement, params, paging_state, future)
        paging_state, rows = result.paging_state, result.current_rows
        _release(result.response_future)
        del result
        future = _fetch(session, statement, params, paging_state) if paging_state else None
        yield rows


def _release(future: Any) -> None:
    """Let a finished page be freed as soon as the caller drops it.

    The driver's response future sits in a reference cycle (its timeout timer holds one of its
    methods), so it lives until the cyclic garbage collector runs, and with it the page it keeps.
    Measured: comparing a 250,000-row range held about 120 MiB of dead pages until a full collection.
    """
    if future is not None:
        future._final_result = None
        future._timer = None


def _fetch(session: Any, statement: Any, params: Sequence[Any], paging_state: Any) -> Any:
    return session.execute_async(statement, params, paging_state=paging_state)


def _result(session: Any, statement: Any, params: Sequence[Any], paging_state: Any, future: Any) -> Any:
    from cassandra import OperationTimedOut, ReadFailure, ReadTimeout, Unavailable
    from cassandra.cluster import NoHostAvailable

    for attempt in range(1, READ_ATTEMPTS + 1):
        try:
            return future.result()
        except (ReadTimeout, ReadFailure, Unavailable, OperationTimedOut, NoHostAvailable) as exc:
            if attempt == READ_ATTEMPTS:
                raise RuntimeFailure(
                    f"reading the source failed {attempt} times in a row: {type(exc).__name__}: {exc}"
                ) from exc
            delay = min(5.0, 0.2 * 2**attempt) * (0.5 + random.random())
            log.warning("source read failed (%s), retrying in %.1f s", type(exc).__name__, delay)
            time.sleep(delay)
            future = _fetch(session, statement, params, paging_state)
    raise AssertionError("unreachable")
