"""DynamoDB's JSON protocol spoken directly, for the requests a copy or a validation repeats per item.

Scan, BatchWriteItem and BatchGetItem carry every item of a table. Through boto3 each response is
parsed attribute value by attribute value against botocore's service model, each request is walked
through the model again to serialize it, and each goes through botocore's general signer and
urllib3: about 200 µs of a worker's CPU per item, more than the server spent. This client sends the
request as ``json.dumps`` writes it, signs it with ``sigv4.Signer``, sends it over ``transport``'s
keep-alive connections and returns the response as ``json.loads`` reads it. Items stay in DynamoDB's
JSON wire form from the scan to the write: numbers are the decimal strings the server sent,
binaries the base64 text it sent (never decoded), so the copy cannot alter a value.

Credentials (static keys, a profile, the default chain, refreshed when temporary) and the endpoint of
a region come from botocore, and errors are botocore's exceptions: ``ClientError`` carries the
server's error code (so ``pacing.throttled`` recognises throttling), connection failures name the
endpoint. Table-level requests (DescribeTable, CreateTable, ...) still go through boto3
(``client.client``).

Transient failures (connection errors, timeouts, HTTP 5xx, a body whose CRC32 does not match the
``x-amz-crc32`` header) are retried with capped exponential backoff for as long as the side's outage
tolerance allows (``migrator.retry``), so a dropped connection or a restarted endpoint costs time, not
the run; the three requests are idempotent (whole items are put).
Throttling is left to ``pacing.call_throttled``, which waits for it up to its own bound. The
Alternator settings apply here too: requests go round-robin to the live nodes
(``client.AlternatorNodes``), bodies are gzipped with ``compression``, and the callers leave
``ReturnConsumedCapacity`` out when ``removeConsumedCapacity`` is set.
"""

from __future__ import annotations

import gzip
import json
import logging
import time
import zlib
from typing import Any

from migrator.backends.dynamodb.client import (
    READ_TIMEOUT_S,
    AlternatorNodes,
    ClientSpec,
    client,
    credentials_of,
    per_spec,
)
from migrator.backends.dynamodb.sigv4 import Signer
from migrator.backends.dynamodb.transport import transport
from migrator.errors import RuntimeFailure

log = logging.getLogger(__name__)

TARGET_PREFIX = "DynamoDB_20120810."
CONTENT_TYPE = "application/x-amz-json-1.0"

# one encoder for every request: compact, UTF-8 as is, no cycle check (a request is a tree of fresh dicts)
_encode = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False, check_circular=False).encode

class Unanswered(RuntimeFailure):
    """An endpoint kept failing for longer than its outage tolerance: the task fails, naming it."""


class DamagedResponse(RuntimeError):
    """A response whose body does not match the CRC32 the server computed: sent again."""


class WireClient:
    """``scan``, ``batch_write_item`` and ``batch_get_item`` with boto3's names and JSON wire-form items."""

    def __init__(self, spec: ClientSpec, *, session: Any = None, credentials: Any = None,
                 sleep: Any = time.sleep, clock: Any = time.monotonic) -> None:
        self.spec = spec
        if spec.endpoint is not None and spec.region is not None:
            self.url, self.region = spec.endpoint, spec.region
        else:  # AWS's endpoint of the region (or of the default one), as boto3 resolves it
            meta = client(spec).meta
            self.url, self.region = spec.endpoint or meta.endpoint_url, spec.region or meta.region_name
        self._credentials = credentials if credentials is not None else credentials_of(spec)
        self._signer = Signer(self._credentials, self.region) if self._credentials is not None else None
        self._session = session or transport(spec.connect_timeout_s, READ_TIMEOUT_S, spec.max_connections or 50,
                                             self.url)
        self._nodes = AlternatorNodes(spec) if spec.alternator and spec.endpoint is not None else None
        self._sleep = sleep
        self._clock = clock

    def scan(self, **request: Any) -> dict[str, Any]:
        """One Scan page: ``Items`` in wire form, ``LastEvaluatedKey``, ``ConsumedCapacity``."""
        return self.call("Scan", request)

    def batch_write_item(self, **request: Any) -> dict[str, Any]:
        """One BatchWriteItem; ``UnprocessedItems`` as the server returned them."""
        return self.call("BatchWriteItem", request)

    def batch_get_item(self, **request: Any) -> dict[str, Any]:
        """One BatchGetItem; ``Responses`` and ``UnprocessedKeys`` as the server returned them."""
        return self.call("BatchGetItem", request)

    def call(self, operation: str, request: dict[str, Any]) -> dict[str, Any]:
        """Send one request; the parsed response, after retrying transient failures."""
        from botocore.exceptions import ClientError, ConnectionError, HTTPClientError

        body = _encode(request).encode()
        outage = None
        while True:
            try:
                return self._send(operation, body)
            except (ClientError, ConnectionError, HTTPClientError, DamagedResponse) as exc:
                if isinstance(exc, ClientError) and exc.response["ResponseMetadata"]["HTTPStatusCode"] < 500:
                    raise
                outage = outage or self.spec.retry.outage(self._clock)
                pause = outage.next_pause()
                if pause is None:
                    raise Unanswered(f"{operation} to the {self.spec.role} endpoint {self.spec.address} failed "
                                     f"after {outage.describe()}: {exc}") from exc
                if outage.attempts == 1:
                    log.warning("%s to %s failed (%s), trying again for up to %.0f s", operation,
                                self.spec.address, type(exc).__name__, self.spec.retry.outage_s)
            self._sleep(pause)

    def _send(self, operation: str, body: bytes) -> dict[str, Any]:
        from botocore.exceptions import ClientError, NoCredentialsError

        if self._signer is None:
            raise NoCredentialsError()
        headers = {"Content-Type": CONTENT_TYPE, "X-Amz-Target": TARGET_PREFIX + operation}
        if self.spec.compression:
            body = gzip.compress(body)
            headers["Content-Encoding"] = "gzip"
        url = self._nodes.url_for(self.url) if self._nodes is not None else self.url
        reply = self._session.send(url, self._signer.headers(url, headers, body), body)
        expected = reply.headers.get("x-amz-crc32")
        if expected is not None and zlib.crc32(reply.content) & 0xFFFFFFFF != int(expected):
            raise DamagedResponse(f"{operation} to {url}: the response body does not match its CRC32")
        parsed = json.loads(reply.content) if reply.status == 200 else _json_or_empty(reply.content)
        if reply.status != 200:
            code = str(parsed.get("__type", f"HTTP{reply.status}")).rsplit("#", 1)[-1]
            message = parsed.get("message") or parsed.get("Message") or ""
            raise ClientError({"Error": {"Code": code, "Message": message},
                               "ResponseMetadata": {"HTTPStatusCode": reply.status}}, operation)
        return parsed  # type: ignore[no-any-return]


def _json_or_empty(content: bytes) -> dict[str, Any]:
    """An error response's JSON body, or nothing (a proxy's HTML page, an empty 503)."""
    try:
        parsed = json.loads(content)
    except ValueError:
        return {}
    return parsed if isinstance(parsed, dict) else {}


wire_client = per_spec(WireClient)  # the process's wire client for a spec, shared by its threads
