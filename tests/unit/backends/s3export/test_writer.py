"""Writing an export into a local folder, and reading it back through the export reader.

The S3 round trip (a moto table exported to moto's S3 and loaded into another table) is in
tests/dynamodb/test_s3_export.py.
"""

from __future__ import annotations

import gzip
import json
import time
from pathlib import Path
from typing import Any

import pytest

from migrator.backends.dynamodb.client import ClientSpec
from migrator.backends.s3export import writer
from migrator.backends.s3export.folder import Folder
from migrator.backends.s3export.manifest import read_export
from migrator.backends.s3export.writer import ExportPlan, check_folder, export_segment, write_manifests
from migrator.errors import RuntimeFailure
from tests.unit.backends.s3export.test_export import FakeS3

SPEC = ClientSpec("source", "http://127.0.0.1:1", "us-east-1")
EXPIRED_AT = str(int(time.time()) - 3600)  # an hour ago: DynamoDB's TTL has expired the item
PAGES = {0: [[{"id": {"S": "a"}, "v": {"N": "1"}}], [{"id": {"S": "b"}, "ttl": {"N": EXPIRED_AT}}]],
         1: [],
         2: [[{"id": {"S": "c"}, "v": {"B": "AAE="}, "m": {"M": {"z": {"S": "é"}, "a": {"L": []}}}}]]}


@pytest.fixture
def fake_scan(monkeypatch):
    def scan(source: Any, table: str, total: int, segment: int, pacer: Any, consumed: bool) -> Any:
        assert (table, total) == ("src", 3)
        yield from PAGES[segment]

    monkeypatch.setattr(writer, "scan_segment", scan)
    monkeypatch.setattr(writer, "wire_client", lambda spec: None)


def plan(folder: Path, **keys: Any) -> ExportPlan:
    return ExportPlan(folder=Folder(str(folder)), source=SPEC, source_table="src", total_segments=3, **keys)


def test_segments_become_data_files_and_the_summary_comes_last(tmp_path, fake_scan) -> None:
    out = tmp_path / "exp"
    results = [export_segment(plan(out, renames=(("v", "value"),), ttl_attribute="ttl"), s) for s in range(3)]
    assert [r.rows for r in results] == [1, 0, 1]  # the expired item is left out, and counted
    assert results[0].counts == {"itemsExpiredSkipped": 1}
    lines = gzip.decompress((out / "data/00000.json.gz").read_bytes()).decode().splitlines()
    assert [json.loads(line) for line in lines] == [{"Item": {"id": {"S": "a"}, "value": {"N": "1"}}}]
    assert gzip.decompress((out / "data/00001.json.gz").read_bytes()) == b""
    assert not (out / "manifest-summary.json").exists()  # not complete until the driver says so

    files, items = write_manifests(Folder(str(out)), 3, {"tableArn": "arn:t"})
    assert (files, items) == (3, 2)
    summary = json.loads((out / "manifest-summary.json").read_text())
    assert summary["outputFormat"] == "DYNAMODB_JSON" and summary["itemCount"] == 2 and summary["tableArn"] == "arn:t"
    listed = [json.loads(line) for line in (out / "manifest-files.json").read_text().splitlines()]
    assert [entry["dataFileS3Key"] for entry in listed] == [f"data/0000{i}.json.gz" for i in range(3)]

    objects = {f"exp/{path.relative_to(out)}": path.read_bytes() for path in out.rglob("*") if path.is_file()}
    export = read_export(FakeS3(objects), "b", "exp/manifest-summary.json")  # our reader takes our export
    assert [(f.key, f.items) for f in export.files] == [(f"exp/data/0000{i}.json.gz", n)
                                                        for i, n in enumerate([1, 0, 1])]


def test_an_export_is_never_summarised_with_a_segment_missing(tmp_path, fake_scan) -> None:
    out = tmp_path / "exp"
    export_segment(plan(out), 0)
    with pytest.raises(RuntimeFailure, match=r"lacks the data files of segments \[1, 2\]"):
        write_manifests(Folder(str(out)), 3, {})
    assert not (out / "manifest-summary.json").exists()


def test_a_folder_with_a_complete_export_or_strange_files_is_refused(tmp_path, fake_scan) -> None:
    out = tmp_path / "exp"
    check_folder(Folder(str(out)), resuming=False)  # a new folder is fine
    export_segment(plan(out), 0)
    with pytest.raises(RuntimeFailure, match="holds data files of another run"):
        check_folder(Folder(str(out)), resuming=False)
    check_folder(Folder(str(out)), resuming=True)
    for segment in (1, 2):
        export_segment(plan(out), segment)
    write_manifests(Folder(str(out)), 3, {})
    with pytest.raises(RuntimeFailure, match="holds a complete export"):
        check_folder(Folder(str(out)), resuming=True)


def test_reconcile_refuses_an_export_target() -> None:
    from migrator.backends.dynamodb.backend import BACKEND
    from migrator.config import load_config
    from migrator.errors import ConfigError

    config = load_config(
        "source: {type: dynamodb, table: t, region: us-east-1}\n"
        "target: {type: dynamodb-s3-export, path: 's3://b/p'}\n"
    ).model
    for ask in (BACKEND.changes, BACKEND.schema):
        with pytest.raises(ConfigError) as caught:
            ask(config)
        assert caught.value.problems[0][0] == "target.type"
