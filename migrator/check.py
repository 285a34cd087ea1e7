"""``migrator check``: validate the config, connect to both sides and describe the plan.

Nothing is written: a missing target table is reported as "would be created", with the CQL.
"""

from __future__ import annotations

from typing import Any

from migrator import cqlplan
from migrator.backends.cassandra.plan import COUNTER, PLAIN, PRESERVE

DEFAULT_CHECK_PARALLELISM = 2


def check(loaded: Any, *, parallelism: int | None = None) -> str:
    """Prepare the run without writing anything and return its description."""
    config = loaded.model
    ctx = cqlplan.prepare(config, parallelism=parallelism or _local_cores())
    try:
        return describe(ctx)
    finally:
        ctx.close()


def _local_cores() -> int:
    import os

    return os.cpu_count() or DEFAULT_CHECK_PARALLELISM


def describe(ctx: cqlplan.RunContext) -> str:
    """The plan as text: both sides, the mode, each column's mapping, the target table and ranges."""
    src, tgt = ctx.source_schema, ctx.target_schema
    renames = ctx.renames
    mode = COUNTER if src.is_counter_table else PRESERVE if ctx.config.source.preserve_timestamps else PLAIN
    lines = [
        f"source: {ctx.source_identity} at {ctx.source_spec.address} ({ctx.partitioner.short_name})",
        f"target: {ctx.target_identity} at {ctx.target_spec.address}",
        f"mode:   {mode}",
        "columns:",
    ]
    for col in src.columns:
        name = renames.get(col.name, col.name)
        arrow = f" -> {name}" if name != col.name else ""
        how = next((m.how for m in ctx.compat.mappings if m.source.name == col.name), "")
        converted = ", " + how if how == "convert" else ""
        lines.append(f"  {col.name}{arrow}: {col.cql_type} ({col.kind}{converted})")
    if tgt is None:
        lines.append("target table: missing, would be created with:")
        lines += [f"  {stmt};" for stmt in ctx.create_statements]
    else:
        lines.append("target table: exists and is compatible")
    plan = ctx.plan
    partly = f", {sum(1 for w in plan.pending if w.partial)} of them partly done" if plan.pending else ""
    lines.append(
        f"ranges: {len(plan.all_ranges)} (splitCount), {plan.done_count} already done, "
        f"{len(plan.pending)} to copy{partly}"
    )
    for warning in ctx.warnings:
        lines.append(f"note: {warning}")
    lines.append("nothing was written")
    return "\n".join(lines)
