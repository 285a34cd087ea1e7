"""Strategies and recorded decisions: what each strategy decides, and decisions bound to row digests."""

from __future__ import annotations

import json

import pytest

from migrator.errors import ConfigError
from migrator.reconcile.decisions import KEEP_PROD, PENDING, USE_DEV, Conflict, decide, key_text
from migrator.reconcile.resolutions import Resolutions


def conflict(prod: float | None = 10, dev: float | None = 20, **kw) -> Conflict:
    base = {"table": "shop.users", "key": {"id": 7, "region": "eu"}, "prod_digest": "p1", "dev_digest": "d1"}
    return Conflict(**{**base, **kw}, prod_written=prod, dev_written=dev)


@pytest.mark.parametrize(("strategy", "prod", "dev", "expected"), [
    ("ours", 10, 20, KEEP_PROD),
    ("theirs", 20, 10, USE_DEV),
    ("manual", 10, 20, PENDING),
    ("newest", 10, 20, USE_DEV),
    ("newest", 20, 10, KEEP_PROD),
    ("newest", 15, 15, KEEP_PROD),  # a tie keeps production
    ("newest", None, 20, PENDING),  # no write time: nobody can say which is newer
    ("newest", 10, None, PENDING),
])
def test_each_strategy_decides_as_documented(strategy, prod, dev, expected):
    assert decide(strategy, conflict(prod, dev)) == expected


def test_key_text_ignores_column_order():
    assert key_text({"a": 1, "b": "x"}) == key_text({"b": "x", "a": 1})


def test_a_decision_is_saved_at_once_and_found_again(tmp_path):
    path = tmp_path / "resolutions.json"
    Resolutions(path, clock=lambda: "T1").record(conflict(), USE_DEV)
    data = json.loads(path.read_text())
    assert data["version"] == 1 and data["decisions"][0]["decision"] == USE_DEV
    assert data["decisions"][0]["prodDigest"] == "p1" and data["decisions"][0]["devDigest"] == "d1"
    again = Resolutions(path)
    assert again.lookup(conflict(key={"region": "eu", "id": 7})) == USE_DEV and again.created_at == "T1"


@pytest.mark.parametrize("changed", [{"prod_digest": "p2"}, {"dev_digest": "d2"}])
def test_a_decision_is_void_when_either_row_changed_since(tmp_path, changed):
    path = tmp_path / "resolutions.json"
    Resolutions(path).record(conflict(), KEEP_PROD)
    again = Resolutions(path)
    assert again.lookup(conflict(**changed)) is None and again.voided == 1


def test_the_rest_of_a_table_is_recorded_in_one_write(tmp_path):
    path = tmp_path / "resolutions.json"
    rest = [conflict(key={"id": i}) for i in range(5)]
    Resolutions(path).record_many(rest, KEEP_PROD)
    assert all(Resolutions(path).lookup(c) == KEEP_PROD for c in rest)


def test_pending_is_not_recorded_and_a_broken_file_is_named(tmp_path):
    path = tmp_path / "resolutions.json"
    with pytest.raises(ValueError, match="only"):
        Resolutions(path).record(conflict(), PENDING)
    path.write_text('{"version": 1, "createdAt": "x", "decisions": [{"decision": "maybe"}]}')
    with pytest.raises(ConfigError, match=f"{path} cannot be read"):
        Resolutions(path)
