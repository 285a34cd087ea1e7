"""S3 access for configs and deployment artifacts: ``s3://``, ``s3a://`` and ``s3n://`` URIs.

Credentials, region and endpoint come from boto3's usual chain (environment, profile, instance
role); ``AWS_ENDPOINT_URL_S3`` or ``AWS_ENDPOINT_URL`` point it at an S3-compatible store. The
three schemes name the same object: ``s3a://`` is Hadoop's spelling, accepted so that a URI copied
from a Spark setting works unchanged.
"""

from __future__ import annotations

import re
from typing import Any

from migrator.errors import ConfigError, RuntimeFailure

_URI = re.compile(r"^(s3|s3a|s3n)://([^/]+)/(.+)$")
SCHEMES = ("s3://", "s3a://", "s3n://")


def is_s3_uri(text: str) -> bool:
    """Whether ``text`` looks like an S3 URI (of any of the accepted schemes)."""
    return text.startswith(SCHEMES)


def split_uri(uri: str) -> tuple[str, str]:
    """``(bucket, key)`` of an S3 URI; a URI without a key is a usage mistake."""
    match = _URI.match(uri)
    if not match:
        raise ConfigError([("", f"{uri}: an S3 location is s3://BUCKET/KEY (s3a:// and s3n:// are accepted too)")])
    return match.group(2), match.group(3)


def client(**kwargs: Any) -> Any:
    """A boto3 S3 client from the default credential chain (and the endpoint variables)."""
    import boto3

    return boto3.client("s3", **kwargs)


def read_text(uri: str, s3: Any = None) -> str:
    """The UTF-8 text of the object at ``uri``; a missing object or bucket is a ``ConfigError``."""
    from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError

    bucket, key = split_uri(uri)
    try:
        body = (s3 or client()).get_object(Bucket=bucket, Key=key)["Body"].read()
    except NoCredentialsError:
        raise ConfigError([("", f"{uri}: no AWS credentials found to read it (set AWS_PROFILE or "
                                "AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, or use an instance role)")]) from None
    except ClientError as exc:
        code = exc.response.get("Error", {}).get("Code", "")
        if code in ("NoSuchKey", "404", "NotFound"):
            raise ConfigError([("", f"config file not found: {uri}")], source=uri) from None
        if code == "NoSuchBucket":
            raise ConfigError([("", f"{uri}: bucket {bucket!r} does not exist")], source=uri) from None
        if code in ("AccessDenied", "403", "Forbidden"):
            raise ConfigError([("", f"{uri}: access denied; the credentials in use may not read it "
                                    "(s3:GetObject)")], source=uri) from None
        raise RuntimeFailure(f"cannot read {uri}: {code or exc}") from None
    except BotoCoreError as exc:
        raise RuntimeFailure(f"cannot read {uri}: {exc}",
                             hint="check AWS_ENDPOINT_URL_S3 / AWS_ENDPOINT_URL and the network") from None
    try:
        return bytes(body).decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError([("", f"the file is not UTF-8 text (byte {exc.start})")], source=uri) from None
