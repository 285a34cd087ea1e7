"""``python -m bench.probes writes|reads|keys|checks``: the single-process measurements behind bench/RESULTS.md.

``writes`` copies ``--table`` (a narrow table the benchmark loaded) from the source into
``bench.probe`` on the target, once per request and in unlogged batches of several sizes. ``reads``
scans it with and without ``token()`` and at two page sizes. ``keys`` reads its first ``--keys``
rows by key, as reconcile's apply reads production: one select per key, then several keys per
``IN``. ``checks`` copies those rows into ``bench.probe_checks`` on the target, then changes each
only where it still holds what was read, two ways: read by key then written (what apply does), and
a conditional ``UPDATE ... IF`` (Paxos). Each line gives rows/s and the CPU microseconds per row
of this process and of the server(s), read from ``/proc``.
"""

from __future__ import annotations

import argparse
import struct
import sys
import time
from collections.abc import Callable
from typing import Any

from cassandra.concurrent import execute_concurrent
from cassandra.query import BatchStatement, BatchType

from bench.measure import database_pids, process_cpu_seconds
from migrator.backends.cassandra.batches import Batcher
from migrator.backends.cassandra.connection import ConnectionSpec, connect, prepared
from migrator.backends.cassandra.raw import bind_raw
from migrator.backends.cassandra.reconcile import CONCURRENCY, KEYS_PER_READ, STATEMENTS_PER_BATCH
from migrator.backends.cassandra.scan import scan_pages
from migrator.backends.cassandra.window import WriteWindow
from scripts.localenv import require_services

FULL_RING = (-(2**63), 2**63 - 1)


def measured(label: str, run: Callable[[], int]) -> None:
    """Run, then print rows/s and CPU µs per row of this process and of the Cassandra servers."""
    servers = database_pids()
    cpu0, db0, t0 = time.process_time(), sum(process_cpu_seconds(p) for p in servers), time.monotonic()
    rows = run()
    seconds = time.monotonic() - t0
    py = 1e6 * (time.process_time() - cpu0) / rows
    db = 1e6 * (sum(process_cpu_seconds(p) for p in servers) - db0) / rows
    print(f"{label:48s} {rows / seconds:10,.0f} rows/s   CPU µs/row: this process {py:5.0f}, servers {db:5.0f}")


def writes(src: Any, tgt: Any, table: str) -> None:
    tgt.execute("CREATE TABLE IF NOT EXISTS bench.probe (id bigint PRIMARY KEY, n int, s text, d double)")
    select = prepared(src, f"SELECT id, n, s, d FROM bench.{table} WHERE token(id) > ? AND token(id) <= ?")
    insert = prepared(tgt, "INSERT INTO bench.probe (id, n, s, d) VALUES (?, ?, ?, ?)")
    insert.is_idempotent = True
    for batch_rows in (1, 10, 25, 50, 100, 200):
        tgt.execute("TRUNCATE bench.probe", timeout=120)

        def copy(batch_rows: int = batch_rows) -> int:
            window = WriteWindow(tgt, 128)
            batcher = Batcher(tgt, window, "bench", insert.consistency_level, max_rows=batch_rows)
            rows = 0
            for page in scan_pages(src, select, FULL_RING, 5000):
                for row in page:
                    if batch_rows == 1:
                        window.submit(bind_raw(insert, list(row)))
                    else:
                        batcher.add(insert, list(row), row[0])
                rows += len(page)
            batcher.drain()
            return rows

        measured(f"copy, {'one request per row' if batch_rows == 1 else f'batches of {batch_rows}'}", copy)


def reads(src: Any, table: str) -> None:
    for selectors, fetch in (("token(id), id, n, s, d", 5000), ("id, n, s, d", 5000), ("id, n, s, d", 20000)):
        select = prepared(src, f"SELECT {selectors} FROM bench.{table} WHERE token(id) > ? AND token(id) <= ?")

        def scan(select: Any = select, fetch: int = fetch) -> int:
            return sum(len(page) for page in scan_pages(src, select, FULL_RING, fetch))

        measured(f"scan {selectors}, pages of {fetch}", scan)


def by_key(session: Any, table: str, ids: list[bytes], per_read: int) -> list[Any]:
    """The rows of ``ids`` (a narrow table's), ``per_read`` keys per request, 32 requests at once."""
    statements: dict[int, Any] = {}
    requests = []
    for i in range(0, len(ids), per_read):
        group = ids[i : i + per_read]
        if len(group) not in statements:
            where = "id = ?" if per_read == 1 else f"id IN ({', '.join(['?'] * len(group))})"
            statements[len(group)] = prepared(session, f"SELECT id, n, s, d FROM bench.{table} WHERE {where}")
        requests.append((bind_raw(statements[len(group)], group), ()))
    results = execute_concurrent(session, requests, concurrency=32, raise_on_first_error=True)
    return [row for r in results for row in r.result_or_exc]


def first_ids(count: int) -> list[bytes]:
    """The keys of a narrow table's first ``count`` rows (those a ``--diverge`` bench rewrites)."""
    return [struct.pack(">q", i) for i in range(count)]


def keys(src: Any, table: str, count: int) -> None:
    ids = first_ids(count)
    for per_read in (1, 16, KEYS_PER_READ, 100):

        def read(per_read: int = per_read) -> int:
            return len(by_key(src, table, ids, per_read))

        measured(f"{count:,} keys, {'one select per key' if per_read == 1 else f'{per_read} keys per IN'}", read)


def checks(src: Any, tgt: Any, table: str, count: int) -> None:
    """Writing rows only where production still holds what was seen: apply's read then write, or Paxos."""
    tgt.execute("CREATE TABLE IF NOT EXISTS bench.probe_checks (id bigint PRIMARY KEY, n int, s text, d double)")
    tgt.execute("TRUNCATE bench.probe_checks", timeout=120)
    rows = by_key(src, table, first_ids(count), KEYS_PER_READ)
    insert = prepared(tgt, "INSERT INTO bench.probe_checks (id, n, s, d) VALUES (?, ?, ?, ?)")

    def write() -> int:  # as apply writes: unlogged batches of its size
        batches = []
        for i in range(0, len(rows), STATEMENTS_PER_BATCH):
            batch = BatchStatement(BatchType.UNLOGGED)
            for row in rows[i : i + STATEMENTS_PER_BATCH]:
                batch.add(bind_raw(insert, list(row)))
            batches.append((batch, ()))
        execute_concurrent(tgt, batches, concurrency=CONCURRENCY, raise_on_first_error=True)
        return len(rows)

    write()  # production as it was seen

    def read_then_write() -> int:
        seen = by_key(tgt, "probe_checks", [row[0] for row in rows], KEYS_PER_READ)
        assert len(seen) == len(rows)
        return write()

    update = prepared(
        tgt, "UPDATE bench.probe_checks SET n = ?, s = ?, d = ? WHERE id = ? IF n = ? AND s = ? AND d = ?"
    )

    def conditional() -> int:
        requests = [(bind_raw(update, [n, s_, d, id_, n, s_, d]), ()) for id_, n, s_, d in rows]
        results = execute_concurrent(tgt, requests, concurrency=32, raise_on_first_error=True)
        applied = sum(1 for r in results for row in r.result_or_exc if row[0] == b"\x01")
        assert applied == len(rows), applied
        return applied

    measured(
        f"{count:,} rows, read by key ({KEYS_PER_READ} per IN), then written (batches of {STATEMENTS_PER_BATCH})",
        read_then_write,
    )
    measured(f"{count:,} rows, conditional UPDATE ... IF (Paxos), one per request", conditional)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.probes", description=__doc__.splitlines()[0])
    parser.add_argument("what", choices=("writes", "reads", "keys", "checks"))
    parser.add_argument("--table", default="narrow_100000", help="a narrow table in the bench keyspace")
    parser.add_argument("--keys", type=int, default=20_000, help="keys, checks: how many rows to read by key")
    args = parser.parse_args(argv)
    env = require_services("bench.probes")
    src = connect(ConnectionSpec("source", env["MIGRATOR_SOURCE_HOST"], int(env["MIGRATOR_SOURCE_PORT"])), raw=True)
    tgt = connect(ConnectionSpec("target", env["MIGRATOR_TARGET_HOST"], int(env["MIGRATOR_TARGET_PORT"])), raw=True)
    try:
        if args.what == "writes":
            writes(src, tgt, args.table)
        elif args.what == "reads":
            reads(src, args.table)
        elif args.what == "keys":
            keys(src, args.table, args.keys)
        else:
            checks(src, tgt, args.table, args.keys)
    finally:
        src.cluster.shutdown()
        tgt.cluster.shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())
