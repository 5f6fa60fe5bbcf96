"""The external endpoint of an emulated Key Value instance: a TLS gate in front of its plain port.

Who is admitted and what a client is answered before login is decided in :mod:`._gate_policy`
(Render's allow list and error texts, Redis's AUTH rules); requests are framed by :mod:`.resp`.
This module terminates TLS, connects to the server and moves the bytes.

Design: one thread per gate runs a ``selectors`` loop over the listening socket and every
connection, with TLS done through ``ssl.MemoryBIO`` so that no socket ever blocks the loop. That
bounds the threads (one per instance, whatever the number of clients), gives back-pressure in
both directions (a side is not read while the other side's buffer is full), and makes closing
trivial: the loop owns every socket and closes them all when it ends.
"""

from __future__ import annotations

import contextlib
import enum
import errno
import logging
import os
import selectors
import socket
import ssl
import threading
import time

from ._gate_policy import (
    BACKEND_DOWN,
    PREAUTH_LIMIT,
    PREAUTH_MAX_ARGS,
    PREAUTH_MAX_BULK,
    TOO_BIG,
    Network,
    Preauth,
    Reply,
    address_admitted,
    protocol_error,
)
from .resp import ProtocolError, RequestParser

_log = logging.getLogger(__name__)

_RECV_SIZE = 64 * 1024
# Per-direction buffer above which the gate stops reading the side that fills it.
_BUFFER_LIMIT = 1024 * 1024
_HANDSHAKE_TIMEOUT = 10.0
_PREAUTH_TIMEOUT = 30.0
_CLOSE_TIMEOUT = 5.0
_MAX_ACCEPTS_PER_WAKEUP = 64
_DEFAULT_MAX_CONNECTIONS = 256


class _Phase(enum.Enum):
    HANDSHAKE = "handshake"  # TLS handshake running
    REFUSED = "refused"  # address not allowed: answer the first request with the allowlist error
    PREAUTH = "preauth"  # waiting for AUTH / HELLO AUTH
    AUTH_PENDING = "auth_pending"  # credentials sent to the server, waiting for its verdict
    PIPE = "pipe"  # authenticated: bytes flow both ways
    CLOSING = "closing"  # flushing the last bytes to the client


class _Connection:
    """One client of the gate. Only the gate's loop thread touches it."""

    def __init__(self, gate: TlsGateProxy, sock: socket.socket, admitted: bool) -> None:
        self.gate = gate
        self.client = sock
        self.backend: socket.socket | None = None
        self.backend_connecting = False
        self.backend_write_closed = False
        self.incoming = ssl.MemoryBIO()
        self.outgoing = ssl.MemoryBIO()
        self.tls = gate.context.wrap_bio(self.incoming, self.outgoing, server_side=True)
        self.admitted = admitted
        self.phase = _Phase.HANDSHAKE
        self.deadline: float | None = time.monotonic() + _HANDSHAKE_TIMEOUT
        # Decrypted client bytes not yet handled (before PIPE).
        self.request = RequestParser(max_args=PREAUTH_MAX_ARGS, max_bulk=PREAUTH_MAX_BULK)
        self.to_backend = bytearray()
        self.to_client = bytearray()  # TLS records waiting for the client socket
        self.auth_reply = bytearray()
        self.session = Preauth(gate.username, admitted=admitted)
        self.client_eof = False
        self.client_gone = False  # the client socket failed: nothing more can be sent to it
        self.closed = False
        self.client_mask = 0
        self.backend_mask = 0

    # -- events ---------------------------------------------------------------------------------

    def on_client_readable(self) -> None:
        try:
            data = self.client.recv(_RECV_SIZE)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            self._on_client_gone()
            return
        if not data:
            self._on_client_eof()
            return
        self.incoming.write(data)
        if self.phase is _Phase.HANDSHAKE:
            try:
                self.tls.do_handshake()
            except ssl.SSLWantReadError:
                self._flush_tls()
                return
            except (ssl.SSLError, OSError) as error:
                # Plain-text clients end up here: the external endpoint is TLS only. The TLS
                # alert OpenSSL queued is still sent, so a TLS client learns why.
                _log.debug("%s: TLS handshake failed: %s", self.gate.name, error)
                self._start_closing(notify=False)
                return
            self._flush_tls()
            self.phase = _Phase.PREAUTH if self.admitted else _Phase.REFUSED
            self.deadline = time.monotonic() + _PREAUTH_TIMEOUT
        plain, eof = self._read_plain()
        if self.phase is _Phase.PIPE:
            self.to_backend += plain
        elif self.phase is not _Phase.CLOSING:
            self.request.feed(plain)
            if self.request.buffered > PREAUTH_LIMIT:
                self._reply_and_close(TOO_BIG)
                return
            self._handle_requests()
        if eof:
            self._on_client_eof()

    def on_client_writable(self) -> None:
        if not self._send(self.client, self.to_client):
            self._on_client_gone()
            return
        if not self.to_client and self.phase is _Phase.CLOSING:
            self.abort()

    def on_backend_readable(self) -> None:
        assert self.backend is not None
        try:
            data = self.backend.recv(_RECV_SIZE)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            data = b""
        if not data:
            self._on_backend_eof()
            return
        if self.phase is _Phase.AUTH_PENDING:
            self.auth_reply += data
            if self.auth_reply[:1] == b"-":
                # The server refused the credentials (or the HELLO): relay its error line, drop
                # that backend connection, which is still logged in as the password-less default
                # user, and stay unauthenticated.
                end = self.auth_reply.find(b"\r\n")
                if end < 0:
                    if len(self.auth_reply) > PREAUTH_LIMIT:
                        self._reply_and_close(BACKEND_DOWN)
                    return
                error = bytes(self.auth_reply[: end + 2])
                self._drop_backend()
                self.phase = _Phase.PREAUTH
                self._answer(self.session.on_server_refusal(error))
                self._handle_requests()
                if self.client_eof and self.phase is _Phase.PREAUTH:
                    self._start_closing()
                return
            data = bytes(self.auth_reply)
            self.auth_reply.clear()
            self.phase = _Phase.PIPE
            self.deadline = None
            self.to_backend += self.request.take_rest()  # what was pipelined behind the AUTH
            if self.client_eof:
                self._on_client_eof()
        if self.phase is _Phase.PIPE:
            self._send_plain(data)

    def on_backend_writable(self) -> None:
        assert self.backend is not None
        if self.backend_connecting:
            error = self.backend.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
            if error:
                _log.debug("%s: backend connect failed: %s", self.gate.name, os.strerror(error))
                self._on_backend_eof()
                return
            self.backend_connecting = False
        if not self._send(self.backend, self.to_backend):
            self._on_backend_eof()
            return
        self._maybe_half_close_backend()

    def expire(self, now: float) -> None:
        if self.deadline is not None and now >= self.deadline:
            _log.debug("%s: closing a client stuck in %s", self.gate.name, self.phase.value)
            self.abort()

    # -- interest -------------------------------------------------------------------------------

    def client_interest(self) -> int:
        mask = 0
        if self.closed or self.client_gone:
            return mask
        reading = not self.client_eof and self.phase is not _Phase.CLOSING
        if reading and (self.phase is not _Phase.PIPE or len(self.to_backend) < _BUFFER_LIMIT):
            mask |= selectors.EVENT_READ
        if self.to_client:
            mask |= selectors.EVENT_WRITE
        return mask

    def backend_interest(self) -> int:
        if self.closed or self.backend is None:
            return 0
        if self.backend_connecting:
            return selectors.EVENT_WRITE
        mask = 0
        if self.phase is _Phase.AUTH_PENDING or (
            self.phase is _Phase.PIPE and len(self.to_client) < _BUFFER_LIMIT
        ):
            mask |= selectors.EVENT_READ
        if self.to_backend:
            mask |= selectors.EVENT_WRITE
        return mask

    # -- before authentication ------------------------------------------------------------------

    def _handle_requests(self) -> None:
        while self.phase in (_Phase.PREAUTH, _Phase.REFUSED):
            try:
                args = self.request.next()
            except ProtocolError as error:
                self._reply_and_close(protocol_error(error))
                return
            if args is None:
                return
            if not args:
                continue
            decision = self.session.on_request(args)
            if isinstance(decision, Reply):
                self._answer(decision)
            else:
                self._authenticate(decision.request)

    def _answer(self, decision: Reply) -> None:
        self._reply(decision.data)
        if decision.close and self.phase is not _Phase.CLOSING:
            self._start_closing()

    def _authenticate(self, request: bytes) -> None:
        """Open a backend connection and let the server check the credentials."""
        host = self.gate.host
        backend = socket.socket(socket_family(host), socket.SOCK_STREAM)
        backend.setblocking(False)
        backend.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        code = backend.connect_ex((host, self.gate.backend_port))
        if code not in (0, errno.EINPROGRESS, errno.EWOULDBLOCK, errno.EAGAIN):
            backend.close()
            self._reply_and_close(BACKEND_DOWN)
            return
        self.backend = backend
        self.backend_connecting = code != 0
        self.backend_write_closed = False
        self.to_backend = bytearray(request)
        self.auth_reply.clear()
        self.phase = _Phase.AUTH_PENDING

    # -- shutdown paths -------------------------------------------------------------------------

    def _on_client_gone(self) -> None:
        """The client reset the connection (typically: it wrote, then closed without reading).

        Its replies are dropped, but commands it sent before leaving still reach the server --
        a client that writes ``AUTH ...; SET k v`` and hangs up gets its SET done, as with Redis.
        """
        self.client_gone = True
        self.to_client.clear()
        self._on_client_eof()

    def _on_client_eof(self) -> None:
        """The client will send no more; what it already sent is still handled, as Redis does."""
        self.client_eof = True
        if self.phase is _Phase.PIPE:
            # Let what the client already sent reach the server, then half-close towards it so
            # the server sees the end too; its last replies are still relayed until it closes.
            self.deadline = time.monotonic() + _CLOSE_TIMEOUT
            self._maybe_half_close_backend()
        elif self.phase is _Phase.AUTH_PENDING:
            pass  # the server's verdict on the AUTH decides what becomes of the commands behind it
        elif self.phase is _Phase.HANDSHAKE:
            self.abort()
        elif self.phase is _Phase.CLOSING:
            if not self.to_client:
                self.abort()
        else:  # PREAUTH / REFUSED: every complete request was answered; send that, then close
            self._start_closing()

    def _maybe_half_close_backend(self) -> None:
        if (
            self.client_eof
            and self.phase is _Phase.PIPE
            and self.backend is not None
            and not self.to_backend
            and not self.backend_write_closed
        ):
            self.backend_write_closed = True
            with contextlib.suppress(OSError):
                self.backend.shutdown(socket.SHUT_WR)

    def _on_backend_eof(self) -> None:
        if self.phase is _Phase.AUTH_PENDING:
            self._reply_and_close(BACKEND_DOWN)
        else:
            self._start_closing()

    def _reply_and_close(self, data: bytes) -> None:
        self._reply(data)
        if not self.closed:
            self._start_closing()

    def _start_closing(self, *, notify: bool = True) -> None:
        """Stop reading, send the pending bytes (and a TLS close_notify), then close."""
        self._drop_backend()
        self.phase = _Phase.CLOSING
        self.deadline = time.monotonic() + _CLOSE_TIMEOUT
        if notify:
            with contextlib.suppress(ssl.SSLError, ValueError, OSError):
                self.tls.unwrap()  # queues close_notify; raises while waiting for the client's
        self._flush_tls()
        if not self.to_client:
            self.abort()

    def _drop_backend(self) -> None:
        if self.backend is not None:
            self.gate.forget(self.backend, self.backend_mask)
            self.backend_mask = 0
            self.backend.close()
            self.backend = None
        self.backend_connecting = False
        self.to_backend.clear()

    def abort(self) -> None:
        """Close both sides now."""
        if self.closed:
            return
        self._drop_backend()
        self.closed = True
        self.gate.forget(self.client, self.client_mask)
        self.client_mask = 0
        self.client.close()

    # -- bytes ----------------------------------------------------------------------------------

    def _reply(self, data: bytes) -> None:
        self._send_plain(data)

    def _send_plain(self, data: bytes) -> None:
        try:
            self.tls.write(data)
        except (ssl.SSLError, ValueError, OSError):
            self.abort()
            return
        self._flush_tls()

    def _read_plain(self) -> tuple[bytes, bool]:
        """Everything the TLS layer can decrypt now, and whether the client sent close_notify."""
        chunks: list[bytes] = []
        eof = False
        while True:
            try:
                chunk = self.tls.read(_RECV_SIZE)
            except ssl.SSLWantReadError:
                break
            except (ssl.SSLZeroReturnError, ssl.SSLEOFError):
                eof = True
                break
            except (ssl.SSLError, OSError):
                eof = True
                break
            if not chunk:
                eof = True
                break
            chunks.append(chunk)
        self._flush_tls()
        return b"".join(chunks), eof

    def _flush_tls(self) -> None:
        pending = self.outgoing.read()
        if pending and not self.client_gone:
            self.to_client += pending

    @staticmethod
    def _send(sock: socket.socket, buffer: bytearray) -> bool:
        """Send what the socket takes now; False when the peer is gone."""
        if not buffer:
            return True
        try:
            sent = sock.send(buffer[: _RECV_SIZE * 4])
        except (BlockingIOError, InterruptedError):
            return True
        except OSError:
            return False
        del buffer[:sent]
        return True


class TlsGateProxy:
    """TLS + password + IP allow list in front of one instance's plain RESP port.

    ``start()`` binds the listening socket (the preferred port if it is free, else any free one)
    and starts the loop thread; ``close()`` stops it and closes every socket. ``set_allow_list``
    may be called from any thread and applies to connections accepted afterwards, as on Render
    where the allow list gates new connections.
    """

    def __init__(
        self,
        *,
        name: str,
        host: str,
        backend_port: int,
        context: ssl.SSLContext,
        username: str,
        allow_list: tuple[Network, ...],
        max_connections: int = _DEFAULT_MAX_CONNECTIONS,
    ) -> None:
        self.name = name
        self.host = host
        self.backend_port = backend_port
        self.context = context
        self.username = username.encode()
        self._allow_list = allow_list
        self._max_connections = max_connections
        self._selector = selectors.DefaultSelector()
        self._listener: socket.socket | None = None
        self._port = 0
        self._wake_reader, self._wake_writer = socket.socketpair()
        self._wake_reader.setblocking(False)
        self._wake_writer.setblocking(False)
        self._connections: set[_Connection] = set()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._closed = False

    @property
    def port(self) -> int:
        """The listening port (0 before ``start()``)."""
        return self._port

    @property
    def allow_list(self) -> tuple[Network, ...]:
        return self._allow_list

    def set_allow_list(self, networks: tuple[Network, ...]) -> None:
        # A single attribute swap: the loop thread reads either the old or the new tuple.
        self._allow_list = networks

    def start(self, preferred_port: int = 0) -> int:
        """Listen and serve; returns the port."""
        listener = socket.socket(socket_family(self.host), socket.SOCK_STREAM)
        try:
            # Lets a resumed instance take back its old port while connections the gate closed
            # are still in TIME_WAIT; it does not allow two listeners on one port.
            listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                listener.bind((self.host, preferred_port))
            except OSError:
                if not preferred_port:
                    raise
                listener.bind((self.host, 0))
            listener.listen(128)
            listener.setblocking(False)
        except BaseException:
            listener.close()
            raise
        self._listener = listener
        self._port = int(listener.getsockname()[1])
        self._selector.register(listener, selectors.EVENT_READ, None)
        self._selector.register(self._wake_reader, selectors.EVENT_READ, None)
        self._thread = threading.Thread(target=self._run, name=f"kv-gate-{self.name}", daemon=True)
        self._thread.start()
        return self.port

    def close(self) -> None:
        """Stop the loop and close the listener and every connection; idempotent."""
        if self._closed:
            return
        self._closed = True
        self._stopping.set()
        with contextlib.suppress(OSError):
            self._wake_writer.send(b"\0")
        if self._thread is not None:
            self._thread.join(timeout=10)
            if self._thread.is_alive():  # pragma: no cover - the loop never blocks that long
                _log.warning("%s: gate thread did not stop in time", self.name)
        else:
            self._release()

    def forget(self, sock: socket.socket, mask: int) -> None:
        """Unregister a socket that is about to be closed."""
        if mask:
            with contextlib.suppress(KeyError, ValueError):
                self._selector.unregister(sock)

    # -- loop -----------------------------------------------------------------------------------

    def _run(self) -> None:
        try:
            while not self._stopping.is_set():
                events = self._selector.select(self._timeout())
                for key, mask in events:
                    if key.fileobj is self._listener:
                        self._accept()
                    elif key.fileobj is self._wake_reader:
                        with contextlib.suppress(OSError):
                            self._wake_reader.recv(64)
                    else:
                        connection, side = key.data
                        self._dispatch(connection, side, key.fileobj, mask)
                now = time.monotonic()
                for connection in list(self._connections):
                    connection.expire(now)
                    self._sync(connection)
        except Exception:  # pragma: no cover - a bug must not leave sockets open
            _log.exception("%s: gate loop failed", self.name)
        finally:
            self._release()

    def _dispatch(self, connection: _Connection, side: str, fileobj: object, mask: int) -> None:
        try:
            if connection.closed:
                pass
            elif side == "client":
                if mask & selectors.EVENT_WRITE and not connection.closed:
                    connection.on_client_writable()
                if mask & selectors.EVENT_READ and not connection.closed:
                    connection.on_client_readable()
            # A backend socket dropped earlier in this batch may have been replaced by a new
            # one (a retried AUTH): its stale events must not be taken for the new socket's.
            elif fileobj is connection.backend:
                if mask & selectors.EVENT_WRITE:
                    connection.on_backend_writable()
                if mask & selectors.EVENT_READ and fileobj is connection.backend:
                    connection.on_backend_readable()
        except Exception:  # pragma: no cover - one broken connection must not stop the gate
            _log.exception("%s: closing a connection after an unexpected error", self.name)
            connection.abort()
        self._sync(connection)

    def _sync(self, connection: _Connection) -> None:
        """Bring the selector in line with what the connection wants next."""
        if connection.closed:
            self._connections.discard(connection)
            return
        connection.client_mask = self._interest(
            connection.client,
            connection.client_mask,
            connection.client_interest(),
            connection,
            "client",
        )
        if connection.backend is not None:
            connection.backend_mask = self._interest(
                connection.backend,
                connection.backend_mask,
                connection.backend_interest(),
                connection,
                "backend",
            )

    def _interest(
        self, sock: socket.socket, current: int, wanted: int, connection: _Connection, side: str
    ) -> int:
        if wanted == current:
            return current
        if current == 0:
            self._selector.register(sock, wanted, (connection, side))
        elif wanted == 0:
            self._selector.unregister(sock)
        else:
            self._selector.modify(sock, wanted, (connection, side))
        return wanted

    def _accept(self) -> None:
        assert self._listener is not None
        for _ in range(_MAX_ACCEPTS_PER_WAKEUP):
            try:
                sock, address = self._listener.accept()
            except (BlockingIOError, InterruptedError):
                return
            except OSError as error:  # e.g. EMFILE: try again on the next wake-up
                _log.warning("%s: accept failed: %s", self.name, error)
                return
            if len(self._connections) >= self._max_connections:
                sock.close()
                continue
            sock.setblocking(False)
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            admitted = address_admitted(str(address[0]), self._allow_list)
            connection = _Connection(self, sock, admitted)
            self._connections.add(connection)
            self._sync(connection)

    def _timeout(self) -> float:
        deadlines = [c.deadline for c in self._connections if c.deadline is not None]
        if not deadlines:
            return 1.0
        return min(max(min(deadlines) - time.monotonic(), 0.0), 1.0)

    def _release(self) -> None:
        for connection in list(self._connections):
            connection.abort()
        self._connections.clear()
        if self._listener is not None:
            with contextlib.suppress(KeyError, ValueError):
                self._selector.unregister(self._listener)
            self._listener.close()
        self._selector.close()
        self._wake_reader.close()
        self._wake_writer.close()


def socket_family(host: str) -> socket.AddressFamily:
    """The address family of a numeric host: IPv6 when it has a colon, else IPv4."""
    return socket.AF_INET6 if ":" in host else socket.AF_INET
