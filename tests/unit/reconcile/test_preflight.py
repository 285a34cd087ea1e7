"""The reconcile block loads, and ``newest`` is refused where the store keeps no write times."""

from __future__ import annotations

import pytest

from migrator.backends.base import load_backend
from migrator.errors import ConfigError
from migrator.reconcile.preflight import settings_of, strategy_problems
from tests.unit.config.helpers import cql_tree, load_tree, problems

DYNAMO = {"type": "dynamodb", "table": "users", "endpoint": {"host": "http://127.0.0.1", "port": 8000}}


def dynamo_tree(**reconcile):
    return {"source": dict(DYNAMO), "target": {**DYNAMO, "table": "users_prod", "streamChanges": False},
            "savepoints": {"path": "/tmp/sp", "intervalSeconds": 60}, "reconcile": reconcile}


def test_the_block_loads_with_defaults_and_per_table_overrides():
    settings = load_tree({**cql_tree(), "reconcile": {"strategy": "Theirs", "tables": {"demo.events": "newest"}}}
                         ).model.reconcile
    assert settings is not None
    assert (settings.strategy, settings.strategy_for("demo.events"), settings.strategy_for("other")) == \
        ("theirs", "newest", "theirs")
    assert (settings.output, settings.allow_deletes, settings.checkpoint_expiry_hours, settings.apply_batch_rows) == \
        ("reconcile", False, 24.0, 1000)


def test_a_bad_strategy_and_a_typo_are_refused():
    found = problems({**cql_tree(), "reconcile": {"strategy": "mine", "alowDeletes": True}})
    assert any("strategy" in k for k in found) and any("alowDeletes" in k or "allowDeletes" in v
                                                         for k, v in found.items())


def test_newest_is_refused_on_dynamodb_without_an_update_time_attribute():
    loaded = load_tree(dynamo_tree(strategy="newest")).model
    assert loaded.reconcile is not None
    [(where, message)] = strategy_problems(loaded, loaded.reconcile, load_backend("dynamodb").capabilities)
    assert where == "reconcile.strategy" and "updatedAtAttribute" in message and "dynamodb keeps none" in message
    named = load_tree(dynamo_tree(strategy="newest", updatedAtAttribute="updatedAt")).model
    assert named.reconcile is not None
    assert strategy_problems(named, named.reconcile, load_backend("dynamodb").capabilities) == []


def test_newest_is_fine_on_cql_and_a_missing_block_is_refused_with_an_example():
    loaded = load_tree({**cql_tree(), "reconcile": {"strategy": "newest"}}).model
    assert loaded.reconcile is not None
    assert strategy_problems(loaded, loaded.reconcile, load_backend("cassandra").capabilities) == []
    with pytest.raises(ConfigError, match=r"reconcile: \{output"):
        settings_of(load_tree(cql_tree()).model)
