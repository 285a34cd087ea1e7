"""The copy plan: selector layout per mode, metadata selectors, constant TTL/timestamp, transforms."""

from __future__ import annotations

from typing import Any

from migrator.backends.cassandra.connection import ConnectionSpec
from migrator.backends.cassandra.plan import COUNTER, PLAIN, PRESERVE, CellSpec, CopyPlan, build_plan
from migrator.backends.cassandra.schema import (
    CLUSTERING,
    PARTITION,
    REGULAR,
    STATIC,
    Column,
    TableSchema,
    compare,
)

SOURCE_SPEC = ConnectionSpec("source", "10.0.0.1", 9042)
TARGET_SPEC = ConnectionSpec("target", "10.0.0.2", 9042)

SOURCE = TableSchema(
    "src",
    "t",
    (
        Column("k", "int", PARTITION),
        Column("c", "int", CLUSTERING),
        Column("s", "text", STATIC),
        Column("v", "int", REGULAR),
        Column("l", "list<int>", REGULAR, multicell="list"),
        Column("d", "decimal", REGULAR),
        Column("a", "addr", REGULAR, multicell="udt"),
    ),
)
TARGET = TableSchema(
    "dst",
    "T",
    (
        Column("k", "int", PARTITION),
        Column("c", "int", CLUSTERING),
        Column("s", "text", STATIC),
        Column("value", "bigint", REGULAR),
        Column("l", "list<int>", REGULAR, multicell="list"),
        Column("d", "decimal", REGULAR),
        Column("a", "addr", REGULAR, multicell="udt"),
    ),
)
RENAMES = {"v": "value"}


def plan_for(
    source: TableSchema = SOURCE,
    target: TableSchema = TARGET,
    renames: dict[str, str] | None = None,
    **overrides: Any,
) -> CopyPlan:
    renames = RENAMES if renames is None else renames
    args: dict[str, Any] = {
        "source": source,
        "target": target,
        "mappings": compare(source, target, renames).mappings,
        "source_spec": SOURCE_SPEC,
        "target_spec": TARGET_SPEC,
        "source_consistency": "LOCAL_QUORUM",
        "target_consistency": "LOCAL_ONE",
        "fetch_size": 500,
        "preserve_timestamps": False,
        "collection_metadata": True,
        "where": None,
        "strip_decimals": False,
        "constant_ttl": None,
        "constant_timestamp": None,
        "user_type_fields": {"addr": ("street", "zip")},
    }
    args.update(overrides)
    return build_plan(**args)


TOKENS = ' FROM "src"."t" WHERE token("k") > ? AND token("k") <= ?'


def test_plain_layout():
    plan = plan_for(constant_ttl=3600, constant_timestamp=1_700_000_000_000_000)
    assert plan.mode == PLAIN
    assert plan.select == 'SELECT "k", "c", "s", "v", "l", "d", "a"' + TOKENS
    assert plan.target_table == '"dst"."T"'
    assert plan.partition_key == ((0, "k"),)
    assert plan.clustering == ((1, "c"),)
    assert plan.key_names == ["k", "c"]
    assert plan.partition_names == ["k"]
    assert plan.cells == (
        CellSpec("s", True, None, 2),
        CellSpec("value", False, None, 3, transform="convert"),
        CellSpec("l", False, "list", 4),
        CellSpec("d", False, None, 5),
        CellSpec("a", False, "udt", 6, udt_fields=("street", "zip")),
    )
    assert (plan.constant_ttl, plan.constant_timestamp) == (3600, 1_700_000_000_000_000)
    assert (plan.source_consistency, plan.target_consistency, plan.fetch_size) == (
        "LOCAL_QUORUM",
        "LOCAL_ONE",
        500,
    )
    assert (plan.source, plan.target) == (SOURCE_SPEC, TARGET_SPEC)


def test_preserve_layout_selects_writetime_and_ttl_for_every_cell():
    plan = plan_for(preserve_timestamps=True, constant_ttl=3600, constant_timestamp=5)
    assert plan.mode == PRESERVE
    assert plan.select == (
        'SELECT "k", "c", "s", WRITETIME("s"), TTL("s"), "v", WRITETIME("v"), TTL("v"), '
        '"l", WRITETIME("l"), TTL("l"), "d", WRITETIME("d"), TTL("d"), "a", WRITETIME("a"), TTL("a")' + TOKENS
    )
    assert [(c.target, c.value, c.writetime, c.ttl) for c in plan.cells] == [
        ("s", 2, 3, 4),
        ("value", 5, 6, 7),
        ("l", 8, 9, 10),
        ("d", 11, 12, 13),
        ("a", 14, 15, 16),
    ]
    assert (plan.constant_ttl, plan.constant_timestamp) == (None, None)
    assert plan.collection_metadata is True


def test_preserve_without_collection_metadata_skips_multicell_selectors():
    plan = plan_for(preserve_timestamps=True, collection_metadata=False)
    assert plan.select == (
        'SELECT "k", "c", "s", WRITETIME("s"), TTL("s"), "v", WRITETIME("v"), TTL("v"), '
        '"l", "d", WRITETIME("d"), TTL("d"), "a"' + TOKENS
    )
    assert [(c.target, c.value, c.writetime, c.ttl) for c in plan.cells] == [
        ("s", 2, 3, 4),
        ("value", 5, 6, 7),
        ("l", 8, None, None),
        ("d", 9, 10, 11),
        ("a", 12, None, None),
    ]
    assert plan.collection_metadata is False


def test_where_is_part_of_the_select():
    plan = plan_for(where="d > 0")
    assert plan.select.endswith(' token("k") <= ? AND (d > 0) ALLOW FILTERING')


def test_counter_table_uses_counter_mode_whatever_preserve_says():
    source = TableSchema("src", "c", (Column("k", "int", PARTITION), Column("n", "counter", REGULAR)))
    plan = plan_for(source, source, {}, preserve_timestamps=True, constant_ttl=60, constant_timestamp=7)
    assert plan.mode == COUNTER
    assert plan.select == 'SELECT "k", "n" FROM "src"."c" WHERE token("k") > ? AND token("k") <= ?'
    assert plan.cells == (CellSpec("n", False, None, 1),)
    assert (plan.constant_ttl, plan.constant_timestamp) == (None, None)


def test_transforms_with_strip_on():
    source = TableSchema(
        "src",
        "t",
        (
            Column("k", "int", PARTITION),
            Column("d", "decimal", REGULAR),
            Column("ld", "list<decimal>", REGULAR, multicell="list"),
            Column("fd", "frozen<map<int, decimal>>", REGULAR),
            Column("w", "int", REGULAR),
            Column("x", "text", REGULAR),
        ),
    )
    target = TableSchema("dst", "t", (*source.columns[:4], Column("w", "bigint", REGULAR), source.columns[5]))
    plan = plan_for(source, target, {}, strip_decimals=True)
    assert plan.strip_decimals is True
    assert [(c.target, c.transform) for c in plan.cells] == [
        ("d", "strip"),
        ("ld", "convert"),
        ("fd", "convert"),
        ("w", "convert"),
        ("x", None),
    ]
    plan = plan_for(source, target, {}, strip_decimals=False)
    assert [(c.target, c.transform) for c in plan.cells] == [
        ("d", None),
        ("ld", None),
        ("fd", None),
        ("w", "convert"),
        ("x", None),
    ]


def test_static_flag_and_udt_fields_of_an_unknown_type():
    plan = plan_for(user_type_fields={})
    assert [c.static for c in plan.cells] == [True, False, False, False, False]
    assert plan.cells[-1].udt_fields == ()
