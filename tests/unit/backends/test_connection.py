"""Connection specs built from a loaded config: what executors receive, and what is refused."""

from __future__ import annotations

import gc
import pickle

import pytest

from migrator.backends.cassandra.connection import ConnectionSpec, prepared, spec_from_settings
from migrator.backends.cassandra.tls import SslSpec
from migrator.config import load_config
from migrator.errors import EXIT_CONFIG, ConfigError

CONFIG = """\
source:
  type: cassandra
  host: 10.0.0.1
  port: 9142
  localDC: eu-west
  credentials:
    username: reader
    password: hunter2-source
  sslOptions:
    enabled: true
    clientAuthEnabled: true
    trustStorePath: /certs/ca.pem
    trustStoreType: pem
    keyStorePath: /certs/client.pem
    keyStoreType: PEM
    keyStorePassword: key-pass
    protocol: TLSv1.2
  keyspace: ks
  table: tbl
  connections: 4
  fetchSize: 500
  preserveTimestamps: false
  consistencyLevel: QUORUM
target:
  type: scylla
  host: "[2001:db8::1]"
  port: 9042
  keyspace: ks
  table: tbl
  consistencyLevel: LOCAL_QUORUM
  stripTrailingZerosForDecimals: false
"""


def test_spec_from_settings_source():
    spec = spec_from_settings("source", load_config(CONFIG).model.source)
    assert spec == ConnectionSpec(
        role="source",
        host="10.0.0.1",
        port=9142,
        local_dc="eu-west",
        username="reader",
        password="hunter2-source",
        ssl=SslSpec(
            ca_file="/certs/ca.pem",
            cert_file="/certs/client.pem",
            key_file="/certs/client.pem",
            key_password="key-pass",
            protocol="TLSv1.2",
            client_auth=True,
        ),
        connections=4,
        cloud_bundle=None,
    )
    assert spec.address == "10.0.0.1:9142"


def test_spec_from_settings_target_without_credentials_or_tls():
    spec = spec_from_settings("target", load_config(CONFIG).model.target)
    assert spec == ConnectionSpec(role="target", host="2001:db8::1", port=9042)
    assert spec.address == "2001:db8::1:9042"


def test_spec_is_hashable_and_picklable():
    spec = spec_from_settings("source", load_config(CONFIG).model.source)
    assert pickle.loads(pickle.dumps(spec)) == spec
    assert {spec: 1}[spec] == 1


def test_repr_never_shows_the_password():
    spec = spec_from_settings("source", load_config(CONFIG).model.source)
    assert repr(spec) == "ConnectionSpec(source 10.0.0.1:9142, user='reader')"
    assert "hunter2-source" not in str(spec)
    assert "hunter2-source" not in repr([spec, {"spec": spec}])


def test_cloud_bundle_is_the_address():
    spec = ConnectionSpec("source", "", 9042, cloud_bundle="/app/secure-connect.zip", password="pw")
    assert spec.address == "/app/secure-connect.zip"
    assert repr(spec) == "ConnectionSpec(source /app/secure-connect.zip, user=None)"


def test_tls_without_a_trust_store_uses_the_system_certificates():
    text = CONFIG.replace("    trustStorePath: /certs/ca.pem\n    trustStoreType: pem\n", "").replace(
        "clientAuthEnabled: true", "clientAuthEnabled: false"
    )
    spec = spec_from_settings("source", load_config(text).model.source)
    assert spec.ssl == SslSpec(key_password="key-pass", protocol="TLSv1.2", client_auth=False)


@pytest.mark.parametrize(
    ("type_line", "store_type"),
    [("", "JKS"), ("    trustStoreType: pkcs12\n", "PKCS12")],
    ids=["default-jks", "pkcs12"],
)
def test_java_trust_stores_are_read_with_their_password(type_line, store_type):
    text = CONFIG.replace("    trustStoreType: pem\n", type_line + "    trustStorePassword: store-pass\n").replace(
        "/certs/ca.pem", "/certs/truststore.jks"
    )
    ssl = spec_from_settings("source", load_config(text).model.source).ssl
    assert ssl is not None
    assert (ssl.ca_file, ssl.ca_type, ssl.ca_password) == ("/certs/truststore.jks", store_type, "store-pass")
    assert "store-pass" not in repr(ssl)


def test_an_unknown_trust_store_type_is_refused():
    with pytest.raises(ConfigError) as info:
        config = load_config(CONFIG.replace("trustStoreType: pem", "trustStoreType: BKS"))
        spec_from_settings("source", config.model.source)
    assert info.value.exit_code == EXIT_CONFIG
    assert info.value.problems == [
        ("source.sslOptions.trustStoreType", "cannot read a BKS trust store; use PEM, JKS or PKCS12")
    ]


def test_java_key_store_for_client_auth_is_refused():
    config = load_config(CONFIG.replace("    keyStoreType: PEM\n", ""))
    with pytest.raises(ConfigError) as caught:
        spec_from_settings("source", config.model.source)
    assert [p[0] for p in caught.value.problems] == ["source.sslOptions.keyStoreType"]
    assert "cannot read a JKS key store" in caught.value.problems[0][1]


class Preparing:
    """Counts ``prepare`` calls; the statement is the text itself."""

    def __init__(self) -> None:
        self.calls: list[str] = []

    def prepare(self, text: str) -> str:
        self.calls.append(text)
        return f"prepared {text} on {id(self)}"


def test_prepared_once_per_session_and_text_and_never_across_sessions():
    first, second = Preparing(), Preparing()
    assert prepared(first, "SELECT 1") is prepared(first, "SELECT 1")
    prepared(first, "SELECT 2")
    prepared(second, "SELECT 1")
    assert (first.calls, second.calls) == (["SELECT 1", "SELECT 2"], ["SELECT 1"])


def test_a_collected_session_leaves_nothing_for_a_new_one():
    old = Preparing()
    prepared(old, "SELECT 1")
    del old
    gc.collect()
    new = Preparing()
    prepared(new, "SELECT 1")
    assert new.calls == ["SELECT 1"]  # prepared on its own cluster, even if it got the old one's id
