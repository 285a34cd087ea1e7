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
