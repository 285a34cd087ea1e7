"""Many tables in one config: patterns, the tables list, per-table settings, and what is refused."""

from __future__ import annotations

from typing import Any

import pytest

from migrator.config.model import table_validation
from migrator.config.tables import matches, select, target_name

from .helpers import ALTERNATOR_TARGET, DYNAMO_SOURCE, cql_tree, load_tree, problems, with_source

VALIDATION = {"compareTimestamps": False, "ttlToleranceMillis": 60000, "writetimeToleranceMillis": 1000,
              "failuresToFetch": 100, "floatingPointTolerance": 0.001, "timestampMsTolerance": 0}


def many(source: dict[str, Any] | None = None, target: dict[str, Any] | None = None, **top: Any) -> dict[str, Any]:
    tree = cql_tree(**top)
    tree["source"].update(source or {"table": "*"})
    tree["target"].pop("table")
    tree["target"].update(target or {})
    for block in (tree["source"], tree["target"]):
        for key in [k for k, v in block.items() if v is None]:
            block.pop(key)
    return tree


def test_an_upstream_single_table_config_means_one_table() -> None:
    config = load_tree(cql_tree()).model
    assert not config.many_tables and not config.listed_only and config.tables == []


def test_a_pattern_selects_many_tables_and_the_target_keeps_each_name() -> None:
    config = load_tree(many({"table": "*", "include": ["order*"], "exclude": ["*_tmp"]})).model
    assert config.many_tables and not config.listed_only
    assert getattr(config.target, "table", None) == "*"
    assert config.on_table_failure == "continue"


def test_a_tables_list_without_source_table_names_exactly_those() -> None:
    tree = many({"table": None}, tables=["users", {"name": "orders", "target": "orders_v2",
                                                   "renames": [{"from": "a", "to": "b"}], "where": "x > 1",
                                                   "validation": {"failuresToFetch": 5}}],
                validation=VALIDATION, onTableFailure="stop")
    config = load_tree(tree).model
    assert config.listed_only and config.many_tables
    assert [e.name for e in config.tables] == ["users", "orders"]
    orders = config.tables[1]
    assert orders.target == "orders_v2" and orders.rename_map == {"a": "b"} and orders.where == "x > 1"
    merged = table_validation(config.validation, orders.validation)
    assert merged is not None and merged.failures_to_fetch == 5 and merged.ttl_tolerance_millis == 60000
    assert config.on_table_failure == "stop"


@pytest.mark.parametrize(("tree", "path", "words"), [
    (with_source(include=["a*"]), "source.include", "names one table"),
    (cql_tree(tables=["users"]), "source.table", "names one table, and a tables list"),
    (many(target={"table": "events"}), "target.table", "cannot name many tables"),
    (many(target={"table": "a*b*"}), "target.table", "one '*'"),
    (many(renames=[{"from": "a", "to": "b"}]), "renames", "under the table's entry"),
    (many({"table": "*", "where": "a > 1"}), "source.where", "under the table's entry"),
    (many(tables=["a", "a"]), "tables[1].name", "already listed"),
    (many(tables=["a*"]), "tables[0].name", "is a pattern"),
    (many(tables=[{"name": "a", "target": "b*"}]), "tables[0].target", "is a pattern"),
    (many(tables=[{"name": "a", "validation": {"failuresToFetch": 0}}], validation=VALIDATION),
     "tables[0].validation.failuresToFetch", ""),
    (many(tables=[{"name": "a", "renames": [{"from": "x", "to": "y"}, {"from": "x", "to": "z"}]}]),
     "tables[0].renames[1].from", "already renamed"),
    (many({"table": None, "include": ["a*"]}, tables=["a"]), "source.include", "names the tables exactly"),
    (cql_tree(source={**DYNAMO_SOURCE, "table": "app_*"}, target={**ALTERNATOR_TARGET, "table": "*"},
              tables=[{"name": "app_users", "where": "a > 1"}]), "tables[0].where", "has no where clause"),
])
def test_what_a_many_table_config_refuses_is_named_with_its_fix(tree: dict[str, Any], path: str, words: str) -> None:
    found = problems(tree)
    assert path in found, found
    assert words in found[path]


def test_a_dynamodb_prefix_selects_tables() -> None:
    tree = cql_tree(source={**DYNAMO_SOURCE, "table": "app_*"}, target={**ALTERNATOR_TARGET, "table": "copy_*"})
    config = load_tree(tree).model
    assert config.many_tables


def test_patterns_match_whole_names_exactly_and_only_star_and_question_mark_are_special() -> None:
    assert matches("orders", "order*") and matches("orders", "order?") and not matches("orders", "order")
    assert matches("a[1]", "a[1]") and not matches("a1", "a[1]")
    assert not matches("Orders", "order*")
    assert select(["b", "a", "a_tmp", "c"], "*", exclude=["*_tmp"]) == ["a", "b", "c"]
    assert select(["orders", "users", "order_lines"], "*", include=["order*"]) == ["order_lines", "orders"]


@pytest.mark.parametrize(("source", "pattern", "target", "expected"), [
    ("users", "*", None, "users"),
    ("users", "*", "*", "users"),
    ("app_users", "app_*", "copy_*", "copy_users"),
    ("users", "*", "copy_*", "copy_users"),
    ("app_users", "app_?sers", "copy_*", "copy_app_users"),
    ("app_users", "app_*", "fixed", "fixed"),
])
def test_target_names_follow_the_target_pattern(source: str, pattern: str, target: str | None,
                                                expected: str) -> None:
    assert target_name(source, pattern, target) == expected
