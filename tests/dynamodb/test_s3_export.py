"""A DynamoDB S3 export (AWS's layout, in moto's S3) loaded into a table, exactly, resumed per data file.

moto serves S3 on the same port as DynamoDB; the export is written by the test in the layout and
format AWS writes (``AWSDynamoDB/<id>/manifest-summary.json``, ``manifest-files.json``, gzip JSON
lines of DynamoDB JSON), with every attribute type.
"""

from __future__ import annotations

import base64
import gzip
import json
import uuid
from decimal import Decimal
from pathlib import Path
from typing import Any

import boto3
import pytest

from migrator.savepoints import newest_savepoint
from tests.dynamodb.conftest import Pair, scan_all
from tests.support.helpers import cli, load_yaml

pytestmark = pytest.mark.dynamodb

DESCRIPTION = {"attributeDefinitions": [{"name": "p", "type": "S"}, {"name": "s", "type": "N"}],
               "keySchema": [{"name": "p", "type": "HASH"}, {"name": "s", "type": "RANGE"}]}


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


class Export:
    """An export written into a bucket of moto's S3 the way AWS lays it out."""

    def __init__(self, pair: Pair, files: int, per_file: int) -> None:
        self.s3 = boto3.client("s3", endpoint_url=pair.source_url, region_name="us-east-1",
                               aws_access_key_id="test-access", aws_secret_access_key="test-secret")
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

    def config(self, pair: Pair, tmp_path: Path, target: str, **top: Any) -> Path:
        source = {"type": "dynamodb-s3-export", "bucket": self.bucket,
                  "manifestKey": f"{self.folder}/manifest-summary.json", "tableDescription": DESCRIPTION,
                  "usePathStyleAccess": True}
        host, port = pair.source_url.rsplit(":", 1)
        source |= {"endpoint": {"host": host, "port": int(port)}, "region": "us-east-1",
                   "credentials": {"accessKey": "${MIGRATOR_TEST_DDB_ACCESS_KEY}",
                                   "secretKey": "${MIGRATOR_TEST_DDB_SECRET_KEY}"}}
        path = pair.config(tmp_path, "unused", target, **top)
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


def test_an_export_loads_every_attribute_exactly_and_resumes_per_data_file(moto: Pair, tmp_path: Path) -> None:
    """A damaged data file stops the load (exit 3, named); the rerun loads only what is left."""
    export = Export(moto, files=4, per_file=25)
    dst = moto.table_name("from_export")
    config = export.config(moto, tmp_path, dst)
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


def test_a_table_exported_to_s3_and_loaded_back_is_the_same_table(moto: Pair, tmp_path: Path) -> None:
    """DynamoDB -> export (manifests last) -> DynamoDB, attribute by attribute; a second export is refused."""
    from tests.dynamodb.conftest import put_all

    src = moto.create("source", moto.table_name("to_export"), [("p", "HASH", "S"), ("s", "RANGE", "N")])
    items = [_item(i) for i in range(60)]
    put_all(moto.source, src, [{k: v for k, v in _wire([item]).popitem()[1].items()} for item in items])
    s3 = boto3.client("s3", endpoint_url=moto.source_url, region_name="us-east-1",
                      aws_access_key_id="test-access", aws_secret_access_key="test-secret")
    bucket = f"exports-{uuid.uuid4().hex[:8]}"
    s3.create_bucket(Bucket=bucket)
    host, port = moto.source_url.rsplit(":", 1)
    where = {"endpoint": {"host": host, "port": int(port)}, "region": "us-east-1", "usePathStyleAccess": True,
             "credentials": {"accessKey": "${MIGRATOR_TEST_DDB_ACCESS_KEY}",
                             "secretKey": "${MIGRATOR_TEST_DDB_SECRET_KEY}"}}
    config = moto.config(tmp_path, src, "unused", source={"scanSegments": 3})
    tree = load_yaml(config)
    tree["target"] = {"type": "dynamodb-s3-export", "path": f"s3a://{bucket}/exports/{src}", **where}
    config.write_text(json.dumps(tree))
    written = cli("migrate", "--config", str(config))
    assert written.returncode == 0, written.stderr
    assert "export complete: 3 data files, 60 items" in written.stderr
    summary = json.loads(s3.get_object(Bucket=bucket, Key=f"exports/{src}/manifest-summary.json")["Body"].read())
    assert summary["itemCount"] == 60 and summary["outputFormat"] == "DYNAMODB_JSON"

    again = cli("migrate", "--config", str(config), "--fresh")
    assert again.returncode == 3 and "holds a complete export" in again.stderr

    loaded = tmp_path / "load"
    loaded.mkdir()
    dst = moto.table_name("from_own_export")
    back = moto.config(loaded, "unused", dst)
    tree = load_yaml(back)
    tree["source"] = {"type": "dynamodb-s3-export", "bucket": bucket,
                      "manifestKey": f"exports/{src}/manifest-summary.json", "tableDescription": DESCRIPTION, **where}
    back.write_text(json.dumps(tree))
    load_run = cli("migrate", "--config", str(back))
    assert load_run.returncode == 0, load_run.stderr
    assert _normal(scan_all(moto.target, dst)) == _normal(scan_all(moto.source, src))
