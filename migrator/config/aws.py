"""Settings shared by the AWS-flavoured blocks: credentials (A.9), endpoints and Alternator settings (A.8).

Rules kept here because sources and targets share them: Alternator needs an ``http://``/``https://``
endpoint and rejects ``assumeRole``; ``rack`` needs ``datacenter``; a ``type: dynamodb`` block that holds
Alternator-only keys gets a hint to use ``type: alternator``.
"""

from __future__ import annotations

from collections.abc import Iterator

from pydantic import Field

from migrator.config.base import ConfigModel, NonNegativeInt, Port, PositiveInt, Problem


class AssumeRole(ConfigModel):
    """An IAM role assumed once, on the driver, through STS."""

    arn: str = Field(examples=["arn:aws:iam::123456789012:role/migrator"])
    session_name: str = Field(default="scylla-migrator", alias="sessionName")


class AwsCredentials(ConfigModel):
    """Static AWS keys or a named profile (ours), optionally used to assume a role."""

    access_key: str | None = Field(default=None, alias="accessKey", examples=["${AWS_ACCESS_KEY_ID}"])
    secret_key: str | None = Field(default=None, alias="secretKey", examples=["${AWS_SECRET_ACCESS_KEY}"])
    profile: str | None = Field(default=None, examples=["migration"])
    assume_role: AssumeRole | None = Field(default=None, alias="assumeRole")

    def rule_problems(self) -> Iterator[Problem]:
        """Either both keys or a profile."""
        if self.profile is not None and (self.access_key is not None or self.secret_key is not None):
            yield "profile", "give either accessKey/secretKey or a profile, not both"
        elif self.profile is None:
            for key, value in (("accessKey", self.access_key), ("secretKey", self.secret_key)):
                if value is None:
                    yield key, f"missing required key '{key}' (or name a profile instead of the keys)"


class Endpoint(ConfigModel):
    """A service endpoint; the host may be bare or carry an ``http(s)://`` prefix."""

    host: str = Field(examples=["http://127.0.0.1"])
    port: Port = Field(examples=[8000])

    @property
    def url(self) -> str:
        """``http(s)://host:port``; a bare host gets ``http://``."""
        host = self.host if "://" in self.host else f"http://{self.host}"
        return f"{host}:{self.port}"


class AlternatorSettings(ConfigModel):
    """Client-side load balancing and connection tuning for ScyllaDB Alternator (flat in the block)."""

    datacenter: str | None = None
    rack: str | None = None
    active_refresh_interval_ms: PositiveInt | None = Field(default=None, alias="activeRefreshIntervalMs")
    idle_refresh_interval_ms: PositiveInt | None = Field(default=None, alias="idleRefreshIntervalMs")
    compression: bool | None = None
    optimize_headers: bool | None = Field(default=None, alias="optimizeHeaders")
    max_connections: PositiveInt | None = Field(default=None, alias="maxConnections")
    connection_max_idle_time_ms: NonNegativeInt | None = Field(default=None, alias="connectionMaxIdleTimeMs")
    connection_time_to_live_ms: NonNegativeInt | None = Field(default=None, alias="connectionTimeToLiveMs")
    connection_acquisition_timeout_ms: NonNegativeInt | None = Field(
        None, alias="connectionAcquisitionTimeoutMs"
    )
    connection_timeout_ms: NonNegativeInt | None = Field(default=None, alias="connectionTimeoutMs")
    max_items_per_batch: PositiveInt | None = Field(default=None, alias="maxItemsPerBatch")

    def alternator_settings(self) -> AlternatorSettings:
        """Just the Alternator settings of this block."""
        names = AlternatorSettings.model_fields
        return AlternatorSettings.model_validate({n: getattr(self, n) for n in names})


ALTERNATOR_ONLY_KEYS = frozenset([*AlternatorSettings.yaml_keys(), "removeConsumedCapacity", "alternator"])


def dynamodb_key_hint(key: str) -> str | None:
    """The hint for an Alternator-only key found in a ``type: dynamodb`` block."""
    if key in ALTERNATOR_ONLY_KEYS:
        return f"'{key}' is an Alternator setting, not accepted with type: dynamodb; use type: alternator"
    return None


def alternator_key_hint(key: str) -> str | None:
    """The hint for a nested ``alternator:`` block, which upstream rejects."""
    if key == "alternator":
        return "Alternator settings go directly in this block, not under a nested 'alternator:' key"
    return None


def alternator_problems(
    settings: AlternatorSettings, endpoint: Endpoint | None, credentials: AwsCredentials | None
) -> Iterator[Problem]:
    """The rules every Alternator source and target obeys."""
    if endpoint is None:
        yield (
            "endpoint",
            (
                "missing required key 'endpoint': Alternator needs one, "
                "for example: endpoint: {host: http://127.0.0.1, port: 8000}"
            ),
        )
    elif not endpoint.host.startswith(("http://", "https://")):
        yield (
            "endpoint.host",
            f"an Alternator endpoint host must start with http:// or https://; got '{endpoint.host}'",
        )
    if credentials is not None and credentials.assume_role is not None:
        yield "credentials.assumeRole", "assumeRole is not supported with Alternator; remove it"
    if settings.rack is not None and settings.datacenter is None:
        yield "rack", "'rack' needs 'datacenter' to be set as well"


class DynamoDBFlavour(ConfigModel):
    """What the ``dynamodb`` source and target share: Alternator-only keys are refused with a hint."""

    @property
    def remove_consumed_capacity(self) -> bool:
        """Always false for AWS DynamoDB (the setting exists for Alternator only)."""
        return False

    @classmethod
    def unknown_key_hint(cls, key: str) -> str | None:
        """Alternator-only keys are refused with a hint to use ``type: alternator``."""
        return dynamodb_key_hint(key)


class AlternatorFlavour(AlternatorSettings):
    """What the ``alternator`` source and target share: flat settings, the endpoint rules."""

    remove_consumed_capacity: bool = Field(default=True, alias="removeConsumedCapacity")

    @classmethod
    def unknown_key_hint(cls, key: str) -> str | None:
        """A nested ``alternator:`` block is refused: the settings are flat."""
        return alternator_key_hint(key)

    def rule_problems(self) -> Iterator[Problem]:
        """Endpoint with protocol, no assumeRole, rack needs datacenter."""
        return alternator_problems(self, getattr(self, "endpoint", None), getattr(self, "credentials", None))
