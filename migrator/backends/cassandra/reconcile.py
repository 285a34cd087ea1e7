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
key bytes (``at``, written by ``diff``), so production is read by the rows' own keys or token ranges,
whichever reads less:

* the batch is cut into runs of ascending token (``diff`` wrote the changes in token order). The
  first ``PROBE_CHANGES`` changes of a run are read with one range scan over their tokens; where
  that stretch held at most ``SCAN_ROWS_PER_CHANGE`` rows per change (dense changes), the rest of
  the run is scanned the same way. Only the compared cells are read (no write times: the digests
  are of values);
* otherwise (sparse changes, or a scan that finds more rows than that) the rows are read by key:
  up to ``KEYS_PER_READ`` partition keys in one ``IN`` (a table without clustering columns and a
  one-column partition key), the changed rows of one partition in one ``IN`` on the clustering
  columns, else one prepared select per row, each request routed to a replica of its first key.
  Measured on 200,000 rows with 20,000 to check: one scan of the table cost Cassandra 1.1 CPU-s,
  reads by key in ``IN`` groups of 32 to 100 keys 0.5 to 0.7, one select per row 7.2;
* each row found is digested the same way (``digest.RowDigester``); a row that still has the digest
  the change was decided on gets the statement, one that already has the digest the change wants is
  left alone, any other is skipped and reported;
* the statements to execute go out as unlogged batches of neighbouring tokens. A put whose check
  line holds dev's cell bytes (``cells``: where both sides' types are the same) and whose statement
  and cells still hash to its ``sum`` is bound to a prepared INSERT of the same columns instead of
  sent as text: the same write, which the server need not parse. An edited statement goes as text.

Lightweight transactions (``IF``) are not used: they cannot be combined with the row digest, and
each costs four round trips through Paxos. The window between the read and the write is one
batch's round trips. A check line without ``at`` (a pack edited by hand) is read by its literal key.
"""

from __future__ import annotations

import hashlib
import json
import re
import struct
from collections.abc import Iterable, Iterator
from typing import Any

from migrator.backends.cassandra.literals import statement_delete, statement_insert, where
from migrator.errors import ConfigError
from migrator.reconcile.changes import DELETE, Change, classify
from migrator.report.view import encoder

_INT64 = struct.Struct(">q")
_LINE_BREAK = re.compile(r"(\r\n|\r|\n)")
# a statement, up to its first ";" outside '...' strings and "..." names (each doubles its quote to escape it)
_STATEMENT = re.compile(r"""(?:[^'";]++|'(?:[^']++|'')*+'|"(?:[^"]++|"")*+")*+;""")  # possessive: no backtracking
MARK = "-- change "
CONCURRENCY = 32
MIN_TOKEN = -(2**63)  # Murmur3's lowest token, which no partition has
PROBE_CHANGES = 32  # a run's first changes, whose range scan tells how many rows lie between changes
SCAN_ROWS_PER_CHANGE = 8  # up to this many rows per change, a range scan reads less than reads by key
SCAN_SLACK_ROWS = 64  # a small run may scan this many rows more (its range is short anyway)
KEYS_PER_READ = 64  # keys in one IN (Scylla refuses more than 100 by default)
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
        at = change.address or {}
        after = at.get("after")  # production's cells are timestamped ahead of the diff
        statement = (statement_delete(self.qualified, key, after) if change.op == DELETE
                     else statement_insert(self.qualified, row, after))
        if any(text == "null" for text in key.values()):  # a key literal is null only for static-cells-only rows
            return (f"-- not applied: a partition holding only static cells (no clustering row) is not reconciled; "
                    f"make this change by hand if wanted\n{_commented(statement)}\n")
        if "cells" in at:  # a put's: what apply binds instead of the text, as long as neither was edited
            at = {**at, "sum": statement_sum(statement, at["cells"])}
        meta = _META({"op": change.op, "key": change.key, "where": where(key), "expect": change.expect,
                      "want": change.want, "why": change.why, **({"at": at} if at else {})})
        return f"{MARK}{meta}\n{statement if change.enabled else _commented(statement)}\n"

    def parse(self, lines: Iterable[str]) -> Iterator[Change]:
        """The enabled changes: each check line with the statement after it.

        A statement ends at its first ``;`` outside quotes, so one holding a text value with line
        breaks spans several lines, kept exactly (read the file with ``newline=""``). One that does
        not end before the next check line or the end of the file (a quote left open in an edit) is
        refused, naming it.
        """
        meta: dict[str, Any] | None = None
        pending: list[str] = []  # the lines so far of a statement that goes on
        for number, line in enumerate(lines, 1):
            if pending and not line.startswith(MARK):
                pending.append(line)
                text = "".join(pending).strip()
                if _STATEMENT.match(text):
                    pending = []
                    assert meta is not None
                    yield _change(meta, text)
                    meta = None
                continue
            if pending:
                raise _unended(pending, number)
            if line.startswith(MARK):
                meta = json.loads(line[len(MARK):])
                continue
            text = line.strip()
            if meta is None or not text or text.startswith("--"):
                if text.startswith("--"):
                    meta = None  # a disabled statement: its check goes with it
                continue
            if not _STATEMENT.match(text):
                pending = [line]
                continue
            yield _change(meta, text)
            meta = None
        if pending:
            raise _unended(pending, None)

    def applier(self) -> CqlApplier:
        """Connections to production, and the layout diff read its rows with."""
        return CqlApplier(self)


class CqlApplier:
    """Read-compare-write of change batches against the production table (see the module docstring)."""

    def __init__(self, fmt: CqlChanges) -> None:
        from migrator.backends.cassandra import cql
        from migrator.backends.cassandra.compare_plan import build_compare_plan
        from migrator.backends.cassandra.connection import cached_session, consistency, prepared
        from migrator.backends.cassandra.prepare import prepare
        from migrator.backends.cassandra.rowdiff import RowDiffer
        from migrator.reconcile.diff import comparison_settings

        config = fmt.config
        run = prepare(config, parallelism=1)
        try:
            # the cells' values only: the digests never hold write times or TTLs, so they are not read
            settings = comparison_settings(config).model_copy(update={"compare_timestamps": False})
            self.plan = build_compare_plan(run.sides(), settings, run.source_user_types())
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
        # a put whose statement and cells are as diff wrote them is bound to a prepared INSERT of these columns
        names = (*self.plan.key_names, *(c.name for c in self.plan.columns))
        self.insert_prefix = f"INSERT INTO {fmt.qualified} ({cql.column_list(names)}) VALUES ("
        values = f"{self.insert_prefix}{', '.join(['?'] * len(names))})"
        self.inserts = {False: prepared(self.session, values),
                        True: prepared(self.session, values + " USING TIMESTAMP ?")}

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
            located = [c for run in token_runs(located) for c in self._scan_run(run, found)]
        self._read_keys(located, found)
        literal = iter(self._read_literal([c for c in changes if not c.address]))
        return [found.get(_key_of(c)) if c.address else next(literal) for c in changes]

    def _scan_run(self, run: list[Change], found: dict[tuple[str | None, ...], str]) -> list[Change]:
        """Scan what of a token run is dense enough (see the module docstring); the changes left to read by key."""
        cut = min(PROBE_CHANGES, len(run))
        while cut < len(run) and _token(run[cut]) == _token(run[cut - 1]):
            cut += 1  # one partition's rows stay on one side: the second scan starts after the probe's last token
        head, rest = run[:cut], run[cut:]
        rows = self._scan(head, max(_token(head[0]) - 1, MIN_TOKEN), found)
        if rows is None:
            return run
        if not rest or rows > SCAN_ROWS_PER_CHANGE * len(head):
            return rest
        return [] if self._scan(rest, _token(head[-1]), found) is not None else rest

    def _scan(self, changes: list[Change], low: int, found: dict[tuple[str | None, ...], str]) -> int | None:
        """Digest the rows of ``changes`` with one scan of the tokens (low, last change's]; the rows it read.

        None, with nothing found, when the range holds more than ``SCAN_ROWS_PER_CHANGE`` rows per
        change (plus a little slack): reading those rows by key costs less.
        """
        from migrator.backends.cassandra.scan import scan_pages

        wanted = {_key_of(c) for c in changes}
        budget = SCAN_ROWS_PER_CHANGE * len(changes) + SCAN_SLACK_ROWS
        seen: dict[tuple[str | None, ...], str] = {}
        rows = 0
        for page in scan_pages(self.raw, self.by_range, (low, _token(changes[-1])),
                               min(self.plan.fetch_size, budget + 1), self.plan.target):
            rows += len(page)
            if rows > budget:
                return None
            for row in page:
                key = self._key_hex(row)
                if key in wanted:
                    seen[key] = self.digester.digest(row).hex()
        found.update(seen)
        return rows

    def _read_keys(self, changes: list[Change], found: dict[tuple[str | None, ...], str]) -> None:
        """Digest rows read by their key bytes, several keys per request where the table allows it."""
        from migrator.backends.cassandra.raw import bind_raw

        if not changes:
            return
        wanted = {_key_of(c) for c in changes}
        statements = [bind_raw(statement, values) for statement, values in self._requests(changes)]
        for rows in self._run(statements, self.raw):
            for row in rows:
                key = self._key_hex(row)
                if key in wanted:
                    found[key] = self.digester.digest(row).hex()

    def _key_hex(self, row: Any) -> tuple[str | None, ...]:
        """A read row's key bytes (hex), as the pack's ``at`` holds them."""
        return tuple(cell.hex() if (cell := row[i]) is not None else None for i in self.keys)

    def _requests(self, changes: list[Change]) -> Iterator[tuple[Any, list[bytes | None]]]:
        """The prepared selects, with their values, that read ``changes``' rows (see the module docstring)."""
        keys = [_key_of(c) for c in changes]
        n_pk = len(self.plan.partition_key)
        if not self.plan.clustering and n_pk == 1:
            for i in range(0, len(keys), KEYS_PER_READ):
                group = keys[i:i + KEYS_PER_READ]
                yield self._select(len(group), partitions=True), [_raw(k[0]) for k in group]
            return
        for group in partition_groups(keys, n_pk) if self.plan.clustering else [[k] for k in keys]:
            if len(group) == 1:
                yield self.by_key, [_raw(v) for v in group[0]]
            else:
                yield (self._select(len(group), partitions=False),
                       [_raw(v) for v in group[0][:n_pk]] + [_raw(v) for k in group for v in k[n_pk:]])

    def _select(self, size: int, *, partitions: bool) -> Any:
        """The prepared select of ``size`` rows: an IN on the partition key, or on one partition's clustering."""
        from migrator.backends.cassandra import cql
        from migrator.backends.cassandra.connection import prepared

        names = [cql.quote(n) for n in self.plan.key_names]
        n_pk = len(self.plan.partition_key)
        if partitions:
            where = f"{names[0]} IN ({', '.join(['?'] * size)})"
        else:
            clustering = names[n_pk:]
            column, one = ((clustering[0], "?") if len(clustering) == 1 else
                           ("(" + ", ".join(clustering) + ")", "(" + ", ".join(["?"] * len(clustering)) + ")"))
            where = f"{cql.key_condition(self.plan.key_names[:n_pk])} AND {column} IN ({', '.join([one] * size)})"
        statement = prepared(self.raw, f"SELECT {', '.join(self.plan.target_selectors)} "
                                       f"FROM {self.plan.target_qualified} WHERE {where}")
        statement.consistency_level = self.level
        return statement

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

        from migrator.backends.cassandra.raw import bind_raw

        ordered = sorted(changes, key=_token)
        batches: list[Any] = []
        batch, size = None, 0
        for change in ordered:
            assert change.row is not None
            text = change.row["statement"]
            if batch is None or len(batch) >= STATEMENTS_PER_BATCH or size + len(text) > BATCH_TEXT_BYTES:
                batch, size = BatchStatement(BatchType.UNLOGGED, consistency_level=self.level), 0
                batches.append(batch)
            cells = self._cells(change, text)
            if cells is None:
                batch.add(SimpleStatement(text))  # the text, which the server parses
            else:
                after = (change.address or {}).get("after")
                batch.add(bind_raw(self.inserts[after is not None],
                                   cells if after is None else [*cells, _INT64.pack(int(after))]))
            size += len(text)
        self._run(batches, self.session)

    def _cells(self, change: Change, statement: str) -> list[bytes | None] | None:
        """Dev's cell bytes to bind instead of sending ``statement``, or None.

        Only for a put whose statement and cells are as diff wrote them (their ``sum``), on a table
        whose types are the same on both sides.
        """
        at = change.address or {}
        cells = at.get("cells")
        if (cells is None or not self.plan.bindable or change.op == DELETE
                or not statement.startswith(self.insert_prefix) or at.get("sum") != statement_sum(statement, cells)):
            return None
        return [_raw(cell) for cell in cells]

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


def _change(meta: dict[str, Any], statement: str) -> Change:
    return Change(meta["op"], meta["key"], meta["expect"], meta["want"],
                  {"statement": statement, "where": meta["where"]}, meta.get("why", ""), address=meta.get("at"))


def _unended(lines: list[str], before: int | None) -> ConfigError:
    where = f"before line {before}" if before is not None else "before the end of the file"
    return ConfigError([("--pack", f"a statement of the pack does not end {where}: {lines[0].strip()[:80]!r}... "
                                   "(a quote left open?)\n    fix: close its quotes and end it with ';', or run "
                                   "migrator diff again for a new pack")])


def _commented(statement: str) -> str:
    """Every line of ``statement`` commented out (a text value may hold line breaks)."""
    return "-- " + _LINE_BREAK.sub(r"\1-- ", statement)  # each break kept as it is


def statement_sum(statement: str, cells: list[str | None]) -> str:
    """A short hash of a put's statement and dev's cell bytes (hex): ``apply`` binds the cells only while it matches."""
    text = statement + "\n" + ",".join("-" if cell is None else cell for cell in cells)
    return hashlib.blake2b(text.encode(), digest_size=8).hexdigest()


def partition_groups(keys: list[tuple[str | None, ...]], n_pk: int) -> list[list[tuple[str | None, ...]]]:
    """Keys cut into groups of neighbours in one partition (its first ``n_pk`` parts), ``KEYS_PER_READ`` at most."""
    groups: list[list[tuple[str | None, ...]]] = []
    for key in keys:
        if not groups or key[:n_pk] != groups[-1][0][:n_pk] or len(groups[-1]) == KEYS_PER_READ:
            groups.append([])
        groups[-1].append(key)
    return groups


def _raw(value: str | None) -> bytes | None:
    """A key part's bytes, from the pack's hex."""
    return None if value is None else bytes.fromhex(value)


def _token(change: Change) -> int:
    """The change's token, as the pack's ``at`` holds it (0 for a change without one)."""
    return int((change.address or {}).get("token", 0))


def _key_of(change: Change) -> tuple[str | None, ...]:
    """The change's key bytes (hex), as the pack's ``at`` holds them."""
    return tuple((change.address or {}).get("key", ()))
