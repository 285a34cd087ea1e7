"""The ``migratorState:`` block: our own bookkeeping, written into savepoints (not an upstream key).

It records what the savepoint was written for (so a resume against another source, target or ring
splitting can be refused) and how far the run got. Every key is optional; a hand-written config
normally has no such block.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal, Self

from pydantic import (
    BeforeValidator,
    Field,
    ModelWrapValidatorHandler,
    PrivateAttr,
    field_serializer,
    field_validator,
    model_validator,
)

from migrator.config.base import ConfigModel, Int, NonBlankStr, NonNegativeInt, SegmentCount, SegmentNumber, SplitCount
from migrator.config.tokens import (
    TokenType,
    declared_token_type,
    encode_token_ranges,
    infer_token_type,
    parse_token_ranges,
)


class FinishedWork(ConfigModel):
    """The work a savepoint records as finished: ranges, segments, Parquet files, S3-export data files.

    ``skipTokenRanges``, ``skipSegments``, ``skipParquetFiles`` as upstream, and our ``skipExportFiles``.
    Top-level keys of a one-table savepoint (upstream's), and of each table's entry in a many-table one.
    ``skip_token_ranges`` holds the finished ranges as ``(start, end)`` integers in the order written;
    ``token_type`` says how they are encoded in YAML.
    """

    skip_token_ranges: Annotated[list[tuple[int, int]], BeforeValidator(parse_token_ranges)] = Field(
        default_factory=list, alias="skipTokenRanges"
    )
    skip_segments: list[SegmentNumber] = Field(default_factory=list, alias="skipSegments")
    skip_parquet_files: list[str] = Field(default_factory=list, alias="skipParquetFiles")
    skip_export_files: list[str] = Field(default_factory=list, alias="skipExportFiles")  # ours: S3-export data files

    _token_type: TokenType = PrivateAttr(default="long")

    @model_validator(mode="wrap")
    @classmethod
    def _remember_token_type(cls, data: Any, handler: ModelWrapValidatorHandler[Self]) -> Self:
        """Keep the token type written in the file, which the plain integer pairs cannot carry."""
        model = handler(data)
        encoded = (
            data.get("skipTokenRanges", data.get("skip_token_ranges")) if isinstance(data, dict) else None
        )
        model._token_type = declared_token_type(encoded) or infer_token_type(model.skip_token_ranges)
        return model

    @field_serializer("skip_token_ranges")
    def _encode_token_ranges(self, ranges: list[tuple[int, int]]) -> list[list[dict[str, Any]]]:
        return encode_token_ranges(ranges, self.token_type)

    @field_validator("skip_segments")
    @classmethod
    def _segment_set(cls, value: list[int]) -> list[int]:
        return sorted(set(value))

    @field_validator("skip_parquet_files", "skip_export_files")
    @classmethod
    def _file_set(cls, value: list[str]) -> list[str]:
        return sorted(set(value))

    @property
    def token_type(self) -> TokenType:
        """``long`` (Murmur3Partitioner) or ``bigint`` (RandomPartitioner), as written in the file.

        Without an explicit type (bare integers, or no ranges): ``bigint`` when a token does not fit a
        long, else ``long``.
        """
        return self._token_type

    def finished_work(self) -> dict[str, Any]:
        """The lists as model fields, to carry them into another model (``model_copy(update=...)``)."""
        return {"skip_token_ranges": self.skip_token_ranges, "skip_segments": self.skip_segments,
                "skip_parquet_files": self.skip_parquet_files, "skip_export_files": self.skip_export_files}


class MigratorState(ConfigModel):
    """Identity and progress of the run that wrote a savepoint."""

    kind: Literal["migrate", "validate"] | None = None
    command: Literal["migrate", "validate", "diff"] | None = None  # what resumes it (diff runs a validate)
    source_identity: str | None = Field(default=None, alias="sourceIdentity")
    target_identity: str | None = Field(default=None, alias="targetIdentity")
    partitioner: str | None = None
    split_count: SplitCount | None = Field(default=None, alias="splitCount")
    total_segments: SegmentCount | None = Field(default=None, alias="totalSegments")  # DynamoDB scan segments
    rows_copied: NonNegativeInt | None = Field(default=None, alias="rowsCopied")
    ranges_done: NonNegativeInt | None = Field(default=None, alias="rangesDone")
    ranges_total: NonNegativeInt | None = Field(default=None, alias="rangesTotal")
    counts: dict[str, Int] | None = None
    written_at: str | None = Field(default=None, alias="writtenAt")
    report: dict[str, Any] | None = None  # validate: the partial report so far, to resume it exactly
    failure: str | None = None  # a many-table run's table that stopped on an error: why (its work is unfinished)
    tables: dict[NonBlankStr, TableProgress] | None = None  # a many-table run: each table's own, by source name
    stream: dict[str, Any] | None = None  # streamChanges: the backend's stream positions (migrator.streaming)
    export_etag: str | None = Field(default=None, alias="exportEtag")  # an S3 export's summary: the files' export
    parquet_run: str | None = Field(default=None, alias="parquetRun")  # CQL -> Parquet: the files' name tag
    parquet_files: dict[str, str] | None = Field(default=None, alias="parquetFiles")  # Parquet -> CQL: file versions


class TableProgress(FinishedWork):
    """One table's part of a many-table savepoint: its target, finished work and ``migratorState``."""

    target: NonBlankStr | None = None
    migrator_state: MigratorState | None = Field(default=None, alias="migratorState")


MigratorState.model_rebuild()
