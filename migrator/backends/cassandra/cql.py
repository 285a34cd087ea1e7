"""CQL text: identifier quoting and the statements the copy job runs. The one place for both."""

from __future__ import annotations

from collections.abc import Iterable, Sequence


def quote(identifier: str) -> str:
    """Always double-quote: exact for mixed case, reserved words and odd characters."""
    return '"' + identifier.replace('"', '""') + '"'


def unquote(token: str) -> str:
    """The name a CQL identifier token stands for: a quoted one exactly, an unquoted one as written.

    The inverse of :func:`quote`. Unquoted tokens come from the driver's metadata (type texts such as
    ``frozen<addr>``), which spells every name needing quotes quoted, so no case folding is done here.
    """
    if len(token) >= 2 and token.startswith('"') and token.endswith('"'):
        return token[1:-1].replace('""', '"')
    return token


def near_miss(name: str, existing: Iterable[str]) -> str:
    """`` (names are exact: did you mean 'Name'?)`` when ``name`` differs from one existing name by case only.

    Config names are exact (case-sensitive), as upstream's connector reads them; someone used to
    cqlsh folding ``MyKs`` to ``myks`` gets told which spelling exists.
    """
    same = sorted(n for n in existing if n.lower() == name.lower() and n != name)
    return f" (names are exact: did you mean {same[0]!r}?)" if len(same) == 1 else ""


def column_list(names: Sequence[str]) -> str:
    """Quoted names separated by commas."""
    return ", ".join(quote(n) for n in names)


def token_range_select(
    qualified: str, partition_key: Sequence[str], selectors: Sequence[str], where: str | None
) -> str:
    """``SELECT ... WHERE token(pk) > ? AND token(pk) <= ?`` plus the user's ``where``."""
    pk = column_list(partition_key)
    cql = f"SELECT {', '.join(selectors)} FROM {qualified} WHERE token({pk}) > ? AND token({pk}) <= ?"
    if where:
        cql += f" AND ({where}) ALLOW FILTERING"
    return cql


def writetime(column: str) -> str:
    """The ``WRITETIME(column)`` selector."""
    return f"WRITETIME({quote(column)})"


def ttl(column: str) -> str:
    """The ``TTL(column)`` selector."""
    return f"TTL({quote(column)})"


def insert(
    qualified: str, columns: Sequence[str], *, ttl: str | None = None, timestamp: str | None = None
) -> str:
    """INSERT with bind markers; ``ttl``/``timestamp`` are literal numbers or ``?``."""
    marks = ", ".join("?" for _ in columns)
    return f"INSERT INTO {qualified} ({column_list(columns)}) VALUES ({marks}){using(ttl, timestamp)}"


def using(ttl: str | None, timestamp: str | None) -> str:
    """The `` USING TTL ... AND TIMESTAMP ...`` clause (empty when neither is given)."""
    parts = []
    if ttl is not None:
        parts.append(f"TTL {ttl}")
    if timestamp is not None:
        parts.append(f"TIMESTAMP {timestamp}")
    return (" USING " + " AND ".join(parts)) if parts else ""


def key_condition(key: Sequence[str]) -> str:
    """``"k1" = ? AND "k2" = ?`` for the given key columns."""
    return " AND ".join(f"{quote(k)} = ?" for k in key)


def update(qualified: str, assignments: Sequence[str], key: Sequence[str], *, ttl: str | None = None,
           timestamp: str | None = None) -> str:
    """UPDATE of one row (or partition) by key; ``assignments`` are CQL text with bind markers."""
    sets = ", ".join(assignments)
    return f"UPDATE {qualified}{using(ttl, timestamp)} SET {sets} WHERE {key_condition(key)}"


def select_by_key(qualified: str, columns: Sequence[str], key: Sequence[str]) -> str:
    """SELECT of ``columns`` from one row (or partition) by key."""
    return f"SELECT {column_list(columns)} FROM {qualified} WHERE {key_condition(key)}"


def select_exprs_by_key(qualified: str, selectors: Sequence[str], key: Sequence[str]) -> str:
    """``SELECT <selector expressions> FROM t WHERE k1 = ? AND ...`` (selectors already quoted)."""
    return f"SELECT {', '.join(selectors)} FROM {qualified} WHERE {key_condition(key)}"
