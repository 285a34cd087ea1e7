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

from typing import Annotated, Literal

from pydantic import BeforeValidator, Field

from migrator.config.base import ConfigModel, NonBlankStr, NonNegativeInt, PositiveInt, case_insensitive

STRATEGIES = ("ours", "theirs", "manual", "newest")
Strategy = Annotated[Literal["ours", "theirs", "manual", "newest"], BeforeValidator(case_insensitive(*STRATEGIES))]
PositiveHours = Annotated[float, Field(gt=0, allow_inf_nan=False)]


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


class TableProgress(ConfigModel):
    """How far an apply got in one table's changes: the first ``done`` of ``total`` are acknowledged."""

    done: NonNegativeInt
    total: NonNegativeInt
    applied: NonNegativeInt = 0  # changes written
    skipped: NonNegativeInt = 0  # production rows changed since the diff: left alone, reported
    already: NonNegativeInt = 0  # rows already as the pack wants them (an earlier run applied them)


class ApplyCheckpointState(ConfigModel):
    """The ``applyCheckpoint`` block of an apply checkpoint file (``reconcile.checkpoints``)."""

    created_at: NonBlankStr = Field(alias="createdAt")
    updated_at: NonBlankStr = Field(alias="updatedAt")
    config_hash: NonBlankStr = Field(alias="configHash")
    pack: NonBlankStr
    tables: dict[NonBlankStr, TableProgress] = Field(default_factory=dict)
