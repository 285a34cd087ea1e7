"""Executor side of a DynamoDB validation: one segment, both directions, by probing the other table.

Parallel-scan segments of two tables do not hold the same keys (each server places items by its own
hash), so the CQL backend's per-range merge of two ordered scans does not apply. A segment is
compared in two passes, each bounded by one scan page plus one probe of at most 100 keys:

1. scan the source's segment; for each page, fetch the same keys from the target with BatchGetItem
   and compare item by item: an absent item is **missing**, a different one **differing**;
2. scan the target's segment (keys and the TTL attribute only); for each page, ask the source for
   the same keys (keys only): a key the source lacks is **extra** (for reconcile's diff, the extra
   items are then read whole from the target, for their digests).

Every item of either table is in exactly one segment of its own scan, so the totals are exact and
each item is probed once from each side. Compared with a Spark shuffle of both tables (keys and
digests, then a re-read of what differs), this reads the target's items twice (once by probe, once
by a keys-only scan) but moves nothing between executors, keeps no state beyond a page, and lets a
segment finish, be recorded in a savepoint and be resumed on its own.

Items whose TTL has expired (``items.expired``, with the source's TTL attribute renamed on the
target) are not part of either table. Values are compared as DynamoDB defines them: numbers as
decimals within ``floatingPointTolerance`` (NS member by member after sorting), SS and BS as sets,
L element by element, M key by key; attribute names after ``renames``; ``ignoreColumns`` skipped.

Repairs (``copyMissingRows``, ``copyDifferingRows``, ``deleteExtraRows``) are written as they are
found, through the copy's batch writer: the source's item whole (renamed), or a DeleteRequest of
the extra key. They are counted in ``RangeResult.repaired`` and the items still count as found.

``ItemComparer`` is the part that takes pages of items from anywhere and probes the other table;
``SegmentComparer`` feeds it both scans, and an S3 export's validation (``s3export.compare``) feeds
it the export's data files.
"""

from __future__ import annotations

import datetime as dt
import functools
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from migrator.backends.base import WorkItem
from migrator.backends.dynamodb import items as ditems
from migrator.backends.dynamodb.client import ClientSpec
from migrator.backends.dynamodb.copier import BatchWriter
from migrator.backends.dynamodb.pacing import Pacer, backoff, call_throttled
from migrator.backends.dynamodb.scan import scan_segment
from migrator.backends.dynamodb.wire import wire_client
from migrator.differences import DifferenceSink, DifferenceWriter
from migrator.errors import RuntimeFailure
from migrator.report.model import DIFFERING, EXTRA, MISSING, ColumnStats, Example, RangeResult

PROBE_KEYS = 100  # BatchGetItem's limit
REPAIR_NAMES = {MISSING: "copiedMissing", DIFFERING: "copiedDiffering", EXTRA: "deletedExtra"}
UNPROCESSED_ROUNDS = 12


@dataclass(frozen=True)
class ComparePlan:
    """Everything an executor needs to compare a segment, as plain picklable data."""

    source: ClientSpec
    target: ClientSpec
    source_table: str
    target_table: str
    total_segments: int
    key_names: tuple[str, ...]  # the source's key attributes (partition key first)
    renames: tuple[tuple[str, str], ...] = ()
    ttl_attribute: str | None = None  # the source's TTL attribute, when TTL is enabled there
    tolerance: float = 0.0
    ignore: tuple[str, ...] = ()  # target attribute names left out of the comparison
    failures_to_fetch: int = 100
    read_units_per_s: float | None = None
    return_consumed: bool = True
    # repairs, as the CQL validator makes them: whole items written, extra items deleted
    copy_missing: bool = False
    copy_differing: bool = False
    delete_extra: bool = False
    batch_items: int = 25
    write_units_per_s: float | None = None
    # reconcile's diff: each difference carries both items' digests (extra items are then read whole)
    # and, when named, the attribute holding each item's update time
    digests: bool = False
    written_attribute: str | None = None

    @property
    def repairs(self) -> bool:
        """Whether any repair is on."""
        return self.copy_missing or self.copy_differing or self.delete_extra

    @property
    def target_names(self) -> dict[str, str]:
        """``{source attribute: target attribute}``."""
        return dict(self.renames)

    @property
    def target_key_names(self) -> tuple[str, ...]:
        """The key attributes as the target names them."""
        names = self.target_names
        return tuple(names.get(k, k) for k in self.key_names)


def compare_item(plan: ComparePlan, sink: DifferenceSink | None, item: WorkItem) -> RangeResult:
    """The compare task of the backend protocol: both passes over one segment."""
    segment = int(item.spec)
    with DifferenceWriter.open(sink, item.index) as differences:
        result = SegmentComparer(plan, segment, differences).run()
    if differences is not None:
        result.differences_file = str(differences.path)
    return result


class ItemComparer:
    """Compares items of one side with the other table's, looked up by key, and fills a ``RangeResult``.

    The items come from wherever the caller reads them (a segment's scan, an S3 export's data file),
    a page at a time; each page costs one probe of at most ``PROBE_KEYS`` keys. What is found is
    counted, sampled, written to the differences file and repaired as the module docstring says.
    Clients are opened on first use, so a side that is never probed is never connected to.
    """

    def __init__(self, plan: ComparePlan, index: int, differences: DifferenceWriter | None = None) -> None:
        self.plan = plan
        self.index = index
        self.result = RangeResult(index, index, index + 1)
        self.pacer = Pacer(plan.read_units_per_s)
        self.differences = differences
        self.now = time.time()
        self.position = 0
        self.kept = {MISSING: 0, EXTRA: 0, DIFFERING: 0}
        self.renames = plan.target_names
        self.target_ttl = self.renames.get(plan.ttl_attribute, plan.ttl_attribute) if plan.ttl_attribute else None
        self.writer = BatchWriter(self.target, plan.target_table, plan.batch_items, Pacer(plan.write_units_per_s),
                                  plan.return_consumed) if plan.repairs else None

    @functools.cached_property
    def source(self) -> Any:
        """The source table's client."""
        return wire_client(self.plan.source)

    @functools.cached_property
    def target(self) -> Any:
        """The target table's client."""
        return wire_client(self.plan.target)

    def finish(self) -> RangeResult:
        """The repairs' last writes; returns the counts and the sample."""
        try:
            if self.writer is not None:
                self.writer.finish()
        finally:
            if self.writer is not None:
                self.writer.close()
        return self.result

    def check_source_items(self, page: list[dict[str, Any]]) -> None:
        """Live source items (source names) against the target's: absent is **missing**, else compared."""
        p = self.plan
        renamed = [ditems.renamed(i, self.renames) for i in page]
        found = self._probe(self.target, p.target_table, [ditems.key_of(i, p.target_key_names) for i in renamed])
        for item in renamed:
            target_item = found.get(key_text(item, p.target_key_names))
            if target_item is None or ditems.expired(target_item, self.target_ttl, self.now):
                self._found(MISSING, item, None, [])
            else:
                self._compare(item, target_item)

    def check_target_items(self, page: list[dict[str, Any]]) -> None:
        """Live target items (target names), whole, against the source's: absent is **extra**, else compared."""
        p = self.plan
        keys = self._source_keys(page)
        found = self._probe(self.source, p.source_table, keys)
        for item, key in zip(page, keys, strict=True):
            source_item = found.get(key_text(key, p.key_names))
            if source_item is None or ditems.expired(source_item, p.ttl_attribute, self.now):
                self._found(EXTRA, None, item, [])
            else:
                self._compare(ditems.renamed(source_item, self.renames), item)

    def check_target_keys(self, page: list[dict[str, Any]]) -> None:
        """Live target keys against the source's keys: a key the source lacks is **extra** (values not compared)."""
        p = self.plan
        keys = self._source_keys(page)
        projection = [*p.key_names, *([p.ttl_attribute] if p.ttl_attribute else [])]
        found = self._probe(self.source, p.source_table, keys, projection)
        extra = [item for item, key in zip(page, keys, strict=True)
                 if (source_item := found.get(key_text(key, p.key_names))) is None
                 or ditems.expired(source_item, p.ttl_attribute, self.now)]
        if extra and p.digests:  # the page holds keys only: the extra items whole, for their digests
            whole = self._probe(self.target, p.target_table, [ditems.key_of(i, p.target_key_names) for i in extra])
            extra = [whole.get(key_text(i, p.target_key_names), i) for i in extra]
        for item in extra:
            self._found(EXTRA, None, item, [])

    def _source_keys(self, page: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """The keys of target items, as the source names them."""
        back = {target: source for source, target in self.renames.items()}
        return [{back.get(k, k): v for k, v in ditems.key_of(i, self.plan.target_key_names).items()} for i in page]

    # --- comparing ---

    def _compare(self, source: dict[str, Any], target: dict[str, Any]) -> None:
        """Two items of one key (both under target names): **differing** when an attribute differs."""
        columns = self._differing(source, target)
        if columns:
            self._found(DIFFERING, source, target, columns)
        else:
            self.position += 1

    def _differing(self, source: dict[str, Any], target: dict[str, Any]) -> list[str]:
        ignore = self.plan.ignore
        columns = []
        for name in sorted(source.keys() | target.keys()):
            if name in ignore:
                continue
            a, b = source.get(name), target.get(name)
            if a is not None and b is not None and values_equal(a, b, self.plan.tolerance):
                continue
            columns.append(name)
            stats = self.result.columns.setdefault(name, ColumnStats())
            stats.unequal += 1
            if a is None or b is None:
                stats.null_vs_value += 1
            elif "N" in a and "N" in b:
                gap = float(abs(_decimal(a["N"]) - _decimal(b["N"])))
                stats.max_difference = gap if stats.max_difference is None else max(stats.max_difference, gap)
        return columns

    def _found(self, kind: str, source: dict[str, Any] | None, target: dict[str, Any] | None,
               columns: list[str]) -> None:
        r = self.result
        if kind == MISSING:
            r.missing += 1
        elif kind == EXTRA:
            r.extra += 1
        else:
            r.differing += 1
        item = source if source is not None else target
        assert item is not None
        key = ditems.key_of(item, self.plan.target_key_names)
        self._repair(kind, key, source)
        example = Example(kind, key, source, target, columns, self.index, self.position, self.index)
        if self.plan.digests:
            self._sign(example)
        self.position += 1
        if self.differences is not None:
            self.differences.write(example)
        if self.kept[kind] < self.plan.failures_to_fetch:
            self.kept[kind] += 1
            r.examples.append(example)

    def _sign(self, example: Example) -> None:
        """Both items' digests (the source's after renames, as the target would hold it) and update times."""
        ignore, at = self.plan.ignore, self.renames.get(self.plan.written_attribute or "", self.plan.written_attribute)
        for side, item in (("source", example.source), ("target", example.target)):
            if item is None:
                continue
            setattr(example, f"{side}_digest", ditems.item_digest(item, ignore))
            setattr(example, f"{side}_written", _number(item.get(at)) if at else None)

    def _repair(self, kind: str, key: dict[str, Any], source: dict[str, Any] | None) -> None:
        p, writer = self.plan, self.writer
        if writer is None:
            return
        if (kind == MISSING and p.copy_missing) or (kind == DIFFERING and p.copy_differing):
            assert source is not None
            writer.put(source)
        elif kind == EXTRA and p.delete_extra:
            writer.delete(key)
        else:
            return
        name = REPAIR_NAMES[kind]
        self.result.repaired[name] = self.result.repaired.get(name, 0) + 1

    # --- reading ---

    def _probe(self, table_client: Any, table: str, keys: list[dict[str, Any]],
               projection: Sequence[str] = ()) -> dict[str, dict[str, Any]]:
        """The items of ``keys`` that exist, by ``key_text``."""
        names = [k for k in keys[0]] if keys else []
        found: dict[str, dict[str, Any]] = {}
        for start in range(0, len(keys), PROBE_KEYS):
            for item in batch_get(table_client, table, keys[start : start + PROBE_KEYS], _projection(projection),
                                  return_consumed=self.plan.return_consumed, pacer=self.pacer,
                                  hint="lower source.throughputReadPercent, then resume the validation"):
                found[key_text(item, names)] = item
        return found


class SegmentComparer(ItemComparer):
    """Compares one segment in both passes (see the module docstring) and fills its ``RangeResult``."""

    def __init__(self, plan: ComparePlan, segment: int, differences: DifferenceWriter | None = None) -> None:
        super().__init__(plan, segment, differences)
        self.segment = segment

    def run(self) -> RangeResult:
        """Both passes, then the repairs' last writes; returns the segment's exact counts and a sample."""
        try:
            self._passes()
        finally:
            self.finish()
        return self.result

    def _passes(self) -> None:
        p = self.plan
        for page in self._scan(self.source, p.source_table):
            live = [i for i in page if not ditems.expired(i, p.ttl_attribute, self.now)]
            self.result.source_rows += len(live)
            self.check_source_items(live)
        keys_only = [*p.target_key_names, *([self.target_ttl] if self.target_ttl else [])]
        for page in self._scan(self.target, p.target_table, keys_only):
            live = [i for i in page if not ditems.expired(i, self.target_ttl, self.now)]
            self.result.target_rows += len(live)
            self.check_target_keys(live)

    def _scan(self, table_client: Any, table: str, projection: Sequence[str] = ()) -> Iterator[list[dict[str, Any]]]:
        return scan_segment(table_client, table, self.plan.total_segments, self.segment, self.pacer,
                            self.plan.return_consumed, _projection(projection))


def batch_get(table_client: Any, table: str, keys: list[dict[str, Any]], ask: dict[str, Any] | None = None, *,
              return_consumed: bool = False, pacer: Pacer | None = None, hint: str) -> list[dict[str, Any]]:
    """The items of at most ``PROBE_KEYS`` keys that exist (BatchGetItem, ``ask`` added to the table's request).

    Unprocessed keys are asked again after a capped exponential pause; after ``UNPROCESSED_ROUNDS``
    rounds in a row answering none of them, ``RuntimeFailure`` with ``hint``.
    """
    found: list[dict[str, Any]] = []
    pending = keys
    fruitless = attempt = 0
    while pending:
        request: dict[str, Any] = {"RequestItems": {table: {"Keys": pending, **(ask or {})}}}
        if return_consumed:
            request["ReturnConsumedCapacity"] = "TOTAL"
        response = call_throttled(lambda r=request: table_client.batch_get_item(**r))  # type: ignore[misc]
        got = response.get("Responses", {}).get(table, [])
        if pacer is not None:
            pacer.reads(response, got)
        found += got
        left = (response.get("UnprocessedKeys") or {}).get(table, {}).get("Keys", [])
        fruitless = 0 if got or len(left) < len(pending) else fruitless + 1
        if left and fruitless >= UNPROCESSED_ROUNDS:
            raise RuntimeFailure(f"{table}: the server answered none of {len(left)} keys in "
                                 f"{UNPROCESSED_ROUNDS} batch reads in a row (unprocessed keys)", hint=hint)
        if left:
            attempt += 1
            time.sleep(backoff(attempt))
        pending = left
    return found


def _number(value: dict[str, Any] | None) -> float | None:
    """An update-time attribute's value as a number (N, or an ISO-8601 S), None when absent or unreadable."""
    if not value:
        return None
    if "N" in value:
        try:
            return float(value["N"])
        except ValueError:
            return None
    if "S" in value:
        try:
            moment = dt.datetime.fromisoformat(value["S"].replace("Z", "+00:00"))
        except ValueError:
            return None
        return (moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)).timestamp()
    return None


def _projection(names: Sequence[str]) -> dict[str, Any]:
    """A ProjectionExpression of ``names`` through placeholders (names may be reserved words)."""
    if not names:
        return {}
    placeholders = {f"#a{i}": name for i, name in enumerate(names)}
    return {"ProjectionExpression": ", ".join(placeholders), "ExpressionAttributeNames": placeholders}


def key_text(item: dict[str, Any], names: Sequence[str]) -> str:
    """A key's canonical text: numbers by value, so ``1.50E+3`` and ``1500`` are the same key."""
    parts = []
    for name in names:
        ((kind, value),) = item[name].items()
        parts.append(f"N:{_decimal(value).normalize()}" if kind == "N" else f"{kind}:{value!r}")
    return "\x00".join(parts)


def _decimal(text: str) -> Decimal:
    try:
        return Decimal(text)
    except InvalidOperation:
        return Decimal("NaN")


def values_equal(a: dict[str, Any], b: dict[str, Any], tolerance: float) -> bool:
    """Whether two attribute values are equal as DynamoDB defines them (see the module docstring)."""
    ((kind, x),) = a.items()
    ((other, y),) = b.items()
    if kind != other:
        return False
    if kind == "N":
        return _numbers_equal(x, y, tolerance)
    if kind == "NS":
        xs, ys = sorted(map(_decimal, x)), sorted(map(_decimal, y))
        return len(xs) == len(ys) and all(abs(p - q) <= Decimal(str(tolerance)) for p, q in zip(xs, ys, strict=True))
    if kind in ("SS", "BS"):
        return set(x) == set(y)
    if kind == "L":
        return len(x) == len(y) and all(values_equal(p, q, tolerance) for p, q in zip(x, y, strict=True))
    if kind == "M":
        return x.keys() == y.keys() and all(values_equal(x[k], y[k], tolerance) for k in x)
    return bool(x == y)


def _numbers_equal(x: str, y: str, tolerance: float) -> bool:
    if x == y:
        return True
    p, q = _decimal(x), _decimal(y)
    return p == q or abs(p - q) <= Decimal(str(tolerance))
