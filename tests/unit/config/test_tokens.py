"""skipTokenRanges: upstream {type, value} encoding, bare pairs, bigint, and encode_token_ranges."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from migrator.config import encode_token_ranges, render_yaml
from migrator.config.tokens import LONG_MAX, LONG_MIN

from .helpers import cql_tree, load_tree, problems


def test_encode_token_ranges() -> None:
    assert encode_token_ranges([(1, 2)]) == [[{"type": "long", "value": 1}, {"type": "long", "value": 2}]]
    assert encode_token_ranges([(0, 2**127)], "bigint") == [
        [{"type": "bigint", "value": 0}, {"type": "bigint", "value": 2**127}]
    ]
    with pytest.raises(ValueError, match="token_type must be 'long' or 'bigint'"):
        encode_token_ranges([(1, 2)], "int")


def test_bare_bigint_values_infer_bigint() -> None:
    model = load_tree(cql_tree(skipTokenRanges=[[0, 2**100]])).model
    assert (model.skip_token_ranges, model.token_type) == ([(0, 2**100)], "bigint")


def test_bare_values_take_the_declared_type() -> None:
    tree = cql_tree(skipTokenRanges=[[{"type": "bigint", "value": 1}, 5], [7, "8"]])
    model = load_tree(tree).model
    assert (model.skip_token_ranges, model.token_type) == ([(1, 5), (7, 8)], "bigint")


def test_type_is_case_insensitive() -> None:
    tree = cql_tree(skipTokenRanges=[[{"type": "LONG", "value": 1}, {"type": "Long", "value": 2}]])
    assert load_tree(tree).model.token_type == "long"


@pytest.mark.parametrize(
    ("ranges", "path", "message"),
    [
        ([[1, 2, 3]], "skipTokenRanges[0]", "expected a pair [start, end], got 3 items"),
        (
            [[{"type": "long", "value": 1.5}, 2]],
            "skipTokenRanges[0][0].value",
            "expected an integer, got 1.5",
        ),
        (
            [[{"type": "long", "value": True}, 2]],
            "skipTokenRanges[0][0].value",
            "expected an integer, got true",
        ),
        (
            [[{"type": "long"}, 2]],
            "skipTokenRanges[0][0].value",
            "missing required key 'value'; for example: value: -9223372036854775808",
        ),
        (
            [[{"type": "long", "value": 2**63}, 2]],
            "skipTokenRanges[0][0].value",
            "9223372036854775808 is outside the long (Murmur3Partitioner) token range",
        ),
        (
            [[{"type": "bigint", "value": -2}, 2]],
            "skipTokenRanges[0][0].value",
            "-2 is outside the bigint (RandomPartitioner) token range",
        ),
        ([[{"type": "int", "value": 1}, 2]], "skipTokenRanges[0][0].type", "expected one of long, bigint"),
        ("all", "skipTokenRanges", "expected a list, got 'all'"),
        ([5], "skipTokenRanges[0]", "expected a list, got 5"),
        (
            [[{"type": "long", "value": 1}, {"type": "bigint", "value": 2}]],
            "skipTokenRanges",
            "mixes long and bigint tokens",
        ),
    ],
)
def test_bad_token_ranges(ranges: object, path: str, message: str) -> None:
    found = problems(cql_tree(skipTokenRanges=ranges))
    assert list(found) == [path]
    assert found[path].startswith(message)


def test_skip_segments_and_parquet_files_are_sets() -> None:
    model = load_tree(cql_tree(skipSegments=[3, 1, 3], skipParquetFiles=["b", "a", "b"])).model
    assert (model.skip_segments, model.skip_parquet_files) == ([1, 3], ["a", "b"])
    assert problems(cql_tree(skipSegments=[-1]))["skipSegments[0]"].startswith("must be at least 0, got -1")


tokens = st.integers(min_value=LONG_MIN, max_value=LONG_MAX)


@settings(deadline=None, max_examples=50)
@given(st.lists(st.tuples(tokens, tokens), max_size=20))
def test_long_ranges_round_trip_through_yaml(ranges: list[tuple[int, int]]) -> None:
    text = render_yaml(cql_tree(skipTokenRanges=encode_token_ranges(ranges)))
    model = load_tree_text(text)
    assert model.skip_token_ranges == ranges
    assert model.token_type == "long"


@settings(deadline=None, max_examples=50)
@given(st.lists(st.tuples(st.integers(-1, 2**127), st.integers(-1, 2**127)), min_size=1, max_size=10))
def test_bigint_ranges_round_trip_through_yaml(ranges: list[tuple[int, int]]) -> None:
    model = load_tree_text(render_yaml(cql_tree(skipTokenRanges=encode_token_ranges(ranges, "bigint"))))
    assert (model.skip_token_ranges, model.token_type) == (ranges, "bigint")


def load_tree_text(text: str):
    from migrator.config import load_config

    return load_config(text, environ={}).model
