"""The ``source:`` block, one model per upstream ``type`` (reference A.1 to A.6).

Each model carries flags instead of making callers test types: ``backend`` names the package in
``migrator.backends`` that serves it (``backends.base.backend_for`` imports it by that name; a name with
no package there is refused as "not supported yet"), and ``supports_savepoints`` records whether
upstream can resume such a source (what this version does is its backend's
``capabilities.resumable``). ``type`` keeps the spelling the user wrote (``scylla`` or ``cassandra``,
``dynamo`` or ``dynamodb``). This package imports no backend.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated, Any, ClassVar, Literal

from pydantic import BeforeValidator, Field

from migrator.config.aws import (
    AlternatorFlavour,
    AwsCredentials,
    DynamoDBFlavour,
    Endpoint,
)
from migrator.config.base import (
    BillingMode,
    ConfigModel,
    NonBlankStr,
    OutageTolerance,
    PositiveInt,
    Problem,
    SplitCount,
    ThroughputPercent,
    case_insensitive,
)
from migrator.config.cql import CqlConnection
from migrator.config.mysql import MySQLSource


class CassandraSource(CqlConnection):
    """Read one CQL table token range by token range (``type: cassandra`` or ``scylla``)."""

    backend: ClassVar[str] = "cassandra"
    supports_savepoints: ClassVar[bool] = True

    type: Literal["cassandra", "scylla"] = "cassandra"
    split_count: SplitCount | None = Field(default=None, alias="splitCount")
    fetch_size: PositiveInt = Field(alias="fetchSize", examples=[1000])
    preserve_timestamps: bool = Field(alias="preserveTimestamps", examples=[False])
    where: str | None = None
    include: list[NonBlankStr] = Field(default_factory=list, examples=[["orders*"]])  # many tables: keep these
    exclude: list[NonBlankStr] = Field(default_factory=list, examples=[["*_tmp"]])  # many tables: drop these


class ParquetSource(ConfigModel):
    """Read Parquet files from a local directory/file or S3."""

    backend: ClassVar[str] = "parquet"
    supports_savepoints: ClassVar[bool] = True

    type: Literal["parquet"] = "parquet"
    path: NonBlankStr = Field(examples=["s3a://bucket/export/"])
    credentials: AwsCredentials | None = None
    region: str | None = None
    endpoint: Endpoint | None = None  # ours: the S3 endpoint (upstream used it for STS only)
    use_path_style_access: bool | None = Field(default=None, alias="usePathStyleAccess")  # ours


class _DynamoDBSourceBase(ConfigModel):
    """Keys shared by ``type: dynamodb`` and ``type: alternator`` sources."""

    backend: ClassVar[str] = "dynamodb"
    supports_savepoints: ClassVar[bool] = True

    table: NonBlankStr = Field(examples=["events"])
    include: list[NonBlankStr] = Field(default_factory=list, examples=[["app_*"]])  # many tables: keep these
    exclude: list[NonBlankStr] = Field(default_factory=list, examples=[["*_tmp"]])  # many tables: drop these
    endpoint: Endpoint | None = None
    region: str | None = None
    credentials: AwsCredentials | None = None
    scan_segments: PositiveInt | None = Field(default=None, alias="scanSegments")
    read_throughput: PositiveInt | None = Field(default=None, alias="readThroughput")
    throughput_read_percent: ThroughputPercent | None = Field(default=None, alias="throughputReadPercent")
    max_map_tasks: PositiveInt | None = Field(default=None, alias="maxMapTasks")
    outage_tolerance_seconds: OutageTolerance = None
    # target settings upstream accepts here too, where they do nothing: loaded with a warning
    write_throughput: Any = Field(default=None, alias="writeThroughput")
    throughput_write_percent: Any = Field(default=None, alias="throughputWritePercent")
    stream_changes: Any = Field(default=None, alias="streamChanges")
    skip_initial_snapshot_transfer: Any = Field(default=None, alias="skipInitialSnapshotTransfer")
    billing_mode: Any = Field(default=None, alias="billingMode")

    def inert_keys(self) -> list[str]:
        """Keys set here that only a target uses (they do nothing on a source)."""
        return self.keys_set(("write_throughput", "throughput_write_percent", "stream_changes",
                              "skip_initial_snapshot_transfer", "billing_mode"))


class DynamoDBSource(_DynamoDBSourceBase, DynamoDBFlavour):
    """Scan an AWS DynamoDB table (``type: dynamodb`` or ``dynamo``)."""

    type: Literal["dynamodb", "dynamo"] = "dynamodb"


class AlternatorSource(_DynamoDBSourceBase, AlternatorFlavour):
    """Scan a ScyllaDB Alternator table; the endpoint is required."""

    type: Literal["alternator"] = "alternator"


class AttributeDefinition(ConfigModel):
    """A key attribute of the table to create from an S3 export."""

    name: NonBlankStr = Field(examples=["id"])
    type: Annotated[Literal["S", "N", "B"], BeforeValidator(case_insensitive("S", "N", "B"))] = Field(
        examples=["S"]
    )


class KeySchemaElement(ConfigModel):
    """One element of the key schema: the partition (HASH) or sort (RANGE) key."""

    name: NonBlankStr = Field(examples=["id"])
    type: Annotated[Literal["HASH", "RANGE"], BeforeValidator(case_insensitive("HASH", "RANGE"))] = Field(
        examples=["HASH"]
    )


class ProvisionedThroughput(ConfigModel):
    """Read and write capacity of a provisioned table."""

    read_capacity_units: PositiveInt = Field(alias="readCapacityUnits", examples=[100])
    write_capacity_units: PositiveInt = Field(alias="writeCapacityUnits", examples=[100])


class TableDescription(ConfigModel):
    """The table an S3 export is loaded into (the export itself does not describe it)."""

    attribute_definitions: list[AttributeDefinition] = Field(
        alias="attributeDefinitions", examples=[[{"name": "id", "type": "S"}]]
    )
    key_schema: list[KeySchemaElement] = Field(alias="keySchema", examples=[[{"name": "id", "type": "HASH"}]])
    billing_mode: BillingMode | None = Field(default=None, alias="billingMode")
    provisioned_throughput: ProvisionedThroughput | None = Field(default=None, alias="provisionedThroughput")

    def rule_problems(self) -> Iterator[Problem]:
        """Exactly one HASH key, at most one RANGE key, each defined in attributeDefinitions."""
        kinds = [element.type for element in self.key_schema]
        if kinds.count("HASH") != 1 or kinds.count("RANGE") > 1:
            yield "keySchema", "needs exactly one HASH key and at most one RANGE key"
        defined = {a.name for a in self.attribute_definitions}
        for index, element in enumerate(self.key_schema):
            if element.name not in defined:
                yield (
                    f"keySchema[{index}].name",
                    f"'{element.name}' is not listed in attributeDefinitions; add it there with its type",
                )


class DynamoDBS3ExportSource(ConfigModel):
    """Load a DynamoDB export to S3 (``manifest-summary.json`` and its data files)."""

    backend: ClassVar[str] = "s3export"
    supports_savepoints: ClassVar[bool] = True  # per data file (upstream has none)

    type: Literal["dynamodb-s3-export"] = "dynamodb-s3-export"
    bucket: NonBlankStr = Field(examples=["my-exports"])
    manifest_key: NonBlankStr = Field(
        alias="manifestKey", examples=["AWSDynamoDB/01234567890123-abcdefgh/manifest-summary.json"]
    )
    table_description: TableDescription = Field(alias="tableDescription")
    endpoint: Endpoint | None = None
    region: str | None = None
    credentials: AwsCredentials | None = None
    use_path_style_access: bool | None = Field(default=None, alias="usePathStyleAccess")


Source = Annotated[
    CassandraSource
    | ParquetSource
    | DynamoDBSource
    | AlternatorSource
    | DynamoDBS3ExportSource
    | MySQLSource,
    Field(discriminator="type"),
]
"""Any source block, chosen by its ``type`` key."""
