"""Connecting to DynamoDB or ScyllaDB Alternator with boto3: one picklable ``ClientSpec`` per side.

The driver turns a config block into a ``ClientSpec`` (``spec_from_settings``): endpoint, region and
credentials, with an ``assumeRole`` already exchanged for temporary keys through STS, once, on the
driver (as upstream does; the keys are not refreshed, so a run longer than the STS session fails with
an expired-token error). Executors build their clients from the spec (``client``), one per process
and spec, so credentials never have to be looked up again on a worker. The secret fields are left
out of the spec's ``repr``, so a spec in a log line or a traceback shows no secret.

Alternator specifics are client settings, not separate code paths:

* ``removeConsumedCapacity`` (default true for Alternator) strips ``ReturnConsumedCapacity`` from
  every request, which ScyllaDB 2025.x otherwise refuses for some requests;
* ``maxConnections`` and ``connectionTimeoutMs`` map onto the botocore client configuration, and
  ``compression`` gzips request bodies (before they are signed);
* client-side load balancing (``AlternatorNodes``): every request goes to the next live node of the
  datacenter (and rack) in turn, the node list read from Alternator's ``/localnodes`` at the seed
  endpoint and refreshed every ``activeRefreshIntervalMs`` (10 s by default). A server without
  ``/localnodes`` (a single node, a DynamoDB emulator) keeps every request on the seed endpoint.
"""

from __future__ import annotations

import gzip
import json
import logging
import os
import threading
import time
import urllib.parse
import urllib.request
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from migrator.errors import RuntimeFailure
from migrator.retry import RetryPolicy

log = logging.getLogger(__name__)

DEFAULT_REGION = "us-east-1"  # signing region when only an endpoint is given (local servers, Alternator)
CONNECT_TIMEOUT_S = 10.0
READ_TIMEOUT_S = 60.0
SDK_ATTEMPTS = 4  # botocore's own tries per request (connection errors, 5xx, throttling), before ours
NODES_REFRESH_S = 10.0
NODES_TIMEOUT_S = 5.0

T = TypeVar("T")
K = TypeVar("K", bound=Hashable)


@dataclass(frozen=True)
class ClientSpec:
    """Everything an executor needs to open a client to one side; picklable, secrets out of ``repr``."""

    role: str  # "source" or "target", for messages
    endpoint: str | None  # http(s)://host:port, or None for AWS's own endpoint of the region
    region: str | None
    alternator: bool = False
    remove_consumed_capacity: bool = False
    max_connections: int | None = None
    connect_timeout_s: float = CONNECT_TIMEOUT_S
    compression: bool = False
    datacenter: str | None = None  # Alternator load balancing: route to this datacenter's nodes (and rack's)
    rack: str | None = None
    nodes_refresh_s: float = NODES_REFRESH_S
    profile: str | None = None  # a named profile of the AWS config files (on every machine of the job)
    access_key: str | None = field(default=None, repr=False)
    secret_key: str | None = field(default=None, repr=False)
    session_token: str | None = field(default=None, repr=False)
    retry: RetryPolicy = field(default_factory=RetryPolicy)

    @property
    def address(self) -> str:
        """Where the side is, for messages: the endpoint, or the AWS region."""
        return self.endpoint or f"AWS DynamoDB in {self.region or 'the default region'}"


def spec_from_settings(role: str, settings: Any) -> ClientSpec:
    """The spec of a ``dynamodb`` / ``alternator`` block; assumes its role through STS (on the driver)."""
    endpoint = settings.endpoint.url if settings.endpoint is not None else None
    region = settings.region or os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")
    if region is None and endpoint is not None:
        region = DEFAULT_REGION
    alternator = settings.type == "alternator"
    spec = ClientSpec(
        role=role,
        endpoint=endpoint,
        region=region,
        alternator=alternator,
        remove_consumed_capacity=bool(getattr(settings, "remove_consumed_capacity", False)),
        max_connections=getattr(settings, "max_connections", None),
        connect_timeout_s=_millis(getattr(settings, "connection_timeout_ms", None), CONNECT_TIMEOUT_S),
        compression=bool(getattr(settings, "compression", None)),
        datacenter=getattr(settings, "datacenter", None),
        rack=getattr(settings, "rack", None),
        nodes_refresh_s=_millis(getattr(settings, "active_refresh_interval_ms", None), NODES_REFRESH_S),
        retry=RetryPolicy.of(getattr(settings, "outage_tolerance_seconds", None)),
    )
    creds = settings.credentials
    if creds is None:
        return spec  # the default chain: environment, AWS_PROFILE, instance role
    keys: dict[str, Any] = {"access_key": creds.access_key, "secret_key": creds.secret_key, "profile": creds.profile}
    if creds.assume_role is not None:
        keys = _assume_role(ClientSpec(**{**spec.__dict__, **keys}), creds.assume_role.arn,
                            creds.assume_role.session_name)
    return ClientSpec(**{**spec.__dict__, **keys})


def _millis(value: int | None, default: float) -> float:
    return value / 1000 if value else default


def _assume_role(spec: ClientSpec, arn: str, session_name: str) -> dict[str, Any]:
    import botocore.exceptions

    sts = _session(spec).client("sts", endpoint_url=spec.endpoint, region_name=spec.region,
                                aws_access_key_id=spec.access_key, aws_secret_access_key=spec.secret_key)
    try:
        creds = sts.assume_role(RoleArn=arn, RoleSessionName=session_name)["Credentials"]
    except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as exc:
        raise RuntimeFailure(f"{spec.role}: assuming role {arn} failed: {exc}",
                             hint=f"check {spec.role}.credentials.assumeRole.arn and that the keys may assume it",
                             ) from None
    return {"access_key": creds["AccessKeyId"], "secret_key": creds["SecretAccessKey"],
            "session_token": creds["SessionToken"], "profile": None}


def _session(spec: ClientSpec) -> Any:
    """A boto3 session: of the spec's profile, else the default one."""
    import boto3
    import botocore.exceptions

    if spec.profile is None:
        return boto3.session.Session()
    try:
        return boto3.session.Session(profile_name=spec.profile)
    except botocore.exceptions.ProfileNotFound:
        raise RuntimeFailure(f"{spec.role}: the AWS profile {spec.profile!r} is not in this machine's AWS config files",
                             hint=f"fix {spec.role}.credentials.profile, or create the profile on every machine "
                                  "of the job (driver and executors)") from None


def credentials_of(spec: ClientSpec) -> Any:
    """Botocore credentials for ``spec``: its keys, else its profile's or the default chain's (or None)."""
    if spec.access_key is not None and spec.secret_key is not None:
        from botocore.credentials import Credentials

        return Credentials(spec.access_key, spec.secret_key, spec.session_token)
    return _session(spec).get_credentials()


def per_spec(make: Callable[[K], T]) -> Callable[[K], T]:
    """``make(spec)`` made once per spec (any hashable spec) and process, on first use, and shared (thread-safe)."""
    made: dict[K, T] = {}
    lock = threading.Lock()

    def get(spec: K) -> T:
        with lock:
            if spec not in made:
                made[spec] = make(spec)
            return made[spec]

    get.__doc__ = f"The process's shared ``{make.__name__}`` for ``spec``, made on first use."
    return get


def new_client(spec: ClientSpec) -> Any:
    """A new boto3 DynamoDB client for ``spec``, with its Alternator request hooks registered."""
    from botocore.config import Config

    config = Config(
        connect_timeout=spec.connect_timeout_s,
        read_timeout=READ_TIMEOUT_S,
        retries={"mode": "standard", "max_attempts": SDK_ATTEMPTS},
        max_pool_connections=spec.max_connections or 50,
    )
    made = _session(spec).client(
        "dynamodb", endpoint_url=spec.endpoint, region_name=spec.region, config=config,
        aws_access_key_id=spec.access_key, aws_secret_access_key=spec.secret_key,
        aws_session_token=spec.session_token,
    )
    if spec.remove_consumed_capacity:
        made.meta.events.register("provide-client-params.dynamodb.*", strip_consumed_capacity)
    if spec.compression:
        made.meta.events.register("before-sign.dynamodb.*", gzip_body)
    if spec.alternator and spec.endpoint is not None:
        made.meta.events.register("before-sign.dynamodb.*", AlternatorNodes(spec).route)
    return made


client = per_spec(new_client)  # the process's boto3 DynamoDB client for a spec


def service_client(spec: ClientSpec, service: str, **settings: Any) -> Any:
    """A boto3 client of another service (``dynamodbstreams``, ``kinesis``, ``s3``) at the spec's endpoint.

    ``settings`` are more botocore ``Config`` keys, e.g. ``s3={"addressing_style": "path"}``.
    """
    from botocore.config import Config

    config = Config(connect_timeout=spec.connect_timeout_s, read_timeout=READ_TIMEOUT_S,
                    retries={"mode": "standard", "max_attempts": SDK_ATTEMPTS}, **settings)
    return _session(spec).client(
        service, endpoint_url=spec.endpoint, region_name=spec.region, config=config,
        aws_access_key_id=spec.access_key, aws_secret_access_key=spec.secret_key,
        aws_session_token=spec.session_token,
    )


def strip_consumed_capacity(params: dict[str, Any], **_: Any) -> None:
    """A botocore hook: drop ``ReturnConsumedCapacity`` from a request's parameters (Alternator)."""
    params.pop("ReturnConsumedCapacity", None)


def gzip_body(request: Any, **_: Any) -> None:
    """A botocore hook run before signing: send the body gzip-compressed (Alternator's ``compression``)."""
    body = request.body
    if isinstance(body, str):
        body = body.encode()
    if body and "Content-Encoding" not in request.headers:
        request.data = gzip.compress(body)
        request.headers["Content-Encoding"] = "gzip"


class AlternatorNodes:
    """Alternator's client-side load balancing: each request to the next live node, in turn.

    The node list comes from ``GET <seed>/localnodes`` (optionally ``?dc=<datacenter>&rack=<rack>``), a
    JSON list of addresses, and is read again every ``nodes_refresh_s``. Until a list arrives, or when
    the server has no such endpoint, requests go to the seed endpoint. Thread-safe: one object serves
    a client shared by a task's threads.
    """

    def __init__(self, spec: ClientSpec, *, fetch: Callable[[str], Any] | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        assert spec.endpoint is not None
        self.seed = urllib.parse.urlsplit(spec.endpoint)
        query = {k: v for k, v in (("dc", spec.datacenter), ("rack", spec.rack)) if v}
        self.url = f"{spec.endpoint}/localnodes" + (f"?{urllib.parse.urlencode(query)}" if query else "")
        self.refresh_s = spec.nodes_refresh_s
        self._fetch = fetch or _get_json
        self._clock = clock
        self._lock = threading.Lock()
        self.nodes: list[str] = []
        self._next = 0
        self._due = 0.0
        self._warned = False

    def pick(self) -> str | None:
        """The host of the next node (None: the seed's), refreshing the list when it is due."""
        with self._lock:
            if self._clock() >= self._due:
                self._due = self._clock() + self.refresh_s
                self._refresh()
            if not self.nodes:
                return None
            self._next = (self._next + 1) % len(self.nodes)
            return self.nodes[self._next]

    def _refresh(self) -> None:
        try:
            found = self._fetch(self.url)
        except Exception as exc:  # an emulator, or a node down: keep what we had
            if not self._warned:
                log.info("Alternator load balancing: %s unavailable (%s); requests go to the endpoint given",
                         self.url, exc)
                self._warned = True
            return
        if isinstance(found, list) and all(isinstance(n, str) and n for n in found):
            self.nodes = sorted(found)

    def route(self, request: Any, **_: Any) -> None:
        """A botocore hook run before signing: send the request to the next node (same scheme and port)."""
        request.url = self.url_for(request.url)

    def url_for(self, url: str) -> str:
        """``url`` pointed at the next node (same scheme, port and path); unchanged while there is no list."""
        host = self.pick()
        if host is None:
            return url
        parts = urllib.parse.urlsplit(url)
        netloc = f"[{host}]" if ":" in host else host
        if self.seed.port is not None:
            netloc = f"{netloc}:{self.seed.port}"
        return urllib.parse.urlunsplit(parts._replace(netloc=netloc))


def _get_json(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=NODES_TIMEOUT_S) as response:
        return json.loads(response.read().decode())
