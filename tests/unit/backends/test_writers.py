"""What the copy writers send, per mode: the statement texts and the exact values bound to them.

``RecordingSession`` is not a stand-in for Cassandra: it has no protocol and no data. ``prepare``
returns the driver's own ``PreparedStatement`` for the text (without bind metadata, so values stay
exactly as the writer bound them), every executed statement is recorded with its values and how it
was sent (``async`` through the write window, ``sync`` by ``execute``), asynchronous writes complete
at once (or after ``delay``, or with a scripted error), and a SELECT answers with the row the test
put in ``target`` under the bound key values. Whether a server accepts these statements is for the
integration tests. Plans use ``batch_rows=1``: every statement is sent alone (batching is
``test_batches``' subject).
"""

from __future__ import annotations

import struct
import threading
from dataclasses import replace
from types import SimpleNamespace
from typing import Any

import pytest
from cassandra import ConsistencyLevel, InvalidRequest
from cassandra.query import UNSET_VALUE as U
from cassandra.query import PreparedStatement

from migrator.backends.cassandra import preserve
from migrator.backends.cassandra.connection import ConnectionSpec
from migrator.backends.cassandra.copier import make_writer
from migrator.backends.cassandra.plan import COUNTER, PLAIN, PRESERVE, CopyPlan, build_plan
from migrator.backends.cassandra.preserve import PreserveWriter
from migrator.backends.cassandra.raw import encode_bigint as i64
from migrator.backends.cassandra.raw import encode_int as i32
from migrator.backends.cassandra.schema import CLUSTERING, PARTITION, REGULAR, STATIC, Column, TableSchema, compare
from migrator.backends.cassandra.window import WriteFailed
from migrator.backends.cassandra.writers import CounterWriter, PlainWriter, RowWriter

# --- the recording session -------------------------------------------------------------------------


class Future:
    """A response future that completes as soon as its callbacks are added (or ``delay`` seconds later)."""

    has_more_pages = False
    _col_names = _col_types = None  # read by the driver's ResultSet (execute_concurrent)

    def __init__(self, session: RecordingSession, outcome: Any) -> None:
        self.session, self.outcome = session, outcome

    def add_callbacks(self, callback: Any, errback: Any, callback_args: tuple[Any, ...] = (),
                      errback_args: tuple[Any, ...] = (), **_: Any) -> None:
        def complete() -> None:
            with self.session.lock:
                self.session.completed += 1
            if isinstance(self.outcome, BaseException):
                errback(self.outcome, *errback_args)
            else:
                callback(self.outcome, *callback_args)

        if self.session.delay:
            threading.Timer(self.session.delay, complete).start()
        else:
            complete()

    def clear_callbacks(self) -> None:
        pass


class Rows(list):
    def one(self) -> Any:  # what the writers read of a synchronous result
        return self[0] if self else None


class RecordingSession:
    def __init__(self, target: dict[tuple[bytes, ...], tuple[Any, ...]] | None = None,
                 fail: dict[str, BaseException] | None = None, delay: float = 0.0) -> None:
        self.target = target or {}  # bound key values -> the row a SELECT returns
        self.fail = fail or {}  # statement text -> the error its writes complete with
        self.delay = delay
        self.lock = threading.Lock()
        self.prepared: list[str] = []
        self.log: list[tuple[str, str, list[Any]]] = []  # (how, text, values)
        self.statements: list[Any] = []
        self.completed = 0
        self.acked_before: list[int] = []  # per logged statement: how many had completed when it was sent

    def prepare(self, text: str) -> PreparedStatement:
        self.prepared.append(text)
        return PreparedStatement([], text.encode(), None, text, "dst", 4, [], None)

    def _record(self, how: str, statement: Any) -> Any:
        text = statement.prepared_statement.query_string
        with self.lock:
            self.log.append((how, text, list(statement.values)))
            self.statements.append(statement)
            self.acked_before.append(self.completed)
        if text.startswith("SELECT"):
            row = self.target.get(tuple(statement.values))
            return Rows([] if row is None else [row])
        return self.fail.get(text, Rows())

    def execute_async(self, statement: Any, *_: Any, **__: Any) -> Future:  # also execute_concurrent's call
        return Future(self, self._record("async", statement))

    def execute(self, statement: Any) -> Rows:
        return self._record("sync", statement)

    @property
    def writes(self) -> list[tuple[str, list[Any]]]:
        return [(text, values) for _, text, values in self.log if not text.startswith("SELECT")]


# --- tables, plans, rows ------------------------------------------------------------------------

SIMPLE = TableSchema("src", "t", (
    Column("k", "int", PARTITION), Column("c", "int", CLUSTERING),
    Column("s", "text", STATIC), Column("a", "text", REGULAR), Column("b", "text", REGULAR),
))
MULTI = TableSchema("src", "m", (
    Column("k", "int", PARTITION),
    Column("tags", "set<text>", REGULAR, multicell="set"),
    Column("attrs", "map<text, text>", REGULAR, multicell="map"),
    Column("l", "list<text>", REGULAR, multicell="list"),
    Column("addr", "addr", REGULAR, multicell="udt"),
))
COUNTERS = TableSchema("src", "c", (Column("k", "int", PARTITION), Column("c", "int", CLUSTERING),
                                    Column("n", "counter", REGULAR), Column("m", "counter", REGULAR)))
SPEC = ConnectionSpec("test", "127.0.0.1", 9042)

INSERT = 'INSERT INTO "dst"."t" ("k", "c", "s", "a", "b") VALUES (?, ?, ?, ?, ?)'
INSERT_STATIC = 'INSERT INTO "dst"."t" ("k", "s") VALUES (?, ?)'
META = " USING TTL ? AND TIMESTAMP ?"
MARKER = 'INSERT INTO "dst"."t" ("k", "c") VALUES (?, ?)'


def m_update(assignment: str) -> str:
    return f'UPDATE "dst"."m" USING TTL ? AND TIMESTAMP ? SET {assignment} WHERE "k" = ?'


M_INSERT = 'INSERT INTO "dst"."m" ("k", "tags", "attrs", "l", "addr") VALUES (?, ?, ?, ?, ?)' + META
M_PARTS = m_update('"tags" = "tags" + ?, "attrs" = "attrs" + ?, "addr"."street" = ?, "addr"."zip" = ?')
READ_L = 'SELECT "l" FROM "dst"."m" WHERE "k" = ?'
APPEND_L = m_update('"l" = "l" + ?')


def plan_for(source: TableSchema, *, preserve: bool = False, constant_ttl: int | None = None,
             constant_timestamp: int | None = None, **fields: Any) -> CopyPlan:
    target = replace(source, keyspace="dst")
    compat = compare(source, target, {})
    assert compat.problems == []
    plan = build_plan(
        source=source, target=target, mappings=compat.mappings, source_spec=SPEC, target_spec=SPEC,
        source_consistency="LOCAL_QUORUM", target_consistency="LOCAL_ONE", fetch_size=100,
        preserve_timestamps=preserve, collection_metadata=True, where=None, strip_decimals=False,
        constant_ttl=constant_ttl, constant_timestamp=constant_timestamp,
        user_type_fields={"addr": ("street", "zip")}, batch_rows=1,
    )
    return replace(plan, **fields)


def writer(plan: CopyPlan, session: RecordingSession) -> Any:
    return make_writer(plan, session, SimpleNamespace(result_metadata=[]))  # no transforms: no select types


def coll(items: list[bytes | None], count: int | None = None) -> bytes:
    """A serialized collection (``count`` entries; a map passes keys and values interleaved)."""
    out = [struct.pack(">i", len(items) if count is None else count)]
    out += [struct.pack(">i", -1) if it is None else struct.pack(">i", len(it)) + it for it in items]
    return b"".join(out)


def udt(*fields: bytes | None) -> bytes:
    return coll(list(fields))[4:]  # a UDT is its fields without a leading count


def row(plan: CopyPlan, *keys: int | None, **cells: Any) -> tuple[Any, ...]:
    """A scanned row in the plan's layout: int keys, then each named cell as bytes, or in preserve mode
    as (bytes, writetime, ttl), the metadata being per-element lists for multi-cell columns."""
    spots = [i for i, _ in plan.partition_key + plan.clustering]
    spots += [p for c in plan.cells for p in (c.value, c.writetime, c.ttl) if p is not None]
    out: list[Any] = [None] * (max(spots) + 1)
    for (i, _), key in zip(plan.partition_key + plan.clustering, keys, strict=True):
        out[i] = None if key is None else i32(key)
    by_name = {c.target: c for c in plan.cells}
    for name, given in cells.items():
        cell = by_name[name]
        if cell.writetime is None or cell.ttl is None:
            out[cell.value] = given
            continue
        out[cell.value], ts, ttl = given
        if cell.multicell:
            out[cell.writetime] = coll([None if t is None else i64(t) for t in ts])
            out[cell.ttl] = coll([None if t is None else i32(t) for t in ttl])
        else:
            out[cell.writetime], out[cell.ttl] = i64(ts), None if ttl is None else i32(ttl)
    return tuple(out)


# --- plain mode ---------------------------------------------------------------------------------


def test_plain_sends_one_insert_per_row_with_null_cells_unset():
    plan, session = plan_for(SIMPLE), RecordingSession()
    w = writer(plan, session)
    w.write_page([row(plan, 1, 1, s=b"S", a=b"A"), row(plan, 2, 1, b=b"")])
    w.finish()
    assert session.prepared == [INSERT, INSERT_STATIC]
    assert session.log == [
        ("async", INSERT, [i32(1), i32(1), b"S", b"A", U]),
        ("async", INSERT, [i32(2), i32(1), U, U, b""]),  # an empty value is a value, not a null
    ]
    assert [(s.consistency_level, s.is_idempotent) for s in session.statements] == [
        (ConsistencyLevel.LOCAL_ONE, True)
    ] * 2
    assert (w.rows_read, w.rows_written) == (2, 2)


def test_plain_constant_ttl_and_timestamp_are_written_into_the_statements():
    plan, session = plan_for(SIMPLE, constant_ttl=3600, constant_timestamp=1_700_000_000_000_000), RecordingSession()
    w = writer(plan, session)
    w.write_page([row(plan, 1, 1, a=b"A"), row(plan, 2, None, s=b"S")])
    using = " USING TTL 3600 AND TIMESTAMP 1700000000000000"
    assert session.prepared == [INSERT + using, INSERT_STATIC + using]
    assert session.writes == [
        (INSERT + using, [i32(1), i32(1), U, b"A", U]),
        (INSERT_STATIC + using, [i32(2), b"S"]),
    ]


def test_plain_static_cells_once_per_partition_and_a_static_only_row_by_partition_key():
    plan, session = plan_for(SIMPLE), RecordingSession()
    w = writer(plan, session)
    w.write_page([row(plan, 1, 1, s=b"S1", a=b"A"), row(plan, 1, 2, s=b"S1", a=b"B")])
    w.write_page([row(plan, 1, 3, s=b"S1", b=b"C"), row(plan, 2, 1, s=b"S2"), row(plan, 7, None, s=b"S7")])
    assert session.writes == [
        (INSERT, [i32(1), i32(1), b"S1", b"A", U]),
        (INSERT, [i32(1), i32(2), U, b"B", U]),
        (INSERT, [i32(1), i32(3), U, U, b"C"]),  # the partition spans two pages
        (INSERT, [i32(2), i32(1), b"S2", U, U]),
        (INSERT_STATIC, [i32(7), b"S7"]),  # a partition with static cells and no rows
    ]
    assert (w.rows_read, w.rows_written) == (5, 5)


def test_finish_returns_only_when_every_write_was_acknowledged():
    plan, session = plan_for(SIMPLE), RecordingSession(delay=0.2)
    w = writer(plan, session)
    w.write_page([row(plan, k, 1, a=b"A") for k in range(3)])
    w.finish()
    assert session.completed == 3


def test_finish_raises_when_a_write_failed():
    error = InvalidRequest("unconfigured table t")
    plan, session = plan_for(SIMPLE), RecordingSession(fail={INSERT: error})
    w = writer(plan, session)
    w.write_page([row(plan, 1, 1, a=b"A")])
    with pytest.raises(WriteFailed) as info:
        w.finish()
    assert info.value.__cause__ is error


# --- preserve mode: simple cells ----------------------------------------------------------------


def test_preserve_cells_sharing_writetime_and_ttl_share_one_insert_with_the_others_unset():
    plan, session = plan_for(SIMPLE, preserve=True), RecordingSession()
    w = writer(plan, session)
    w.write_page([row(plan, 1, 1, s=(b"S", 10, None), a=(b"A", 20, 100), b=(b"B", 20, 100))])
    assert session.prepared == [INSERT + META, INSERT_STATIC + META, MARKER]
    assert session.writes == [
        (INSERT + META, [i32(1), i32(1), b"S", U, U, i32(0), i64(10)]),
        (INSERT + META, [i32(1), i32(1), U, b"A", b"B", i32(100), i64(20)]),
    ]
    assert (w.rows_read, w.rows_written) == (1, 1)


NO_STATICS = TableSchema("src", "w", (
    Column("k", "int", PARTITION), Column("c", "int", CLUSTERING),
    Column("a", "text", REGULAR), Column("b", "text", REGULAR),
))
W_INSERT = 'INSERT INTO "dst"."w" ("k", "c", "a", "b") VALUES (?, ?, ?, ?)' + META


def test_preserve_rows_of_one_group_take_the_same_single_insert_with_or_without_the_fast_path():
    plan, session = plan_for(NO_STATICS, preserve=True), RecordingSession()
    writer(plan, session).write_page([
        row(plan, 1, 1, a=(b"A", 20, 100), b=(b"B", 20, 100)),  # one group: bound in one go
        row(plan, 1, 2, a=(b"A", 20, 0), b=(b"B", 20, 0)),  # a remaining TTL of 0 is written as 1
        row(plan, 1, 3, a=(b"A", 20, None)),  # a null cell: the general path, same statement
        row(plan, 2, 1, a=(b"A", 20, None), b=(b"B", 30, None)),  # two groups
    ])
    assert session.writes == [
        (W_INSERT, [i32(1), i32(1), b"A", b"B", i32(100), i64(20)]),
        (W_INSERT, [i32(1), i32(2), b"A", b"B", i32(1), i64(20)]),
        (W_INSERT, [i32(1), i32(3), b"A", U, i32(0), i64(20)]),
        (W_INSERT, [i32(2), i32(1), b"A", U, i32(0), i64(20)]),
        (W_INSERT, [i32(2), i32(1), U, b"B", i32(0), i64(30)]),
    ]


def test_preserve_a_remaining_ttl_of_zero_is_written_as_one_and_a_null_ttl_as_none():
    plan, session = plan_for(SIMPLE, preserve=True), RecordingSession()
    writer(plan, session).write_page([row(plan, 1, 1, a=(b"A", 5, 0), b=(b"B", 5, None))])
    assert session.writes == [
        (INSERT + META, [i32(1), i32(1), U, b"A", U, i32(1), i64(5)]),
        (INSERT + META, [i32(1), i32(1), U, U, b"B", i32(0), i64(5)]),
    ]


def test_preserve_a_row_without_cells_is_written_as_the_insert_of_its_key():
    plan, session = plan_for(SIMPLE, preserve=True), RecordingSession()
    s = (b"S", 1, None)  # a partition's static cell comes with each of its rows
    writer(plan, session).write_page([row(plan, 1, 1, s=s, a=(b"A", 1, None)), row(plan, 1, 2, s=s), row(plan, 2, 1)])
    assert session.writes == [
        (INSERT + META, [i32(1), i32(1), b"S", b"A", U, i32(0), i64(1)]),
        (MARKER, [i32(1), i32(2)]),  # its static was written with row 1: the row itself has no cells
        (MARKER, [i32(2), i32(1)]),
    ]


def test_preserve_static_cells_once_per_partition_and_a_static_only_row_by_partition_key():
    plan, session = plan_for(SIMPLE, preserve=True), RecordingSession()
    writer(plan, session).write_page([
        row(plan, 1, 1, s=(b"S", 10, None), a=(b"A", 10, None)),
        row(plan, 1, 2, s=(b"S", 10, None), b=(b"B", 30, None)),
        row(plan, 2, None, s=(b"T", 40, 60)),
    ])
    assert session.writes == [
        (INSERT + META, [i32(1), i32(1), b"S", b"A", U, i32(0), i64(10)]),
        (INSERT + META, [i32(1), i32(2), U, U, b"B", i32(0), i64(30)]),
        (INSERT_STATIC + META, [i32(2), b"T", i32(60), i64(40)]),
    ]


# --- preserve mode: collections and UDTs --------------------------------------------------------


def test_preserve_a_row_written_in_one_statement_is_written_in_one_insert_collections_whole():
    plan, session = plan_for(MULTI, preserve=True, target_fresh=True), RecordingSession()
    tags, attrs = coll([b"x", b"y"]), coll([b"p", b"1"], count=1)
    writer(plan, session).write_page([row(
        plan, 1, tags=(tags, [7, 7], [60, 60]), attrs=(attrs, [7], [60]),
        addr=(udt(b"Main", None), [7, None], [60, None]),
    )])
    assert session.writes == [(M_INSERT, [i32(1), tags, attrs, U, udt(b"Main", None), i32(60), i64(7)])]
    assert session.statements[0].is_idempotent is True  # sets, maps and UDTs written whole repeat harmlessly


def test_preserve_a_collection_spanning_groups_is_added_per_group_with_the_other_columns_of_that_group():
    plan, session = plan_for(MULTI, preserve=True), RecordingSession()
    w = writer(plan, session)
    w.write_page([row(
        plan, 1,
        tags=(coll([b"x", b"y", b"z"]), [1, 2, 1], [None, None, None]),
        attrs=(coll([b"p", b"1", b"q", b"2"], count=2), [3, 1], [50, None]),
        addr=(udt(b"Main", b"75001"), [3, 2], [50, None]),
    )])
    assert session.log == [
        ("async", M_PARTS, [i32(0), i64(1), coll([b"x", b"z"]), coll([b"q", b"2"], count=1), U, U, i32(1)]),
        ("async", M_PARTS, [i32(0), i64(2), coll([b"y"]), U, U, b"75001", i32(1)]),
        ("async", M_PARTS, [i32(50), i64(3), U, coll([b"p", b"1"], count=1), b"Main", U, i32(1)]),
    ]  # no marker: the row has cells
    assert session.prepared[-2:] == [M_PARTS, 'INSERT INTO "dst"."m" ("k") VALUES (?)']


def test_preserve_a_udt_with_null_fields_in_one_group_is_written_whole():
    plan, session = plan_for(MULTI, preserve=True), RecordingSession()
    writer(plan, session).write_page([row(plan, 1, addr=(udt(b"Main", None), [7, None], [90, None]))])
    assert session.writes == [(M_INSERT, [i32(1), U, U, U, udt(b"Main", None), i32(90), i64(7)])]


def test_preserve_a_list_equal_to_the_target_list_is_not_written():
    value = coll([b"x", b"y"])
    plan, session = plan_for(MULTI, preserve=True), RecordingSession(target={(i32(1),): (value,)})
    w = writer(plan, session)
    w.write_page([row(plan, 1, l=(value, [1, 2], [None, None]))])
    assert session.log == [("async", READ_L, [i32(1)])]
    assert w.list_conflicts == 0


def test_preserve_the_page_s_target_lists_are_read_together_before_any_write():
    plan, session = plan_for(MULTI, preserve=True), RecordingSession()
    writer(plan, session).write_page([row(plan, k, l=(coll([b"x"]), [1], [None])) for k in (1, 2, 3)])
    assert [(how, text) for how, text, _ in session.log[:3]] == [("async", READ_L)] * 3
    assert [values for _, _, values in session.log[:3]] == [[i32(1)], [i32(2)], [i32(3)]]
    # nothing there and one run each: the whole list goes with its group's INSERT
    assert session.writes == [(M_INSERT, [i32(k), U, U, coll([b"x"]), U, i32(0), i64(1)]) for k in (1, 2, 3)]


def test_preserve_list_runs_are_appended_in_order_each_once_the_runs_before_it_were_acknowledged():
    plan, session = plan_for(MULTI, preserve=True), RecordingSession(delay=0.05)
    w = writer(plan, session)
    w.write_page([row(plan, 1, l=(coll([b"x", b"y", b"z", b"w"]), [1, 1, 2, 1], [None, None, 60, None])),
                  row(plan, 2, l=(coll([b"v"]), [5], [None]))])
    w.finish()
    assert session.log == [
        ("async", READ_L, [i32(1)]),
        ("async", READ_L, [i32(2)]),
        ("async", APPEND_L, [i32(0), i64(1), coll([b"x", b"y"]), i32(1)]),
        ("async", M_INSERT, [i32(2), U, U, coll([b"v"]), U, i32(0), i64(5)]),  # row 2 does not wait for row 1
        ("async", APPEND_L, [i32(60), i64(2), coll([b"z"]), i32(1)]),
        ("async", APPEND_L, [i32(0), i64(1), coll([b"w"]), i32(1)]),
    ]
    assert session.acked_before[4:] == [4, 5]  # each later run after everything before it was acknowledged
    assert w.list_conflicts == 0


def test_preserve_a_list_cut_short_between_runs_gets_only_the_remaining_runs():
    plan = plan_for(MULTI, preserve=True)
    session = RecordingSession(target={(i32(1),): (coll([b"x", b"y"]),)})  # the first run landed, then a kill
    w = writer(plan, session)
    w.write_page([row(plan, 1, l=(coll([b"x", b"y", b"z"]), [1, 1, 2], [None, None, None]))])
    assert session.writes == [(APPEND_L, [i32(0), i64(2), coll([b"z"]), i32(1)])]
    assert w.list_conflicts == 0


def test_preserve_a_fresh_target_on_a_first_attempt_is_not_read(monkeypatch):
    monkeypatch.setattr(preserve, "first_attempt", lambda: True)
    plan, session = plan_for(MULTI, preserve=True, target_fresh=True), RecordingSession()
    writer(plan, session).write_page([row(plan, 1, l=(coll([b"x"]), [1], [None]))])
    assert session.log == [("async", M_INSERT, [i32(1), U, U, coll([b"x"]), U, i32(0), i64(1)])]


def test_preserve_a_fresh_target_is_read_on_a_retried_task(monkeypatch):
    monkeypatch.setattr(preserve, "first_attempt", lambda: False)
    plan, session = plan_for(MULTI, preserve=True, target_fresh=True), RecordingSession()
    writer(plan, session).write_page([row(plan, 1, l=(coll([b"x"]), [1], [None]))])
    assert [text for _, text, _ in session.log] == [READ_L, M_INSERT]


def test_preserve_list_appends_and_inserts_carrying_a_whole_list_are_never_retried_blindly():
    plan, session = plan_for(MULTI, preserve=True), RecordingSession()
    w = writer(plan, session)
    w.write_page([row(plan, 1, l=(coll([b"x"]), [1], [None])),
                  row(plan, 2, l=(coll([b"x", b"y"]), [1, 2], [None, None]))])
    w.finish()
    sent = {(s.prepared_statement.query_string, s.values[-1]): s for s in session.statements}
    assert sent[M_INSERT, i64(1)].is_idempotent is False
    assert sent[APPEND_L, i32(2)].is_idempotent is False
    assert M_INSERT not in [text for text, values in session.writes if values[0] == i32(2)]


def test_preserve_a_different_target_list_is_replaced_whole_with_the_newest_element_timestamp():
    plan, session = plan_for(MULTI, preserve=True), RecordingSession(target={(i32(1),): (coll([b"q"]),)})
    w, value = writer(plan, session), coll([b"x", b"y"])
    w.write_page([row(plan, 1, l=(value, [1, 3], [100, 100]))])
    assert session.log == [
        ("async", READ_L, [i32(1)]),
        ("sync", m_update('"l" = ?'), [i32(100), i64(3), value, i32(1)]),
    ]
    assert w.list_conflicts == 1


@pytest.mark.parametrize(("have", "expected"), [
    ([], 0), ([b"x", b"y"], 1), ([b"x", b"y", b"z"], 2), ([b"x", b"y", b"z", b"w"], 3),
    ([b"x"], None), ([b"y", b"x"], None), ([b"x", b"y", b"z", b"w", b"v"], None), ([b"q"], None),
])
def test_runs_already_written_counts_whole_leading_runs_only(have, expected):
    runs = [([b"x", b"y"], (1, 0)), ([b"z"], (2, 60)), ([b"w"], (1, 0))]
    assert preserve.runs_already_written(have, runs) == expected


def test_preserve_timestamp_override_replaces_every_writetime():
    plan, session = plan_for(SIMPLE, preserve=True, timestamp_override=99), RecordingSession()
    writer(plan, session).write_page([row(plan, 1, 1, a=(b"A", 20, None), b=(b"B", 30, None))])
    assert session.writes == [(INSERT + META, [i32(1), i32(1), U, b"A", b"B", i32(0), i64(99)])]

    plan, session = plan_for(MULTI, preserve=True, timestamp_override=99), RecordingSession()
    writer(plan, session).write_page([row(
        plan, 1, tags=(coll([b"x", b"y"]), [1, 2], [None, None]), l=(coll([b"p", b"q"]), [3, 4], [None, None]),
    )])
    assert session.writes == [(M_INSERT, [i32(1), coll([b"x", b"y"]), U, coll([b"p", b"q"]), U, i32(0), i64(99)])]


# --- counter mode -------------------------------------------------------------------------------


def test_counter_reads_the_target_then_adds_source_minus_target_and_nothing_when_equal():
    plan = plan_for(COUNTERS)
    session = RecordingSession(target={
        (i32(1), i32(1)): (i64(5), i64(7)),
        (i32(2), i32(1)): (i64(4), None),
        (i32(2), i32(2)): (i64(6), None),
    })
    w = writer(plan, session)
    w.write_page([
        row(plan, 1, 1, n=i64(8), m=i64(7)),  # m already equal
        row(plan, 1, 2, n=i64(2)),  # not in the target
        row(plan, 2, 1, n=i64(4)),  # equal
        row(plan, 2, 2, n=i64(1), m=i64(3)),  # the target is ahead on n, has no m
    ])
    read = 'SELECT "n", "m" FROM "dst"."c" WHERE "k" = ? AND "c" = ?'
    add_n = 'UPDATE "dst"."c" SET "n" = "n" + ? WHERE "k" = ? AND "c" = ?'
    add_nm = 'UPDATE "dst"."c" SET "n" = "n" + ?, "m" = "m" + ? WHERE "k" = ? AND "c" = ?'
    assert session.log == [
        ("async", read, [i32(1), i32(1)]),
        ("async", read, [i32(1), i32(2)]),
        ("async", read, [i32(2), i32(1)]),
        ("async", read, [i32(2), i32(2)]),
        ("async", add_n, [i64(3), i32(1), i32(1)]),
        ("async", add_n, [i64(2), i32(1), i32(2)]),
        ("async", add_nm, [i64(-5), i64(3), i32(2), i32(2)]),
    ]
    assert [s.is_idempotent for s in session.statements[4:]] == [False] * 3  # never retried blindly
    assert {s.consistency_level for s in session.statements} == {ConsistencyLevel.LOCAL_ONE}
    assert (w.rows_read, w.rows_written) == (4, 3)


# --- choosing the writer ------------------------------------------------------------------------


@pytest.mark.parametrize(("plan", "mode", "cls"), [
    (plan_for(SIMPLE), PLAIN, PlainWriter),
    (plan_for(SIMPLE, preserve=True), PRESERVE, PreserveWriter),
    (plan_for(COUNTERS, preserve=True), COUNTER, CounterWriter),
])
def test_make_writer_picks_the_writer_of_the_plan_mode(plan: CopyPlan, mode: str, cls: type[RowWriter]):
    assert plan.mode == mode
    assert type(writer(plan, RecordingSession())) is cls
