"""render_yaml: stable, readable key order; round trips through load_config."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from hypothesis import example, given, settings
from hypothesis import strategies as st

from migrator.config import (
    TOP_LEVEL_ORDER,
    CassandraSource,
    encode_token_ranges,
    load_config,
    redact_tree,
    render_yaml,
)

from .helpers import EXAMPLES, FIXTURE_ENV, FIXTURES, cql_tree, narrow

ALL_FILES = sorted(FIXTURES.glob("*.yaml")) + sorted(EXAMPLES.glob("*.yaml"))


@pytest.mark.parametrize("path", ALL_FILES, ids=lambda p: p.name)
def test_raw_round_trip(path: Path) -> None:
    loaded = load_config(path, environ=FIXTURE_ENV)
    again = load_config(render_yaml(loaded.raw), environ=FIXTURE_ENV)
    assert again.model == loaded.model
    assert again.raw == loaded.raw


@pytest.mark.parametrize("path", ALL_FILES, ids=lambda p: p.name)
def test_model_dump_round_trip(path: Path) -> None:
    model = load_config(path, environ=FIXTURE_ENV).model
    dumped = model.model_dump(by_alias=True, exclude_none=True)
    again = load_config(render_yaml(dumped), environ={}).model  # everything is expanded already
    assert again == model
    assert again.token_type == model.token_type


def test_top_level_order_and_type_first() -> None:
    tree = {
        "migratorState": {"kind": "migrate"},
        "validation": {"compareTimestamps": False},
        "skipTokenRanges": [],
        "target": {"host": "h", "type": "scylla"},
        "custom": 1,
        "renames": [],
        "source": {"table": "t", "type": "cassandra", "keyspace": "k"},
        "savepoints": {"path": "p"},
    }
    text = render_yaml(tree)
    top = [line.split(":")[0] for line in text.splitlines() if line and not line.startswith(" ")]
    assert top == [
        "source",
        "target",
        "renames",
        "savepoints",
        "skipTokenRanges",
        "validation",
        "migratorState",
        "custom",
    ]
    assert text.startswith("source:\n  type: cassandra\n  table: t\n  keyspace: k\ntarget:\n  type: scylla\n")
    assert TOP_LEVEL_ORDER[:2] == ("source", "target")


def test_header_lines_are_comments() -> None:
    text = render_yaml({"source": {"type": "parquet"}}, header=["savepoint written now", "", "resume: x"])
    assert text.splitlines()[:4] == ["# savepoint written now", "#", "# resume: x", "source:"]


def test_token_ranges_render_one_per_line_and_load_back() -> None:
    tree = cql_tree(skipTokenRanges=encode_token_ranges([(-(2**63), -5), (7, 2**63 - 1)]))
    text = render_yaml(tree)
    assert (
        "skipTokenRanges:\n"
        "  - [{type: long, value: -9223372036854775808}, {type: long, value: -5}]\n"
        "  - [{type: long, value: 7}, {type: long, value: 9223372036854775807}]\n" in text
    )
    model = load_config(text, environ={}).model
    assert model.skip_token_ranges == [(-(2**63), -5), (7, 2**63 - 1)]


def test_block_style_and_multiline_strings() -> None:
    tree = cql_tree(renames=[{"from": "a", "to": "b"}])
    tree["source"]["where"] = "a = 1\nAND b = 2"
    text = render_yaml(tree)
    assert "{" not in text and "[" not in text
    assert "  where: |-\n    a = 1\n    AND b = 2\n" in text
    assert "renames:\n  - from: a\n    to: b\n" in text
    assert yaml.safe_load(text) == tree


def test_strings_that_look_like_other_types_stay_strings() -> None:
    tree = {"source": {"a": "123", "b": "true", "c": "2024-05-01", "d": "${X}", "e": "<redacted>", "f": ""}}
    assert yaml.safe_load(render_yaml(tree)) == tree


def test_redacted_raw_keeps_references() -> None:
    loaded = load_config(FIXTURES / "cassandra-to-scylla-env-vars.yaml", environ=FIXTURE_ENV)
    text = render_yaml(redact_tree(loaded.raw, redact_where=True))
    assert "host: ${SOURCE_HOST}\n" in text
    assert "password: ${SOURCE_PASSWORD}\n" in text
    assert "where: <redacted>\n" in text
    source = narrow(load_config(text, environ=FIXTURE_ENV).model.source, CassandraSource)
    assert source.where == "<redacted>"
    assert source.credentials is not None and source.credentials.password == "source-pw"


_NAMES = st.text(st.characters(blacklist_categories=("Cc", "Cs", "Zl", "Zp")), min_size=1, max_size=12).filter(
    lambda name: name.strip() != "" and "${" not in name)  # ${VAR} in a value is an environment reference


@settings(max_examples=150)
@given(st.lists(_NAMES, min_size=1, max_size=4, unique=True))
@example(["#x", ":v", "a.b", "'q'", '"d"', "- a", "? b", "true", "1", "null", "~", "日本", "with space", "$x"])
@example(["[x]", "{y}", "*z", "&w", "!v", "%u", "@t", "`s", "a: b", "a #c", " lead", "trail ", "|", ">"])
def test_any_column_name_round_trips_through_a_rendered_config(names: list[str]) -> None:
    """Savepoints and checkpoints are rendered configs: renames, ignored columns and tolerances keep every name."""
    validation = {"compareTimestamps": False, "ttlToleranceMillis": 0, "writetimeToleranceMillis": 0,
                  "failuresToFetch": 1, "floatingPointTolerance": 0.0, "timestampMsTolerance": 0,
                  "ignoreColumns": names, "columnTolerances": dict.fromkeys(names, 0.5)}
    tree = cql_tree(renames=[{"from": n, "to": f"{n}→"} for n in names], validation=validation)
    model = load_config(render_yaml(tree), environ={}).model
    assert model.rename_map == {n: f"{n}→" for n in names}
    again = load_config(render_yaml(model.model_dump(by_alias=True, exclude_none=True)), environ={}).model
    assert again == model
