"""Driver-side preparation of loading a DynamoDB S3 export into a DynamoDB or Alternator table.

``prepare`` reads both manifests (``manifest``), describes the target table (created from the
config's ``tableDescription`` when it is missing, when the copy task is asked for) and plans one work
item per data file, minus the files the savepoint lists as loaded (``skipExportFiles``). A savepoint
belongs to one export: its summary's ETag is recorded, and a resume against another export at the
same key is refused. A validation has the same work items (``s3export.compare``: each file against the
target, plus one segment of the target counted) and the same savepoints.
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
from migrator.backends.dynamodb.prepare import DYNAMODB_BATCH_ITEMS, describe_table
from migrator.backends.s3export.compare import SOURCE, export_compare_task
from migrator.backends.s3export.loader import LoadPlan, S3Spec, load_item, s3_client
from migrator.backends.s3export.manifest import Export, read_export
from migrator.config import AlternatorTarget, DynamoDBTarget, MigratorConfig, MigratorState, ValidationSettings
from migrator.config.aws import AlternatorSettings
from migrator.config.source import DynamoDBS3ExportSource, TableDescription
from migrator.differences import DifferenceSink
from migrator.errors import RuntimeFailure
from migrator.report.model import EXTRA, ValidationReport, count_from_totals

log = logging.getLogger(__name__)

NOTE = "# skipExportFiles lists the export's data files already loaded; remove one to load it again"


@dataclass
class ExportRun:
    """Everything known before the first write; the S3-export backend's ``Prepared`` run."""

    config: MigratorConfig
    source: DynamoDBS3ExportSource
    target: DynamoDBTarget | AlternatorTarget
    s3: S3Spec
    target_spec: ClientSpec
    export: Export
    target_table: table.TableInfo | None
    skip: list[str]
    parallelism: int = 1
    warnings: list[str] = field(default_factory=list)
    savepoint_note: str = NOTE
    split_unit: str = "file"
    max_partitions: int | None = None

    @property
    def source_identity(self) -> str:
        """The export's summary object."""
        return self.export.uri(self.export.manifest_key)

    @property
    def target_identity(self) -> str:
        """``<endpoint or region>/<table>``, as the DynamoDB backend names tables."""
        return f"{self.target_spec.endpoint or self.target_spec.region}/{self.target.table}"

    @property
    def splits_total(self) -> int:
        """Data files of the export."""
        return len(self.export.files)

    @property
    def splits_done_before(self) -> int:
        """Data files the savepoint lists as loaded."""
        done = set(self.skip)
        return sum(1 for f in self.export.files if self.export.uri(f.key) in done)

    def pending(self) -> list[WorkItem]:
        """One item per data file not loaded yet; its spec is the file."""
        done = set(self.skip)
        return [WorkItem(i, f) for i, f in enumerate(self.export.files) if self.export.uri(f.key) not in done]

    def copy_task(self) -> CopyTask:
        """Create the target table if it is missing, then return the executors' load function.

        Each task writes at its share of ``writeThroughput x throughputWritePercent``, as a table copy does.
        """
        self.ensure_target()
        assert self.target_table is not None
        write = segments.write_budget(self.target, self.target_table.write_capacity) / self.concurrency()
        plan = LoadPlan(s3=self.s3, bucket=self.export.bucket, target=self.target_spec,
                        target_table=self.target.table, renames=tuple(self.config.rename_map.items()),
                        batch_items=self.batch_items, write_units_per_s=write,
                        return_consumed=not self.target_spec.remove_consumed_capacity)
        return functools.partial(load_item, plan)

    def compare_task(self, settings: ValidationSettings, sink: DifferenceSink | None = None) -> CompareTask:
        """Each data file against the target table, and the target counted (``s3export.compare``).

        The target's TTL attribute (renamed back) decides which exported items are live. Reads are
        paced to each task's share of half the target's read capacity.
        """
        target = self.target_table
        if target is None:
            raise RuntimeFailure(f"the target table {self.target.table} does not exist at "
                                 f"{self.target_spec.address}: nothing to validate")
        if not self.export.files:  # the target is counted by the files' work items: none would count it
            raise RuntimeFailure(f"{self.source_identity} lists no data files, so the target cannot be counted "
                                 "against it", hint="count the target table's items instead: the export is empty")
        renames = self.config.rename_map
        back = {new: old for old, new in renames.items()}
        read = segments.throughput(None, target.read_capacity) * segments.DEFAULT_THROUGHPUT_PERCENT
        return export_compare_task(
            settings, sink, self.export, self.s3, SOURCE, source=self.s3.client, target=self.target_spec,
            source_table=self.source_identity, target_table=self.target.table, total_segments=len(self.export.files),
            key_names=tuple(described(self.source.table_description).key_names), renames=tuple(renames.items()),
            ttl_attribute=back.get(target.ttl_attribute, target.ttl_attribute) if target.ttl_attribute else None,
            read_units_per_s=read / self.concurrency(), return_consumed=not self.target_spec.remove_consumed_capacity)

    def savepoint_problems(self, state: MigratorState) -> list[tuple[str, str]]:
        """Refuse a savepoint of another export at the same key (its summary's ETag differs)."""
        recorded = state.export_etag
        if recorded and recorded != self.export.summary_etag:
            return [("migratorState.exportEtag",
                     f"the savepoint was written for another export at {self.source_identity} "
                     f"(ETag {recorded}, now {self.export.summary_etag}); start over with --fresh")]
        return []

    def savepoint_fields(self, finished: Iterable[int]) -> dict[str, Any]:
        """``skipExportFiles``: the savepoint's files plus those loaded in this run."""
        done = set(self.skip) | {self.export.uri(self.export.files[i].key) for i in finished}
        return {"skipExportFiles": sorted(done)}

    def state(self) -> dict[str, Any]:
        """The export the loaded files belong to."""
        return {"exportEtag": self.export.summary_etag}

    def change_stream(self) -> None:
        """An export has no change stream."""
        return None

    def finish(self) -> list[str]:
        """Nothing waits for the whole load."""
        return []

    def finish_report(self, report: ValidationReport) -> ValidationReport:
        """Extra items: the target's live items minus the exported items found there (an export cannot be probed)."""
        return count_from_totals(report, EXTRA)

    def describe(self) -> str:
        """The plan as text; nothing is written."""
        export, tgt = self.export, self.target_table
        lines = [f"source: {self.source_identity}: {len(export.files)} data files"
                 + (f", {export.item_count:,} items" if export.item_count is not None else "")]
        lines.append(f"target: {self.target_identity}")
        lines.append("  exists" if tgt is not None else "  missing, would be created from source.tableDescription")
        lines.append(f"files: {self.splits_done_before} already loaded, {len(self.pending())} to load")
        lines += [f"note: {warning}" for warning in self.warnings]
        lines.append("nothing was written")
        return "\n".join(lines)

    def close(self) -> None:
        """Nothing to release."""

    def ensure_target(self) -> None:
        """Create the target table from ``tableDescription`` when it does not exist."""
        if self.target_table is not None:
            return
        log.info("creating the target table %s", self.target.table)
        self.target_table = table.create_target(client(self.target_spec), described(self.source.table_description),
                                                self.target.table, self.config.rename_map, self.target.billing_mode)

    def concurrency(self) -> int:
        """How many files are handled at once: the executor cores, at most one per pending file."""
        return max(1, min(len(self.pending()), self.parallelism))

    @property
    def batch_items(self) -> int:
        """Items per BatchWriteItem: 25, or Alternator's ``maxItemsPerBatch``."""
        if isinstance(self.target, AlternatorSettings) and self.target.max_items_per_batch:
            return self.target.max_items_per_batch
        return DYNAMODB_BATCH_ITEMS


def described(description: TableDescription, name: str = "the export's table") -> table.TableInfo:
    """The table ``tableDescription`` describes, as the DynamoDB backend's table info (to create or check a target)."""
    keys = sorted(((k.name, k.type) for k in description.key_schema), key=lambda k: k[1] != "HASH")
    types = {a.name: a.type for a in description.attribute_definitions}
    throughput = description.provisioned_throughput
    raw: dict[str, Any] = {
        "KeySchema": [{"AttributeName": n, "KeyType": k} for n, k in keys],
        "AttributeDefinitions": [{"AttributeName": n, "AttributeType": types[n]} for n, _ in keys],
    }
    if throughput is not None:
        raw["ProvisionedThroughput"] = {"ReadCapacityUnits": throughput.read_capacity_units,
                                        "WriteCapacityUnits": throughput.write_capacity_units}
    billing = description.billing_mode or ("PROVISIONED" if throughput is not None else "PAY_PER_REQUEST")
    return table.TableInfo(
        name=name, key_schema=tuple(keys), key_types=tuple((n, types[n]) for n, _ in keys), item_count=0,
        size_bytes=0, billing_mode=billing, read_capacity=throughput.read_capacity_units if throughput else 0,
        write_capacity=throughput.write_capacity_units if throughput else 0, ttl_attribute=None, arn=None,
        description=raw,
    )


def prepare(config: MigratorConfig, *, parallelism: int = 1) -> ExportRun:
    """Read the manifests, describe the target and check its key; raises before anything is written."""
    source, target = config.source, config.target
    assert isinstance(source, DynamoDBS3ExportSource), "backend_for checks the pair"
    assert isinstance(target, DynamoDBTarget | AlternatorTarget), "backend_for checks the pair"
    s3 = S3Spec(spec_from_settings("source", source), bool(source.use_path_style_access))
    export = read_export(s3_client(s3), source.bucket, source.manifest_key)
    target_spec = spec_from_settings("target", target)
    existing = describe_table(target_spec, target.table)
    if existing is not None:
        table.check_target(described(source.table_description), existing, config.rename_map)
    return ExportRun(config=config, source=source, target=target, s3=s3, target_spec=target_spec, export=export,
                     target_table=existing, skip=sorted(set(config.skip_export_files)), parallelism=parallelism)
