"""The ``migratorState:`` block: our own bookkeeping, written into savepoints (not an upstream key).

It records what the savepoint was written for (so a resume against another source, target or ring
splitting can be refused) and how far the run got. Every key is optional; a hand-written config
normally has no such block.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from migrator.config.base import ConfigModel, Int, NonNegativeInt, SegmentCount, SplitCount


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
