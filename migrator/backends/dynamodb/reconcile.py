"""Reconcile's changes for a DynamoDB or Alternator production table: JSON lines in the pack, checked batch writes.

Pack file ``<table>.jsonl``: one change per line, ``{"op": "put" | "delete", "key": ..., "expect": ...,
"want": ..., "item": ..., "why": ...}``, items in DynamoDB's JSON wire form exactly as ``diff`` read
them from dev (renamed as production holds them). A delete the config does not allow is written
with ``# `` in front: a comment, skipped by ``apply``. Lines starting with ``#`` are comments.

Applying a batch is a **read-compare**, then a write, in tasks of up to 100 rows, several in flight:
a task reads its rows' production items with one BatchGetItem and digests each as ``diff`` did
(``items.item_digest``, ``ignoreColumns`` left out). An item whose digest is the one the change was
decided on is written (BatchWriteItem puts the dev item whole, or deletes the key), one that already
is what the change wants is left alone, and any other is skipped and reported. DynamoDB's
conditional writes are not used: BatchWriteItem takes no conditions, and a condition cannot say
"this item still has that digest" (it can test the attributes it names, never the absence of others);
one conditional PutItem per item would cost a round trip each. The window between a task's read and
its write is that task's round trips; a write landing in it is overwritten (documented).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from migrator.backends.dynamodb import items as ditems
from migrator.backends.dynamodb.client import ClientSpec
from migrator.backends.dynamodb.compare import PROBE_KEYS, batch_get, key_text
from migrator.backends.dynamodb.copier import write_batch
from migrator.backends.dynamodb.pacing import Pacer
from migrator.backends.dynamodb.wire import wire_client
from migrator.reconcile.changes import DELETE, Change, classify
from migrator.report.view import encoder

TASKS_IN_FLIGHT = 10
SMALLEST_TASK = 25
UNPACED = Pacer(None)
_LINE = encoder(ensure_ascii=False, separators=(",", ":"))  # built once: json.dumps with options builds one per call


class DynamoChanges:
    """The ``ChangeFormat`` of a DynamoDB production table."""

    extension = "jsonl"

    def __init__(self, target: ClientSpec, table: str, *, ignore: tuple[str, ...] = (), batch_items: int = 25,
                 return_consumed: bool = True) -> None:
        self.target = target
        self.table = table
        self.ignore = ignore
        self.batch_items = batch_items
        self.return_consumed = return_consumed

    def header(self, table: str, dev: str, production: str) -> list[str]:
        """Comment lines opening the pack file."""
        return [f"# migrator reconcile pack: dev {dev} -> production {production}",
                "# one change per line: op, key, expect (production's digest at diff time; null: absent), "
                "want (the digest it leaves), item (written whole), why",
                "# lines starting with # are not applied (deletes stay commented out unless reconcile.allowDeletes)"]

    def render(self, change: Change) -> str:
        """One JSON line (commented out when disabled)."""
        line = _LINE({"op": change.op, "key": change.key, "expect": change.expect, "want": change.want,
                      **({"item": change.row} if change.row is not None else {}), "why": change.why})
        return ("" if change.enabled else "# ") + line + "\n"

    def parse(self, lines: Iterable[str]) -> Iterator[Change]:
        """The enabled changes of a pack file."""
        for line in lines:
            text = line.strip()
            if not text or text.startswith("#"):
                continue
            data = json.loads(text)
            yield Change(data["op"], data["key"], data.get("expect"), data.get("want"), data.get("item"),
                         data.get("why", ""))

    def applier(self) -> DynamoApplier:
        """A client to production."""
        return DynamoApplier(self)


def tasks(changes: list[Change]) -> list[list[Change]]:
    """A batch cut into even tasks of at most 100 rows (one BatchGetItem each).

    Small batches are cut into up to ``TASKS_IN_FLIGHT`` tasks of at least ``SMALLEST_TASK`` rows.
    """
    if not changes:
        return []
    count = max(-(-len(changes) // PROBE_KEYS), min(TASKS_IN_FLIGHT, -(-len(changes) // SMALLEST_TASK)))
    size = -(-len(changes) // count)
    return [changes[start : start + size] for start in range(0, len(changes), size)]


class DynamoApplier:
    """Read-compare-write of change batches against the production table, 100 rows per task, tasks in parallel.

    Each task reads its rows (one BatchGetItem), decides, and writes those still as the diff saw them
    (BatchWriteItem requests of ``batch_items``), so reads of one task overlap writes of another.
    ``apply`` returns once every task's writes were acknowledged.
    """

    def __init__(self, fmt: DynamoChanges) -> None:
        self.fmt = fmt
        self.client = wire_client(fmt.target)
        self.pool = ThreadPoolExecutor(max_workers=TASKS_IN_FLIGHT, thread_name_prefix="dynamodb-apply")

    def apply(self, changes: list[Change], *, dry_run: bool = False) -> list[str]:
        """Each change's outcome (``APPLIED``/``ALREADY``/``SKIPPED``); writes nothing with ``dry_run``."""
        return [outcome for part in self.pool.map(lambda c: self._apply(c, dry_run), tasks(changes))
                for outcome in part]

    def close(self) -> None:
        """Stop the threads (the process's wire client is shared)."""
        self.pool.shutdown(wait=True, cancel_futures=True)

    def _apply(self, changes: list[Change], dry_run: bool) -> list[str]:
        current = self._digests([c.key for c in changes])
        outcomes, to_write = classify(changes, (current.get(key_text(c.key, sorted(c.key))) for c in changes))
        if to_write and not dry_run:
            requests = [{"DeleteRequest": {"Key": c.key}} if c.op == DELETE else {"PutRequest": {"Item": c.row}}
                        for c in to_write]
            size = self.fmt.batch_items
            for start in range(0, len(requests), size):
                write_batch(self.client, self.fmt.table, requests[start : start + size], UNPACED,
                            self.fmt.return_consumed)
        return outcomes

    def _digests(self, keys: list[dict[str, Any]]) -> dict[str, str]:
        """One BatchGetItem of at most 100 keys (consistent): ``{key text: digest}`` of those that exist."""
        names = sorted(keys[0]) if keys else []
        items = batch_get(self.client, self.fmt.table, keys, {"ConsistentRead": True},
                          hint="raise the table's read capacity, then apply again with --resume")
        return {key_text(item, names): ditems.item_digest(item, self.fmt.ignore) for item in items}
