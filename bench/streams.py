"""``python -m bench.streams``: how fast a backlog of changes is applied, against copying as many items.

Against moto (``scripts/services up``: moto-source and moto-target), one Spark application per
contender, each started with ``--master``:

* **snapshot**: ``--changes`` items copied by a plain ``migrator migrate`` (parallel scan, batch
  writes): the items per second of its summary line. This is the yardstick: the same target, the
  same items, the same write path.
* **dynamodb-streams**: the same number of changes (puts of new values, every tenth a delete of
  the key put just before; over ``--keys`` keys, so that with fewer keys than changes a round folds
  a key's changes into its last one) made to a table whose DynamoDB Stream is on, then applied by
  ``streamChanges: true`` with ``skipInitialSnapshotTransfer`` from the start of the stream: changes
  per second from the moment streaming starts until the target equals the source. moto keeps one shard per stream.
* **kinesis**: the same changes as DynamoDB change records in a Kinesis stream of ``--shards``
  shards, applied by the Kinesis form.

Ends with ``RESULT streams_ratio=<dynamodb-streams ÷ snapshot> kinesis_ratio=<kinesis ÷ snapshot> ...``.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import yaml

from bench.dynamodb import count
from scripts.localenv import require_services

ROOT = Path(__file__).resolve().parents[1]


def client(url: str, service: str = "dynamodb") -> Any:
    import boto3

    return boto3.client(service, endpoint_url=url, region_name="us-east-1", aws_access_key_id="bench",
                        aws_secret_access_key="bench")


def item(key: int, n: int) -> dict[str, Any]:
    return {"p": {"S": f"k{key:05d}"}, "n": {"N": str(n)}, "payload": {"S": "x" * 100}}


def changes(count: int, keys: int) -> list[tuple[str, dict[str, Any]]]:
    """``count`` changes over ``keys`` keys: puts of new values, every tenth a delete of a key put before."""
    out: list[tuple[str, dict[str, Any]]] = []
    for n in range(count):
        key = n % keys if n % 10 != 9 else (n - 1) % keys
        out.append(("delete", {"p": item(key, n)["p"]}) if n % 10 == 9 else ("put", item(key, n)))
    return out


def config(env: dict[str, str], folder: Path, name: str, source: str, target: str, **target_keys: Any) -> Path:
    def endpoint(url: str) -> dict[str, Any]:
        host, port = url.rsplit(":", 1)
        return {"host": host, "port": int(port)}

    creds = {"accessKey": "bench", "secretKey": "bench"}
    tree = {
        "source": {"type": "dynamodb", "table": source, "endpoint": endpoint(env["MIGRATOR_MOTO_SOURCE_URL"]),
                   "region": "us-east-1", "credentials": creds},
        "target": {"type": "dynamodb", "table": target, "endpoint": endpoint(env["MIGRATOR_MOTO_TARGET_URL"]),
                   "region": "us-east-1", "credentials": creds, "streamChanges": False, **target_keys},
        "savepoints": {"path": str(folder / f"sp-{name}"), "intervalSeconds": 30, "autoResume": False},
    }
    path = folder / f"{name}.yaml"
    path.write_text(yaml.safe_dump(tree, sort_keys=False))
    return path


def create(ddb: Any, table: str, stream: bool = False) -> None:
    extra = {"StreamSpecification": {"StreamEnabled": True, "StreamViewType": "NEW_IMAGE"}} if stream else {}
    ddb.create_table(TableName=table, KeySchema=[{"AttributeName": "p", "KeyType": "HASH"}],
                     AttributeDefinitions=[{"AttributeName": "p", "AttributeType": "S"}],
                     BillingMode="PAY_PER_REQUEST", **extra)


def write(ddb: Any, table: str, made: list[tuple[str, dict[str, Any]]]) -> None:
    """The changes in order, one request each (a batch may not hold one key twice)."""
    for kind, data in made:
        if kind == "put":
            ddb.put_item(TableName=table, Item=data)
        else:
            ddb.delete_item(TableName=table, Key=data)


def snapshot(env: dict[str, str], folder: Path, n: int, master: str) -> float:
    """Items per second of a plain copy of ``n`` items."""
    ddb = client(env["MIGRATOR_MOTO_SOURCE_URL"])
    table = f"bench_snap_{uuid.uuid4().hex[:6]}"
    create(ddb, table)
    rows = [{"PutRequest": {"Item": item(i, i)}} for i in range(n)]
    for start in range(0, n, 25):
        ddb.batch_write_item(RequestItems={table: rows[start:start + 25]})
    done = subprocess.run([sys.executable, "-m", "migrator", "migrate", "--master", master, "--config",
                           str(config(env, folder, "snapshot", table, table + "_copy"))],
                          cwd=ROOT, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"snapshot copy failed ({done.returncode}):\n{done.stderr[-3000:]}")
    line = next(line for line in done.stderr.splitlines() if line.startswith("migration finished"))
    return float(line.split("(")[1].split(" rows/s")[0].replace(",", ""))


def stream_run(env: dict[str, str], path: Path, master: str, target: str, want: int) -> float:
    """Changes per second from streaming's start until the target holds ``want`` items; then SIGTERM."""
    proc = subprocess.Popen([sys.executable, "-m", "migrator", "migrate", "--master", master, "--config", str(path)],
                            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            start_new_session=True)
    started = threading.Event()
    lines: list[str] = []

    def read() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            lines.append(line)
            if "stop with SIGINT or SIGTERM" in line:
                started.set()

    threading.Thread(target=read, daemon=True).start()
    if not started.wait(300):
        proc.kill()
        raise SystemExit("streaming did not start:\n" + "".join(lines[-40:]))
    import botocore.exceptions

    began = time.monotonic()
    while True:
        if proc.poll() is not None:
            raise SystemExit("streaming ended early:\n" + "".join(lines[-40:]))
        try:
            if count(env["MIGRATOR_MOTO_TARGET_URL"], target) == want:
                break
        except botocore.exceptions.ClientError:  # the target table is not created yet
            pass
        time.sleep(0.2)
    seconds = time.monotonic() - began
    os.killpg(proc.pid, signal.SIGTERM)
    proc.wait(120)
    return seconds


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.streams", description=__doc__.splitlines()[0])
    parser.add_argument("--changes", type=int, default=20_000)
    parser.add_argument("--keys", type=int, default=0,
                        help="distinct keys the changes touch (0: as many as changes, so none folds into another)")
    parser.add_argument("--shards", type=int, default=4, help="Kinesis shards")
    parser.add_argument("--master", default="local[*]")
    args = parser.parse_args(argv)
    env = require_services("bench.streams")
    folder = Path(tempfile.mkdtemp(prefix="bench-streams-"))
    made = changes(args.changes, args.keys or args.changes)
    want = len(_final(made))

    copy_rate = snapshot(env, folder, args.changes, args.master)
    print(f"snapshot: {args.changes:,} items copied at {copy_rate:,.0f} items/s", flush=True)

    ddb = client(env["MIGRATOR_MOTO_SOURCE_URL"])
    table = f"bench_stream_{uuid.uuid4().hex[:6]}"
    create(ddb, table, stream=True)
    write(ddb, table, made)
    seconds = stream_run(env, config(env, folder, "streams", table, table + "_copy", streamChanges=True,
                                     skipInitialSnapshotTransfer=True), args.master, table + "_copy", want)
    streams_rate = args.changes / seconds
    print(f"dynamodb-streams: {args.changes:,} changes applied in {seconds:.1f} s, {streams_rate:,.0f} changes/s",
          flush=True)

    kinesis = client(env["MIGRATOR_MOTO_SOURCE_URL"], "kinesis")
    name = f"bench-{uuid.uuid4().hex[:6]}"
    kinesis.create_stream(StreamName=name, ShardCount=args.shards)
    arn = kinesis.describe_stream_summary(StreamName=name)["StreamDescriptionSummary"]["StreamARN"]
    now = int(time.time() * 1000)
    records = [{"PartitionKey": data["p"]["S"], "Data": _record(table, kind, data, now + n)}
               for n, (kind, data) in enumerate(made)]
    for start in range(0, len(records), 500):
        kinesis.put_records(StreamARN=arn, Records=records[start:start + 500])
    target = table + "_kinesis"
    seconds = stream_run(env, config(env, folder, "kinesis", table, target, skipInitialSnapshotTransfer=True,
                                     streamChanges={"type": "kinesis", "streamArn": arn}), args.master, target, want)
    kinesis_rate = args.changes / seconds
    print(f"kinesis ({args.shards} shards): {args.changes:,} changes applied in {seconds:.1f} s, "
          f"{kinesis_rate:,.0f} changes/s", flush=True)
    kinesis.delete_stream(StreamName=name)
    print(f"RESULT streams_ratio={streams_rate / copy_rate:.2f} kinesis_ratio={kinesis_rate / copy_rate:.2f} "
          f"snapshot_items_per_s={copy_rate:.0f} streams_changes_per_s={streams_rate:.0f} "
          f"kinesis_changes_per_s={kinesis_rate:.0f}")
    return 0


def _final(made: list[tuple[str, dict[str, Any]]]) -> set[str]:
    """The keys that exist after every change."""
    last: dict[str, str] = {}
    for kind, data in made:
        last[data["p"]["S"]] = kind
    return {key for key, kind in last.items() if kind == "put"}


def _record(table: str, kind: str, data: dict[str, Any], at_ms: int) -> bytes:
    body: dict[str, Any] = {"ApproximateCreationDateTime": at_ms, "Keys": {"p": data["p"]}}
    if kind == "put":
        body["NewImage"] = data
    return json.dumps({"eventName": "REMOVE" if kind == "delete" else "MODIFY", "tableName": table,
                       "dynamodb": body, "eventSource": "aws:dynamodb", "recordFormat": "application/json"}).encode()


if __name__ == "__main__":
    raise SystemExit(main())
