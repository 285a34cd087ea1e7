"""The S3-export backend object that ``backends.base.backend_for`` loads.

It serves ``type: dynamodb-s3-export`` sources: an export's data files are loaded into a DynamoDB or
Alternator table, one work item per file, with the DynamoDB backend's writer; a savepoint lists the
files loaded (``skipExportFiles``), so a resumed load skips them. A validation compares each file with
the table the same way, file by file (``compare``). Writing an export (a ``dynamodb-s3-export``
target) is driven by the DynamoDB backend, whose table is the source (``export_run``).
"""

from __future__ import annotations

from typing import NoReturn

from migrator.backends.base import Capabilities
from migrator.backends.s3export.prepare import ExportRun, prepare
from migrator.config import MigratorConfig
from migrator.errors import ConfigError, MigratorError


class S3ExportBackend:
    """A DynamoDB export's data files, each loaded by one task."""

    name = "s3export"
    types = ("dynamodb-s3-export",)
    writes_to = ("dynamodb",)
    capabilities = Capabilities(resumable=True, creates_target=True, ordered_scan=False, repairs=False)

    def check(self, config: MigratorConfig) -> None:
        """Nothing beyond the config's own rules; connects nowhere."""

    def prepare(self, config: MigratorConfig, *, parallelism: int) -> ExportRun:
        """Read the export's manifests, describe the target, plan one item per data file."""
        return prepare(config, parallelism=parallelism)

    def list_tables(self, config: MigratorConfig) -> NoReturn:
        """An export holds one table."""
        raise ConfigError([("source.manifestKey", "an S3 export holds one table; name one table as the target")])

    def prepare_tables(self, configs: list[MigratorConfig], *, parallelism: int) -> list[ExportRun | MigratorError]:
        """Each export prepared on its own."""
        out: list[ExportRun | MigratorError] = []
        for config in configs:
            try:
                out.append(prepare(config, parallelism=parallelism))
            except MigratorError as exc:
                out.append(exc)
        return out

    def changes(self, config: MigratorConfig) -> NoReturn:
        """Reconcile needs two live tables."""
        raise ConfigError([("source.type", "reconcile compares two live tables; an S3 export cannot be one")])

    def schema(self, config: MigratorConfig) -> NoReturn:
        """Reconcile needs two live tables."""
        raise ConfigError([("source.type", "schema-diff compares two live tables; an S3 export cannot be one")])


BACKEND = S3ExportBackend()
