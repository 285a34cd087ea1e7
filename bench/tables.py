"""``python -m bench.tables``: many tables in one run, against one run per table.

Against the local services (``scripts/services up``), in the keyspace ``bench_mt`` of both clusters:

* **small**: ``--small`` tables of ``--small-rows`` rows each (narrow shape) copied by one
  ``migrator migrate`` with ``table: "small_*"``, against single-table runs of the same tables, one
  process each as a user would script them. ``--separate K`` of those runs are timed (default: all)
  and their mean is multiplied by the table count: every run pays the same start-up and copies the
  same amount. ``small_ratio`` = separate runs' total ÷ one run (the target is at least 5).
* **large**: the ``--large-rows`` table alone, against it with ``--with-small`` of the small tables
  in one run, alternated ``--rounds`` times. ``large_ratio`` = the fastest with the small tables ÷
  the fastest alone (the target is at most 1.2).

Each contender is a whole ``migrator migrate`` process (Spark start-up included) into a target keyspace
emptied first, so every contender creates its target tables; it starts once both servers are idle. Ends with one line
``RESULT small_ratio=<x> large_ratio=<y> ...``.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml

from bench.load import create_tables, load
from bench.measure import settle
from scripts.localenv import require_services

KEYSPACE = "bench_mt"
ROOT = Path(__file__).resolve().parents[1]


def config(env: dict[str, str], table: str, folder: Path, name: str, include: list[str] | None = None) -> Path:
    common = {"keyspace": KEYSPACE, "consistencyLevel": "LOCAL_ONE"}
    tree: dict[str, Any] = {
        "source": {"type": "cassandra", "host": env["MIGRATOR_SOURCE_HOST"], "port": int(env["MIGRATOR_SOURCE_PORT"]),
                   "fetchSize": 5000, "preserveTimestamps": False, "table": table, **common,
                   **({"include": include} if include else {})},
        "target": {"type": "cassandra", "host": env["MIGRATOR_TARGET_HOST"], "port": int(env["MIGRATOR_TARGET_PORT"]),
                   "stripTrailingZerosForDecimals": False, **({} if "*" in table else {"table": table}), **common},
        "savepoints": {"path": str(folder / f"sp-{name}"), "intervalSeconds": 30, "autoResume": False},
    }
    path = folder / f"{name}.yaml"
    path.write_text(yaml.safe_dump(tree, sort_keys=False))
    return path


def run(path: Path, master: str) -> float:
    """Seconds one ``migrator migrate`` process took; fails loudly on a non-zero exit.

    It starts once both servers are idle (``settle``), so no run pays for the last one's compactions.
    """
    settle()
    started = time.monotonic()
    done = subprocess.run([sys.executable, "-m", "migrator", "migrate", "--config", str(path), "--master", master],
                          cwd=ROOT, capture_output=True, text=True, check=False)
    seconds = time.monotonic() - started
    if done.returncode != 0:
        raise SystemExit(f"migrate {path.name} failed ({done.returncode}):\n{done.stderr[-3000:]}")
    return seconds


def empty_target(session: Any) -> None:
    session.execute(f"DROP KEYSPACE IF EXISTS {KEYSPACE}", timeout=300)
    session.execute(f"CREATE KEYSPACE {KEYSPACE} WITH replication = "
                    "{'class': 'SimpleStrategy', 'replication_factor': 1}", timeout=120)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.tables", description=__doc__.splitlines()[0])
    parser.add_argument("--small", type=int, default=100, help="small tables")
    parser.add_argument("--small-rows", type=int, default=1000)
    parser.add_argument("--separate", type=int, default=0, help="single-table runs timed (0: all of them)")
    parser.add_argument("--large-rows", type=int, default=500_000)
    parser.add_argument("--with-small", type=int, default=20, help="small tables run beside the large one")
    parser.add_argument("--only", choices=["small", "large"], help="run one of the two comparisons")
    parser.add_argument("--rounds", type=int, default=3, help="large alone and with small tables, alternated")
    parser.add_argument("--master", default="local[*]")
    parser.add_argument("--reuse-source", action="store_true", help="keep the source tables of an earlier run")
    args = parser.parse_args(argv)

    from migrator.backends.cassandra.connection import ConnectionSpec, connect
    from migrator.spark import create_session

    env = require_services("bench.tables")
    source = ConnectionSpec("source", env["MIGRATOR_SOURCE_HOST"], int(env["MIGRATOR_SOURCE_PORT"]))
    target = ConnectionSpec("target", env["MIGRATOR_TARGET_HOST"], int(env["MIGRATOR_TARGET_PORT"]))
    src, tgt = connect(source), connect(target)
    small = [f"small_{i:03d}" for i in range(args.small)]
    if not args.reuse_source:
        spark = create_session(args.master, {"spark.ui.enabled": "false"}, app_name="bench-load")
        try:
            for number, table in enumerate(["large", *small]):
                create_tables(src, KEYSPACE, table, "narrow")
                load(spark, source, KEYSPACE, table, "narrow", args.large_rows if table == "large" else args.small_rows,
                     seed=number)
        finally:
            spark.stop()
    folder = Path(tempfile.mkdtemp(prefix="bench-tables-"))

    together = separate = alone = mixed = float("nan")
    if args.only != "large":
        together, separate = compare_small(env, tgt, folder, small, args)
    if args.only != "small":
        alone, mixed = compare_large(env, tgt, folder, small, args)
    src.cluster.shutdown()
    tgt.cluster.shutdown()
    print(f"RESULT small_ratio={separate / together:.2f} large_ratio={mixed / alone:.2f} "
          f"small_one_run_s={together:.1f} small_separate_s={separate:.1f} large_alone_s={alone:.1f} "
          f"large_with_small_s={mixed:.1f}")
    return 0


def compare_small(env: dict[str, str], tgt: Any, folder: Path, small: list[str], args: Any) -> tuple[float, float]:
    """Seconds of one run over every small table, and of one run per table (measured or extrapolated)."""
    empty_target(tgt)
    together = run(config(env, "small_*", folder, "small-all"), args.master)
    print(f"small: {args.small} tables in one run: {together:.1f} s", flush=True)
    timed = small[: args.separate or len(small)]
    empty_target(tgt)
    each = [run(config(env, table, folder, f"one-{table}"), args.master) for table in timed]
    separate = sum(each) / len(each) * len(small)
    how = "timed" if len(timed) == len(small) else f"{len(timed)} timed, mean x {len(small)}"
    print(f"small: {args.small} single-table runs: {separate:.1f} s ({how}; each {min(each):.1f}-{max(each):.1f} s)",
          flush=True)
    return together, separate


def compare_large(env: dict[str, str], tgt: Any, folder: Path, small: list[str], args: Any) -> tuple[float, float]:
    """The fastest seconds of the large table alone, and with small tables beside it in one run."""
    beside = small[: args.with_small]
    alone_runs, mixed_runs = [], []
    for round_ in range(args.rounds):  # alternated: this machine's speed drifts within minutes
        empty_target(tgt)
        alone_runs.append(run(config(env, "large", folder, "large"), args.master))
        empty_target(tgt)
        mixed_runs.append(run(config(env, "*", folder, "large-small", include=["large", *beside]), args.master))
        print(f"large, round {round_ + 1}: {args.large_rows:,} rows alone {alone_runs[-1]:.1f} s, with "
              f"{len(beside)} small tables in one run {mixed_runs[-1]:.1f} s "
              f"({mixed_runs[-1] / alone_runs[-1]:.2f})", flush=True)
    return min(alone_runs), min(mixed_runs)


if __name__ == "__main__":
    sys.exit(main())
