"""How S3 failures reach the user: config mistakes (exit 2) versus runtime failures (exit 3)."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError, EndpointConnectionError, NoCredentialsError

from migrator import s3
from migrator.errors import ConfigError, RuntimeFailure


def client_error(code: str) -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": code}}, "Op")


@pytest.mark.parametrize(("raised", "expected", "text"), [
    (client_error("NoSuchKey"), ConfigError, "config file not found: s3://b/k.yaml"),
    (client_error("NoSuchBucket"), ConfigError, "s3://b/k.yaml: the bucket does not exist"),
    (client_error("AccessDenied"), ConfigError, "access denied for reading; the credentials in use lack s3:GetObject"),
    (NoCredentialsError(), ConfigError, "no AWS credentials found for reading"),
    (client_error("SlowDown"), RuntimeFailure, "reading s3://b/k.yaml failed: SlowDown"),
    (EndpointConnectionError(endpoint_url="http://127.0.0.1:1"), RuntimeFailure, "Could not connect"),
])
def test_translated(raised: Exception, expected: type, text: str) -> None:
    with pytest.raises(expected) as info, s3.translated("s3://b/k.yaml", "reading", permission="s3:GetObject"):
        raise raised
    assert text in info.value.render()


def test_a_path_puts_the_problem_under_that_key() -> None:
    with pytest.raises(ConfigError) as info, s3.translated("s3://b/sp/", "listing", "savepoints.path",
                                                           "s3:ListBucket"):
        raise client_error("AccessDenied")
    assert info.value.problems == [("savepoints.path", "s3://b/sp/: access denied for listing; the credentials "
                                                       "in use lack s3:ListBucket")]


@pytest.mark.parametrize(("uri", "parts"), [
    ("s3://bucket", ("s3", "bucket", "")),
    ("s3a://bucket/", ("s3a", "bucket", "")),
    ("s3n://bucket/a/b/", ("s3n", "bucket", "a/b/")),
    ("s3://bucket/a", ("s3", "bucket", "a/")),
])
def test_split_prefix(uri: str, parts: tuple[str, str, str]) -> None:
    assert s3.split_prefix(uri) == parts


def test_split_uri_needs_a_key() -> None:
    assert s3.split_uri("s3a://bucket/dir/config.yaml") == ("bucket", "dir/config.yaml")
    with pytest.raises(ConfigError, match="an S3 location is s3://BUCKET/KEY"):
        s3.split_uri("s3://bucket/")
