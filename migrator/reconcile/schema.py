"""``migrator schema-diff`` and ``schema-migrate``: how production's table differs from dev's, and the DDL to align it.

Each backend describes both tables as flat entries ``(section, name) -> text``: for CQL the partition
key, clustering columns and order, each column (with ``static``), each secondary index, each
materialized view on the table and the default TTL; for DynamoDB the key schema, each LSI and GSI
(keys and projection), the TTL setting and the billing mode. Dev's names are taken after
``renames``, so a renamed column is not drift. ``schema_diff`` compares the entries: a **drift** is
an entry only in dev, only in production, or different.

``schema-diff`` writes ``schema_diff.json`` and ``schema_diff.txt`` into ``reconcile.output`` and
exits 1 on drift (usable as a CI gate). ``schema-migrate`` asks the backend for the statements that
bring production in line, in dependency order (additions first, then what builds on them, drops
last), and writes them for review (``schema_migration.cql`` or ``.jsonl``). Drops and type changes,
which lose data, are written commented out unless ``reconcile.allowDestructiveSchemaChanges``;
what the database cannot change in place (a primary key, a DynamoDB LSI) is always a comment.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Protocol

from migrator.files import make_folder, write_atomically

Description = dict[tuple[str, str], str]
ONLY_DEV, ONLY_PROD, DIFFERS = "only in dev", "only in production", "differs"


@dataclass(frozen=True)
class Drift:
    """One schema entry that is not the same on both sides."""

    section: str
    name: str
    dev: str | None
    production: str | None

    @property
    def kind(self) -> str:
        """``only in dev``, ``only in production`` or ``differs``."""
        if self.production is None:
            return ONLY_DEV
        if self.dev is None:
            return ONLY_PROD
        return DIFFERS

    def text(self) -> str:
        """One line for people."""
        what = f"{self.section} {self.name}".strip()
        if self.kind == ONLY_DEV:
            return f"{what}: only in dev ({self.dev})"
        if self.kind == ONLY_PROD:
            return f"{what}: only in production ({self.production})"
        return f"{what}: production has {self.production}, dev has {self.dev}"


class SchemaSupport(Protocol):
    """What a backend provides for schema-diff and schema-migrate."""

    extension: str  # of the migration file: "cql", "jsonl"

    def describe(self) -> tuple[Description, Description]:
        """(dev, production), dev's names after renames; connects to both sides, writes nothing."""
        ...

    def statements(self, drifts: list[Drift], *, destructive: bool) -> list[str]:
        """Lines of the migration file, in dependency order; lossy ones commented out unless ``destructive``."""
        ...


LOSSY = "(loses data: reconcile.allowDestructiveSchemaChanges)"


class Migration:
    """A migration file's lines as a backend builds them: safe ones first, then those that lose data.

    A lossy line is written as is when ``destructive``, else commented out with ``comment`` and the reason.
    """

    def __init__(self, *, destructive: bool, comment: str) -> None:
        self.destructive = destructive
        self.comment = comment
        self._safe: list[str] = []
        self._lossy: list[str] = []

    def safe(self, *lines: str) -> None:
        """Lines that lose nothing (additions, and comments for what must be done by hand)."""
        self._safe += lines

    def lossy(self, *lines: str) -> None:
        """Lines that lose data (drops, redefinitions), in the order they must run."""
        self._lossy += [line if self.destructive else f"{self.comment} {line}  {LOSSY}" for line in lines]

    def lines(self) -> list[str]:
        """Every line, safe ones first."""
        return self._safe + self._lossy


def schema_diff(dev: Description, production: Description, order: tuple[str, ...] = ()) -> list[Drift]:
    """Every entry not the same on both sides, by section (in ``order``, then by name) and name."""
    rank = {section: i for i, section in enumerate(order)}
    keys = sorted(dev.keys() | production.keys(), key=lambda k: (rank.get(k[0], len(rank)), k[0], k[1]))
    return [Drift(section, name, dev.get((section, name)), production.get((section, name)))
            for section, name in keys if dev.get((section, name)) != production.get((section, name))]


def write_schema_diff(output: Path, drifts: list[Drift], *, dev: str, production: str) -> Path:
    """schema_diff.json and schema_diff.txt; returns the text file's path."""
    make_folder(output)
    data: dict[str, Any] = {"dev": dev, "production": production, "drift": bool(drifts),
                            "differences": [{**asdict(d), "kind": d.kind} for d in drifts]}
    write_atomically(output / "schema_diff.json", json.dumps(data, indent=2) + "\n")
    text = schema_text(drifts, dev=dev, production=production)
    write_atomically(output / "schema_diff.txt", text + "\n")
    return output / "schema_diff.txt"


def schema_text(drifts: list[Drift], *, dev: str, production: str) -> str:
    """The schema diff for people."""
    head = f"schema of dev {dev} against production {production}: "
    if not drifts:
        return head + "the same"
    return "\n".join([head + f"{len(drifts)} difference(s)"] + [f"  {d.text()}" for d in drifts])


def run_schema_diff(loaded: Any, support: SchemaSupport | None = None) -> tuple[list[Drift], str]:
    """Describe both tables, write schema_diff.json/.txt; the drifts and the text (many tables: each, and all)."""
    from migrator.backends.base import backend_for
    from migrator.reconcile.diff import table_name
    from migrator.reconcile.many import schema_diff_tables, table_runs
    from migrator.reconcile.preflight import settings_of

    config = loaded.model
    output = Path(settings_of(config).output)
    runs = table_runs(loaded) if support is None else None
    if runs is not None:
        return schema_diff_tables(runs, output)
    support = support or backend_for(config).schema(config)
    dev, production = support.describe()
    drifts = schema_diff(dev, production, getattr(support, "order", ()))
    names = {"dev": table_name(config.source), "production": table_name(config.target)}
    write_schema_diff(output, drifts, **names)
    return drifts, schema_text(drifts, **names)


def run_schema_migrate(loaded: Any) -> tuple[Path, int]:
    """Write the migration that aligns production (``schema_migration.<ext>``); its path and statement count.

    Many tables: each table's file in its folder; the output folder and the statements of all.
    """
    from migrator.backends.base import backend_for
    from migrator.reconcile.diff import table_name
    from migrator.reconcile.many import schema_migrate_tables, table_runs
    from migrator.reconcile.preflight import settings_of

    config = loaded.model
    settings = settings_of(config)
    runs = table_runs(loaded)
    if runs is not None:
        return Path(settings.output), sum(count for _, count in schema_migrate_tables(runs))
    support = backend_for(config).schema(config)
    drifts, _ = run_schema_diff(loaded, support)  # the same object: it keeps what it described
    lines = support.statements(drifts, destructive=settings.allow_destructive_schema_changes) if drifts else []
    comment = "--" if support.extension == "cql" else "#"
    head = [f"{comment} schema migration: production {table_name(config.target)} to match dev "
            f"{table_name(config.source)}, {len(drifts)} difference(s); review before running",
            f"{comment} commented-out lines lose data or cannot be done in place; see schema_diff.txt"]
    path = Path(settings.output) / f"schema_migration.{support.extension}"
    write_atomically(path, "\n".join(head + lines) + "\n")
    return path, sum(1 for line in lines if not line.startswith(comment))
