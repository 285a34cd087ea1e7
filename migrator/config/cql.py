"""Connection settings shared by CQL (Cassandra/ScyllaDB) sources and targets.

Upstream keys (reference A.1, A.7): host, port, localDC, credentials, sslOptions, cloud, keyspace, table,
connections, consistencyLevel; ours: requestTimeoutMs and outageToleranceSeconds (``migrator.retry``).
Rules: ``keyspace`` and ``table`` are exact, case-sensitive names (``MyKs`` is the keyspace created as
``"MyKs"``), so CQL's double quotes around one are refused; host and port are required unless
``cloud`` is given, and ``cloud`` cannot be combined with host, port, localDC or sslOptions (the
secure bundle carries all of them).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Annotated, Any

from pydantic import BeforeValidator, Field

from migrator.config.base import (
    ConfigModel,
    ConsistencyLevel,
    Host,
    NonBlankStr,
    OutageTolerance,
    Port,
    PositiveInt,
    Problem,
    rule_failure,
    set_keys,
)

MAX_REQUEST_TIMEOUT_MS = 3_600_000
RequestTimeoutMs = Annotated[PositiveInt, Field(le=MAX_REQUEST_TIMEOUT_MS)]

DEFAULT_ENABLED_ALGORITHMS = ("TLS_RSA_WITH_AES_128_CBC_SHA", "TLS_RSA_WITH_AES_256_CBC_SHA")
"""Upstream's default cipher list, deliberately narrower than the connector's."""


def _exact_name(value: Any) -> Any:
    """Keyspace and table names are exact; CQL's double quotes around one are refused, not stripped."""
    if isinstance(value, str) and len(value) >= 2 and value.startswith('"') and value.endswith('"'):
        raise rule_failure(
            f"names here are exact and case-sensitive, without CQL quotes: write {value[1:-1]} (the YAML "
            f"value {value}, quotes included, is what was read)"
        )
    return value


CqlName = Annotated[NonBlankStr, BeforeValidator(_exact_name)]


class Credentials(ConfigModel):
    """Username and password authentication (``PasswordAuthenticator``)."""

    username: str = Field(examples=["cassandra"])
    password: str = Field(examples=["${CASSANDRA_PASSWORD}"])


class SSLOptions(ConfigModel):
    """TLS settings; store files must be readable on every worker (``spark-submit --files``)."""

    enabled: bool = Field(examples=[True])
    client_auth_enabled: bool = Field(alias="clientAuthEnabled", examples=[False])
    trust_store_path: str | None = Field(default=None, alias="trustStorePath")
    trust_store_password: str | None = Field(default=None, alias="trustStorePassword")
    trust_store_type: str = Field(default="JKS", alias="trustStoreType")
    key_store_path: str | None = Field(default=None, alias="keyStorePath")
    key_store_password: str | None = Field(default=None, alias="keyStorePassword")
    key_store_type: str = Field(default="JKS", alias="keyStoreType")
    protocol: str = "TLS"
    enabled_algorithms: list[str] = Field(
        default_factory=lambda: list(DEFAULT_ENABLED_ALGORITHMS), alias="enabledAlgorithms"
    )
    # Ours, not upstream's: the Spark Cassandra Connector never checks host names, so neither do we by default.
    hostname_validation: bool = Field(default=False, alias="hostnameValidation", examples=[True])


_SCHEME = re.compile(r"^(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*)://(?P<rest>.*)$")
_BUNDLE_SCHEMES = ("https", "s3", "s3a", "file")


def _bundle_path(value: Any) -> Any:
    if not isinstance(value, str):
        return value
    match = _SCHEME.match(value)
    if match:
        scheme = match.group("scheme").lower()
        authority = match.group("rest").split("/", 1)[0]
        if scheme not in _BUNDLE_SCHEMES:
            raise rule_failure(
                f"unsupported scheme '{scheme}://'; use an absolute path, a bare file name shipped with "
                "spark-submit --files, or an https://, s3://, s3a:// or file:// URL"
            )
        if "@" in authority:
            raise rule_failure("credentials inside the URL are not accepted; remove the 'user@' part")
        if "?" in value:
            raise rule_failure("query strings are not accepted in the bundle URL")
        return value
    if "/" in value and not value.startswith("/"):
        raise rule_failure(
            f"'{value}' is a relative path; give an absolute path, or a bare file name shipped with "
            "spark-submit --files"
        )
    return value


class CloudConfig(ConfigModel):
    """DataStax Astra: connect with a secure-connect bundle instead of host and port."""

    secure_bundle_path: Annotated[str, BeforeValidator(_bundle_path)] = Field(
        alias="secureBundlePath", examples=["/app/secure-connect-db.zip"]
    )


class CqlConnection(ConfigModel):
    """Where a CQL table lives and how to talk to its cluster (base of the CQL source and target)."""

    host: Host | None = Field(default=None, examples=["127.0.0.1"])
    port: Port | None = Field(default=None, examples=[9042])
    local_dc: str | None = Field(default=None, alias="localDC")
    credentials: Credentials | None = None
    ssl_options: SSLOptions | None = Field(default=None, alias="sslOptions")
    cloud: CloudConfig | None = None
    keyspace: CqlName = Field(examples=["demo"])
    table: CqlName = Field(examples=["events"])
    connections: PositiveInt | None = None
    request_timeout_ms: RequestTimeoutMs | None = Field(default=None, alias="requestTimeoutMs", examples=[60000])
    consistency_level: ConsistencyLevel = Field(alias="consistencyLevel", examples=["LOCAL_QUORUM"])
    outage_tolerance_seconds: OutageTolerance = None

    @property
    def contact_host(self) -> str | None:
        """The host as the driver wants it (brackets around an IPv6 address removed)."""
        if self.host and self.host.startswith("[") and self.host.endswith("]"):
            return self.host[1:-1]
        return self.host

    def rule_problems(self) -> Iterator[Problem]:
        """Cloud excludes host/port/localDC/sslOptions; without cloud, host and port are required."""
        if self.cloud is not None:
            for key in set_keys(self, "host", "port", "local_dc", "ssl_options"):
                yield (
                    key,
                    (
                        f"'{key}' cannot be combined with 'cloud' (the secure bundle carries the contact "
                        "points and TLS settings); remove one of them"
                    ),
                )
            return
        if self.host is None:
            yield (
                "host",
                "missing required key 'host' (or give cloud.secureBundlePath); for example: 127.0.0.1",
            )
        if self.port is None:
            yield "port", "missing required key 'port' (or give cloud.secureBundlePath); for example: 9042"
