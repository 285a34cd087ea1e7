"""``python -m bench.profile --table narrow_1000000 [--preserve] [--diff]``: where a worker's CPU goes.

Runs the executor side of migrate and of validate in this one process, without Spark, under
cProfile, over the first splits of a table the benchmark loaded (its target copy must exist for
validate: run ``python -m bench`` first). Prints the functions with the most own time. The
Cassandra servers' own CPU is not in a Python profile; the benchmark's ``cpu s`` columns show it.

``--diff`` profiles reconcile's diff beside validate instead of migrate: the same comparison with
every difference written and rendered (strategy ``theirs``), as on a table a ``--reconcile`` bench
left diverged.

``--cpu N`` times instead of profiling: the phases alternate N rounds without the profiler, and each
phase's least CPU time of this process (threads included: the driver's I/O thread too) is printed
per row and per difference, and diff's cost over validate's per difference.
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import sys
import tempfile
import time
from collections.abc import Callable
from typing import Any

from bench.__main__ import KEYSPACE, config_text
from scripts.localenv import require_services


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.profile", description=__doc__.splitlines()[0])
    parser.add_argument("--table", default="narrow_1000000", help=f"a table in the {KEYSPACE} keyspace of both")
    parser.add_argument("--splits", type=int, default=16)
    parser.add_argument("--ranges", type=int, default=3, help="how many of the splits to run")
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--preserve", action="store_true", help="copy with preserveTimestamps: true")
    parser.add_argument("--diff", action="store_true", help="profile validate and diff (no migrate)")
    parser.add_argument("--cpu", type=int, default=0, metavar="N",
                        help="time N alternating rounds of each phase without the profiler, instead of profiling")
    args = parser.parse_args(argv)

    from migrator.backends.base import MIGRATE, VALIDATE
    from migrator.config import load_config
    from migrator.differences import DifferenceSink
    from migrator.reconcile.diff import comparison_settings, rendering_of
    from migrator.runner import open_run
    from migrator.validate import require_validation

    env = require_services("bench.profile")
    with tempfile.TemporaryDirectory() as tmp:
        check_cfg = load_config(config_text(env, args.table, args.splits, tmp,
                                            reconcile={"output": tmp, "strategy": "theirs"} if args.diff else None))
        comparing = open_run(check_cfg.model, parallelism=2, kind=VALIDATE)
        settings = require_validation(check_cfg.model)
        work = comparing.pending()[: args.ranges]
        phases = [("validate", comparing.compare_task(settings))]
        if args.diff:
            sink = DifferenceSink(tmp, digests=True, companion=rendering_of(check_cfg.model))
            phases.append(("diff", comparing.compare_task(comparison_settings(check_cfg.model), sink)))
        else:
            copy_cfg = load_config(config_text(env, args.table, args.splits, tmp,
                                               target_table=f"{args.table}_profile", preserve=args.preserve))
            copying = open_run(copy_cfg.model, parallelism=2, kind=MIGRATE)
            phases.insert(0, ("migrate", copying.copy_task()))
            copying.close()
        comparing.close()
        if args.cpu:
            cpu_rounds(phases, work, args.cpu)
            return 0
        for name, task in phases:
            profiler = cProfile.Profile()
            profiler.enable()
            results = [task(w) for w in work]
            profiler.disable()
            print(f"=== {name}: {len(work)} of {args.splits} splits: {results[:1]}...")
            pstats.Stats(profiler, stream=sys.stdout).sort_stats("tottime").print_stats(args.top)
    return 0


def cpu_rounds(phases: list[tuple[str, Callable[[Any], Any]]], work: list[Any], rounds: int) -> None:
    """Each phase's least process CPU over ``rounds`` alternating rounds, per row and per difference."""
    best: dict[str, float] = {}
    counts: dict[str, tuple[int, int]] = {}
    for n in range(rounds):
        for name, task in phases:
            started = time.process_time()
            results = [task(w) for w in work]
            spent = time.process_time() - started
            best[name] = min(best.get(name, spent), spent)
            counts[name] = (sum(r.source_rows for r in results),
                            sum(r.missing + r.extra + r.differing for r in results))
            print(f"round {n + 1} {name}: {spent:.2f} s CPU", flush=True)
    for name, spent in best.items():
        rows, found = counts[name]
        print(f"=== {name}: {rows} rows, {found} differences: {spent:.2f} s CPU, {spent / rows * 1e6:.1f} µs/row"
              + (f", {spent / found * 1e6:.1f} µs/difference" if found else ""))
    if "diff" in best and (found := counts["diff"][1]):
        extra = best["diff"] - best["validate"]
        print(f"=== diff - validate: {extra * 1e6 / found:.1f} µs/difference;"
              f" validate/diff CPU ratio {best['validate'] / best['diff']:.2f}")


if __name__ == "__main__":
    sys.exit(main())
