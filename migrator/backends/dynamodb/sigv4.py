"""AWS Signature Version 4 for DynamoDB's JSON requests, the hot path's share of botocore's signer.

A wire request is always a POST of a JSON body to the endpoint's path with the same few headers, so
the canonical request is short and fixed in shape, and the signing key (four HMACs) changes only
with the day and the credentials; it is kept. The result is byte for byte what botocore's
``SigV4Auth`` computes for the same request and time (a unit test holds the two together); it costs
a sha256 of the body and two of short strings, a small part of botocore's general signer, which
parses the URL and sorts and normalises every header on each call.
"""

from __future__ import annotations

import hashlib
import hmac
import time
import urllib.parse
from typing import Any

SERVICE = "dynamodb"
ALGORITHM = "AWS4-HMAC-SHA256"


class Signer:
    """Signs requests to one endpoint with credentials that may be refreshed (botocore ``Credentials``)."""

    def __init__(self, credentials: Any, region: str, *, clock: Any = time.time) -> None:
        self.credentials = credentials
        self.region = region
        self._clock = clock
        self._key: tuple[tuple[str, str], bytes] | None = None  # ((secret, day), signing key)

    def headers(self, url: str, headers: dict[str, str], body: bytes) -> dict[str, str]:
        """``headers`` plus Host, X-Amz-Date, the session token if any, and Authorization.

        Every header given is signed (as botocore signs all but a few), so pass only the ones that
        go out: Content-Type, X-Amz-Target, maybe Content-Encoding. The caller adds User-Agent and
        Content-Length afterwards, unsigned, as botocore does.
        """
        frozen = self.credentials.get_frozen_credentials()
        parts = urllib.parse.urlsplit(url)
        stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(self._clock()))
        day = stamp[:8]
        signed = {"Host": _host(parts), **headers, "X-Amz-Date": stamp}
        if frozen.token:
            signed["X-Amz-Security-Token"] = frozen.token
        canonical = sorted((name.lower(), " ".join(value.split())) for name, value in signed.items())
        names = ";".join(name for name, _ in canonical)
        request = "\n".join([
            "POST",
            urllib.parse.quote(parts.path or "/", safe="/~"),
            "",  # no query string
            "".join(f"{name}:{value}\n" for name, value in canonical),
            names,
            hashlib.sha256(body).hexdigest(),
        ])
        scope = f"{day}/{self.region}/{SERVICE}/aws4_request"
        to_sign = f"{ALGORITHM}\n{stamp}\n{scope}\n{hashlib.sha256(request.encode()).hexdigest()}"
        signature = hmac.new(self._signing_key(frozen.secret_key, day), to_sign.encode(), hashlib.sha256).hexdigest()
        signed["Authorization"] = (f"{ALGORITHM} Credential={frozen.access_key}/{scope}, SignedHeaders={names}, "
                                   f"Signature={signature}")
        return signed

    def _signing_key(self, secret: str, day: str) -> bytes:
        cached = self._key
        if cached is not None and cached[0] == (secret, day):
            return cached[1]
        key = f"AWS4{secret}".encode()
        for part in (day, self.region, SERVICE, "aws4_request"):
            key = hmac.new(key, part.encode(), hashlib.sha256).digest()
        self._key = ((secret, day), key)
        return key


def _host(parts: urllib.parse.SplitResult) -> str:
    """The Host header as botocore signs it: the port only when it is not the scheme's default."""
    default = {"http": 80, "https": 443}.get(parts.scheme)
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    return host if parts.port in (None, default) else f"{host}:{parts.port}"
