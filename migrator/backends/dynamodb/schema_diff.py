"""Schema entries of two DynamoDB/Alternator tables, and the requests that bring production in line.

Entries, from DescribeTable and DescribeTimeToLive (dev's attribute names after renames): ``key
schema`` (names, HASH/RANGE, S/N/B), ``local index <name>`` and ``global index <name>`` (keys and
projection), ``ttl`` (the attribute, or ``disabled``) and ``billing`` (the mode). The migration is
JSON lines, one request each (``{"operation": "UpdateTable" | "UpdateTimeToLive", "request": ...}``),
to send with any SDK: GSIs to create and the TTL setting and billing mode first; GSIs to delete or
redefine, and TTL to disable, last and commented out (``# ``) unless destructive changes are
allowed. A key schema or an LSI cannot change after creation: always a comment.
"""

from __future__ import annotations

import json
from typing import Any

from migrator.backends.dynamodb import table as dtable
from migrator.backends.dynamodb.client import client, spec_from_settings
from migrator.config import MigratorConfig
from migrator.errors import RuntimeFailure
from migrator.reconcile.schema import ONLY_DEV, ONLY_PROD, Description, Drift, Migration

SECTIONS = ("key schema", "local index", "global index", "ttl", "billing")


class DynamoSchema:
    """``SchemaSupport`` for a DynamoDB dev table and production table."""

    extension = "jsonl"
    order = SECTIONS

    def __init__(self, config: MigratorConfig) -> None:
        self.config = config
        self.table = str(getattr(config.target, "table", ""))
        self._dev: dict[str, Any] = {}
        self._prod: dict[str, Any] = {}

    def describe(self) -> tuple[Description, Description]:
        """(dev, production) entries."""
        out = []
        for role, block, renames in (("source", self.config.source, self.config.rename_map),
                                     ("target", self.config.target, {})):
            name = str(getattr(block, "table", ""))
            info = dtable.describe(client(spec_from_settings(role, block)), name)
            if info is None:
                raise RuntimeFailure(f"table {name} does not exist at the {role}", hint=f"fix {role}.table")
            if role == "source":
                self._dev = info.description
            else:
                self._prod = info.description
            out.append(_entries(info, renames))
        return out[0], out[1]

    def statements(self, drifts: list[Drift], *, destructive: bool) -> list[str]:
        """JSON lines of requests; lossy ones commented out unless ``destructive``."""
        out = Migration(destructive=destructive, comment="#")

        def line(operation: str, request: dict[str, Any]) -> str:
            return json.dumps({"operation": operation, "request": request}, ensure_ascii=False)

        for d in drifts:
            if d.section in ("key schema", "local index"):
                out.safe(f"# {d.text()}: fixed when the table is created; create a new table and copy")
            elif d.section == "global index":
                delete = line("UpdateTable", {"TableName": self.table,
                                              "GlobalSecondaryIndexUpdates": [{"Delete": {"IndexName": d.name}}]})
                if d.kind == ONLY_DEV:
                    out.safe(line("UpdateTable", self._create_gsi(d.name)))
                elif d.kind == ONLY_PROD:
                    out.lossy(delete)
                else:  # redefine: the delete must finish before the create is sent
                    out.lossy(delete, line("UpdateTable", self._create_gsi(d.name)))
            elif d.section == "ttl":
                enabled = d.dev not in (None, "disabled")
                attribute = d.dev if enabled else d.production
                request = line("UpdateTimeToLive", {"TableName": self.table, "TimeToLiveSpecification": {
                    "Enabled": enabled, "AttributeName": attribute}})
                if enabled:
                    out.safe(request)
                else:
                    out.lossy(request)
            elif d.section == "billing" and d.dev is not None:
                out.safe(line("UpdateTable", {"TableName": self.table, "BillingMode": d.dev}))
        return out.lines()

    def _create_gsi(self, name: str) -> dict[str, Any]:
        """UpdateTable creating dev's GSI ``name`` on production (attribute names after renames)."""
        renames = self.config.rename_map
        index = next(i for i in self._dev.get("GlobalSecondaryIndexes") or [] if i["IndexName"] == name)
        keys = [{"AttributeName": renames.get(e["AttributeName"], e["AttributeName"]), "KeyType": e["KeyType"]}
                for e in index["KeySchema"]]
        used = {e["AttributeName"] for e in index["KeySchema"]}
        # the new index's keys, and production's own key attributes (kept alongside, as DynamoDB describes them)
        definitions = {renames.get(a["AttributeName"], a["AttributeName"]): a["AttributeType"]
                       for a in self._dev.get("AttributeDefinitions") or [] if a["AttributeName"] in used}
        table_keys = {e["AttributeName"] for e in self._prod.get("KeySchema") or []}
        for a in self._prod.get("AttributeDefinitions") or []:
            if a["AttributeName"] in table_keys:
                definitions.setdefault(a["AttributeName"], a["AttributeType"])
        projection = dict(index["Projection"])
        if projection.get("NonKeyAttributes"):  # projected attributes go by production's names too
            projection["NonKeyAttributes"] = [renames.get(a, a) for a in projection["NonKeyAttributes"]]
        create: dict[str, Any] = {"IndexName": name, "KeySchema": keys, "Projection": projection}
        throughput = index.get("ProvisionedThroughput") or {}
        if throughput.get("ReadCapacityUnits"):
            create["ProvisionedThroughput"] = {"ReadCapacityUnits": throughput["ReadCapacityUnits"],
                                               "WriteCapacityUnits": throughput["WriteCapacityUnits"]}
        return {"TableName": self.table,
                "AttributeDefinitions": [{"AttributeName": n, "AttributeType": t} for n, t in definitions.items()],
                "GlobalSecondaryIndexUpdates": [{"Create": create}]}


def _entries(info: dtable.TableInfo, renames: dict[str, str]) -> Description:
    desc = info.description
    types = {a["AttributeName"]: a["AttributeType"] for a in desc.get("AttributeDefinitions") or []}

    def keys(elements: list[dict[str, Any]]) -> str:
        return ", ".join(f"{renames.get(e['AttributeName'], e['AttributeName'])} {e['KeyType']} "
                         f"{types.get(e['AttributeName'], '?')}" for e in elements)

    def projection(index: dict[str, Any]) -> str:
        p = index.get("Projection") or {}
        extra = sorted(renames.get(a, a) for a in p.get("NonKeyAttributes") or [])
        return p.get("ProjectionType", "ALL") + (f" {', '.join(extra)}" if extra else "")

    out: Description = {("key schema", ""): keys(desc["KeySchema"]),
                        ("ttl", ""): renames.get(info.ttl_attribute, info.ttl_attribute) if info.ttl_attribute
                        else "disabled",
                        ("billing", ""): info.billing_mode}
    for section, field in (("local index", "LocalSecondaryIndexes"), ("global index", "GlobalSecondaryIndexes")):
        for index in desc.get(field) or []:
            out[(section, index["IndexName"])] = f"{keys(index['KeySchema'])}; projection {projection(index)}"
    return out
