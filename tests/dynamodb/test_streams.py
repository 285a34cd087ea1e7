"""``streamChanges`` against moto's DynamoDB Streams and Kinesis: changes arrive, in order, across a kill.

moto serves DynamoDB, DynamoDB Streams and Kinesis on one port. It cannot send a table's changes to
Kinesis (EnableKinesisStreamingDestination is not implemented), so the Kinesis test writes the
records AWS would write (DynamoDB's JSON record format) into the Kinesis stream itself.
"""

from __future__ import annotations

import json
import os
import signal
import threading
import time
from pathlib import Path
from typing import Any

import boto3
import pytest

from migrator.backends.dynamodb.feeds import wire_item
from migrator.savepoints import list_savepoints
from tests.dynamodb.conftest import Pair, put_all, scan_all
from tests.support.faults import Run
from tests.support.helpers import load_yaml

pytestmark = pytest.mark.dynamodb

RENAMES = [{"from": "v", "to": "value"}]
VALIDATION = {"compareTimestamps": False, "ttlToleranceMillis": 0, "writetimeToleranceMillis": 0,
              "failuresToFetch": 5, "floatingPointTolerance": 0.001, "timestampMsTolerance": 0}
CATCH_UP_S = 120


def _item(key: str, n: int) -> dict[str, Any]:
    return {"p": {"S": key}, "v": {"N": str(n)}, "b": {"B": bytes([n % 256, 0, 255])},
            "m": {"M": {"l": {"L": [{"S": "x"}, {"N": str(n)}]}, "ss": {"SS": ["a", str(n)]}}}}


def _renamed(items: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    names = {r["from"]: r["to"] for r in RENAMES}
    return {key: {names.get(a, a): v for a, v in item.items()} for key, item in items.items()}


def _caught_up(pair: Pair, src: str, dst: str, run: Run, timeout: float = CATCH_UP_S) -> dict[str, Any]:
    """Wait until the target holds exactly the source's items, renamed; fail if the run ends first."""
    deadline = time.monotonic() + timeout
    expected: dict[str, Any] = {}
    while time.monotonic() < deadline:
        assert run.proc.poll() is None, f"the streaming run ended:\n{run.output}"
        expected = _renamed(scan_all(pair.source, src))
        with_target = _exists(pair.target, dst)
        if with_target and scan_all(pair.target, dst) == expected:
            return expected
        time.sleep(0.5)
    raise AssertionError(f"the target did not catch up in {timeout:.0f} s:\n{run.output}")


def _newest_migrate(folder: Path) -> Path:
    """The newest savepoint of the migrate run (validate writes its own into the same folder)."""
    found = [path for path in list_savepoints(folder) if load_yaml(path)["migratorState"]["kind"] == "migrate"]
    assert found, f"no migrate savepoint in {folder}"
    return found[-1]


def _exists(client: Any, table: str) -> bool:
    try:
        client.describe_table(TableName=table)
        return True
    except client.exceptions.ResourceNotFoundException:
        return False


def _stop(run: Run) -> dict[str, Any]:
    """SIGTERM: the run ends with exit 4 and a final savepoint; that savepoint's migratorState."""
    os.killpg(run.proc.pid, signal.SIGTERM)
    code = run.wait_for(60, "still running after SIGTERM")
    assert code == 4, run.output
    assert "streaming stopped by SIGTERM" in run.output
    return run.output


class Writer:
    """Changes made to the source while the migrator runs: one key rewritten many times, deletes, new items."""

    def __init__(self, pair: Pair, table: str) -> None:
        self.pair, self.table = pair, table
        self.stop = threading.Event()
        self.rounds = 0
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        client = self.pair.source
        while not self.stop.is_set():
            n = self.rounds
            client.put_item(TableName=self.table, Item=_item("hot", 1000 + n))  # the same key, in order
            client.update_item(TableName=self.table, Key={"p": {"S": f"k{n % 40}"}},
                               UpdateExpression="SET v = :v", ExpressionAttributeValues={":v": {"N": str(n)}})
            if n % 3 == 0:
                client.delete_item(TableName=self.table, Key={"p": {"S": f"k{40 + n}"}})
            client.put_item(TableName=self.table, Item=_item(f"new{n}", n))
            self.rounds += 1
            time.sleep(0.05)

    def start(self) -> None:
        self.stop.clear()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def finish(self) -> None:
        self.stop.set()
        self.thread.join(30)

    def run_for(self, seconds: float) -> None:
        self.start()
        time.sleep(seconds)
        self.finish()


def _wait_for_line(run: Run, text: str, timeout: float = CATCH_UP_S) -> None:
    deadline = time.monotonic() + timeout
    while text not in run.output:
        assert run.proc.poll() is None and time.monotonic() < deadline, f"no {text!r}:\n{run.output}"
        time.sleep(0.2)


def test_changes_during_and_after_the_snapshot_arrive_in_order_across_a_kill(moto: Pair, tmp_path: Path) -> None:
    """Snapshot plus stream; a SIGKILL mid-stream and a resume lose and reorder nothing; validate runs alongside."""
    src = moto.create("source", moto.table_name("stream"), [("p", "HASH", "S")])
    put_all(moto.source, src, [_item(f"k{i}", i) for i in range(200)])
    dst = moto.table_name("stream_copy")
    config = moto.config(tmp_path, src, dst, target={"streamChanges": True}, renames=RENAMES, validation=VALIDATION)
    savepoints = tmp_path / "savepoints"

    run = Run.start(["migrate", "--config", str(config)], None)
    writer = Writer(moto, src)
    writer.start()  # from before the stream is enabled, through the snapshot, into streaming
    _wait_for_line(run, "stop with SIGINT or SIGTERM")
    time.sleep(3)
    writer.finish()
    expected = _caught_up(moto, src, dst, run)
    assert expected[repr([{"S": "hot"}])]["value"] == {"N": str(1000 + writer.rounds - 1)}
    assert "enabled a DynamoDB Stream (NEW_IMAGE)" in run.output

    validated = Run.start(["validate", "--config", str(config)], None)  # while the stream is applied
    assert validated.wait_for(300, "validate still running") == 0, validated.output

    run.kill()  # SIGKILL: the newest savepoint holds the positions of acknowledged changes only
    killed_at = _newest_migrate(savepoints)
    state = load_yaml(killed_at)["migratorState"]["stream"]
    assert state["type"] == "dynamodb-streams" and state["changesApplied"] > 0
    assert all(shard["after"] for shard in state["shards"].values())

    writer.run_for(4)  # changes while nothing streams
    resumed = Run.start(["migrate", "--config", str(config)], None)  # the same config: resumes the newest
    expected = _caught_up(moto, src, dst, resumed)
    assert f"resuming from {killed_at}" in resumed.output
    assert expected[repr([{"S": "hot"}])]["value"] == {"N": str(1000 + writer.rounds - 1)}
    _stop(resumed)
    final = load_yaml(_newest_migrate(savepoints))
    assert final["migratorState"]["stream"]["changesApplied"] > state["changesApplied"]
    assert final["source"]["credentials"]["secretKey"] == "${MIGRATOR_TEST_DDB_SECRET_KEY}"


def test_stream_only_mode_then_a_lost_stream_is_refused(moto: Pair, tmp_path: Path) -> None:
    """skipInitialSnapshotTransfer copies only later changes; a savepoint whose stream is gone is refused (exit 3)."""
    src = moto.create("source", moto.table_name("streamonly"), [("p", "HASH", "S")])
    put_all(moto.source, src, [_item(f"old{i}", i) for i in range(20)])  # before the stream: never copied
    dst = moto.table_name("streamonly_copy")
    config = moto.config(tmp_path, src, dst, target={"streamChanges": True, "skipInitialSnapshotTransfer": True},
                         renames=RENAMES)
    run = Run.start(["migrate", "--config", str(config)], None)
    _wait_for_line(run, "stop with SIGINT or SIGTERM")
    for i in range(10):
        moto.source.put_item(TableName=src, Item=_item(f"later{i}", i))
    moto.source.delete_item(TableName=src, Key={"p": {"S": "later3"}})
    deadline = time.monotonic() + CATCH_UP_S
    want = _renamed({k: v for k, v in scan_all(moto.source, src).items() if "later" in k})
    while time.monotonic() < deadline and (not _exists(moto.target, dst) or scan_all(moto.target, dst) != want):
        assert run.proc.poll() is None, run.output
        time.sleep(0.5)
    assert scan_all(moto.target, dst) == want and len(want) == 9
    _stop(run)

    # the table is re-created: its stream is a new one, and the savepoint's positions mean nothing there
    moto.source.delete_table(TableName=src)
    moto.made.remove((moto.source, src))
    moto.create("source", src, [("p", "HASH", "S")])
    again = Run.start(["migrate", "--config", str(_newest_migrate(tmp_path / "savepoints"))], None)
    code, error = again.stops_within(120, "a lost stream position")
    assert code == 3, again.output
    assert "no longer holds where this run must continue" in error and "--fresh" in again.output


def _kinesis_record(table: str, name: str, keys: dict[str, Any], image: dict[str, Any] | None,
                    at_ms: int) -> bytes:
    data: dict[str, Any] = {"ApproximateCreationDateTime": at_ms, "Keys": keys, "SizeBytes": 10}
    if image is not None:
        data["NewImage"] = wire_item(image)  # binaries as base64 text, as in DynamoDB's JSON
    return json.dumps({"awsRegion": "us-east-1", "eventID": f"{at_ms}", "eventName": name, "userIdentity": None,
                       "recordFormat": "application/json", "tableName": table, "dynamodb": data,
                       "eventSource": "aws:dynamodb"}).encode()


def test_kinesis_form_applies_the_tables_records_newest_first_and_skips_others(moto: Pair, tmp_path: Path) -> None:
    """``streamChanges: {type: kinesis}``: the records of the source table, in per-key time order; others skipped."""
    src = moto.create("source", moto.table_name("kin"), [("p", "HASH", "S")])
    put_all(moto.source, src, [_item(f"k{i}", i) for i in range(30)])
    kinesis = boto3.client("kinesis", endpoint_url=moto.source_url, region_name="us-east-1",
                           aws_access_key_id="test-access", aws_secret_access_key="test-secret")
    stream = f"{src}-changes"
    kinesis.create_stream(StreamName=stream, ShardCount=2)
    arn = kinesis.describe_stream_summary(StreamName=stream)["StreamDescriptionSummary"]["StreamARN"]
    dst = moto.table_name("kin_copy")
    config = moto.config(tmp_path, src, dst, renames=RENAMES,
                         target={"streamChanges": {"type": "kinesis", "streamArn": arn, "appName": "kin-test"}})
    run = Run.start(["migrate", "--config", str(config)], None)
    try:
        now = int(time.time() * 1000)

        def send(name: str, key: str, image: dict[str, Any] | None, at_ms: int, table: str = src) -> None:
            kinesis.put_record(StreamARN=arn, PartitionKey=key,
                               Data=_kinesis_record(table, name, {"p": {"S": key}}, image, at_ms))

        send("MODIFY", "k1", _item("k1", 501), now + 1)
        send("MODIFY", "k1", _item("k1", 503), now + 3)
        send("MODIFY", "k1", _item("k1", 502), now + 2)  # delivered late: older than what came before
        send("REMOVE", "k2", None, now + 4)
        send("INSERT", "k99", _item("k99", 99), now + 5)
        send("INSERT", "elsewhere", _item("elsewhere", 1), now + 6, table="another_table")
        kinesis.put_record(StreamARN=arn, PartitionKey="x", Data=b"not a change record")
        want = _renamed(scan_all(moto.source, src))
        want[repr([{"S": "k1"}])] = _renamed({"k": _item("k1", 503)})["k"]
        del want[repr([{"S": "k2"}])]
        want[repr([{"S": "k99"}])] = _renamed({"k": _item("k99", 99)})["k"]
        deadline = time.monotonic() + CATCH_UP_S
        while time.monotonic() < deadline and (not _exists(moto.target, dst) or scan_all(moto.target, dst) != want):
            assert run.proc.poll() is None, run.output
            time.sleep(0.5)
        assert scan_all(moto.target, dst) == want
        output = _stop(run)
    finally:
        if run.proc.poll() is None:
            run.kill()
        kinesis.delete_stream(StreamName=stream)
    assert f"streaming the Kinesis stream {arn}" in output
    state = load_yaml(_newest_migrate(tmp_path / "savepoints"))["migratorState"]["stream"]
    assert state["type"] == "kinesis" and state["counts"]["changesOfOtherTables"] == 1
    assert len(state["shards"]) == 2
