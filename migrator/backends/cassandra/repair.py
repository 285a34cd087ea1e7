"""Repairs found by validation: copy missing or differing rows, delete rows only in the target.

Copies reuse the migration writers (same modes, same guarantees): the source row is re-read by its
primary key in the copy plan's layout and written as the copy job would write it, with the write
timestamp chosen by ``repairWritetimeStrategy`` (baked into the copy plan by the driver). Deletes are
plain ``DELETE`` statements at the coordinator's time, so they win over the rows they remove. A
differing row repaired with a chosen timestamp (coordinator or config strategy) is first cleared
just below that timestamp, so values the target has and the source does not (extra collection
elements, cells the source has as null) go too.
"""

from __future__ import annotations

from typing import Any

from migrator.backends.cassandra.compare_plan import ComparePlan, row_key
from migrator.backends.cassandra.connection import cached_session, consistency, prepared
from migrator.backends.cassandra.copier import make_writer
from migrator.backends.cassandra.raw import bind_raw, encode_bigint
from migrator.backends.cassandra.window import WriteWindow
from migrator.report.model import DIFFERING, EXTRA, MISSING, RangeResult

REPAIR_NAMES = {MISSING: "copiedMissing", DIFFERING: "copiedDiffering", EXTRA: "deletedExtra"}


class Repairer:
    """One per compared range; ``finish`` returns once every repair write was acknowledged."""

    def __init__(self, plan: ComparePlan, result: RangeResult) -> None:
        assert plan.repair is not None, "repairs need the plan's copy plan"
        self.plan = plan
        self.copy = plan.repair
        self.result = result
        self.src = cached_session(self.copy.source, raw=True)
        self.tgt = cached_session(self.copy.target, raw=True)
        self.by_key = prepared(self.src, self.copy.select_by_key)
        self.by_partition = prepared(self.src, self.copy.select_by_partition)
        for stmt in (self.by_key, self.by_partition):
            stmt.consistency_level = consistency(self.copy.source_consistency)
        self.writer = make_writer(self.copy, self.tgt, self.by_key)
        target = self.copy.target
        self.deletes = WriteWindow(self.tgt, self.copy.max_in_flight, target.retry,
                                   f"the target cluster at {target.address}")

    def repair(self, kind: str, row: Any) -> None:
        """Copy the source row for a missing/differing one, delete an extra one."""
        p = self.plan
        static_only, key = row_key(p, row)
        if kind == EXTRA:
            cql = p.delete_partition_cql if static_only else p.delete_cql
            stmt = prepared(self.tgt, cql)
            stmt.consistency_level = consistency(self.copy.target_consistency)
            self.deletes.submit(bind_raw(stmt, key))
        else:
            stamp = self.copy.timestamp_override if self.copy.timestamp_override is not None \
                else self.copy.constant_timestamp
            if kind == DIFFERING and stamp is not None and not static_only:
                # clear what the target holds (extra collection elements included) just below the repair's time
                stmt = prepared(self.tgt, p.clear_cql)
                stmt.consistency_level = consistency(self.copy.target_consistency)
                self.deletes.submit(bind_raw(stmt, [encode_bigint(stamp - 1), *key]))
            source_row = self.src.execute(bind_raw(self.by_partition if static_only else self.by_key, key)).one()
            if source_row is None:  # deleted on the source since the scan: nothing to copy
                return
            self.writer.write_row(tuple(source_row))
        name = REPAIR_NAMES[kind]
        self.result.repaired[name] = self.result.repaired.get(name, 0) + 1

    def finish(self) -> None:
        """Wait for every repair write."""
        self.writer.finish()
        self.deletes.drain()
