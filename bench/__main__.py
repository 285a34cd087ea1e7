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
from typing import Any

import yaml

from bench import yardstick
from bench.load import create_tables, load
from bench.measure import Phase
from bench.shapes import SHAPES, Shape
from migrator.localenv import require_services

KEYSPACE = "bench"


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


def run_yardstick(spark: Any, tgt_session: Any, table: str, shape: Shape, rows: int) -> dict[str, Phase]:
    """The connector's copy, compare, read-only scan and (narrow) write-only load, each timed."""
    out = {}
    key = list(shape.key)
    for suffix in ("scc", "sccw"):
        tgt_session.execute(f"DROP TABLE IF EXISTS {KEYSPACE}.{table}_{suffix}", timeout=120)
        tgt_session.execute(f"CREATE TABLE {KEYSPACE}.{table}_{suffix} {shape.columns}", timeout=120)
    with Phase("scc copy") as phase:
        yardstick.copy(spark, KEYSPACE, table, f"{table}_scc")
    out["scc copy"] = phase
    with Phase("scc compare") as phase:
        found = yardstick.compare(spark, KEYSPACE, table, table, key)
    out["scc compare"] = phase
    assert found["rows"] == rows and found["missing"] == found["extra"] == found["differing"] == 0, found
    with Phase("scc scan") as phase:
        assert yardstick.scan(spark, KEYSPACE, table) == rows
    out["scc scan"] = phase
    if shape.name == "narrow":
        with Phase("scc write") as phase:
            yardstick.write_only(spark, KEYSPACE, f"{table}_sccw", rows)
        out["scc write"] = phase
    return out


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

    env = require_services("bench")
    source = ConnectionSpec("source", env["MIGRATOR_SOURCE_HOST"], int(env["MIGRATOR_SOURCE_PORT"]))
    target = ConnectionSpec("target", env["MIGRATOR_TARGET_HOST"], int(env["MIGRATOR_TARGET_PORT"]))
    table = f"{args.shape}_{args.rows}"
    why_not = yardstick.available()
    conf = {"spark.ui.enabled": "false", **({} if why_not else yardstick.spark_conf(env))}
    spark = create_session(args.master, conf, app_name="migrator-bench")
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
        if why_not is None:
            results.update(run_yardstick(spark, tgt_session, table, SHAPES[args.shape], args.rows))
        src_session.cluster.shutdown()
        tgt_session.cluster.shutdown()
    finally:
        spark.stop()
    print(f"bench: {args.rows:,} {args.shape} rows, splitCount {args.splits}, master {args.master}")
    for name, phase in results.items():
        mem = ", ".join(f"{k} {v:,.0f} MiB" for k, v in phase.peak_mib.items())
        print(f"  {name:9s} {phase.seconds:8.1f} s  {rate(args.rows, phase.seconds):10,.0f} rows/s  peak: {mem}")
    m, v = rate(args.rows, results["migrate"].seconds), rate(args.rows, results["validate"].seconds)
    if why_not is not None:
        print(f"  yardstick (Spark Cassandra Connector) not run: {why_not}")
        mr = vr = "n/a"
    else:
        mr = f"{m / rate(args.rows, results['scc copy'].seconds):.2f}"
        vr = f"{v / rate(args.rows, results['scc compare'].seconds):.2f}"
    print(f"RESULT migrate_ratio={mr} validate_ratio={vr} migrate_rows_per_s={m:.0f} validate_rows_per_s={v:.0f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
