"""Savepoints under an S3 prefix, against a moto S3 server on loopback (there is no local S3 server of
AWS's own; moto stands in for S3 only). No Cassandra is needed."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest

from migrator.errors import ConfigError
from migrator.savepoints import S3SavepointWriter, SavepointWriter, check_location, savepoint_writer


@pytest.fixture(scope="module")
def aws() -> Iterator[dict[str, str]]:
    from tests.motoserver import moto_server

    with moto_server() as env:
        yield env


@pytest.fixture()
def s3(aws: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> Any:
    """A client of the moto server with an empty bucket ``sp-bucket``; boto3 in the code under test
    reaches the same server through the endpoint variables."""
    import boto3

    monkeypatch.delenv("AWS_ENDPOINT_URL_S3", raising=False)
    for key, value in aws.items():
        monkeypatch.setenv(key, value)
    client = boto3.client("s3", endpoint_url=aws["AWS_ENDPOINT_URL"], region_name=aws["AWS_DEFAULT_REGION"])
    for bucket in client.list_buckets().get("Buckets", []):
        objects = client.list_objects_v2(Bucket=bucket["Name"]).get("Contents", [])
        for item in objects:
            client.delete_object(Bucket=bucket["Name"], Key=item["Key"])
        client.delete_bucket(Bucket=bucket["Name"])
    client.create_bucket(Bucket="sp-bucket")
    return client


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
