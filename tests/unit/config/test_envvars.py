"""${VAR} expansion: whole or embedded, defaults, the $${ escape, located problems."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from migrator.config.envvars import escape_tree, expand_string, expand_tree, is_plain_reference

ENV = {"HOST": "db.example.com", "PORT": "9042", "EMPTY": ""}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("${HOST}", "db.example.com"),
        ("${HOST}:${PORT}", "db.example.com:9042"),
        ("cassandra://${HOST}/ks", "cassandra://db.example.com/ks"),
        ("${MISSING:-fallback}", "fallback"),
        ("${EMPTY:-fallback}", "fallback"),
        ("${HOST:-fallback}", "db.example.com"),
        ("${MISSING:-}", ""),
        ("${MISSING:-a:b-c}", "a:b-c"),
        ("$${HOST}", "${HOST}"),
        ("$$${HOST}", "$${HOST}"),  # "$" then the escape: the literal text "$${HOST}"
        ("cost $5 and $HOST", "cost $5 and $HOST"),
        ("no references", "no references"),
    ],
)
def test_expand_string(text: str, expected: str) -> None:
    assert expand_string(text, ENV) == (expected, [])


def test_unset_variable_is_a_problem() -> None:
    value, found = expand_string("${NOPE}/x", ENV)
    assert value == "${NOPE}/x"
    assert found == [
        "environment variable NOPE is not set (referenced as ${NOPE}); export it, or give a default with "
        "${NOPE:-value}"
    ]


@pytest.mark.parametrize("text", ["${1X}", "${A B}", "${}"])
def test_invalid_reference(text: str) -> None:
    _, found = expand_string(text, ENV)
    assert len(found) == 1 and "is not a valid variable reference" in found[0]


def test_unclosed_reference() -> None:
    assert expand_string("abc ${HOST", ENV)[1] == [
        "'${' is not closed by '}'; write '$${' for a literal '${'"
    ]


def test_expand_tree_locates_problems_and_leaves_input_alone() -> None:
    tree = {"source": {"host": "${HOST}", "port": "${PORT}", "list": ["${A}", 3, True], "n": None}}
    expanded, found = expand_tree(tree, ENV)
    assert expanded == {
        "source": {"host": "db.example.com", "port": "9042", "list": ["${A}", 3, True], "n": None}
    }
    assert [path for path, _ in found] == [("source", "list", 0)]
    assert tree["source"]["host"] == "${HOST}"


def test_plain_reference() -> None:
    assert is_plain_reference("${X}")
    assert not is_plain_reference("${X:-d}") and not is_plain_reference("a${X}") and not is_plain_reference(5)


@given(st.text())
def test_escaping_then_expanding_is_the_identity(text: str) -> None:
    assert expand_string(escape_tree(text), {}) == (text, [])
