"""Comparing hand-built source and target schemas, and the CQL that creates a missing target."""

from __future__ import annotations

import pytest

from migrator.backends.cassandra.schema import (
    CLUSTERING,
    PARTITION,
    REGULAR,
    STATIC,
    Column,
    ColumnMapping,
    TableSchema,
    compare,
    create_statements,
    require_compatible,
)
from migrator.errors import EXIT_RUNTIME, SchemaMismatch


def table(*columns: Column, keyspace: str = "ks", name: str = "t", **kwargs) -> TableSchema:
    return TableSchema(keyspace, name, tuple(columns), **kwargs)


K = Column("k", "int", PARTITION)
C = Column("c", "text", CLUSTERING)
S = Column("s", "text", STATIC)
V = Column("v", "int", REGULAR)
BASE = table(K, C, S, V)


def test_schema_accessors():
    assert [c.name for c in BASE.partition_key] == ["k"]
    assert [c.name for c in BASE.clustering] == ["c"]
    assert [c.name for c in BASE.primary_key] == ["k", "c"]
    assert [c.name for c in BASE.cells] == ["s", "v"]
    assert BASE.column("v") is V
    assert BASE.column("missing") is None
    assert not BASE.is_counter_table
    assert table(K, Column("n", "counter", REGULAR)).is_counter_table
    assert table(K, keyspace="My KS", name='a"b').qualified == '"My KS"."a""b"'


def test_identical_schemas_map_every_column_as_is():
    result = compare(BASE, BASE, {})
    assert result.problems == []
    assert result.notes == []
    assert result.mappings == [ColumnMapping(c, c, "passthrough") for c in (K, C, S, V)]


def test_renames_map_source_columns_to_their_new_names():
    target = table(Column("key", "int", PARTITION), C, S, Column("value", "int", REGULAR))
    result = compare(BASE, target, {"k": "key", "v": "value"})
    assert result.problems == []
    assert [(m.source.name, m.target.name, m.how) for m in result.mappings] == [
        ("k", "key", "passthrough"),
        ("c", "c", "passthrough"),
        ("s", "s", "passthrough"),
        ("v", "value", "passthrough"),
    ]


@pytest.mark.parametrize(
    ("src", "tgt"),
    [("int", "bigint"), ("tinyint", "varint"), ("smallint", "int"), ("float", "double"), ("ascii", "text")],
)
def test_widenings_are_converted(src, tgt):
    result = compare(table(K, Column("v", src, REGULAR)), table(K, Column("v", tgt, REGULAR)), {})
    assert result.problems == []
    assert [m.how for m in result.mappings] == ["passthrough", "convert"]


@pytest.mark.parametrize(
    ("src", "tgt"), [("frozen<list<int>>", "list<int>"), ("list<int>", "frozen<list<int>>")]
)
def test_frozen_and_non_frozen_of_one_type_pass_through(src, tgt):
    result = compare(table(K, Column("l", src, REGULAR)), table(K, Column("l", tgt, REGULAR)), {})
    assert result.problems == []
    assert [m.how for m in result.mappings] == ["passthrough", "passthrough"]


def test_incompatible_type_names_the_column_and_both_types():
    result = compare(BASE, table(K, C, S, Column("v", "text", REGULAR)), {})
    assert result.problems == ["column v: source type int cannot be written into target type text"]
    assert [m.source.name for m in result.mappings] == ["k", "c", "s"]


def test_narrowing_is_refused():
    source = table(K, Column("v", "bigint", REGULAR))
    result = compare(source, table(K, Column("v", "int", REGULAR)), {})
    assert result.problems == ["column v: source type bigint cannot be written into target type int"]


def test_a_widened_key_column_is_refused():
    result = compare(BASE, table(Column("k", "bigint", PARTITION), C, S, V), {})
    assert result.problems == ["column k: source type int cannot be written into target type bigint"]


def test_renamed_column_with_a_problem_is_labelled_with_both_names():
    result = compare(BASE, table(K, C, S, Column("value", "text", REGULAR)), {"v": "value"})
    assert result.problems == [
        "column v (renamed value): source type int cannot be written into target type text"
    ]


def test_missing_column():
    result = compare(BASE, table(K, C, S), {})
    assert result.problems == ["column v: missing in the target table"]


def test_partition_key_mismatch():
    target = table(Column("k", "int", PARTITION), Column("k2", "int", PARTITION), C, S, V)
    result = compare(BASE, target, {})
    assert result.problems == ["partition key differs: source (after renames) ['k'], target ['k', 'k2']"]


def test_clustering_mismatch():
    target = table(K, Column("c", "text", REGULAR), S, V)
    result = compare(BASE, target, {})
    assert result.problems == ["clustering columns differ: source (after renames) ['c'], target []"]


def test_static_versus_regular():
    result = compare(BASE, table(K, C, Column("s", "text", REGULAR), V), {})
    assert result.problems == ["column s: static in one table but not in the other"]


def test_counter_versus_non_counter():
    source = table(K, Column("n", "counter", REGULAR))
    target = table(K, Column("n", "bigint", REGULAR))
    assert compare(source, target, {}).problems == [
        "only the source is a counter table; counters cannot be copied into other types",
        "column n: source type counter cannot be written into target type bigint",
    ]
    assert compare(target, source, {}).problems == [
        "only the target is a counter table; counters cannot be copied into other types",
        "column n: source type bigint cannot be written into target type counter",
    ]


def test_extra_target_column_and_clustering_order_are_notes():
    target = table(K, Column("c", "text", CLUSTERING, reversed=True), S, V, Column("extra", "int", REGULAR))
    result = compare(BASE, target, {})
    assert result.problems == []
    assert result.notes == [
        "column c: clustering order differs (data is unaffected)",
        "target column extra has no source column and stays empty",
    ]


def test_require_compatible_returns_the_comparison():
    result = require_compatible(BASE, BASE, {})
    assert [m.how for m in result.mappings] == ["passthrough"] * 4


def test_require_compatible_lists_every_problem():
    target = table(K, C, Column("s", "int", STATIC), keyspace="tks", name="tt")
    with pytest.raises(SchemaMismatch) as info:
        require_compatible(BASE, target, {})
    err = info.value
    assert err.exit_code == EXIT_RUNTIME
    assert err.message == (
        "the target table tks.tt cannot receive the rows of ks.t:\n"
        "  - column s: source type text cannot be written into target type int\n"
        "  - column v: missing in the target table"
    )
    assert (
        err.hint
        == "fix the target schema, add renames, or drop the target table to let the migrator create it"
    )


def test_create_statements_simple_table():
    assert create_statements(table(K, V), "target ks", "T", {}) == [
        'CREATE TABLE IF NOT EXISTS "target ks"."T" ("k" int, "v" int, PRIMARY KEY (("k")))'
    ]


def test_create_statements_full():
    source = table(
        Column("p1", "text", PARTITION),
        Column("p2", "int", PARTITION),
        Column("c1", "timestamp", CLUSTERING, reversed=True),
        Column("c2", "int", CLUSTERING),
        Column("s", "frozen<outer>", STATIC),
        Column("v", "map<text, frozen<inner>>", REGULAR),
        default_ttl=86400,
        user_types=(("inner", '"x" int, "y" text'), ("outer", '"i" frozen<inner>, "n" int')),
    )
    assert create_statements(source, "tks", "tt", {"p2": "P2", "v": "Value"}) == [
        'CREATE TYPE IF NOT EXISTS "tks"."inner" ("x" int, "y" text)',
        'CREATE TYPE IF NOT EXISTS "tks"."outer" ("i" frozen<inner>, "n" int)',
        'CREATE TABLE IF NOT EXISTS "tks"."tt" ("p1" text, "P2" int, "c1" timestamp, "c2" int, '
        '"s" frozen<outer> static, "Value" map<text, frozen<inner>>, '
        'PRIMARY KEY (("p1", "P2"), "c1", "c2")) '
        'WITH CLUSTERING ORDER BY ("c1" DESC, "c2" ASC) AND default_time_to_live = 86400',
    ]


def test_create_statements_ttl_only():
    assert create_statements(table(K, V, default_ttl=60), "ks", "t", {}) == [
        'CREATE TABLE IF NOT EXISTS "ks"."t" ("k" int, "v" int, PRIMARY KEY (("k"))) '
        "WITH default_time_to_live = 60"
    ]
