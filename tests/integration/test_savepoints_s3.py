"""Savepoints under an S3 prefix (moto's in-process S3: the same API calls, no network)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest

from migrator.errors import ConfigError
from migrator.savepoints import S3SavepointWriter, SavepointWriter, check_location, savepoint_writer


@pytest.fixture()
def s3(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    from moto import mock_aws

    for key, value in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                       "AWS_DEFAULT_REGION": "us-east-1"}.items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    monkeypatch.delenv("AWS_ENDPOINT_URL_S3", raising=False)
    with mock_aws():
        import boto3

        client = boto3.client("s3", region_name="us-east-1")
        client.create_bucket(Bucket="sp-bucket")
        yield client


def clock(start: int = 1_700_000_000_123) -> Any:
    return lambda: start


def test_names_increase_and_the_text_is_stored(s3: Any) -> None:
    writer = S3SavepointWriter("s3a://sp-bucket/jobs/events/", clock=clock())
    first, second = writer.write("a: 1\n"), writer.write("a: 2\n")
    assert first == "s3a://sp-bucket/jobs/events/savepoint_1700000000123_0000000000.yaml"
    assert second == "s3a://sp-bucket/jobs/events/savepoint_1700000000123_0000000001.yaml"
    body = s3.get_object(Bucket="sp-bucket", Key="jobs/events/savepoint_1700000000123_0000000001.yaml")["Body"].read()
    assert body == b"a: 2\n"


def test_replace_rewrites_the_same_object(s3: Any) -> None:
    writer = S3SavepointWriter("s3://sp-bucket/x", clock=clock())
    uri = writer.write("done: []\n")
    assert writer.write("done: [1]\n", replace=uri) == uri
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket="sp-bucket")["Contents"]]
    assert keys == ["x/savepoint_1700000000123_0000000000.yaml"]


def test_a_new_writer_continues_after_the_newest_savepoint(s3: Any) -> None:
    s3.put_object(Bucket="sp-bucket", Key="x/savepoint_1800000000000_0000000004.yaml", Body=b"old")
    s3.put_object(Bucket="sp-bucket", Key="x/deeper/savepoint_1900000000000_0000000000.yaml", Body=b"other job")
    writer = S3SavepointWriter("s3://sp-bucket/x", clock=clock())  # the clock is behind the newest name
    assert writer.write("new").endswith("/x/savepoint_1800000000000_0000000005.yaml")


def test_bucket_root_and_the_factory(s3: Any, tmp_path: Any) -> None:
    assert isinstance(savepoint_writer("s3://sp-bucket"), S3SavepointWriter)
    assert savepoint_writer("s3://sp-bucket").directory == "s3://sp-bucket/"
    assert isinstance(savepoint_writer(str(tmp_path)), SavepointWriter)


def test_a_missing_bucket_is_a_config_error(s3: Any) -> None:
    with pytest.raises(ConfigError, match=re.escape("savepoints.path: s3://nope/x/: the bucket does not exist")):
        S3SavepointWriter("s3://nope/x")


def test_check_location_accepts_s3_and_refuses_other_schemes() -> None:
    check_location("s3a://bucket/prefix")
    check_location("/tmp/savepoints")
    with pytest.raises(ConfigError, match="not to gs://"):
        check_location("gs://bucket/x")
    with pytest.raises(ConfigError, match="an S3 folder is"):
        check_location("s3://")
