"""The ``target:`` block, one model per upstream ``type`` (reference A.7, A.8 and E.5).

As for sources, ``backend`` names the package in ``migrator.backends`` that writes a target (a source's
backend lists the ones it can write into) and ``type`` keeps the user's spelling.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, ClassVar, Literal

from pydantic import BeforeValidator, Discriminator, Field, Tag

from migrator.config.aws import (
    AlternatorFlavour,
    AwsCredentials,
    DynamoDBFlavour,
    Endpoint,
)
from migrator.config.base import (
    BillingMode,
    ConfigModel,
    Int,
    NonBlankStr,
    OutageTolerance,
    PositiveInt,
    ThroughputPercent,
    case_insensitive,
)
from migrator.config.cql import CqlConnection

DEFAULT_BATCH_ROWS = 100  # target.batchRows: rows per unlogged batch
DEFAULT_BATCH_BYTES = 16 * 1024  # target.batchBytes: the size cap of one batch
PARQUET_COMPRESSIONS = ("none", "uncompressed", "snappy", "gzip", "lzo", "brotli", "lz4", "zstd")
PARQUET_MODES = ("error", "overwrite", "append", "ignore")


class CassandraTarget(CqlConnection):
    """Write into an existing CQL table (``type: scylla`` or ``cassandra``); the table is never created."""

    backend: ClassVar[str] = "cassandra"

    type: Literal["scylla", "cassandra"] = "scylla"
    strip_trailing_zeros_for_decimals: bool = Field(alias="stripTrailingZerosForDecimals", examples=[False])
    write_ttl_in_s: PositiveInt | None = Field(default=None, alias="writeTTLInS")
    write_writetimestamp_in_us: Int | None = Field(default=None, alias="writeWritetimestampInuS")
    drop_null_primary_keys: bool | None = Field(default=None, alias="dropNullPrimaryKeys")
    # ours: rows per unlogged batch (grouped by replica; 1 = one request per row), and its size cap
    batch_rows: PositiveInt = Field(default=DEFAULT_BATCH_ROWS, alias="batchRows", le=65535)
    batch_bytes: PositiveInt = Field(default=DEFAULT_BATCH_BYTES, alias="batchBytes")


class KinesisStream(ConfigModel):
    """``streamChanges`` in its Kinesis Data Streams form: the source table's changes read from a Kinesis stream.

    ``appName`` names upstream's KCL lease table; positions are kept in the savepoint here, so it is
    accepted and only named in the logs.
    """

    type: Literal["kinesis"]
    stream_arn: NonBlankStr = Field(alias="streamArn",
                                    examples=["arn:aws:kinesis:us-east-1:123456789012:stream/orders"])
    initial_timestamp: dt.datetime | None = Field(default=None, alias="initialTimestamp")
    app_name: str | None = Field(default=None, alias="appName")


def _stream_form(value: Any) -> str:
    return "kinesis" if isinstance(value, dict | KinesisStream) else "flag"


StreamChanges = Annotated[
    Annotated[bool, Tag("flag")] | Annotated[KinesisStream, Tag("kinesis")],
    Discriminator(_stream_form),
]
"""``target.streamChanges``: false, true (the source table's DynamoDB Stream), or a Kinesis stream."""


class _DynamoDBTargetBase(ConfigModel):
    """Keys shared by ``type: dynamodb`` and ``type: alternator`` targets."""

    backend: ClassVar[str] = "dynamodb"

    table: NonBlankStr = Field(examples=["events"])
    endpoint: Endpoint | None = None
    region: str | None = None
    credentials: AwsCredentials | None = None
    write_throughput: PositiveInt | None = Field(default=None, alias="writeThroughput")
    throughput_write_percent: ThroughputPercent | None = Field(default=None, alias="throughputWritePercent")
    stream_changes: StreamChanges = Field(alias="streamChanges", examples=[False])
    skip_initial_snapshot_transfer: bool | None = Field(default=None, alias="skipInitialSnapshotTransfer")
    billing_mode: BillingMode | None = Field(default=None, alias="billingMode")
    outage_tolerance_seconds: OutageTolerance = None
    # source settings upstream accepts here too, where they do nothing: loaded with a warning
    scan_segments: Any = Field(default=None, alias="scanSegments")
    read_throughput: Any = Field(default=None, alias="readThroughput")
    throughput_read_percent: Any = Field(default=None, alias="throughputReadPercent")
    max_map_tasks: Any = Field(default=None, alias="maxMapTasks")

    def inert_keys(self) -> list[str]:
        """Keys set here that only a source uses (they do nothing on a target)."""
        return self.keys_set(("scan_segments", "read_throughput", "throughput_read_percent", "max_map_tasks"))


class DynamoDBTarget(_DynamoDBTargetBase, DynamoDBFlavour):
    """Write into an AWS DynamoDB table, created if missing (``type: dynamodb`` or ``dynamo``)."""

    type: Literal["dynamodb", "dynamo"] = "dynamodb"


class AlternatorTarget(_DynamoDBTargetBase, AlternatorFlavour):
    """Write into a ScyllaDB Alternator table, created if missing; the endpoint is required."""

    type: Literal["alternator"] = "alternator"


class ParquetTarget(ConfigModel):
    """Write Parquet files (one directory per run)."""

    backend: ClassVar[str] = "parquet"

    type: Literal["parquet"] = "parquet"
    path: NonBlankStr = Field(examples=["/data/export"])
    compression: Annotated[
        Literal["none", "uncompressed", "snappy", "gzip", "lzo", "brotli", "lz4", "zstd"],
        BeforeValidator(case_insensitive(*PARQUET_COMPRESSIONS)),
    ] = "snappy"
    mode: Annotated[
        Literal["error", "overwrite", "append", "ignore"],
        BeforeValidator(case_insensitive(*PARQUET_MODES)),
    ] = "error"
    # ours: where S3 is and how to reach it (upstream configures Hadoop's S3A instead)
    endpoint: Endpoint | None = None
    region: str | None = None
    credentials: AwsCredentials | None = None
    use_path_style_access: bool | None = Field(default=None, alias="usePathStyleAccess")


class DynamoDBS3ExportTarget(ConfigModel):
    """Write the DynamoDB S3-export format (manifest plus gzipped JSON lines)."""

    backend: ClassVar[str] = "s3export"

    type: Literal["dynamodb-s3-export"] = "dynamodb-s3-export"
    path: NonBlankStr = Field(examples=["s3a://bucket/exports/events"])
    # ours: where S3 is and how to reach it (upstream configures Hadoop's S3A instead)
    endpoint: Endpoint | None = None
    region: str | None = None
    credentials: AwsCredentials | None = None
    use_path_style_access: bool | None = Field(default=None, alias="usePathStyleAccess")


Target = Annotated[
    CassandraTarget | DynamoDBTarget | AlternatorTarget | ParquetTarget | DynamoDBS3ExportTarget,
    Field(discriminator="type"),
]
"""Any target block, chosen by its ``type`` key."""
