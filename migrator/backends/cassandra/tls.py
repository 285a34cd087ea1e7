"""TLS for CQL connections: ``sslOptions`` to a picklable ``SslSpec`` to an ``SSLContext``; failed handshakes explained.

The Python driver reads PEM files. A JKS or PKCS12 trust store, as upstream configs name it, is
read with the JDK's ``keytool`` (every Spark machine has one) into memory, once per process; its
password reaches keytool through the environment, never its command line. A Java key store for
the client certificate is refused with a conversion hint before anything connects (exit 2): keytool
cannot export a private key. Host names are checked only with ``sslOptions.hostnameValidation:
true``: upstream (the Spark Cassandra Connector) never checks them, and configs written for it must
keep working.

The driver reports a failed handshake as a bare socket error, without the certificate problem
behind it. ``explain_handshake`` repeats the handshake alone and turns what went wrong (an
untrusted certificate, a host name the certificate does not carry, a client certificate missing
or rejected, a port that does not speak TLS) into a message naming the cluster, what it presented
and the ``sslOptions`` key to change. No message ever holds a password.
"""

from __future__ import annotations

import functools
import os
import re
import shutil
import socket
import ssl
import struct
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from typing import Any

from migrator.config.cql import SSLOptions
from migrator.errors import ConfigError, RuntimeFailure

PEM_TYPES = ("PEM", "CRT", "CER")
JAVA_STORE_TYPES = ("JKS", "PKCS12", "JCEKS")  # what keytool reads
PEM_CERTIFICATE = re.compile(r"-----BEGIN CERTIFICATE-----\n.+?\n-----END CERTIFICATE-----", re.DOTALL)
KEYTOOL_TIMEOUT_S = 60.0
KEYTOOL_PASSWORD_VARIABLE = "MIGRATOR_KEYTOOL_STOREPASS"
# OpenSSL's X509_V_ERR_HOSTNAME_MISMATCH and X509_V_ERR_IP_ADDRESS_MISMATCH.
NAME_MISMATCH_CODES = (62, 64)
# Alerts a server sends when it wants a client certificate and got none, or did not trust the one it got.
NO_CLIENT_CERTIFICATE = ("TLSV13_ALERT_CERTIFICATE_REQUIRED",)
CLIENT_CERTIFICATE_REFUSED = ("TLSV1_ALERT_UNKNOWN_CA", "SSLV3_ALERT_BAD_CERTIFICATE",
                              "SSLV3_ALERT_CERTIFICATE_UNKNOWN", "TLSV1_ALERT_ACCESS_DENIED")
NOT_TLS = ("WRONG_VERSION_NUMBER", "RECORD_LAYER_FAILURE", "PACKET_LENGTH_TOO_LONG")
# A native protocol v4 OPTIONS frame: after a TLS 1.3 handshake, a refused client certificate
# shows only when the client first reads.
CQL_OPTIONS = struct.pack(">BBhBi", 0x04, 0, 0, 0x05, 0)


@dataclass(frozen=True)
class SslSpec:
    """TLS settings, as plain data for executors: file paths, never an ``SSLContext``."""

    ca_file: str | None = None
    ca_type: str = "PEM"  # or a Java store type, read with keytool
    ca_password: str | None = field(default=None, repr=False)
    cert_file: str | None = None
    key_file: str | None = None
    key_password: str | None = field(default=None, repr=False)
    protocol: str = "TLS"
    client_auth: bool = False
    check_hostname: bool = False


def ssl_spec(role: str, options: SSLOptions | None) -> SslSpec | None:
    """The spec for a source/target ``sslOptions`` block; None without TLS. Unreadable store types are a ConfigError."""
    if options is None or not options.enabled:
        return None
    problems = []
    store_type = (options.trust_store_type or "JKS").upper()
    if options.trust_store_path and store_type not in PEM_TYPES + JAVA_STORE_TYPES:
        problems.append((
            f"{role}.sslOptions.trustStoreType",
            f"cannot read a {store_type} trust store; use PEM, JKS or PKCS12",
        ))
    key_type = (options.key_store_type or "JKS").upper()
    if options.client_auth_enabled and options.key_store_path and key_type not in PEM_TYPES:
        problems.append((
            f"{role}.sslOptions.keyStoreType",
            f"the Python driver cannot read a {key_type} key store; export the client certificate and key "
            "into one PEM file (keytool -importkeystore to PKCS12, then openssl pkcs12 -nodes), "
            "set keyStorePath to it and keyStoreType: PEM",
        ))
    if problems:
        raise ConfigError(problems)
    return SslSpec(
        ca_file=options.trust_store_path,
        ca_type=store_type if options.trust_store_path and store_type in JAVA_STORE_TYPES else "PEM",
        ca_password=options.trust_store_password,
        cert_file=options.key_store_path if options.client_auth_enabled else None,
        key_file=options.key_store_path if options.client_auth_enabled else None,
        key_password=options.key_store_password,
        protocol=options.protocol or "TLS",
        client_auth=bool(options.client_auth_enabled),
        check_hostname=options.hostname_validation,
    )


def ssl_context(spec: SslSpec, role: str) -> ssl.SSLContext:
    """The client context: the trust store (else the system CAs), the client certificate, the host name check.

    A file that cannot be read is a RuntimeFailure naming its key (not its password).
    """
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = spec.check_hostname
    try:
        if spec.ca_file and spec.ca_type != "PEM":
            ctx.load_verify_locations(cadata=_java_store_certificates(spec.ca_file, spec.ca_type, spec.ca_password,
                                                                      role))
        elif spec.ca_file:
            ctx.load_verify_locations(spec.ca_file)
        else:
            ctx.load_default_certs()
    except (OSError, ssl.SSLError) as exc:
        raise RuntimeFailure(
            f"cannot read {role}.sslOptions.trustStorePath ({spec.ca_file}): {_reason(exc)}",
            hint="it must hold the CA certificates that signed the cluster's certificates, and "
                 f"{role}.sslOptions.trustStoreType must name its format (PEM, JKS or PKCS12)",
        ) from None
    if spec.client_auth and spec.cert_file:
        try:
            ctx.load_cert_chain(spec.cert_file, spec.key_file, password=spec.key_password)
        except (OSError, ssl.SSLError) as exc:
            raise RuntimeFailure(
                f"cannot read the client certificate and key in {role}.sslOptions.keyStorePath "
                f"({spec.cert_file}): {_reason(exc)}",
                hint=f"it must be one PEM file holding the certificate and its private key; an encrypted key "
                     f"needs {role}.sslOptions.keyStorePassword",
            ) from None
    return ctx


@functools.lru_cache(maxsize=8)
def _java_store_certificates(path: str, store_type: str, password: str | None, role: str) -> str:
    """Every certificate in a Java store, as PEM text, listed by keytool (a JVM start: hence the cache)."""
    java_home = os.environ.get("JAVA_HOME")
    in_java_home = os.path.join(java_home, "bin", "keytool") if java_home else None
    keytool = in_java_home if in_java_home and os.access(in_java_home, os.X_OK) else shutil.which("keytool")
    where = f"{role}.sslOptions.trustStorePath ({path})"
    if keytool is None:
        raise RuntimeFailure(
            f"cannot read {where}: a {store_type} store is read with the JDK's keytool, which is neither "
            "in $JAVA_HOME/bin nor on PATH",
            hint=f"install a JDK, or convert the store to PEM (keytool -exportcert -rfc -keystore {path} "
                 f"-alias <alias> > ca.pem) and set {role}.sslOptions.trustStoreType: PEM",
        )
    command = [keytool, "-list", "-rfc", "-keystore", path, "-storetype", store_type]
    environment = dict(os.environ)
    if password:
        command += ["-storepass:env", KEYTOOL_PASSWORD_VARIABLE]
        environment[KEYTOOL_PASSWORD_VARIABLE] = password
    try:
        result = subprocess.run(command, env=environment, stdin=subprocess.DEVNULL, capture_output=True, text=True,
                                timeout=KEYTOOL_TIMEOUT_S, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise RuntimeFailure(f"cannot read {where} with keytool: {_reason(exc)}") from None
    certificates = PEM_CERTIFICATE.findall(result.stdout)
    if result.returncode != 0 or not certificates:
        said = [line for line in (result.stdout + result.stderr).splitlines() if "error" in line.lower()]
        raise RuntimeFailure(
            f"cannot read {where} as a {store_type} store: "
            f"{said[0] if said else 'keytool found no certificate in it'}",
            hint=f"check {role}.sslOptions.trustStorePassword and {role}.sslOptions.trustStoreType",
        )
    return "\n".join(certificates) + "\n"


def explain_handshake(role: str, host: str, port: int, spec: SslSpec, timeout: float) -> RuntimeFailure | None:
    """Why a TLS connection to host:port fails, as a failure to raise; None when TLS is not the problem."""
    try:
        with _shaken_hands(host, port, ssl_context(spec, role), timeout) as tls:
            # With TLS 1.3 the server judges the client certificate after the client's handshake
            # is over: a refusal shows as an alert, or a closed connection, at the first read.
            try:
                tls.sendall(CQL_OPTIONS)
                answered = bool(tls.recv(9))
            except TimeoutError:
                return None  # a slow server, not a refusal
            except OSError as exc:
                return _client_certificate_refused(role, host, port, spec, exc)
            return None if answered else _client_certificate_refused(role, host, port, spec, None)
    except ssl.SSLError as exc:
        return _failure(role, host, port, spec, exc, timeout)
    except (OSError, RuntimeFailure):
        return None  # refused, timed out, unreadable files: reported as they are elsewhere


@contextmanager
def _shaken_hands(host: str, port: int, ctx: ssl.SSLContext, timeout: float) -> Iterator[ssl.SSLSocket]:
    """A TLS connection to host:port, checked as the driver checks it (the same context and host name)."""
    with socket.create_connection((host, port), timeout=timeout) as raw, ctx.wrap_socket(
        raw, server_hostname=host if ctx.check_hostname else None
    ) as tls:
        yield tls


def _client_certificate_refused(role: str, host: str, port: int, spec: SslSpec,
                                exc: OSError | None) -> RuntimeFailure:
    """The server closed a connection whose handshake the client had finished: it wants another certificate."""
    where, reason = f"{role}.sslOptions", _reason(exc) if exc else "the cluster closed the connection"
    if not spec.client_auth or (isinstance(exc, ssl.SSLError) and exc.reason in NO_CLIENT_CERTIFICATE):
        return RuntimeFailure(
            f"TLS to the {role} cluster at {host}:{port} failed: the cluster requires a client certificate "
            f"and none was sent ({reason})",
            hint=f"set {where}.clientAuthEnabled: true and {where}.keyStorePath to a PEM file holding the "
                 "client certificate and its key",
        )
    return RuntimeFailure(
        f"TLS to the {role} cluster at {host}:{port} failed: the cluster refused the client certificate in "
        f"{where}.keyStorePath ({spec.cert_file}): {reason}",
        hint="use a client certificate signed by a CA in the cluster's trust store",
    )


def _failure(role: str, host: str, port: int, spec: SslSpec, exc: ssl.SSLError, timeout: float) -> RuntimeFailure:
    address, reason = f"{host}:{port}", exc.reason or ""
    where = f"{role}.sslOptions"
    if isinstance(exc, ssl.SSLCertVerificationError) and exc.verify_code in NAME_MISMATCH_CODES:
        names = _certificate_names(host, port, spec, role, timeout)
        return RuntimeFailure(
            f"TLS to the {role} cluster at {address} failed: its certificate is not valid for '{host}' "
            f"(it names {names})",
            hint=f"set {role}.host to a name the certificate carries, or set {where}.hostnameValidation: false "
                 "to skip the host name check (upstream's behaviour)",
        )
    if isinstance(exc, ssl.SSLCertVerificationError):
        trusted = f"{where}.trustStorePath ({spec.ca_file})" if spec.ca_file else "the system's CA certificates"
        return RuntimeFailure(
            f"TLS to the {role} cluster at {address} failed: its certificate is not trusted by {trusted}: "
            f"{exc.verify_message}",
            hint=f"set {where}.trustStorePath to a PEM file holding the CA that signed the cluster's certificates",
        )
    if reason in NO_CLIENT_CERTIFICATE or reason in CLIENT_CERTIFICATE_REFUSED:  # TLS 1.2 refuses in the handshake
        return _client_certificate_refused(role, host, port, spec, exc)
    if reason in NOT_TLS:
        return RuntimeFailure(
            f"TLS to the {role} cluster at {address} failed: the port does not speak TLS ({reason})",
            hint=f"use the cluster's TLS port in {role}.port, or set {where}.enabled: false",
        )
    return RuntimeFailure(f"TLS to the {role} cluster at {address} failed: {_reason(exc)}",
                          hint=f"check {where}")


def _certificate_names(host: str, port: int, spec: SslSpec, role: str, timeout: float) -> str:
    """The names the server's certificate is valid for, fetched with the host name check off."""
    try:
        with _shaken_hands(host, port, ssl_context(replace(spec, check_hostname=False), role), timeout) as tls:
            certificate: dict[str, Any] = dict(tls.getpeercert() or {})
    except (OSError, RuntimeFailure):
        return "names that could not be read"
    alternatives = [f"{kind} {value}" for kind, value in certificate.get("subjectAltName", ())]
    if alternatives:
        return ", ".join(alternatives)
    subject = dict(item for rdn in certificate.get("subject", ()) for item in rdn)
    return f"only the subject CN {subject['commonName']}" if "commonName" in subject else "no names at all"


def _reason(exc: BaseException) -> str:
    if isinstance(exc, ssl.SSLError) and exc.reason:
        return str(exc.reason)
    text = str(exc) or type(exc).__name__
    return text if len(text) < 300 else text[:297] + "..."
