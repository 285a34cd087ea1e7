"""``python -m bench.profile --table narrow_1000000 [--preserve] [--diff]``: where a worker's CPU goes.

Runs the executor side of migrate and of validate in this one process, without Spark, under
cProfile, over the first splits of a table the benchmark loaded (its target copy must exist for
validate: run ``python -m bench`` first). Prints the functions with the most own time. The
Cassandra servers' own CPU is not in a Python profile; the benchmark's ``cpu s`` columns show it.

``--diff`` profiles reconcile's diff beside validate instead of migrate: the same comparison with
every difference written and rendered (strategy ``theirs``), as on a table a ``--reconcile`` bench
left diverged.
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import sys
import tempfile

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
        for name, task in phases:
            profiler = cProfile.Profile()
            profiler.enable()
            results = [task(w) for w in work]
            profiler.disable()
            print(f"=== {name}: {len(work)} of {args.splits} splits: {results[:1]}...")
            pstats.Stats(profiler, stream=sys.stdout).sort_stats("tottime").print_stats(args.top)
    return 0


if __name__ == "__main__":
    sys.exit(main())
