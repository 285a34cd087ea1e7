"""Writing rows with each cell's original WRITETIME and remaining TTL (``preserveTimestamps``).

Every cell has its own (writetime, ttl); so does every element of a non-frozen collection and every
field of a non-frozen UDT (Cassandra 5 reports them as lists through WRITETIME()/TTL()). A row is
written with one statement per (writetime, ttl) group, so a row the source wrote in one statement
is written in one statement here:

* one INSERT ... USING TTL ? AND TIMESTAMP ? per group carries the group's simple cells and every
  collection or UDT whose elements all belong to the group, as whole values (the other columns are
  unset, so nothing else is touched). Like the source's own INSERT, it writes the row marker and,
  for a whole collection, a collection tombstone one microsecond older than the group;
* a collection or UDT whose elements span several groups is written element by element: per group,
  one UPDATE adds the group's set and map elements (``c = c + ?``, which re-running repeats
  harmlessly) and sets its UDT fields (``c.f = ?``), all columns in the same statement.

List elements get their position from a server-generated time UUID at write time, so writing a
list twice would duplicate its elements. A list whose elements share one group joins its group's
INSERT whole (that INSERT is then never retried blindly); otherwise each run of elements sharing
(writetime, ttl) is one append, the runs of one list sent in order, one wave per run across the
whole page (the first runs of every row, then, once acknowledged, the second runs...), so rows
never wait for each other. Whether the target may already hold part of a list decides what is read
first:

- a target table created by this run, on a task's first attempt, holds nothing: lists are
  written without reading the target;
- otherwise (a resume, a retried task, an existing table) the target's lists of the whole page
  are read first, concurrently, and each is compared with the source's: an equal list is left
  alone, a list holding the first runs of the source's (a range cut short) gets the remaining
  runs, and any other non-empty list is replaced whole with the newest element timestamp
  (counted as a conflict). Retries and resumes therefore never duplicate an element.

The remaining TTL is read at scan time, so the target's expiry is later by the time between
reading a page and writing it. A remaining TTL of 0 seconds is written as 1 (0 would mean "never").
"""

from __future__ import annotations

import operator
from collections.abc import Sequence
from typing import Any

from cassandra.query import UNSET_VALUE
from pyspark import TaskContext

from migrator.backends.cassandra import cql, raw
from migrator.backends.cassandra.plan import CellSpec, CopyPlan
from migrator.backends.cassandra.writers import RowWriter

# (writetime, ttl) as serialized values, bound as they are: a bigint (None: the server's time) and the
# int TTL to write (None: no TTL). Scanned metadata is never decoded on the row path.
Group = tuple[bytes | None, bytes | None]
NO_TTL = raw.encode_int(0)
ONE_SECOND = raw.encode_int(1)


def ttl_to_write(raw_ttl: bytes | None) -> bytes | None:
    """A scanned TTL() as the TTL to write: None (no TTL) for null, at least 1 second (0 would mean "never")."""
    if not raw_ttl:
        return None
    return raw_ttl if raw_ttl > NO_TTL and raw_ttl[0] < 0x80 else ONE_SECOND


def element_metadata(raw_stamps: bytes | None, raw_ttls: bytes | None,
                     override: bytes | None = None) -> tuple[list[bytes | None], list[bytes | None]]:
    """Per-element WRITETIMEs (``override`` replacing each present one) and TTLs to write, of a collection."""
    stamps = raw.split_elements(raw_stamps) if raw_stamps else []
    if override is not None:
        stamps = [override if s is not None else None for s in stamps]
    return stamps, [ttl_to_write(t) for t in raw.split_elements(raw_ttls)] if raw_ttls else []


def group_by_metadata(entries: Sequence[Any], stamps: Sequence[bytes | None],
                      ttls: Sequence[bytes | None]) -> dict[Group, list[Any]]:
    """Entries sharing (writetime, ttl), in first-seen order: each group is one write."""
    groups: dict[Group, list[Any]] = {}
    for entry, ts, ttl in zip(entries, stamps, ttls, strict=True):
        groups.setdefault((ts, ttl), []).append(entry)
    return groups


def runs_by_metadata(entries: Sequence[Any], stamps: Sequence[bytes | None],
                     ttls: Sequence[bytes | None]) -> list[tuple[list[Any], Group]]:
    """Consecutive entries sharing (writetime, ttl): list elements keep their order, one append per run."""
    runs: list[tuple[list[Any], Group]] = []
    for entry, ts, ttl in zip(entries, stamps, ttls, strict=True):
        if runs and runs[-1][1] == (ts, ttl):
            runs[-1][0].append(entry)
        else:
            runs.append(([entry], (ts, ttl)))
    return runs


def first_attempt() -> bool:
    """Whether this Spark task runs for the first time (never outside Spark, where nobody can tell).

    The copy's result stage reads no shuffle, so Spark never re-attempts the stage itself, and
    speculation is off (``migrator.spark``): a range is written twice in one run only by a retried task.
    """
    ctx = TaskContext.get()
    return ctx is not None and ctx.attemptNumber() == 0


def runs_already_written(have: Sequence[bytes | None], runs: Sequence[tuple[list[Any], Group]]) -> int | None:
    """How many leading runs ``have`` holds exactly (a list cut short between runs); None if it holds anything else."""
    count = elements = 0
    for run, _ in runs:
        if elements == len(have):
            return count
        if list(have[elements : elements + len(run)]) != run:
            return None
        elements += len(run)
        count += 1
    return count if elements == len(have) else None


class PreserveWriter(RowWriter):
    """Writes each cell with its source WRITETIME and remaining TTL (see the module docstring)."""

    def __init__(self, plan: CopyPlan, session: Any, select: Any) -> None:
        super().__init__(plan, session, select)
        table = plan.target_table
        self.simple = [c for c in plan.cells if c.multicell is None or c.writetime is None]
        self.multi = [c for c in plan.cells if c.multicell is not None and c.writetime is not None]
        self.lists = [c for c in self.multi if c.multicell == "list"]
        # any cell may be written whole by its group's INSERT
        self.columns = self.simple + self.multi
        self.insert = self._insert(plan.key_names, self.columns)
        self.static_columns = [c for c in self.columns if c.static]
        self.insert_static = self._insert(plan.partition_names, self.static_columns)
        self.names = [c.target for c in self.columns]
        self.static_names = [c.target for c in self.static_columns]
        # set and map elements and UDT fields written one by one, per group: (column, UDT field or "")
        self.slots = [(c, f) for c in self.multi if c.multicell != "list" for f in (c.udt_fields or ("",))]
        self.update = self._update(plan.key_names, self.slots)
        self.static_slots = [(c, f) for c, f in self.slots if c.static]
        self.update_static = self._update(plan.partition_names, self.static_slots)
        self.marker = self.prepare(cql.insert(table, plan.key_names))
        override = plan.timestamp_override
        self.override = raw.encode_bigint(override) if override is not None else None
        # the row path's view of each simple cell: (target, value, writetime, ttl positions, static, transform)
        self.simple_spots = [(c.target, c.value, c.writetime, c.ttl, c.static, self.transforms.get(c.value))
                             for c in self.simple]
        # the common table (plain cells, each with metadata, no statics, no conversions): a row whose
        # cells all share one (writetime, ttl) is bound in one go, without the per-cell loop
        plain = (not self.multi and bool(self.simple) and self.override is None and not self.transforms
                 and all(c.writetime is not None and c.ttl is not None and not c.static for c in self.simple))
        self._values_of = operator.itemgetter(*[c.value for c in self.simple], -1) if plain else None
        self._stamps_of = operator.itemgetter(*[c.writetime for c in self.simple], -1) if plain else None
        self._ttls_of = operator.itemgetter(*[c.ttl for c in self.simple], -1) if plain else None
        self.list_conflicts = 0
        self._stmts: dict[tuple[str, str, bool], Any] = {}
        # a table this run created holds nothing yet, unless this task already ran once
        self.read_lists = bool(self.lists) and not (plan.target_fresh and first_attempt())
        self._current: dict[tuple[str, tuple[Any, ...]], bytes | None] = {}  # the page's target lists
        self._waves: list[list[tuple[Any, list[Any], bytes]]] = []  # later runs of lists, by run number

    def _insert(self, key: list[str], cells: list[CellSpec]) -> Any:
        if not cells:
            return None
        return self.prepare(cql.insert(self.plan.target_table, key + [c.target for c in cells], ttl="?",
                                       timestamp="?"))

    def _update(self, key: list[str], slots: list[tuple[CellSpec, str]]) -> Any:
        if not slots:
            return None
        assignments = []
        for cell, field in slots:
            col = cql.quote(cell.target)
            assignments.append(f"{col}.{cql.quote(field)} = ?" if field else f"{col} = {col} + ?")
        return self.prepare(cql.update(self.plan.target_table, assignments, key, ttl="?", timestamp="?"))

    # --- statements for lists ---

    def _stmt(self, cell: CellSpec, op: str) -> Any:
        key = (cell.target, op, cell.static)
        stmt = self._stmts.get(key)
        if stmt is None:
            where = self.plan.partition_names if cell.static else self.plan.key_names
            col = cql.quote(cell.target)
            if op == "add":
                text = cql.update(
                    self.plan.target_table, [f"{col} = {col} + ?"], where, ttl="?", timestamp="?"
                )
            elif op == "set":
                text = cql.update(self.plan.target_table, [f"{col} = ?"], where, ttl="?", timestamp="?")
            else:  # "read"
                text = cql.select_by_key(self.plan.target_table, [cell.target], where)
            # appending to a list twice duplicates the elements: never retried blindly
            stmt = self.prepare(text, idempotent=op != "add")
            self._stmts[key] = stmt
        return stmt

    # --- pages ---

    def write_page(self, rows: list[Any]) -> None:
        """Read the page's target lists if they may hold anything, write every row, then the later list runs."""
        if self.read_lists:
            self._current = self._read_lists(rows)
        try:
            for row in rows:
                self.write_row(row)
        finally:
            self._current = {}
        self._send_waves()
        self.rows_read += len(rows)

    def finish(self) -> None:
        """Send the later list runs still waiting, then wait until every write was acknowledged."""
        self._send_waves()
        super().finish()

    def _read_lists(self, rows: list[Any]) -> dict[tuple[str, tuple[Any, ...]], bytes | None]:
        """The target's lists for the page's rows, read concurrently (one request per row and list)."""
        wanted: dict[tuple[str, tuple[Any, ...]], Any] = {}
        for row in rows:
            static_only = self.static_only(row)
            for cell in self.lists:
                if row[cell.value] is not None and (cell.static or not static_only):
                    key = tuple(self.keys(row, partition_only=cell.static))
                    wanted.setdefault((cell.target, key), (self._stmt(cell, "read"), key))
        found = self.read_rows(list(wanted.values()))
        return {name: row[0] if row else None for name, row in zip(wanted, found, strict=True)}

    def _send_waves(self) -> None:
        """Each later run of the lists, once the runs before it were acknowledged (list order is arrival order)."""
        for wave in self._waves:
            self.batcher.drain()
            for stmt, values, routing in wave:
                self.batcher.add(stmt, values, routing, batchable=True)
        self._waves = []

    # --- rows ---

    def write_row(self, row: Sequence[Any]) -> None:
        """Write one scanned row: one INSERT per (writetime, ttl) group, elements spanning groups by UPDATE."""
        if self._values_of is not None and self._one_group(row):
            return
        first = self.new_partition(row)
        static_only = self.static_only(row)
        whole: dict[Group, dict[str, Any]] = {}  # per group: target column -> whole value
        parts: dict[Group, dict[tuple[str, str], Any]] = {}  # per group: (column, UDT field) -> elements
        blind: set[Group] = set()  # groups whose INSERT holds a whole list: never retried blindly
        wrote = False
        override = self.override
        for target, value_at, stamp_at, ttl_at, static, transform in self.simple_spots:
            value = row[value_at]
            if value is None or (static and not first) or (static_only and not static):
                continue
            stamp = override if override is not None or stamp_at is None else row[stamp_at]
            ttl = row[ttl_at] if ttl_at is not None else None
            if ttl:  # ttl_to_write, inlined on the row path
                ttl = ttl if ttl > NO_TTL and ttl[0] < 0x80 else ONE_SECOND
            group = (stamp, ttl or None)
            values = whole.get(group)
            if values is None:
                values = whole[group] = {}
            values[target] = transform(value) if transform is not None else value
        for cell in self.multi:
            if (cell.static and not first) or (static_only and not cell.static) or row[cell.value] is None:
                continue
            wrote |= self._collect(cell, row, whole, parts, blind)
        for group, values in whole.items():
            self._write_whole(row, static_only, group, values, group in blind)
        for group, elements in parts.items():
            self._write_parts(row, static_only, group, elements)
        if not whole and not parts and not wrote and not static_only:
            self.send(self.marker, self.keys(row))  # the row exists with no cells: keep it
        self.rows_written += 1

    def _one_group(self, row: Sequence[Any]) -> bool:
        """Write a row whose cells are all set and share one (writetime, ttl) as one INSERT; False otherwise."""
        assert self._values_of is not None and self._stamps_of is not None and self._ttls_of is not None
        stamps = self._stamps_of(row)[:-1]  # the trailing -1 keeps itemgetter returning a tuple for one cell
        ttls = self._ttls_of(row)[:-1]
        if len(set(stamps)) != 1 or len(set(ttls)) != 1 or stamps[0] is None:
            return False
        values = self._values_of(row)[:-1]
        if None in values:
            return False
        self.new_partition(row)  # no static columns: only the routing key matters
        self.send(self.insert, [*self.keys(row), *values, *self._meta((stamps[0], ttl_to_write(ttls[0])))])
        self.rows_written += 1
        return True

    def _write_whole(self, row: Sequence[Any], static_only: bool, group: Group, values: dict[str, Any],
                     blind: bool) -> None:
        stmt, names = (self.insert_static, self.static_names) if static_only else (self.insert, self.names)
        bound = self.keys(row, partition_only=static_only)
        get = values.get
        bound += [get(name, UNSET_VALUE) for name in names]
        bound += self._meta(group)
        if blind:
            self.send(stmt, bound, batchable=True, idempotent=False)
        else:
            self.send(stmt, bound)

    def _write_parts(self, row: Sequence[Any], static_only: bool, group: Group,
                     elements: dict[tuple[str, str], Any]) -> None:
        stmt, slots = (self.update_static, self.static_slots) if static_only else (self.update, self.slots)
        bound = self._meta(group)
        bound += [elements.get((c.target, f), UNSET_VALUE) for c, f in slots]
        self.send(stmt, bound + self.keys(row, partition_only=static_only))

    def _collect(self, cell: CellSpec, row: Sequence[Any], whole: dict[Group, dict[str, Any]],
                 parts: dict[Group, dict[tuple[str, str], Any]], blind: set[Group]) -> bool:
        """Place a collection or UDT: whole into its group's INSERT, else element by element."""
        assert cell.writetime is not None and cell.ttl is not None  # only such cells are in self.multi
        value = row[cell.value]
        stamps, ttls = element_metadata(row[cell.writetime], row[cell.ttl], self.override)
        if cell.multicell == "list":
            return self._collect_list(cell, row, value, stamps, ttls, whole, blind)
        groups = {(ts, ttl) for ts, ttl in zip(stamps, ttls, strict=True) if ts is not None}
        if len(groups) == 1:  # written by one statement at the source: whole, as the source did
            whole.setdefault(groups.pop(), {})[cell.target] = self.cell_value(cell, value)
            return True
        if cell.multicell == "udt":
            fields = raw.split_fields(value)
            for name, field, ts, ttl in zip(cell.udt_fields, fields, stamps, ttls, strict=False):
                if field is not None and ts is not None:
                    parts.setdefault((ts, ttl), {})[(cell.target, name)] = field
            return bool(groups)
        per_entry = 2 if cell.multicell == "map" else 1
        items = raw.split_elements(value, per_entry=per_entry)
        entries = [items[i : i + per_entry] for i in range(0, len(items), per_entry)]
        for group, members in group_by_metadata(entries, stamps, ttls).items():
            payload = raw.join_elements([b for e in members for b in e], len(members))
            parts.setdefault(group, {})[(cell.target, "")] = payload
        return bool(entries)

    def _collect_list(self, cell: CellSpec, row: Sequence[Any], value: bytes, stamps: list[bytes | None],
                      ttls: list[bytes | None], whole: dict[Group, dict[str, Any]], blind: set[Group]) -> bool:
        key = self.keys(row, partition_only=cell.static)
        runs = runs_by_metadata(raw.split_elements(value), stamps, ttls)
        have = self._target_list(cell, key) if self.read_lists else None
        if have is not None:
            done = runs_already_written(raw.split_elements(have), runs)
            if done is None:  # someone else's list is there: replace it whole
                self.list_conflicts += 1
                newest = max((raw.decode_int(s) or 0 for s in stamps if s is not None), default=None)
                shortest = min((raw.decode_int(t) or 0 for t in ttls), default=0)
                group = (raw.encode_bigint(newest) if newest is not None else None,
                         raw.encode_int(shortest) if shortest else None)
                self.batcher.drain()
                self.session.execute(raw.bind_raw(self._stmt(cell, "set"), [*self._meta(group), value, *key]))
                return True
            runs = runs[done:]
        elif len(runs) == 1:  # nothing there and one run: the whole list with its group
            group = runs[0][1]
            whole.setdefault(group, {})[cell.target] = self.cell_value(cell, value)
            blind.add(group)
            return True
        append = self._stmt(cell, "add")
        for i, (run, group) in enumerate(runs):
            values = [*self._meta(group), raw.join_elements(run, len(run)), *key]
            if i == 0:
                self.send(append, values, batchable=True)
            else:
                while len(self._waves) < i:
                    self._waves.append([])
                self._waves[i - 1].append((append, values, self._routing_key))
        return True

    def _target_list(self, cell: CellSpec, key: list[Any]) -> bytes | None:
        """The target's list for this row: from the page's reads, else read now (a row written on its own)."""
        name = (cell.target, tuple(key))
        if name in self._current:
            return self._current[name]
        [found] = self.read_rows([(self._stmt(cell, "read"), key)])
        return found[0] if found else None

    @staticmethod
    def _meta(group: Group) -> list[Any]:
        """The USING TTL ? AND TIMESTAMP ? values of a group (no TTL: 0; no timestamp: the server's time)."""
        stamp, ttl = group
        return [ttl if ttl is not None else NO_TTL, stamp if stamp is not None else UNSET_VALUE]
