"""The Parquet backend object that ``backends.base.backend_for`` loads (source ``type: parquet``).

A Parquet source is imported into a CQL table, one work item per file (``load_run``). Writing a CQL
table as Parquet (target ``type: parquet``) is driven by the CQL source's backend, which hands the
run to ``export_run`` here.
"""

from __future__ import annotations

from typing import NoReturn

from migrator.backends.base import Capabilities
from migrator.backends.parquet.load_run import ParquetLoadRun, prepare_load
from migrator.config import MigratorConfig
from migrator.errors import ConfigError, MigratorError


class ParquetBackend:
    """Parquet files, each imported by one task."""

    name = "parquet"
    types = ("parquet",)
    writes_to = ("cassandra",)
    capabilities = Capabilities(resumable=True, creates_target=True, ordered_scan=False, repairs=False)

    def check(self, config: MigratorConfig) -> None:
        """Nothing beyond the config's own rules; connects nowhere."""

    def prepare(self, config: MigratorConfig, *, parallelism: int) -> ParquetLoadRun:
        """List the files and read their footers, read the target table, plan one item per file."""
        return prepare_load(config)

    def list_tables(self, config: MigratorConfig) -> NoReturn:
        """A folder of Parquet files is one table."""
        raise ConfigError([("source.path", "a Parquet source is one table; name one target table")])

    def prepare_tables(self, configs: list[MigratorConfig], *, parallelism: int) -> list[ParquetLoadRun
                                                                                       | MigratorError]:
        """Each folder prepared on its own."""
        out: list[ParquetLoadRun | MigratorError] = []
        for config in configs:
            try:
                out.append(prepare_load(config))
            except MigratorError as exc:
                out.append(exc)
        return out

    def changes(self, config: MigratorConfig) -> NoReturn:
        """Reconcile needs two live tables."""
        raise ConfigError([("source.type", "reconcile compares two live tables; Parquet files cannot be one")])

    def schema(self, config: MigratorConfig) -> NoReturn:
        """Reconcile needs two live tables."""
        raise ConfigError([("source.type", "schema-diff compares two live tables; Parquet files cannot be one")])


BACKEND = ParquetBackend()
