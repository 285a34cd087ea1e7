"""The Cassandra/ScyllaDB backend object that ``backends.base.backend_for`` loads (``type: cassandra | scylla``).

A run from a CQL source writes into a CQL target. ScyllaDB speaks the same protocol; the one
difference the copy has to know about (no per-element WRITETIME/TTL on non-frozen collections) is
probed on the source at preparation, not assumed from the type name.
"""

from __future__ import annotations

from typing import Any

from migrator.backends.base import Capabilities
from migrator.backends.cassandra.prepare import CqlRun, list_tables, prepare, prepare_tables
from migrator.backends.cassandra.reconcile import CqlChanges
from migrator.backends.cassandra.schema_diff import CqlSchema
from migrator.config import MigratorConfig, ParquetTarget
from migrator.errors import ConfigError, MigratorError


class CassandraBackend:
    """Token-range scans of a CQL table, copied or compared range by range."""

    name = "cassandra"
    types = ("cassandra", "scylla")
    writes_to = ("cassandra", "parquet")
    capabilities = Capabilities(resumable=True, creates_target=True, ordered_scan=True, repairs=True,
                                write_times=True)

    def check(self, config: MigratorConfig) -> None:
        """Refuse a secure bundle the Python driver cannot open (a remote URI); connects nowhere."""
        problems = []
        for role in ("source", "target"):
            cloud = getattr(getattr(config, role), "cloud", None)
            if cloud is not None and "://" in cloud.secure_bundle_path and \
                    not cloud.secure_bundle_path.startswith("file://"):
                problems.append((f"{role}.cloud.secureBundlePath",
                                 "the Python driver opens the bundle as a local file: download it and give its "
                                 "path (or ship it with spark-submit --files and give the bare file name)"))
        if problems:
            raise ConfigError(problems)

    def prepare(self, config: MigratorConfig, *, parallelism: int) -> CqlRun | Any:
        """Connect, read and check both tables, plan the token ranges (a Parquet target: its folder)."""
        if isinstance(config.target, ParquetTarget):
            from migrator.backends.parquet.export_run import prepare_export  # loads pyarrow only when needed

            return prepare_export(config, parallelism=parallelism)
        return prepare(config, parallelism=parallelism)

    def list_tables(self, config: MigratorConfig) -> list[str]:
        """The tables of the source keyspace."""
        return list_tables(config)

    def prepare_tables(self, configs: list[MigratorConfig], *, parallelism: int) -> list[CqlRun | MigratorError]:
        """Each table prepared over one session per cluster; small tables split by their size."""
        if isinstance(configs[0].target, ParquetTarget):
            raise ConfigError([("target.path", "one table per Parquet target: write each table to its own path")])
        return prepare_tables(configs, parallelism=parallelism)

    def changes(self, config: MigratorConfig) -> CqlChanges:
        """Reconcile's changes to the target table: a CQL file, applied by read-compare-write."""
        return CqlChanges(config)

    def schema(self, config: MigratorConfig) -> CqlSchema:
        """Schema entries of both tables, and the statements that align production."""
        return CqlSchema(config)


BACKEND = CassandraBackend()
