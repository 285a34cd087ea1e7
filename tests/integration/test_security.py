"""TLS with a client certificate and PasswordAuthenticator, against a real Cassandra that demands both.

One node of its own for the whole file (``scripts/services``' ``running_node``, CQL 127.0.0.1:9044,
storage 7012, JMX 7201), started after the test made its PKI with openssl and keytool
(``tests/support/tls.py``): client encryption required, a client certificate required, passwords
checked, and every login written to its system.log by the audit log. It is the source; the shared
target node is the target. One migrate and one validate prove the whole path over TLS; the failures
run ``migrator check``, which fails before any Spark starts.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from migrator.backends.cassandra.connection import CONNECT_TIMEOUT_S, ConnectionSpec, connect
from migrator.backends.cassandra.tls import SslSpec
from migrator.errors import RuntimeFailure
from tests.support.constants import SOURCE_KS, TARGET_KS
from tests.support.helpers import assert_same, cli, dump, write_config
from tests.support.tls import SECURE_HOST, SECURE_PORT, Pki, make_pki, secure_node, services_module
from tests.support.waiting import wait_until

pytestmark = pytest.mark.integration

HEAP = "512M"
SUPERUSER_WAIT_S = 120.0
ROLE, ROLE_PASSWORD = "migrator_tls", "pw-4c2f9e1b-never-printed"
ENV = {"SECURE_PASSWORD": ROLE_PASSWORD}
ROWS = 20
VALIDATION = {"compareTimestamps": True, "ttlToleranceMillis": 60000, "writetimeToleranceMillis": 0,
              "failuresToFetch": 10, "floatingPointTolerance": 0.0, "timestampMsTolerance": 0}


@dataclass(frozen=True)
class Secure:
    """The running node: a superuser session to it, its PKI and its system.log."""

    session: Any
    pki: Pki
    system_log: Path

    def logins_failed(self) -> int:
        return self.system_log.read_text(errors="replace").count("type:LOGIN_ERROR")


def _client_ssl(pki: Pki) -> SslSpec:
    """TLS as the tests' own sessions use it: the test CA, the client certificate, host names checked."""
    return SslSpec(ca_file=str(pki.ca), cert_file=str(pki.client), key_file=str(pki.client),
                   key_password=pki.key_password, client_auth=True, check_hostname=True)


def _superuser_session(pki: Pki) -> Any:
    """The default superuser's session, once the node has created it (right after start, see secure_node)."""
    spec = ConnectionSpec("source", SECURE_HOST, SECURE_PORT, username="cassandra", password="cassandra",
                          ssl=_client_ssl(pki))
    deadline = time.monotonic() + SUPERUSER_WAIT_S
    while True:
        try:
            return connect(spec)
        except RuntimeFailure:
            if time.monotonic() > deadline:
                raise
            time.sleep(1)


@pytest.fixture(scope="module")
def secure(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Secure]:
    pki = make_pki(tmp_path_factory.mktemp("pki"))
    services = services_module()
    node = secure_node(services, pki)
    try:
        with services.running_node(node, HEAP):
            session = _superuser_session(pki)
            session.execute(f"CREATE ROLE {ROLE} WITH PASSWORD = '{ROLE_PASSWORD}' AND LOGIN = true")
            session.execute(f"CREATE KEYSPACE {SOURCE_KS} WITH replication = "
                            "{'class': 'SimpleStrategy', 'replication_factor': 1}")
            yield Secure(session, pki, node.files.system_log)
            session.cluster.shutdown()
    except services.ServicesError as error:
        pytest.fail(f"the secure node did not start: {error}")


def _tls(pki: Pki, **overrides: Any) -> dict[str, Any]:
    options = {"enabled": True, "clientAuthEnabled": True, "trustStorePath": str(pki.ca), "trustStoreType": "PEM",
               "keyStorePath": str(pki.client), "keyStoreType": "PEM", "keyStorePassword": "${TLS_KEY_PASSWORD}",
               **overrides}
    return {key: value for key, value in options.items() if value is not None}


def _config(tmp_path: Path, endpoints: dict[str, Any], secure: Secure, table: str, *, host: str = SECURE_HOST,
            password: str = "${SECURE_PASSWORD}", **tls: Any) -> Path:
    source = {"host": host, "port": SECURE_PORT, "credentials": {"username": ROLE, "password": password},
              "sslOptions": _tls(secure.pki, **tls), "preserveTimestamps": True}
    return write_config(tmp_path, endpoints, table, source=source, top={"validation": VALIDATION},
                        name=f"{table}.yaml")


def _check(config: Path, secure: Secure) -> Any:
    return cli("check", "--config", str(config), env={**ENV, "TLS_KEY_PASSWORD": secure.pki.key_password},
               timeout=120)


def test_migrate_and_validate_over_tls_with_a_client_certificate_and_a_password(secure, target, raw_sessions,
                                                                                 endpoints, tmp_path):
    table = "tls_copy"
    secure.session.execute(f"DROP TABLE IF EXISTS {SOURCE_KS}.{table}")
    target.execute(f"DROP TABLE IF EXISTS {TARGET_KS}.{table}")
    secure.session.execute(f"CREATE TABLE {SOURCE_KS}.{table} (k int, c int, v text, s set<int>, "
                           "PRIMARY KEY (k, c))")
    insert = secure.session.prepare(f"INSERT INTO {SOURCE_KS}.{table} (k, c, v, s) VALUES (?, ?, ?, ?) USING TTL ?")
    for row in range(ROWS):
        secure.session.execute(insert, (row % 5, row, f"value {row}", {row, row + 1}, 3600 + row))
    # The trust store as upstream configs name it: JKS (trustStoreType's default), opened with a password.
    config = _config(tmp_path, endpoints, secure, table, hostnameValidation=True,
                     trustStorePath=str(secure.pki.client_truststore), trustStoreType=None,
                     trustStorePassword="${TRUST_STORE_PASSWORD}")
    env = {**ENV, "TLS_KEY_PASSWORD": secure.pki.key_password, "TRUST_STORE_PASSWORD": secure.pki.store_password}
    migrated = cli("migrate", "--config", str(config), env=env)
    assert migrated.returncode == 0, migrated.stderr
    source_raw = connect(ConnectionSpec("source", SECURE_HOST, SECURE_PORT, username=ROLE, password=ROLE_PASSWORD,
                                        ssl=_client_ssl(secure.pki)), raw=True)
    try:
        source_dump = dump(source_raw, SOURCE_KS, table)
    finally:
        source_raw.cluster.shutdown()
    assert len(source_dump) == ROWS
    assert_same(source_dump, dump(raw_sessions[1], TARGET_KS, table))
    validated = cli("validate", "--config", str(config), env=env)
    assert validated.returncode == 0, validated.stderr
    for output in (migrated, validated):
        text = output.stdout + output.stderr
        assert all(secret not in text for secret in (ROLE_PASSWORD, secure.pki.key_password,
                                                       secure.pki.store_password))


# What is wrong -> (config changes, the message after "TLS to the source cluster at <host>:9044 failed: ",
# the hint). "{other_ca}" stands for the unrelated CA's file.
REFUSED_HANDSHAKES = {
    "wrong-ca": (
        {"trustStorePath": "{other_ca}"},
        "its certificate is not trusted by source.sslOptions.trustStorePath ({other_ca}): self-signed certificate in "
        "certificate chain",
        "hint: set source.sslOptions.trustStorePath to a PEM file holding the CA that signed the cluster's "
        "certificates",
    ),
    "host-name-not-in-the-certificate": (
        {"host": "localhost", "hostnameValidation": True},
        "its certificate is not valid for 'localhost' (it names IP Address 127.0.0.1)",
        "hint: set source.host to a name the certificate carries, or set source.sslOptions.hostnameValidation: false",
    ),
    "no-client-certificate": (
        {"clientAuthEnabled": False},
        "the cluster requires a client certificate and none was sent",
        "hint: set source.sslOptions.clientAuthEnabled: true and source.sslOptions.keyStorePath to a PEM file",
    ),
}


@pytest.mark.parametrize("case", list(REFUSED_HANDSHAKES))
def test_a_refused_handshake_names_the_cluster_and_the_key_to_change(secure, endpoints, tmp_path, case):
    template, message, hint = REFUSED_HANDSHAKES[case]
    other_ca = str(secure.pki.other_ca)
    changes = {key: value.format(other_ca=other_ca) if isinstance(value, str) else value
               for key, value in template.items()}
    host = changes.pop("host", SECURE_HOST)
    result = _check(_config(tmp_path, endpoints, secure, f"tls_{case.replace('-', '_')}", host=host, **changes),
                    secure)
    assert result.returncode == 3, result.stderr
    assert f"TLS to the source cluster at {host}:9044 failed: {message.format(other_ca=other_ca)}" in result.stderr
    assert hint in result.stderr
    assert "Traceback" not in result.stderr


def test_a_wrong_password_fails_at_once_with_one_login_attempt(secure, endpoints, tmp_path):
    config = _config(tmp_path, endpoints, secure, "tls_wrong_password", password="${WRONG_PASSWORD}")
    failed_before = secure.logins_failed()
    result = cli("check", "--config", str(config), timeout=120,
                 env={"WRONG_PASSWORD": "not-the-password", "TLS_KEY_PASSWORD": secure.pki.key_password})
    assert result.returncode == 3, result.stderr
    assert ("authentication to the source cluster at 127.0.0.1:9044 failed: 127.0.0.1:9044: Failed to authenticate "
            "to 127.0.0.1:9044: Error from server: code=0100 [Bad credentials] message=\"Provided username "
            f"{ROLE} and/or password are incorrect\"") in result.stderr
    assert "hint: check source.credentials" in result.stderr
    assert "not-the-password" not in result.stdout + result.stderr
    # The same connect in this process, timed without an interpreter's start: no waiting, no retrying.
    spec = ConnectionSpec("source", SECURE_HOST, SECURE_PORT, username=ROLE, password="not-the-password",
                          ssl=_client_ssl(secure.pki))
    started = time.monotonic()
    with pytest.raises(RuntimeFailure) as caught:
        connect(spec)
    elapsed = time.monotonic() - started
    assert caught.value.message.startswith("authentication to the source cluster at 127.0.0.1:9044 failed")
    assert elapsed < CONNECT_TIMEOUT_S / 2, f"took {elapsed:.1f} s"
    wait_until(lambda: secure.logins_failed() - failed_before >= 2, timeout=10, what="two audit lines")
    time.sleep(1)  # a retry would show in the log by now
    assert secure.logins_failed() - failed_before == 2  # one login per run, the CLI's and this one


def test_no_tls_against_a_port_that_demands_it_points_at_ssl_options(secure):
    with pytest.raises(RuntimeFailure) as caught:
        connect(ConnectionSpec("source", SECURE_HOST, SECURE_PORT, username=ROLE, password=ROLE_PASSWORD))
    assert caught.value.message.startswith("cannot connect to the source cluster at 127.0.0.1:9044")
    assert caught.value.hint == ("the cluster closed the connection: if it requires TLS (client_encryption_options), "
                                 "set source.sslOptions; else check source.host / source.port and that the cluster "
                                 "is up")
