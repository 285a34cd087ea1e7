"""Driver-side preparation of a DynamoDB/Alternator -> DynamoDB/Alternator run.

``prepare`` describes both tables (and the source's TTL setting), checks that an existing target has
the source's key, plans the scan segments minus the savepoint's, and works out each task's share of
the read and write throughput. Nothing is written there; the target table is created only when the
copy task is asked for (``DynamoRun.copy_task``).
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from migrator.backends.base import CompareTask, CopyTask, WorkItem
from migrator.backends.dynamodb import segments, table
from migrator.backends.dynamodb.client import ClientSpec, client, spec_from_settings
from migrator.backends.dynamodb.compare import ComparePlan, compare_item
from migrator.backends.dynamodb.copier import CopyPlan, copy_item
from migrator.backends.dynamodb.streams import DynamoChangeStream
from migrator.config import (
    AlternatorSource,
    AlternatorTarget,
    DynamoDBSource,
    DynamoDBTarget,
    MigratorConfig,
    MigratorState,
    ValidationSettings,
)
from migrator.config.aws import AlternatorSettings
from migrator.differences import DifferenceSink
from migrator.errors import RuntimeFailure, SavepointMismatch
from migrator.report.model import ValidationReport

log = logging.getLogger(__name__)

DYNAMODB_BATCH_ITEMS = 25  # BatchWriteItem's limit on AWS
APPLIED_ALTERNATOR_KEYS = ("maxConnections", "connectionTimeoutMs", "compression", "maxItemsPerBatch", "datacenter",
                           "rack", "activeRefreshIntervalMs")


@dataclass
class DynamoRun:
    """Everything known before the first write; the DynamoDB backend's ``Prepared`` run."""

    config: MigratorConfig
    source: DynamoDBSource | AlternatorSource  # the config's blocks, as the types ``backend_for`` let through
    target: DynamoDBTarget | AlternatorTarget
    source_spec: ClientSpec
    target_spec: ClientSpec
    source_table: table.TableInfo
    target_table: table.TableInfo | None
    total_segments: int
    skip: list[int]
    parallelism: int
    source_identity: str
    target_identity: str
    warnings: list[str] = field(default_factory=list)
    savepoint_note: str = segments.NOTE
    split_unit: str = "segment"
    created_target: bool = False

    @property
    def renames(self) -> dict[str, str]:
        """``{source attribute: target attribute}`` from the config."""
        return self.config.rename_map

    @property
    def splits_total(self) -> int:
        """Segments of the scan."""
        return self.total_segments

    @property
    def splits_done_before(self) -> int:
        """Segments the savepoint lists as finished."""
        return len(self.skip)

    @property
    def max_partitions(self) -> int | None:
        """``maxMapTasks``: at most this many Spark partitions (segments then share them)."""
        return self.source.max_map_tasks

    def pending(self) -> list[WorkItem]:
        """One item per segment not finished yet; its spec is the segment number."""
        done = set(self.skip)
        return [WorkItem(s, s) for s in range(self.total_segments) if s not in done]

    def copy_task(self) -> CopyTask:
        """Create the target table if it is missing, then return the executors' copy function."""
        self.ensure_target()
        return functools.partial(copy_item, self.copy_plan())

    def compare_task(self, settings: ValidationSettings, sink: DifferenceSink | None = None) -> CompareTask:
        """The executors' compare function (both passes over a segment); refuses a missing target table."""
        if self.target_table is None:
            raise RuntimeFailure(f"the target table {self.target.table} does not exist at "
                                 f"{self.target_spec.address}: nothing to validate")
        read_rate, write_rate = self.rates()
        plan = ComparePlan(
            source=self.source_spec, target=self.target_spec, source_table=self.source.table,
            target_table=self.target.table, total_segments=self.total_segments,
            key_names=tuple(self.source_table.key_names), renames=tuple(self.renames.items()),
            ttl_attribute=self.source_table.ttl_attribute, tolerance=settings.floating_point_tolerance,
            ignore=tuple(settings.ignore_columns), failures_to_fetch=settings.failures_to_fetch,
            read_units_per_s=read_rate, return_consumed=self.return_consumed,
            copy_missing=settings.copy_missing_rows, copy_differing=settings.copy_differing_rows,
            delete_extra=settings.delete_extra_rows, batch_items=self.batch_items, write_units_per_s=write_rate,
            digests=sink is not None and sink.digests, written_attribute=sink.written_attribute if sink else None,
        )
        return functools.partial(compare_item, plan, sink)

    def savepoint_problems(self, state: MigratorState) -> list[tuple[str, str]]:
        """A savepoint whose segments were numbered out of another total."""
        return segments.problems(state, self.total_segments, self.skip, self.source.scan_segments)

    def savepoint_fields(self, finished: Iterable[int]) -> dict[str, Any]:
        """``skipSegments``: the savepoint's segments plus those ``finished`` in this run."""
        return segments.fields(self.skip, finished)

    def state(self) -> dict[str, Any]:
        """The segment total the finished segments belong to."""
        return {"totalSegments": self.total_segments}

    def describe(self) -> str:
        """The plan as text: both tables, the segments, the paces; nothing is written."""
        src, tgt = self.source_table, self.target_table
        read_rate, write_rate = self.rates()
        lines = [
            f"source: {self.source_identity} at {self.source_spec.address}",
            f"  key: {_key_text(src)}; about {src.item_count:,} items, {src.size_bytes:,} bytes "
            f"({src.billing_mode}); TTL: {src.ttl_attribute or 'not enabled'}",
            f"target: {self.target_identity} at {self.target_spec.address}",
        ]
        if tgt is None:
            request = table.create_request(src, self.target.table, self.renames, self.target.billing_mode)
            lines.append(f"  missing, would be created: {request['BillingMode']}, "
                         f"{len(request.get('LocalSecondaryIndexes', []))} LSI(s), "
                         f"{len(request.get('GlobalSecondaryIndexes', []))} GSI(s)"
                         + (", TTL enabled" if src.ttl_attribute else ""))
        else:
            lines.append(f"  exists, key {_key_text(tgt)}")
        pending = self.total_segments - len(self.skip)
        how = "scanSegments" if self.source.scan_segments else "computed"
        lines.append(f"segments: {self.total_segments} ({how}), "
                     f"{len(self.skip)} already done, {pending} to copy; Spark partitions: "
                     f"{min(pending, self.max_partitions or pending)}")
        lines.append(f"pace per task: {_rate(read_rate)} read units/s, {_rate(write_rate)} write units/s "
                     f"({self.concurrency()} tasks at once)")
        stream = self.change_stream()
        if stream is not None:
            lines.append(f"then: {stream.plan()}")
        lines += [f"note: {warning}" for warning in self.warnings]
        lines.append("nothing was written")
        return "\n".join(lines)

    def change_stream(self) -> DynamoChangeStream | None:
        """With ``target.streamChanges``: the source table's DynamoDB Stream, or the Kinesis stream named."""
        setting = self.target.stream_changes
        if not setting:
            return None
        state = self.config.migrator_state
        return DynamoChangeStream(self, setting, state.stream if state is not None else None)

    def finish(self) -> list[str]:
        """Nothing waits for the whole copy."""
        return []

    def finish_report(self, report: ValidationReport) -> ValidationReport:
        """Both passes count every kind segment by segment: the report as it is."""
        return report

    def close(self) -> None:
        """Nothing to release: boto3 clients hold no server-side state."""

    # --- helpers ---

    def ensure_target(self) -> None:
        """Create the target table from the source's description when it does not exist."""
        if self.target_table is not None:
            return
        log.info("creating the target table %s", self.target.table)
        self.target_table = table.create_target(client(self.target_spec), self.source_table, self.target.table,
                                                self.renames, self.target.billing_mode)
        self.created_target = True

    def concurrency(self) -> int:
        """How many segments are scanned at once: the executor cores, at most one per pending segment."""
        pending = self.total_segments - len(self.skip)
        return max(1, min(pending, self.parallelism, self.max_partitions or pending))

    def rates(self) -> tuple[float, float]:
        """Each task's read and write capacity units per second (its share of the configured budgets)."""
        s, t = self.source, self.target
        read = segments.read_budget(s, self.source_table.read_capacity)
        target_capacity = self.target_table.write_capacity if self.target_table else self.source_table.write_capacity
        write = segments.write_budget(t, target_capacity)
        tasks = self.concurrency()
        return read / tasks, write / tasks

    def copy_plan(self) -> CopyPlan:
        """The executors' copy plan."""
        read_rate, write_rate = self.rates()
        return CopyPlan(
            source=self.source_spec, target=self.target_spec, source_table=self.source.table,
            target_table=self.target.table, total_segments=self.total_segments,
            renames=tuple(self.renames.items()), ttl_attribute=self.source_table.ttl_attribute,
            batch_items=self.batch_items, read_units_per_s=read_rate, write_units_per_s=write_rate,
            return_consumed=self.return_consumed,
        )

    @property
    def batch_items(self) -> int:
        """Items per BatchWriteItem: 25, or Alternator's ``maxItemsPerBatch``."""
        if isinstance(self.target, AlternatorSettings) and self.target.max_items_per_batch:
            return self.target.max_items_per_batch
        return DYNAMODB_BATCH_ITEMS

    @property
    def return_consumed(self) -> bool:
        """Whether requests ask for ConsumedCapacity (not when either side strips it)."""
        return not (self.source_spec.remove_consumed_capacity or self.target_spec.remove_consumed_capacity)


def _key_text(info: table.TableInfo) -> str:
    types = dict(info.key_types)
    return ", ".join(f"{name} ({kind}, {types.get(name)})" for name, kind in info.key_schema)


def _rate(value: float) -> str:
    return f"{value:,.0f}" if value >= 10 else f"{value:,.1f}"


def list_tables(config: MigratorConfig) -> list[str]:
    """Every table name ListTables returns at the source's endpoint (or region), all pages."""
    import botocore.exceptions

    spec = spec_from_settings("source", config.source)
    names: list[str] = []
    try:
        for page in client(spec).get_paginator("list_tables").paginate():
            names += page.get("TableNames", [])
    except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as exc:
        raise RuntimeFailure(f"cannot list the source's tables at {spec.address}: {exc}",
                             hint="check source.endpoint, source.region and the credentials") from None
    return sorted(names)


def prepare(config: MigratorConfig, *, parallelism: int) -> DynamoRun:
    """Describe both tables, check they fit, plan the segments; raises before anything is written."""
    s, t = config.source, config.target
    assert isinstance(s, DynamoDBSource | AlternatorSource), "backend_for checks the pair"
    assert isinstance(t, DynamoDBTarget | AlternatorTarget), "backend_for checks the pair"
    source = plan_source(config)
    target_spec = spec_from_settings("target", t)
    target_table = describe_table(target_spec, t.table)
    if target_table is not None:
        table.check_target(source.info, target_table, config.rename_map)
    return DynamoRun(
        config=config, source=s, target=t, source_spec=source.spec, target_spec=target_spec,
        source_table=source.info, target_table=target_table, total_segments=source.total_segments,
        skip=source.skip, parallelism=parallelism, source_identity=_identity(source.spec, s.table),
        target_identity=_identity(target_spec, t.table), warnings=_warnings(s, t),
    )


@dataclass(frozen=True)
class SourcePlan:
    """The source table and its segments: what any run from a DynamoDB source plans first."""

    spec: ClientSpec
    info: table.TableInfo
    total_segments: int
    skip: list[int]


def plan_source(config: MigratorConfig) -> SourcePlan:
    """Describe the source table and plan its segments (minus the savepoint's); raises before anything is written."""
    s = config.source
    assert isinstance(s, DynamoDBSource | AlternatorSource), "backend_for checks the pair"
    spec = spec_from_settings("source", s)
    info = describe_table(spec, s.table)
    if info is None:
        raise RuntimeFailure(f"table {s.table} does not exist on the source at {spec.address}",
                             hint="fix source.table (or source.endpoint / source.region)")
    state = config.migrator_state
    read_budget = segments.throughput(s.read_throughput, info.read_capacity)
    total = segments.planned_total(s.scan_segments, state, info.size_bytes, read_budget,
                                   s.throughput_read_percent or segments.DEFAULT_THROUGHPUT_PERCENT)
    skip = sorted(set(config.skip_segments))
    found = segments.problems(state, total, skip, s.scan_segments)
    if found and state is None:  # with a migratorState, the runner reports them with its own checks
        raise SavepointMismatch(found)
    return SourcePlan(spec, info, total, skip)


def describe_table(spec: ClientSpec, name: str) -> table.TableInfo | None:
    """The table at the spec's side, or None when it does not exist; a failure to ask names the side's keys."""
    import botocore.exceptions

    try:
        return table.describe(client(spec), name)
    except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as exc:
        raise RuntimeFailure(f"cannot describe the {spec.role} table {name}: {exc}",
                             hint=f"check {spec.role}.endpoint, {spec.role}.region and the credentials") from None


def _identity(spec: ClientSpec, name: str) -> str:
    """Where a table is, stable across runs: ``<endpoint or region>/<table>``."""
    return f"{spec.endpoint or spec.region}/{name}"


def _warnings(source: Any, target: Any) -> list[str]:
    """Keys upstream accepts that do nothing here, one line each."""
    out = [f"source.{key} has no effect on a source (it is a target setting); remove it"
           for key in source.inert_keys()]
    out += [f"target.{key} has no effect on a target (it is a source setting); remove it"
            for key in target.inert_keys()]
    for role, block in (("source", source), ("target", target)):
        if not isinstance(block, AlternatorSettings):
            continue
        for name, info in AlternatorSettings.model_fields.items():
            key = info.alias or name
            if key in APPLIED_ALTERNATOR_KEYS or getattr(block, name) is None:
                continue
            out.append(f"{role}.{key} is accepted for compatibility but has no effect in this version "
                       "(no such setting in boto3's connection pool; the node list is refreshed as requests go)")
    if target.skip_initial_snapshot_transfer and not target.stream_changes:
        out.append("target.skipInitialSnapshotTransfer has no effect without target.streamChanges; remove it")
    return out
