"""``python -m bench.profile --table narrow_1000000 [--preserve]``: where a worker's CPU goes.

Runs the executor side of migrate and of validate in this one process, without Spark, under
cProfile, over the first splits of a table the benchmark loaded (its target copy must exist for
validate: run ``python -m bench`` first). Prints the functions with the most own time. The
Cassandra servers' own CPU is not in a Python profile; the benchmark's ``cpu s`` columns show it.
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
    args = parser.parse_args(argv)

    from migrator.backends.base import MIGRATE, VALIDATE
    from migrator.config import load_config
    from migrator.runner import open_run
    from migrator.validate import require_validation

    env = require_services("bench.profile")
    with tempfile.TemporaryDirectory() as tmp:
        copy_cfg = load_config(config_text(env, args.table, args.splits, tmp, target_table=f"{args.table}_profile",
                                           preserve=args.preserve))
        copying = open_run(copy_cfg.model, parallelism=2, kind=MIGRATE)
        copy = copying.copy_task()
        work = copying.pending()[: args.ranges]
        copying.close()
        check_cfg = load_config(config_text(env, args.table, args.splits, tmp))
        comparing = open_run(check_cfg.model, parallelism=2, kind=VALIDATE)
        compare = comparing.compare_task(require_validation(check_cfg.model))
        comparing.close()
    for name, run in (
        ("migrate", lambda: [copy(w) for w in work]),
        ("validate", lambda: [compare(w) for w in work]),
    ):
        profiler = cProfile.Profile()
        profiler.enable()
        results = run()
        profiler.disable()
        print(f"=== {name}: {len(work)} of {args.splits} splits: {results[:1]}...")
        pstats.Stats(profiler, stream=sys.stdout).sort_stats("tottime").print_stats(args.top)
    return 0


if __name__ == "__main__":
    sys.exit(main())
