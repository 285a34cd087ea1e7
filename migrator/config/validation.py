"""The ``validation:`` block (reference A.13): tolerances and behaviour of the compare job.

As upstream, the six tolerance keys are required whenever the block is present. ``config`` as
``repairWritetimeStrategy`` needs ``target.writeWritetimestampInuS``; that rule spans blocks and is
checked by ``MigratorConfig``.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated, Literal

from pydantic import BeforeValidator, Field

from migrator.config.base import (
    ConfigModel,
    NonNegativeFloat,
    NonNegativeInt,
    PositiveInt,
    Problem,
    case_insensitive,
)

RepairWritetimeStrategy = Annotated[
    Literal["source", "coordinator", "config"],
    BeforeValidator(case_insensitive("source", "coordinator", "config")),
]
NumericTypePolicy = Annotated[
    Literal["Lenient", "DetectWiden", "StrictType"],
    BeforeValidator(case_insensitive("Lenient", "DetectWiden", "StrictType")),
]


class ValidationSettings(ConfigModel):
    """How the compare job decides that two rows match, and what it does about missing ones."""

    compare_timestamps: bool = Field(alias="compareTimestamps", examples=[True])
    ttl_tolerance_millis: NonNegativeInt = Field(alias="ttlToleranceMillis", examples=[60000])
    writetime_tolerance_millis: NonNegativeInt = Field(alias="writetimeToleranceMillis", examples=[1000])
    failures_to_fetch: PositiveInt = Field(alias="failuresToFetch", examples=[100])
    floating_point_tolerance: NonNegativeFloat = Field(alias="floatingPointTolerance", examples=[0.001])
    timestamp_ms_tolerance: NonNegativeInt = Field(alias="timestampMsTolerance", examples=[0])
    copy_missing_rows: bool = Field(default=False, alias="copyMissingRows")
    repair_writetime_strategy: RepairWritetimeStrategy = Field(
        default="source", alias="repairWritetimeStrategy"
    )
    hash_columns: list[str] | None = Field(default=None, alias="hashColumns")
    numeric_type_policy: NumericTypePolicy = Field(default="Lenient", alias="numericTypePolicy")
    # --- beyond upstream ---
    ignore_columns: list[str] = Field(default_factory=list, alias="ignoreColumns", examples=[["updated_at"]])
    column_tolerances: dict[str, NonNegativeFloat] = Field(
        default_factory=dict, alias="columnTolerances", examples=[{"price": 0.01}]
    )
    recheck_mismatches: bool = Field(default=False, alias="recheckMismatches")
    recheck_delay_seconds: NonNegativeFloat = Field(default=5.0, alias="recheckDelaySeconds")
    recheck_limit: PositiveInt = Field(default=1000, alias="recheckLimit")
    copy_differing_rows: bool = Field(default=False, alias="copyDifferingRows")
    delete_extra_rows: bool = Field(default=False, alias="deleteExtraRows")

    @property
    def repair_keys(self) -> list[str]:
        """The repair switches that are on (``copyMissingRows``, ``copyDifferingRows``, ``deleteExtraRows``)."""
        switches = (("copyMissingRows", self.copy_missing_rows), ("copyDifferingRows", self.copy_differing_rows),
                    ("deleteExtraRows", self.delete_extra_rows))
        return [key for key, on in switches if on]

    def rule_problems(self) -> Iterator[Problem]:
        """Lists of column names (hashColumns, ignoreColumns): no blank names, no duplicates."""
        seen: set[str] = set()
        for index, column in enumerate(self.hash_columns or []):
            if not column.strip():
                yield f"hashColumns[{index}]", "must not be empty"
            elif column in seen:
                yield f"hashColumns[{index}]", f"'{column}' is listed twice"
            seen.add(column)
