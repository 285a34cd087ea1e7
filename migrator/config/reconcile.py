"""The ``reconcile:`` block (ours): where ``diff`` writes, how conflicts are decided, what ``apply`` may do.

In a reconcile run the config's ``source`` is **dev** ("theirs", the side whose changes are wanted)
and its ``target`` is **production** ("ours", the side that is changed). A conflict is a row present
on both sides with different values; its strategy decides it:

* ``ours``: keep production's row;
* ``theirs``: take dev's row;
* ``manual``: leave it for review (``migrator resolve-conflicts``);
* ``newest``: per row, the side whose cells were written later wins (the row's newest WRITETIME on
  CQL; on DynamoDB, which keeps no write times, the attribute named by ``updatedAtAttribute``).

``strategy`` is the default, ``tables`` overrides it per table (``keyspace.table`` for CQL, the table
name for DynamoDB). Rows only in dev are added; rows only in production are deleted only with
``allowDeletes: true``, otherwise their deletes are written to the pack commented out.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BeforeValidator, Field

from migrator.config.base import (
    ConfigModel,
    NonBlankStr,
    NonNegativeInt,
    PositiveInt,
    case_insensitive,
    rule_failure,
)
from migrator.config.problems import describe

STRATEGIES = ("ours", "theirs", "manual", "newest")
Strategy = Annotated[Literal["ours", "theirs", "manual", "newest"], BeforeValidator(case_insensitive(*STRATEGIES))]
MAX_EXPIRY_HOURS = 24 * 365 * 100  # a century; far longer spans overflow Python's timedelta
PositiveHours = Annotated[float, Field(gt=0, le=MAX_EXPIRY_HOURS, allow_inf_nan=False)]


class ReconcileSettings(ConfigModel):
    """Reconciling dev (the source) into production (the target)."""

    output: NonBlankStr = Field(default="reconcile", examples=["reconcile/users"])
    strategy: Strategy = Field(default="manual", examples=["theirs"])
    tables: dict[NonBlankStr, Strategy] = Field(default_factory=dict, examples=[{"shop.orders": "newest"}])
    updated_at_attribute: NonBlankStr | None = Field(default=None, alias="updatedAtAttribute",
                                                     examples=["updatedAt"])
    allow_deletes: bool = Field(default=False, alias="allowDeletes")
    allow_destructive_schema_changes: bool = Field(default=False, alias="allowDestructiveSchemaChanges")
    checkpoint_expiry_hours: PositiveHours = Field(default=24.0, alias="checkpointExpiryHours")
    apply_batch_rows: PositiveInt = Field(default=1000, alias="applyBatchRows")

    def strategy_for(self, table: str) -> str:
        """The strategy deciding ``table``'s conflicts: its override, else the default."""
        return self.tables.get(table, self.strategy)

    @property
    def strategies(self) -> set[str]:
        """Every strategy the block uses."""
        return {self.strategy, *self.tables.values()}


def parse_moment(text: str) -> dt.datetime:
    """An ISO 8601 time as written in a checkpoint; one without a zone is taken as UTC."""
    moment = dt.datetime.fromisoformat(text)
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


def _moment_text(value: Any) -> Any:
    try:
        parse_moment(value).astimezone(dt.UTC)
    except (ValueError, OverflowError):
        shown = describe(value, secret=False)
        raise rule_failure(f"expected an ISO 8601 time such as 2024-05-01T12:00:00+00:00, got {shown}") from None
    return value


Moment = Annotated[NonBlankStr, AfterValidator(_moment_text)]


class TableProgress(ConfigModel):
    """How far an apply got in one table's changes: the first ``done`` of ``total`` are acknowledged."""

    done: NonNegativeInt
    total: NonNegativeInt
    applied: NonNegativeInt = 0  # changes written
    skipped: NonNegativeInt = 0  # production rows changed since the diff: left alone, reported
    already: NonNegativeInt = 0  # rows already as the pack wants them (an earlier run applied them)


class ApplyCheckpointState(ConfigModel):
    """The ``applyCheckpoint`` block of an apply checkpoint file (``reconcile.checkpoints``)."""

    created_at: Moment = Field(alias="createdAt")
    updated_at: Moment = Field(alias="updatedAt")
    config_hash: NonBlankStr = Field(alias="configHash")
    pack: NonBlankStr
    tables: dict[NonBlankStr, TableProgress] = Field(default_factory=dict)
