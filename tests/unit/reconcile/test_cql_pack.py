"""How a CQL pack file reads: checks and statements round-trip through ``parse``; what cannot be applied is said."""

from __future__ import annotations

from migrator.backends.cassandra.reconcile import CqlChanges
from migrator.reconcile.changes import DELETE, PUT, Change
from tests.unit.config.helpers import cql_tree, load_tree


def changes() -> CqlChanges:
    return CqlChanges(load_tree(cql_tree()).model)


def test_a_put_and_an_enabled_delete_parse_back_with_their_checks():
    fmt = changes()
    put = Change(PUT, {"k": 1, "c": 2}, "aa", "bb", {"k": "1", "c": "2", "v": "'x'"}, "added")
    delete = Change(DELETE, {"k": 3, "c": 4}, "cc", None, {"k": "3", "c": "4"}, "removed")
    text = fmt.render(put) + fmt.render(delete)
    parsed = list(fmt.parse(text.splitlines(keepends=True)))
    assert [(c.op, c.key, c.expect, c.want) for c in parsed] == [(PUT, {"k": 1, "c": 2}, "aa", "bb"),
                                                                  (DELETE, {"k": 3, "c": 4}, "cc", None)]
    assert parsed[0].row is not None and parsed[0].row["statement"].startswith("INSERT INTO ")
    assert parsed[1].row is not None and parsed[1].row["where"] == '"k" = 3 AND "c" = 4'


def test_a_disabled_delete_and_a_static_cells_only_partition_are_written_but_never_applied():
    fmt = changes()
    disabled = Change(DELETE, {"k": 3, "c": 4}, "cc", None, {"k": "3", "c": "4"}, "removed", enabled=False)
    static_only = Change(PUT, {"k": 5, "c": None}, None, "dd", {"k": "5", "c": "null", "s": "'x'"}, "added")
    text = fmt.render(disabled) + fmt.render(static_only)
    assert "-- DELETE FROM" in text and "only static cells" in text
    assert list(fmt.parse(text.splitlines(keepends=True))) == []


def test_the_rows_address_survives_the_pack_and_token_runs_follow_ascending_tokens():
    from migrator.backends.cassandra.reconcile import token_runs

    fmt = changes()
    at = {"token": -42, "key": ["00000001", "00000002"]}
    put = Change(PUT, {"k": 1, "c": 2}, None, "bb", {"k": "1", "c": "2"}, "added", address=at)
    [parsed] = fmt.parse(fmt.render(put).splitlines(keepends=True))
    assert parsed.address == at

    def located(token: int) -> Change:
        return Change(PUT, {"k": token}, None, "w", address={"token": token, "key": [f"{token:08x}"]})

    runs = token_runs([located(t) for t in (1, 5, 9, 2, 3, 3, 0)])
    assert [[c.address["token"] for c in run] for run in runs] == [[1, 5, 9], [2, 3, 3], [0]]


class _Prepared:
    def __init__(self, cql: str) -> None:
        self.cql = cql
        self.consistency_level = None


class _Session:
    def prepare(self, cql: str) -> _Prepared:
        return _Prepared(cql)


def _applier(partition_key: tuple[str, ...], clustering: tuple[str, ...]):
    """A ``CqlApplier`` over a table of that key, without a cluster: only what building reads needs."""
    from types import SimpleNamespace

    from migrator.backends.cassandra.reconcile import CqlApplier

    applier = object.__new__(CqlApplier)
    names = partition_key + clustering
    applier.plan = SimpleNamespace(partition_key=tuple(range(len(partition_key))),
                                   clustering=tuple(range(len(partition_key), len(names))), key_names=names,
                                   target_selectors=tuple(f'"{n}"' for n in (*names, "v")), target_qualified='"ks"."t"')
    applier.raw, applier.by_key, applier.level = _Session(), "by key", 1
    return applier


def _located(*key: str) -> Change:
    return Change(PUT, {}, None, "w", address={"token": 0, "key": list(key)})


def test_rows_are_read_by_key_many_per_request_where_the_table_allows_it():
    from migrator.backends.cassandra import reconcile

    # one-column partition key, no clustering: up to KEYS_PER_READ partition keys in one IN
    keys = [f"{i:02x}" for i in range(reconcile.KEYS_PER_READ + 1)]
    requests = list(_applier(("id",), ())._requests([_located(k) for k in keys]))
    assert [(r.cql, values) for r, values in requests] == [
        (f'SELECT "id", "v" FROM "ks"."t" WHERE "id" IN ({", ".join(["?"] * reconcile.KEYS_PER_READ)})',
         [bytes.fromhex(k) for k in keys[:-1]]),
        ('SELECT "id", "v" FROM "ks"."t" WHERE "id" IN (?)', [bytes.fromhex(keys[-1])])]
    # clustering: the changed rows of one partition in one IN on the clustering columns; a lone row by its key
    requests = list(_applier(("p",), ("c1", "c2"))._requests(
        [_located("01", "0a", "0b"), _located("01", "0c", "0d"), _located("02", "0e", "0f")]))
    assert requests[0][0].cql == ('SELECT "p", "c1", "c2", "v" FROM "ks"."t" WHERE "p" = ? AND ("c1", "c2") IN '
                                  '((?, ?), (?, ?))')
    assert requests[0][1] == [b"\x01", b"\x0a", b"\x0b", b"\x0c", b"\x0d"]
    assert requests[1] == ("by key", [b"\x02", b"\x0e", b"\x0f"])
    single = list(_applier(("p",), ("c",))._requests([_located("01", "0a"), _located("01", "0b")]))
    assert single[0][0].cql.endswith('WHERE "p" = ? AND "c" IN (?, ?)')
    # a partition key of several columns and no clustering: each row by its key
    assert list(_applier(("a", "b"), ())._requests([_located("01", "02"), _located("03", "04")])) == [
        ("by key", [b"\x01", b"\x02"]), ("by key", [b"\x03", b"\x04"])]


def test_partition_groups_cut_at_a_new_partition_and_at_the_request_size():
    from migrator.backends.cassandra import reconcile

    keys = [("01", f"{c:02x}") for c in range(reconcile.KEYS_PER_READ + 2)] + [("02", "00"), ("01", "00")]
    groups = reconcile.partition_groups(keys, 1)
    assert [len(g) for g in groups] == [reconcile.KEYS_PER_READ, 2, 1, 1]
    assert groups[2] == [("02", "00")]


def test_a_put_is_bound_to_a_prepared_insert_only_while_its_statement_and_cells_are_as_diff_wrote_them():
    from dataclasses import replace

    from migrator.backends.cassandra.reconcile import statement_sum

    fmt = changes()
    applier = _applier(("k",), ("c",))
    applier.plan.bindable = True
    applier.insert_prefix = f'INSERT INTO {fmt.qualified} ("k", "c", "v") VALUES ('
    cells = ["00000001", "00000002", None]
    put = Change(PUT, {"k": 1, "c": 2}, None, "bb", {"k": "1", "c": "2", "v": "null"}, "added",
                 address={"token": 5, "key": cells[:2], "cells": cells})
    [parsed] = fmt.parse(fmt.render(put).splitlines(keepends=True))
    statement = parsed.row["statement"]
    assert parsed.address["sum"] == statement_sum(statement, cells)
    assert applier._cells(parsed, statement) == [b"\x00\x00\x00\x01", b"\x00\x00\x00\x02", None]
    edited = statement.replace("null", "'x'")
    assert applier._cells(parsed, edited) is None  # a reviewer's edit is sent as text
    other = replace(parsed, address={**parsed.address, "cells": ["00000001", "00000002", "78"]})
    assert applier._cells(other, statement) is None  # cells that are not the ones the sum was made of
    applier.plan.bindable = False
    assert applier._cells(parsed, statement) is None  # types differ between the sides now


def test_a_run_is_probed_then_scanned_or_read_by_key_and_never_cut_inside_a_token():
    """The probe's range ends at its last change's token: the changes sharing that token go with it."""
    from migrator.backends.cassandra import reconcile

    def located(token: int, c: int) -> Change:
        return Change(PUT, {}, None, "w", address={"token": token, "key": [f"{token:02x}", f"{c:02x}"]})

    n = reconcile.PROBE_CHANGES
    run = [located(t, 0) for t in range(1, n)] + [located(n, c) for c in range(3)] + [located(n + 1, 0)]
    applier, scans = _applier(("p",), ("c",)), []

    def scan(rows_per_change: int):
        def _scan(changes, low, found):
            scans.append(([c.address["token"] for c in changes], low))
            return rows_per_change * len(changes)
        return _scan

    applier._scan = scan(1)  # dense: the rest is scanned from the probe's last token on
    assert applier._scan_run(run, {}) == []
    assert scans == [(list(range(1, n)) + [n] * 3, 0), ([n + 1], n)]
    scans.clear()
    applier._scan = scan(reconcile.SCAN_ROWS_PER_CHANGE + 1)  # sparse: the rest is read by key
    assert applier._scan_run(run, {}) == run[n + 2:]
    assert len(scans) == 1


def test_a_value_with_line_breaks_keeps_its_statement_whole_and_exact():
    import io

    import pytest

    from migrator.errors import ConfigError

    fmt = changes()
    tricky = ["'one\ntwo'", "'a;\r\nb'", "'c\rd'", "'\n-- not a comment\n'", "'it''s; \"quoted\"'"]
    puts = [Change(PUT, {"k": i}, None, "w", {"k": str(i), "v": v}, "added") for i, v in enumerate(tricky)]
    disabled = Change(DELETE, {"k": 9}, "e", None, {"k": "'x\ny'"}, "removed", enabled=False)
    text = "".join(fmt.render(c) for c in [puts[0], disabled, *puts[1:]])
    parsed = list(fmt.parse(io.StringIO(text, newline="")))  # as apply reads it: line breaks untranslated
    assert [c.row["statement"] for c in parsed] == [
        f'INSERT INTO {fmt.qualified} ("k", "v") VALUES ({i}, {v});' for i, v in enumerate(tricky)]
    assert "\n-- y';" in text  # every line of a disabled statement is commented out
    assert [c.row["statement"] for c in fmt.parse(["-- change " + text.split("-- change ")[1].splitlines()[0] + "\n",
                                                   "INSERT INTO t (k) VALUES (1); -- a reviewer's note\n"])] == \
        ["INSERT INTO t (k) VALUES (1); -- a reviewer's note"]
    cut = text.replace("'one\ntwo'", "'one\ntwo")  # a quote left open in an edit
    with pytest.raises(ConfigError, match="does not end before line 4"):
        list(fmt.parse(io.StringIO(cut, newline="")))
    with pytest.raises(ConfigError, match="before the end of the file"):
        list(fmt.parse(io.StringIO(fmt.render(puts[0]).replace("two'", "two"), newline="")))
