"""Reading a token range page by page, on an executor.

The next page is fetched while the caller works on the current one, so memory is bounded by two
pages whatever the range holds. A failed page read is retried from its paging state for as long as
the cluster's outage tolerance allows (``migrator.retry``), so a timeout, a restart or a frozen node
neither restarts the range nor loses a page, and a cluster gone for good stops the task in bounded time.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any

from migrator.errors import RuntimeFailure
from migrator.retry import RetryPolicy

if TYPE_CHECKING:
    from migrator.backends.cassandra.connection import ConnectionSpec

log = logging.getLogger(__name__)


def scan_pages(session: Any, statement: Any, params: Sequence[Any], fetch_size: int,
               spec: ConnectionSpec | None = None) -> Iterator[list[Any]]:
    """Pages of raw rows of ``statement`` bound to ``params``, fetched one page ahead.

    ``spec`` is the cluster's: its outage tolerance, and its name in messages.
    """
    retry = spec.retry if spec is not None else RetryPolicy()
    where = f"the {spec.role} cluster at {spec.address}" if spec is not None else "the cluster"
    statement.fetch_size = fetch_size
    future = _fetch(session, statement, params, None)
    paging_state = None
    while future is not None:
        result = _result(session, statement, params, paging_state, future, retry, where)
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


def _result(session: Any, statement: Any, params: Sequence[Any], paging_state: Any, future: Any,
            retry: RetryPolicy, where: str) -> Any:
    from cassandra import OperationTimedOut, ReadFailure, ReadTimeout, Unavailable
    from cassandra.cluster import NoHostAvailable

    outage = None
    while True:
        try:
            return future.result()
        except (ReadTimeout, ReadFailure, Unavailable, OperationTimedOut, NoHostAvailable) as exc:
            outage = outage or retry.outage()
            pause = outage.next_pause()
            if pause is None:
                raise RuntimeFailure(
                    f"reading {where} failed {outage.attempts} times in a row over {outage.seconds:.0f} s: "
                    f"{type(exc).__name__}: {exc}"
                ) from exc
            log.warning("reading %s failed (%s), trying again in %.1f s", where, type(exc).__name__, pause)
            time.sleep(pause)
            future = _fetch(session, statement, params, paging_state)
