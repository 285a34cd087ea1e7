"""The shared fixtures, registered once for every suite by ``tests/conftest.py`` (``pytest_plugins``).

``endpoints``, ``source``, ``target`` and ``raw_sessions`` reach the real local clusters started by
``scripts/services up``, whose addresses come from ``.services.env`` (or the same variables in the
environment); ``spark`` is a local Spark session and ``make_config`` writes a migrator config for a
table. All of them are lazy: a suite that asks for none of them needs no cluster and no Spark.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from scripts.localenv import services_env
from tests.support.constants import ROOT, SOURCE_KS, TARGET_KS
from tests.support.helpers import write_config


@pytest.fixture(scope="session")
def endpoints() -> dict[str, Any]:
    env = services_env(ROOT)
    if "MIGRATOR_SOURCE_PORT" not in env:
        pytest.fail("the local clusters are not up: run `scripts/services up` (it writes .services.env)")
    return {
        "source": (env.get("MIGRATOR_SOURCE_HOST", "127.0.0.1"), int(env["MIGRATOR_SOURCE_PORT"])),
        "target": (env.get("MIGRATOR_TARGET_HOST", "127.0.0.1"), int(env["MIGRATOR_TARGET_PORT"])),
    }


def _session(host: str, port: int, raw: bool = False) -> Any:
    from migrator.backends.cassandra.connection import ConnectionSpec, connect

    return connect(ConnectionSpec("test", host, port), raw=raw)


def _cluster(endpoint: tuple[str, int], keyspace: str) -> Iterator[Any]:
    """A session to one local cluster, with the suite's keyspace on it; shut down at the end."""
    s = _session(*endpoint)
    s.execute(f"CREATE KEYSPACE IF NOT EXISTS {keyspace} WITH replication = "
              "{'class': 'SimpleStrategy', 'replication_factor': 1}")
    yield s
    s.cluster.shutdown()


@pytest.fixture(scope="session")
def source(endpoints: dict[str, Any]) -> Iterator[Any]:
    yield from _cluster(endpoints["source"], SOURCE_KS)


@pytest.fixture(scope="session")
def target(endpoints: dict[str, Any]) -> Iterator[Any]:
    yield from _cluster(endpoints["target"], TARGET_KS)


@pytest.fixture(scope="session")
def raw_sessions(endpoints: dict[str, Any], source: Any, target: Any) -> Iterator[tuple[Any, Any]]:
    src, tgt = _session(*endpoints["source"], raw=True), _session(*endpoints["target"], raw=True)
    yield src, tgt
    src.cluster.shutdown()
    tgt.cluster.shutdown()


@pytest.fixture(scope="session")
def spark() -> Iterator[Any]:
    from migrator.spark import create_session

    session = create_session("local[2]", {"spark.ui.enabled": "false"}, app_name="migrator-tests")
    yield session
    session.stop()


@pytest.fixture()
def make_config(endpoints: dict[str, Any], tmp_path: Path) -> Any:
    """Write a config for ``table`` (same name on both sides) and return its path."""

    def make(table: str, **kwargs: Any) -> Path:
        return write_config(tmp_path, endpoints, table, **kwargs)

    return make
