"""Shared helpers for the config tests: fixture locations, a minimal valid config, error capture."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any, TypeVar

import pytest
import yaml

from migrator.config import LoadedConfig, load_config
from migrator.errors import EXIT_CONFIG, ConfigError

HERE = Path(__file__).parent
FIXTURES = HERE / "fixtures"
EXAMPLES = HERE.parents[2] / "config"

# Every variable the fixtures and example configs reference without a default.
FIXTURE_ENV = {
    "TARGET_PASSWORD": "target-pw",
    "ASTRA_CLIENT_SECRET": "astra-secret",
    "MYSQL_PASSWORD": "mysql-pw",
    "SOURCE_HOST": "10.1.1.1",
    "SOURCE_PASSWORD": "source-pw",
    "ENV_NAME": "prod",
    "AWS_ACCESS_KEY_ID": "AKIAFROMENV",
    "AWS_SECRET_ACCESS_KEY": "aws-secret-from-env",
}

_CQL: dict[str, Any] = {
    "source": {
        "type": "cassandra",
        "host": "127.0.0.1",
        "port": 9042,
        "keyspace": "demo",
        "table": "events",
        "fetchSize": 1000,
        "preserveTimestamps": False,
        "consistencyLevel": "LOCAL_QUORUM",
    },
    "target": {
        "type": "scylla",
        "host": "127.0.0.1",
        "port": 9043,
        "keyspace": "demo",
        "table": "events",
        "consistencyLevel": "LOCAL_QUORUM",
        "stripTrailingZerosForDecimals": False,
    },
}

DYNAMO_SOURCE: dict[str, Any] = {"type": "dynamodb", "table": "events", "region": "us-east-1"}
ALTERNATOR_TARGET: dict[str, Any] = {
    "type": "alternator",
    "table": "events",
    "endpoint": {"host": "http://127.0.0.1", "port": 8000},
    "streamChanges": False,
}


def cql_tree(**top: Any) -> dict[str, Any]:
    """A valid CQL -> CQL config tree; keyword arguments replace or add top-level keys."""
    tree = copy.deepcopy(_CQL)
    tree.update(copy.deepcopy(top))
    return tree


def with_source(**keys: Any) -> dict[str, Any]:
    """``cql_tree()`` with source keys set (a value of None removes the key)."""
    tree = cql_tree()
    _apply(tree["source"], keys)
    return tree


def with_target(**keys: Any) -> dict[str, Any]:
    """``cql_tree()`` with target keys set (a value of None removes the key)."""
    tree = cql_tree()
    _apply(tree["target"], keys)
    return tree


def _apply(block: dict[str, Any], keys: dict[str, Any]) -> None:
    for key, value in keys.items():
        if value is None:
            block.pop(key, None)
        else:
            block[key] = value


T = TypeVar("T")


def narrow(value: object, cls: type[T]) -> T:
    """``value`` as a ``cls`` (a block of the expected ``type``), failing the test otherwise."""
    assert isinstance(value, cls), f"expected {cls.__name__}, got {type(value).__name__}"
    return value


def to_yaml(tree: dict[str, Any]) -> str:
    return yaml.safe_dump(tree, sort_keys=False)


def load_tree(tree: dict[str, Any], environ: dict[str, str] | None = None) -> LoadedConfig:
    return load_config(to_yaml(tree), environ=environ or {})


def config_error(source: dict[str, Any] | str, environ: dict[str, str] | None = None) -> ConfigError:
    """The ConfigError raised for a tree or YAML text; fails the test when it loads."""
    text = source if isinstance(source, str) else to_yaml(source)
    with pytest.raises(ConfigError) as caught:
        load_config(text, environ=environ or {})
    error = caught.value
    assert error.exit_code == EXIT_CONFIG
    assert "Traceback" not in error.render()
    return error


def problems(source: dict[str, Any] | str, environ: dict[str, str] | None = None) -> dict[str, str]:
    """``{dotted.path: message}`` of every problem found (one message per path expected)."""
    found = config_error(source, environ).problems
    paths = [path for path, _ in found]
    assert len(paths) == len(set(paths)), f"several problems at one path: {found}"
    return dict(found)
