"""A throw-away PKI (openssl, keytool) and a Cassandra node demanding TLS, a client certificate and a password.

``make_pki`` writes into a folder: a test CA, a server certificate it signs (valid for the IP
address 127.0.0.1 only, so connecting as ``localhost`` is a host name the certificate does not
carry), the server's PKCS12 key store and trust store, a client certificate with its key encrypted
by a password (one PEM file), the CA again in a JKS trust store for the client (as upstream configs
name it), and a second, unrelated CA. ``secure_node`` describes the node that
``scripts/services``' ``running_node`` starts with them.
"""

from __future__ import annotations

import importlib.machinery
import importlib.util
import secrets
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

from tests.support.constants import ROOT

SECURE_HOST = "127.0.0.1"
SECURE_PORT = 9044
DAYS = "2"
EC_KEY = ("-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1")


@dataclass(frozen=True)
class Pki:
    """The files ``make_pki`` wrote, and the passwords that open them."""

    folder: Path
    ca: Path  # PEM: the CA that signed the server and client certificates
    other_ca: Path  # PEM: a CA that signed nothing here
    server_keystore: Path  # PKCS12: server key and certificate chain
    server_truststore: Path  # PKCS12: the CA, to check client certificates
    client: Path  # PEM: client certificate, then its key encrypted with key_password
    client_truststore: Path  # JKS, as upstream configs name it: the CA (opened with store_password)
    store_password: str
    key_password: str


def _run(*command: str, cwd: Path) -> None:
    result = subprocess.run(command, cwd=cwd, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise RuntimeError(f"{' '.join(command[:2])} failed: {result.stderr.strip()}")


def _ca(folder: Path, name: str, subject: str) -> None:
    _run("openssl", "req", "-x509", "-new", *EC_KEY, "-nodes", "-keyout", f"{name}.key", "-out", f"{name}.pem",
         "-days", DAYS, "-subj", subject, "-addext", "basicConstraints=critical,CA:TRUE",
         "-addext", "keyUsage=critical,keyCertSign,cRLSign", cwd=folder)


def _signed(folder: Path, name: str, subject: str, extensions: str) -> None:
    """A key and a certificate for it, signed by ca.pem."""
    (folder / f"{name}.ext").write_text(extensions)
    _run("openssl", "req", "-new", *EC_KEY, "-nodes", "-keyout", f"{name}.key", "-out", f"{name}.csr",
         "-subj", subject, cwd=folder)
    _run("openssl", "x509", "-req", "-in", f"{name}.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
         "-days", DAYS, "-extfile", f"{name}.ext", "-out", f"{name}.pem", cwd=folder)


def make_pki(folder: Path, *, server_stores: bool = True) -> Pki:
    """Write the CAs, certificates and stores into folder (created, readable by the owner only).

    Without server_stores, only openssl runs (no keytool JVM): enough for the client side.
    """
    folder.mkdir(parents=True, exist_ok=True)
    folder.chmod(0o700)
    store_password, key_password = secrets.token_hex(8), secrets.token_hex(8)
    _ca(folder, "ca", "/CN=migrator test CA")
    _ca(folder, "other-ca", "/CN=unrelated test CA")
    _signed(folder, "server", "/CN=secure-node", "basicConstraints=CA:FALSE\nsubjectAltName=IP:127.0.0.1\n"
            "keyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\n")
    _signed(folder, "client", "/CN=migrator", "basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\n"
            "extendedKeyUsage=clientAuth\n")
    if server_stores:
        _run("openssl", "pkcs12", "-export", "-in", "server.pem", "-inkey", "server.key", "-certfile", "ca.pem",
             "-name", "server", "-out", "server-keystore.p12", "-passout", f"pass:{store_password}", cwd=folder)
        _run("keytool", "-importcert", "-noprompt", "-alias", "ca", "-file", "ca.pem", "-keystore",
             "server-truststore.p12", "-storetype", "PKCS12", "-storepass", store_password, cwd=folder)
        _run("keytool", "-importcert", "-noprompt", "-alias", "ca", "-file", "ca.pem", "-keystore",
             "client-truststore.jks", "-storetype", "JKS", "-storepass", store_password, cwd=folder)
    _run("openssl", "pkey", "-in", "client.key", "-aes256", "-passout", f"pass:{key_password}", "-out",
         "client-key-encrypted.pem", cwd=folder)
    client = folder / "client-bundle.pem"
    client.write_text((folder / "client.pem").read_text() + (folder / "client-key-encrypted.pem").read_text())
    return Pki(folder=folder, ca=folder / "ca.pem", other_ca=folder / "other-ca.pem",
               server_keystore=folder / "server-keystore.p12", server_truststore=folder / "server-truststore.p12",
               client=client, client_truststore=folder / "client-truststore.jks", store_password=store_password,
               key_password=key_password)


def services_module() -> ModuleType:
    """``scripts/services`` imported as a module (it has no .py suffix; its helpers sit beside it)."""
    name = "scripts_services"
    if name in sys.modules:
        return sys.modules[name]
    scripts = str(ROOT / "scripts")
    if scripts not in sys.path:
        sys.path.append(scripts)
    loader = importlib.machinery.SourceFileLoader(name, str(ROOT / "scripts" / "services"))
    spec = importlib.util.spec_from_loader(name, loader)
    assert spec is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses look their module up there
    loader.exec_module(module)
    return module


SERVER_YAML = """\
client_encryption_options:
  enabled: true
  optional: false
  keystore: "{keystore}"
  keystore_password: "{store_password}"
  truststore: "{truststore}"
  truststore_password: "{store_password}"
  store_type: PKCS12
  require_client_auth: true
# Every login, failed or not, becomes an INFO line in system.log (FileAuditLogger): tests count them.
audit_logging_options:
  enabled: true
  logger:
    - class_name: FileAuditLogger
  included_categories: AUTH
"""


def secure_node(services: ModuleType, pki: Pki) -> Any:
    """The ``CassandraNode`` for a single node that demands TLS with a client certificate, and a password.

    The default superuser (cassandra/cassandra) is created right after start instead of 10 s later.
    """
    return services.CassandraNode(
        "secure", "migrator-secure", cql_port=SECURE_PORT, storage_port=7012, jmx_port=7201,
        authenticator="PasswordAuthenticator", tls_only=True,
        jvm_options=("-Dcassandra.superuser_setup_delay_ms=0",),
        extra_yaml=SERVER_YAML.format(keystore=pki.server_keystore, truststore=pki.server_truststore,
                                      store_password=pki.store_password),
    )
