"""HTTP/1.1 for the wire client: keep-alive connections, a request in one write, a response read by its length.

The copy sends thousands of small POSTs per second to one or a few hosts. Through botocore's session
(urllib3 over ``http.client``) each one cost about a millisecond of CPU, more than the 25 items it
carried; this transport writes the request line, headers and body with one ``sendall`` and reads the
status line, headers and body (by Content-Length, chunked, or to the close) from a buffered socket,
about a tenth of that. It speaks only what DynamoDB and Alternator need: POST, keep-alive, TLS with
the CA bundle botocore uses (``AWS_CA_BUNDLE`` honoured), gzip-encoded answers.

When the environment names a proxy for the endpoint (``HTTPS_PROXY`` / ``HTTP_PROXY``, minus
``NO_PROXY``), requests go through botocore's session instead, which handles proxies (``proxied``).

Errors are botocore's, so callers see one vocabulary: ``EndpointConnectionError`` or
``ConnectTimeoutError`` (the endpoint named) when no connection can be made, ``ReadTimeoutError``
when the server does not answer within the read timeout, ``ConnectionClosedError`` when the
connection breaks mid-answer. A kept-alive connection the server closed while idle is replaced and
the request sent again at once (the server saw none of it); anything else is the caller's to retry.
"""

from __future__ import annotations

import contextlib
import gzip
import os
import socket
import ssl
import threading
import urllib.parse
import urllib.request
from dataclasses import dataclass
from typing import IO, Any

USER_AGENT = "scylla-migrator-py"


@dataclass(frozen=True)
class Reply:
    """An HTTP answer: status, headers (names lower-cased), body (decoded when it was gzipped)."""

    status: int
    headers: dict[str, str]
    content: bytes


def transport(connect_timeout_s: float, read_timeout_s: float, max_connections: int, url: str) -> Any:
    """The transport for ``url``: botocore's session when a proxy applies to it, else ``Connections``."""
    proxies = proxied(url)
    if proxies:
        return BotocoreSession(connect_timeout_s, read_timeout_s, max_connections, proxies)
    return Connections(connect_timeout_s, read_timeout_s, max_connections)


def proxied(url: str) -> dict[str, str]:
    """The environment's proxies if one applies to ``url`` (empty when none does)."""
    proxies = urllib.request.getproxies()
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in proxies or urllib.request.proxy_bypass(parts.hostname or ""):
        return {}
    return proxies


class StaleConnection(Exception):
    """A reused connection was found closed before any of the answer arrived."""


class Connection:
    """One keep-alive connection to ``host:port`` (TLS for https)."""

    def __init__(self, url: str, parts: urllib.parse.SplitResult, connect_timeout_s: float,
                 read_timeout_s: float, tls: ssl.SSLContext | None) -> None:
        from botocore.exceptions import ConnectTimeoutError, EndpointConnectionError

        host = parts.hostname or ""
        port = parts.port or (443 if parts.scheme == "https" else 80)
        try:
            sock = socket.create_connection((host, port), timeout=connect_timeout_s)
        except TimeoutError as exc:
            raise ConnectTimeoutError(endpoint_url=url, error=exc) from None
        except OSError as exc:
            raise EndpointConnectionError(endpoint_url=url, error=exc) from None
        try:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # no Nagle stall between requests
            if tls is not None:
                sock = tls.wrap_socket(sock, server_hostname=host)
            sock.settimeout(read_timeout_s)
        except OSError as exc:
            sock.close()
            raise EndpointConnectionError(endpoint_url=url, error=exc) from None
        self.sock = sock
        self.reader: IO[bytes] = sock.makefile("rb")
        self.used = False

    def exchange(self, request: bytes) -> tuple[Reply, bool]:
        """Send one request, read its answer; also whether the connection may be kept."""
        fresh = not self.used
        self.used = True
        try:
            self.sock.sendall(request)
            status_line = self.reader.readline(65537)
        except (BrokenPipeError, ConnectionResetError) as exc:
            if fresh:
                raise
            raise StaleConnection() from exc
        if not status_line:
            if fresh:
                raise ConnectionResetError("the server closed the connection without answering")
            raise StaleConnection()
        while True:
            status, headers = self._head(status_line)
            if status >= 200:
                break
            status_line = self.reader.readline(65537)  # an interim answer (100 Continue): the real one follows
        content = b"" if status in (204, 304) else self._body(headers)
        if headers.get("content-encoding", "").lower() == "gzip":
            content = gzip.decompress(content)
        delimited = "content-length" in headers or headers.get("transfer-encoding", "").lower() == "chunked"
        delimited = delimited or status in (204, 304)
        return Reply(status, headers, content), delimited and headers.get("connection", "").lower() != "close"

    def _head(self, status_line: bytes) -> tuple[int, dict[str, str]]:
        fields = status_line.split(None, 2)
        if len(fields) < 2 or not fields[0].startswith(b"HTTP/"):
            raise ConnectionResetError(f"not an HTTP answer: {status_line[:80]!r}")
        headers: dict[str, str] = {}
        while True:
            line = self.reader.readline(65537)
            if line in (b"\r\n", b"\n"):
                return int(fields[1]), headers
            if not line:
                raise ConnectionResetError("the connection closed inside the answer's headers")
            name, _, value = line.decode("latin-1").partition(":")
            headers[name.strip().lower()] = value.strip()

    def _body(self, headers: dict[str, str]) -> bytes:
        if headers.get("transfer-encoding", "").lower() == "chunked":
            chunks: list[bytes] = []
            while True:
                size = int(self.reader.readline(65537).split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.reader.readline(65537) not in (b"\r\n", b"\n", b""):
                        pass  # trailers
                    return b"".join(chunks)
                chunks.append(self._exactly(size))
                self.reader.readline(65537)
        if "content-length" in headers:
            return self._exactly(int(headers["content-length"]))
        return self.reader.read()  # no length: the body ends when the server closes

    def _exactly(self, size: int) -> bytes:
        data = self.reader.read(size)
        if len(data) != size:
            raise ConnectionResetError(f"the connection closed {size - len(data)} bytes before the answer's end")
        return data

    def close(self) -> None:
        """Close the connection (best effort)."""
        for closing in (self.reader, self.sock):
            with contextlib.suppress(OSError):
                closing.close()


class Connections:
    """Keep-alive connections per host, shared by a task's threads; ``send`` is the whole interface.

    A request takes an idle connection or opens one, so there are as many as requests in flight; at
    most ``max_idle`` per host are kept between requests (``maxConnections``).
    """

    def __init__(self, connect_timeout_s: float, read_timeout_s: float, max_idle: int = 50) -> None:
        self.connect_timeout_s = connect_timeout_s
        self.read_timeout_s = read_timeout_s
        self.max_idle = max_idle
        self._idle: dict[tuple[str, str], list[Connection]] = {}
        self._lock = threading.Lock()
        self._tls: ssl.SSLContext | None = None

    def send(self, url: str, headers: dict[str, str], body: bytes) -> Reply:
        """POST ``body`` to ``url`` with ``headers`` (Host included); the answer."""
        from botocore.exceptions import ConnectionClosedError, ReadTimeoutError

        parts = urllib.parse.urlsplit(url)
        head = "".join(f"{name}: {value}\r\n" for name, value in headers.items())
        request = (f"POST {parts.path or '/'} HTTP/1.1\r\n{head}User-Agent: {USER_AGENT}\r\n"
                   f"Content-Length: {len(body)}\r\n\r\n").encode("latin-1") + body
        key = (parts.scheme, parts.netloc)
        while True:
            connection = self._take(key) or Connection(url, parts, self.connect_timeout_s, self.read_timeout_s,
                                                       self._tls_context() if parts.scheme == "https" else None)
            try:
                reply, keep = connection.exchange(request)
            except StaleConnection:
                connection.close()
                continue  # closed by the server while idle: the request never arrived; a new connection
            except TimeoutError as exc:
                connection.close()
                raise ReadTimeoutError(endpoint_url=url, error=exc) from None
            except (OSError, ValueError) as exc:
                connection.close()
                raise ConnectionClosedError(endpoint_url=url, error=exc) from None
            if keep:
                self._give(key, connection)
            else:
                connection.close()
            return reply

    def _take(self, key: tuple[str, str]) -> Connection | None:
        with self._lock:
            idle = self._idle.get(key)
            return idle.pop() if idle else None

    def _give(self, key: tuple[str, str], connection: Connection) -> None:
        with self._lock:
            idle = self._idle.setdefault(key, [])
            if len(idle) < self.max_idle:
                idle.append(connection)
                return
        connection.close()

    def _tls_context(self) -> ssl.SSLContext:
        if self._tls is None:
            from botocore.httpsession import get_cert_path

            self._tls = ssl.create_default_context(cafile=os.environ.get("AWS_CA_BUNDLE") or get_cert_path(True))
        return self._tls


class BotocoreSession:
    """The same ``send`` through botocore's HTTP session (urllib3), for endpoints behind a proxy."""

    def __init__(self, connect_timeout_s: float, read_timeout_s: float, max_connections: int,
                 proxies: dict[str, str]) -> None:
        from botocore.httpsession import URLLib3Session

        self._session = URLLib3Session(timeout=(connect_timeout_s, read_timeout_s), proxies=proxies,
                                       max_pool_connections=max_connections,
                                       socket_options=[(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)])

    def send(self, url: str, headers: dict[str, str], body: bytes) -> Reply:
        """POST through botocore; the answer."""
        from botocore.awsrequest import AWSRequest

        request = AWSRequest(method="POST", url=url, data=body,
                             headers={k: v for k, v in headers.items() if k != "Host"} | {"User-Agent": USER_AGENT})
        response = self._session.send(request.prepare())
        return Reply(response.status_code, {k.lower(): v for k, v in response.headers.items()}, response.content)
