"""DynamoDB S3 exports in moto's S3: loaded into a table and written from one, exactly, validated, resumed.

moto serves S3 on the same port as DynamoDB (and TTL, which dynalite lacks); the export is written by
the test in the layout and format AWS writes (``AWSDynamoDB/<id>/manifest-summary.json``,
``manifest-files.json``, gzip JSON lines of DynamoDB JSON), with every attribute type. Runs killed
with SIGKILL are paced to about two seconds per data file (one batch or one scan page each, which
moto counts as one capacity unit) and resumed in-process by running the same config again, as the
command line does (``resume_point``).
"""

from __future__ import annotations

import base64
import collections
import gzip
import json
import logging
import os
import signal
import time
import uuid
from decimal import Decimal
from pathlib import Path
from typing import Any

import boto3
import pytest

from migrator.config import load_config
from migrator.migrate import migrate
from migrator.resume import resume_point
from migrator.savepoints import newest_savepoint
from migrator.validate import validate
from tests.dynamodb.conftest import Pair, put_all, scan_all
from tests.support.helpers import cli, load_yaml, popen_cli, run_migrate, wait_for_partial_savepoint

pytestmark = pytest.mark.dynamodb

DESCRIPTION = {"attributeDefinitions": [{"name": "p", "type": "S"}, {"name": "s", "type": "N"}],
               "keySchema": [{"name": "p", "type": "HASH"}, {"name": "s", "type": "RANGE"}]}
VALIDATION = {"compareTimestamps": False, "ttlToleranceMillis": 0, "writetimeToleranceMillis": 0,
              "failuresToFetch": 5, "floatingPointTolerance": 0, "timestampMsTolerance": 0}
LOCAL_2 = ("--master", "local[2]")  # two files or segments at a time, whatever the machine's cores


def _item(i: int) -> dict[str, Any]:
    """Every attribute type, in DynamoDB's JSON (binaries as base64 text), numbers at full precision."""
    raw = bytes([i % 256, 0, 255, 10])
    return {
        "p": {"S": f"key-{i % 7}"}, "s": {"N": str(i)},
        "n": {"N": "12345678901234567890123456789012345678" if i % 2 else "-0.000000000000000000000000000000000001"},
        "b": {"B": base64.b64encode(raw).decode()}, "t": {"BOOL": i % 3 == 0}, "z": {"NULL": True},
        "m": {"M": {"deep": {"L": [{"S": "é ☃"}, {"N": "1E+10"}, {"M": {}}]}}},
        "ss": {"SS": ["a", f"v{i}"]}, "ns": {"NS": ["1", "2.5", str(i + 10)]},
        "bs": {"BS": [base64.b64encode(b"x").decode(), base64.b64encode(raw).decode()]},
        "l": {"L": []}, "empty": {"S": ""},
    }


def _s3(pair: Pair) -> Any:
    """moto's S3 (on the source server's port)."""
    return boto3.client("s3", endpoint_url=pair.source_url, region_name="us-east-1",
                        aws_access_key_id="test-access", aws_secret_access_key="test-secret")


def _where(pair: Pair) -> dict[str, Any]:
    """The keys of a config block reaching moto's S3."""
    host, port = pair.source_url.rsplit(":", 1)
    return {"endpoint": {"host": host, "port": int(port)}, "region": "us-east-1", "usePathStyleAccess": True,
            "credentials": {"accessKey": "${MIGRATOR_TEST_DDB_ACCESS_KEY}",
                            "secretKey": "${MIGRATOR_TEST_DDB_SECRET_KEY}"}}


def _key_of(i: int) -> dict[str, Any]:
    """The key of ``_item(i)``."""
    return {"p": {"S": f"key-{i % 7}"}, "s": {"N": str(i)}}


def _damage(client: Any, table: str, *, extra: dict[str, Any]) -> None:
    """One item changed (item 1), one deleted (item 2), one added (``extra``)."""
    client.update_item(TableName=table, Key=_key_of(1), UpdateExpression="SET t = :v",
                       ExpressionAttributeValues={":v": {"BOOL": True}})
    client.delete_item(TableName=table, Key=_key_of(2))
    put_all(client, table, [extra])


class Export:
    """An export written into a bucket of moto's S3 the way AWS lays it out."""

    def __init__(self, pair: Pair, files: int, per_file: int) -> None:
        self.s3 = _s3(pair)
        self.bucket = f"exports-{uuid.uuid4().hex[:8]}"
        self.s3.create_bucket(Bucket=self.bucket)
        self.folder = f"AWSDynamoDB/{uuid.uuid4().hex[:12]}"
        self.items = [_item(i) for i in range(files * per_file)]
        self.keys = []
        lines = []
        for index in range(files):
            key = f"{self.folder}/data/{uuid.uuid4().hex[:10]}.json.gz"
            chunk = self.items[index * per_file:(index + 1) * per_file]
            etag = self.put(key, self.gzip(chunk))
            self.keys.append(key)
            lines.append(json.dumps({"itemCount": len(chunk), "md5Checksum": "x", "etag": etag,
                                     "dataFileS3Key": key}))
        self.put(f"{self.folder}/manifest-files.json", "\n".join(lines).encode())
        self.summary = {"version": "2020-06-30", "exportArn": "arn:aws:dynamodb:us-east-1:1:table/t/export/x",
                        "tableArn": "arn:aws:dynamodb:us-east-1:1:table/t", "outputFormat": "DYNAMODB_JSON",
                        "exportType": "FULL_EXPORT", "manifestFilesS3Key": f"{self.folder}/manifest-files.json",
                        "itemCount": len(self.items)}
        self.put(f"{self.folder}/manifest-summary.json", json.dumps(self.summary).encode())

    @staticmethod
    def gzip(items: list[dict[str, Any]]) -> bytes:
        return gzip.compress(b"".join(json.dumps({"Item": item}).encode() + b"\n" for item in items))

    def put(self, key: str, body: bytes) -> str:
        return str(self.s3.put_object(Bucket=self.bucket, Key=key, Body=body)["ETag"]).strip('"')

    def config(self, pair: Pair, tmp_path: Path, target: str, target_keys: dict[str, Any] | None = None,
               **top: Any) -> Path:
        source = {"type": "dynamodb-s3-export", "bucket": self.bucket,
                  "manifestKey": f"{self.folder}/manifest-summary.json", "tableDescription": DESCRIPTION,
                  "usePathStyleAccess": True}
        source |= _where(pair)
        path = pair.config(tmp_path, "unused", target, target=target_keys, **top)
        tree = load_yaml(path)
        tree["source"] = source
        path.write_text(json.dumps(tree))
        return path


def _wire(items: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """The items as boto3 reads them back (binaries as bytes), keyed as ``scan_all`` keys them."""
    def value(v: dict[str, Any]) -> dict[str, Any]:
        (kind, inner), = v.items()
        if kind == "B":
            return {"B": base64.b64decode(inner)}
        if kind == "BS":
            return {"BS": sorted(base64.b64decode(x) for x in inner)}
        if kind == "M":
            return {"M": {k: value(x) for k, x in inner.items()}}
        if kind == "L":
            return {"L": [value(x) for x in inner]}
        return v

    out = {}
    for item in items:
        converted = {k: value(v) for k, v in item.items()}
        out[repr([converted["p"], converted["s"]])] = converted
    return out


def _normal(items: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """Sets in a stable order, numbers by value (a server may return either in its own form)."""
    def value(v: dict[str, Any]) -> Any:
        (kind, inner), = v.items()
        if kind == "N":
            return {"N": Decimal(inner)}
        if kind == "NS":
            return {"NS": sorted(Decimal(x) for x in inner)}
        if kind in ("SS", "BS"):
            return {kind: sorted(inner)}
        if kind == "M":
            return {"M": {k: value(x) for k, x in inner.items()}}
        if kind == "L":
            return {"L": [value(x) for x in inner]}
        return v

    return {key: {k: value(v) for k, v in item.items()} for key, item in items.items()}


def test_an_export_loads_every_attribute_exactly_and_resumes_per_data_file(moto: Pair, spark: Any,
                                                                            tmp_path: Path) -> None:
    """A damaged data file stops the load (exit 3, named); the rerun loads only what is left; then it validates.

    The target's TTL is enabled before validating: an expired item there counts on neither side. The
    extra item is counted from the totals (the export cannot be looked up by key), so it has no example.
    """
    export = Export(moto, files=4, per_file=25)
    dst = moto.table_name("from_export")
    config = export.config(moto, tmp_path, dst, validation=VALIDATION)
    good = export.s3.get_object(Bucket=export.bucket, Key=export.keys[3])["Body"].read()
    export.s3.put_object(Bucket=export.bucket, Key=export.keys[3], Body=good[:-20])  # truncated: a new ETag too

    first = cli("migrate", "--config", str(config))
    assert first.returncode == 3, first.stderr
    assert "changed since the export was written" in first.stderr and export.keys[3] in first.stderr
    state = load_yaml(newest_savepoint(tmp_path / "savepoints"))
    loaded = state["skipExportFiles"]
    assert set(loaded) <= {f"s3://{export.bucket}/{key}" for key in export.keys[:3]} and loaded
    assert state["source"]["credentials"]["secretKey"] == "${MIGRATOR_TEST_DDB_SECRET_KEY}"

    etag = export.put(export.keys[3], good)  # the file as the manifest listed it (same content, same ETag)
    assert etag == json.loads(export.s3.get_object(Bucket=export.bucket, Key=f"{export.folder}/manifest-files.json")
                              ["Body"].read().decode().splitlines()[3])["etag"]
    second = cli("migrate", "--config", str(config))
    assert second.returncode == 0, second.stderr
    assert "resuming from" in second.stderr
    summary = load_yaml(newest_savepoint(tmp_path / "savepoints"))
    assert len(summary["skipExportFiles"]) == 4
    assert _normal(scan_all(moto.target, dst)) == _normal(_wire(export.items))

    target = moto.target
    target.update_time_to_live(TableName=dst, TimeToLiveSpecification={"Enabled": True, "AttributeName": "exp"})
    put_all(target, dst, [{"p": {"S": "gone"}, "s": {"N": "0"}, "exp": {"N": str(int(time.time()) - 60)}}])
    clean = validate(load_config(config), spark)
    assert clean.equal and clean.from_totals == "extra"
    assert (clean.counts.sourceRows, clean.counts.targetRows, clean.ranges_done) == (100, 100, 4)

    _damage(target, dst, extra={"p": {"S": "extra"}, "s": {"N": "0"}})
    report_dir = tmp_path / "report"
    damaged = cli("validate", "--config", str(config), "--report", str(report_dir))
    assert damaged.returncode == 1, damaged.stderr
    report = json.loads((report_dir / "report.json").read_text())
    assert report["counts"] == {"sourceRows": 100, "targetRows": 100, "missing": 1, "extra": 1, "differing": 1}
    assert report["from_totals"] == "extra" and report["split_unit"] == "file" and len(report["ranges"]) == 4
    examples = report["examples"]
    assert [e["key"] for e in examples["missing"]] == [_key_of(2)] and examples["extra"] == []
    assert [(e["key"], e["columns"]) for e in examples["differing"]] == [(_key_of(1), ["t"])]
    assert "Extra rows are counted from the totals" in (report_dir / "report.txt").read_text()
    assert "Differences per data file" in (report_dir / "report.html").read_text()


def test_a_load_killed_by_sigkill_resumes_with_the_files_left(moto: Pair, spark: Any, tmp_path: Path,
                                                               caplog: pytest.LogCaptureFixture) -> None:
    """Killed once a savepoint lists some files loaded; the same config run again loads the others only."""
    export = Export(moto, files=4, per_file=20)
    dst = moto.table_name("killed_load")
    paced = {"writeThroughput": 1, "throughputWritePercent": 1.0}  # 0.5 units/s per task: a file in about 2 s
    config = export.config(moto, tmp_path, dst, target_keys=paced)
    proc = popen_cli("migrate", "--config", str(config), *LOCAL_2)
    try:
        partial = wait_for_partial_savepoint(tmp_path / "savepoints", proc, timeout=120)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(60)
    done = load_yaml(newest_savepoint(tmp_path / "savepoints"))["skipExportFiles"]
    assert 0 < len(done) < 4 and set(load_yaml(partial)["skipExportFiles"]) <= set(done)

    with caplog.at_level(logging.INFO, logger="migrator"):
        result = migrate(resume_point(load_config(config), "migrate"), spark)
    assert (result.ranges_done, result.ranges_total) == (4, 4)
    assert f"4 ranges, {len(done)} already done, {4 - len(done)} to go" in caplog.text
    assert len(load_yaml(newest_savepoint(tmp_path / "savepoints"))["skipExportFiles"]) == 4
    assert _normal(scan_all(moto.target, dst)) == _normal(_wire(export.items))


def test_broken_exports_are_refused_before_anything_is_written(moto: Pair, tmp_path: Path) -> None:
    export = Export(moto, files=1, per_file=3)
    dst = moto.table_name("never")
    config = export.config(moto, tmp_path, dst)
    tree = json.loads(config.read_text())

    tree["source"]["manifestKey"] = f"{export.folder}/missing.json"
    config.write_text(json.dumps(tree))
    missing = cli("check", "--config", str(config))
    assert missing.returncode == 2 and "source.manifestKey" in missing.stderr and "no such object" in missing.stderr

    tree["source"]["manifestKey"] = f"{export.folder}/manifest-summary.json"
    config.write_text(json.dumps(tree))
    export.put(f"{export.folder}/manifest-summary.json", json.dumps({**export.summary, "outputFormat": "ION"}).encode())
    ion = cli("check", "--config", str(config))
    assert ion.returncode == 3 and "outputFormat is 'ION'; only DYNAMODB_JSON exports can be read" in ion.stderr

    export.put(f"{export.folder}/manifest-summary.json", b'{"outputFormat": "DYNAMODB_JSON", ')
    malformed = cli("check", "--config", str(config))
    assert malformed.returncode == 3 and "manifest-summary.json: not JSON" in malformed.stderr
    with pytest.raises(moto.target.exceptions.ResourceNotFoundException):
        moto.target.describe_table(TableName=dst)


def _export_target(pair: Pair, tmp_path: Path, src: str, bucket: str, **source: Any) -> Path:
    """A config writing table ``src`` as an export into ``s3a://bucket/exports/src``."""
    config = pair.config(tmp_path, src, "unused", source=source, validation=VALIDATION)
    tree = load_yaml(config)
    tree["target"] = {"type": "dynamodb-s3-export", "path": f"s3a://{bucket}/exports/{src}", **_where(pair)}
    config.write_text(json.dumps(tree))
    return config


def _load_back(pair: Pair, tmp_path: Path, bucket: str, src: str, dst: str) -> Path:
    """A config loading the export of ``src`` into table ``dst``, in a folder of its own."""
    folder = tmp_path / "load"
    folder.mkdir()
    config = pair.config(folder, "unused", dst)
    tree = load_yaml(config)
    tree["source"] = {"type": "dynamodb-s3-export", "bucket": bucket, "tableDescription": DESCRIPTION,
                      "manifestKey": f"exports/{src}/manifest-summary.json", **_where(pair)}
    config.write_text(json.dumps(tree))
    return config


def _source_table(pair: Pair, stem: str, count: int) -> str:
    src = pair.create("source", pair.table_name(stem), [("p", "HASH", "S"), ("s", "RANGE", "N")])
    put_all(pair.source, src, [_wire([_item(i)]).popitem()[1] for i in range(count)])
    return src


def _bucket(s3: Any, *, versioned: bool = False) -> str:
    bucket = f"exports-{uuid.uuid4().hex[:8]}"
    s3.create_bucket(Bucket=bucket)
    if versioned:  # every write of an object is kept: a file written twice shows
        s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    return bucket


def test_a_table_exported_to_s3_and_loaded_back_is_the_same_table(moto: Pair, tmp_path: Path) -> None:
    """DynamoDB -> export (manifests last) -> DynamoDB, attribute by attribute; a second export is refused."""
    src = _source_table(moto, "to_export", 60)
    s3 = _s3(moto)
    bucket = _bucket(s3)
    config = _export_target(moto, tmp_path, src, bucket, scanSegments=3)
    written = cli("migrate", "--config", str(config))
    assert written.returncode == 0, written.stderr
    assert "export complete: 3 data files, 60 items" in written.stderr
    summary = json.loads(s3.get_object(Bucket=bucket, Key=f"exports/{src}/manifest-summary.json")["Body"].read())
    assert summary["itemCount"] == 60 and summary["outputFormat"] == "DYNAMODB_JSON"

    again = cli("migrate", "--config", str(config), "--fresh")
    assert again.returncode == 3 and "holds a complete export" in again.stderr

    dst = moto.table_name("from_own_export")
    load_run = cli("migrate", "--config", str(_load_back(moto, tmp_path, bucket, src, dst)))
    assert load_run.returncode == 0, load_run.stderr
    assert _normal(scan_all(moto.target, dst)) == _normal(scan_all(moto.source, src))


def test_an_export_write_killed_by_sigkill_resumes_into_one_complete_export(moto: Pair, spark: Any,
                                                                           tmp_path: Path) -> None:
    """Killed mid-way, resumed: every segment's file once, the manifests once; then validated against the source.

    The bucket keeps every version of every object, so a file or a manifest written twice would show.
    """
    src = _source_table(moto, "export_killed", 60)
    s3 = _s3(moto)
    bucket = _bucket(s3, versioned=True)
    paced = {"scanSegments": 4, "readThroughput": 1, "throughputReadPercent": 1.0}  # a segment in about 2 s
    config = _export_target(moto, tmp_path, src, bucket, **paced)
    proc = popen_cli("migrate", "--config", str(config), *LOCAL_2)
    try:
        wait_for_partial_savepoint(tmp_path / "savepoints", proc, timeout=120)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(60)
    done = load_yaml(newest_savepoint(tmp_path / "savepoints"))["skipSegments"]
    assert 0 < len(done) < 4

    result = migrate(resume_point(load_config(config), "migrate"), spark)
    assert (result.ranges_done, result.ranges_total) == (4, 4)
    prefix = f"exports/{src}/"
    versions = collections.Counter(v["Key"] for v in s3.list_object_versions(Bucket=bucket, Prefix=prefix)["Versions"])
    data = {f"{prefix}data/{segment:05d}.json.gz" for segment in range(4)}
    assert set(versions) == data | {f"{prefix}manifest-files.json", f"{prefix}manifest-summary.json"}
    assert versions[f"{prefix}manifest-files.json"] == versions[f"{prefix}manifest-summary.json"] == 1
    assert all(versions[f"{prefix}data/{segment:05d}.json.gz"] == 1 for segment in done)  # not written again
    lines = [json.loads(line) for line in
             s3.get_object(Bucket=bucket, Key=f"{prefix}manifest-files.json")["Body"].read().decode().splitlines()]
    assert sorted(line["dataFileS3Key"] for line in lines) == sorted(data)
    assert sum(line["itemCount"] for line in lines) == 60
    assert json.loads(s3.get_object(Bucket=bucket, Key=f"{prefix}manifest-summary.json")["Body"].read())[
        "itemCount"] == 60

    dst = moto.table_name("from_resumed_export")
    run_migrate(spark, _load_back(moto, tmp_path, bucket, src, dst))
    assert _normal(scan_all(moto.target, dst)) == _normal(scan_all(moto.source, src))

    tree = load_yaml(config)
    tree["source"] = {k: v for k, v in tree["source"].items() if k not in ("readThroughput", "throughputReadPercent")}
    config.write_text(json.dumps(tree))
    clean = validate(load_config(config), spark)
    assert clean.equal and clean.from_totals == "missing"
    assert (clean.counts.sourceRows, clean.counts.targetRows, clean.ranges_done) == (60, 60, 4)
    _damage(moto.source, src, extra=_wire([_item(60)]).popitem()[1])  # changed, extra in the export, missing from it
    damaged = validate(load_config(config), spark)
    assert (damaged.counts.sourceRows, damaged.counts.targetRows) == (60, 60)
    assert (damaged.counts.missing, damaged.counts.extra, damaged.counts.differing) == (1, 1, 1)
    assert [e.key for e in damaged.examples["extra"]] == [_key_of(2)] and damaged.examples["missing"] == []
    assert [(e.key, e.columns) for e in damaged.examples["differing"]] == [(_key_of(1), ["t"])]
