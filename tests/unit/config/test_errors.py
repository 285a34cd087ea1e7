"""Bad configs: every problem reported at once, at its dotted path, with a fix-it message."""

from __future__ import annotations

from pathlib import Path

import pytest

from migrator.config import CassandraSource, CassandraTarget, load_config
from migrator.errors import EXIT_CONFIG, ConfigError

from .helpers import config_error, cql_tree, load_tree, narrow, problems, with_source, with_target

GOOD = """\
source:
  type: cassandra
  host: 127.0.0.1
  port: 9042
  keyspace: demo
  table: events
  fetchSize: 1000
  preserveTimestamps: false
  consistencyLevel: LOCAL_QUORUM
target:
  type: scylla
  host: 127.0.0.1
  port: 9043
  keyspace: demo
  table: events
  consistencyLevel: LOCAL_QUORUM
  stripTrailingZerosForDecimals: false
"""


def test_good_text_loads() -> None:
    assert narrow(load_config(GOOD, environ={}).model.target, CassandraTarget).port == 9043


def test_malformed_yaml_gives_line_and_column() -> None:
    text = GOOD.replace("  table: events\n  fetchSize", "  table: events\n fetchSize", 1)
    error = config_error(text)
    assert len(error.problems) == 1
    path, message = error.problems[0]
    assert path == ""
    assert message.startswith("malformed YAML at line 7, column 2: ")


def test_unclosed_quote_is_malformed() -> None:
    (_, message), *_ = config_error('source: "abc\ntarget: x\n').problems
    assert message.startswith("malformed YAML at line 3, column 1: found unexpected end of stream")


def test_tab_indentation_gets_a_hint() -> None:
    (_, message), *_ = config_error("source:\n\ttype: cassandra\n").problems
    assert "line 2, column 1" in message
    assert "indent with spaces" in message


@pytest.mark.parametrize("text", ["\n", "# only a comment\n", "---\n...\n"])
def test_empty_config(text: str) -> None:
    assert problems(text) == {
        "": "the config is empty; a config is a mapping with at least 'source:' and 'target:' blocks "
        "(see config/*.yaml)"
    }


@pytest.mark.parametrize(("text", "kind"), [("- a\n- b\n", "a list"), ("just words\n", "a single value")])
def test_top_level_must_be_a_mapping(text: str, kind: str) -> None:
    assert problems(text)[""].startswith(f"the top level is {kind}; a config is a mapping")


def test_missing_file_names_the_path(tmp_path: Path) -> None:
    missing = tmp_path / "nope.yaml"
    with pytest.raises(ConfigError) as caught:
        load_config(missing)
    assert caught.value.exit_code == EXIT_CONFIG
    assert caught.value.problems == [("", f"config file not found: {missing}")]
    assert caught.value.source == str(missing)
    assert str(missing) in caught.value.render()


def test_directory_is_not_a_config(tmp_path: Path) -> None:
    assert problems_at_path(tmp_path) == [("", f"not a file: {tmp_path}")]


def problems_at_path(path: Path) -> list[tuple[str, str]]:
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    return caught.value.problems


def test_error_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text("source: [\n")
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert caught.value.render().startswith(f"invalid configuration in {path} (1 problem):")


def test_missing_required_keys_with_examples() -> None:
    found = problems(with_source(fetchSize=None, consistencyLevel=None))
    assert found == {
        "source.fetchSize": "missing required key 'fetchSize'; for example: fetchSize: 1000 "
        "(in the block at line 1)",
        "source.consistencyLevel": "missing required key 'consistencyLevel'; for example: "
        "consistencyLevel: LOCAL_QUORUM (in the block at line 1)",
    }


def test_missing_top_level_block() -> None:
    tree = cql_tree()
    del tree["target"]
    assert problems(tree) == {"target": "missing required key 'target'"}


def test_missing_nested_block_lists_its_keys() -> None:
    tree = cql_tree(
        source={
            "type": "dynamodb-s3-export",
            "bucket": "b",
            "manifestKey": "m.json",
        },
        target={"type": "dynamodb", "table": "t", "streamChanges": False},
    )
    assert problems(tree) == {
        "source.tableDescription": "missing required key 'tableDescription'; it is a block with the keys "
        "attributeDefinitions, keySchema (in the block at line 1)"
    }


def test_missing_type() -> None:
    tree = with_source(type=None)
    assert problems(tree) == {
        "source.type": "missing required key 'type' in source; one of: cassandra, scylla, parquet, dynamodb, "
        "dynamo, alternator, dynamodb-s3-export, mysql (in the block at line 1)"
    }


def test_unknown_type_lists_the_supported_ones() -> None:
    found = problems(with_source(type="casandra"))
    assert found == {
        "source.type": "unknown source type 'casandra'; supported types: cassandra, scylla, parquet, "
        "dynamodb, dynamo, alternator, dynamodb-s3-export, mysql; did you mean 'cassandra'? (line 2)"
    }


def test_unknown_target_type() -> None:
    found = problems(with_target(type="Scylla"))
    assert found["target.type"].startswith(
        "unknown target type 'Scylla'; supported types: scylla, cassandra, "
    )
    assert "did you mean 'scylla'?" in found["target.type"]


def test_unknown_key_did_you_mean() -> None:
    tree = with_source(fetchSize=None, fetchsize=1000)
    # The misspelling explains the missing key: one problem, not two.
    assert problems(tree) == {
        "source.fetchsize": "unknown key 'fetchsize'; did you mean 'fetchSize'? (line 9)"
    }


def test_unknown_key_without_close_match_lists_allowed_keys() -> None:
    found = problems(with_target(speed="fast"))
    assert found["target.speed"].startswith("unknown key 'speed'; allowed keys here: host, port, localDC, ")


def test_unknown_top_level_key() -> None:
    found = problems(cql_tree(savepoint={"path": "x", "intervalSeconds": 1}))
    assert found == {"savepoint": "unknown key 'savepoint'; did you mean 'savepoints'? (line 18)"}


@pytest.mark.parametrize(
    ("key", "value", "expected"),
    [
        ("fetchSize", "lots", "expected an integer, got 'lots'"),
        ("fetchSize", 10.5, "expected a whole number, got 10.5"),
        ("fetchSize", True, "expected an integer, got true"),
        ("fetchSize", 0, "must be greater than 0, got 0"),
        ("port", 70000, "must be at most 65535, got 70000"),
        ("preserveTimestamps", "maybe", "expected true or false, got 'maybe'"),
        ("keyspace", 42, "expected a string, got 42; put it in quotes to make it a string"),
        ("keyspace", "", "must not be empty"),
        ("credentials", "admin", "expected a mapping (indented 'key: value' lines), got 'admin'"),
        (
            "consistencyLevel",
            "QUORUMM",
            "expected one of ANY, ONE, TWO, THREE, QUORUM, ALL, LOCAL_QUORUM, "
            "EACH_QUORUM, SERIAL, LOCAL_SERIAL, LOCAL_ONE, got 'QUORUMM'; did you mean 'QUORUM'?",
        ),
        (
            "host",
            "http://db.example.com",
            "expected a single host name or IP address, not a URL or a list "
            "(for example 10.0.0.1); got 'http://db.example.com'",
        ),
        (
            "host",
            "10.0.0.1:9042",
            "expected a host name or IP address without a port; put the port under "
            "'port'; got '10.0.0.1:9042'",
        ),
    ],
)
def test_wrong_values_say_expected_and_got(key: str, value: object, expected: str) -> None:
    found = problems(with_source(**{key: value}))
    assert list(found) == [f"source.{key}"]
    message = found[f"source.{key}"]
    assert message.startswith(expected)
    assert message.endswith(")")  # the line suffix


def test_empty_value_is_described() -> None:
    text = GOOD.replace("fetchSize: 1000", "fetchSize:")
    assert problems(text) == {"source.fetchSize": "expected an integer, got an empty value (line 7)"}


def test_every_problem_at_once_in_document_order() -> None:
    tree = cql_tree(renames=[{"from": "a", "to": "b"}, {"from": "c"}], savepoints={"path": "sp"})
    tree["source"]["port"] = "x"
    tree["target"]["stripTrailingZerosForDecimals"] = None
    tree["target"]["consistencyLevel"] = "MOST"
    error = config_error(tree)
    assert [path for path, _ in error.problems] == [
        "source.port",
        "target.consistencyLevel",
        "target.stripTrailingZerosForDecimals",
        "renames[1].to",
        "savepoints.intervalSeconds",
    ]
    assert error.render().startswith(
        "invalid configuration (5 problems):\n  - source.port: expected an integer"
    )


def test_unset_environment_variable() -> None:
    text = GOOD.replace("port: 9042", "port: ${SOURCE_PORT}")
    assert problems(text, environ={}) == {
        "source.port": "environment variable SOURCE_PORT is not set (referenced as ${SOURCE_PORT}); "
        "export it, or give a default with ${SOURCE_PORT:-value} (line 4)"
    }


def test_set_environment_variable_is_validated_after_expansion() -> None:
    text = GOOD.replace("port: 9042", "port: ${SOURCE_PORT}")
    source = narrow(load_config(text, environ={"SOURCE_PORT": "19042"}).model.source, CassandraSource)
    assert source.port == 19042
    assert problems(text, environ={"SOURCE_PORT": "abc"}) == {
        "source.port": "expected an integer, got 'abc' (line 4)"
    }


def test_redacted_secret_is_refused() -> None:
    tree = with_source(credentials={"username": "u", "password": "<redacted>"})
    assert problems(tree) == {
        "source.credentials.password": "this value was redacted when the savepoint was written; put the real "
        "value back, or better a ${VAR} reference (line 12)"
    }


def test_redacted_secret_through_a_variable_default_is_refused() -> None:
    tree = with_source(credentials={"username": "u", "password": "${PW:-<redacted>}"})
    assert list(problems(tree)) == ["source.credentials.password"]
    source = narrow(load_tree(tree, {"PW": "real"}).model.source, CassandraSource)
    assert source.credentials is not None and source.credentials.password == "real"


def test_cloud_and_host_conflict() -> None:
    tree = with_source(cloud={"secureBundlePath": "/app/bundle.zip"}, localDC="dc1")
    message = (
        "cannot be combined with 'cloud' (the secure bundle carries the contact points and TLS settings); "
        "remove one of them"
    )
    assert problems(tree) == {
        "source.host": f"'host' {message} (line 3)",
        "source.port": f"'port' {message} (line 4)",
        "source.localDC": f"'localDC' {message} (line 12)",
    }


def test_host_and_port_required_without_cloud() -> None:
    assert problems(with_target(host=None, port=None)) == {
        "target.host": "missing required key 'host' (or give cloud.secureBundlePath); for example: 127.0.0.1 "
        "(in the block at line 10)",
        "target.port": "missing required key 'port' (or give cloud.secureBundlePath); for example: 9042 "
        "(in the block at line 10)",
    }


def test_duplicate_keys_are_reported() -> None:
    text = GOOD.replace("  port: 9043\n", "  port: 9043\n  port: 9044\n")
    assert problems(text) == {
        "target.port": "duplicate key 'port' (first written at line 13); YAML would silently keep only the "
        "last one (line 14)"
    }


def test_keys_must_be_names() -> None:
    assert problems(GOOD + "1: x\n") == {"": "keys must be names, got 1; quote it"}


def test_secret_values_never_appear_in_messages() -> None:
    tree = cql_tree()
    tree["source"]["credentials"] = {"username": "u", "password": 12345678}
    tree["source"]["sslOptions"] = {
        "enabled": True,
        "clientAuthEnabled": "no-way",
        "trustStorePassword": 987654,
    }
    tree["target"]["credentials"] = {"username": "u", "password": "hunter2-source", "passwrd": "trust-me-123"}
    tree["source"]["fetchSize"] = "hunter2-source"  # not a secret key: the value may be shown
    error = config_error(tree)
    text = error.render()
    for secret in ("12345678", "987654", "trust-me-123"):
        assert secret not in text
    found = dict(error.problems)
    assert found["source.credentials.password"].startswith(
        "expected a string, got the value (a number, not shown because it is a secret)"
    )
    assert found["source.sslOptions.trustStorePassword"].startswith(
        "expected a string, got the value (a number"
    )
    assert found["target.credentials.passwrd"].startswith("unknown key 'passwrd'; did you mean 'password'?")


def test_secret_from_environment_never_appears() -> None:
    text = GOOD.replace(
        "  keyspace: demo\n  table: events\n  fetchSize",
        "  credentials:\n    username: u\n    password: ${PW}\n    extra: 1\n"
        "  keyspace: demo\n  table: events\n  fetchSize",
        1,
    )
    error = config_error(text, environ={"PW": "AKIA-SECRET-9"})
    assert "AKIA-SECRET-9" not in error.render()
    assert dict(error.problems) == {
        "source.credentials.extra": "unknown key 'extra'; allowed keys here: username, password (line 8)"
    }
