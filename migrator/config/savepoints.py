"""The ``savepoints:`` block (reference A.10): where and how often resume state is written.

Deviation from upstream: upstream requires the block for resumable sources; here it is optional and
defaults to ``{path: savepoints, intervalSeconds: 300}`` (``DEFAULT_SAVEPOINTS``), a directory relative
to the working directory. When the block is written, upstream's rules hold: ``intervalSeconds`` is
required (and must be > 0 here), and exactly one of ``path`` or ``target`` is given.

``target`` is upstream's typed alternative to ``path``: a local directory, an S3 prefix or a GCS prefix.
The store types ``hadoop``, ``target-table`` and ``target-database`` are refused, as upstream does.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, Field

from migrator.config.aws import AwsCredentials
from migrator.config.base import ConfigModel, NonBlankStr, PositiveInt, Problem, rule_error, set_keys

REFUSED_STORE_TYPES = {
    "hadoop": "use 'path' with a Hadoop URI (gs://, s3a://) instead",
    "target-table": "storing savepoints in the target table is not supported",
    "target-database": "storing savepoints in the target database is not supported",
}


def _joined(scheme: str, bucket: str, prefix: str | None) -> str:
    tail = (prefix or "").strip("/")
    return f"{scheme}://{bucket}/{tail}" if tail else f"{scheme}://{bucket}"


def _local_path(value: Any) -> Any:
    if isinstance(value, str) and "://" in value and not value.startswith("file://"):
        raise rule_error(
            [
                (
                    "",
                    "a filesystem store takes a local path (file:// is accepted); "
                    "use type: s3 or gcs for buckets",
                )
            ]
        )
    return value


class FilesystemStore(ConfigModel):
    """Savepoints in a local directory (on the driver)."""

    type: Literal["filesystem", "path"] = "filesystem"
    path: Annotated[NonBlankStr, BeforeValidator(_local_path)] = Field(examples=["/app/savepoints"])

    @property
    def location(self) -> str:
        """The directory, without a ``file://`` prefix."""
        return self.path.removeprefix("file://")


class S3Store(ConfigModel):
    """Savepoints under an S3 prefix (written through S3A)."""

    type: Literal["s3", "aws-s3", "aws-bucket"] = "s3"
    bucket: NonBlankStr = Field(examples=["my-bucket"])
    prefix: str | None = None
    region: str | None = None
    credentials: AwsCredentials | None = None

    @property
    def location(self) -> str:
        """``s3a://bucket/prefix``."""
        return _joined("s3a", self.bucket, self.prefix)


class GcsCredentials(ConfigModel):
    """A service-account key file for Google Cloud Storage."""

    service_account_json_keyfile: str | None = Field(default=None, alias="serviceAccountJsonKeyfile")


class GcsStore(ConfigModel):
    """Savepoints under a Google Cloud Storage prefix."""

    type: Literal["gcs", "gcp", "google-cloud-storage", "google-gcs"] = "gcs"
    bucket: NonBlankStr = Field(examples=["my-bucket"])
    prefix: str | None = None
    project_id: str | None = Field(default=None, alias="projectId")
    credentials: GcsCredentials | None = None

    @property
    def location(self) -> str:
        """``gs://bucket/prefix``."""
        return _joined("gs", self.bucket, self.prefix)


def _refuse_store_types(value: Any) -> Any:
    if isinstance(value, dict) and value.get("type") in REFUSED_STORE_TYPES:
        kind = value["type"]
        raise rule_error(
            [("type", f"savepoint store type '{kind}' is not supported; {REFUSED_STORE_TYPES[kind]}")]
        )
    return value


SavepointStore = Annotated[
    FilesystemStore | S3Store | GcsStore,
    Field(discriminator="type"),
    BeforeValidator(_refuse_store_types),
]


class Savepoints(ConfigModel):
    """How often, and where, resume state is written (see the module docstring for the default)."""

    path: str | None = Field(default=None, examples=["savepoints"])
    interval_seconds: PositiveInt = Field(alias="intervalSeconds", examples=[300])
    target: SavepointStore | None = None
    enable_parquet_file_tracking: bool = Field(default=True, alias="enableParquetFileTracking")
    auto_resume: bool | None = Field(default=None, alias="autoResume")

    @property
    def location(self) -> str:
        """The directory or URI savepoint files go to."""
        return self.target.location if self.target is not None else self.path or ""

    def rule_problems(self) -> Iterator[Problem]:
        """Exactly one of path and target."""
        given = set_keys(self, "path", "target")
        if len(given) == 2:
            yield "target", "give either 'path' or 'target', not both"
        elif not given:
            yield "path", "missing required key 'path' (or 'target'); for example: path: savepoints"
        elif self.path is not None and not self.path.strip():
            yield "path", "must not be empty"


DEFAULT_SAVEPOINTS = Savepoints(path="savepoints", intervalSeconds=300)
