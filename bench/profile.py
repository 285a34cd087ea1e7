"""``python -m bench.profile --table narrow_1000000 --rows 200000``: where a worker's CPU goes.

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
from migrator.localenv import require_services


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.profile", description=__doc__.splitlines()[0])
    parser.add_argument("--table", default="narrow_1000000", help=f"a table in the {KEYSPACE} keyspace of both")
    parser.add_argument("--splits", type=int, default=16)
    parser.add_argument("--ranges", type=int, default=3, help="how many of the splits to run")
    parser.add_argument("--top", type=int, default=25)
    args = parser.parse_args(argv)

    from migrator import cqlplan
    from migrator.backends.cassandra.compare import compare_range
    from migrator.backends.cassandra.copier import copy_pieces
    from migrator.config import load_config
    from migrator.validate import _user_types, build_compare_plan

    env = require_services("bench.profile")
    with tempfile.TemporaryDirectory() as tmp:
        copy_cfg = load_config(config_text(env, args.table, args.splits, tmp, target_table=f"{args.table}_profile"))
        ctx = cqlplan.prepare(copy_cfg.model, parallelism=2, kind="migrate")
        from migrator.migrate import _ensure_target, user_type_fields

        _ensure_target(ctx)
        copy_plan = ctx.copy_plan(user_type_fields=user_type_fields(ctx))
        ctx.close()
        check_cfg = load_config(config_text(env, args.table, args.splits, tmp))
        vctx = cqlplan.prepare(check_cfg.model, parallelism=2, kind="validate")
        compare_plan = build_compare_plan(vctx, check_cfg.model.validation, _user_types(vctx))
        vctx.close()
    work = ctx.plan.pending[: args.ranges]
    for name, run in (
        ("migrate", lambda: [copy_pieces(copy_plan, [(p.start, p.end) for p in w.pieces]) for w in work]),
        ("validate", lambda: [compare_range(compare_plan, w.index, (w.split.start, w.split.end),
                                            [(p.start, p.end) for p in w.pieces]) for w in work]),
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
