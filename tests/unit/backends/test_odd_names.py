"""Names that need quoting in every CQL statement and DynamoDB request the tool builds, exactly as sent.

One table whose keyspaces, table, columns, UDT and fields are mixed case, reserved words, or hold
spaces, quotes and non-ASCII letters: the copy plan's scan, the preserve and counter writers'
statements (recorded by ``RecordingSession``: no server), the pack's literal statements, the schema
migration's DDL, the UDTs a table uses, UDT values decoded with their exact field names, and the
DynamoDB projection and GSI requests. That a server accepts them is ``tests/integration/test_odd_names.py``'s.
"""

from __future__ import annotations

import pickle
from dataclasses import replace
from types import SimpleNamespace

import pytest
from cassandra.query import UNSET_VALUE as U
from hypothesis import given
from hypothesis import strategies as st

from migrator.backends.cassandra import cql
from migrator.backends.cassandra.compare_plan import Sides, build_compare_plan
from migrator.backends.cassandra.connection import ConnectionSpec
from migrator.backends.cassandra.literals import literal, statement_delete, statement_insert
from migrator.backends.cassandra.ordering import parse_cql_type, user_types_in
from migrator.backends.cassandra.plan import build_plan
from migrator.backends.cassandra.raw import encode_bigint as i64
from migrator.backends.cassandra.raw import encode_int as i32
from migrator.backends.cassandra.schema import (
    CLUSTERING,
    PARTITION,
    REGULAR,
    STATIC,
    Column,
    TableSchema,
    _multicell,
    _user_types_used,
    compare,
    create_statements,
)
from migrator.backends.cassandra.schema_diff import CqlSchema
from migrator.backends.cassandra.values import decoder_for, to_display, udt_value, values_equal
from migrator.backends.dynamodb.compare import _projection
from migrator.backends.dynamodb.schema_diff import DynamoSchema
from migrator.reconcile.schema import Drift
from tests.unit.backends.test_writers import RecordingSession, coll, row, udt, writer
from tests.unit.config.helpers import cql_tree, load_tree
from tests.unit.reconcile.test_preflight import dynamo_tree

SPEC = ConnectionSpec("test", "127.0.0.1", 9042)
UDT = "Odd Type.#1"
FIELDS = (("Field One", "int"), ("select", "text"), ("from", "text"))
ODD = TableSchema("Src Ks", "select", (
    Column("Part Key", "int", PARTITION), Column("order", "int", CLUSTERING),
    Column('say "hi"', "text", STATIC), Column("Ünï", "text", REGULAR), Column("it's", "text", REGULAR),
    Column("日本 tags", "set<text>", REGULAR, multicell="set"),
    Column("odd udt", cql.quote(UDT), REGULAR, multicell="udt"),  # a non-frozen UDT, as the driver spells it
))
T = '"Dst"."Sel ect"'
KEY = 'WHERE "Part Key" = ? AND "order" = ?'
COLUMNS = '("Part Key", "order", "say ""hi""", "Ünï", "it\'s", "日本 tags", "odd udt")'
INSERT = f"INSERT INTO {T} {COLUMNS} VALUES (?, ?, ?, ?, ?, ?, ?) USING TTL ? AND TIMESTAMP ?"
PARTS = (f'UPDATE {T} USING TTL ? AND TIMESTAMP ? SET "日本 tags" = "日本 tags" + ?, "odd udt"."Field One" = ?, '
         f'"odd udt"."select" = ?, "odd udt"."from" = ? {KEY}')


@given(st.text(min_size=1))
def test_unquote_inverts_quote_for_any_name(name):
    assert cql.unquote(cql.quote(name)) == name


@pytest.mark.parametrize(("token", "name"), [('"Odd ""x"""', 'Odd "x"'), ("addr", "addr"), ('""""', '"'),
                                             ('"', '"')])
def test_unquote(token, name):
    assert cql.unquote(token) == name


@pytest.mark.parametrize(("name", "existing", "hint"), [
    ("myks", ["MyKs", "other"], " (names are exact: did you mean 'MyKs'?)"),
    ("MyKs", ["MyKs"], ""),
    ("myks", ["MyKs", "MYKS"], ""),  # two spellings: no single guess
    ("nothing", ["MyKs"], ""),
])
def test_near_miss_names_the_one_spelling_that_differs_by_case(name, existing, hint):
    assert cql.near_miss(name, existing) == hint


def _plan(source: TableSchema = ODD, **kwargs):
    target = replace(source, keyspace="Dst", table="Sel ect")
    args = {"source_consistency": "LOCAL_QUORUM", "target_consistency": "LOCAL_ONE", "fetch_size": 100,
            "preserve_timestamps": True, "collection_metadata": True, "where": None, "strip_decimals": False,
            "constant_ttl": None, "constant_timestamp": None, "batch_rows": 1,
            "user_type_fields": {UDT: tuple(f for f, _ in FIELDS)}, **kwargs}
    return build_plan(source=source, target=target, mappings=compare(source, target, {}).mappings,
                      source_spec=SPEC, target_spec=SPEC, **args)


def test_the_scan_quotes_every_selector_the_token_and_the_table():
    plan = _plan(where="\"Ünï\" = 'x'")
    cells = ['"say ""hi"""', '"Ünï"', '"it\'s"', '"日本 tags"', '"odd udt"']
    selectors = ", ".join(f"{c}, WRITETIME({c}), TTL({c})" for c in cells)
    assert plan.select == (f'SELECT "Part Key", "order", {selectors} FROM "Src Ks"."select" '
                           'WHERE token("Part Key") > ? AND token("Part Key") <= ? AND ("Ünï" = \'x\') ALLOW FILTERING')


def test_preserve_writes_quote_every_column_and_write_a_quoted_non_frozen_udt_field_by_field():
    plan, session = _plan(), RecordingSession()
    assert plan.cells[-1].udt_fields == ("Field One", "select", "from")  # found under the quoted type name
    writer(plan, session).write_page([row(plan, 1, 2, **{
        'say "hi"': (b"S", 10, None), "Ünï": (b"U", 20, 100), "it's": (b"I", 20, 100),
        "日本 tags": (coll([b"a"]), [40], [None]),
        "odd udt": (udt(i32(7), b"x", None), [20, 40, 40], [100, None, None])})])
    static = f'INSERT INTO {T} ("Part Key", "say ""hi""") VALUES (?, ?) USING TTL ? AND TIMESTAMP ?'
    assert session.prepared == [INSERT, static, PARTS, f'INSERT INTO {T} ("Part Key", "order") VALUES (?, ?)']
    assert session.writes == [
        (INSERT, [i32(1), i32(2), b"S", U, U, U, U, i32(0), i64(10)]),
        (INSERT, [i32(1), i32(2), U, b"U", b"I", U, U, i32(100), i64(20)]),
        (INSERT, [i32(1), i32(2), U, U, U, coll([b"a"]), U, i32(0), i64(40)]),
        (PARTS, [i32(100), i64(20), U, i32(7), U, U, i32(1), i32(2)]),  # each field with its own time
        (PARTS, [i32(0), i64(40), U, U, b"x", U, i32(1), i32(2)]),
    ]


def test_counter_reads_and_adds_quote_every_name():
    counters = TableSchema("Src Ks", "Counts", (Column("Part Key", "int", PARTITION),
                                                Column("order", "counter", REGULAR), Column("n ü", "counter", REGULAR)))
    plan = _plan(counters, preserve_timestamps=False)
    session = RecordingSession(target={(i32(1),): (i64(5), None)})
    writer(plan, session).write_page([row(plan, 1, order=i64(8), **{"n ü": i64(1)})])
    assert [text for _, text, _ in session.log] == [
        f'SELECT "order", "n ü" FROM {T} WHERE "Part Key" = ?',
        f'UPDATE {T} SET "order" = "order" + ?, "n ü" = "n ü" + ? WHERE "Part Key" = ?']


def test_pack_statements_quote_names_and_keep_every_udt_field_by_its_exact_name():
    parsed = parse_cql_type(f"frozen<{cql.quote(UDT)}>", {UDT: FIELDS})
    value = decoder_for(f"frozen<{cql.quote(UDT)}>", {UDT: FIELDS})(i32(4) + i32(7) + i32(1) + b"x" + i32(-1))
    assert to_display(value) == {"Field One": 7, "select": "x", "from": None}
    cell = literal(parsed, value)
    assert cell == '{"Field One": 7, "select": \'x\', "from": null}'
    assert statement_insert(T, {"Part Key": "1", 'say "hi"': "'it''s'", "odd udt": cell}, 5) == (
        f'INSERT INTO {T} ("Part Key", "say ""hi""", "odd udt") VALUES (1, \'it\'\'s\', {cell}) USING TIMESTAMP 5;')
    assert statement_delete(T, {"Part Key": "1", "order": "2"}) == (
        f'DELETE FROM {T} WHERE "Part Key" = 1 AND "order" = 2;')


def test_udt_values_keep_their_names_through_pickling_and_compare_field_by_field():
    value = udt_value(("Field One", "_x", "from"), (1, None, "z"))
    again = pickle.loads(pickle.dumps(value))
    assert again == value and again._fields == ("Field One", "_x", "from")
    tolerances = {"float_tolerance": 0.0, "timestamp_ms_tolerance": 0}
    assert values_equal(value, udt_value(("Field One", "_x", "from"), (1, None, "z")), **tolerances)
    assert not values_equal(value, udt_value(("Field One", "_x", "from"), (1, None, "y")), **tolerances)


def test_the_udts_a_table_uses_are_found_under_quoted_names_dependencies_first():
    inner = SimpleNamespace(field_names=["ü"], field_types=["int"])
    outer = SimpleNamespace(field_names=["In ner", "n"], field_types=['frozen<"In ner">', "int"])
    ks = SimpleNamespace(user_types={"In ner": inner, "Out.er": outer, "unused": inner})
    tm = SimpleNamespace(columns={"a": SimpleNamespace(cql_type='list<frozen<"Out.er">>'),
                                  "b": SimpleNamespace(cql_type='"In ner"')})
    assert _user_types_used(tm, ks) == (("In ner", '"ü" int'), ("Out.er", '"In ner" frozen<"In ner">, "n" int'))
    assert _multicell('"In ner"', ks) == "udt" and _multicell('frozen<"In ner">', ks) is None
    assert user_types_in(parse_cql_type('frozen<"Out.er">', {"Out.er": [("i", 'frozen<"In ner">')],
                                                            "In ner": [("x", "int")]})) == ["In ner", "Out.er"]


def test_the_created_target_and_its_udts_quote_every_name():
    source = replace(ODD, user_types=((UDT, '"Field One" int, "select" text, "from" text'),))
    statements = create_statements(source, "Dst", "Sel ect", {"it's": "it is ✓"})
    assert statements == [
        f'CREATE TYPE IF NOT EXISTS "Dst".{cql.quote(UDT)} ("Field One" int, "select" text, "from" text)',
        f'CREATE TABLE IF NOT EXISTS {T} ("Part Key" int, "order" int, "say ""hi""" text static, "Ünï" text, '
        f'"it is ✓" text, "日本 tags" set<text>, "odd udt" "Odd Type.#1", PRIMARY KEY (("Part Key"), "order")) '
        'WITH CLUSTERING ORDER BY ("order" ASC)']


def test_schema_migration_statements_quote_columns_and_indexes():
    tree = cql_tree()
    tree["target"]["keyspace"], tree["target"]["table"] = "Dst", "Sel ect"
    schema = CqlSchema(load_tree(tree).model)
    udts = f"list<frozen<{cql.quote(UDT)}>>"
    drifts = [Drift("column", 'say "hi"', "static text", None), Drift("column", "日本", udts, None),
              Drift("index", "CamelIdx", 'INDEX values("日本")', None), Drift("column", "order", None, "int")]
    assert schema.statements(drifts, destructive=True) == [
        f'ALTER TABLE {T} ADD "say ""hi""" text static;',
        f'ALTER TABLE {T} ADD "日本" list<frozen<"Odd Type.#1">>;',
        f'CREATE INDEX "CamelIdx" ON {T} (values("日本"));',
        f'ALTER TABLE {T} DROP "order";']


def test_dynamodb_projections_name_every_attribute_through_a_placeholder():
    names = ["order", "a.b", "#x", ":v", "with space", "Ünï"]
    assert _projection(names) == {"ProjectionExpression": "#a0, #a1, #a2, #a3, #a4, #a5",
                                  "ExpressionAttributeNames": {f"#a{i}": n for i, n in enumerate(names)}}


def test_a_created_gsi_names_its_keys_and_projected_attributes_as_production_does():
    tree = dynamo_tree()
    tree["renames"] = [{"from": "a.b", "to": "#ab"}, {"from": "with space", "to": "Ünï"}]
    schema = DynamoSchema(load_tree(tree).model)
    schema._dev = {"AttributeDefinitions": [{"AttributeName": "with space", "AttributeType": "S"}],
                   "GlobalSecondaryIndexes": [{
                       "IndexName": "by.Odd-1", "KeySchema": [{"AttributeName": "with space", "KeyType": "HASH"}],
                       "Projection": {"ProjectionType": "INCLUDE", "NonKeyAttributes": ["a.b", ":v"]}}]}
    schema._prod = {"KeySchema": [], "AttributeDefinitions": []}
    request = schema._create_gsi("by.Odd-1")
    assert request["AttributeDefinitions"] == [{"AttributeName": "Ünï", "AttributeType": "S"}]
    assert request["GlobalSecondaryIndexUpdates"] == [{"Create": {
        "IndexName": "by.Odd-1", "KeySchema": [{"AttributeName": "Ünï", "KeyType": "HASH"}],
        "Projection": {"ProjectionType": "INCLUDE", "NonKeyAttributes": ["#ab", ":v"]}}}]


def test_validate_and_diff_reads_repairs_and_deletes_quote_every_name_on_both_sides():
    """Scans, rechecks by key and partition, repair deletes and the digests' write times, after a rename."""
    tree = cql_tree(renames=[{"from": "it's", "to": "it is ✓"}], validation={
        "compareTimestamps": True, "ttlToleranceMillis": 0, "writetimeToleranceMillis": 0, "failuresToFetch": 1,
        "floatingPointTolerance": 0.0, "timestampMsTolerance": 0, "ignoreColumns": ["日本 tags", "odd udt"]})
    tree["source"]["where"] = "\"it's\" = 'x'"
    model = load_tree(tree).model
    source = ODD
    target = TableSchema("Dst", "Sel ect", (*ODD.columns[:4], Column("it is ✓", "text", REGULAR), *ODD.columns[5:]))
    sides = Sides(source, target, compare(source, target, model.rename_map).mappings, model.rename_map,
                  model.source, model.target, SPEC, SPEC, "Murmur3Partitioner", True)  # type: ignore[arg-type]
    assert model.validation is not None
    plan = build_compare_plan(sides, model.validation, {}, digests=True)

    def selectors(names: list[str]) -> str:
        cells = [cql.quote(n) for n in names]
        return ", ".join(['"Part Key"', '"order"', *cells, *(f"WRITETIME({c}), TTL({c})" for c in cells),
                          *(f"WRITETIME({c})" for c in cells)])

    src, tgt = selectors(['say "hi"', "Ünï", "it's"]), selectors(['say "hi"', "Ünï", "it is ✓"])
    ranges = 'WHERE token("Part Key") > ? AND token("Part Key") <= ?'
    assert plan.source_select == f'SELECT {src} FROM "Src Ks"."select" {ranges} AND ("it\'s" = \'x\') ALLOW FILTERING'
    assert plan.target_select == f'SELECT {tgt} FROM {T} {ranges} AND ("it is ✓" = \'x\') ALLOW FILTERING'
    assert plan.source_by_key == f'SELECT {src} FROM "Src Ks"."select" {KEY}'
    assert plan.target_by_key == f"SELECT {tgt} FROM {T} {KEY}"
    assert plan.target_by_partition == f'SELECT {tgt} FROM {T} WHERE "Part Key" = ? LIMIT 1'
    assert (plan.delete_cql, plan.delete_partition_cql, plan.clear_cql) == (
        f"DELETE FROM {T} {KEY}", f'DELETE FROM {T} WHERE "Part Key" = ?', f"DELETE FROM {T} USING TIMESTAMP ? {KEY}")
    assert plan.key_names == ("Part Key", "order") and [c.name for c in plan.columns] == ['say "hi"', "Ünï", "it is ✓"]
