"""The migrator's configuration: upstream ScyllaDB Migrator YAML, loaded unchanged and validated.

Data flow: ``load_config`` reads a file, parses YAML, expands ``${VAR}`` references and validates into a
``MigratorConfig``; every problem is reported at once in a ``ConfigError``. ``LoadedConfig.raw`` keeps
the tree as written; ``redact_tree`` and ``render_yaml`` turn such a tree back into YAML for logs and
savepoints.

One module per concern: ``base`` (shared model base and scalar types), ``source``, ``target``, ``cql``,
``aws``, ``mysql``, ``savepoints``, ``tokens``, ``validation``, ``state``, ``model`` (the whole file),
``envvars``, ``secrets``, ``yamlio``, ``problems`` (error wording) and ``loader``.
"""

from __future__ import annotations

from migrator.config.loader import LoadedConfig, load_config
from migrator.config.model import MigratorConfig, Rename
from migrator.config.mysql import MySQLSource
from migrator.config.reconcile import ReconcileSettings
from migrator.config.savepoints import DEFAULT_SAVEPOINTS, Savepoints
from migrator.config.secrets import REDACTED, SECRET_KEYS, is_secret_key, redact_tree
from migrator.config.source import (
    AlternatorSource,
    CassandraSource,
    DynamoDBS3ExportSource,
    DynamoDBSource,
    ParquetSource,
    Source,
)
from migrator.config.state import MigratorState
from migrator.config.target import (
    AlternatorTarget,
    CassandraTarget,
    DynamoDBS3ExportTarget,
    DynamoDBTarget,
    ParquetTarget,
    Target,
)
from migrator.config.tokens import Token, TokenType, encode_token_ranges
from migrator.config.validation import ValidationSettings
from migrator.config.yamlio import TOP_LEVEL_ORDER, render_yaml

__all__ = [
    "DEFAULT_SAVEPOINTS",
    "REDACTED",
    "SECRET_KEYS",
    "TOP_LEVEL_ORDER",
    "AlternatorSource",
    "AlternatorTarget",
    "CassandraSource",
    "CassandraTarget",
    "DynamoDBS3ExportSource",
    "DynamoDBS3ExportTarget",
    "DynamoDBSource",
    "DynamoDBTarget",
    "LoadedConfig",
    "MigratorConfig",
    "MigratorState",
    "MySQLSource",
    "ParquetSource",
    "ParquetTarget",
    "ReconcileSettings",
    "Rename",
    "Savepoints",
    "Source",
    "Target",
    "Token",
    "TokenType",
    "ValidationSettings",
    "encode_token_ranges",
    "is_secret_key",
    "load_config",
    "redact_tree",
    "render_yaml",
]
