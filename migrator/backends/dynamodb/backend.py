"""The DynamoDB/Alternator backend object that ``backends.base.backend_for`` loads.

It serves ``type: dynamodb`` (alias ``dynamo``) and ``type: alternator`` on both sides: ScyllaDB's
Alternator speaks the DynamoDB API, and what differs (endpoint rules, request settings) is carried by
the client spec, not by separate code paths. Work is split into parallel-scan segments, copied or
compared segment by segment (a comparison probes the other table: ``compare``).
"""

from __future__ import annotations

from typing import Any

from migrator.backends.base import Capabilities
from migrator.backends.dynamodb.client import spec_from_settings
from migrator.backends.dynamodb.prepare import (
    DYNAMODB_BATCH_ITEMS,
    AlternatorSettings,
    DynamoRun,
    list_tables,
    prepare,
)
from migrator.backends.dynamodb.reconcile import DynamoChanges
from migrator.backends.dynamodb.schema_diff import DynamoSchema
from migrator.backends.s3export.export_run import ExportWriteRun, prepare_export_write
from migrator.config import MigratorConfig
from migrator.config.target import DynamoDBS3ExportTarget
from migrator.errors import ConfigError, MigratorError


class DynamoDBBackend:
    """Parallel-scan segments of a DynamoDB or Alternator table, copied or compared segment by segment."""

    name = "dynamodb"
    types = ("dynamodb", "dynamo", "alternator")
    writes_to = ("dynamodb", "s3export")
    capabilities = Capabilities(resumable=True, creates_target=True, ordered_scan=False, repairs=True)

    def check(self, config: MigratorConfig) -> None:
        """Nothing beyond the config's own rules; connects nowhere."""

    def prepare(self, config: MigratorConfig, *, parallelism: int) -> DynamoRun | ExportWriteRun:
        """Describe both tables, check the target's key, plan the segments (an export target: its folder)."""
        if isinstance(config.target, DynamoDBS3ExportTarget):
            return prepare_export_write(config, parallelism=parallelism)
        return prepare(config, parallelism=parallelism)

    def list_tables(self, config: MigratorConfig) -> list[str]:
        """Every table at the source's endpoint (or region)."""
        return list_tables(config)

    def prepare_tables(self, configs: list[MigratorConfig], *, parallelism: int) -> list[DynamoRun | MigratorError]:
        """Each table prepared on its own (clients are shared per endpoint); segments follow each table's size."""
        out: list[DynamoRun | MigratorError] = []
        for config in configs:
            try:
                out.append(prepare(config, parallelism=parallelism))
            except MigratorError as exc:
                out.append(exc)
        return out

    def changes(self, config: MigratorConfig) -> DynamoChanges:
        """Reconcile's changes to the target table: JSON lines, applied by read-compare-write."""
        target = _live_target(config)
        spec = spec_from_settings("target", target)
        ignore = tuple(config.validation.ignore_columns) if config.validation is not None else ()
        batch = (target.max_items_per_batch if isinstance(target, AlternatorSettings) and target.max_items_per_batch
                 else DYNAMODB_BATCH_ITEMS)
        return DynamoChanges(spec, str(getattr(target, "table", "")), ignore=ignore, batch_items=batch,
                             return_consumed=not spec.remove_consumed_capacity)

    def schema(self, config: MigratorConfig) -> DynamoSchema:
        """Schema entries of both tables, and the statements that align production."""
        _live_target(config)
        return DynamoSchema(config)


def _live_target(config: MigratorConfig) -> Any:
    """The target block of a reconcile, which compares two live tables: an export target is refused."""
    if isinstance(config.target, DynamoDBS3ExportTarget):
        raise ConfigError([("target.type", "reconcile compares two live tables; a dynamodb-s3-export target "
                                           "is files: name a dynamodb or alternator table")])
    return config.target


BACKEND = DynamoDBBackend()
