"""``MigratorConfig``: the whole configuration file, and the rules that span its blocks.

Top-level keys, as upstream (reference A): ``source``, ``target``, ``renames``, ``savepoints``,
``skipTokenRanges``, ``skipSegments``, ``skipParquetFiles``, ``validation``, plus our own
``reconcile`` and ``migratorState``. ``model_dump(by_alias=True, exclude_none=True)`` gives a tree
that loads back into an equal model (a literal ``${`` in a value is dumped as ``$${``).

Parse-time rejections from upstream (reference 0.1): an Alternator source cannot stream changes nor
feed a ``dynamodb-s3-export`` target; an S3-export source cannot stream changes.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated, Any

from pydantic import (
    BeforeValidator,
    Field,
    ModelWrapValidatorHandler,
    PrivateAttr,
    SerializerFunctionWrapHandler,
    field_serializer,
    field_validator,
    model_serializer,
    model_validator,
)

from migrator.config.base import ConfigModel, NonBlankStr, Problem, SegmentNumber
from migrator.config.envvars import escape_tree, expand_string
from migrator.config.reconcile import ApplyCheckpointState, ReconcileSettings
from migrator.config.savepoints import DEFAULT_SAVEPOINTS, Savepoints
from migrator.config.secrets import secret_values_in
from migrator.config.source import AlternatorSource, DynamoDBS3ExportSource, Source
from migrator.config.state import MigratorState
from migrator.config.target import CassandraTarget, DynamoDBS3ExportTarget, Target
from migrator.config.tokens import (
    TokenType,
    declared_token_type,
    encode_token_ranges,
    infer_token_type,
    parse_token_ranges,
)
from migrator.config.validation import ValidationSettings


class Rename(ConfigModel):
    """Rename a column (CQL) or attribute (DynamoDB) on the way to the target."""

    from_: NonBlankStr = Field(alias="from", examples=["old_name"])
    to: NonBlankStr = Field(examples=["new_name"])


class MigratorConfig(ConfigModel):
    """A validated configuration, with every ``${VAR}`` already expanded.

    ``skip_token_ranges`` holds the finished ranges as ``(start, end)`` integers in the order written;
    ``token_type`` says how they are encoded in YAML.
    """

    source: Source
    target: Target
    renames: list[Rename] = Field(default_factory=list)
    savepoints: Savepoints = Field(default_factory=lambda: DEFAULT_SAVEPOINTS)
    skip_token_ranges: Annotated[list[tuple[int, int]], BeforeValidator(parse_token_ranges)] = Field(
        default_factory=list, alias="skipTokenRanges"
    )
    skip_segments: list[SegmentNumber] = Field(default_factory=list, alias="skipSegments")
    skip_parquet_files: list[str] = Field(default_factory=list, alias="skipParquetFiles")
    validation: ValidationSettings | None = None
    reconcile: ReconcileSettings | None = None
    migrator_state: MigratorState | None = Field(default=None, alias="migratorState")
    apply_checkpoint: ApplyCheckpointState | None = Field(default=None, alias="applyCheckpoint")

    _token_type: TokenType = PrivateAttr(default="long")

    @model_validator(mode="wrap")
    @classmethod
    def _remember_token_type(
        cls, data: Any, handler: ModelWrapValidatorHandler[MigratorConfig]
    ) -> MigratorConfig:
        """Keep the token type written in the file, which the plain integer pairs cannot carry."""
        config = handler(data)
        encoded = (
            data.get("skipTokenRanges", data.get("skip_token_ranges")) if isinstance(data, dict) else None
        )
        config._token_type = declared_token_type(encoded) or infer_token_type(config.skip_token_ranges)
        return config

    @field_serializer("skip_token_ranges")
    def _encode_token_ranges(self, ranges: list[tuple[int, int]]) -> list[list[dict[str, Any]]]:
        return encode_token_ranges(ranges, self.token_type)

    @field_validator("skip_segments")
    @classmethod
    def _segment_set(cls, value: list[int]) -> list[int]:
        return sorted(set(value))

    @field_validator("skip_parquet_files")
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

    @property
    def rename_map(self) -> dict[str, str]:
        """``{from: to}`` for every rename."""
        return {rename.from_: rename.to for rename in self.renames}

    @model_serializer(mode="wrap")
    def _as_config_file(self, handler: SerializerFunctionWrapHandler) -> Any:
        """Dumps are config-file text: a literal ``${`` in a value is written ``$${`` so it loads back."""
        return escape_tree(handler(self))

    def secret_values(self) -> set[str]:
        """Every secret string in the config (expanded), to scrub from log output."""
        dumped = secret_values_in(self.model_dump(by_alias=True, exclude_none=True))
        return {expand_string(value, {})[0] for value in dumped}

    def rule_problems(self) -> Iterator[Problem]:
        """Rules that span blocks; see the module docstring."""
        yield from self._rename_problems()
        yield from self._pair_problems()
        if self.validation is not None and self.validation.repair_writetime_strategy == "config":
            target = self.target
            if not isinstance(target, CassandraTarget) or target.write_writetimestamp_in_us is None:
                yield (
                    "validation.repairWritetimeStrategy",
                    (
                        "'config' writes repaired rows with target.writeWritetimestampInuS; set that key on "
                        "a CQL target, or use 'source' or 'coordinator'"
                    ),
                )

    def _rename_problems(self) -> Iterator[Problem]:
        sources: dict[str, int] = {}
        targets: dict[str, int] = {}
        for index, rename in enumerate(self.renames):
            old, new = rename.from_, rename.to  # exact: "camelCol" and "camelcol" are two columns
            if old in sources:
                yield (
                    f"renames[{index}].from",
                    (
                        f"'{rename.from_}' is already renamed by renames[{sources[old]}]"
                    ),
                )
            if new in targets:
                yield (
                    f"renames[{index}].to",
                    (
                        f"'{rename.to}' is already the new name in renames[{targets[new]}]; two columns "
                        "would collide"
                    ),
                )
            sources.setdefault(old, index)
            targets.setdefault(new, index)

    def _pair_problems(self) -> Iterator[Problem]:
        streams = bool(getattr(self.target, "stream_changes", False))
        if isinstance(self.source, AlternatorSource):
            if streams:
                yield (
                    "target.streamChanges",
                    "Alternator does not support DynamoDB Streams; set streamChanges: false",
                )
            if isinstance(self.target, DynamoDBS3ExportTarget):
                yield (
                    "target.type",
                    "an Alternator source cannot be exported to dynamodb-s3-export; use a dynamodb source",
                )
        if isinstance(self.source, DynamoDBS3ExportSource) and streams:
            yield (
                "target.streamChanges",
                "a dynamodb-s3-export source has no stream to replicate; set streamChanges: false",
            )
