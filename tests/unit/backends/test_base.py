"""The backend protocol without a server: finding a backend by name, refusing pairs, checking savepoints."""

from __future__ import annotations

import pickle
import subprocess
import sys
from collections.abc import Iterable
from typing import Any

import pytest

from migrator.backends import base
from migrator.backends.base import MIGRATE, VALIDATE, WorkItem, backend_for, check_savepoint, supported_pairs
from migrator.backends.cassandra.backend import BACKEND as CASSANDRA
from migrator.config import MigratorState
from migrator.errors import EXIT_CONFIG, ConfigError, SavepointMismatch
from tests.unit.config.helpers import ALTERNATOR_TARGET, DYNAMO_SOURCE, cql_tree, load_tree, with_source

MYSQL_SOURCE = {"type": "mysql", "host": "127.0.0.1", "port": 3306, "database": "shop", "table": "orders",
                "credentials": {"username": "u", "password": "p"}}
SUPPORTED = ("cassandra/scylla -> cassandra/scylla, cassandra/scylla -> parquet, "
             "dynamodb/dynamo/alternator -> dynamodb/dynamo/alternator, "
             "dynamodb/dynamo/alternator -> dynamodb-s3-export, parquet -> cassandra/scylla, "
             "dynamodb-s3-export -> dynamodb/dynamo/alternator")
FIX = ("use the savepoint with the config it was written for, "
       "or start over with --fresh (or delete skipTokenRanges and migratorState)")


def refusal(tree: dict[str, Any]) -> list[tuple[str, str]]:
    with pytest.raises(ConfigError) as caught:
        backend_for(load_tree(tree).model)
    assert caught.value.exit_code == EXIT_CONFIG
    return caught.value.problems


def test_a_cql_pair_is_served_by_the_cassandra_backend():
    for source, target in (("cassandra", "scylla"), ("scylla", "cassandra")):
        tree = cql_tree()
        tree["source"]["type"], tree["target"]["type"] = source, target
        assert backend_for(load_tree(tree).model) is CASSANDRA
    assert (CASSANDRA.name, CASSANDRA.types, CASSANDRA.writes_to) == ("cassandra", ("cassandra", "scylla"),
                                                                      ("cassandra", "parquet"))


def test_a_source_without_a_backend_package_is_not_supported_yet():
    assert refusal(cql_tree(source=MYSQL_SOURCE)) == [(
        "source.type",
        f"migrating from 'mysql' to 'scylla' is not supported by this version yet; supported: {SUPPORTED}",
    )]


def test_a_dynamodb_or_alternator_pair_is_served_by_the_dynamodb_backend():
    assert backend_for(load_tree(cql_tree(source=DYNAMO_SOURCE, target=ALTERNATOR_TARGET)).model).name == "dynamodb"


def test_a_target_the_source_backend_cannot_write_is_not_supported_yet():
    assert refusal(cql_tree(target=ALTERNATOR_TARGET)) == [(
        "target.type",
        f"migrating from 'cassandra' to 'alternator' is not supported by this version yet; supported: {SUPPORTED}",
    )]


def test_the_supported_pairs_are_read_from_the_backend_packages():
    assert supported_pairs() == SUPPORTED
    assert base.available("cassandra") and base.available("dynamodb") and not base.available("mysql")


def test_the_backend_check_runs_after_the_pair_is_accepted():
    tree = with_source(host=None, port=None, cloud={"secureBundlePath": "s3a://bundles/secure.zip"})
    [(path, message)] = refusal(tree)
    assert path == "source.cloud.secureBundlePath"
    assert message.startswith("the Python driver opens the bundle as a local file")


def test_loading_the_config_imports_no_backend():
    code = "import sys, migrator.config; print([m for m in sys.modules if 'backends' in m])"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_work_items_are_plain_picklable_data():
    item = WorkItem(3, ("any", "plain", "spec"))
    assert pickle.loads(pickle.dumps(item)) == item


# --- the savepoint check every backend gets ---------------------------------------------------------


class Run:
    """The two identities and the backend's own savepoint verdict: all ``check_savepoint`` reads."""

    source_identity = "Test Cluster/ks.src"
    target_identity = "Other Cluster/ks.dst"

    def __init__(self, own: Iterable[tuple[str, str]] = ()) -> None:
        self.own = list(own)
        self.asked: list[MigratorState] = []

    def savepoint_problems(self, state: MigratorState) -> list[tuple[str, str]]:
        self.asked.append(state)
        return self.own


def saved(**keys: Any) -> MigratorState:
    return MigratorState.model_validate(
        {"kind": "migrate", "sourceIdentity": Run.source_identity, "targetIdentity": Run.target_identity, **keys})


def test_no_savepoint_is_never_checked():
    run = Run(own=[("x", "never asked")])
    check_savepoint(None, MIGRATE, run)  # type: ignore[arg-type]
    assert run.asked == []


def test_a_fitting_savepoint_passes_and_the_backend_is_asked():
    run = Run()
    state = saved()
    check_savepoint(state, MIGRATE, run)  # type: ignore[arg-type]
    assert run.asked == [state]


def test_identity_and_backend_problems_are_reported_together():
    run = Run(own=[("migratorState.partitioner", "another ring")])
    with pytest.raises(SavepointMismatch) as caught:
        check_savepoint(saved(targetIdentity="Prod/ks.dst"), VALIDATE, run)  # type: ignore[arg-type]
    assert caught.value.exit_code == EXIT_CONFIG
    assert caught.value.problems == [
        ("migratorState.kind", f"this savepoint was written by 'migrate', not 'validate'; {FIX}"),
        ("migratorState.targetIdentity",
         f"written for target Prod/ks.dst, but the target is now Other Cluster/ks.dst; {FIX}"),
        ("migratorState.partitioner", "another ring"),
    ]
