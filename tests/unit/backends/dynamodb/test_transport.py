"""The wire client's HTTP/1.1 transport against a real local HTTP server.

The server is Python's own ``http.server`` on a loopback port, scripted per test: how it answers
(length, chunks, gzip, closing) and how many connections it saw.
"""

from __future__ import annotations

import gzip
import http.server
import socket
import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from botocore.exceptions import ConnectionClosedError, EndpointConnectionError, ReadTimeoutError

from migrator.backends.dynamodb.transport import Connections, proxied, transport


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, answer: Callable[[Any, bytes], None]) -> None:
        super().__init__(("127.0.0.1", 0), Handler)
        self.answer = answer
        self.connections = 0
        self.bodies: list[bytes] = []
        self.headers: list[dict[str, str]] = []

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: Server

    def setup(self) -> None:
        super().setup()
        self.server.connections += 1

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.server.bodies.append(body)
        self.server.headers.append(dict(self.headers))
        self.server.answer(self, body)

    def log_message(self, *args: Any) -> None:
        pass


def plain(handler: Handler, body: bytes) -> None:
    handler.send_response(200)
    handler.send_header("Content-Length", str(len(body)))
    handler.end_headers()
    handler.wfile.write(body)


@pytest.fixture
def serve() -> Iterator[Callable[[Callable[[Any, bytes], None]], Server]]:
    servers: list[Server] = []

    def start(answer: Callable[[Any, bytes], None]) -> Server:
        server = Server(answer)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


def send(connections: Connections, server: Server, body: bytes = b'{"a":1}') -> Any:
    return connections.send(server.url, {"Host": server.url[7:], "Content-Type": "application/json"}, body)


def test_requests_reuse_one_kept_alive_connection(serve):
    server = serve(plain)
    connections = Connections(5, 5)
    replies = [send(connections, server, f'{{"n":{i}}}'.encode()) for i in range(5)]
    assert [r.content for r in replies] == [f'{{"n":{i}}}'.encode() for i in range(5)]
    assert all(r.status == 200 for r in replies) and server.connections == 1
    assert server.headers[0]["User-Agent"] == "scylla-migrator-py" and server.headers[0]["Content-Type"] == \
        "application/json"


def test_a_chunked_gzipped_answer_is_read_whole(serve):
    def chunked(handler: Handler, body: bytes) -> None:
        packed = gzip.compress(body * 1000)
        handler.send_response(200)
        handler.send_header("Transfer-Encoding", "chunked")
        handler.send_header("Content-Encoding", "gzip")
        handler.end_headers()
        for start in range(0, len(packed), 7):
            piece = packed[start : start + 7]
            handler.wfile.write(f"{len(piece):x}\r\n".encode() + piece + b"\r\n")
        handler.wfile.write(b"0\r\n\r\n")

    server = serve(chunked)
    connections = Connections(5, 5)
    assert send(connections, server, b"xyz").content == b"xyz" * 1000
    assert send(connections, server, b"abc").content == b"abc" * 1000
    assert server.connections == 1


def test_an_answer_with_connection_close_is_not_reused(serve):
    def closing(handler: Handler, body: bytes) -> None:
        handler.send_response(400)
        handler.send_header("Content-Length", str(len(body)))
        handler.send_header("Connection", "close")
        handler.end_headers()
        handler.wfile.write(body)
        handler.close_connection = True

    server = serve(closing)
    connections = Connections(5, 5)
    assert [send(connections, server).status for _ in range(3)] == [400] * 3
    assert server.connections == 3


def test_a_connection_the_server_closed_while_idle_is_replaced_without_losing_the_request(serve):
    def once(handler: Handler, body: bytes) -> None:
        plain(handler, body)
        handler.close_connection = True  # closes after answering, without saying so

    server = serve(once)
    connections = Connections(5, 5)
    for i in range(3):
        assert send(connections, server, str(i).encode()).content == str(i).encode()
    assert server.bodies == [b"0", b"1", b"2"] and server.connections == 3


def test_a_refused_connection_names_the_endpoint():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # bound, never listening: connections are refused
        with pytest.raises(EndpointConnectionError, match=f"127.0.0.1:{port}"):
            Connections(1, 1).send(f"http://127.0.0.1:{port}", {}, b"{}")


def test_a_server_that_does_not_answer_is_a_read_timeout(serve):
    gate = threading.Event()
    server = serve(lambda handler, body: gate.wait(5))
    with pytest.raises(ReadTimeoutError, match=server.url):
        send(Connections(1, 0.2), server)
    gate.set()


def test_an_answer_cut_short_is_a_closed_connection(serve):
    def short(handler: Handler, body: bytes) -> None:
        handler.send_response(200)
        handler.send_header("Content-Length", "100")
        handler.end_headers()
        handler.wfile.write(b"only this")
        handler.close_connection = True

    server = serve(short)
    with pytest.raises(ConnectionClosedError, match=server.url):
        send(Connections(1, 1), server)


def test_a_proxy_in_the_environment_routes_through_botocore(monkeypatch):
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.example:3128")
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    assert proxied("https://dynamodb.eu-west-1.amazonaws.com")["https"] == "http://proxy.example:3128"
    assert proxied("http://127.0.0.1:8000") == {}
    assert type(transport(1, 1, 10, "https://dynamodb.eu-west-1.amazonaws.com")).__name__ == "BotocoreSession"
    assert type(transport(1, 1, 10, "http://127.0.0.1:8000")) is Connections
