"""Reconcile's changes for a CQL production table: a CQL file to review, applied by read-compare-write.

Pack file ``<keyspace.table>.cql``: each change is a comment line holding its check
(``-- change {"op", "key", "where", "expect", "want", "why"}``) followed by its statement, exactly as
``apply`` executes it: ``INSERT INTO ... VALUES (<literals>);`` with every compared column of dev's
row (a null is written as ``null``, so production takes dev's row whole), or ``DELETE FROM ... WHERE
<key>;``. Literals are exact for every type (``literals``). A delete the config does not allow is
written commented out (``-- DELETE ...``) and is not applied; so is a change to a partition holding
only static cells (its clustering columns are null, so no statement can name it as a row).

Statements carry no ``USING TIMESTAMP``: the coordinator's time makes the write newer than what
production holds, except where production's newest cell is timestamped ahead of the diff's clock:
then ``USING TIMESTAMP`` just after it (``at.after``), or the write would be shadowed.

Applying a batch is a **read-compare**, then a write. Each check line carries the row's token and
key bytes (``at``, written by ``diff``), so production is read the way validate reads it:

* the batch is cut into runs of ascending token (``diff`` wrote the changes in token order) and
  each run's token range is scanned once, with the selectors ``diff`` read production with; a run
  whose range holds more than ``RANGE_ROWS_PER_CHANGE`` rows per change (sparse changes) is read
  row by row instead, by a prepared select of its key bytes, routed to a replica;
* each row found is digested the same way (``digest.RowDigester``); a row that still has the digest
  the change was decided on gets the statement, one that already has the digest the change wants is
  left alone, any other is skipped and reported;
* the statements to execute go out as unlogged batches of neighbouring tokens.

Lightweight transactions (``IF``) are not used: they cannot be combined with the row digest, and
each costs four round trips through Paxos. The window between the read and the write is one
batch's round trips. A check line without ``at`` (a pack edited by hand) is read by its literal key.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from typing import Any

from migrator.backends.cassandra.literals import statement_delete, statement_insert, where
from migrator.reconcile.changes import DELETE, Change, classify
from migrator.report.view import encoder

MARK = "-- change "
CONCURRENCY = 32
MIN_TOKEN = -(2**63)  # Murmur3's lowest token, which no partition has
RANGE_ROWS_PER_CHANGE = 24  # a run's range scan gives up past this many rows per change: point reads then
RANGE_SLACK_ROWS = 200
STATEMENTS_PER_BATCH = 32
BATCH_TEXT_BYTES = 32 * 1024
_META = encoder(ensure_ascii=False, default=str)  # built once: json.dumps with options builds one per call


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
        meta = _META({"op": change.op, "key": change.key, "where": where(key), "expect": change.expect,
                             "want": change.want, "why": change.why,
                             **({"at": change.address} if change.address else {})})
        after = (change.address or {}).get("after")  # production's cells are timestamped ahead of the diff
        statement = (statement_delete(self.qualified, key, after) if change.op == DELETE
                     else statement_insert(self.qualified, row, after))
        if any(text == "null" for text in key.values()):  # a key literal is null only for static-cells-only rows
            return (f"-- not applied: a partition holding only static cells (no clustering row) is not reconciled; "
                    f"make this change by hand if wanted\n-- {statement}\n")
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
                         {"statement": text, "where": meta["where"]}, meta.get("why", ""), address=meta.get("at"))
            meta = None

    def applier(self) -> CqlApplier:
        """Connections to production, and the layout diff read its rows with."""
        return CqlApplier(self)


class CqlApplier:
    """Read-compare-write of change batches against the production table (see the module docstring)."""

    def __init__(self, fmt: CqlChanges) -> None:
        from migrator.backends.cassandra.compare_plan import build_compare_plan
        from migrator.backends.cassandra.connection import cached_session, consistency, prepared
        from migrator.backends.cassandra.prepare import prepare
        from migrator.backends.cassandra.rowdiff import RowDiffer
        from migrator.reconcile.diff import comparison_settings

        config = fmt.config
        run = prepare(config, parallelism=1)
        try:
            self.plan = build_compare_plan(run.sides(), comparison_settings(config), run.source_user_types(),
                                           digests=True)
        finally:
            run.close()
        self.fmt = fmt
        self.raw = cached_session(self.plan.target, raw=True)
        self.session = cached_session(self.plan.target)
        self.digester = RowDiffer(self.plan.columns, self.plan.settings, self.plan.user_types).tgt_digest
        self.level = consistency(self.plan.target_consistency)
        self.by_range = prepared(self.raw, self.plan.target_select)
        self.by_key = prepared(self.raw, self.plan.target_by_key)
        for stmt in (self.by_range, self.by_key):
            stmt.consistency_level = self.level
        self.keys = self.plan.partition_key + self.plan.clustering
        self.ranges = self.plan.partitioner == "Murmur3Partitioner"

    def apply(self, changes: list[Change], *, dry_run: bool = False) -> list[str]:
        """Each change's outcome (``APPLIED``/``ALREADY``/``SKIPPED``); writes nothing with ``dry_run``."""
        outcomes, to_write = classify(changes, self._digests(changes))
        if to_write and not dry_run:
            self._write(to_write)
        return outcomes

    def close(self) -> None:
        """The sessions are the process's, shared; nothing to release."""

    # --- reading production ---

    def _digests(self, changes: list[Change]) -> list[str | None]:
        """Each change's production row digest now (None: no such row)."""
        found: dict[tuple[str | None, ...], str] = {}
        located = [c for c in changes if c.address]
        if self.ranges:
            located = [c for run in token_runs(located) if not self._read_range(run, found) for c in run]
        self._read_by_key(located, found)
        literal = iter(self._read_literal([c for c in changes if not c.address]))
        return [found.get(_key_of(c)) if c.address else next(literal) for c in changes]

    def _read_range(self, changes: list[Change], found: dict[tuple[str | None, ...], str]) -> bool:
        """Digest the rows of one token run with a range scan; False when it holds too many other rows."""
        from migrator.backends.cassandra.scan import scan_pages

        tokens = [_token(c) for c in changes]
        low, high = max(min(tokens) - 1, MIN_TOKEN), max(tokens)
        wanted = {_key_of(c) for c in changes}
        budget = RANGE_ROWS_PER_CHANGE * len(changes) + RANGE_SLACK_ROWS
        seen: dict[tuple[str | None, ...], str] = {}
        for page in scan_pages(self.raw, self.by_range, (low, high), min(self.plan.fetch_size, budget + 1),
                              self.plan.target):
            budget -= len(page)
            if budget < 0:
                return False  # sparse: point reads cost less than scanning every row in between
            for row in page:
                key = tuple(cell.hex() if (cell := row[i]) is not None else None for i in self.keys)
                if key in wanted:
                    seen[key] = self.digester.digest(row).hex()
        found.update(seen)
        return True

    def _read_by_key(self, changes: list[Change], found: dict[tuple[str | None, ...], str]) -> None:
        """Digest rows one read each, by their key bytes (prepared, routed to a replica)."""
        from migrator.backends.cassandra.raw import bind_raw

        if not changes:
            return
        statements = [bind_raw(self.by_key, [bytes.fromhex(v) if v is not None else None for v in _key_of(c)])
                      for c in changes]
        for change, rows in zip(changes, self._run(statements, self.raw), strict=True):
            if rows:
                found[_key_of(change)] = self.digester.digest(rows[0]).hex()

    def _read_literal(self, changes: list[Change]) -> list[str | None]:
        """Digest rows by the pack's literal key (changes of a pack without key bytes)."""
        from cassandra.query import SimpleStatement

        select = f"SELECT {', '.join(self.plan.target_selectors)} FROM {self.plan.target_qualified} WHERE "
        statements = [SimpleStatement(select + (c.row["where"] if c.row else ""), consistency_level=self.level)
                      for c in changes]
        return [self.digester.digest(rows[0]).hex() if rows else None for rows in self._run(statements, self.raw)]

    # --- writing ---

    def _write(self, changes: list[Change]) -> None:
        """The pack's statements, as unlogged batches of neighbouring tokens (one request each)."""
        from cassandra.query import BatchStatement, BatchType, SimpleStatement

        ordered = sorted(changes, key=_token)
        batches: list[Any] = []
        batch, size = None, 0
        for change in ordered:
            assert change.row is not None
            text = change.row["statement"]
            if batch is None or len(batch) >= STATEMENTS_PER_BATCH or size + len(text) > BATCH_TEXT_BYTES:
                batch, size = BatchStatement(BatchType.UNLOGGED, consistency_level=self.level), 0
                batches.append(batch)
            batch.add(SimpleStatement(text))
            size += len(text)
        self._run(batches, self.session)

    def _run(self, statements: list[Any], session: Any) -> list[list[Any]]:
        from cassandra.concurrent import execute_concurrent

        for statement in statements:
            statement.is_idempotent = True  # every read is; every write is too (whole rows, deletes by key)
        results = execute_concurrent(session, [(s, ()) for s in statements], concurrency=CONCURRENCY,
                                     raise_on_first_error=True)
        return [list(result.result_or_exc) for result in results]


def token_runs(changes: list[Change]) -> list[list[Change]]:
    """``changes`` cut where the token goes down: each run is in ascending token order (diff wrote them so)."""
    runs: list[list[Change]] = []
    last = None
    for change in changes:
        token = _token(change)
        if last is None or token < last:
            runs.append([])
        runs[-1].append(change)
        last = token
    return runs


def _token(change: Change) -> int:
    """The change's token, as the pack's ``at`` holds it (0 for a change without one)."""
    return int((change.address or {}).get("token", 0))


def _key_of(change: Change) -> tuple[str | None, ...]:
    """The change's key bytes (hex), as the pack's ``at`` holds them."""
    return tuple((change.address or {}).get("key", ()))
