"""Writing scanned rows into the target: the shared plumbing, plain mode and counter mode.

Preserve mode is ``preserve.PreserveWriter``; ``copier.make_writer`` picks the writer for a plan's mode
(see ``plan`` for the modes).

Rows arrive as tuples of serialized cells. Values are passed through as bytes unless the plan asks
for a conversion, and a null source cell is bound as *unset*, so it never becomes a tombstone.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from cassandra.concurrent import execute_concurrent
from cassandra.query import UNSET_VALUE

from migrator.backends.cassandra import cql, raw
from migrator.backends.cassandra.batches import Batcher
from migrator.backends.cassandra.connection import consistency, prepared
from migrator.backends.cassandra.ordering import routing_key
from migrator.backends.cassandra.plan import CellSpec, CopyPlan
from migrator.backends.cassandra.window import WriteWindow

Transform = Callable[[bytes], bytes]


class RowWriter:
    """Shared plumbing: prepared statements, batching raw values by replica, the write window, counters."""

    def __init__(self, plan: CopyPlan, session: Any, select: Any) -> None:
        self.plan = plan
        self.session = session
        self.window = WriteWindow(session, plan.max_in_flight, plan.target.retry,
                                  f"the target cluster at {plan.target.address}")
        self.rows_read = 0
        self.rows_written = 0
        self._cl = consistency(plan.target_consistency)
        self._last_partition: tuple[Any, ...] | None = None
        self._routing_key = b""
        self.batcher = Batcher(session, self.window, plan.target_keyspace, self._cl,
                               max_rows=plan.batch_rows, max_bytes=plan.batch_bytes)
        self.transforms = self._transforms(select)

    def prepare(self, text: str, *, idempotent: bool = True) -> Any:
        """A prepared target statement at the target consistency level."""
        stmt = prepared(self.session, text)
        stmt.consistency_level = self._cl
        stmt.is_idempotent = idempotent
        return stmt

    def read_rows(self, reads: Sequence[tuple[Any, Sequence[Any]]]) -> list[Any]:
        """The target row (or None) for each (prepared select, key values), read concurrently."""
        results = execute_concurrent(
            self.session, [(raw.bind_raw(stmt, list(key)), None) for stmt, key in reads],
            concurrency=self.plan.max_in_flight, raise_on_first_error=True,
        )
        return [result.one() if result else None for _, result in results]

    def send(self, statement: Any, values: list[Any], *, batchable: bool | None = None,
             idempotent: bool | None = None) -> None:
        """Queue a write of the current row's partition (batched with its replica neighbours)."""
        self.batcher.add(statement, values, self._routing_key, batchable=batchable, idempotent=idempotent)

    def new_partition(self, row: Sequence[Any]) -> bool:
        """True on the first row of each partition (static cells are written once per partition).

        Every ``write_row`` calls it first: it also tracks the partition's routing key for ``send``.
        """
        key = tuple(row[i] for i, _ in self.plan.partition_key)
        if key == self._last_partition:
            return False
        self._last_partition = key
        self._routing_key = routing_key(key)
        return True

    def static_only(self, row: Sequence[Any]) -> bool:
        """A partition holding static cells but no rows comes back with null clustering columns."""
        return bool(self.plan.clustering) and row[self.plan.clustering[0][0]] is None

    def keys(self, row: Sequence[Any], *, partition_only: bool = False) -> list[Any]:
        """The row's primary key values (or only its partition key), in statement order."""
        cols = self.plan.partition_key if partition_only else self.plan.partition_key + self.plan.clustering
        return [row[i] for i, _ in cols]

    def cell_value(self, cell: CellSpec, raw_value: bytes | None) -> Any:
        """The value to bind for a cell: transformed bytes, or unset for a null source cell."""
        if raw_value is None:
            return UNSET_VALUE
        fn = self.transforms.get(cell.value)
        return fn(raw_value) if fn else raw_value

    def _transforms(self, select: Any) -> dict[int, Transform]:
        """Per scanned column, the function that turns source bytes into target bytes."""
        out: dict[int, Transform] = {}
        src_types = [md[3] for md in select.result_metadata]
        for cell in self.plan.cells:
            if cell.transform == "strip":
                out[cell.value] = raw.strip_decimal
            elif cell.transform == "convert":
                out[cell.value] = self._converter(src_types[cell.value], cell)
        return out

    def _converter(self, src_type: Any, cell: CellSpec) -> Transform:
        text = cql.select_by_key(self.plan.target_table, [cell.target], self.plan.key_names)
        insert = prepared(self.session, text)
        tgt_type = insert.result_metadata[0][3]
        proto = self.session.cluster.protocol_version
        strip = self.plan.strip_decimals

        def convert(value: bytes) -> bytes:
            obj = src_type.from_binary(value, proto)
            if strip:
                obj = raw.strip_decimal_value(obj)
            return bytes(tgt_type.to_binary(obj, proto))

        return convert

    def write_page(self, rows: list[Any]) -> None:
        """Write every row of a scanned page."""
        for row in rows:
            self.write_row(row)
        self.rows_read += len(rows)

    def write_row(self, row: Sequence[Any]) -> None:
        """Write one scanned row (each mode implements this)."""
        raise NotImplementedError

    def finish(self) -> None:
        """Send what is queued and wait until every write was acknowledged; raise if one failed."""
        self.batcher.drain()


class PlainWriter(RowWriter):
    """One INSERT per row; constant TTL/timestamp from the config when set."""

    def __init__(self, plan: CopyPlan, session: Any, select: Any) -> None:
        super().__init__(plan, session, select)
        ttl = str(plan.constant_ttl) if plan.constant_ttl is not None else None
        ts = str(plan.constant_timestamp) if plan.constant_timestamp is not None else None
        names = plan.key_names + [c.target for c in plan.cells]
        self.insert = self.prepare(cql.insert(plan.target_table, names, ttl=ttl, timestamp=ts))
        self.statics = [c for c in plan.cells if c.static]
        self.insert_static = None
        if self.statics:
            static_names = plan.partition_names + [c.target for c in self.statics]
            static_insert = cql.insert(plan.target_table, static_names, ttl=ttl, timestamp=ts)
            self.insert_static = self.prepare(static_insert)

    def write_row(self, row: Sequence[Any]) -> None:
        """One INSERT; static cells only on a partition's first row, a static-only row by itself."""
        first = self.new_partition(row)
        if self.static_only(row):
            values = self.keys(row, partition_only=True)
            values += [self.cell_value(c, row[c.value]) for c in self.statics]
            self.send(self.insert_static, values)
        else:
            values = self.keys(row)
            for cell in self.plan.cells:
                keep = first or not cell.static
                values.append(self.cell_value(cell, row[cell.value]) if keep else UNSET_VALUE)
            self.send(self.insert, values)
        self.rows_written += 1


class CounterWriter(RowWriter):
    """Adds ``source - target`` to each counter, so re-running a range converges instead of doubling.

    The target's current values are read (at the target consistency level) for a whole page at once,
    then one UPDATE per row adds the differences; rows already equal are not written. Counter updates
    are never retried blindly: a failed one fails the range, and the re-run computes fresh deltas.
    """

    def __init__(self, plan: CopyPlan, session: Any, select: Any) -> None:
        super().__init__(plan, session, select)
        self.rows_cells = [c for c in plan.cells if not c.static]
        self.static_cells = [c for c in plan.cells if c.static]
        self.read_row = self._reader(self.rows_cells, plan.key_names)
        self.read_static = self._reader(self.static_cells, plan.partition_names)
        self._updates: dict[tuple[str, ...], Any] = {}

    def _reader(self, cells: list[CellSpec], key: list[str]) -> Any:
        if not cells:
            return None
        return self.prepare(cql.select_by_key(self.plan.target_table, [c.target for c in cells], key))

    def _update(self, names: tuple[str, ...], key: list[str]) -> Any:
        stmt = self._updates.get(names)
        if stmt is None:
            sets = [f"{cql.quote(n)} = {cql.quote(n)} + ?" for n in names]
            stmt = self.prepare(cql.update(self.plan.target_table, sets, key), idempotent=False)
            self._updates[names] = stmt
        return stmt

    def write_page(self, rows: list[Any]) -> None:
        """Read the target's counters for the whole page, then add the differences row by row."""
        jobs: list[tuple[Any, list[Any], list[CellSpec], list[Any], Any]] = []
        for row in rows:
            first = self.new_partition(row)
            if self.static_cells and first:
                key = self.keys(row, partition_only=True)
                jobs.append((self.read_static, key, self.static_cells, row, self.plan.partition_names))
            if self.rows_cells and not self.static_only(row):
                key = self.keys(row)
                jobs.append((self.read_row, key, self.rows_cells, row, self.plan.key_names))
        currents = self.read_rows([(j[0], j[1]) for j in jobs])
        for (_, key, cells, row, key_names), current in zip(jobs, currents, strict=True):
            self._add_differences(key, cells, row, current, key_names)
        self.rows_read += len(rows)

    def _add_differences(self, key: list[Any], cells: list[CellSpec], row: Sequence[Any], current: Any,
                         key_names: list[str]) -> None:
        names, deltas = [], []
        for i, cell in enumerate(cells):
            want = raw.decode_int(row[cell.value]) or 0
            have = raw.decode_int(current[i]) if current is not None else None
            if want != (have or 0) or (have is None and row[cell.value] is not None):
                names.append(cell.target)
                deltas.append(raw.encode_bigint(want - (have or 0)))
        if names:
            self.send(self._update(tuple(names), key_names), [*deltas, *key])
            self.rows_written += 1
