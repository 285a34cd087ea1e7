"""``python -m bench --rows N --shape narrow|wide|collections|lists [--preserve]``: time migrate and validate.

Runs against the local services (``scripts/services up``): loads N rows into the source, times
``migrate`` into an empty target table and ``validate`` of the result, samples peak memory, and ends
with one line ``RESULT migrate_ratio=<x> validate_ratio=<y> migrate_rows_per_s=<a> validate_rows_per_s=<b>``
(plus ``preserve_cost=<c>`` with ``--preserve``). The ratios compare with the Spark Cassandra
Connector yardstick (on Spark 3.5 only, else n/a): its plain DataFrame copy, or with ``--preserve``
its copy with per-row WRITETIME and TTL, upstream's method (none exists for non-frozen collections,
whose elements each carry their own). With ``--preserve`` the same run also times a plain-mode
migrate of the same rows, and ``preserve_cost`` is plain rows/s over preserve rows/s. With
``--reconcile`` target rows (all, or the ``--diverge`` share) are then rewritten with other values,
and ``validate``, ``diff`` and ``apply`` of its pack are timed on the diverged tables
(``diff_vs_validate``; ``apply_vs_migrate`` compares rows written per second).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

from bench import yardstick
from bench.load import create_tables, load
from bench.measure import Phase, settle
from bench.reconcile import changed_rows, phase_rows, ratios, time_phases
from bench.resume import kill_and_resume
from bench.shapes import SHAPES, Shape
from scripts.localenv import require_services

KEYSPACE = "bench"


def config_text(env: dict[str, str], table: str, splits: int, savepoints: str, target_table: str = "",
                fetch_size: int = 5000, preserve: bool = False, reconcile: dict[str, Any] | None = None) -> str:
    common = {"keyspace": KEYSPACE, "consistencyLevel": "LOCAL_ONE"}
    return yaml.safe_dump({
        "source": {"type": "cassandra", "host": env["MIGRATOR_SOURCE_HOST"], "port": int(env["MIGRATOR_SOURCE_PORT"]),
                   "fetchSize": fetch_size, "preserveTimestamps": preserve, "splitCount": splits, "table": table,
                   **common},
        "target": {"type": "cassandra", "host": env["MIGRATOR_TARGET_HOST"], "port": int(env["MIGRATOR_TARGET_PORT"]),
                   "stripTrailingZerosForDecimals": False, "table": target_table or table, **common},
        "savepoints": {"path": savepoints, "intervalSeconds": 30},
        "validation": {"compareTimestamps": False, "ttlToleranceMillis": 0, "writetimeToleranceMillis": 0,
                       "failuresToFetch": 10, "floatingPointTolerance": 0.0, "timestampMsTolerance": 0},
        **({"reconcile": reconcile} if reconcile else {}),
    })


def warm_up(spark: Any, tgt_session: Any, source: Any, target: Any, table: str, shape: str,
            rows: int) -> None:
    """Untimed: let both servers' JITs warm up on reads and writes, so neither contender pays for it."""
    key = SHAPES[shape].key[0]

    def scan(_items: Any) -> None:  # in a Spark task, so that the driver's memory stays the migrator's
        from migrator.backends.cassandra.connection import cached_session
        from migrator.backends.cassandra.scan import scan_pages

        session = cached_session(source, raw=True)
        stmt = session.prepare(f"SELECT * FROM {KEYSPACE}.{table} WHERE token({key}) > ?")
        for _page in scan_pages(session, stmt, [-(2**63)], 5000):
            pass

    spark.sparkContext.parallelize([0], 1).foreachPartition(scan)
    warm = f"{table}_warmup"
    tgt_session.execute(f"DROP TABLE IF EXISTS {KEYSPACE}.{warm}", timeout=120)
    tgt_session.execute(f"CREATE TABLE {KEYSPACE}.{warm} {SHAPES[shape].columns}", timeout=120)
    load(spark, target, KEYSPACE, warm, shape, min(rows, 200_000))
    tgt_session.execute(f"DROP TABLE {KEYSPACE}.{warm}", timeout=120)


def run_yardstick(spark: Any, tgt_session: Any, table: str, shape: Shape, rows: int,
                  timed: Callable[[str], Phase], preserve: bool) -> None:
    """The connector's copy (per-row WRITETIME and TTL with ``preserve``), compare, read-only scan and
    (narrow) write-only load, each timed."""
    key = list(shape.key)
    for suffix in ("scc", "sccw"):
        tgt_session.execute(f"DROP TABLE IF EXISTS {KEYSPACE}.{table}_{suffix}", timeout=120)
        tgt_session.execute(f"CREATE TABLE {KEYSPACE}.{table}_{suffix} {shape.columns}", timeout=120)
    with timed("scc copy"):
        if preserve:
            yardstick.copy_preserving(spark, KEYSPACE, table, f"{table}_scc", key, shape.cells)
        else:
            yardstick.copy(spark, KEYSPACE, table, f"{table}_scc")
    with timed("scc compare"):
        found = yardstick.compare(spark, KEYSPACE, table, table, key)
    assert found["rows"] == rows and found["missing"] == found["extra"] == found["differing"] == 0, found
    with timed("scc scan"):
        assert yardstick.scan(spark, KEYSPACE, table) == rows
    if shape.name == "narrow":
        with timed("scc write"):
            yardstick.write_only(spark, KEYSPACE, f"{table}_sccw", rows)


def resume_check(env: dict[str, str], spark: Any, tgt_session: Any, table: str, args: Any,
                 work: Path) -> dict[str, Any]:
    """SIGKILL a migration half way, resume it, validate (see ``bench.resume``)."""
    from migrator.config import load_config
    from migrator.validate import validate

    target = f"{table}_resume"
    tgt_session.execute(f"DROP TABLE IF EXISTS {KEYSPACE}.{target}", timeout=120)
    savepoints = work / "resume-savepoints"
    config = work / "resume.yaml"
    config.write_text(config_text(env, table, args.splits, str(savepoints), target_table=target,
                                  fetch_size=args.fetch_size, preserve=args.preserve))
    settle(limit_seconds=args.settle_limit)
    measured = kill_and_resume(config, savepoints, tgt_session, f"{KEYSPACE}.{target}", args.master, work)
    report = validate(load_config(config), spark)
    assert report.equal and report.counts.sourceRows == args.rows, report.counts
    tgt_session.execute(f"DROP TABLE {KEYSPACE}.{target}", timeout=120)
    return measured


def time_reconcile(env: dict[str, str], spark: Any, sessions: tuple[Any, Any], specs: tuple[Any, Any], table: str,
                   args: Any, tmp: str, timed: Callable[[str], Phase]) -> None:
    """The first ``--diverge`` share of target rows rewritten with other values, then validate, diff, apply, timed."""
    from migrator.config import load_config

    source, target = specs

    def same_rows(n: int) -> Any:
        small = f"{table}_n{n}"
        create_tables(sessions[0], KEYSPACE, small, args.shape)
        load(spark, source, KEYSPACE, small, args.shape, n)
        sessions[1].execute(f"DROP TABLE IF EXISTS {KEYSPACE}.{small}", timeout=120)
        return load_config(config_text(env, small, args.splits, f"{tmp}/same", fetch_size=args.fetch_size))

    load(spark, target, KEYSPACE, table, args.shape, changed_rows(args.rows, args.diverge), seed=1)
    output = Path(tmp) / "reconcile"
    loaded = load_config(config_text(env, table, args.splits, tmp, fetch_size=args.fetch_size,
                                     reconcile={"output": str(output), "strategy": "theirs"}))
    time_phases(spark, loaded, output, changed_rows(args.rows, args.diverge), timed,
                same_rows if args.diverge < 1 else None, args.rounds,
                lambda: load(spark, target, KEYSPACE, table, args.shape, changed_rows(args.rows, args.diverge), seed=1))


def rate(rows: int, seconds: float) -> float:
    return rows / seconds if seconds > 0 else 0.0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--shape", choices=sorted(SHAPES), default="narrow")
    parser.add_argument("--splits", type=int, default=16, help="splitCount for migrate and validate")
    parser.add_argument("--master", default="local[*]")
    parser.add_argument("--fetch-size", type=int, default=5000, help="rows per page, for both contenders")
    parser.add_argument("--preserve", action="store_true",
                        help="copy with preserveTimestamps: true (each cell's WRITETIME and TTL)")
    parser.add_argument("--no-yardstick", dest="yardstick", action="store_false",
                        help="time only the migrator (e.g. for a second size)")
    parser.add_argument("--no-resume-check", dest="resume_check", action="store_false",
                        help="skip the SIGKILL-and-resume measurement")
    parser.add_argument("--reconcile", action="store_true",
                        help="also time reconcile: target rows rewritten, then validate, diff and apply")
    parser.add_argument("--diverge", type=float, default=1.0,
                        help="with --reconcile: the share of target rows rewritten (in conflict)")
    parser.add_argument("--rounds", type=int, default=1,
                        help="with --reconcile: validate and diff alternate N times, then apply and its migrate "
                             "(production re-diverged before each apply); the fastest of each counts")
    parser.add_argument("--reuse-source", action="store_true",
                        help="keep the source table of an earlier run with the same --rows and --shape (no load)")
    parser.add_argument("--settle-limit", type=float, default=180.0, metavar="SECONDS",
                        help="the longest wait for idle databases before each timed phase (a smoke run that "
                             "compares no timings needs none)")
    parser.add_argument("--fresh-workers", action="store_true",
                        help="a new Python worker for every task (each phase's own worker memory peak; slower)")
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
    why_not = yardstick.available() if args.yardstick else "--no-yardstick"
    shape = SHAPES[args.shape]
    if args.preserve and shape.multicell and why_not is None:
        why_not = (f"--preserve on {args.shape}: no connector copy preserves the WRITETIME and TTL of each "
                   "collection element; preserve_cost compares with our own plain mode")
    # Python workers are reused across tasks, as the migrator's commands run them; --fresh-workers gives
    # each task a new one, so that each phase's worker peak is its own (not the load phase's high-water
    # mark), at the price of every task importing and connecting again
    conf = {"spark.ui.enabled": "false", "spark.python.worker.reuse": "false" if args.fresh_workers else "true",
            **({} if why_not else yardstick.spark_conf(env, args.fetch_size))}
    spark = create_session(args.master, conf, app_name="migrator-bench")
    results: dict[str, Any] = {}

    def timed(name: str) -> Phase:
        """A phase that starts once the databases are idle again."""
        settle(limit_seconds=args.settle_limit)
        phase = Phase(name)
        results[name] = phase
        return phase

    try:
        src_session, tgt_session = connect(source), connect(target)
        if not args.reuse_source:
            create_tables(src_session, KEYSPACE, table, args.shape)
        create_tables(tgt_session, KEYSPACE, table, args.shape)
        tgt_session.execute(f"DROP TABLE {KEYSPACE}.{table}", timeout=120)  # migrate creates it
        if not args.reuse_source:
            with timed("load"):
                load(spark, source, KEYSPACE, table, args.shape, args.rows)
        warm_up(spark, tgt_session, source, target, table, args.shape, args.rows)
        with tempfile.TemporaryDirectory() as tmp:
            loaded = load_config(config_text(env, table, args.splits, tmp, fetch_size=args.fetch_size,
                                             preserve=args.preserve))
            with timed("migrate"):
                outcome = migrate(loaded, spark)
            assert outcome.rows == args.rows, f"migrated {outcome.rows} rows, expected {args.rows}"
            if args.preserve:
                plain_target = f"{table}_plain"
                tgt_session.execute(f"DROP TABLE IF EXISTS {KEYSPACE}.{plain_target}", timeout=120)
                plain = load_config(config_text(env, table, args.splits, f"{tmp}/plain", target_table=plain_target,
                                                fetch_size=args.fetch_size))
                with timed("migrate (plain)"):
                    assert migrate(plain, spark).rows == args.rows
                tgt_session.execute(f"DROP TABLE {KEYSPACE}.{plain_target}", timeout=120)
            with timed("validate"):
                report = validate(loaded, spark)
            assert report.equal and report.counts.sourceRows == args.rows, report.counts
            savepoint_cost = outcome.savepoints
            if args.resume_check:
                resumed = resume_check(env, spark, tgt_session, table, args, Path(tmp))
            if args.reconcile:
                time_reconcile(env, spark, (src_session, tgt_session), (source, target), table, args, tmp, timed)
        if why_not is None:
            run_yardstick(spark, tgt_session, table, shape, args.rows, timed, args.preserve)
        src_session.cluster.shutdown()
        tgt_session.cluster.shutdown()
    finally:
        spark.stop()
    mode = "preserve" if args.preserve else "plain"
    print(f"bench: {args.rows:,} {args.shape} rows, {mode} mode, splitCount {args.splits}, "
          f"fetch size {args.fetch_size}, master {args.master}")
    for name, phase in results.items():
        mem = ", ".join(f"{k} {v:,.0f}" for k, v in phase.peak_mib.items())
        cpu = ", ".join(f"{k} {v:,.0f}" for k, v in phase.cpu_seconds.items() if k != "dynamodb")
        handled = phase_rows(name, args.rows, changed_rows(args.rows, args.diverge))
        print(f"  {name:19s} {phase.seconds:8.1f} s {rate(handled, phase.seconds):10,.0f} rows/s"
              f"  peak MiB: {mem}  cpu s: {cpu}")
    print(f"  savepoints during migrate: {savepoint_cost}")
    if args.resume_check:
        print(f"  SIGKILL at {resumed['done_at_kill']}/{resumed['ranges_total']} splits done (per the savepoint), "
              f"2 executor slots: the resume re-did {resumed['redone']} split(s) that had rows written, "
              f"finished in {resumed['resume_seconds']:.1f} s, validation equal")
    m, v = rate(args.rows, results["migrate"].seconds), rate(args.rows, results["validate"].seconds)
    if why_not is not None:
        print(f"  yardstick (Spark Cassandra Connector) not run: {why_not}")
        mr = vr = "n/a"
    else:
        mr = f"{m / rate(args.rows, results['scc copy'].seconds):.2f}"
        vr = f"{v / rate(args.rows, results['scc compare'].seconds):.2f}"
    cost = ""
    if args.preserve:
        cost = f" preserve_cost={rate(args.rows, results['migrate (plain)'].seconds) / m:.2f}"
    if args.reconcile:
        cost += ratios(results, args.rows, changed_rows(args.rows, args.diverge))
    print(f"RESULT migrate_ratio={mr} validate_ratio={vr} migrate_rows_per_s={m:.0f} validate_rows_per_s={v:.0f}"
          + cost)
    return 0


if __name__ == "__main__":
    sys.exit(main())
