"""Schema drift between dev and production, and the statements each backend writes to align production."""

from __future__ import annotations

import json

from migrator.backends.cassandra.schema_diff import SECTIONS, CqlSchema
from migrator.backends.dynamodb.schema_diff import DynamoSchema
from migrator.reconcile.schema import DIFFERS, ONLY_DEV, ONLY_PROD, Drift, schema_diff, schema_text
from tests.unit.config.helpers import cql_tree, load_tree
from tests.unit.reconcile.test_preflight import dynamo_tree


def test_drift_is_each_entry_only_on_one_side_or_different_in_section_order():
    dev = {("column", "a"): "int", ("column", "b"): "text", ("index", "i"): "INDEX b", ("partition key", ""): "k int"}
    prod = {("column", "a"): "bigint", ("column", "c"): "text", ("partition key", ""): "k int"}
    drifts = schema_diff(dev, prod, SECTIONS)
    assert [(d.section, d.name, d.kind) for d in drifts] == [
        ("column", "a", DIFFERS), ("column", "b", ONLY_DEV), ("column", "c", ONLY_PROD), ("index", "i", ONLY_DEV)]
    assert "column a: production has bigint, dev has int" in schema_text(drifts, dev="d", production="p")
    assert schema_diff(dev, dict(dev)) == [] and schema_text([], dev="d", production="p").endswith("the same")


def test_cql_statements_add_first_and_leave_what_loses_data_commented_unless_allowed():
    schema = CqlSchema(load_tree(cql_tree()).model)
    drifts = [Drift("partition key", "", "k bigint", "k int"), Drift("column", "a", "static int", None),
              Drift("column", "b", None, "text"), Drift("column", "c", "bigint", "int"),
              Drift("index", "by_a", "INDEX a", None), Drift("index", "old", None, "INDEX b"),
              Drift("option", "default_time_to_live", "60", None)]
    safe = schema.statements(drifts, destructive=False)
    t = schema.qualified
    assert safe[0].startswith("-- partition key: production has k int, dev has k bigint: a primary key cannot")
    assert safe[1:4] == [f'ALTER TABLE {t} ADD "a" int static;', f'CREATE INDEX "by_a" ON {t} (a);',
                         f"ALTER TABLE {t} WITH default_time_to_live = 60;"]
    assert all(line.startswith("-- ") and "loses data" in line for line in safe[4:])
    assert any('DROP "b"' in line for line in safe[4:]) and any('DROP INDEX' in line for line in safe[4:])
    allowed = schema.statements(drifts, destructive=True)
    assert f'ALTER TABLE {t} DROP "c";' in allowed and f'ALTER TABLE {t} ADD "c" bigint;' in allowed


def test_dynamodb_requests_create_gsis_and_ttl_and_comment_what_cannot_change():
    schema = DynamoSchema(load_tree(dynamo_tree()).model)
    schema._dev = {"AttributeDefinitions": [{"AttributeName": "id", "AttributeType": "S"},
                                            {"AttributeName": "email", "AttributeType": "S"}],
                   "GlobalSecondaryIndexes": [{"IndexName": "by_email", "Projection": {"ProjectionType": "ALL"},
                                               "KeySchema": [{"AttributeName": "email", "KeyType": "HASH"}]}]}
    drifts = [Drift("key schema", "", "id HASH N", "id HASH S"), Drift("local index", "l", "x", None),
              Drift("global index", "by_email", "email HASH S; projection ALL", None),
              Drift("global index", "old", None, "x HASH S; projection ALL"), Drift("ttl", "", "expires", "disabled")]
    schema._prod = {"KeySchema": [{"AttributeName": "id", "KeyType": "HASH"}],
                    "AttributeDefinitions": [{"AttributeName": "id", "AttributeType": "S"}]}
    lines = schema.statements(drifts, destructive=False)
    assert lines[0].startswith("# key schema") and lines[1].startswith("# local index l")
    create = json.loads(lines[2])
    assert create == {"operation": "UpdateTable", "request": {
        "TableName": "users_prod", "AttributeDefinitions": [{"AttributeName": "email", "AttributeType": "S"},
                                                            {"AttributeName": "id", "AttributeType": "S"}],
        "GlobalSecondaryIndexUpdates": [{"Create": {"IndexName": "by_email", "Projection": {"ProjectionType": "ALL"},
                                                    "KeySchema": [{"AttributeName": "email", "KeyType": "HASH"}]}}]}}
    assert json.loads(lines[3])["request"]["TimeToLiveSpecification"] == {"Enabled": True, "AttributeName": "expires"}
    assert lines[4].startswith('# {"operation": "UpdateTable"') and "Delete" in lines[4] and "loses data" in lines[4]
