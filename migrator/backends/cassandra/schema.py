"""Table schemas as plain data: reading them, comparing source with target, creating the target.

A ``TableSchema`` is built from the driver's metadata on the Spark driver and shipped to executors
inside the copy plan. ``compare`` decides, column by column, whether the source cells can be
written into the target as they are (same type), after a lossless conversion (e.g. int -> bigint),
or not at all; every refusal names the column and says why, before anything is written.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from migrator.backends.cassandra.cql import near_miss, quote, unquote
from migrator.backends.cassandra.ordering import parse_cql_type, user_types_in
from migrator.errors import RuntimeFailure, SchemaMismatch

PARTITION, CLUSTERING, STATIC, REGULAR = "partition_key", "clustering", "static", "regular"

# Lossless widenings: source type -> target types its values convert into.
_WIDENINGS: dict[str, frozenset[str]] = {
    "tinyint": frozenset({"smallint", "int", "bigint", "varint"}),
    "smallint": frozenset({"int", "bigint", "varint"}),
    "int": frozenset({"bigint", "varint"}),
    "bigint": frozenset({"varint"}),
    "float": frozenset({"double"}),
    "ascii": frozenset({"text"}),
}
_FROZEN = re.compile(r"^frozen<(.*)>$")


@dataclass(frozen=True)
class Column:
    """One column: its name, CQL type text as the server reports it, and role."""

    name: str
    cql_type: str
    kind: str  # PARTITION | CLUSTERING | STATIC | REGULAR
    reversed: bool = False  # clustering order DESC
    multicell: str | None = None  # "list" | "set" | "map" | "udt" for non-frozen values

    @property
    def is_counter(self) -> bool:
        """Whether the column is a counter."""
        return self.cql_type == "counter"


@dataclass(frozen=True)
class TableSchema:
    """A table's columns (keys first, in key order), default TTL and the UDTs it uses."""

    keyspace: str
    table: str
    columns: tuple[Column, ...]
    default_ttl: int = 0
    user_types: tuple[tuple[str, str], ...] = ()  # (name, CREATE TYPE body) in dependency order

    def of_kind(self, *kinds: str) -> list[Column]:
        """The columns with one of ``kinds``, in schema order."""
        return [c for c in self.columns if c.kind in kinds]

    @property
    def partition_key(self) -> list[Column]:
        """The partition key columns, in key order."""
        return self.of_kind(PARTITION)

    @property
    def clustering(self) -> list[Column]:
        """The clustering columns, in key order."""
        return self.of_kind(CLUSTERING)

    @property
    def primary_key(self) -> list[Column]:
        """Partition key then clustering columns."""
        return self.of_kind(PARTITION, CLUSTERING)

    @property
    def cells(self) -> list[Column]:
        """Static then regular columns: everything that holds cells."""
        return self.of_kind(STATIC) + self.of_kind(REGULAR)

    @property
    def is_counter_table(self) -> bool:
        """Whether the table holds counters (then all its cells are counters)."""
        return any(c.is_counter for c in self.cells)

    def column(self, name: str) -> Column | None:
        """The column called ``name``, or ``None``."""
        return next((c for c in self.columns if c.name == name), None)

    @property
    def qualified(self) -> str:
        """``"keyspace"."table"``, quoted for CQL."""
        return f"{quote(self.keyspace)}.{quote(self.table)}"


def read_schema(session: Any, keyspace: str, table: str, *, role: str) -> TableSchema | None:
    """The table's schema from the driver metadata; ``None`` when the table does not exist.

    A missing keyspace is an error (we never guess replication settings).
    """
    meta = session.cluster.metadata
    ks = meta.keyspaces.get(keyspace)
    if ks is None:
        known = ", ".join(sorted(k for k in meta.keyspaces if not k.startswith("system"))) or "none"
        raise RuntimeFailure(
            f"keyspace {keyspace!r} does not exist on the {role} cluster{near_miss(keyspace, meta.keyspaces)} "
            f"(existing keyspaces: {known})",
            hint=(
                f"fix {role}.keyspace"
                if role == "source"
                else f"create it first, e.g. CREATE KEYSPACE {quote(keyspace)} WITH replication = "
                "{'class': 'NetworkTopologyStrategy', 'replication_factor': 3}"
            ),
        )
    tm = ks.tables.get(table)
    if tm is None:
        if keyspace in meta.keyspaces and table in ks.views:
            raise RuntimeFailure(f"{keyspace}.{table} on the {role} cluster is a materialized view")
        return None
    pk = {c.name for c in tm.partition_key}
    ck = {c.name for c in tm.clustering_key}
    columns = []
    for cm in tm.columns.values():
        kind = STATIC if cm.is_static else REGULAR
        if cm.name in pk:
            kind = PARTITION
        elif cm.name in ck:
            kind = CLUSTERING
        multicell = _multicell(cm.cql_type, ks)
        columns.append(Column(cm.name, cm.cql_type, kind, reversed=bool(cm.is_reversed), multicell=multicell))
    order = {PARTITION: 0, CLUSTERING: 1, STATIC: 2, REGULAR: 3}
    key_pos = {c.name: i for i, c in enumerate(list(tm.partition_key) + list(tm.clustering_key))}
    columns.sort(key=lambda c: (order[c.kind], key_pos.get(c.name, 0), c.name))
    return TableSchema(
        keyspace,
        table,
        tuple(columns),
        default_ttl=int(tm.options.get("default_time_to_live") or 0),
        user_types=_user_types_used(tm, ks),
    )


def _multicell(cql_type: str, ks: Any) -> str | None:
    if cql_type.startswith(("list<", "set<", "map<")):
        return cql_type.split("<", 1)[0]
    if unquote(cql_type) in ks.user_types:  # a non-frozen UDT is its bare name, quoted when it must be
        return "udt"
    return None


def _user_types_used(tm: Any, ks: Any) -> tuple[tuple[str, str], ...]:
    """UDTs referenced by the table (transitively), dependencies first.

    Found by parsing each column's type, so quoted names (``"Odd Type"``) are found like plain ones;
    a type the parser cannot read (a custom class) uses no UDT.
    """
    every = {name: tuple(zip(ut.field_names, ut.field_types, strict=True)) for name, ut in ks.user_types.items()}
    ordered: list[str] = []
    for cm in tm.columns.values():
        try:
            used = user_types_in(parse_cql_type(cm.cql_type, every))
        except ValueError:
            continue
        ordered += [name for name in used if name not in ordered]
    result = []
    for name in ordered:
        ut = ks.user_types[name]
        body = ", ".join(f"{quote(f)} {t}" for f, t in zip(ut.field_names, ut.field_types, strict=True))
        result.append((name, body))
    return tuple(result)


# --- comparing source and target ---------------------------------------------------------------


@dataclass(frozen=True)
class ColumnMapping:
    """How one source column reaches the target: ``passthrough`` or ``convert`` (lossless)."""

    source: Column
    target: Column
    how: str


@dataclass
class Compatibility:
    """The outcome of ``compare``: a mapping per usable column, blocking problems, and notes."""

    mappings: list[ColumnMapping] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def _unfrozen(t: str) -> str:
    m = _FROZEN.match(t)
    return m.group(1) if m else t


def _type_relation(src: str, tgt: str) -> str | None:
    if src == tgt or _unfrozen(src) == _unfrozen(tgt):
        return "passthrough"
    if tgt in _WIDENINGS.get(src, frozenset()):
        return "convert"
    return None


def compare(source: TableSchema, target: TableSchema, renames: dict[str, str]) -> Compatibility:
    """Check that every source column has a home in the target, with a per-column explanation."""
    result = Compatibility()
    src_pk = [renames.get(c.name, c.name) for c in source.partition_key]
    tgt_pk = [c.name for c in target.partition_key]
    if src_pk != tgt_pk:
        result.problems.append(f"partition key differs: source (after renames) {src_pk}, target {tgt_pk}")
    src_ck = [renames.get(c.name, c.name) for c in source.clustering]
    tgt_ck = [c.name for c in target.clustering]
    if src_ck != tgt_ck:
        result.problems.append(f"clustering columns differ: source (after renames) {src_ck}, target {tgt_ck}")
    if source.is_counter_table != target.is_counter_table:
        which = "source" if source.is_counter_table else "target"
        result.problems.append(
            f"only the {which} is a counter table; counters cannot be copied into other types"
        )
    for col in source.columns:
        name = renames.get(col.name, col.name)
        tgt = target.column(name)
        label = name if name == col.name else f"{col.name} (renamed {name})"
        if tgt is None:
            result.problems.append(f"column {label}: missing in the target table")
            continue
        if (col.kind == STATIC) != (tgt.kind == STATIC):
            result.problems.append(f"column {label}: static in one table but not in the other")
            continue
        how = _type_relation(col.cql_type, tgt.cql_type)
        key = col.kind in (PARTITION, CLUSTERING)
        if how is None or (key and how != "passthrough" and col.cql_type != tgt.cql_type):
            result.problems.append(
                f"column {label}: source type {col.cql_type} cannot be written into target type "
                f"{tgt.cql_type}"
            )
            continue
        if key and col.reversed != tgt.reversed:
            result.notes.append(f"column {label}: clustering order differs (data is unaffected)")
        result.mappings.append(ColumnMapping(col, tgt, how))
    mapped = {m.target.name for m in result.mappings}
    for tgt in target.columns:
        if tgt.name not in mapped and tgt.kind in (STATIC, REGULAR):
            result.notes.append(f"target column {tgt.name} has no source column and stays empty")
    return result


def require_compatible(source: TableSchema, target: TableSchema, renames: dict[str, str]) -> Compatibility:
    """``compare``, raising ``SchemaMismatch`` listing every problem when there is any."""
    result = compare(source, target, renames)
    if result.problems:
        lines = "\n".join(f"  - {p}" for p in result.problems)
        raise SchemaMismatch(
            f"the target table {target.keyspace}.{target.table} cannot receive the rows of "
            f"{source.keyspace}.{source.table}:\n{lines}",
            hint="fix the target schema, add renames, or drop the target table to let the migrator create it",
        )
    return result


# --- creating the target ------------------------------------------------------------------------


def create_statements(source: TableSchema, keyspace: str, table: str, renames: dict[str, str]) -> list[str]:
    """CQL that creates the target table (and the UDTs it needs) from the source schema."""
    stmts = [
        f"CREATE TYPE IF NOT EXISTS {quote(keyspace)}.{quote(name)} ({body})"
        for name, body in source.user_types
    ]
    cols = []
    for c in source.columns:
        static = " static" if c.kind == STATIC else ""
        cols.append(f"{quote(renames.get(c.name, c.name))} {c.cql_type}{static}")
    pk = ", ".join(quote(renames.get(c.name, c.name)) for c in source.partition_key)
    ck = [quote(renames.get(c.name, c.name)) for c in source.clustering]
    key = f"(({pk})" + "".join(f", {c}" for c in ck) + ")"
    qualified = f"{quote(keyspace)}.{quote(table)}"
    ddl = f"CREATE TABLE IF NOT EXISTS {qualified} ({', '.join(cols)}, PRIMARY KEY {key})"
    options = []
    if source.clustering:
        order = ", ".join(
            f"{quote(renames.get(c.name, c.name))} {'DESC' if c.reversed else 'ASC'}"
            for c in source.clustering
        )
        options.append(f"CLUSTERING ORDER BY ({order})")
    if source.default_ttl:
        options.append(f"default_time_to_live = {source.default_ttl}")
    if options:
        ddl += " WITH " + " AND ".join(options)
    stmts.append(ddl)
    return stmts
