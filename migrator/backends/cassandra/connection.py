"""Connecting to a Cassandra/ScyllaDB cluster, from the driver or from an executor.

``ConnectionSpec`` is plain, hashable, picklable data: it is what executors receive. Sessions are
created lazily inside each Python worker process and cached there, one per cluster (and per
result format), so a worker that runs many ranges connects once. Nothing here is ever captured
from the Spark driver.

Connection failures are bounded in time and reported with the host:port that failed.
"""

from __future__ import annotations

import errno
import ipaddress
import logging
import os
import threading
import time
import weakref
from dataclasses import dataclass, field
from typing import Any

from migrator.backends.cassandra.tls import SslSpec, explain_handshake, ssl_context, ssl_spec
from migrator.config.cql import CqlConnection
from migrator.errors import RuntimeFailure
from migrator.retry import RetryPolicy

log = logging.getLogger(__name__)

CONNECT_TIMEOUT_S = 10.0
REQUEST_TIMEOUT_S = 60.0
RECONNECT_BASE_S, RECONNECT_MAX_S = 0.5, 4.0
DEFAULT_CONNECTIONS = 1


@dataclass(frozen=True)
class ConnectionSpec:
    """How to reach one cluster. ``role`` ("source"/"target") only names it in messages."""

    role: str
    host: str
    port: int
    local_dc: str | None = None
    username: str | None = None
    password: str | None = None
    ssl: SslSpec | None = None
    connections: int | None = None
    cloud_bundle: str | None = None
    request_timeout_s: float = REQUEST_TIMEOUT_S
    retry: RetryPolicy = field(default_factory=RetryPolicy)

    @property
    def address(self) -> str:
        """``host:port``, or the secure bundle path, for messages."""
        return self.cloud_bundle or f"{self.host}:{self.port}"

    def __repr__(self) -> str:  # never show the password
        return f"ConnectionSpec({self.role} {self.address}, user={self.username!r})"


def spec_from_settings(role: str, settings: CqlConnection) -> ConnectionSpec:
    """Build a spec from a validated source/target block (``migrator.config``)."""
    creds, cloud = settings.credentials, settings.cloud
    return ConnectionSpec(
        role=role,
        host=(settings.host or "").strip("[]"),
        port=int(settings.port or 9042),
        local_dc=settings.local_dc,
        username=creds.username if creds else None,
        password=creds.password if creds else None,
        ssl=ssl_spec(role, settings.ssl_options),
        connections=settings.connections,
        cloud_bundle=cloud.secure_bundle_path if cloud else None,
        request_timeout_s=(settings.request_timeout_ms or REQUEST_TIMEOUT_S * 1000) / 1000,
        retry=RetryPolicy.of(settings.outage_tolerance_seconds),
    )


def build_cluster(spec: ConnectionSpec, *, executor_threads: int = 2, schema_metadata: bool = True) -> Any:
    """A driver ``Cluster`` for the spec: token-aware, DC-aware, bounded timeouts."""
    from cassandra.auth import PlainTextAuthProvider
    from cassandra.cluster import EXEC_PROFILE_DEFAULT, Cluster, ExecutionProfile
    from cassandra.policies import DCAwareRoundRobinPolicy, ExponentialReconnectionPolicy, TokenAwarePolicy
    from cassandra.query import tuple_factory

    profile = ExecutionProfile(
        load_balancing_policy=TokenAwarePolicy(
            DCAwareRoundRobinPolicy(local_dc=spec.local_dc), shuffle_replicas=False
        ),
        request_timeout=spec.request_timeout_s,
        row_factory=tuple_factory,
    )
    kwargs: dict[str, Any] = {
        "execution_profiles": {EXEC_PROFILE_DEFAULT: profile},
        "connect_timeout": CONNECT_TIMEOUT_S,
        "control_connection_timeout": CONNECT_TIMEOUT_S,
        "executor_threads": executor_threads,
        # a node marked down is tried again at most every few seconds (the driver's default grows to
        # ten minutes), so a restarted node is back in use well within the outage tolerance
        "reconnection_policy": ExponentialReconnectionPolicy(RECONNECT_BASE_S, RECONNECT_MAX_S),
        "compression": False,
        # executors only need the token map (for routing), not the whole schema: connects faster
        "schema_metadata_enabled": schema_metadata,
    }
    if spec.username is not None:
        kwargs["auth_provider"] = PlainTextAuthProvider(username=spec.username, password=spec.password or "")
    if spec.cloud_bundle:
        kwargs["cloud"] = {"secure_connect_bundle": spec.cloud_bundle}
    else:
        kwargs["contact_points"] = [spec.host]
        kwargs["port"] = spec.port
        if spec.ssl is not None:
            kwargs["ssl_context"] = ssl_context(spec.ssl, spec.role)
            if spec.ssl.check_hostname and not _is_ip_address(spec.host):
                # The driver connects to resolved addresses and would check certificates against those:
                # check them against the name the user wrote instead.
                kwargs["ssl_options"] = {"server_hostname": spec.host}
    return Cluster(**kwargs)


class Unreachable(RuntimeFailure):
    """No node of the cluster answered: worth waiting for on an executor (a restart), unlike a refusal."""


def shutdown(sessions: list[Any]) -> None:
    """Close the clusters of driver-side sessions, and forget them (closing twice is harmless)."""
    for session in sessions:
        session.cluster.shutdown()
    sessions.clear()


def connect(spec: ConnectionSpec, *, raw: bool = False, schema_metadata: bool = True) -> Any:
    """Open a session, translating driver failures into a message naming the cluster."""
    from cassandra.cluster import NoHostAvailable

    try:
        cluster = build_cluster(spec, schema_metadata=schema_metadata)
    except OSError as exc:  # the driver reads a cloud bundle here (TLS files are read, and named, by ssl_context)
        raise RuntimeFailure(
            f"cannot set up the connection to the {spec.role} cluster at {spec.address}: {_short(exc)}",
            hint=f"check {spec.role}.cloud.secureBundlePath" if spec.cloud_bundle else None,
        ) from None
    try:
        session = cluster.connect()
    except NoHostAvailable as exc:
        cluster.shutdown()
        raise _no_host_failure(spec, exc.errors) from None
    except Exception as exc:
        cluster.shutdown()
        raise RuntimeFailure(
            f"cannot connect to the {spec.role} cluster at {spec.address}: {_short(exc)}"
        ) from None
    if raw:
        from migrator.backends.cassandra.raw import RawProtocolHandler

        session.client_protocol_handler = RawProtocolHandler
    return session


def _no_host_failure(spec: ConnectionSpec, errors: dict[Any, BaseException]) -> RuntimeFailure:
    """Why no contact point answered: the credentials, a refused TLS handshake, or the address."""
    from cassandra import AuthenticationFailed
    from cassandra.connection import ConnectionShutdown

    role = spec.role
    reasons = "; ".join(f"{host}: {_short(err)}" for host, err in errors.items()) or "no contact point answered"
    if any(isinstance(e, AuthenticationFailed) for e in errors.values()):
        # Reported at once: the driver tried each contact point once, and trying again cannot help.
        return RuntimeFailure(f"authentication to the {role} cluster at {spec.address} failed: {reasons}",
                              hint=f"check {role}.credentials")
    if spec.ssl is not None and (tls := explain_handshake(role, spec.host, spec.port, spec.ssl, CONNECT_TIMEOUT_S)):
        return tls
    hint = f"check {role}.host / {role}.port and that the cluster is up"
    if spec.ssl is None and any(isinstance(e, ConnectionShutdown) or getattr(e, "errno", None) == errno.ECONNRESET
                                for e in errors.values()):
        hint = (f"the cluster closed the connection: if it requires TLS (client_encryption_options), set "
                f"{role}.sslOptions; else {hint}")
    return Unreachable(
        f"cannot connect to the {role} cluster at {spec.address} (gave up after {CONNECT_TIMEOUT_S:.0f} s): {reasons}",
        hint=hint,
    )


def _is_ip_address(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def _short(exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    return text if len(text) < 300 else text[:297] + "..."


# --- per-worker-process session cache -----------------------------------------------------------

_SESSIONS: dict[tuple[ConnectionSpec, bool], Any] = {}
_SESSIONS_LOCK = threading.Lock()
_SESSIONS_PID: int | None = None


def cached_session(spec: ConnectionSpec, *, raw: bool = False) -> Any:
    """The worker process's session for ``spec`` (created on first use, reused by later tasks)."""
    global _SESSIONS_PID
    key = (spec, raw)
    with _SESSIONS_LOCK:
        if os.getpid() != _SESSIONS_PID:  # forked: the parent's sockets are not ours
            _SESSIONS.clear()
            _SESSIONS_PID = os.getpid()
        session = _SESSIONS.get(key)
        if session is None or session.is_shutdown:
            session = _connect_riding_out(spec, raw)
            _SESSIONS[key] = session
        return session


def _connect_riding_out(spec: ConnectionSpec, raw: bool) -> Any:
    """``connect`` on an executor, tried again while the cluster is unreachable, within its outage tolerance.

    A refusal (authentication, TLS) is raised at once: trying again would not change it.
    """
    outage = spec.retry.outage()
    while True:
        try:
            return connect(spec, raw=raw, schema_metadata=False)
        except Unreachable as exc:
            pause = outage.next_pause()
            if pause is None:
                raise Unreachable(f"{exc.message}; still unreachable after {outage.describe()}",
                                  hint=exc.hint) from None
            log.warning("the %s cluster at %s is unreachable, connecting again in %.1f s",
                        spec.role, spec.address, pause)
            time.sleep(pause)


def load_replication(session: Any, keyspace: str) -> bool:
    """Make the driver know one keyspace's replication, which token-aware routing needs.

    Worker sessions skip schema metadata (fetching every table of a big cluster costs seconds per
    worker), so without this the driver would not know any replica and would route at random.
    Returns False, with a warning, when the keyspace cannot be read: writes still work, unrouted.
    """
    if not keyspace or keyspace in session.cluster.metadata.keyspaces:
        return bool(keyspace)
    try:
        session.cluster.refresh_keyspace_metadata(keyspace)
    except Exception as exc:
        log.warning("cannot read keyspace %s's replication (%s): writes will not be token-aware", keyspace,
                    _short(exc))
    return keyspace in session.cluster.metadata.keyspaces


_PREPARED: weakref.WeakKeyDictionary[Any, dict[str, Any]] = weakref.WeakKeyDictionary()


def prepared(session: Any, cql: str) -> Any:
    """Prepare once per session and statement text.

    Keyed by the session itself (weakly), not its ``id``: a new session may reuse the id of a
    collected one, and must never be handed a statement prepared on another cluster.
    """
    statements = _PREPARED.setdefault(session, {})
    stmt = statements.get(cql)
    if stmt is None:
        stmt = session.prepare(cql)
        statements[cql] = stmt
    return stmt


def consistency(name: str) -> int:
    """The driver's consistency level value for a name such as ``LOCAL_QUORUM``."""
    from cassandra import ConsistencyLevel

    return int(ConsistencyLevel.name_to_value[name.upper()])
