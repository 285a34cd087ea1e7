"""Describing tables, checking that a target fits, and creating a missing target from the source.

Creation follows upstream's rules (``DynamoUtils.replicateTableDefinition``) and adds the TTL
setting, which upstream forgets:

* key schema and key attribute definitions of the source (renamed), LSIs and GSIs with their key
  schemas and projections;
* billing: ``billingMode: PROVISIONED`` needs a source with read and write capacity; PROVISIONED (or
  no setting) with a provisioned source copies its capacity (GSIs too); anything else is
  PAY_PER_REQUEST;
* when the source has TTL enabled, the target gets it on the same (renamed) attribute.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from typing import Any

from migrator.errors import ConfigError, RuntimeFailure, SchemaMismatch

log = logging.getLogger(__name__)

ACTIVE_WAIT_S = 300.0
POLL_S = 0.2


@dataclass(frozen=True)
class TableInfo:
    """What the run needs to know of a table, from DescribeTable and DescribeTimeToLive."""

    name: str
    key_schema: tuple[tuple[str, str], ...]  # (attribute, HASH | RANGE), HASH first
    key_types: tuple[tuple[str, str], ...]  # (attribute, S | N | B) of the key attributes
    item_count: int
    size_bytes: int
    billing_mode: str  # PROVISIONED | PAY_PER_REQUEST
    read_capacity: int
    write_capacity: int
    ttl_attribute: str | None  # the TTL attribute when TTL is enabled
    arn: str | None
    description: dict[str, Any] = field(compare=False, repr=False)

    @property
    def key_names(self) -> list[str]:
        """The key attribute names, partition key first."""
        return [name for name, _ in self.key_schema]


def describe(client: Any, table: str) -> TableInfo | None:
    """The table, or None when it does not exist."""
    try:
        desc = client.describe_table(TableName=table)["Table"]
    except client.exceptions.ResourceNotFoundException:
        return None
    schema = sorted(((k["AttributeName"], k["KeyType"]) for k in desc["KeySchema"]), key=lambda k: k[1] != "HASH")
    types = {a["AttributeName"]: a["AttributeType"] for a in desc.get("AttributeDefinitions", [])}
    throughput = desc.get("ProvisionedThroughput") or {}
    billing = (desc.get("BillingModeSummary") or {}).get("BillingMode")
    if billing is None:  # older servers and tables: provisioned unless no capacity is set
        billing = "PROVISIONED" if throughput.get("ReadCapacityUnits") else "PAY_PER_REQUEST"
    return TableInfo(
        name=table,
        key_schema=tuple(schema),
        key_types=tuple((name, types.get(name, "?")) for name, _ in schema),
        item_count=int(desc.get("ItemCount") or 0),
        size_bytes=int(desc.get("TableSizeBytes") or 0),
        billing_mode=billing,
        read_capacity=int(throughput.get("ReadCapacityUnits") or 0),
        write_capacity=int(throughput.get("WriteCapacityUnits") or 0),
        ttl_attribute=ttl_attribute(client, table),
        arn=desc.get("TableArn"),
        description=desc,
    )


def ttl_attribute(client: Any, table: str) -> str | None:
    """The attribute DynamoDB's TTL reads, when TTL is enabled (or being enabled); None otherwise.

    A server that does not implement DescribeTimeToLive has no TTL: None.
    """
    import botocore.exceptions

    try:
        found = client.describe_time_to_live(TableName=table).get("TimeToLiveDescription") or {}
    except botocore.exceptions.ClientError as exc:
        if exc.response.get("Error", {}).get("Code") in ("UnknownOperationException", "ValidationException"):
            return None
        raise
    if found.get("TimeToLiveStatus") in ("ENABLED", "ENABLING"):
        return found.get("AttributeName")
    return None


def renamed_key(source: TableInfo, renames: dict[str, str]) -> tuple[tuple[str, str, str], ...]:
    """The source key as the target must have it: (attribute, HASH | RANGE, type), renamed."""
    types = dict(source.key_types)
    return tuple((renames.get(name, name), kind, types[name]) for name, kind in source.key_schema)


def check_target(source: TableInfo, target: TableInfo, renames: dict[str, str]) -> None:
    """Refuse an existing target whose key is not the source's (renamed): items could not be written."""
    want = renamed_key(source, renames)
    have = tuple((name, kind, dict(target.key_types).get(name, "?")) for name, kind in target.key_schema)
    if want != have:
        raise SchemaMismatch(
            f"the target table {target.name} has key {_key_text(have)}, the source's items need {_key_text(want)}",
            hint="create the target with the source's key schema (or rename the key attributes to match), "
                 "or let the migrator create it by naming a table that does not exist",
        )


def _key_text(key: tuple[tuple[str, str, str], ...]) -> str:
    return ", ".join(f"{name} ({kind}, {kind_type})" for name, kind, kind_type in key)


def create_request(source: TableInfo, target_table: str, renames: dict[str, str],
                   billing_mode: str | None) -> dict[str, Any]:
    """The CreateTable request of a target table shaped like the source (see the module docstring)."""
    desc = source.description
    provisioned = source.read_capacity > 0 and source.write_capacity > 0
    if billing_mode == "PROVISIONED" and not provisioned:
        raise ConfigError([("target.billingMode",
                            f"PROVISIONED needs the source's capacity, but {source.name} has none "
                            "(on-demand); use PAY_PER_REQUEST or leave billingMode out")])
    use_provisioned = provisioned and billing_mode in (None, "PROVISIONED")

    def key(elements: list[dict[str, Any]]) -> list[dict[str, str]]:
        return [{"AttributeName": renames.get(e["AttributeName"], e["AttributeName"]), "KeyType": e["KeyType"]}
                for e in elements]

    request: dict[str, Any] = {
        "TableName": target_table,
        "KeySchema": key(desc["KeySchema"]),
        "AttributeDefinitions": [
            {"AttributeName": renames.get(a["AttributeName"], a["AttributeName"]), "AttributeType": a["AttributeType"]}
            for a in desc["AttributeDefinitions"]
        ],
        "BillingMode": "PROVISIONED" if use_provisioned else "PAY_PER_REQUEST",
    }
    if use_provisioned:
        request["ProvisionedThroughput"] = _capacity(desc.get("ProvisionedThroughput"))
    lsis = [{"IndexName": i["IndexName"], "KeySchema": key(i["KeySchema"]), "Projection": i["Projection"]}
            for i in desc.get("LocalSecondaryIndexes") or []]
    if lsis:
        request["LocalSecondaryIndexes"] = lsis
    gsis = []
    for index in desc.get("GlobalSecondaryIndexes") or []:
        gsi = {"IndexName": index["IndexName"], "KeySchema": key(index["KeySchema"]),
               "Projection": index["Projection"]}
        if use_provisioned:
            gsi["ProvisionedThroughput"] = _capacity(index.get("ProvisionedThroughput"))
        gsis.append(gsi)
    if gsis:
        request["GlobalSecondaryIndexes"] = gsis
    return request


def _capacity(throughput: dict[str, Any] | None) -> dict[str, int]:
    throughput = throughput or {}
    return {"ReadCapacityUnits": max(1, int(throughput.get("ReadCapacityUnits") or 0)),
            "WriteCapacityUnits": max(1, int(throughput.get("WriteCapacityUnits") or 0))}


def create_target(client: Any, source: TableInfo, target_table: str, renames: dict[str, str],
                  billing_mode: str | None) -> TableInfo:
    """Create the target table like the source, wait until it is ACTIVE, then enable its TTL like the source's."""
    client.create_table(**create_request(source, target_table, renames, billing_mode))
    wait_active(client, target_table)
    if source.ttl_attribute is not None:
        enable_ttl(client, target_table, renames.get(source.ttl_attribute, source.ttl_attribute))
    created = describe(client, target_table)
    if created is None:
        raise RuntimeFailure(f"created the target table {target_table} but cannot describe it")
    return created


def enable_ttl(client: Any, table: str, attribute: str) -> bool:
    """Enable TTL on ``attribute``; False (logged) when the server has no TTL (dynalite, some Alternator versions)."""
    import botocore.exceptions

    try:
        client.update_time_to_live(TableName=table,
                                   TimeToLiveSpecification={"Enabled": True, "AttributeName": attribute})
    except botocore.exceptions.ClientError as exc:
        if exc.response.get("Error", {}).get("Code") != "UnknownOperationException":
            raise
        log.warning("the target server cannot enable TTL on %s.%s: its items will not expire", table, attribute)
        return False
    return True


def wait_active(client: Any, table: str, *, timeout_s: float = ACTIVE_WAIT_S) -> None:
    """Poll until the table (and its indexes) are ACTIVE; raise after ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            desc = client.describe_table(TableName=table)["Table"]
        except client.exceptions.ResourceNotFoundException:
            desc = {}
        indexes = desc.get("GlobalSecondaryIndexes") or []
        if desc.get("TableStatus") == "ACTIVE" and all(i.get("IndexStatus", "ACTIVE") == "ACTIVE" for i in indexes):
            return
        if time.monotonic() > deadline:
            raise RuntimeFailure(f"the target table {table} did not become ACTIVE within {timeout_s:.0f} s")
        time.sleep(POLL_S)
