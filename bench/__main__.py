"""``python -m bench --rows N --shape narrow|wide|collections``: time migrate and validate.

Runs against the local services (``scripts/services up``): loads N rows into the source, times
``migrate`` into an empty target table and ``validate`` of the result, samples peak memory, and ends
with one line ``RESULT migrate_ratio=<x> validate_ratio=<y> migrate_rows_per_s=<a> validate_rows_per_s=<b>``.
The ratios compare with the Spark Cassandra Connector yardstick; until it is wired in they print n/a.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path
from typing import Any

import yaml

from bench.load import create_tables, load
from bench.measure import Phase
from bench.shapes import SHAPES

ROOT = Path(__file__).resolve().parents[1]
KEYSPACE = "bench"


def services() -> dict[str, str]:
    path = ROOT / ".services.env"
    if not path.exists():
        sys.exit("bench: .services.env is missing; run scripts/services up")
    pairs = (line.split("=", 1) for line in path.read_text().splitlines() if "=" in line)
    return {k.strip(): v.strip() for k, v in pairs}


def config_text(env: dict[str, str], table: str, splits: int, savepoints: str) -> str:
    common = {"keyspace": KEYSPACE, "table": table, "consistencyLevel": "LOCAL_ONE"}
    return yaml.safe_dump({
        "source": {"type": "cassandra", "host": env["MIGRATOR_SOURCE_HOST"], "port": int(env["MIGRATOR_SOURCE_PORT"]),
                   "fetchSize": 5000, "preserveTimestamps": False, "splitCount": splits, **common},
        "target": {"type": "cassandra", "host": env["MIGRATOR_TARGET_HOST"], "port": int(env["MIGRATOR_TARGET_PORT"]),
                   "stripTrailingZerosForDecimals": False, **common},
        "savepoints": {"path": savepoints, "intervalSeconds": 30},
        "validation": {"compareTimestamps": False, "ttlToleranceMillis": 0, "writetimeToleranceMillis": 0,
                       "failuresToFetch": 10, "floatingPointTolerance": 0.0, "timestampMsTolerance": 0},
    })


def rate(rows: int, seconds: float) -> float:
    return rows / seconds if seconds > 0 else 0.0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--shape", choices=sorted(SHAPES), default="narrow")
    parser.add_argument("--splits", type=int, default=16, help="splitCount for migrate and validate")
    parser.add_argument("--master", default="local[*]")
    args = parser.parse_args(argv)

    from migrator.backends.cassandra.connection import ConnectionSpec, connect
    from migrator.config import load_config
    from migrator.migrate import migrate
    from migrator.spark import create_session
    from migrator.validate import validate

    env = services()
    source = ConnectionSpec("source", env["MIGRATOR_SOURCE_HOST"], int(env["MIGRATOR_SOURCE_PORT"]))
    target = ConnectionSpec("target", env["MIGRATOR_TARGET_HOST"], int(env["MIGRATOR_TARGET_PORT"]))
    table = f"{args.shape}_{args.rows}"
    spark = create_session(args.master, {"spark.ui.enabled": "false"}, app_name="migrator-bench")
    results: dict[str, Any] = {}
    try:
        src_session, tgt_session = connect(source), connect(target)
        create_tables(src_session, KEYSPACE, table, args.shape)
        create_tables(tgt_session, KEYSPACE, table, args.shape)
        tgt_session.execute(f"DROP TABLE {KEYSPACE}.{table}", timeout=120)  # migrate creates it
        with Phase("load") as phase:
            load(spark, source, KEYSPACE, table, args.shape, args.rows)
        results["load"] = phase
        with tempfile.TemporaryDirectory() as tmp:
            loaded = load_config(config_text(env, table, args.splits, tmp))
            with Phase("migrate") as phase:
                outcome = migrate(loaded, spark)
            results["migrate"] = phase
            assert outcome.rows == args.rows, f"migrated {outcome.rows} rows, expected {args.rows}"
            with Phase("validate") as phase:
                report = validate(loaded, spark)
            results["validate"] = phase
            assert report.equal and report.counts.sourceRows == args.rows, report.counts
        src_session.cluster.shutdown()
        tgt_session.cluster.shutdown()
    finally:
        spark.stop()
    print(f"bench: {args.rows:,} {args.shape} rows, splitCount {args.splits}, master {args.master}")
    for name, phase in results.items():
        mem = ", ".join(f"{k} {v:,.0f} MiB" for k, v in phase.peak_mib.items())
        print(f"  {name:9s} {phase.seconds:8.1f} s  {rate(args.rows, phase.seconds):10,.0f} rows/s  peak: {mem}")
    print("  yardstick (Spark Cassandra Connector): not run yet")
    m, v = rate(args.rows, results["migrate"].seconds), rate(args.rows, results["validate"].seconds)
    print(f"RESULT migrate_ratio=n/a validate_ratio=n/a migrate_rows_per_s={m:.0f} validate_rows_per_s={v:.0f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
