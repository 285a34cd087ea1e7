"""Fixtures for the DynamoDB suite: a source/target server pair per implementation, unique tables."""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml

from migrator.config.tables import is_pattern
from tests.support.dynamodb import dynamodb_urls

SERVERS = ("dynalite", "moto")
# configs name the keys by variable, as users should: savepoints keep ${VAR} references, never secrets
KEYS = {"MIGRATOR_TEST_DDB_ACCESS_KEY": "test-access", "MIGRATOR_TEST_DDB_SECRET_KEY": "test-secret"}
for _name, _value in KEYS.items():
    os.environ.setdefault(_name, _value)
CREDENTIALS = {"accessKey": "${MIGRATOR_TEST_DDB_ACCESS_KEY}", "secretKey": "${MIGRATOR_TEST_DDB_SECRET_KEY}"}


@dataclass
class Pair:
    """A source and a target server of one implementation, and the tables a test made on them."""

    name: str
    source_url: str
    target_url: str
    source: Any  # boto3 clients
    target: Any
    made: list[tuple[Any, str]] = field(default_factory=list)

    def table_name(self, stem: str) -> str:
        return f"{stem}_{uuid.uuid4().hex[:8]}"

    def create(self, side: str, name: str, key: list[tuple[str, str, str]], **extra: Any) -> str:
        """Create a table from (attribute, HASH | RANGE, S | N | B) and wait until it is ACTIVE."""
        from migrator.backends.dynamodb.table import wait_active

        client = self.source if side == "source" else self.target
        defined = {a: t for a, _, t in key}
        for index in extra.get("LocalSecondaryIndexes", []) + extra.get("GlobalSecondaryIndexes", []):
            for element in index["KeySchema"]:
                defined.setdefault(element["AttributeName"], extra.pop(f"type_{element['AttributeName']}", "S"))
        client.create_table(
            TableName=name, KeySchema=[{"AttributeName": a, "KeyType": k} for a, k, _ in key],
            AttributeDefinitions=[{"AttributeName": a, "AttributeType": t} for a, t in defined.items()],
            **{"BillingMode": "PAY_PER_REQUEST", **extra},
        )
        wait_active(client, name)
        self.made.append((client, name))
        return name

    def forget_target(self, name: str) -> None:
        """Delete the target table ``name`` when the test ends (the migrator created it)."""
        self.made.append((self.target, name))

    def config(self, tmp_path: Path, source_table: str, target_table: str, *, source: dict[str, Any] | None = None,
               target: dict[str, Any] | None = None, **top: Any) -> Path:
        """A migrator config between the two servers, written under ``tmp_path``."""
        def endpoint(url: str) -> dict[str, Any]:
            host, port = url.rsplit(":", 1)
            return {"host": host, "port": int(port)}

        tree = {
            "source": {"type": "dynamodb", "table": source_table, "endpoint": endpoint(self.source_url),
                       "region": "us-east-1", "credentials": CREDENTIALS, **(source or {})},
            "target": {"type": "dynamodb", "table": target_table, "endpoint": endpoint(self.target_url),
                       "region": "us-east-1", "credentials": CREDENTIALS, "streamChanges": False, **(target or {})},
            "savepoints": {"path": str(tmp_path / "savepoints"), "intervalSeconds": 1},
            **top,
        }
        path = tmp_path / "config.yaml"
        path.write_text(yaml.safe_dump(tree, sort_keys=False))
        if not is_pattern(target_table):  # a many-table run's tables are registered by the test
            self.made.append((self.target, target_table))
        return path


def client_for(url: str) -> Any:
    import boto3

    return boto3.client("dynamodb", endpoint_url=url, region_name="us-east-1",
                        aws_access_key_id=os.environ["MIGRATOR_TEST_DDB_ACCESS_KEY"],
                        aws_secret_access_key=os.environ["MIGRATOR_TEST_DDB_SECRET_KEY"])


def _pair(name: str) -> Iterator[Pair]:
    urls = dynamodb_urls()
    if f"{name}-source" not in urls or f"{name}-target" not in urls:
        pytest.fail(f"the {name} servers are not up: run `scripts/services up` (it writes .services.env)")
    pair = Pair(name, urls[f"{name}-source"], urls[f"{name}-target"],
                client_for(urls[f"{name}-source"]), client_for(urls[f"{name}-target"]))
    yield pair
    for client, table in pair.made:
        with contextlib.suppress(client.exceptions.ResourceNotFoundException):
            client.delete_table(TableName=table)


@pytest.fixture(params=SERVERS)
def servers(request: pytest.FixtureRequest) -> Iterator[Pair]:
    """Each implementation in turn."""
    yield from _pair(request.param)


@pytest.fixture()
def moto() -> Iterator[Pair]:
    """moto only: for what dynalite does not implement (TTL)."""
    yield from _pair("moto")


@pytest.fixture()
def dynalite() -> Iterator[Pair]:
    """dynalite only: its data outlive a server restart and it validates requests strictly."""
    yield from _pair("dynalite")


def scan_all(client: Any, table: str) -> dict[str, dict[str, Any]]:
    """Every item of a table, keyed by its canonical key text (the wire form, untouched)."""
    from migrator.backends.dynamodb.table import describe

    info = describe(client, table)
    assert info is not None, f"{table} does not exist"
    items: dict[str, dict[str, Any]] = {}
    request: dict[str, Any] = {"TableName": table}
    while True:
        page = client.scan(**request)
        for item in page["Items"]:
            items[repr([item[k] for k in info.key_names])] = item
        if not page.get("LastEvaluatedKey"):
            return items
        request["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def put_all(client: Any, table: str, items: list[dict[str, Any]]) -> None:
    """Write items 25 at a time, re-sending what the server leaves unprocessed."""
    for start in range(0, len(items), 25):
        requests = [{"PutRequest": {"Item": i}} for i in items[start:start + 25]]
        while requests:
            left = client.batch_write_item(RequestItems={table: requests}).get("UnprocessedItems", {})
            requests = left.get(table, [])
