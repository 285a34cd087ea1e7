"""Creating a target table like the source, and refusing a target whose key does not fit."""

from __future__ import annotations

from typing import Any

import pytest

from migrator.backends.dynamodb import table
from migrator.errors import ConfigError, SchemaMismatch


def info(description: dict[str, Any], *, ttl: str | None = None, name: str = "src") -> table.TableInfo:
    throughput = description.get("ProvisionedThroughput", {})
    key = sorted(((k["AttributeName"], k["KeyType"]) for k in description["KeySchema"]), key=lambda k: k[1] != "HASH")
    types = {a["AttributeName"]: a["AttributeType"] for a in description["AttributeDefinitions"]}
    return table.TableInfo(name, tuple(key), tuple((n, types[n]) for n, _ in key), 0, 0,
                           "PROVISIONED" if throughput else "PAY_PER_REQUEST",
                           throughput.get("ReadCapacityUnits", 0), throughput.get("WriteCapacityUnits", 0),
                           ttl, None, description)


def key(*names: tuple[str, str]) -> list[dict[str, str]]:
    return [{"AttributeName": n, "KeyType": k} for n, k in names]


PROJECTION = {"ProjectionType": "KEYS_ONLY"}
SOURCE = {
    "KeySchema": key(("pk", "HASH"), ("sk", "RANGE")),
    "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"},
                             {"AttributeName": "sk", "AttributeType": "N"},
                             {"AttributeName": "g", "AttributeType": "B"}],
    "ProvisionedThroughput": {"ReadCapacityUnits": 50, "WriteCapacityUnits": 20, "NumberOfDecreasesToday": 0},
    "LocalSecondaryIndexes": [{"IndexName": "by_g", "KeySchema": key(("pk", "HASH"), ("g", "RANGE")),
                               "Projection": PROJECTION, "IndexSizeBytes": 0, "ItemCount": 0}],
    "GlobalSecondaryIndexes": [{"IndexName": "g_only", "KeySchema": key(("g", "HASH")), "Projection": PROJECTION,
                                "ProvisionedThroughput": {"ReadCapacityUnits": 5, "WriteCapacityUnits": 6},
                                "IndexStatus": "ACTIVE"}],
}


def test_a_provisioned_source_gives_a_provisioned_target_with_its_indexes_renamed():
    request = table.create_request(info(SOURCE), "dst", {"pk": "id"}, None)
    assert request == {
        "TableName": "dst",
        "KeySchema": key(("id", "HASH"), ("sk", "RANGE")),
        "AttributeDefinitions": [{"AttributeName": "id", "AttributeType": "S"},
                                 {"AttributeName": "sk", "AttributeType": "N"},
                                 {"AttributeName": "g", "AttributeType": "B"}],
        "BillingMode": "PROVISIONED",
        "ProvisionedThroughput": {"ReadCapacityUnits": 50, "WriteCapacityUnits": 20},
        "LocalSecondaryIndexes": [{"IndexName": "by_g", "KeySchema": key(("id", "HASH"), ("g", "RANGE")),
                                   "Projection": PROJECTION}],
        "GlobalSecondaryIndexes": [{"IndexName": "g_only", "KeySchema": key(("g", "HASH")), "Projection": PROJECTION,
                                    "ProvisionedThroughput": {"ReadCapacityUnits": 5, "WriteCapacityUnits": 6}}],
    }


def test_pay_per_request_is_chosen_when_asked_or_when_the_source_is_on_demand():
    request = table.create_request(info(SOURCE), "dst", {}, "PAY_PER_REQUEST")
    assert request["BillingMode"] == "PAY_PER_REQUEST" and "ProvisionedThroughput" not in request
    assert "ProvisionedThroughput" not in request["GlobalSecondaryIndexes"][0]
    on_demand = {k: v for k, v in SOURCE.items() if k != "ProvisionedThroughput"}
    assert table.create_request(info(on_demand), "dst", {}, None)["BillingMode"] == "PAY_PER_REQUEST"


def test_provisioned_billing_without_source_capacity_is_a_config_error():
    on_demand = {k: v for k, v in SOURCE.items() if k != "ProvisionedThroughput"}
    with pytest.raises(ConfigError) as caught:
        table.create_request(info(on_demand), "dst", {}, "PROVISIONED")
    [(where, message)] = caught.value.problems
    assert where == "target.billingMode" and "PAY_PER_REQUEST" in message


def test_an_existing_target_with_another_key_is_refused_before_any_write():
    source = info(SOURCE)
    table.check_target(source, info(SOURCE, name="dst"), {})
    other = {**SOURCE, "KeySchema": key(("pk", "HASH")), "AttributeDefinitions": SOURCE["AttributeDefinitions"][:1]}
    with pytest.raises(SchemaMismatch, match=r"has key pk \(HASH, S\), the source's items need pk \(HASH, S\), sk"):
        table.check_target(source, info(other, name="dst"), {})
    with pytest.raises(SchemaMismatch):
        table.check_target(source, info(SOURCE, name="dst"), {"sk": "sort"})
