"""Grouping writes into unlogged batches: when a batch closes, where it is routed, what it carries.

The window below only records what is submitted, and the token map is the driver's own ``Murmur3Token``
ring with replicas chosen by the test: the grouping logic depends on nothing else.
"""

from __future__ import annotations

import io
from types import SimpleNamespace
from typing import Any

import pytest
from cassandra import ConsistencyLevel, cqltypes
from cassandra.cmurmur3 import murmur3
from cassandra.metadata import Murmur3Token
from cassandra.protocol import BatchMessage, ColumnMetadata
from cassandra.query import UNSET_VALUE, BatchStatement, BatchType, BoundStatement, PreparedStatement

from migrator.backends.cassandra.batches import CELL_OVERHEAD, Batcher, ReplicaGroups
from migrator.backends.cassandra.raw import bind_raw

KEYSPACE = "ks"


class RecordingWindow:
    def __init__(self) -> None:
        self.sent: list[Any] = []
        self.drained = 0

    def submit(self, statement: Any) -> None:
        self.sent.append(statement)

    def drain(self) -> None:
        self.drained += 1


class Ring:
    """A token map with ring tokens ``bounds``; range i (ending at bounds[i]) is owned by owners[i]."""

    token_class = Murmur3Token

    def __init__(self, bounds: list[int], owners: list[list[str]]) -> None:
        self.ring = [Murmur3Token(b) for b in bounds]
        self.owners = dict(zip(bounds, owners, strict=True))

    def get_replicas(self, keyspace: str, token: Murmur3Token) -> list[str]:
        assert keyspace == KEYSPACE
        return list(self.owners[token.value])


def session_with(token_map: Any) -> Any:
    metadata = SimpleNamespace(token_map=token_map, keyspaces={KEYSPACE: object()})
    return SimpleNamespace(cluster=SimpleNamespace(metadata=metadata))


def statement(query_id: bytes = b"q1", *, idempotent: bool = True) -> PreparedStatement:
    """A prepared INSERT as the driver returns it (four bound columns, the first one the partition key)."""
    columns = [ColumnMetadata(KEYSPACE, "t", name, cqltypes.BytesType) for name in ("k", "a", "b", "c")]
    stmt = PreparedStatement(columns, query_id, [0], "INSERT ...", KEYSPACE, 5, [], None)
    stmt.is_idempotent = idempotent
    stmt.consistency_level = ConsistencyLevel.LOCAL_ONE
    return stmt


def key_with_token_between(low: int, high: int) -> bytes:
    """A routing key whose Murmur3 token lies in (low, high]."""
    for i in range(1_000_000):
        key = i.to_bytes(8, "big")
        if low < murmur3(key) <= high:
            return key
    raise AssertionError("no key found")


def batcher(token_map: Any = None, **kwargs: Any) -> tuple[Batcher, RecordingWindow]:
    window = RecordingWindow()
    return Batcher(session_with(token_map), window, KEYSPACE, ConsistencyLevel.LOCAL_ONE, **kwargs), window  # type: ignore[arg-type]


def values(n: int) -> list[Any]:
    return [n.to_bytes(8, "big"), b"x" * 10, UNSET_VALUE, None]


def test_rows_for_the_same_replicas_share_a_batch_up_to_max_rows() -> None:
    b, window = batcher(Ring([0, 2**62], [["a"], ["a"]]), max_rows=3)
    for i in range(7):
        b.add(statement(), values(i), i.to_bytes(8, "big"))
    b.drain()
    sizes = [len(s._statements_and_parameters) if isinstance(s, BatchStatement) else 1 for s in window.sent]
    assert sizes == [3, 3, 1]
    assert window.drained == 1
    assert isinstance(window.sent[-1], BoundStatement)  # a lone statement is not wrapped in a batch


def test_a_batch_closes_when_the_replicas_change() -> None:
    ring = Ring([-(2**62), 2**62, 2**63 - 1], [["a"], ["b"], ["a"]])
    b, window = batcher(ring, max_rows=100)
    in_b = [key_with_token_between(-(2**62), 2**62) for _ in range(1)]
    in_a_low = key_with_token_between(-(2**63), -(2**62))
    in_a_high = key_with_token_between(2**62, 2**63 - 1)
    for key in (in_a_low, in_a_high, in_b[0], in_b[0], in_a_low):
        b.add(statement(), values(1), key)
    b.drain()
    # the two ring ranges owned by "a" are one group: equal replica sets share a batch
    assert [len(s._statements_and_parameters) if isinstance(s, BatchStatement) else 1 for s in window.sent] == [2, 2, 1]
    first = window.sent[0]
    assert first.routing_key == in_a_low and first.keyspace == KEYSPACE
    assert first.batch_type == BatchType.UNLOGGED and first.is_idempotent
    assert first.consistency_level == ConsistencyLevel.LOCAL_ONE


def test_the_wrap_around_range_belongs_to_the_first_ring_token() -> None:
    groups = ReplicaGroups(session_with(Ring([-(2**62), 2**62], [["a"], ["b"]])), KEYSPACE)
    above_last = key_with_token_between(2**62, 2**63 - 1)
    below_first = key_with_token_between(-(2**63), -(2**62))
    assert groups.group(above_last) is groups.group(below_first) == ("a",)


def test_a_batch_closes_before_it_grows_past_max_bytes() -> None:
    per_row = sum(len(v) for v in values(0) if isinstance(v, bytes)) + CELL_OVERHEAD * len(values(0))
    b, window = batcher(Ring([0], [["a"]]), max_rows=100, max_bytes=per_row * 2 + 1)
    for i in range(5):
        b.add(statement(), values(i), b"k")
    b.drain()
    assert [len(s._statements_and_parameters) if isinstance(s, BatchStatement) else 1 for s in window.sent] == [2, 2, 1]


def test_non_idempotent_statements_and_max_rows_one_are_sent_alone() -> None:
    b, window = batcher(Ring([0], [["a"]]))
    b.add(statement(idempotent=False), values(1), b"k")
    assert len(window.sent) == 1 and isinstance(window.sent[0], BoundStatement)
    b, window = batcher(Ring([0], [["a"]]), max_rows=1)
    for i in range(3):
        b.add(statement(), values(i), b"k")
    assert [type(s) for s in window.sent] == [BoundStatement] * 3
    assert b.groups is None


def test_a_batchable_non_idempotent_statement_makes_its_batch_not_retryable() -> None:
    b, window = batcher(Ring([0], [["a"]]), max_rows=3)
    b.add(statement(), values(1), b"k")
    b.add(statement(b"append", idempotent=False), values(2), b"k", batchable=True)
    b.add(statement(), values(3), b"k")  # closes the first batch (max_rows)
    b.add(statement(), values(4), b"k")
    b.add(statement(), values(5), b"k")
    b.drain()
    assert [len(s._statements_and_parameters) for s in window.sent] == [3, 2]
    assert [s.is_idempotent for s in window.sent] == [False, True]  # the next batch is idempotent again
    b, window = batcher(Ring([0], [["a"]]), max_rows=3)
    b.add(statement(idempotent=False), values(1), b"k", batchable=False)
    b.add(statement(), values(2), b"k", batchable=False)  # an idempotent statement told to go alone
    assert [type(s) for s in window.sent] == [BoundStatement] * 2


def test_without_a_token_map_everything_is_one_group() -> None:
    b, window = batcher(None, max_rows=10)
    for i in range(4):
        b.add(statement(), values(i), i.to_bytes(8, "big"))
    b.drain()
    assert len(window.sent) == 1 and len(window.sent[0]._statements_and_parameters) == 4


@pytest.mark.parametrize("protocol_version", [4, 5])
def test_the_batch_encodes_exactly_as_the_drivers_own_add(protocol_version: int) -> None:
    """The batcher fills the batch's statement list directly (no re-binding): the bytes sent must be the same."""
    b, window = batcher(None, max_rows=10)
    stmts = [statement(b"q1"), statement(b"q2")]
    rows = [values(1), values(2)]
    for stmt, row in zip(stmts, rows, strict=True):
        b.add(stmt, row, b"k")
    b.drain()
    ours = window.sent[0]
    theirs = BatchStatement(BatchType.UNLOGGED)
    for stmt, row in zip(stmts, rows, strict=True):
        theirs.add(bind_raw(stmt, row))  # the public way

    def encoded(batch: BatchStatement) -> bytes:
        out = io.BytesIO()
        message = BatchMessage(batch.batch_type, batch._statements_and_parameters, ConsistencyLevel.LOCAL_ONE,
                               None, None, None)
        message.send_body(out, protocol_version)
        return out.getvalue()

    assert encoded(ours) == encoded(theirs)
