"""Sample data for the demo's DynamoDB leg: ``load`` fills demo_events on the local dynalite source.

The target table is deleted so that the migration creates it from the source's description (key
schema, a GSI, billing). Addresses come from .services.env (written by scripts/services up).
"""

from __future__ import annotations

import argparse
import contextlib
import random
import sys
import time
from typing import Any

from localenv import dynamodb_urls  # scripts/localenv.py: run as a script, scripts/ is on sys.path

TABLE = "demo_events"
SERVER = "dynalite"


def client(url: str) -> Any:
    import boto3

    return boto3.client("dynamodb", endpoint_url=url, region_name="us-east-1",
                        aws_access_key_id="demo", aws_secret_access_key="demo")


def item(i: int, rnd: random.Random) -> dict[str, Any]:
    out: dict[str, Any] = {
        "device": {"S": f"device-{i % 97:03d}"},
        "at": {"N": str(1_700_000_000 + i)},
        "kind": {"S": rnd.choice(["click", "view", "buy"])},
        "value": {"N": f"{rnd.random() * 100:.6f}"},
        "payload": {"B": rnd.randbytes(16)},
        "attrs": {"M": {"fw": {"S": f"1.{rnd.randint(0, 9)}"}, "ok": {"BOOL": i % 5 != 0},
                        "readings": {"L": [{"N": str(rnd.randint(0, 999))} for _ in range(3)]}}},
    }
    if i % 3:
        out["tags"] = {"SS": sorted({rnd.choice(["red", "green", "blue", "hot", "cold"]) for _ in range(2)})}
    if i % 7 == 0:
        out["note"] = {"NULL": True}
    return out


def load(items: int) -> None:
    from migrator.backends.dynamodb.table import wait_active

    urls = dynamodb_urls()
    if f"{SERVER}-source" not in urls:
        sys.exit("demo: the dynalite servers are not up (scripts/services up needs Node.js 20+ for them)")
    source, target = client(urls[f"{SERVER}-source"]), client(urls[f"{SERVER}-target"])
    for c in (source, target):
        with contextlib.suppress(c.exceptions.ResourceNotFoundException):
            c.delete_table(TableName=TABLE)
    source.create_table(
        TableName=TABLE, BillingMode="PAY_PER_REQUEST",
        KeySchema=[{"AttributeName": "device", "KeyType": "HASH"}, {"AttributeName": "at", "KeyType": "RANGE"}],
        AttributeDefinitions=[{"AttributeName": "device", "AttributeType": "S"},
                              {"AttributeName": "at", "AttributeType": "N"},
                              {"AttributeName": "kind", "AttributeType": "S"}],
        GlobalSecondaryIndexes=[{"IndexName": "by_kind", "Projection": {"ProjectionType": "KEYS_ONLY"},
                                 "KeySchema": [{"AttributeName": "kind", "KeyType": "HASH"},
                                               {"AttributeName": "at", "KeyType": "RANGE"}]}],
    )
    wait_active(source, TABLE)
    rnd = random.Random(7)
    rows = [item(i, rnd) for i in range(items)]
    started = time.monotonic()
    for start in range(0, len(rows), 25):
        requests = [{"PutRequest": {"Item": i}} for i in rows[start : start + 25]]
        while requests:
            requests = source.batch_write_item(RequestItems={TABLE: requests}).get(
                "UnprocessedItems", {}).get(TABLE, [])
    print(f"demo: loaded {items:,} items into {TABLE} on the {SERVER} source in {time.monotonic() - started:.1f} s")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("command", choices=["load"])
    parser.add_argument("--items", type=int, default=5000)
    args = parser.parse_args()
    load(args.items)
    return 0


if __name__ == "__main__":
    sys.exit(main())
