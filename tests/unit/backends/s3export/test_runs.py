"""The driver side of export runs: what a load's tasks are paced to, and what a validation plans or refuses.

No server: the runs are built from a config and fakes of what ``prepare`` would have read.
"""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import pytest
from botocore.exceptions import ClientError

from migrator.backends.dynamodb.client import ClientSpec
from migrator.backends.dynamodb.prepare import SourcePlan
from migrator.backends.s3export import folder as folder_module
from migrator.backends.s3export import manifest
from migrator.backends.s3export.compare import SOURCE, TARGET
from migrator.backends.s3export.export_run import ExportWriteRun
from migrator.backends.s3export.folder import Folder
from migrator.backends.s3export.loader import S3Spec
from migrator.backends.s3export.manifest import DataFile, Export
from migrator.backends.s3export.prepare import ExportRun, described
from migrator.config import load_config
from migrator.config.source import TableDescription
from migrator.errors import ConfigError, RuntimeFailure
from tests.unit.backends.s3export.test_export import FakeS3

SPEC = ClientSpec("source", "http://127.0.0.1:1", "us-east-1")
S3 = S3Spec(ClientSpec("target", "http://127.0.0.1:2", "us-east-1"), True)
VALIDATION = ("validation: {compareTimestamps: false, ttlToleranceMillis: 0, writetimeToleranceMillis: 0, "
              "failuresToFetch: 3, floatingPointTolerance: 0.5, timestampMsTolerance: 0}\n")
DESCRIPTION = TableDescription.model_validate({"attributeDefinitions": [{"name": "id", "type": "S"}],
                                               "keySchema": [{"name": "id", "type": "HASH"}]})
FILES = tuple(DataFile(f"x/data/{n}.json.gz", 1, f"e{n}") for n in range(3))


def load_run(target: str = "", renames: str = "", **table: Any) -> ExportRun:
    """A load of a three-file export into an existing table (``table``: its description's changes)."""
    config = load_config(
        "source: {type: dynamodb-s3-export, bucket: b, manifestKey: x/manifest-summary.json, "
        "tableDescription: {attributeDefinitions: [{name: id, type: S}], keySchema: [{name: id, type: HASH}]}}\n"
        f"target: {{type: dynamodb, table: t, region: us-east-1, streamChanges: false{target}}}\n"
        + renames + VALIDATION).model
    export = Export("b", "x/manifest-summary.json", "s1", 3, FILES)
    return ExportRun(config=config, source=config.source, target=config.target, s3=S3, target_spec=SPEC,
                     export=export, target_table=dataclasses.replace(described(DESCRIPTION, "t"), **table),
                     skip=["s3://b/x/data/0.json.gz"], parallelism=4)


def test_a_load_paces_each_task_to_its_share_of_the_write_budget() -> None:
    run = load_run(", writeThroughput: 100, throughputWritePercent: 0.5")
    plan = run.copy_task().args[0]  # type: ignore[attr-defined]
    assert plan.write_units_per_s == 25.0  # 50 units/s, 2 files left to load at once


def test_a_validation_of_a_load_reads_each_file_and_counts_the_target_in_as_many_segments() -> None:
    run = load_run(renames="renames: [{from: ttl, to: exp}]\n", ttl_attribute="exp", read_capacity=40)
    settings = run.config.validation
    assert settings is not None
    task = run.compare_task(settings)
    plan = task.args[0]  # type: ignore[attr-defined]
    assert (plan.export_is, plan.files, plan.bucket) == (SOURCE, FILES, "b")
    table = plan.table
    assert (table.total_segments, table.key_names, table.ttl_attribute) == (3, ("id",), "ttl")  # the export's name
    assert (table.target_table, table.tolerance, table.failures_to_fetch) == ("t", 0.5, 3)
    assert table.read_units_per_s == 10.0  # half of 40 read units, 2 files left at once
    report = run.finish_report(_report(source=10, target=12, missing=1))
    assert (report.counts.extra, report.from_totals) == (3, "extra")


def test_a_load_into_a_missing_table_has_nothing_to_validate() -> None:
    run = load_run()
    run.target_table = None
    assert run.config.validation is not None
    with pytest.raises(RuntimeFailure, match="the target table t does not exist"):
        run.compare_task(run.config.validation)


def write_run(path: str, validation: str = VALIDATION) -> ExportWriteRun:
    config = load_config("source: {type: dynamodb, table: t, region: us-east-1, scanSegments: 2}\n"
                         f"target: {{type: dynamodb-s3-export, path: '{path}'}}\n" + validation).model
    info = dataclasses.replace(described(DESCRIPTION, "t"), ttl_attribute="exp")
    return ExportWriteRun(config=config, source=SourcePlan(SPEC, info, 2, []),
                          folder=Folder(path, S3 if path.startswith("s3") else None), parallelism=2)


class Bucket(FakeS3):
    """A bucket that also answers HeadObject."""

    def head_object(self, **request: Any) -> dict[str, Any]:
        if request["Key"] not in self.objects:
            raise ClientError({"Error": {"Code": "404", "Message": "not found"}}, "HeadObject")
        return {"ETag": '"e"', "Metadata": {}}


def test_a_validation_of_a_written_export_reads_it_by_its_manifests(monkeypatch) -> None:
    lines = [{"itemCount": 1, "etag": f"e{n}", "dataFileS3Key": f"p/data/0000{n}.json.gz"} for n in range(2)]
    bucket = Bucket({"p/manifest-summary.json": json.dumps({"outputFormat": "DYNAMODB_JSON", "itemCount": 2,
                                                            "manifestFilesS3Key": "p/manifest-files.json"}).encode(),
                     "p/manifest-files.json": "\n".join(json.dumps(line) for line in lines).encode()})
    monkeypatch.setattr(folder_module, "s3_client", lambda spec: bucket)
    monkeypatch.setattr("migrator.backends.s3export.export_run.s3_client", lambda spec: bucket)
    run = write_run("s3://b/p")
    assert run.config.validation is not None
    plan = run.compare_task(run.config.validation).args[0]  # type: ignore[attr-defined]
    assert plan.export_is == TARGET and [f.key for f in plan.files] == ["p/data/00000.json.gz", "p/data/00001.json.gz"]
    assert (plan.table.source_table, plan.table.total_segments, plan.table.ttl_attribute) == ("t", 2, "exp")
    report = run.finish_report(_report(source=5, target=4, extra=1))
    assert (report.counts.missing, report.from_totals) == (2, "missing")


def test_a_validation_of_a_written_export_refuses_what_it_cannot_read_or_repair(monkeypatch) -> None:
    monkeypatch.setattr(folder_module, "s3_client", lambda spec: Bucket({}))
    incomplete = write_run("s3://b/p")
    assert incomplete.config.validation is not None
    with pytest.raises(RuntimeFailure, match=r"s3://b/p/manifest-summary\.json does not exist: the export is not "
                                             "complete"):
        incomplete.compare_task(incomplete.config.validation)
    local = write_run("/tmp/exports/t")
    assert local.config.validation is not None
    with pytest.raises(RuntimeFailure, match="/tmp/exports/t is a local folder"):
        local.compare_task(local.config.validation)
    repairing = write_run("s3://b/p", VALIDATION.replace("}\n", ", copyMissingRows: true}\n"))
    assert repairing.config.validation is not None
    with pytest.raises(ConfigError) as caught:
        repairing.compare_task(repairing.config.validation)
    assert caught.value.problems[0][0] == "validation.copyMissingRows"


def test_a_written_export_s_manifest_problems_name_the_target_keys() -> None:
    with pytest.raises(ConfigError) as caught:
        manifest.read_export(FakeS3({}), "b", "p/manifest-summary.json", key="target.path")
    assert caught.value.problems[0][0] == "target.path"


def _report(*, source: int, target: int, missing: int = 0, extra: int = 0) -> Any:
    from migrator.report.model import ValidationReport

    report = ValidationReport("s", "t", 1)
    c = report.counts
    c.sourceRows, c.targetRows, c.missing, c.extra = source, target, missing, extra
    return report


def test_an_export_without_data_files_is_not_validated() -> None:
    run = load_run()
    run.export = dataclasses.replace(run.export, files=())
    assert run.config.validation is not None
    with pytest.raises(RuntimeFailure, match="lists no data files, so the target cannot be counted"):
        run.compare_task(run.config.validation)
