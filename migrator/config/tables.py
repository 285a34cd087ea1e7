"""Many tables in one run: the ``tables:`` list, ``source.include``/``exclude``, and naming patterns.

A config selects one table (``source.table: events``, upstream's meaning, unchanged) or many:

* ``source.table`` holding a pattern (``*`` any run of characters, ``?`` one character): every table
  of the source's keyspace (CQL) or account and endpoint (DynamoDB) it matches, narrowed by
  ``source.include`` (keep those matching one of these patterns) and ``source.exclude`` (drop those
  matching one); ``"*"`` is a whole keyspace, ``app_*`` a name prefix;
* ``source.table`` left out and a ``tables:`` list: exactly the listed tables.

Entries of ``tables:`` (a bare name, or a mapping) give a table its own ``target`` name, ``renames``,
``where`` and ``validation`` keys (merged over the top-level ``validation`` block); with a pattern they
apply to the matched tables they name. Each target table is named by ``target.table``: left out or
``"*"`` keeps the source's name; one ``*`` in it stands for what ``*`` matched in a one-``*`` source
pattern (``app_*`` to ``copy_*`` maps ``app_users`` to ``copy_users``), else for the whole name.
Patterns are matched exactly, case-sensitively; no other character is special (``[`` may be part of a
quoted CQL name).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any, Literal

from pydantic import Field

from migrator.config.base import ConfigModel, NonBlankStr

WILDCARDS = ("*", "?")
OnTableFailure = Literal["continue", "stop"]


class Rename(ConfigModel):
    """Rename a column (CQL) or attribute (DynamoDB) on the way to the target."""

    from_: NonBlankStr = Field(alias="from", examples=["old_name"])
    to: NonBlankStr = Field(examples=["new_name"])


class TableEntry(ConfigModel):
    """One table of a many-table run, and what it does differently from the others."""

    name: NonBlankStr = Field(examples=["orders"])
    target: NonBlankStr | None = Field(default=None, examples=["orders_v2"])
    renames: list[Rename] = Field(default_factory=list)
    where: NonBlankStr | None = None
    validation: dict[str, Any] | None = None  # keys of the validation block, over the top-level one

    @property
    def rename_map(self) -> dict[str, str]:
        """``{from: to}`` for every rename of this table."""
        return {rename.from_: rename.to for rename in self.renames}


def table_entry(value: Any) -> Any:
    """A bare name in ``tables:`` is an entry with only its name."""
    return {"name": value} if isinstance(value, str) else value


def is_pattern(name: str) -> bool:
    """Whether a table name is a pattern (holds ``*`` or ``?``)."""
    return any(w in name for w in WILDCARDS)


def pattern_regex(pattern: str) -> re.Pattern[str]:
    """The regex matching exactly the names ``pattern`` matches; each ``*`` is a capture group."""
    parts = []
    for char in pattern:
        parts.append("(.*)" if char == "*" else "." if char == "?" else re.escape(char))
    return re.compile("".join(parts), re.DOTALL)


def matches(name: str, pattern: str) -> bool:
    """Whether ``name`` matches ``pattern`` as a whole."""
    return pattern_regex(pattern).fullmatch(name) is not None


def select(names: Iterable[str], pattern: str, include: Iterable[str] = (), exclude: Iterable[str] = ()) -> list[str]:
    """The names ``pattern`` matches, kept by ``include`` (when given) and not dropped by ``exclude``; sorted."""
    include, exclude = list(include), list(exclude)
    return sorted(
        name for name in set(names)
        if matches(name, pattern)
        and (not include or any(matches(name, p) for p in include))
        and not any(matches(name, p) for p in exclude)
    )


def target_name(source_name: str, source_pattern: str, target_pattern: str | None) -> str:
    """The target table of ``source_name`` (see the module docstring)."""
    if target_pattern is None or target_pattern == "*":
        return source_name
    if "*" not in target_pattern:
        return target_pattern
    stem = source_name
    if source_pattern.count("*") == 1 and "?" not in source_pattern:
        found = pattern_regex(source_pattern).fullmatch(source_name)
        if found is not None:
            stem = found.group(1)
    return target_pattern.replace("*", stem, 1)
