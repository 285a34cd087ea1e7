"""Grouping writes into unlogged batches of rows owned by the same replicas.

One request per row costs the Python driver (and the server) far more than the row itself: a
request per row tops out at a few thousand rows per second per Python worker, while the same rows
sent in unlogged batches of ~100 go about ten times faster (see ``bench/RESULTS.md``). A batch
here is only a way to send many independent, idempotent writes in one request, not an atomic unit:

* consecutive rows share a batch only while their tokens fall in ranges owned by the same replicas,
  so the coordinator (chosen by the first row's token) is a replica of every row it receives;
* a batch closes at ``max_rows`` statements or about ``max_bytes`` of values, whichever comes
  first, well below Cassandra's default ``batch_size_fail_threshold`` (50 KiB);
* a batch of idempotent statements is retried whole, which is safe. Counter updates are never
  batched (they cannot share a batch with other writes). A list append may share a batch when its
  writer says so (``batchable``); its batch is then never retried blindly: a failure fails the
  range, and the retried range reads the target's lists first (see ``preserve``).

``max_rows`` = 1 turns batching off: each statement is sent by itself.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Callable, Hashable
from typing import Any

from cassandra.query import BatchStatement, BatchType

from migrator.backends.cassandra.connection import load_replication
from migrator.backends.cassandra.raw import bind_raw
from migrator.backends.cassandra.window import WriteWindow
from migrator.config.target import DEFAULT_BATCH_BYTES, DEFAULT_BATCH_ROWS

CELL_OVERHEAD = 12  # per value: about what the server adds (timestamp, lengths) when it sizes a batch


class ReplicaGroups:
    """Maps a partition's routing key to a token that identifies its replica set.

    Built once from the driver's token map; equal replica sets share one object, so telling whether
    two rows go to the same replicas is an identity test. Without a token map (or a partitioner the
    driver cannot hash) every key maps to the same group.
    """

    def __init__(self, session: Any, keyspace: str) -> None:
        self._hash: Callable[[bytes], int] | None = None
        self._ring: list[int] = []
        self._groups: list[Hashable] = []
        if not load_replication(session, keyspace):
            return
        token_map = session.cluster.metadata.token_map
        hash_fn = getattr(getattr(token_map, "token_class", None), "hash_fn", None)
        if token_map is None or hash_fn is None or not token_map.ring:
            return
        canonical: dict[tuple[Any, ...], tuple[Any, ...]] = {}
        for token in token_map.ring:
            replicas = tuple(token_map.get_replicas(keyspace, token))
            self._groups.append(canonical.setdefault(replicas, replicas))
        self._ring = [token.value for token in token_map.ring]
        self._hash = hash_fn

    def group(self, routing_key: bytes) -> Hashable:
        """The replica set owning the key's token (the same object for the same set)."""
        if self._hash is None:
            return None
        point = bisect_left(self._ring, self._hash(routing_key))
        return self._groups[point if point < len(self._ring) else 0]


class Batcher:
    """Sends statements through a write window, grouped into unlogged batches (see the module docstring)."""

    def __init__(self, session: Any, window: WriteWindow, keyspace: str, consistency_level: int, *,
                 max_rows: int = DEFAULT_BATCH_ROWS, max_bytes: int = DEFAULT_BATCH_BYTES) -> None:
        self.window = window
        self.keyspace = keyspace
        self.consistency_level = consistency_level
        self.max_rows = max_rows
        self.max_bytes = max_bytes
        self.groups = ReplicaGroups(session, keyspace) if max_rows > 1 else None
        self.batches = 0
        self._items: list[tuple[bool, bytes, list[Any]]] = []
        self._bytes = 0
        self._group: Hashable = None
        self._first: tuple[Any, bytes] | None = None  # the first statement and its routing key
        self._idempotent = True  # whether every queued statement is (a batch is retried only then)

    def add(self, statement: Any, values: list[Any], routing_key: bytes, *, batchable: bool | None = None,
            idempotent: bool | None = None) -> None:
        """Queue one bound prepared statement (values already serialized) for the partition ``routing_key``.

        ``idempotent`` defaults to the statement's own flag (a statement whose values make it unsafe
        to repeat, such as an INSERT carrying a whole list, passes False); ``batchable`` defaults to
        the idempotence. A statement that is not idempotent but may share a batch (a list append)
        makes its batch not idempotent: never retried blindly.
        """
        idempotent = bool(statement.is_idempotent) if idempotent is None else idempotent
        if self.groups is None or not (idempotent if batchable is None else batchable):
            bound = bind_raw(statement, values)
            bound.is_idempotent = idempotent
            self.window.submit(bound)
            return
        size = sum([len(v) for v in values if v.__class__ is bytes]) + CELL_OVERHEAD * len(values)
        group = self.groups.group(routing_key)
        if self._items and (group is not self._group or self._bytes + size > self.max_bytes):
            self.flush()
        if not self._items:
            self._group, self._first = group, (statement, routing_key)
        self._items.append((True, statement.query_id, values))
        self._idempotent = self._idempotent and idempotent
        self._bytes += size
        if len(self._items) >= self.max_rows:
            self.flush()

    def flush(self) -> None:
        """Send what is queued (a single statement goes alone, without a batch)."""
        if not self._items:
            return
        assert self._first is not None
        statement, routing_key = self._first
        if len(self._items) == 1:
            self.window.submit(bind_raw(statement, self._items[0][2]))
        else:
            batch = BatchStatement(BatchType.UNLOGGED, consistency_level=self.consistency_level)
            batch._statements_and_parameters = self._items  # values are serialized already: no re-binding
            batch.routing_key = routing_key
            batch.keyspace = self.keyspace
            batch.is_idempotent = self._idempotent
            self.window.submit(batch)
            self.batches += 1
        self._items, self._bytes, self._first, self._idempotent = [], 0, None, True

    def drain(self) -> None:
        """Send what is queued and wait until every write was acknowledged; raise if one failed."""
        self.flush()
        self.window.drain()
