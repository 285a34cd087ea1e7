"""S3 access for configs, savepoints and deployment artifacts: ``s3://``, ``s3a://`` and ``s3n://`` URIs.

Credentials, region and endpoint come from boto3's usual chain (environment, profile, instance
role); ``AWS_ENDPOINT_URL_S3`` or ``AWS_ENDPOINT_URL`` point it at an S3-compatible store. The
three schemes name the same object: ``s3a://`` is Hadoop's spelling, accepted so that a URI copied
from a Spark setting works unchanged.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from migrator.errors import ConfigError, RuntimeFailure

_URI = re.compile(r"^(s3|s3a|s3n)://([^/]+)(?:/(.*))?$")
SCHEMES = ("s3://", "s3a://", "s3n://")


def is_s3_uri(text: str) -> bool:
    """Whether ``text`` looks like an S3 URI (of any of the accepted schemes)."""
    return text.startswith(SCHEMES)


def split_uri(uri: str) -> tuple[str, str]:
    """``(bucket, key)`` of an S3 URI naming an object; a URI without a key is a usage mistake."""
    match = _URI.match(uri)
    if not match or not match.group(3):
        raise ConfigError([("", f"{uri}: an S3 location is s3://BUCKET/KEY (s3a:// and s3n:// are accepted too)")])
    return match.group(2), match.group(3)


def split_prefix(uri: str, path: str = "") -> tuple[str, str, str]:
    """``(scheme, bucket, prefix)`` of an S3 folder URI; the prefix is empty or ends with ``/``."""
    match = _URI.match(uri)
    if not match:
        raise ConfigError([(path, f"{uri}: an S3 folder is s3://BUCKET/PREFIX (s3a:// and s3n:// are accepted too)")])
    prefix = (match.group(3) or "").strip("/")
    return match.group(1), match.group(2), f"{prefix}/" if prefix else ""


def client(**kwargs: Any) -> Any:
    """A boto3 S3 client from the default credential chain (and the endpoint variables)."""
    import boto3

    return boto3.client("s3", **kwargs)


@contextmanager
def translated(uri: str, doing: str, path: str = "", permission: str = "") -> Iterator[None]:
    """Turn boto3's exceptions while ``doing`` something with ``uri`` into migrator errors.

    What the user can fix (no credentials, no such bucket or object, access denied) becomes a
    ``ConfigError`` at ``path``, naming ``permission`` when access is refused; anything else
    (network, throttling) a ``RuntimeFailure``.
    """
    from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError

    def mistake(message: str) -> ConfigError:
        return ConfigError([(path, message)], source=uri if not path else None)

    try:
        yield
    except NoCredentialsError:
        raise mistake(f"{uri}: no AWS credentials found for {doing} (set AWS_PROFILE or "
                      "AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, or use an instance role)") from None
    except ClientError as exc:
        code = str(exc.response.get("Error", {}).get("Code", ""))
        if code in ("NoSuchKey", "404", "NotFound"):
            raise mistake(f"config file not found: {uri}" if not path else f"{uri}: not found") from None
        if code == "NoSuchBucket":
            raise mistake(f"{uri}: the bucket does not exist") from None
        if code in ("AccessDenied", "403", "Forbidden", "AllAccessDisabled"):
            needed = permission or "the permission"
            raise mistake(f"{uri}: access denied for {doing}; the credentials in use lack {needed}") from None
        raise RuntimeFailure(f"{doing} {uri} failed: {code or exc}") from None
    except BotoCoreError as exc:
        raise RuntimeFailure(f"{doing} {uri} failed: {exc}",
                             hint="check AWS_ENDPOINT_URL_S3 / AWS_ENDPOINT_URL and the network") from None


def read_text(uri: str, s3: Any = None) -> str:
    """The UTF-8 text of the object at ``uri``; a missing object or bucket is a ``ConfigError``."""
    bucket, key = split_uri(uri)
    with translated(uri, "reading", permission="s3:GetObject"):
        body = (s3 or client()).get_object(Bucket=bucket, Key=key)["Body"].read()
    try:
        return bytes(body).decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError([("", f"the file is not UTF-8 text (byte {exc.start})")], source=uri) from None


def list_names(s3: Any, bucket: str, prefix: str) -> list[str]:
    """Names of the objects directly under ``prefix`` (not in deeper folders)."""
    names = []
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix, Delimiter="/"):
        names += [item["Key"][len(prefix):] for item in page.get("Contents", [])]
    return names
