"""``MigratorConfig``: the whole configuration file, and the rules that span its blocks.

Top-level keys, as upstream (reference A): ``source``, ``target``, ``renames``, ``savepoints``,
``skipTokenRanges``, ``skipSegments``, ``skipParquetFiles``, ``validation``, plus our own
``reconcile`` and ``migratorState``. ``model_dump(by_alias=True, exclude_none=True)`` gives a tree
that loads back into an equal model (a literal ``${`` in a value is dumped as ``$${``).

Parse-time rejections from upstream (reference 0.1): an Alternator source cannot feed a
``dynamodb-s3-export`` target; an S3-export source cannot stream changes. Upstream also refuses to
stream an Alternator source; Alternator has Streams, so here it may (not through Kinesis). Changes
are streamed for one table per run.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextvars import ContextVar
from typing import Annotated, Any

from pydantic import (
    BeforeValidator,
    Field,
    ModelWrapValidatorHandler,
    PrivateAttr,
    SerializerFunctionWrapHandler,
    ValidationError,
    model_serializer,
    model_validator,
)

from migrator.config.base import Problem
from migrator.config.envvars import escape_tree, expand_string
from migrator.config.problems import format_path, translate
from migrator.config.reconcile import ApplyCheckpointState, ReconcileSettings
from migrator.config.savepoints import DEFAULT_SAVEPOINTS, Savepoints
from migrator.config.secrets import secret_values_in
from migrator.config.source import AlternatorSource, DynamoDBS3ExportSource, Source
from migrator.config.state import FinishedWork, MigratorState
from migrator.config.tables import OnTableFailure, Rename, TableEntry, is_pattern, table_entry
from migrator.config.target import CassandraTarget, DynamoDBS3ExportTarget, KinesisStream, Target
from migrator.config.tokens import TokenType
from migrator.config.validation import ValidationSettings

_LISTED_ONLY: ContextVar[bool] = ContextVar("listed_only", default=False)


class MigratorConfig(FinishedWork):
    """A validated configuration, with every ``${VAR}`` already expanded.

    One table (upstream's meaning) or many (``migrator.config.tables``): with many, a left-out
    ``source.table`` (a ``tables:`` list names them) reads as ``"*"`` with ``listed_only``, and a
    left-out ``target.table`` as ``"*"`` (each table keeps its name).
    """

    source: Source
    target: Target
    renames: list[Rename] = Field(default_factory=list)
    tables: list[Annotated[TableEntry, BeforeValidator(table_entry)]] = Field(default_factory=list)
    on_table_failure: OnTableFailure = Field(default="continue", alias="onTableFailure")
    savepoints: Savepoints = Field(default_factory=lambda: DEFAULT_SAVEPOINTS)
    validation: ValidationSettings | None = None
    reconcile: ReconcileSettings | None = None
    migrator_state: MigratorState | None = Field(default=None, alias="migratorState")
    apply_checkpoint: ApplyCheckpointState | None = Field(default=None, alias="applyCheckpoint")

    _listed_only: bool = PrivateAttr(default=False)

    @model_validator(mode="wrap")
    @classmethod
    def _fill_table_names(cls, data: Any, handler: ModelWrapValidatorHandler[MigratorConfig]) -> MigratorConfig:
        """Many tables: a left-out ``source.table`` (with a ``tables:`` list) or ``target.table`` means ``*``."""
        listed = False
        if isinstance(data, dict):
            source, target, entries = data.get("source"), data.get("target"), data.get("tables")
            if isinstance(source, dict) and "table" not in source and isinstance(entries, list) and entries:
                source = {**source, "table": "*"}
                data = {**data, "source": source}
                listed = True
            table = source.get("table") if isinstance(source, dict) else None
            many = listed or (isinstance(table, str) and is_pattern(table)) or bool(entries)
            if many and isinstance(target, dict) and "table" not in target:
                data = {**data, "target": {**target, "table": "*"}}
        token = _LISTED_ONLY.set(listed)  # the rules, run inside handler, read it before the model exists
        try:
            config = handler(data)
        finally:
            _LISTED_ONLY.reset(token)
        config._listed_only = listed
        return config

    def table_config(self, update: dict[str, Any], token_type: TokenType) -> MigratorConfig:
        """A one-table config derived from this one (``migrator.tableset``): ``update`` applied, ``token_type`` kept."""
        derived = self.model_copy(update=update)
        derived._listed_only = False
        derived._token_type = token_type
        return derived

    @property
    def many_tables(self) -> bool:
        """Whether the config selects tables by a pattern or a ``tables:`` list (see ``config.tables``)."""
        return self.listed_only or bool(self.tables) or is_pattern(str(getattr(self.source, "table", "")))

    @property
    def listed_only(self) -> bool:
        """Whether ``source.table`` was left out, so the ``tables:`` list names every table of the run."""
        return self._listed_only or _LISTED_ONLY.get()

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
        yield from self._table_problems()
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
        yield from rename_problems("renames", self.renames)

    def _table_problems(self) -> Iterator[Problem]:
        """A many-table config's rules (``migrator.config.tables``)."""
        source_table = str(getattr(self.source, "table", ""))
        target_table = str(getattr(self.target, "table", ""))
        filters = [key for key in ("include", "exclude") if getattr(self.source, key, None)]
        if not self.many_tables:
            for key in filters:
                yield (f"source.{key}", f"{key} narrows a pattern; source.table {source_table!r} names one table: "
                       "write a pattern such as '*' there, or remove the key")
            return
        if not supports_many_tables(self.source):
            yield ("source.table", f"a {self.source.type} source reads one table per run; name it in source.table "
                   "and remove the tables list")
            return
        if self.tables and not self.listed_only and not is_pattern(source_table):
            yield ("source.table", f"{source_table!r} names one table, and a tables list names others: write a "
                   "pattern such as '*' (the list then gives per-table settings), or leave source.table out (exactly "
                   "the listed tables)")
        if self.listed_only:
            yield from ((f"source.{key}", f"{key} narrows source.table's pattern; the tables list names the tables "
                         "exactly: remove it") for key in filters)
        if target_table != "*" and (not is_pattern(target_table) or "?" in target_table
                                    or target_table.count("*") != 1):
            yield ("target.table", f"{target_table!r} cannot name many tables: leave target.table out (each table "
                   "keeps its name), or use one '*' standing for the source's name (copy_*), or rename "
                   "single tables with tables[i].target")
        if self.renames:
            yield ("renames", "renames name the columns of one table: move them under the table's entry in "
                   "tables (tables: [{name: orders, renames: [...]}])")
        if getattr(self.source, "where", None):
            yield ("source.where", "a where clause names the columns of one table: move it under the table's "
                   "entry in tables (tables: [{name: orders, where: ...}])")
        yield from self._entry_problems()

    def _entry_problems(self) -> Iterator[Problem]:
        names: dict[str, int] = {}
        for index, entry in enumerate(self.tables):
            where = f"tables[{index}]"
            if is_pattern(entry.name):
                yield f"{where}.name", f"{entry.name!r} is a pattern; an entry names one table"
            if entry.name in names:
                yield f"{where}.name", f"{entry.name!r} is already listed as tables[{names[entry.name]}]"
            names.setdefault(entry.name, index)
            if entry.where is not None and not hasattr(self.source, "where"):
                yield f"{where}.where", f"a {self.source.type} source has no where clause; remove it"
            if entry.target is not None and is_pattern(entry.target):
                yield f"{where}.target", f"{entry.target!r} is a pattern; an entry's target names one table"
            if entry.validation is not None:
                yield from ((f"{where}.validation.{path}" if path else f"{where}.validation", message)
                            for path, message in validation_problems(self.validation, entry.validation))
            yield from rename_problems(f"{where}.renames", entry.renames)

    def _pair_problems(self) -> Iterator[Problem]:
        streams = getattr(self.target, "stream_changes", False)
        if isinstance(self.source, AlternatorSource):
            if isinstance(streams, KinesisStream):
                yield ("target.streamChanges.type",
                       "only AWS DynamoDB sends a table's changes to Kinesis; for an Alternator source use "
                       "streamChanges: true (Alternator Streams)")
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
        if streams and self.many_tables:
            yield ("target.streamChanges",
                   "changes are streamed for one table per run; run one streaming job per table "
                   "(or set streamChanges: false to copy many tables)")


def rename_problems(where: str, renames: list[Rename]) -> Iterator[Problem]:
    """Two renames of one column, or two columns renamed to one name."""
    sources: dict[str, int] = {}
    targets: dict[str, int] = {}
    for index, rename in enumerate(renames):
        old, new = rename.from_, rename.to  # exact: "camelCol" and "camelcol" are two columns
        if old in sources:
            yield f"{where}[{index}].from", f"'{rename.from_}' is already renamed by {where}[{sources[old]}]"
        if new in targets:
            yield (f"{where}[{index}].to",
                   f"'{rename.to}' is already the new name in {where}[{targets[new]}]; two columns would collide")
        sources.setdefault(old, index)
        targets.setdefault(new, index)


def supports_many_tables(source: Any) -> bool:
    """Whether a source block can select tables by pattern or list (it has ``include``)."""
    return hasattr(source, "include")


def validation_problems(base: ValidationSettings | None, overrides: dict[str, Any]) -> list[Problem]:
    """Why the top-level validation block with a table's ``overrides`` is not a valid block; empty if it is."""
    tree = _validation_tree(base, overrides)
    try:
        ValidationSettings.model_validate(tree)
    except ValidationError as exc:
        return [(format_path(path), message) for path, message in translate(exc, tree, ValidationSettings)]
    return []


def table_validation(base: ValidationSettings | None, overrides: dict[str, Any] | None) -> ValidationSettings | None:
    """A table's validation block: the top-level one with its ``overrides`` (already checked by the rules)."""
    if overrides is None:
        return base
    return ValidationSettings.model_validate(_validation_tree(base, overrides))


def _validation_tree(base: ValidationSettings | None, overrides: dict[str, Any]) -> dict[str, Any]:
    """The top-level validation block's keys with a table's ``overrides`` over them."""
    return {**(base.model_dump(by_alias=True, exclude_none=True) if base is not None else {}), **overrides}
