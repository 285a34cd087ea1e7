"""Reconcile on CQL: ``migrator diff`` of two diverged tables, exact counts, digests and ``newest`` by WRITETIME."""

from __future__ import annotations

import json

import pytest

from migrator.backends.cassandra.literals import cell_literal, statement_insert
from migrator.backends.cassandra.ordering import parse_cql_type
from migrator.backends.cassandra.values import decoder_for
from tests.integration.test_migrate_types import (
    COLLECTION_ROWS,
    COLLECTIONS,
    NATIVE_ROWS,
    NATIVES,
    UDT_ROWS,
    UDT_TABLE,
    UDTS,
)
from tests.support.constants import SOURCE_KS, TARGET_KS
from tests.support.helpers import assert_same, cli, dump, recreate, write_config

pytestmark = pytest.mark.integration

COLUMNS = "(k int, c int, v text, tags set<text>, PRIMARY KEY (k, c))"


def _diverge(source, target) -> None:
    """30 shared rows; dev adds (100, 0..2), production alone has (200, 0..1), conflicts on (0, 0..3).

    Conflicts (0, 0) and (0, 1) were written later in dev, (0, 2) later in production, and in (0, 3)
    only the set differs, written later in dev element by element.
    """
    recreate(source, target, "diverged", COLUMNS)
    insert = "INSERT INTO {ks}.diverged (k, c, v, tags) VALUES (%s, %s, %s, %s) USING TIMESTAMP %s"
    for session, ks in ((source, SOURCE_KS), (target, TARGET_KS)):
        for i in range(1, 31):
            session.execute(insert.format(ks=ks), (i, i % 3, f"v{i}", {"a"}, 1_000))
    times = {0: (3_000, 2_000), 1: (3_000, 2_000), 2: (1_500, 2_000), 3: (1_000, 1_000)}
    for c, (dev_time, prod_time) in times.items():
        source.execute(insert.format(ks=SOURCE_KS), (0, c, "dev" if c < 3 else "same", {"a"}, dev_time))
        target.execute(insert.format(ks=TARGET_KS), (0, c, "prod" if c < 3 else "same", {"a"}, prod_time))
    source.execute(f"UPDATE {SOURCE_KS}.diverged USING TIMESTAMP 5000 SET tags = tags + {{'b'}} WHERE k = 0 AND c = 3")
    for c in range(3):
        source.execute(insert.format(ks=SOURCE_KS), (100, c, "new", None, 1_000))
    for c in range(2):
        target.execute(insert.format(ks=TARGET_KS), (200, c, "old", None, 1_000))


def test_diff_counts_exactly_and_newest_follows_writetime(source, target, endpoints, tmp_path) -> None:
    _diverge(source, target)
    output = tmp_path / "reconcile"
    config = write_config(tmp_path, endpoints, "diverged", top={"reconcile": {"output": str(output),
                                                                              "strategy": "newest"}})
    done = cli("diff", "--config", str(config), timeout=300)
    assert done.returncode == 1, done.stderr
    summary = json.loads((output / "summary.json").read_text())
    counts = summary["tables"][f"{TARGET_KS}.diverged"]
    assert (counts["added"], counts["removed"], counts["conflicts"]) == (3, 2, 4)
    assert counts["decisions"] == {"keep_prod": 1, "use_dev": 3, "pending": 0}
    conflicts = {c["key"]["c"]: c for c in json.loads((output / "conflicts.json").read_text())["conflicts"]}
    assert {c: v["decision"] for c, v in conflicts.items()} == {0: "use_dev", 1: "use_dev", 2: "keep_prod",
                                                                3: "use_dev"}
    assert (conflicts[0]["devWritten"], conflicts[0]["prodWritten"]) == (3000, 2000)
    assert conflicts[3]["devWritten"] == 5000 and list(conflicts[3]["columns"]) == ["tags"]
    assert conflicts[0]["columns"]["v"] == {"prod": "prod", "dev": "dev"}
    assert all(len(c["devDigest"]) == 32 and len(c["prodDigest"]) == 32 for c in conflicts.values())
    assert conflicts[0]["devDigest"] != conflicts[0]["prodDigest"]
    # a second diff of unchanged tables gives the same digests: they are what apply will check against
    assert cli("diff", "--config", str(config), timeout=300).returncode == 1
    again = {c["key"]["c"]: c for c in json.loads((output / "conflicts.json").read_text())["conflicts"]}
    assert {c: (v["devDigest"], v["prodDigest"]) for c, v in again.items()} == \
        {c: (v["devDigest"], v["prodDigest"]) for c, v in conflicts.items()}
    # a validation block comparing write times too: they are listed with the differing columns
    timed = write_config(tmp_path, endpoints, "diverged", name="timed.yaml", top={
        "reconcile": {"output": str(output), "strategy": "newest"},
        "validation": {"compareTimestamps": True, "ttlToleranceMillis": 0, "writetimeToleranceMillis": 0,
                       "failuresToFetch": 10, "floatingPointTolerance": 0.0, "timestampMsTolerance": 0}})
    assert cli("diff", "--config", str(timed), timeout=300).returncode == 1
    columns = {c["key"]["c"]: c["columns"] for c in json.loads((output / "conflicts.json").read_text())["conflicts"]}
    assert columns[0]["v"] == {"prod": "prod", "dev": "dev"} and "writetime(v)" in columns[0]


@pytest.mark.parametrize(("table", "columns", "rows", "types"), [
    ("natives", NATIVES, NATIVE_ROWS, []),
    ("collections", COLLECTIONS, COLLECTION_ROWS, []),
    ("udts", UDT_TABLE, UDT_ROWS, UDTS),
])
def test_pack_literals_write_back_every_type_exactly(source, target, raw_sessions, table, columns, rows, types):
    """Each row read raw, decoded, written as an INSERT of literals into the target: the cells are byte-equal."""
    recreate(source, target, table, columns, types=types)
    for statement in rows:
        source.execute(statement.format(t=f"{SOURCE_KS}.{table}"))
    src, _ = raw_sessions
    src.cluster.refresh_table_metadata(SOURCE_KS, table)
    tm = src.cluster.metadata.keyspaces[SOURCE_KS].tables[table]
    user_types = {name: tuple(zip(u.field_names, u.field_types, strict=True))
                  for name, u in src.cluster.metadata.keyspaces[SOURCE_KS].user_types.items()}
    names = list(tm.columns)
    parsed = [parse_cql_type(tm.columns[n].cql_type, user_types) for n in names]
    decoders = [decoder_for(tm.columns[n].cql_type, user_types) for n in names]
    for row in src.execute(f"SELECT {', '.join(names)} FROM {SOURCE_KS}.{table}"):
        cells = {n: cell_literal(t, raw, d(raw)) for n, t, d, raw in zip(names, parsed, decoders, row, strict=True)
                 if raw is not None}
        target.execute(statement_insert(f"{TARGET_KS}.{table}", cells))
    assert_same(dump(src, SOURCE_KS, table, with_meta=False), dump(raw_sessions[1], TARGET_KS, table, with_meta=False))


def _rows(session, ks: str) -> dict[tuple[int, int], tuple]:
    return {(r[0], r[1]): (r[2], r[3]) for r in session.execute(f"SELECT k, c, v, tags FROM {ks}.diverged")}


def test_the_cql_pack_is_reviewable_and_apply_makes_production_as_decided(source, target, endpoints,
                                                                          tmp_path) -> None:
    _diverge(source, target)
    output = tmp_path / "reconcile"
    config = write_config(tmp_path, endpoints, "diverged", top={"reconcile": {
        "output": str(output), "strategy": "newest", "allowDeletes": True, "applyBatchRows": 3}})
    dev, prod = _rows(source, SOURCE_KS), _rows(target, TARGET_KS)
    assert cli("diff", "--config", str(config), timeout=300).returncode == 1
    pack = output / "pack"
    text = (pack / f"{TARGET_KS}.diverged.cql").read_text()
    statements = [line for line in text.splitlines() if line and not line.startswith("-- ")]
    assert len(statements) == 8 and all(s.startswith(("INSERT INTO", "DELETE FROM")) for s in statements)
    assert statements[-2:] == [f'DELETE FROM "{TARGET_KS}"."diverged" WHERE "k" = 200 AND "c" = {c};' for c in (0, 1)]
    assert f'INSERT INTO "{TARGET_KS}"."diverged" ("k", "c", "tags", "v") VALUES (100, 0, null, \'new\');' in text
    changed_after_diff = (0, 0)
    target.execute(f"UPDATE {TARGET_KS}.diverged SET v = 'changed after the diff' WHERE k = 0 AND c = 0")
    # a reviewer's edit: that statement is sent as edited (the others are bound to a prepared INSERT)
    edited = text.replace("VALUES (100, 1, null, 'new');", "VALUES (100, 1, null, 'edited in review');")
    assert edited != text
    (pack / f"{TARGET_KS}.diverged.cql").write_text(edited)
    done = cli("apply", "--config", str(config), "--pack", str(pack), timeout=300)
    assert done.returncode == 1 and "7 changes were applied" in done.stderr and "1 skipped" in done.stderr, \
        done.stderr
    expected = {key: row for key, row in prod.items() if key[0] != 200}
    expected |= {key: dev[key] for key in ((0, 1), (0, 3), (100, 0), (100, 2))}
    expected[(100, 1)] = ("edited in review", None)
    expected[changed_after_diff] = ("changed after the diff", prod[changed_after_diff][1])
    assert _rows(target, TARGET_KS) == expected
    # the edited row now differs from the digest the change wants: a second run skips it, never rewrites it
    again = cli("apply", "--config", str(config), "--pack", str(pack), timeout=300)
    assert "0 changes were applied, 6 already in place, 2 skipped" in again.stderr, again.stderr


def test_schema_diff_finds_drift_and_schema_migrate_aligns_what_is_safe(source, target, endpoints, tmp_path) -> None:
    source.execute(f"DROP TABLE IF EXISTS {SOURCE_KS}.shaped")
    target.execute(f"DROP TABLE IF EXISTS {TARGET_KS}.shaped")
    source.execute(f"CREATE TABLE {SOURCE_KS}.shaped (k int, c int, n bigint, extra int, s text static, "
                   "PRIMARY KEY (k, c)) WITH default_time_to_live = 600")
    source.execute(f"CREATE INDEX IF NOT EXISTS shaped_by_extra ON {SOURCE_KS}.shaped (extra)")
    target.execute(f"CREATE TABLE {TARGET_KS}.shaped (k int, c int, n int, gone text, PRIMARY KEY (k, c))")
    output = tmp_path / "reconcile"
    config = write_config(tmp_path, endpoints, "shaped", top={"reconcile": {"output": str(output)}})
    done = cli("schema-diff", "--config", str(config), timeout=120)
    assert done.returncode == 1, done.stderr
    drift = {(d["section"], d["name"]): d["kind"] for d in json.loads((output / "schema_diff.json").read_text())[
        "differences"]}
    assert drift == {("column", "extra"): "only in dev", ("column", "s"): "only in dev",
                     ("column", "gone"): "only in production", ("column", "n"): "differs",
                     ("option", "default_time_to_live"): "only in dev", ("index", "shaped_by_extra"): "only in dev"}
    assert cli("schema-migrate", "--config", str(config), timeout=120).returncode == 0
    lines = (output / "schema_migration.cql").read_text().splitlines()
    runnable = [line for line in lines if line and not line.startswith("--")]
    assert len(runnable) == 4 and any("DROP" in line for line in lines if line.startswith("-- "))
    for statement in runnable:
        target.execute(statement)
    again = cli("schema-diff", "--config", str(config), timeout=120)
    left = {(d["section"], d["name"]) for d in json.loads((output / "schema_diff.json").read_text())["differences"]}
    assert again.returncode == 1 and left == {("column", "gone"), ("column", "n")}  # only what loses data


def test_a_counter_table_is_refused_with_the_reason_and_what_to_do(source, target, endpoints, tmp_path) -> None:
    recreate(source, target, "counted", "(k int PRIMARY KEY, n counter)")
    config = write_config(tmp_path, endpoints, "counted", top={"reconcile": {"output": str(tmp_path / "out")}})
    done = cli("diff", "--config", str(config), timeout=300)
    assert done.returncode == 2 and "counter table" in done.stderr and "migrator migrate" in done.stderr, done.stderr
    assert "Traceback" not in done.stderr and not (tmp_path / "out" / "pack").exists()


def test_theirs_wins_over_production_cells_timestamped_in_the_future(source, target, endpoints, tmp_path,
                                                                     monkeypatch) -> None:
    import time
    from collections import Counter

    from migrator.backends.cassandra import reconcile as cql_reconcile
    from migrator.config import load_config
    from migrator.reconcile.apply import apply
    from migrator.reconcile.changes import ALREADY

    recreate(source, target, "ahead", COLUMNS)
    ahead = int((time.time() + 3600) * 1e6)  # production's clock ran an hour fast
    insert = "INSERT INTO {ks}.ahead (k, c, v, tags) VALUES (%s, %s, %s, %s) USING TIMESTAMP %s"
    for c in range(3):
        source.execute(insert.format(ks=SOURCE_KS), (1, c, "dev", {"d"}, 1_000))
        target.execute(insert.format(ks=TARGET_KS), (1, c, "prod", {"p"}, ahead if c == 0 else 1_000))
    output = tmp_path / "reconcile"
    config = write_config(tmp_path, endpoints, "ahead", top={"reconcile": {"output": str(output),
                                                                           "strategy": "theirs"}})
    assert cli("diff", "--config", str(config), timeout=300).returncode == 1
    text = (output / "pack" / f"{TARGET_KS}.ahead.cql").read_text()
    assert text.count(f"USING TIMESTAMP {ahead + 1};") == 1
    done = cli("apply", "--config", str(config), "--pack", str(output / "pack"), timeout=300)
    assert done.returncode == 0 and "3 changes were applied" in done.stderr, done.stderr
    assert set(target.execute(f"SELECT c, v FROM {TARGET_KS}.ahead")) == {(0, "dev"), (1, "dev"), (2, "dev")}
    # the same check by reads by key (what a sparse pack uses; here the partition's rows in one IN on the
    # clustering columns): everything already in place
    monkeypatch.setattr(cql_reconcile, "SCAN_ROWS_PER_CHANGE", 0)
    monkeypatch.setattr(cql_reconcile, "SCAN_SLACK_ROWS", 0)
    again = apply(load_config(config), output / "pack", dry_run=True)
    assert again.outcomes == {f"{TARGET_KS}.ahead": Counter({ALREADY: 3})}


@pytest.mark.parametrize(("table", "columns", "key"), [
    ("by_partition", "(id bigint PRIMARY KEY, v text)", ("id",)),
    ("by_pair", "(a int, b int, v text, PRIMARY KEY ((a, b)))", ("a", "b")),
])
def test_apply_checks_production_the_same_by_key_or_by_token_range(source, target, endpoints, tmp_path, monkeypatch,
                                                                   table, columns, key) -> None:
    """100 rows, every third in conflict: reads by key (IN, or one per row) and range scans decide alike."""
    from collections import Counter

    from migrator.backends.cassandra import reconcile as cql_reconcile
    from migrator.config import load_config
    from migrator.reconcile.apply import apply
    from migrator.reconcile.changes import ALREADY, APPLIED, SKIPPED

    recreate(source, target, table, columns)
    names = ", ".join(key)
    marks = ", ".join(["%s"] * len(key))
    keys = [(i,) if len(key) == 1 else (i, i * 7) for i in range(100)]
    for session, ks in ((source, SOURCE_KS), (target, TARGET_KS)):
        for i, k in enumerate(keys):
            value = "prod" if ks == TARGET_KS and i % 3 == 0 else f"v{i}"
            session.execute(f"INSERT INTO {ks}.{table} ({names}, v) VALUES ({marks}, %s)", (*k, value))
    output = tmp_path / "reconcile"
    config = write_config(tmp_path, endpoints, table, top={"reconcile": {"output": str(output), "strategy": "theirs",
                                                                         "applyBatchRows": 10}})
    assert cli("diff", "--config", str(config), timeout=300).returncode == 1
    loaded, pack = load_config(config), output / "pack"
    where = " AND ".join(f"{n} = %s" for n in key)
    target.execute(f"UPDATE {TARGET_KS}.{table} SET v = 'changed after the diff' WHERE {where}", keys[3])

    def outcomes(*, scan: bool, dry_run: bool = True) -> Counter[str]:
        monkeypatch.setattr(cql_reconcile, "SCAN_ROWS_PER_CHANGE", 10**6 if scan else 0)
        monkeypatch.setattr(cql_reconcile, "SCAN_SLACK_ROWS", 0)
        return apply(loaded, pack, dry_run=dry_run).outcomes[f"{TARGET_KS}.{table}"]

    assert outcomes(scan=True) == outcomes(scan=False) == Counter({APPLIED: 33, SKIPPED: 1})
    assert outcomes(scan=False, dry_run=False) == Counter({APPLIED: 33, SKIPPED: 1})
    rows = {tuple(r[:-1]): r[-1] for r in target.execute(f"SELECT {names}, v FROM {TARGET_KS}.{table}")}
    assert rows == {k: "changed after the diff" if i == 3 else f"v{i}" for i, k in enumerate(keys)}
    assert outcomes(scan=True) == outcomes(scan=False) == Counter({ALREADY: 33, SKIPPED: 1})


def test_text_with_line_breaks_and_quotes_reaches_production_exactly(source, target, endpoints, tmp_path,
                                                                     monkeypatch) -> None:
    """Values a CQL statement spans lines for: applied exactly, bound to a prepared INSERT and as text."""
    from migrator.backends.cassandra.reconcile import CqlApplier
    from migrator.config import load_config
    from migrator.reconcile.apply import apply

    recreate(source, target, "texts", "(k int PRIMARY KEY, v text, tags set<text>)")
    values = ["one\ntwo", "a;\r\nb", "c\rd", "\n-- a comment? no, text\n", "it's; \"quoted\"", "-- x\n;"]
    for k, v in enumerate(values):
        source.execute(f"INSERT INTO {SOURCE_KS}.texts (k, v, tags) VALUES (%s, %s, %s)", (k, v, {v, "plain"}))
    output = tmp_path / "reconcile"
    config = write_config(tmp_path, endpoints, "texts",
                          top={"reconcile": {"output": str(output), "strategy": "theirs"}})
    assert cli("diff", "--config", str(config), timeout=300).returncode == 1

    def production() -> dict[int, tuple]:
        return {r[0]: (r[1], r[2]) for r in target.execute(f"SELECT k, v, tags FROM {TARGET_KS}.texts")}

    expected = {k: (v, {v, "plain"}) for k, v in enumerate(values)}
    done = cli("apply", "--config", str(config), "--pack", str(output / "pack"), timeout=300)
    assert done.returncode == 0 and f"{len(values)} changes were applied" in done.stderr, done.stderr
    assert production() == expected
    target.execute(f"TRUNCATE {TARGET_KS}.texts")
    monkeypatch.setattr(CqlApplier, "_cells", lambda self, change, statement: None)  # every statement as text
    assert sum(c["applied"] for c in apply(load_config(config), output / "pack").outcomes.values()) == len(values)
    assert production() == expected
