"""``sslOptions`` to ``SslSpec`` to ``ssl.SSLContext``: the host name check, and unreadable files named by their key.

The certificates are real (openssl, ``tests/support/tls.py``); handshakes against a server are in
``tests/integration/test_security.py``.
"""

from __future__ import annotations

import ssl
import subprocess

import pytest

from migrator.backends.cassandra.tls import SslSpec, ssl_context, ssl_spec
from migrator.config import load_config
from migrator.errors import EXIT_RUNTIME, RuntimeFailure
from tests.support.tls import Pki, make_pki

CONFIG = """\
source:
  type: cassandra
  host: 10.0.0.1
  port: 9142
  sslOptions:
{ssl}
  keyspace: ks
  table: tbl
  fetchSize: 500
  preserveTimestamps: false
  consistencyLevel: QUORUM
target:
  type: scylla
  host: 10.0.0.2
  port: 9042
  keyspace: ks
  table: tbl
  consistencyLevel: LOCAL_QUORUM
  stripTrailingZerosForDecimals: false
"""
UPSTREAM_SSL = """\
    enabled: true
    clientAuthEnabled: false
    trustStorePath: /certs/ca.pem
    trustStoreType: PEM"""


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    return make_pki(tmp_path_factory.mktemp("pki"), server_stores=False)


def _spec(ssl_block: str) -> SslSpec | None:
    return ssl_spec("source", load_config(CONFIG.format(ssl=ssl_block)).model.source.ssl_options)


def test_host_names_are_not_checked_unless_asked_as_upstream_does():
    assert _spec(UPSTREAM_SSL) == SslSpec(ca_file="/certs/ca.pem", check_hostname=False)
    assert _spec(UPSTREAM_SSL + "\n    hostnameValidation: true") == SslSpec(ca_file="/certs/ca.pem",
                                                                         check_hostname=True)


def test_disabled_tls_gives_no_spec():
    assert _spec("    enabled: false\n    clientAuthEnabled: false\n    hostnameValidation: true") is None


@pytest.mark.parametrize("check", [False, True])
def test_the_context_verifies_the_chain_and_checks_host_names_as_told(pki, check):
    ctx = ssl_context(SslSpec(ca_file=str(pki.ca), cert_file=str(pki.client), key_file=str(pki.client),
                              key_password=pki.key_password, client_auth=True, check_hostname=check), "source")
    assert (ctx.verify_mode, ctx.check_hostname) == (ssl.CERT_REQUIRED, check)
    assert [c["subject"] for c in ctx.get_ca_certs()] == [((("commonName", "migrator test CA"),),)]


def test_an_unreadable_trust_store_is_named_by_its_key(tmp_path):
    missing = tmp_path / "nowhere" / "ca.pem"
    with pytest.raises(RuntimeFailure) as caught:
        ssl_context(SslSpec(ca_file=str(missing)), "target")
    assert caught.value.exit_code == EXIT_RUNTIME
    assert caught.value.message.startswith(f"cannot read target.sslOptions.trustStorePath ({missing}): ")


def test_a_wrong_key_password_is_named_by_its_key_and_never_shown(pki):
    spec = SslSpec(ca_file=str(pki.ca), cert_file=str(pki.client), key_file=str(pki.client),
                   key_password="wrong-key-password", client_auth=True)
    with pytest.raises(RuntimeFailure) as caught:
        ssl_context(spec, "source")
    rendered = caught.value.render()
    assert rendered.startswith(
        f"cannot read the client certificate and key in source.sslOptions.keyStorePath ({pki.client}): ")
    assert "needs source.sslOptions.keyStorePassword" in rendered
    assert "wrong-key-password" not in rendered and pki.key_password not in rendered


def test_the_key_password_is_not_in_the_spec_repr(pki):
    spec = SslSpec(cert_file=str(pki.client), key_password=pki.key_password, client_auth=True)
    assert pki.key_password not in repr(spec)


def _java_store(pki: Pki, folder, store_type: str):
    store = folder / f"truststore.{store_type.lower()}"
    subprocess.run(["keytool", "-importcert", "-noprompt", "-alias", "ca", "-file", str(pki.ca), "-keystore",
                    str(store), "-storetype", store_type, "-storepass", "store-pass"], check=True, capture_output=True)
    return store


@pytest.mark.parametrize("store_type", ["JKS", "PKCS12"])
def test_a_java_trust_store_is_read_with_keytool(pki, tmp_path, store_type):
    store = _java_store(pki, tmp_path, store_type)
    ctx = ssl_context(SslSpec(ca_file=str(store), ca_type=store_type, ca_password="store-pass"), "source")
    assert [c["subject"] for c in ctx.get_ca_certs()] == [((("commonName", "migrator test CA"),),)]


def test_a_wrong_trust_store_password_is_named_by_its_key_and_never_shown(pki, tmp_path):
    store = _java_store(pki, tmp_path, "JKS")
    with pytest.raises(RuntimeFailure) as caught:
        ssl_context(SslSpec(ca_file=str(store), ca_type="JKS", ca_password="not-the-store-pass"), "source")
    rendered = caught.value.render()
    assert rendered.startswith(f"cannot read source.sslOptions.trustStorePath ({store}) as a JKS store: "
                               "keytool error: java.io.IOException: Keystore was tampered with, or password was "
                               "incorrect\n")
    assert "not-the-store-pass" not in rendered
    assert "hint: check source.sslOptions.trustStorePassword and source.sslOptions.trustStoreType" in rendered
