"""CQL text: identifier quoting and the exact statements the copy job prepares."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from migrator.backends.cassandra import cql

TABLE = '"ks"."Events"'


@pytest.mark.parametrize(
    ("identifier", "quoted"),
    [
        ("plain", '"plain"'),
        ("MixedCase", '"MixedCase"'),
        ('say "hi"', '"say ""hi"""'),
        ('"', '""""'),
        ("select", '"select"'),
        ("token", '"token"'),
        ("with space", '"with space"'),
        ("é", '"é"'),
    ],
)
def test_quote(identifier, quoted):
    assert cql.quote(identifier) == quoted


@given(st.text(min_size=1))
def test_quote_round_trips_through_cql_unquoting(identifier):
    quoted = cql.quote(identifier)
    inner = quoted[1:-1]
    assert quoted[0] == quoted[-1] == '"'
    assert inner.replace('""', "").count('"') == 0  # every inner quote is doubled
    assert inner.replace('""', '"') == identifier


def test_column_list_and_selectors():
    assert cql.column_list(["a", "B", 'c"d']) == '"a", "B", "c""d"'
    assert cql.writetime("Value") == 'WRITETIME("Value")'
    assert cql.ttl("Value") == 'TTL("Value")'


def test_token_range_select_without_where():
    text = cql.token_range_select(TABLE, ["Pk1", "pk2"], ['"Pk1"', '"pk2"', 'WRITETIME("v")'], None)
    assert text == (
        'SELECT "Pk1", "pk2", WRITETIME("v") FROM "ks"."Events" '
        'WHERE token("Pk1", "pk2") > ? AND token("Pk1", "pk2") <= ?'
    )


def test_token_range_select_with_where_adds_allow_filtering():
    text = cql.token_range_select(TABLE, ["k"], ['"k"', '"v"'], "v > 3 OR v < 0")
    assert text == (
        'SELECT "k", "v" FROM "ks"."Events" WHERE token("k") > ? AND token("k") <= ? '
        "AND (v > 3 OR v < 0) ALLOW FILTERING"
    )


def test_token_range_select_ignores_an_empty_where():
    assert cql.token_range_select(TABLE, ["k"], ['"k"'], "") == (
        'SELECT "k" FROM "ks"."Events" WHERE token("k") > ? AND token("k") <= ?'
    )


@pytest.mark.parametrize(
    ("ttl", "timestamp", "suffix"),
    [
        (None, None, ""),
        ("?", "?", " USING TTL ? AND TIMESTAMP ?"),
        ("3600", None, " USING TTL 3600"),
        (None, "1700000000000000", " USING TIMESTAMP 1700000000000000"),
        ("0", "5", " USING TTL 0 AND TIMESTAMP 5"),
    ],
)
def test_insert(ttl, timestamp, suffix):
    text = cql.insert(TABLE, ["k", "Value"], ttl=ttl, timestamp=timestamp)
    assert text == 'INSERT INTO "ks"."Events" ("k", "Value") VALUES (?, ?)' + suffix


def test_update_puts_using_before_set():
    text = cql.update(TABLE, ['"n" = "n" + ?', '"m" = "m" + ?'], ["k", "c"])
    assert text == 'UPDATE "ks"."Events" SET "n" = "n" + ?, "m" = "m" + ? WHERE "k" = ? AND "c" = ?'
    text = cql.update(TABLE, ['"s" = ?'], ["k"], ttl="?", timestamp="?")
    assert text == 'UPDATE "ks"."Events" USING TTL ? AND TIMESTAMP ? SET "s" = ? WHERE "k" = ?'


def test_select_by_key():
    assert cql.select_by_key(TABLE, ["a", "B"], ["k", "C"]) == (
        'SELECT "a", "B" FROM "ks"."Events" WHERE "k" = ? AND "C" = ?'
    )
