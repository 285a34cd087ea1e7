"""Reconcile's changes for a CQL production table: a CQL file to review, applied by read-compare-write.

Pack file ``<keyspace.table>.cql``: each change is a comment line holding its check
(``-- change {"op", "key", "where", "expect", "want", "why"}``) followed by its statement, exactly as
``apply`` executes it: ``INSERT INTO ... VALUES (<literals>);`` with every compared column of dev's
row (a null is written as ``null``, so production takes dev's row whole), or ``DELETE FROM ... WHERE
<key>;``. Literals are exact for every type (``literals``). A delete the config does not allow is
written commented out (``-- DELETE ...``) and is not applied. Statements carry no ``USING
TIMESTAMP``: the coordinator's time makes the write newer than what production holds.

Applying a batch is a **read-compare**, then a write: each production row is read by its key with
the selectors ``diff`` read it with and digested the same way (``digest.RowDigester``); a row that
still has the digest the change was decided on gets the statement, one that already has the digest
the change wants is left alone, any other is skipped and reported. Lightweight transactions
(``IF``) are not used: they cannot be combined with the row digest, and each costs four round trips
through Paxos. The window between the read and the write is one batch's round trip.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from typing import Any

from migrator.backends.cassandra.literals import statement_delete, statement_insert, where
from migrator.reconcile.changes import DELETE, Change, classify

MARK = "-- change "
CONCURRENCY = 32


class CqlChanges:
    """The ``ChangeFormat`` of a CQL production table."""

    extension = "cql"

    def __init__(self, config: Any) -> None:
        self.config = config
        target = config.target
        from migrator.backends.cassandra import cql

        self.qualified = f"{cql.quote(target.keyspace)}.{cql.quote(target.table)}"

    def header(self, table: str, dev: str, production: str) -> list[str]:
        """Comment lines opening the pack file."""
        return [f"-- migrator reconcile pack: dev {dev} -> production {production}",
                "-- each change: a '-- change' line (its key, production's digest at diff time as 'expect', null when",
                "-- the row must be absent, and the digest it leaves as 'want'), then the statement apply executes.",
                "-- statements commented out are not applied (deletes, unless reconcile.allowDeletes)"]

    def render(self, change: Change) -> str:
        """The check line and the statement (commented out when disabled)."""
        row = change.row or {}
        key = {name: row[name] for name in change.key if name in row}
        meta = json.dumps({"op": change.op, "key": change.key, "where": where(key), "expect": change.expect,
                           "want": change.want, "why": change.why}, ensure_ascii=False, default=str)
        statement = statement_delete(self.qualified, key) if change.op == DELETE else statement_insert(self.qualified,
                                                                                                        row)
        return f"{MARK}{meta}\n{'' if change.enabled else '-- '}{statement}\n"

    def parse(self, lines: Iterable[str]) -> Iterator[Change]:
        """The enabled changes: each check line with the statement after it."""
        meta: dict[str, Any] | None = None
        for line in lines:
            if line.startswith(MARK):
                meta = json.loads(line[len(MARK):])
                continue
            text = line.strip()
            if meta is None or not text or text.startswith("--"):
                if text.startswith("--"):
                    meta = None  # a disabled statement: its check goes with it
                continue
            yield Change(meta["op"], meta["key"], meta["expect"], meta["want"],
                         {"statement": text, "where": meta["where"]}, meta.get("why", ""))
            meta = None

    def applier(self) -> CqlApplier:
        """Connections to production, and the layout diff read its rows with."""
        return CqlApplier(self)


class CqlApplier:
    """Read-compare-write of change batches against the production table."""

    def __init__(self, fmt: CqlChanges) -> None:
        from migrator.backends.cassandra.connection import cached_session
        from migrator.backends.cassandra.prepare import prepare
        from migrator.backends.cassandra.rowdiff import RowDiffer
        from migrator.reconcile.diff import comparison_settings

        config = fmt.config
        settings = comparison_settings(config)
        run = prepare(config, parallelism=1)
        try:
            from migrator.backends.cassandra.compare_plan import build_compare_plan

            self.plan = build_compare_plan(run.sides(), settings, run.source_user_types(), digests=True)
        finally:
            run.close()
        self.fmt = fmt
        self.raw = cached_session(self.plan.target, raw=True)
        self.session = cached_session(self.plan.target)
        self.digester = RowDiffer(self.plan.columns, self.plan.settings, self.plan.user_types).tgt_digest
        self.consistency = self.plan.target_consistency

    def apply(self, changes: list[Change], *, dry_run: bool = False) -> list[str]:
        """Each change's outcome (``APPLIED``/``ALREADY``/``SKIPPED``); writes nothing with ``dry_run``."""
        outcomes, to_write = classify(changes, self._digests(changes))
        if to_write and not dry_run:
            self._run([change.row["statement"] for change in to_write if change.row is not None], self.session)
        return outcomes

    def close(self) -> None:
        """The sessions are the process's, shared; nothing to release."""

    def _digests(self, changes: list[Change]) -> list[str | None]:
        """Each change's production row digest now (None: no such row)."""
        selects = [f"SELECT {', '.join(self.plan.target_selectors)} FROM {self.plan.target_qualified} "
                   f"WHERE {c.row['where'] if c.row else ''}" for c in changes]
        results = self._run(selects, self.raw)
        return [self.digester.digest(rows[0]).hex() if rows else None for rows in results]

    def _run(self, statements: list[str], session: Any) -> list[list[Any]]:
        from cassandra.concurrent import execute_concurrent
        from cassandra.query import SimpleStatement

        from migrator.backends.cassandra.connection import consistency

        level = consistency(self.consistency)
        results = execute_concurrent(session, [(SimpleStatement(s, consistency_level=level), ()) for s in statements],
                                     concurrency=CONCURRENCY, raise_on_first_error=True)
        return [list(result.result_or_exc) for result in results]
