"""Driver side of writing a DynamoDB or Alternator table as an S3 export (target ``type: dynamodb-s3-export``).

The source is planned as for a table copy (``dynamodb.prepare.plan_source``: segments, ``skipSegments``
savepoints); each segment becomes one data file (``writer``). When every segment is done,
``finish`` writes the manifests, the summary last.

A validation reads the complete export back by its manifests and compares it with the source table,
with the same segments as work items (``s3export.compare``: segment ``s`` reads the data file written
from it and counts the source's segment ``s``).
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from migrator.backends.base import CompareTask, CopyTask, WorkItem
from migrator.backends.dynamodb import segments
from migrator.backends.dynamodb.client import spec_from_settings
from migrator.backends.dynamodb.prepare import SourcePlan, plan_source
from migrator.backends.s3export.compare import TARGET, export_compare_task
from migrator.backends.s3export.folder import Folder, folder_for
from migrator.backends.s3export.loader import S3Spec, s3_client
from migrator.backends.s3export.manifest import Export, read_export
from migrator.backends.s3export.writer import SUMMARY, ExportPlan, check_folder, export_item, write_manifests
from migrator.config import MigratorConfig, MigratorState, ValidationSettings
from migrator.config.target import DynamoDBS3ExportTarget
from migrator.differences import DifferenceSink
from migrator.errors import ConfigError, RuntimeFailure
from migrator.report.model import MISSING, ValidationReport, count_from_totals


@dataclass
class ExportWriteRun:
    """A table to write as an export; the ``Prepared`` run of a DynamoDB source with an export target."""

    config: MigratorConfig
    source: SourcePlan
    folder: Folder
    parallelism: int
    warnings: list[str] = field(default_factory=list)
    savepoint_note: str = segments.NOTE
    split_unit: str = "segment"

    @property
    def source_identity(self) -> str:
        """``<endpoint or region>/<table>``, as a table copy names it."""
        return f"{self.source.spec.endpoint or self.source.spec.region}/{self.source.info.name}"

    @property
    def target_identity(self) -> str:
        """The export's folder."""
        return self.folder.uri("")

    @property
    def splits_total(self) -> int:
        """Segments of the scan, one data file each."""
        return self.source.total_segments

    @property
    def splits_done_before(self) -> int:
        """Segments whose files earlier runs wrote."""
        return len(self.source.skip)

    @property
    def max_partitions(self) -> int | None:
        """``maxMapTasks``."""
        return getattr(self.config.source, "max_map_tasks", None)

    def pending(self) -> list[WorkItem]:
        """One item per segment not written yet."""
        done = set(self.source.skip)
        return [WorkItem(s, s) for s in range(self.source.total_segments) if s not in done]

    def copy_task(self) -> CopyTask:
        """Refuse a folder holding another export, then return the executors' export function."""
        check_folder(self.folder, resuming=bool(self.source.skip))
        plan = ExportPlan(folder=self.folder, source=self.source.spec, source_table=self.source.info.name,
                          total_segments=self.source.total_segments, renames=tuple(self.config.rename_map.items()),
                          ttl_attribute=self.source.info.ttl_attribute, read_units_per_s=self.read_rate(),
                          return_consumed=not self.source.spec.remove_consumed_capacity)
        return functools.partial(export_item, plan)

    def compare_task(self, settings: ValidationSettings, sink: DifferenceSink | None = None) -> CompareTask:
        """The complete export's data files against the source table, and the source counted (``s3export.compare``).

        Refuses repairs (files are not repaired), an export in a local folder (its files are read from
        S3 only) and an export without its summary (not complete yet).
        """
        if settings.repair_keys:
            raise ConfigError([(f"validation.{key}", "an S3 export is not repaired; set it to false and write the "
                                "export again if it differs") for key in settings.repair_keys])
        export, s3, info = self.written_export(), self.folder.s3, self.source.info
        assert s3 is not None, "written_export refuses a local folder"
        return export_compare_task(
            settings, sink, export, s3, TARGET, source=self.source.spec, target=s3.client, source_table=info.name,
            target_table=self.target_identity, total_segments=self.source.total_segments,
            key_names=tuple(info.key_names), renames=tuple(self.config.rename_map.items()),
            ttl_attribute=info.ttl_attribute, read_units_per_s=self.read_rate(),
            return_consumed=not self.source.spec.remove_consumed_capacity)

    def written_export(self) -> Export:
        """The export in the folder, read by its manifests as a reader would; refused unless complete and on S3."""
        if not self.folder.remote:
            raise RuntimeFailure(f"{self.folder.location} is a local folder: an export is validated by reading it "
                                 "from S3, as a reader does",
                                 hint="load the export into a table and validate that table against the source")
        if not self.folder.exists(SUMMARY):
            raise RuntimeFailure(f"{self.folder.uri(SUMMARY)} does not exist: the export is not complete, so there "
                                 "is nothing to validate yet",
                                 hint="complete it with migrate (it resumes from its savepoint), then validate")
        assert self.folder.s3 is not None
        bucket, prefix = self.folder.bucket_prefix
        return read_export(s3_client(self.folder.s3), bucket, f"{prefix}{SUMMARY}", key="target.path")

    def read_rate(self) -> float:
        """Each task's share of the source's read budget (as many tasks as cores, at most one per pending segment)."""
        tasks = max(1, min(len(self.pending()) or 1, self.parallelism))
        return segments.read_budget(self.config.source, self.source.info.read_capacity) / tasks

    def savepoint_problems(self, state: MigratorState) -> list[tuple[str, str]]:
        """The segments must be numbered out of the same total."""
        return segments.problems(state, self.source.total_segments, self.source.skip,
                                 getattr(self.config.source, "scan_segments", None))

    def savepoint_fields(self, finished: Iterable[int]) -> dict[str, Any]:
        """``skipSegments``: the segments whose files are written."""
        return segments.fields(self.source.skip, finished)

    def state(self) -> dict[str, Any]:
        """The total the segment numbers are out of."""
        return {"totalSegments": self.source.total_segments}

    def change_stream(self) -> None:
        """No streaming into an export."""
        return None

    def finish_report(self, report: ValidationReport) -> ValidationReport:
        """Missing items: the source's live items minus those found in the export (an export cannot be probed)."""
        return count_from_totals(report, MISSING)

    def finish(self) -> list[str]:
        """Write the manifests (the summary last) once every segment's file is in the folder."""
        info = self.source.info
        table = {"tableArn": info.arn,
                 "tableKeySchema": info.description.get("KeySchema"),
                 "tableAttributeDefinitions": info.description.get("AttributeDefinitions")}
        files, items = write_manifests(self.folder, self.source.total_segments, table)
        summary = self.folder.uri("manifest-summary.json")
        return [f"export complete: {files} data files, {items:,} items; manifest: {summary}"]

    def describe(self) -> str:
        """The plan as text; nothing is written."""
        pending = len(self.pending())
        return "\n".join([
            f"source: {self.source_identity}: about {self.source.info.item_count:,} items",
            f"target: an S3 export (DYNAMODB_JSON) in {self.folder.uri('')}",
            f"segments: {self.source.total_segments}, {len(self.source.skip)} already written, {pending} to write; "
            "one data file each, then the manifests",
            *[f"note: {warning}" for warning in self.warnings],
            "nothing was written",
        ])

    def close(self) -> None:
        """Nothing to release."""


def prepare_export_write(config: MigratorConfig, *, parallelism: int) -> ExportWriteRun:
    """Plan the source's segments and the export's folder; writes nothing."""
    target = config.target
    assert isinstance(target, DynamoDBS3ExportTarget), "the dynamodb backend dispatches here for export targets"
    s3 = S3Spec(spec_from_settings("target", target), bool(target.use_path_style_access))
    return ExportWriteRun(config=config, source=plan_source(config), folder=folder_for(target.path, s3),
                          parallelism=parallelism)
