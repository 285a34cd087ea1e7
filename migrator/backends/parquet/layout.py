"""How a CQL table is laid out in our Parquet files: column names, metadata columns, file metadata.

* Every CQL column is a Parquet column of the same name (after ``renames``), typed by ``codec``.
* With ``preserveTimestamps``, each regular and static column ``c`` has two more columns, as upstream
  names them: ``__migrator_meta_c_writetime`` (the cell's WRITETIME, microseconds, int64) and
  ``__migrator_meta_c_ttl`` (its remaining TTL in seconds when read, int32; null when none). For a
  non-frozen collection or UDT they are lists, one entry per element or field.
* The file's key-value metadata holds the table's CQL schema (``migrator.table``, JSON), so an import
  can create the table, and the time the file was finished (``migrator.exportedAt``, epoch
  seconds), so an import shortens the TTLs by the time spent in between.

Any other Parquet reader sees plain columns; the metadata keys are ignored by readers that do not
know them.
"""

from __future__ import annotations

import json
from typing import Any

from migrator.backends.cassandra import schema as cschema

META_PREFIX = "__migrator_meta_"
WRITETIME, TTL = "writetime", "ttl"
TABLE_KEY = "migrator.table"
EXPORTED_AT_KEY = "migrator.exportedAt"

UserTypes = dict[str, tuple[tuple[str, str], ...]]


def meta_name(column: str, which: str) -> str:
    """The metadata column of ``column`` (``which``: ``writetime`` or ``ttl``)."""
    return f"{META_PREFIX}{column}_{which}"


def meta_of(name: str) -> tuple[str, str] | None:
    """``(column, "writetime" | "ttl")`` for a metadata column's name, None for a data column."""
    if not name.startswith(META_PREFIX):
        return None
    for which in (WRITETIME, TTL):
        suffix = f"_{which}"
        if name.endswith(suffix) and len(name) > len(META_PREFIX) + len(suffix):
            return name[len(META_PREFIX):-len(suffix)], which
    return None


def meta_type(which: str, multicell: bool) -> str:
    """The CQL type a metadata column holds: WRITETIME is a bigint, TTL an int; lists for element-wise ones."""
    scalar = "bigint" if which == WRITETIME else "int"
    return f"list<{scalar}>" if multicell else scalar


def table_json(schema: cschema.TableSchema, user_types: UserTypes) -> str:
    """The table's schema as the ``migrator.table`` metadata value."""
    return json.dumps({
        "keyspace": schema.keyspace, "table": schema.table, "defaultTtl": schema.default_ttl,
        "columns": [{"name": c.name, "type": c.cql_type, "kind": c.kind, "reversed": c.reversed,
                     "multicell": c.multicell} for c in schema.columns],
        "createTypes": [list(pair) for pair in schema.user_types],
        "userTypes": {name: [list(f) for f in fields] for name, fields in user_types.items()},
    }, sort_keys=True)


def table_from_json(text: str) -> tuple[cschema.TableSchema, UserTypes]:
    """The schema and UDT fields a ``migrator.table`` value describes; ``ValueError`` when it is not one."""
    try:
        data: Any = json.loads(text)
        columns = tuple(cschema.Column(c["name"], c["type"], c["kind"], bool(c.get("reversed")), c.get("multicell"))
                        for c in data["columns"])
        schema = cschema.TableSchema(data["keyspace"], data["table"], columns, int(data.get("defaultTtl") or 0),
                                     tuple((str(n), str(b)) for n, b in data.get("createTypes", [])))
        user_types = {str(n): tuple((str(f), str(t)) for f, t in fields)
                      for n, fields in data.get("userTypes", {}).items()}
    except (ValueError, KeyError, TypeError) as exc:
        raise ValueError(f"the {TABLE_KEY} metadata is not a table schema ({exc})") from None
    return schema, user_types
