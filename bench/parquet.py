"""``python -m bench.parquet --rows N [--rounds R] [--memory]``: time CQL -> Parquet and Parquet -> CQL.

Against the local services (``scripts/services up``), in the keyspace ``bench_parquet`` of both
clusters, each contender in the same Spark session, as ``python -m bench`` does:

* **export** (CQL -> Parquet): ``migrate`` of the N-row source table into a new local folder
  (``target: {type: parquet, compression: snappy}``, one file per split), against the yardstick:
  the Spark Cassandra Connector's DataFrame read of the same table, written by Spark's own Parquet
  writer.
* **import** (Parquet -> CQL): ``migrate`` of the folder it wrote into an empty target table,
  against Spark's own Parquet reader of the folder Spark wrote, appended by the connector into the
  same table (truncated before each import).

Each contender is checked after each phase: its folder's rows (from the Parquet footers, pyarrow)
and the target table's rows (counted range by range) must be N. With ``--rounds R`` the contenders
alternate R times and the fastest round of each counts. The yardstick runs on pyspark 3.5 only
(``.venv-spark35/bin/python -m bench.parquet``); elsewhere the ratios are n/a. Before the first
timed phase each contender exports the table and imports one of its files, untimed (``warm_up``),
and each timed phase starts once both servers are idle.

The timed rounds reuse Python workers, as ``migrator migrate`` does, so their worker peaks are
high-water marks. ``--memory`` then starts a session with a fresh Python worker per task (as
``python -m bench`` does throughout) and exports and imports the N-row table and a 4N-row table
again: ``memory_growth_*`` is the peak RSS at 4N over the peak at N of the driver and of the largest
Python worker, whichever grew more (1.0: flat).

Ends with one line ``RESULT cql_to_parquet_ratio=<x> parquet_to_cql_ratio=<y>
cql_to_parquet_rows_per_s=<a> parquet_to_cql_rows_per_s=<b> [memory_growth_export=<m1>
memory_growth_import=<m2>]``: the migrator's rows/s over the yardstick's, and the migrator's rows/s.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from bench import yardstick
from bench.__main__ import rate
from bench.load import create_tables, load
from bench.measure import Phase, settle
from bench.reconcile import fastest
from bench.shapes import SHAPES
from scripts.localenv import require_services

KEYSPACE = "bench_parquet"
ROWS_PER_COUNT = 50_000  # rows per token range of a target count: well within the server's range timeout
MEMORY_FACTOR = 4


def cql(env: dict[str, str], role: str, table: str, **keys: Any) -> dict[str, Any]:
    """A ``source:`` or ``target:`` block for ``table`` in the bench keyspace of that cluster."""
    side = role.upper()
    return {"type": "cassandra", "host": env[f"MIGRATOR_{side}_HOST"], "port": int(env[f"MIGRATOR_{side}_PORT"]),
            "keyspace": KEYSPACE, "table": table, "consistencyLevel": "LOCAL_ONE", **keys}


def data_files(folder: Path) -> list[Path]:
    """The Parquet files below ``folder``; names starting with ``_`` or ``.`` (``_SUCCESS``, checksums) are not data."""
    return sorted(p for p in folder.rglob("*.parquet") if not p.name.startswith(("_", ".")))


def parquet_rows(spark: Any, folder: Path) -> int:
    """Rows of the Parquet files below ``folder``, from their footers, read in a Spark task so that the
    driver's memory stays the migrator's."""
    def count(folders: Any) -> Any:
        import pyarrow.parquet as pq

        for top in folders:
            yield sum(pq.ParquetFile(p).metadata.num_rows for p in data_files(Path(top)))

    return int(sum(spark.sparkContext.parallelize([str(folder)], 1).mapPartitions(count).collect()))


def cql_rows(session: Any, table: str, key: str, expected: int) -> int:
    """Rows of ``KEYSPACE.table`` counted token range by token range (one count of a large table times out)."""
    from cassandra.concurrent import execute_concurrent_with_args

    from migrator.planning.tokens import MURMUR3, split_ring

    stmt = session.prepare(f"SELECT count(*) FROM {KEYSPACE}.{table} WHERE token({key}) > ? AND token({key}) <= ?")
    ranges = [(r.start, r.end) for r in split_ring(MURMUR3, max(16, expected // ROWS_PER_COUNT))]
    return sum(result.one()[0] for _, result in execute_concurrent_with_args(session, stmt, ranges, concurrency=4))


@dataclass
class Bench:
    """One run: the session, the services, the work folder and the timed phases."""

    spark: Any
    env: dict[str, str]
    args: argparse.Namespace
    work: Path
    specs: tuple[Any, Any]  # ConnectionSpec of the source and the target
    sessions: tuple[Any, Any]
    results: dict[str, Phase] = field(default_factory=dict)

    def timed(self, name: str) -> Phase:
        """A phase that starts once the databases are idle again."""
        settle(limit_seconds=self.args.settle_limit)
        self.results[name] = Phase(name)
        return self.results[name]

    def migrate(self, name: str | None, source: dict[str, Any], target: dict[str, Any], rows: int) -> None:
        """``migrate`` with its own savepoints folder, timed as ``name`` (untimed without one)."""
        from migrator.config import load_config
        from migrator.migrate import migrate

        savepoints = tempfile.mkdtemp(prefix="savepoints-", dir=self.work)
        loaded = load_config(yaml.safe_dump({"source": source, "target": target,
                                             "savepoints": {"path": savepoints, "intervalSeconds": 30}}))
        with self.timed(name) if name else contextlib.nullcontext():
            outcome = migrate(loaded, self.spark)
        assert outcome.rows == rows, f"{name or 'warm-up'}: migrated {outcome.rows:,} rows, expected {rows:,}"

    def export(self, table: str, rows: int, folder: Path, name: str | None = None) -> None:
        source = cql(self.env, "source", table, splitCount=self.args.splits, fetchSize=self.args.fetch_size,
                     preserveTimestamps=False)
        target = {"type": "parquet", "path": str(folder), "compression": "snappy", "mode": "error"}
        self.migrate(name, source, target, rows)
        self.expect(parquet_rows(self.spark, folder), rows, f"{name or 'warm-up'}: the folder {folder}")

    def import_(self, folder: Path, table: str, rows: int, name: str | None = None) -> None:
        self.truncate(table)
        target = cql(self.env, "target", table, stripTrailingZerosForDecimals=False)
        self.migrate(name, {"type": "parquet", "path": str(folder)}, target, rows)
        self.expect_target(table, rows, name or "warm-up")

    def truncate(self, table: str) -> None:
        self.sessions[1].execute(f"TRUNCATE {KEYSPACE}.{table}", timeout=300)

    def expect_target(self, table: str, rows: int, name: str) -> None:
        key = SHAPES[self.args.shape].key[0]
        self.expect(cql_rows(self.sessions[1], table, key, rows), rows, f"{name}: the target table {table}")

    @staticmethod
    def expect(found: int, rows: int, what: str) -> None:
        assert found == rows, f"{what} holds {found:,} rows, expected {rows:,}"


def prepare(bench: Bench, rows: int, label: str = "") -> str:
    """The source table of ``rows`` rows (loaded unless ``--reuse-source``) and an empty target table alike."""
    shape, table = bench.args.shape, f"{bench.args.shape}_{rows}"
    if not bench.args.reuse_source:
        create_tables(bench.sessions[0], KEYSPACE, table, shape)
        with bench.timed(f"load{label}"):
            load(bench.spark, bench.specs[0], KEYSPACE, table, shape, rows)
    create_tables(bench.sessions[1], KEYSPACE, table, shape)
    return table


def first_file(folder: Path, into: Path) -> Path:
    """A new folder ``into`` holding a link to the first data file of ``folder``."""
    into.mkdir()
    first = data_files(folder)[0]
    os.link(first, into / first.name)
    return into


def warm_up(bench: Bench, table: str, rows: int, contest: bool) -> None:
    """Untimed: each contender's export of the table and import of one of its files, so that no timed
    phase pays for the servers' JITs warming up (source reads, target writes), the yardstick's JVM
    code or the migrator's Python workers starting. This also shows that the migrator's Parquet
    paths work before anything is timed. Each timed import truncates the target table first."""
    ours, theirs = bench.work / "warm-up", bench.work / "warm-up-spark"
    bench.export(table, rows, ours)
    one = first_file(ours, bench.work / "warm-up-one")
    bench.import_(one, table, parquet_rows(bench.spark, one))
    if contest:
        yardstick.to_parquet(bench.spark, KEYSPACE, table, str(theirs))
        one = first_file(theirs, bench.work / "warm-up-spark-one")
        yardstick.from_parquet(bench.spark, str(one), KEYSPACE, table)


def round_(bench: Bench, table: str, rows: int, n: int, contest: bool) -> None:
    """Export and import by the migrator, each followed by the yardstick's (when ``contest``)."""
    suffix = f" #{n}" if n > 1 else ""
    ours, theirs = bench.work / f"migrator-{n}", bench.work / f"spark-{n}"
    bench.export(table, rows, ours, "export" + suffix)
    if contest:
        with bench.timed("export (scc)" + suffix):
            yardstick.to_parquet(bench.spark, KEYSPACE, table, str(theirs))
        bench.expect(parquet_rows(bench.spark, theirs), rows, f"export (scc){suffix}: the folder {theirs}")
    bench.import_(ours, table, rows, "import" + suffix)
    if contest:
        bench.truncate(table)
        with bench.timed("import (scc)" + suffix):
            yardstick.from_parquet(bench.spark, str(theirs), KEYSPACE, table)
        bench.expect_target(table, rows, "import (scc)" + suffix)


def growth(small: Phase, large: Phase) -> float:
    """Peak RSS at 4N over N, of the driver or of the largest Python worker, whichever grew more."""
    return max((large.peak_mib[k] / small.peak_mib[k] for k in ("driver", "worker") if small.peak_mib[k] > 0),
               default=float("nan"))


def memory(bench: Bench, table: str, rows: int) -> str:
    """Export and import of ``table`` and of a table ``MEMORY_FACTOR`` times larger; the RESULT line's
    memory part. The session must start a fresh Python worker per task: each phase's peaks are its own."""
    big = prepare(bench, rows * MEMORY_FACTOR, f" {MEMORY_FACTOR}N")
    for label, name, n in (("N", table, rows), (f"{MEMORY_FACTOR}N", big, rows * MEMORY_FACTOR)):
        folder = bench.work / f"memory-{label}"
        bench.export(name, n, folder, f"memory export {label}")
        bench.import_(folder, name, n, f"memory import {label}")
    bench.sessions[1].execute(f"DROP TABLE {KEYSPACE}.{big}", timeout=120)
    r = bench.results
    return "".join(f" memory_growth_{d}={growth(r[f'memory {d} N'], r[f'memory {d} {MEMORY_FACTOR}N']):.2f}"
                   for d in ("export", "import"))


def report(bench: Bench, rows: int, why_not: str | None, memory_part: str) -> None:
    args, results = bench.args, bench.results
    print(f"bench.parquet: {rows:,} {args.shape} rows, splitCount {args.splits}, fetch size {args.fetch_size}, "
          f"{args.rounds} round(s), master {args.master}")
    for name, phase in results.items():
        handled = rows * MEMORY_FACTOR if name.endswith(f"{MEMORY_FACTOR}N") else rows
        mem = ", ".join(f"{k} {v:,.0f}" for k, v in phase.peak_mib.items())
        cpu = ", ".join(f"{k} {v:,.1f}" for k, v in phase.cpu_seconds.items() if k != "dynamodb")
        print(f"  {name:17s} {phase.seconds:8.1f} s {rate(handled, phase.seconds):10,.0f} rows/s"
              f"  peak MiB: {mem}  cpu s: {cpu}")
    export, import_ = rate(rows, fastest(results, "export")), rate(rows, fastest(results, "import"))
    if why_not is not None:
        print(f"  yardstick (Spark Cassandra Connector and Spark's Parquet reader/writer) not run: {why_not}")
        ratios = "cql_to_parquet_ratio=n/a parquet_to_cql_ratio=n/a"
    else:
        ratios = (f"cql_to_parquet_ratio={export / rate(rows, fastest(results, 'export (scc)')):.2f} "
                  f"parquet_to_cql_ratio={import_ / rate(rows, fastest(results, 'import (scc)')):.2f}")
    print(f"RESULT {ratios} cql_to_parquet_rows_per_s={export:.0f} parquet_to_cql_rows_per_s={import_:.0f}"
          + memory_part)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.parquet", description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=1,
                        help="the contenders alternate N times; the fastest round of each counts")
    parser.add_argument("--memory", action="store_true",
                        help=f"also export and import {MEMORY_FACTOR}x the rows: peak memory growth")
    parser.add_argument("--shape", choices=sorted(SHAPES), default="narrow")
    parser.add_argument("--splits", type=int, default=16, help="splitCount of the export (one Parquet file each)")
    parser.add_argument("--fetch-size", type=int, default=5000, help="rows per page, for both contenders")
    parser.add_argument("--master", default="local[*]")
    parser.add_argument("--no-yardstick", dest="yardstick", action="store_false", help="time only the migrator")
    parser.add_argument("--reuse-source", action="store_true",
                        help="keep the source tables of an earlier run with the same --rows and --shape (no load)")
    parser.add_argument("--settle-limit", type=float, default=180.0, metavar="SECONDS",
                        help="the longest wait for idle databases before each timed phase")
    args = parser.parse_args(argv)
    if args.rows < 1 or args.rounds < 1:
        parser.error("--rows and --rounds must be at least 1")

    from migrator.backends.cassandra.connection import ConnectionSpec, connect
    from migrator.spark import create_session

    env = require_services("bench.parquet")
    specs = tuple(ConnectionSpec(role, env[f"MIGRATOR_{role.upper()}_HOST"], int(env[f"MIGRATOR_{role.upper()}_PORT"]))
                  for role in ("source", "target"))
    why_not = yardstick.available() if args.yardstick else "--no-yardstick"
    # Python workers are reused, as `migrator migrate` runs them (migrator.spark.DEFAULT_CONF): a fresh
    # worker per task would charge each of the 16 tasks its imports (about 1 CPU-s each, pyarrow included)
    conf = {"spark.ui.enabled": "false", **({} if why_not else yardstick.spark_conf(env, args.fetch_size))}
    spark = create_session(args.master, conf, app_name="migrator-bench-parquet")
    sessions = (connect(specs[0]), connect(specs[1]))
    memory_part = ""
    try:
        with tempfile.TemporaryDirectory(prefix="bench-parquet-") as tmp:
            bench = Bench(spark, env, args, Path(tmp), (specs[0], specs[1]), sessions)
            table = prepare(bench, args.rows)
            warm_up(bench, table, args.rows, why_not is None)
            for n in range(1, args.rounds + 1):
                round_(bench, table, args.rows, n, why_not is None)
            if args.memory:  # a fresh Python worker per task, so that each phase's worker peak is its own
                spark.stop()
                spark = bench.spark = create_session(args.master, {**conf, "spark.python.worker.reuse": "false"},
                                                     app_name="migrator-bench-parquet-memory")
                memory_part = memory(bench, table, args.rows)
            sessions[1].execute(f"DROP TABLE {KEYSPACE}.{table}", timeout=120)
    finally:
        spark.stop()
        for session in sessions:
            session.cluster.shutdown()
    report(bench, args.rows, why_not, memory_part)
    return 0


if __name__ == "__main__":
    sys.exit(main())
