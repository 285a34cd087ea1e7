"""Names that need quoting, end to end on CQL: one table whose every name is hostile, through every command.

Keyspaces, table, columns, a UDT and its fields are mixed case, reserved words, or hold spaces, double
and single quotes, ``#:.[`` and non-ASCII letters. One sequence of CLI runs: migrate (timestamps
preserved, the target table created by the tool), validate, a few changes to the target, diff (exact
counts), resolve-conflicts, apply, validate again, then schema-diff and schema-migrate into a second
odd-named table.
"""

from __future__ import annotations

import json

import pytest

from migrator.backends.cassandra.cql import quote
from tests.support.helpers import assert_same, cli, dump, write_config

pytestmark = pytest.mark.integration

SRC_KS, TGT_KS = "OddNames_Src", "OddNames_Tgt"  # mixed case: only exact when quoted
TABLE, FRESH = "select", "Fresh_Copy"  # a reserved word; a mixed-case name
UDT = '"Odd Type.#1"'
PK, CK = '"Part Key"', '"order"'
COLUMNS = {
    '"camelCol"': "text",
    '"with space"': "int",
    '"say ""hi"" #:.["': "text",
    '"it\'s"': "text",
    '"Ünïcode"': "bigint",
    '"日本"': "text",
    '"udt col"': f"frozen<{UDT}>",
    '"udt list"': f"list<frozen<{UDT}>>",
    '"Tags"': "set<text>",
    '"udt free"': UDT,  # not frozen: written field by field, each field with its own write time
}
RENAMED = {"it's": "it is ✓"}
IGNORED = "日本"  # validation.ignoreColumns  # the target's name for the source column
TYPE_CQL = f'CREATE TYPE IF NOT EXISTS {{ks}}.{UDT} ("Field One" int, "select" text, "ü ü" text)'
ROWS = [  # (part key, order, camelCol, with space, say "hi", it's, Ünïcode, 日本, udt, udt list, Tags, udt free)
    (1, 1, "a", 1, 'q"1', "it's", 10, "日", (1, "x", "ü"), [(2, "y", None)], {"t1"}, (6, "f", "g")),
    (1, 2, "b", 2, None, "o'k", 11, None, None, [(3, None, "z"), (4, "w", "v")], None, (None, "h", None)),
    (2, 1, "c", None, "#:.[", None, -5, "本", (7, None, None), None, {"t2", "t3"}, None),
    (3, 7, None, 4, "x", "y", None, "語", (None, "s", "t"), [(5, "u", "r")], {"t4"}, (8, None, "i")),
]


def _qualified(ks: str, table: str) -> str:
    return f'"{ks}"."{table}"'


def _create(session, ks: str) -> None:
    session.execute(f'DROP KEYSPACE IF EXISTS "{ks}"')
    session.execute(f'CREATE KEYSPACE "{ks}" WITH replication = {{\'class\': \'SimpleStrategy\', '
                    "'replication_factor': 1}")
    session.execute(TYPE_CQL.format(ks=f'"{ks}"'))


def _load_source(source) -> None:
    _create(source, SRC_KS)
    body = ", ".join(f"{name} {kind}" for name, kind in COLUMNS.items())
    source.execute(f"CREATE TABLE {_qualified(SRC_KS, TABLE)} ({PK} int, {CK} int, {body}, "
                   f"PRIMARY KEY ({PK}, {CK})) WITH CLUSTERING ORDER BY ({CK} DESC)")
    source.execute(f'CREATE INDEX "CamelIdx" ON {_qualified(SRC_KS, TABLE)} ("camelCol")')
    names = ", ".join([PK, CK, *COLUMNS])
    marks = ", ".join("?" for _ in range(2 + len(COLUMNS)))
    insert = source.prepare(f"INSERT INTO {_qualified(SRC_KS, TABLE)} ({names}) VALUES ({marks}) "
                            "USING TTL ? AND TIMESTAMP ?")
    for i, row in enumerate(ROWS):
        source.execute(insert, (*row, 86_400 if i % 2 else 0, 1_000_000 + i))
    # a later per-cell write time and TTL, so the copy must keep cells apart
    source.execute(f'UPDATE {_qualified(SRC_KS, TABLE)} USING TTL 3600 AND TIMESTAMP 5000000 '
                   f'SET "camelCol" = \'later\', "Tags" = "Tags" + {{\'t9\'}} WHERE {PK} = 2 AND {CK} = 1')


def _config(tmp_path, endpoints, target_table: str = TABLE, name: str = "config.yaml", *, timestamps: bool = True):
    validation = {"compareTimestamps": timestamps, "ttlToleranceMillis": 60000, "writetimeToleranceMillis": 0,
                  "failuresToFetch": 10, "floatingPointTolerance": 0.0, "timestampMsTolerance": 0,
                  "ignoreColumns": [IGNORED], "columnTolerances": {"Ünïcode": 0.0}}
    return write_config(
        tmp_path, endpoints, TABLE, source={"keyspace": SRC_KS, "preserveTimestamps": True, "splitCount": 4},
        target={"keyspace": TGT_KS, "table": target_table}, name=name,
        top={"renames": [{"from": old, "to": new} for old, new in RENAMED.items()], "validation": validation,
             "reconcile": {"output": str(tmp_path / "reconcile"), "strategy": "theirs",
                                                     "allowDeletes": True}})


def _change_target(target) -> None:
    """One row only production has, one row missing there, one cell and one UDT field changed."""
    t = _qualified(TGT_KS, TABLE)
    target.execute(f"INSERT INTO {t} ({PK}, {CK}, \"camelCol\") VALUES (9, 9, 'prod only')")
    target.execute(f"DELETE FROM {t} WHERE {PK} = 3 AND {CK} = 7")
    target.execute(f'UPDATE {t} SET "say ""hi"" #:.[" = \'changed\' WHERE {PK} = 1 AND {CK} = 1')
    target.execute(f'UPDATE {t} SET "udt col" = {{"Field One": 8, "select": \'x\', "ü ü": \'ü\'}} '
                   f"WHERE {PK} = 1 AND {CK} = 2")


def _as_target(source_dump: dict) -> dict:
    """A source dump with the renamed column under its target name (values, WRITETIME and TTL)."""
    def name(key: str) -> str:
        for old, new in RENAMED.items():
            key = new if key == old else key.replace(f"({old})", f"({new})")
        return key

    return {row: {name(k): v for k, v in cells.items()} for row, cells in source_dump.items()}


def _target_columns() -> dict[str, str]:
    """The target's columns other than the key (quoted names, after renames) and their types."""
    out = {}
    for name, kind in COLUMNS.items():
        plain = name[1:-1].replace('""', '"')
        out[quote(RENAMED.get(plain, plain))] = kind
    return out


def test_every_command_works_on_names_that_need_quoting(source, target, raw_sessions, endpoints, tmp_path):
    _load_source(source)
    _create(target, TGT_KS)
    config = _config(tmp_path, endpoints)
    migrated = cli("migrate", "--config", str(config), timeout=300)
    assert migrated.returncode == 0, migrated.stderr
    src, tgt = raw_sessions
    assert len(dump(src, SRC_KS, TABLE)) == 4
    assert_same(_as_target(dump(src, SRC_KS, TABLE)), dump(tgt, TGT_KS, TABLE))
    later = tgt.execute(f'SELECT WRITETIME("camelCol"), TTL("camelCol") FROM {_qualified(TGT_KS, TABLE)} '
                        f"WHERE {PK} = 2 AND {CK} = 1").one()
    assert later[0] == (5_000_000).to_bytes(8, "big") and 0 < int.from_bytes(later[1], "big") <= 3600

    clean = cli("validate", "--config", str(config), "--report", str(tmp_path / "report"), timeout=300)
    assert clean.returncode == 0, clean.stderr

    _change_target(target)
    diffed = cli("diff", "--config", str(config), timeout=300)
    assert diffed.returncode == 1, diffed.stderr
    output = tmp_path / "reconcile"
    counts = json.loads((output / "summary.json").read_text())["tables"][f"{TGT_KS}.{TABLE}"]
    assert (counts["added"], counts["removed"], counts["conflicts"]) == (1, 1, 2)
    conflicts = json.loads((output / "conflicts.json").read_text())["conflicts"]
    assert sorted((c["key"]["Part Key"], c["key"]["order"]) for c in conflicts) == [(1, 1), (1, 2)]
    by_key = {c["key"]["order"]: c for c in conflicts}
    assert by_key[1]["columns"]['say "hi" #:.['] == {"prod": "changed", "dev": 'q"1'}
    assert by_key[2]["columns"]["udt col"] == {"prod": {"Field One": 8, "select": "x", "ü ü": "ü"}, "dev": None}

    # resolve-conflicts rebuilds conflicts.json and the pack from diff's difference files: the same
    resolved = cli("resolve-conflicts", "--config", str(config), "--auto", timeout=120)
    assert resolved.returncode == 0, resolved.stderr
    assert json.loads((output / "conflicts.json").read_text())["conflicts"] == conflicts

    # apply writes with the coordinator's clock: values are dev's again, write times are new
    applied = cli("apply", "--config", str(config), "--pack", str(output / "pack"), timeout=300)
    assert applied.returncode == 0 and "4 changes were applied" in applied.stderr, applied.stderr
    values = _config(tmp_path, endpoints, name="values.yaml", timestamps=False)
    again = cli("validate", "--config", str(values), timeout=300)
    assert again.returncode == 0, again.stderr
    dumps = (_as_target(dump(src, SRC_KS, TABLE, with_meta=False)), dump(tgt, TGT_KS, TABLE, with_meta=False))
    unignored = [{row: {k: v for k, v in cells.items() if k != IGNORED} for row, cells in d.items()} for d in dumps]
    assert_same(*unignored)  # an ignored column is neither compared nor written by apply

    # schema: a fresh production table holding only the key gets every other column added
    fresh = _qualified(TGT_KS, FRESH)
    target.execute(f"CREATE TABLE {fresh} ({PK} int, {CK} int, PRIMARY KEY ({PK}, {CK})) "
                   f"WITH CLUSTERING ORDER BY ({CK} DESC)")
    schema = _config(tmp_path, endpoints, FRESH, "schema.yaml")
    drift = cli("schema-diff", "--config", str(schema), timeout=120)
    assert drift.returncode == 1, drift.stderr
    found = {(d["section"], d["name"]): d["kind"]
             for d in json.loads((output / "schema_diff.json").read_text())["differences"]}
    wanted = _target_columns()
    assert found == {("column", name[1:-1].replace('""', '"')): "only in dev" for name in wanted} | {
        ("index", "CamelIdx"): "only in dev"}
    assert cli("schema-migrate", "--config", str(schema), timeout=120).returncode == 0
    lines = (output / "schema_migration.cql").read_text().splitlines()
    runnable = [line for line in lines if line and not line.startswith("--")]
    assert runnable == [f"ALTER TABLE {fresh} ADD {name} {kind};" for name, kind in sorted(wanted.items())] + [
        f'CREATE INDEX "CamelIdx" ON {fresh} ("camelCol");']
    for statement in runnable:
        target.execute(statement)
    assert cli("schema-diff", "--config", str(schema), timeout=120).returncode == 0
