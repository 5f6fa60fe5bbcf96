"""The external endpoint of an emulated Key Value instance: a TLS gate in front of its plain port.

What the gate admits and answers is decided in :mod:`._gate_policy`, and requests are framed by
:mod:`.resp`; this module is the plumbing: an ``asyncio`` TLS server (``asyncio.start_server``
with the data plane's ``ssl.SSLContext``) that, per client,

1. takes the allow-list verdict when the TLS session is up (so a new allow list applies to new
   connections, as on Render);
2. answers requests with the policy's replies until the policy says to authenticate, then sends
   the credentials on a fresh backend connection and reads the server's first reply line;
3. once the server accepted them, pipes bytes both ways without looking at them.

Each gate runs one event loop in one background thread (``kv-gate-<instance>``): the threads are
bounded by the number of instances, not clients. Stream back-pressure (``drain()``, the readers'
limits) keeps either side from buffering without bound. ``close()`` stops accepting, cancels
every client (closing both of its sockets) and joins the thread.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import logging
import socket
import ssl
import threading
from typing import NamedTuple

from . import resp
from ._gate_policy import (
    BACKEND_DOWN,
    MAX_CLIENTS,
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
from .plane import Serving

_log = logging.getLogger(__name__)

_RECV_SIZE = 64 * 1024
# Per-stream read buffer above which asyncio stops reading that side (and the longest line the
# server's reply to the credentials may have).
_BUFFER_LIMIT = 1024 * 1024
_HANDSHAKE_TIMEOUT = 10.0
_PREAUTH_TIMEOUT = 30.0
# How long a closing connection may take: the server's last replies after the client hung up,
# and the TLS close_notify exchange.
_CLOSE_TIMEOUT = 5.0
_START_TIMEOUT = 10.0
_DEFAULT_MAX_CONNECTIONS = 256


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
        serving: Serving | None = None,
    ) -> None:
        self.name = name
        self.host = host
        self.backend_port = backend_port
        self.context = context
        self.username = username.encode()
        self._allow_list = allow_list
        self._max_connections = max_connections
        # The instance's readiness (see ._ready_gate): no client is served while it is False.
        self._serving = serving
        self._port = 0
        # One task per client, from the moment its TLS session is up. Only the loop thread
        # changes it; tests read its size from outside.
        self._connections: set[asyncio.Task[None]] = set()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._stopping = False
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
        listener = _listen(self.host, preferred_port)
        self._port = int(listener.getsockname()[1])
        ready: concurrent.futures.Future[None] = concurrent.futures.Future()
        self._thread = threading.Thread(
            target=self._run, args=(listener, ready), name=f"kv-gate-{self.name}", daemon=True
        )
        self._thread.start()
        try:
            ready.result(timeout=_START_TIMEOUT)
        except BaseException:
            self.close()
            raise
        return self.port

    def close(self) -> None:
        """Stop the loop and close the listener and every connection; idempotent."""
        if self._closed:
            return
        self._closed = True
        if self._thread is None:
            return
        loop, stop = self._loop, self._stop
        if loop is not None and stop is not None:
            # The loop may have ended already (it failed to start): nothing left to wake.
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(stop.set)
        self._thread.join(timeout=_START_TIMEOUT)
        if self._thread.is_alive():  # pragma: no cover - the loop never blocks that long
            _log.warning("%s: gate thread did not stop in time", self.name)

    # -- the loop thread --------------------------------------------------------------------------

    def _run(self, listener: socket.socket, ready: concurrent.futures.Future[None]) -> None:
        try:
            asyncio.run(self._serve(listener, ready))
        except BaseException as error:  # pragma: no cover - a bug must not hang start()
            _log.exception("%s: gate loop failed", self.name)
            if not ready.done():
                ready.set_exception(error)
        finally:
            listener.close()  # already closed by the server unless it never started

    async def _serve(self, listener: socket.socket, ready: concurrent.futures.Future[None]) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        try:
            server = await asyncio.start_server(
                self._client,
                sock=listener,
                ssl=self.context,
                ssl_handshake_timeout=_HANDSHAKE_TIMEOUT,
                ssl_shutdown_timeout=_CLOSE_TIMEOUT,
                limit=_BUFFER_LIMIT,
            )
        except BaseException as error:
            ready.set_exception(error)
            return
        ready.set_result(None)
        await self._stop.wait()
        self._stopping = True
        server.close()
        # Cancel every client until none is left: a client whose handshake completed during the
        # last round has a task that was not in the set yet.
        current = asyncio.current_task()
        while tasks := asyncio.all_tasks() - {current}:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
        await server.wait_closed()

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """One client, from its TLS session being up to both of its sockets being closed."""
        task = asyncio.current_task()
        assert task is not None
        self._connections.add(task)
        login: _Login | None = None
        try:
            if self._stopping:
                return
            if self._serving is not None and not self._serving():
                writer.transport.abort()  # dropped: the instance does not answer yet
                return
            if len(self._connections) > self._max_connections:
                writer.write(MAX_CLIENTS)
                return
            # Read now, not when the gate started: a new allow list applies to new connections.
            peer = writer.get_extra_info("peername") or ("",)
            admitted = address_admitted(str(peer[0]), self._allow_list)
            parser = resp.RequestParser(max_args=PREAUTH_MAX_ARGS, max_bulk=PREAUTH_MAX_BULK)
            session = Preauth(self.username, admitted=admitted)
            async with asyncio.timeout(_PREAUTH_TIMEOUT):
                login = await self._log_in(reader, writer, session, parser)
            if login is not None:
                await _pipe(reader, writer, login, parser.take_rest(), serving=self._serving)
        except (OSError, TimeoutError, EOFError, ValueError) as error:
            # The client or the server went away (or sent garbage TLS); nothing to answer.
            _log.debug("%s: client closed: %r", self.name, error)
        except Exception:  # pragma: no cover - one broken connection must not stop the gate
            _log.exception("%s: closing a connection after an unexpected error", self.name)
        finally:
            try:
                if login is not None:
                    login.writer.transport.abort()  # closes its socket on the loop's next turn
                await _close(writer, graceful=not self._stopping)
            finally:
                self._connections.discard(task)

    async def _log_in(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        session: Preauth,
        parser: resp.RequestParser,
    ) -> _Login | None:
        """Answer requests until the server accepts credentials; None when the client is done."""
        while True:
            try:
                args = parser.next()
            except resp.ProtocolError as error:
                writer.write(protocol_error(error))
                return None
            if args is None:
                if parser.buffered > PREAUTH_LIMIT:
                    writer.write(TOO_BIG)
                    return None
                data = await reader.read(_RECV_SIZE)
                if not data:  # every complete request was answered: close
                    return None
                parser.feed(data)
                continue
            if not args:
                continue
            decision = session.on_request(args)
            if not isinstance(decision, Reply):
                verdict = await self._authenticate(decision.request)
                if isinstance(verdict, _Login):
                    return verdict
                if verdict is None:
                    decision = Reply(BACKEND_DOWN, close=True)
                else:
                    decision = session.on_server_refusal(verdict)
            writer.write(decision.data)
            if decision.close:
                return None
            await writer.drain()

    async def _authenticate(self, request: bytes) -> _Login | bytes | None:
        """Send the credentials on a new backend connection and read the server's verdict.

        Returns the logged-in connection, the server's error line when it refused them, or None
        when the server is not reachable.
        """
        try:
            reader, writer = await asyncio.open_connection(
                self.host, self.backend_port, limit=_BUFFER_LIMIT
            )
        except OSError:
            return None
        try:
            writer.write(request)
            # The first line tells: an error is one line; any other reply (+OK, or HELLO's map
            # header) is relayed as it comes and the rest of it is piped.
            line = await reader.readline()
        except (OSError, ValueError):
            line = b""
        except BaseException:  # cancelled (the gate stops, the pre-AUTH time is up)
            writer.transport.abort()
            raise
        if line[:1] == b"-" or not line.endswith(b"\n"):
            # Refused (or gone): this connection is still logged in as the password-less
            # default user, so it is dropped, and the client stays unauthenticated.
            await _close(writer, graceful=False)
            return line if line.endswith(b"\n") else None
        return _Login(reader, writer, line)


class _Login(NamedTuple):
    """A backend connection the server accepted the client's credentials on."""

    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter
    reply: bytes  # the first line of the server's answer, not yet sent to the client


async def _pipe(
    reader: asyncio.StreamReader,
    writer: asyncio.StreamWriter,
    backend: _Login,
    pipelined: bytes,
    *,
    serving: Serving | None = None,
) -> bool:
    """Relay both ways until the server closes (or the client left and the server had time).

    The bytes the client pipelined behind its AUTH go to the server before the AUTH reply goes
    to the client: a client that writes ``AUTH ...; SET k v`` and hangs up gets its SET done,
    as with Redis, even though the reply makes its socket answer with a reset.

    A request that arrives once ``serving()`` is False (a restart began) is not relayed: the
    connection is dropped, as a restarting server drops its clients. Returns False then, True
    when the relay ended normally.
    """
    backend.writer.write(pipelined)
    writer.write(backend.reply)
    upstream = asyncio.create_task(_relay(reader, backend.writer, half_close=True, serving=serving))
    downstream = asyncio.create_task(_relay(backend.reader, writer, half_close=False))
    try:
        await asyncio.wait({upstream, downstream}, return_when=asyncio.FIRST_COMPLETED)
        if upstream.done() and not upstream.cancelled() and upstream.result() is _DROPPED:
            return False
        if not downstream.done():
            # The client is done sending; the server has seen the end (half-close) and answers
            # what it already received, then closes.
            await asyncio.wait({downstream}, timeout=_CLOSE_TIMEOUT)
    finally:
        for task in (upstream, downstream):
            task.cancel()
        await asyncio.gather(upstream, downstream, return_exceptions=True)
    return True


# What _relay returns when it stopped because the instance stopped serving.
_DROPPED = "dropped"


async def _relay(
    source: asyncio.StreamReader,
    sink: asyncio.StreamWriter,
    *,
    half_close: bool,
    serving: Serving | None = None,
) -> str | None:
    """Copy until ``source`` ends; a failing ``sink`` only stops the copying, not the reading.

    The client side may reset after hanging up; what the server still sends is then read and
    dropped, so the server is never blocked writing to a dead client. With ``serving``, data
    read once it is False is not copied, and :data:`_DROPPED` is returned.
    """
    sink_alive = True
    with contextlib.suppress(OSError):
        while data := await source.read(_RECV_SIZE):
            if serving is not None and not serving():
                return _DROPPED
            # A closing transport does not raise on write, it drops the bytes and logs
            # "socket.send() raised exception" after a few: stop writing to it instead.
            sink_alive = sink_alive and not sink.is_closing()
            if not sink_alive:
                continue
            try:
                sink.write(data)
                await sink.drain()
            except OSError:
                sink_alive = False
    if half_close and sink_alive and sink.can_write_eof():
        with contextlib.suppress(OSError):
            sink.write_eof()
            await sink.drain()
    return None


async def _close(writer: asyncio.StreamWriter, *, graceful: bool) -> None:
    """Close a stream: gracefully (pending bytes, then TLS close_notify) unless told otherwise.

    Waits until the socket is closed, so that nothing is left open once the loop ends; when a
    graceful close takes too long, or is cancelled because the gate stops, the socket is
    aborted instead.
    """
    if graceful:
        writer.close()
        try:
            async with asyncio.timeout(_CLOSE_TIMEOUT):
                await writer.wait_closed()
        except Exception:  # noqa: S110 - a peer that fails its half of the close gets aborted
            pass
        except BaseException:
            writer.transport.abort()
            raise
        else:
            return
    writer.transport.abort()
    with contextlib.suppress(Exception):
        await writer.wait_closed()


def _listen(host: str, preferred_port: int) -> socket.socket:
    listener = socket.socket(socket_family(host), socket.SOCK_STREAM)
    try:
        # Lets a resumed instance take back its old port while connections the gate closed are
        # still in TIME_WAIT; it does not allow two listeners on one port.
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            listener.bind((host, preferred_port))
        except OSError:
            if not preferred_port:
                raise
            listener.bind((host, 0))
        listener.listen(128)
        listener.setblocking(False)
    except BaseException:
        listener.close()
        raise
    return listener


def socket_family(host: str) -> socket.AddressFamily:
    """The address family of a numeric host: IPv6 when it has a colon, else IPv4."""
    return socket.AF_INET6 if ":" in host else socket.AF_INET
