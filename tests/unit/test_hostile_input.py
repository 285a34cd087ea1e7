"""Hostile input (property-based, hypothesis): every file a user hands in gives a result or a clear exit 2.

Entry points, each fuzzed where a user's file enters: a config or savepoint (``load_config``, then what the CLI
does next: collect the secrets and render the redacted config for the log), a savepoint found in the savepoint
folder (``resume_point``), the finished token ranges turned into a plan (``savepoint.ring_plan``), an apply
checkpoint (``Checkpoints.begin``, from the folder or given as the config) and ``resolutions.json``
(``Resolutions``). For any input each returns, or raises a ``MigratorError`` with exit code 2 whose message holds
no traceback, within ``TIME_LIMIT`` seconds. ``EXAMPLES`` holds the number of examples of each property.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import json
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest
import yaml
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from migrator.backends.cassandra.savepoint import ring_plan
from migrator.cli import main
from migrator.config import LoadedConfig, load_config, redact_tree, render_yaml
from migrator.config.base import MAX_SCAN_SEGMENTS, MAX_SPLIT_COUNT
from migrator.config.tokens import BIGINT_MAX, BIGINT_MIN, LONG_MAX, LONG_MIN
from migrator.config.yamlio import MAX_ALIAS_VALUES, MAX_DEPTH
from migrator.deploy.emr.artifacts import savepoints_path
from migrator.errors import EXIT_CONFIG, MigratorError
from migrator.planning.tokens import MURMUR3, RANDOM
from migrator.reconcile.checkpoints import Checkpoints
from migrator.reconcile.decisions import USE_DEV, Conflict
from migrator.reconcile.resolutions import Resolutions
from migrator.resume import resume_point
from migrator.savepoints import savepoint_name
from tests.unit.config.helpers import cql_tree, to_yaml
from tests.unit.test_cli import restore_logging  # noqa: F401  (autouse: main() replaces the logging handlers)

T = TypeVar("T")
TIME_LIMIT = 5.0  # seconds per example: a hang or an exponential expansion takes far longer
T0 = dt.datetime(2026, 12, 2, 12, 0, tzinfo=dt.UTC)
PACK = "/nonexistent/pack"
EXAMPLES = {
    "config text": 300, "config bytes": 200, "hostile values": 200, "alias bombs": 144, "deep nesting": 100,
    "skipTokenRanges": 200, "skipSegments": 150, "migratorState": 150, "savepoint folder": 100,
    "apply checkpoints": 150, "resolutions.json": 300,
}


def fuzz(name: str) -> settings:
    return settings(max_examples=EXAMPLES[name], deadline=None, suppress_health_check=[HealthCheck.too_slow])


# ----- outcomes ------------------------------------------------------------------------------------------


def outcome(call: Callable[[], T]) -> T | MigratorError:
    """``call``'s result, or the ``MigratorError`` it raised (exit 2, no traceback); within ``TIME_LIMIT``."""
    started = time.monotonic()
    try:
        result: T | MigratorError = call()
    except MigratorError as error:
        assert error.exit_code == EXIT_CONFIG, error.render()
        assert "Traceback" not in error.render()
        result = error
    assert time.monotonic() - started < TIME_LIMIT
    return result


def refused(result: object) -> str:
    """The message of ``result``, an outcome that must be a refusal."""
    assert isinstance(result, MigratorError), f"accepted: {result!r:.200}"
    return result.render()


def enter(source: str | Path) -> LoadedConfig | MigratorError:
    """What the CLI does with a config before connecting anywhere: load, collect secrets, log it redacted."""

    def steps() -> LoadedConfig:
        loaded = load_config(source, environ={})
        loaded.model.secret_values()
        render_yaml(redact_tree(loaded.raw, redact_where=True))
        return loaded

    return outcome(steps)


@contextlib.contextmanager
def folder() -> Iterator[Path]:
    with tempfile.TemporaryDirectory() as name:
        yield Path(name)


def enter_file(data: bytes) -> LoadedConfig | MigratorError:
    with folder() as where:
        path = where / "config.yaml"
        path.write_bytes(data)
        return enter(path)


def flow(value: Any) -> str:
    """``value`` as one line of YAML."""
    return str(yaml.safe_dump(value, default_flow_style=True, width=10**9)).removesuffix("\n...\n").strip()


def with_snippets(tree: dict[str, Any], replacements: list[tuple[tuple[str, ...], str]]) -> str:
    """``tree`` as YAML text with the value at each path replaced by a YAML snippet (written as is)."""
    for number, (path, _) in enumerate(replacements):
        block = tree
        for key in path[:-1]:
            block[key] = block[key] if isinstance(block.get(key), dict) else {}
            block = block[key]
        block[path[-1]] = f"hostile{number}"
    text = to_yaml(tree)
    for number, (_, snippet) in enumerate(replacements):
        text = text.replace(f"hostile{number}", snippet, 1)
    return text


def nested(depth: int, kind: str) -> str:
    return "[" * depth + "]" * depth if kind == "list" else "{a: " * depth + "1" + "}" * depth


# ----- strategies ----------------------------------------------------------------------------------------

HUGE = 10**400
YAML_SIGNS = "abcx019:-[]{},&*!|>'\"%@`#?~.$ \n\t\\"
yaml_like = st.text(alphabet=st.one_of(st.sampled_from(YAML_SIGNS), st.characters()), max_size=300)
numbers = st.one_of(
    st.integers(-HUGE, HUGE), st.integers(-5, 70_000), st.floats(),
    st.sampled_from([LONG_MIN - 1, LONG_MAX + 1, BIGINT_MAX + 1, MAX_SCAN_SEGMENTS, MAX_SPLIT_COUNT + 1]),
)
scalars = st.one_of(st.none(), st.booleans(), numbers, st.text(max_size=12))
json_like = st.recursive(
    scalars, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)
snippets = st.one_of(
    json_like.map(flow),
    st.sampled_from([
        ".nan", "-.inf", "1e400", "0x" + "f" * 600, "1" * 501, "59:" * 300 + "1", "!!float abc", "!!int ''",
        "!!bool maybe", "!!timestamp 2024-13-45", "!!binary '%'", "!!set [1]", "'${'", '"a\\0b"', "&a [*a]", "*a",
        "'" + "${" * 10_000 + "'", "[" + ", ".join(["-1"] * 50) + "]",
    ]),
    st.integers(0, 100_000).map(lambda n: "'" + "x" * n + "'"),
    st.builds(nested, st.integers(1, 10_000), st.sampled_from(["list", "map"])),
)


def key_paths(tree: dict[str, Any], prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    found = []
    for key, value in tree.items():
        found.append((*prefix, key))
        if isinstance(value, dict):
            found += key_paths(value, (*prefix, key))
    return found


PATHS = [
    *key_paths(cql_tree()), ("savepoints",), ("savepoints", "intervalSeconds"), ("savepoints", "path"), ("renames",),
    ("skipTokenRanges",),
    ("skipSegments",), ("skipParquetFiles",), ("validation",), ("reconcile",), ("reconcile", "checkpointExpiryHours"),
    ("migratorState",), ("migratorState", "splitCount"), ("migratorState", "totalSegments"),
    ("migratorState", "counts"), ("migratorState", "report"), ("applyCheckpoint",), ("applyCheckpoint", "updatedAt"),
    ("source", "credentials", "password"), ("source", "splitCount"), ("junk",),
]


# ----- configs and savepoints as files ---------------------------------------------------------------------


@fuzz("config text")
@given(st.one_of(st.text(max_size=300), yaml_like))
@example("x: \x00")
@example("a: &a [*a]")
def test_any_text_as_a_config(text: str) -> None:
    enter(text + "\n")
    enter_file(text.encode("utf-8", "surrogatepass"))  # a lone surrogate makes the file non-UTF-8


@fuzz("config bytes")
@given(st.one_of(st.binary(max_size=300), st.tuples(yaml_like, st.binary(max_size=4)).map(
    lambda pair: pair[0].encode("utf-8", "surrogatepass") + pair[1])))
@example(b"source: \xff\xfe")
def test_any_bytes_as_a_config_file(data: bytes) -> None:
    result = enter_file(data)
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as exc:
        assert isinstance(result, MigratorError)
        assert f"the file is not UTF-8 text (byte {exc.start})" in result.render()


@fuzz("hostile values")
@given(st.lists(st.tuples(st.sampled_from(PATHS), snippets), min_size=1, max_size=3))
@example([(("source", "port"), str(HUGE))])
@example([(("migratorState", "totalSegments"), str(HUGE))])
def test_hostile_values_anywhere_in_a_valid_config(replacements: list[tuple[tuple[str, ...], str]]) -> None:
    enter(with_snippets(cql_tree(), replacements))


def bomb(levels: int, width: int) -> tuple[str, int]:
    """A billion-laughs config (under ``migratorState.report``, which takes any tree) and the values its aliases add."""
    lines = ["    l0: &l0 [" + ", ".join(["lol"] * width) + "]"]
    size, added = 1 + width, 0
    for level in range(1, levels + 1):
        lines.append(f"    l{level}: &l{level} [" + ", ".join([f"*l{level - 1}"] * width) + "]")
        added += width * size
        size = 1 + width * size
    return to_yaml(cql_tree()) + "migratorState:\n  report:\n" + "\n".join(lines) + "\n", added


@fuzz("alias bombs")
@given(st.integers(1, 12), st.integers(1, 12))  # 144 pairs: hypothesis tries every one
@example(9, 10)  # the classic "billion laughs": 10**9 values
def test_an_alias_bomb_is_refused_at_once_and_only_a_bomb(levels: int, width: int) -> None:
    text, added = bomb(levels, width)
    result = enter(text)
    if added > MAX_ALIAS_VALUES:
        assert (f"aliases (*name) add more than {MAX_ALIAS_VALUES:,} values (an alias bomb); write the repeated "
                "blocks out, or use fewer aliases") in refused(result)
    else:
        assert isinstance(result, LoadedConfig), result
        report = result.model.migrator_state.report if result.model.migrator_state else None
        assert report is not None and len(report[f"l{levels}"]) == width


@fuzz("deep nesting")
@given(st.integers(1, 10_000), st.sampled_from(["list", "map"]))
@example(MAX_DEPTH - 3, "list")  # the deepest accepted: root, migratorState, report, then the lists
@example(10_000, "list")
def test_deep_nesting_is_refused_at_once_beyond_the_limit(depth: int, kind: str) -> None:
    deepest = 3 + depth + (1 if kind == "map" else 0)  # root, migratorState, report, the nest (a map ends in 1)
    result = enter(to_yaml(cql_tree()) + f"migratorState:\n  report:\n    x: {nested(depth, kind)}\n")
    if deepest > MAX_DEPTH:
        assert f"values nested more than {MAX_DEPTH} levels deep" in refused(result)
    else:
        assert isinstance(result, LoadedConfig)


tokens = st.one_of(
    st.integers(-(2**130), 2**130), st.sampled_from([LONG_MIN, LONG_MAX, LONG_MIN - 1, BIGINT_MIN, BIGINT_MAX, HUGE]),
)
token_values = st.one_of(tokens, tokens.map(str), st.just("9" * 5000), scalars)
token_entries = st.one_of(
    st.tuples(token_values, token_values).map(list),
    st.lists(st.one_of(token_values, st.fixed_dictionaries(
        {"type": st.sampled_from(["long", "bigint", "BigInt", "int", 5]), "value": token_values})), max_size=3),
    json_like,
)


@fuzz("skipTokenRanges")
@given(st.one_of(st.lists(token_entries, max_size=8), json_like))
@example([[0, 2**100]])  # a RandomPartitioner token resumed on a Murmur3 ring
@example([[{"type": "long", "value": "1" * 5000}, 0]])
def test_skip_token_ranges_are_tokens_of_one_ring_or_refused(ranges: Any) -> None:
    result = enter(to_yaml(cql_tree(skipTokenRanges=ranges)))
    if isinstance(result, MigratorError):
        return
    pairs = result.model.skip_token_ranges
    low, high = (LONG_MIN, LONG_MAX) if result.model.token_type == "long" else (BIGINT_MIN, BIGINT_MAX)
    assert all(low <= token <= high for pair in pairs for token in pair)
    for partitioner in (MURMUR3, RANDOM):  # resuming on either ring plans, or is refused as a mismatch
        outcome(functools.partial(ring_plan, pairs, partitioner, 16))


segments = st.one_of(st.integers(-HUGE, HUGE), st.integers(-3, MAX_SCAN_SEGMENTS + 3), scalars)


@fuzz("skipSegments")
@given(st.one_of(st.lists(segments, max_size=10), json_like), st.one_of(st.none(), segments))
@example([HUGE], None)
@example([0], HUGE)
def test_skip_segments_are_segment_numbers_or_refused(skip: Any, total: Any) -> None:
    state = {} if total is None else {"migratorState": {"totalSegments": total}}
    result = enter(to_yaml(cql_tree(skipSegments=skip, **state)))
    plain = isinstance(skip, list) and all(type(s) is int and 0 <= s < MAX_SCAN_SEGMENTS for s in skip)
    if plain and total is None:
        assert isinstance(result, LoadedConfig), result
    if isinstance(result, LoadedConfig):
        assert result.model.skip_segments == sorted(set(result.model.skip_segments))
        assert all(0 <= s < MAX_SCAN_SEGMENTS for s in result.model.skip_segments)
        state_total = result.model.migrator_state.total_segments if result.model.migrator_state else None
        assert state_total is None or 0 < state_total <= MAX_SCAN_SEGMENTS


STATE_KEYS = ["kind", "command", "sourceIdentity", "partitioner", "splitCount", "totalSegments", "rowsCopied",
              "rangesDone", "rangesTotal", "counts", "writtenAt", "report", "junk"]


@fuzz("migratorState")
@given(st.one_of(st.dictionaries(st.sampled_from(STATE_KEYS), json_like, max_size=6), json_like))
@example({"splitCount": 10**12})
def test_migrator_state_of_any_shape(state: Any) -> None:
    result = enter(to_yaml(cql_tree(migratorState=state)))
    if isinstance(result, LoadedConfig) and result.model.migrator_state is not None:
        split_count = result.model.migrator_state.split_count
        assert split_count is None or 0 < split_count <= MAX_SPLIT_COUNT


def savepoint_texts() -> st.SearchStrategy[bytes]:
    progress = st.fixed_dictionaries({"migratorState": st.fixed_dictionaries({"command": st.just("migrate")})},
                                     optional={"skipTokenRanges": json_like, "skipSegments": json_like})
    hostile = st.lists(st.tuples(st.sampled_from(PATHS), snippets), min_size=1, max_size=2).map(
        lambda found: with_snippets(cql_tree(migratorState={"command": "migrate"}), found))
    return st.one_of(st.binary(max_size=200), hostile.map(str.encode),
                     progress.map(lambda p: to_yaml(cql_tree(**p)).encode()))


@fuzz("savepoint folder")
@given(savepoint_texts())
@example(b"migratorState: {command: migrate}\nx: " + b"[" * 3000 + b"]" * 3000)
def test_a_hostile_savepoint_in_the_folder_is_skipped_or_refused(data: bytes) -> None:
    with folder() as where:
        (where / savepoint_name(1_700_000_000_000, 0)).write_bytes(data)
        loaded = load_config(to_yaml(cql_tree(savepoints={"path": str(where), "intervalSeconds": 60})))
        outcome(lambda: resume_point(loaded, "migrate"))


# ----- reconcile files -------------------------------------------------------------------------------------


@functools.cache
def valid_checkpoint() -> str:
    with folder() as where:
        cps = Checkpoints(where, cql_tree(), expiry_hours=24, now=lambda: T0)
        checkpoint = cps.begin(PACK, resume=False)
        checkpoint.progress("demo.events", 10).done = 4
        cps.save(checkpoint)
        return checkpoint.path.read_text()


def edits(valid: Callable[[], str]) -> st.SearchStrategy[bytes]:
    """Random bytes, ``valid()`` truncated anywhere, and ``valid()`` with one line's value replaced."""

    def truncated(end: int) -> bytes:
        return valid().encode()[:end]

    def replaced(line: int, snippet: str) -> bytes:
        lines = valid().splitlines()
        key = lines[line % len(lines)].split(":")[0]
        lines[line % len(lines)] = f"{key}: {snippet}"
        return "\n".join(lines).encode()

    return st.one_of(st.binary(max_size=200), st.builds(truncated, st.integers(0, 2000)),
                     st.builds(replaced, st.integers(0, 100), snippets))


@fuzz("apply checkpoints")
@given(edits(valid_checkpoint))
@example(valid_checkpoint().replace("updatedAt: '2026-12-02T12:00:00+00:00'", "updatedAt: soon").encode())
def test_an_apply_checkpoint_resumes_or_is_refused(data: bytes) -> None:
    with folder() as where:
        directory = where / "checkpoints"
        directory.mkdir()
        (directory / "apply_1700000000000.yaml").write_bytes(data)
        cps = Checkpoints(directory, cql_tree(), expiry_hours=24, now=lambda: T0)
        outcome(lambda: cps.begin(PACK, resume=True))
        given_as_config = enter_file(data)  # `migrator apply --config <checkpoint> --resume`
        if isinstance(given_as_config, LoadedConfig) and given_as_config.model.apply_checkpoint is not None:
            embedded = given_as_config.model.apply_checkpoint
            outcome(lambda: cps.begin(PACK, resume=True, embedded=embedded))


def valid_resolutions() -> str:
    entry = {"table": "demo.events", "key": {"id": 7}, "prodDigest": "p", "devDigest": "d", "decision": USE_DEV,
             "at": "T"}
    return json.dumps({"version": 1, "createdAt": "T", "updatedAt": "T", "decisions": [entry]}, indent=1)


@fuzz("resolutions.json")
@given(st.one_of(edits(valid_resolutions), json_like.map(lambda v: json.dumps(v).encode()),
                 st.integers(1, 100_000).map(lambda n: b"[" * n + b"]" * n)))
@example(b"[]")
@example(b"[" * 100_000 + b"]" * 100_000)
@example(b'{"version": 1, "createdAt": "T", "decisions": [{"table": "t", "key": {}, "decision": "use_dev"}]}')
def test_resolutions_load_whole_or_are_refused(data: bytes) -> None:
    with folder() as where:
        path = where / "resolutions.json"
        path.write_bytes(data)
        result = outcome(lambda: Resolutions(path))
    if isinstance(result, Resolutions):  # every decision loaded is complete: looking it up cannot fail
        for entry in result.entries.values():
            conflict = Conflict(entry["table"], entry["key"], entry["prodDigest"], entry["devDigest"])
            assert result.lookup(conflict) == entry["decision"]


# ----- regressions: each bug the properties found, with its message ------------------------------------


REGRESSIONS = [  # (id, YAML appended to a valid config, what the message now says); each crashed or hung before
    ("control-character", "x: \x00",
     "malformed YAML at line 18, column 4: the character U+0000 is not allowed in YAML text"),
    ("deep-nesting", "x: " + "[" * 5000 + "]" * 5000,
     f"YAML refused at line 18, column {4 + MAX_DEPTH}: values nested more than {MAX_DEPTH} levels deep"),
    ("alias-cycle", "x: &a [*a]",
     "YAML refused at line 18, column 8: the alias *a is inside the block it names (a cycle)"),
    ("long-integer", "x: " + "1" * 5000,
     "YAML refused at line 18, column 4: an integer with more than 500 digits; no setting takes one"),
    ("long-hex-integer", "x: 0x" + "f" * 1000, "YAML refused at line 18, column 4: an integer with more than 500"),
    ("float-tag", "x: !!float abc",
     "YAML refused at line 18, column 4: 'abc' is not a valid !!float value; fix it, or remove the tag"),
    ("timestamp-tag", "x: !!timestamp 2024-13-45", "'2024-13-45' is not a valid !!timestamp value"),
    ("timestamp-tag-text", "x: !!timestamp soon", "'soon' is not a valid !!timestamp value"),
    ("bool-tag", "x: !!bool maybe", "'maybe' is not a valid !!bool value"),
    ("empty-int-tag", "x: !!int ''", "'' is not a valid !!int value"),
    ("nul-escape", 'x: "a\\0b"',
     "YAML refused at line 18, column 4: a NUL character (\\0 or \\x00) in a string; remove it"),
    ("long-token-text", "skipTokenRanges: [['" + "1" * 5000 + "', 2]]",
     "skipTokenRanges[0][0].value: a token of 5000 digits is outside every token range"),
    ("segment-too-high", "skipSegments: [1000000]", "skipSegments[0]: must be less than 1000000, got 1000000"),
    ("huge-total-segments", "migratorState: {totalSegments: " + "9" * 400 + "}",
     "migratorState.totalSegments: must be at most 1000000, got 99999999999999999999... (400 digits)"),
    ("huge-split-count", "migratorState: {splitCount: 1000000000000}",
     "migratorState.splitCount: must be at most 1000000, got 1000000000000"),
    ("huge-expiry", "reconcile: {checkpointExpiryHours: 1e300}",
     "reconcile.checkpointExpiryHours: must be at most 876000"),
    ("checkpoint-time", "applyCheckpoint: {createdAt: soon, updatedAt: soon, configHash: h, pack: p}",
     "applyCheckpoint.createdAt: expected an ISO 8601 time such as 2024-05-01T12:00:00+00:00, got 'soon'"),
]


@pytest.mark.parametrize(("snippet", "message"), [pytest.param(snippet, message, id=name)
                                                  for name, snippet, message in REGRESSIONS])
def test_found_bugs_now_give_a_clear_message(snippet: str, message: str) -> None:
    assert message in refused(enter(to_yaml(cql_tree()) + snippet + "\n"))


def test_found_bug_many_unclosed_references_take_linear_time_and_one_message() -> None:
    error = refused(enter(to_yaml(cql_tree(junk="${" * 50_000))))
    assert error.count("'${' is not closed by '}'") == 1


def test_found_bug_a_billion_laughs_via_merge_keys_is_refused() -> None:
    merges = [f"    l{n}: &l{n} {{<<: [{', '.join([f'*l{n - 1}'] * 9)}], k{n}: 1}}" for n in range(1, 10)]
    text = to_yaml(cql_tree()) + "migratorState:\n  report:\n    l0: &l0 {a: 1, b: 2}\n" + "\n".join(merges) + "\n"
    assert "(an alias bomb)" in refused(enter(text))


def test_found_bug_the_emr_savepoint_check_reads_hostile_yaml_as_the_loader_does() -> None:
    message = refused(outcome(lambda: savepoints_path("x: " + "[" * 3000)))
    assert f"values nested more than {MAX_DEPTH} levels deep" in message


def test_found_bug_a_file_name_too_long_is_a_config_error() -> None:
    message = refused(outcome(lambda: load_config("a" * 5000)))
    assert "cannot read " + "a" * 5000 + ": File name too long" in message


def test_found_bug_ranges_outside_the_ring_are_a_savepoint_mismatch() -> None:
    message = refused(outcome(lambda: ring_plan([(0, 2**100)], MURMUR3, 16)))
    assert f"token {2**100} is outside the Murmur3Partitioner ring" in message


def test_found_bug_checkpoint_and_resolutions_shapes_are_named(tmp_path: Path) -> None:
    path = tmp_path / "resolutions.json"
    read = functools.partial(Resolutions, path)
    path.write_text('{"version": 1, "createdAt": "T", "decisions": [{"table": "t", "key": {}, "decision": "x"}]}')
    assert f"{path} cannot be read ('prodDigest' of decision 0 must be a string)" in refused(outcome(read))
    path.write_text("[]")
    assert f"{path} cannot be read (expected a JSON object, found list)" in refused(outcome(read))


def test_found_bug_an_invalid_savepoint_to_resume_is_named(tmp_path: Path) -> None:
    bad = tmp_path / savepoint_name(1_700_000_000_000, 0)
    bad.write_text(to_yaml(cql_tree(migratorState={"command": "migrate"}, skipSegments=[-1])))
    loaded = load_config(to_yaml(cql_tree(savepoints={"path": str(tmp_path), "intervalSeconds": 60})))
    message = refused(outcome(lambda: resume_point(loaded, "migrate")))
    assert f"the savepoint {bad}, which this run would resume, is invalid; fix it or move it away, or start " \
           "over with --fresh" in message
    assert "skipSegments[0]: must be at least 0, got -1" in message


@pytest.mark.parametrize("garbage", [b"\xff\xfe\x00\x01garbage", bomb(9, 10)[0].encode(), b"x: " + b"[" * 10_000])
def test_the_cli_refuses_a_garbage_config_with_exit_2_and_no_traceback(tmp_path: Path, capsys, garbage: bytes) -> None:
    config = tmp_path / "garbage.yaml"
    config.write_bytes(garbage)
    started = time.monotonic()
    assert main(["check", "--config", str(config)]) == EXIT_CONFIG
    assert time.monotonic() - started < TIME_LIMIT
    err = capsys.readouterr().err
    assert err.startswith(f"migrator: error: invalid configuration in {config} (1 problem):\n  - ")
    assert "Traceback" not in err
