"""Schema entries of two CQL tables, and the CQL that brings production in line (``reconcile.schema``).

Entries, read from the driver's metadata (no compatibility check: drift is what is being looked at):
``partition key`` and ``clustering`` (names, types, order), ``column <name>`` (type, ``static``),
``index <name>`` (kind and target), ``view <name>`` (its select and where clause) and
``option default_time_to_live``. Statements, in order: added columns, options, indexes to create,
views (as a comment: a view is created from its full definition, shown), then what loses data:
columns dropped, columns whose type differs (dropped and added again), indexes dropped or redefined.
A primary key cannot change in place: always a comment.
"""

from __future__ import annotations

from typing import Any

from migrator.backends.cassandra import cql
from migrator.backends.cassandra.connection import connect, spec_from_settings
from migrator.config import CassandraSource, CassandraTarget, MigratorConfig
from migrator.errors import RuntimeFailure
from migrator.reconcile.schema import ONLY_DEV, ONLY_PROD, Description, Drift, Migration

SECTIONS = ("partition key", "clustering", "column", "option", "index", "view")


class CqlSchema:
    """``SchemaSupport`` for a CQL dev table and production table."""

    extension = "cql"
    order = SECTIONS

    def __init__(self, config: MigratorConfig) -> None:
        self.config = config
        target = config.target
        self.qualified = f"{cql.quote(target.keyspace)}.{cql.quote(target.table)}"  # type: ignore[union-attr]

    def describe(self) -> tuple[Description, Description]:
        """(dev, production) entries, dev's column names after renames."""
        renames = self.config.rename_map
        out = []
        for role, block, names in (("source", self.config.source, renames), ("target", self.config.target, {})):
            assert isinstance(block, (CassandraSource, CassandraTarget)), "backend_for checks the pair"
            session = connect(spec_from_settings(role, block))
            try:
                out.append(_entries(session, block.keyspace, block.table, names, role))
            finally:
                session.cluster.shutdown()
        return out[0], out[1]

    def statements(self, drifts: list[Drift], *, destructive: bool) -> list[str]:
        """The migration, safe statements first, lossy ones last (commented out unless ``destructive``)."""
        t = self.qualified
        ks = cql.quote(self.config.target.keyspace)  # type: ignore[union-attr]
        out = Migration(destructive=destructive, comment="--")
        for d in drifts:
            if d.section in ("partition key", "clustering"):
                out.safe(f"-- {d.text()}: a primary key cannot change in place; create a new table and copy")
            elif d.section == "column":
                name = cql.quote(d.name)
                if d.kind == ONLY_DEV:
                    out.safe(f"ALTER TABLE {t} ADD {name} {_column(d.dev)};")
                elif d.kind == ONLY_PROD:
                    out.lossy(f"ALTER TABLE {t} DROP {name};")
                else:
                    out.lossy(f"ALTER TABLE {t} DROP {name};", f"ALTER TABLE {t} ADD {name} {_column(d.dev)};")
            elif d.section == "option":
                out.safe(f"ALTER TABLE {t} WITH {d.name} = {d.dev if d.dev is not None else 0};")
            elif d.section == "index":
                name = cql.quote(d.name)
                drop = f"DROP INDEX {ks}.{name};"
                if d.kind == ONLY_DEV:
                    out.safe(_create_index(name, t, d.dev))
                elif d.kind == ONLY_PROD:
                    out.lossy(drop)
                else:
                    out.lossy(drop, _create_index(name, t, d.dev))
            elif d.section == "view":
                out.safe(f"-- {d.text()}: create or alter the view by hand from dev's definition")
        return out.lines()


def _column(entry: str | None) -> str:
    """``int`` or ``int static`` from a column entry (``static int``)."""
    assert entry is not None
    return entry[len("static "):] + " static" if entry.startswith("static ") else entry


def _create_index(name: str, table: str, entry: str | None) -> str:
    assert entry is not None
    kind, _, rest = entry.partition(" ")
    target, _, using = rest.partition(" using ")
    if kind == "CUSTOM":
        return f"CREATE CUSTOM INDEX {name} ON {table} ({target}) USING '{using}';"
    return f"CREATE INDEX {name} ON {table} ({target});"


def _entries(session: Any, keyspace: str, table: str, renames: dict[str, str], role: str) -> Description:
    ks = session.cluster.metadata.keyspaces.get(keyspace)
    tm = ks.tables.get(table) if ks is not None else None
    if tm is None:
        where = session.cluster.metadata.keyspaces if ks is None else ks.tables
        raise RuntimeFailure(f"table {keyspace}.{table} does not exist on the {role} cluster"
                             f"{cql.near_miss(keyspace if ks is None else table, where)}",
                             hint=f"fix {role}.keyspace / {role}.table")

    def name(column: str) -> str:
        return renames.get(column, column)

    out: Description = {
        ("partition key", ""): ", ".join(f"{name(c.name)} {c.cql_type}" for c in tm.partition_key),
        ("clustering", ""): ", ".join(f"{name(c.name)} {c.cql_type} {'DESC' if c.is_reversed else 'ASC'}"
                                      for c in tm.clustering_key),
    }
    keys = {c.name for c in tm.partition_key} | {c.name for c in tm.clustering_key}
    for column in tm.columns.values():
        if column.name not in keys:
            out[("column", name(column.name))] = ("static " if column.is_static else "") + column.cql_type
    ttl = int(tm.options.get("default_time_to_live") or 0)
    if ttl:
        out[("option", "default_time_to_live")] = str(ttl)
    for index in tm.indexes.values():
        options = dict(index.index_options or {})
        target = options.get("target", "")
        kind = str(index.kind or "COMPOSITES")
        entry = f"{'CUSTOM' if kind == 'CUSTOM' else 'INDEX'} {target}"
        if kind == "CUSTOM":
            entry += f" using {options.get('class_name', '')}"
        out[("index", index.name)] = entry
    for view in ks.views.values():
        if view.base_table_name == table:
            columns = ", ".join(sorted(name(c) for c in view.columns))
            out[("view", view.name)] = f"SELECT {columns} WHERE {view.where_clause}"
    return out
