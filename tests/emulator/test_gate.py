"""The TLS gate on its own: its connection cap and its shutdown, without a Key Value server.

The gate runs in front of a stub backend (a socket that answers ``+OK`` to whatever it gets), so
these tests need no redis-server; the gate in front of a real server is tested in
test_dataplane.py.
"""

from __future__ import annotations

import os
import socket
import ssl
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from pulumi_render_kv.emulator._gate_policy import MAX_CLIENTS, NOAUTH, parse_allow_list
from pulumi_render_kv.emulator._proxy import TlsGateProxy
from pulumi_render_kv.emulator._tls import ensure_certificates, server_context

HOST = "127.0.0.1"


class StubBackend:
    """A TCP server that answers ``+OK`` to every chunk it reads, one thread per client."""

    def __init__(self) -> None:
        self.listener = socket.create_server((HOST, 0))
        self.port = int(self.listener.getsockname()[1])
        self._threads: list[threading.Thread] = []
        self._accepter = threading.Thread(target=self._accept, daemon=True)
        self._accepter.start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return
            thread = threading.Thread(target=self._serve, args=(conn,), daemon=True)
            self._threads.append(thread)
            thread.start()

    @staticmethod
    def _serve(conn: socket.socket) -> None:
        with conn:
            try:
                while conn.recv(65536):
                    conn.sendall(b"+OK\r\n")
            except OSError:
                return

    def close(self) -> None:
        self.listener.shutdown(socket.SHUT_RDWR)
        self.listener.close()
        self._accepter.join(5)
        for thread in self._threads:
            thread.join(5)


@pytest.fixture
def backend() -> Iterator[StubBackend]:
    stub = StubBackend()
    try:
        yield stub
    finally:
        stub.close()


@pytest.fixture
def tls(tmp_path: Path) -> tuple[ssl.SSLContext, ssl.SSLContext]:
    """The gate's server context and a client context that trusts its CA."""
    files = ensure_certificates(tmp_path / "tls", HOST)
    return server_context(files), ssl.create_default_context(cafile=str(files.ca_cert))


def _gate(backend: StubBackend, context: ssl.SSLContext, **options: int) -> TlsGateProxy:
    gate = TlsGateProxy(
        name="red-gatetestgatetestgate",
        host=HOST,
        backend_port=backend.port,
        context=context,
        username="red-gatetestgatetestgate",
        allow_list=parse_allow_list(["127.0.0.1/32"]),
        **options,
    )
    gate.start()
    return gate


def _connect(gate: TlsGateProxy, context: ssl.SSLContext) -> ssl.SSLSocket:
    raw = socket.create_connection((HOST, gate.port), timeout=5)
    return context.wrap_socket(raw, server_hostname=HOST)


def _ask(sock: ssl.SSLSocket, request: bytes) -> bytes:
    sock.sendall(request)
    return sock.recv(4096)


def _eventually(predicate: Callable[[], bool], timeout: float = 5.0) -> bool:
    # The gate exposes no event for "a client is gone"; poll with a deadline instead.
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.01)
    return True


def test_clients_beyond_the_cap_get_redis_max_clients_error_and_are_closed(
    backend: StubBackend, tls: tuple[ssl.SSLContext, ssl.SSLContext]
) -> None:
    server, client = tls
    gate = _gate(backend, server, max_connections=2)
    try:
        first, second = _connect(gate, client), _connect(gate, client)
        assert _ask(first, b"PING\r\n") == NOAUTH
        assert _ask(second, b"PING\r\n") == NOAUTH
        with _connect(gate, client) as third:
            assert third.recv(4096) == MAX_CLIENTS
            assert third.recv(4096) == b""  # closed by the gate
        first.close()
        assert _eventually(lambda: len(gate._connections) == 1)
        with _connect(gate, client) as fourth:  # a slot is free again
            assert _ask(fourth, b"PING\r\n") == NOAUTH
        second.close()
    finally:
        gate.close()


def test_a_logged_in_client_is_piped_to_the_backend(
    backend: StubBackend, tls: tuple[ssl.SSLContext, ssl.SSLContext]
) -> None:
    server, client = tls
    gate = _gate(backend, server)
    try:
        with _connect(gate, client) as sock:
            assert _ask(sock, b"AUTH pw\r\n") == b"+OK\r\n"
            assert _ask(sock, b"ANYTHING\r\n") == b"+OK\r\n"  # the stub's answer, piped
    finally:
        gate.close()


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="counts fds in /proc/self/fd")
def test_close_ends_clients_in_every_state_and_returns_every_fd_and_the_thread(
    backend: StubBackend, tls: tuple[ssl.SSLContext, ssl.SSLContext]
) -> None:
    """Mid-handshake, before AUTH, logged in: close() closes them all and joins the loop thread."""
    server, client = tls
    fds_before = len(os.listdir("/proc/self/fd"))
    gate = _gate(backend, server)
    # Only this gate's own thread counts: threads of other tests may come and go meanwhile.
    [loop] = [t for t in threading.enumerate() if t.name == f"kv-gate-{gate.name}"]
    handshaking = socket.create_connection((HOST, gate.port), timeout=5)  # never says hello
    waiting = _connect(gate, client)
    assert _ask(waiting, b"PING\r\n") == NOAUTH
    piped = _connect(gate, client)
    assert _ask(piped, b"AUTH pw\r\n") == b"+OK\r\n"
    clients = [handshaking, waiting, piped]
    gate.close()
    try:
        assert not gate._connections
        assert not loop.is_alive()
        # The gate's sockets are closed by the time close() returns: each client sees the end.
        for sock in clients:
            assert sock.recv(4096) == b""
    finally:
        for sock in clients:
            sock.close()
    # The stub backend closes its side of the piped connection once it sees the gate's close.
    # At most as many as before: another test's descriptors may close meanwhile, never ours.
    assert _eventually(lambda: len(os.listdir("/proc/self/fd")) <= fds_before)
    gate.close()  # idempotent
