"""Redaction: literal secrets become <redacted>, ${VAR} references stay, where only on request."""

from __future__ import annotations

import copy

import pytest

from migrator.config import REDACTED, SECRET_KEYS, is_secret_key, load_config, redact_tree, render_yaml
from migrator.errors import ConfigError

from .helpers import FIXTURE_ENV, FIXTURES, cql_tree, load_tree

TREE = cql_tree()
TREE["source"].update(
    credentials={"username": "reader", "password": "hunter2"},
    sslOptions={
        "enabled": True,
        "clientAuthEnabled": True,
        "trustStorePassword": "${TRUST_PW}",
        "keyStorePassword": "${KEY_PW:-changeit}",
    },
    where="customer = 'ACME'",
)
TREE["target"].update(credentials={"username": "writer", "password": 123456})


def test_secret_key_list() -> None:
    assert {
        "password",
        "secretkey",
        "accesskey",
        "truststorepassword",
        "keystorepassword",
        "sessiontoken",
        "token",
        "secret",
    } == SECRET_KEYS
    assert is_secret_key("PassWord") and is_secret_key("accessKey")
    assert not is_secret_key("username") and not is_secret_key("passwords") and not is_secret_key(3)


def test_literal_secrets_are_redacted_and_references_kept() -> None:
    redacted = redact_tree(TREE, redact_where=False)
    assert redacted["source"]["credentials"] == {"username": "reader", "password": REDACTED}
    assert redacted["target"]["credentials"] == {"username": "writer", "password": REDACTED}
    ssl = redacted["source"]["sslOptions"]
    assert ssl["trustStorePassword"] == "${TRUST_PW}"
    assert ssl["keyStorePassword"] == "${KEY_PW:-<redacted>}"  # the default is a literal secret
    assert redacted["source"]["where"] == "customer = 'ACME'"


def test_where_is_redacted_on_request() -> None:
    assert redact_tree(TREE, redact_where=True)["source"]["where"] == REDACTED
    referenced = copy.deepcopy(TREE)
    referenced["source"]["where"] = "${FILTER}"
    assert redact_tree(referenced, redact_where=True)["source"]["where"] == "${FILTER}"


def test_redaction_is_a_deep_copy() -> None:
    before = copy.deepcopy(TREE)
    redacted = redact_tree(TREE, redact_where=True)
    assert before == TREE
    redacted["source"]["sslOptions"]["enabledAlgorithms"] = ["x"]
    assert "enabledAlgorithms" not in TREE["source"]["sslOptions"]


@pytest.mark.parametrize("value", ["abc${X}", "${X}${Y}", "${not valid}", ["a"], {"k": "v"}])
def test_anything_but_a_plain_reference_is_redacted(value: object) -> None:
    assert redact_tree({"secret": value}, redact_where=False) == {"secret": REDACTED}


def test_nested_secret_keys_anywhere_are_redacted() -> None:
    tree = {"source": {"connectionProperties": {"password": "p", "useSSL": "true"}}, "token": None}
    assert redact_tree(tree, redact_where=False) == {
        "source": {"connectionProperties": {"password": REDACTED, "useSSL": "true"}},
        "token": None,
    }


def test_aws_secrets_in_lists_and_blocks_are_redacted() -> None:
    loaded = load_config(FIXTURES / "dynamodb-to-alternator-settings.yaml", environ={})
    text = render_yaml(redact_tree(loaded.raw, redact_where=True))
    for secret in ("AKIAEXAMPLE", "example-secret-key", "alternator-secret"):
        assert secret not in text
    assert text.count(REDACTED) == 4


def test_redacted_render_of_a_savepoint_refuses_to_load_until_secrets_are_back() -> None:
    redacted = redact_tree(TREE, redact_where=False)
    redacted["source"]["sslOptions"]["keyStorePassword"] = "${KEY_PW}"
    text = render_yaml(redacted)
    with pytest.raises(ConfigError) as caught:
        load_config(text, environ={"TRUST_PW": "t", "KEY_PW": "k"})
    assert [path for path, _ in caught.value.problems] == [
        "source.credentials.password",
        "target.credentials.password",
    ]


def test_secret_values_for_log_scrubbing() -> None:
    tree = copy.deepcopy(TREE)
    tree["target"]["credentials"]["password"] = "p${Q"  # a literal "${" written as "$${" below
    tree["target"]["credentials"]["password"] = "p$${Q"
    model = load_tree(tree, {"TRUST_PW": "trust-from-env"}).model
    assert model.secret_values() == {"hunter2", "trust-from-env", "changeit", "p${Q"}


def test_repr_never_shows_secrets() -> None:
    model = load_config(FIXTURES / "cassandra-to-scylla-ssl-credentials.yaml", environ=FIXTURE_ENV).model
    text = repr(model) + str(model)
    for secret in ("s3cr3t-source", "trust-pass", "key-pass", "target-pw"):
        assert secret not in text
    assert "password='<redacted>'" in text
