"""Reading an S3 export's manifests and loading a data file, against a fake S3 and a fake batch writer.

The real round trip through moto's S3 and DynamoDB is in tests/dynamodb/test_s3_export.py.
"""

from __future__ import annotations

import gzip
import io
import json
from typing import Any

import pytest
from botocore.exceptions import ClientError

from migrator.backends.base import WorkItem
from migrator.backends.dynamodb.client import ClientSpec
from migrator.backends.s3export import loader
from migrator.backends.s3export.loader import LoadPlan, S3Spec, load_item
from migrator.backends.s3export.manifest import DataFile, read_export, resolve
from migrator.backends.s3export.prepare import described
from migrator.config.source import TableDescription
from migrator.errors import ConfigError, RuntimeFailure

SPEC = ClientSpec("source", "http://127.0.0.1:1", "us-east-1")
FOLDER = "AWSDynamoDB/0123-abcd"
ITEMS = [{"id": {"S": "a"}, "n": {"N": "1.50"}, "b": {"B": "AAE="}, "m": {"M": {"l": {"L": [{"NULL": True}]}}}},
         {"id": {"S": "b"}, "ss": {"SS": ["x", "y"]}, "ok": {"BOOL": False}, "bs": {"BS": ["AA=="]}}]


class FakeS3:
    def __init__(self, objects: dict[str, bytes], etags: dict[str, str] | None = None) -> None:
        self.objects = objects
        self.etags = etags or {}
        self.requests: list[dict[str, Any]] = []

    def get_object(self, **request: Any) -> dict[str, Any]:
        self.requests.append(request)
        key = request["Key"]
        if key not in self.objects:
            raise ClientError({"Error": {"Code": "NoSuchKey", "Message": "gone"}}, "GetObject")
        if "IfMatch" in request and request["IfMatch"] != self.etags.get(key):
            raise ClientError({"Error": {"Code": "PreconditionFailed", "Message": "etag"}}, "GetObject")
        return {"Body": io.BytesIO(self.objects[key]), "ETag": f'"{self.etags.get(key, "e0")}"'}


def data(items: list[dict[str, Any]]) -> bytes:
    return gzip.compress(b"".join(json.dumps({"Item": item}).encode() + b"\n" for item in items))


def export(**overrides: Any) -> dict[str, bytes]:
    summary = {"version": "2020-06-30", "outputFormat": "DYNAMODB_JSON", "exportType": "FULL_EXPORT",
               "manifestFilesS3Key": f"{FOLDER}/manifest-files.json", "itemCount": 2, **overrides}
    files = "\n".join(json.dumps(line) for line in [
        {"itemCount": 1, "dataFileS3Key": f"{FOLDER}/data/one.json.gz", "etag": "e1"},
        {"itemCount": 1, "dataFileS3Key": "data/two.json.gz"},  # relative to the manifest's folder
    ])
    return {f"{FOLDER}/manifest-summary.json": json.dumps(summary).encode(),
            f"{FOLDER}/manifest-files.json": files.encode(),
            f"{FOLDER}/data/one.json.gz": data(ITEMS[:1]), f"{FOLDER}/data/two.json.gz": data(ITEMS[1:])}


def test_an_aws_export_lists_its_files_with_counts_and_etags() -> None:
    found = read_export(FakeS3(export(), {f"{FOLDER}/manifest-summary.json": "s1"}), "b",
                        f"{FOLDER}/manifest-summary.json")
    assert found.summary_etag == "s1" and found.item_count == 2
    assert found.files == (DataFile(f"{FOLDER}/data/one.json.gz", 1, "e1"),
                           DataFile(f"{FOLDER}/data/two.json.gz", 1, None))
    assert resolve("", "data/x.json.gz") == "data/x.json.gz"


@pytest.mark.parametrize(("change", "expected"), [
    ({"outputFormat": "ION"}, "outputFormat is 'ION'; only DYNAMODB_JSON"),
    ({"exportType": "INCREMENTAL_EXPORT"}, "exportType is 'INCREMENTAL_EXPORT'; only a FULL_EXPORT"),
    ({"manifestFilesS3Key": None}, "no manifestFilesS3Key"),
])
def test_exports_that_cannot_be_loaded_are_refused_by_name(change: dict[str, Any], expected: str) -> None:
    with pytest.raises(RuntimeFailure) as caught:
        read_export(FakeS3(export(**change)), "b", f"{FOLDER}/manifest-summary.json")
    assert expected in caught.value.message and f"s3://b/{FOLDER}/manifest-summary.json" in caught.value.message


def test_malformed_manifests_and_missing_objects_name_the_object_and_line() -> None:
    objects = export()
    objects[f"{FOLDER}/manifest-summary.json"] = b"{not json"
    with pytest.raises(RuntimeFailure, match=r"manifest-summary\.json: not JSON"):
        read_export(FakeS3(objects), "b", f"{FOLDER}/manifest-summary.json")
    objects = export()
    objects[f"{FOLDER}/manifest-files.json"] += b'\n{"itemCount": 3}'
    with pytest.raises(RuntimeFailure, match=r"manifest-files\.json line 3: no dataFileS3Key"):
        read_export(FakeS3(objects), "b", f"{FOLDER}/manifest-summary.json")
    with pytest.raises(ConfigError) as caught:
        read_export(FakeS3({}), "b", f"{FOLDER}/manifest-summary.json")
    assert caught.value.problems[0][0] == "source.manifestKey"
    objects = export()
    del objects[f"{FOLDER}/manifest-files.json"]
    with pytest.raises(RuntimeFailure, match="no such object, though the export's summary names it"):
        read_export(FakeS3(objects), "b", f"{FOLDER}/manifest-summary.json")


class FakeWriter:
    def __init__(self, *args: Any, **keys: Any) -> None:
        self.items: list[dict[str, Any]] = []
        WRITTEN.append(self.items)

    def put(self, item: dict[str, Any]) -> None:
        self.items.append(item)

    def finish(self) -> None:
        pass

    def close(self) -> None:
        pass


WRITTEN: list[list[dict[str, Any]]] = []


def load(monkeypatch: pytest.MonkeyPatch, objects: dict[str, bytes], file: DataFile,
         etags: dict[str, str] | None = None) -> Any:
    WRITTEN.clear()
    monkeypatch.setattr(loader, "s3_client", lambda spec: FakeS3(objects, etags))
    monkeypatch.setattr(loader, "BatchWriter", FakeWriter)
    monkeypatch.setattr(loader, "wire_client", lambda spec: None)
    plan = LoadPlan(s3=S3Spec(SPEC, True), bucket="b", target=SPEC, target_table="t", renames=(("n", "number"),))
    return load_item(plan, WorkItem(0, file))


def test_a_data_file_is_loaded_item_by_item_in_the_wire_form_renamed(monkeypatch) -> None:
    objects = export()
    objects[f"{FOLDER}/data/all.json.gz"] = data(ITEMS)
    result = load(monkeypatch, objects, DataFile(f"{FOLDER}/data/all.json.gz", 2, None))
    assert result.rows == 2
    assert WRITTEN[0][0] == {"id": {"S": "a"}, "number": {"N": "1.50"}, "b": {"B": "AAE="},
                             "m": {"M": {"l": {"L": [{"NULL": True}]}}}}
    assert WRITTEN[0][1] == ITEMS[1]


@pytest.mark.parametrize(("content", "expected"), [
    (gzip.compress(b'{"Item": {"id": {"S": "a"}}}\n')[:-9], "not a complete gzip file"),
    (b"plain text, not gzip", "not a complete gzip file"),
    (gzip.compress(b'{"Item": {"id": {"S": "a"}}}\n{"id": 1}\n'), "line 2: not an exported item (no Item)"),
    (gzip.compress(b'{"Item": {"id": "a"}}\n'), "line 1: the Item is not in DynamoDB's JSON"),
    (gzip.compress(b'{"Item": {"id": {"S": "a"}}}\n'), "holds 1 items, but manifest-files.json lists 2"),
])
def test_damaged_data_files_are_refused_by_name(monkeypatch, content: bytes, expected: str) -> None:
    objects = {"d/f.json.gz": content}
    with pytest.raises(RuntimeFailure) as caught:
        load(monkeypatch, objects, DataFile("d/f.json.gz", 2, None))
    assert expected in caught.value.message and "s3://b/d/f.json.gz" in caught.value.message


def test_a_missing_or_replaced_data_file_is_refused(monkeypatch) -> None:
    with pytest.raises(RuntimeFailure, match=r"no such object, though manifest-files\.json lists it"):
        load(monkeypatch, {}, DataFile("d/f.json.gz", 1, None))
    with pytest.raises(RuntimeFailure, match="changed since the export was written"):
        load(monkeypatch, {"d/f.json.gz": data(ITEMS[:1])}, DataFile("d/f.json.gz", 1, "old"), {"d/f.json.gz": "new"})


def test_the_table_description_becomes_a_table_to_create() -> None:
    description = TableDescription.model_validate({
        "attributeDefinitions": [{"name": "s", "type": "N"}, {"name": "id", "type": "S"}],
        "keySchema": [{"name": "s", "type": "RANGE"}, {"name": "id", "type": "HASH"}],
        "provisionedThroughput": {"readCapacityUnits": 5, "writeCapacityUnits": 7}})
    info = described(description)
    assert info.key_schema == (("id", "HASH"), ("s", "RANGE")) and info.key_types == (("id", "S"), ("s", "N"))
    assert info.billing_mode == "PROVISIONED" and (info.read_capacity, info.write_capacity) == (5, 7)
