"""A TCP listener served by one ``asyncio`` loop on one background thread.

Both endpoints of an emulated instance are one: the TLS gate (:mod:`._proxy`, external) and the
readiness relay (:mod:`._ready_gate`, internal). Threads are bounded by instances, not clients.
``start()`` binds (the preferred port if free, else any free one) and returns once the loop
accepts; ``close()`` stops accepting, cancels every client (closing its sockets) and joins the
thread. A subclass says how to serve the listener and what to do with each client.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import logging
import socket
import threading

_log = logging.getLogger(__name__)

START_TIMEOUT = 10.0


class LoopServer:
    """The thread, loop and shutdown of one listener; subclasses supply ``_start_server``."""

    # What the thread is called (``<prefix>-<instance>``) and what the logs call the loop.
    thread_prefix = "kv-loop"
    role = "loop"

    def __init__(self, *, name: str, host: str) -> None:
        self.name = name
        self.host = host
        self._port = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        # Set once close() began: a client accepted from then on is dropped at once.
        self._stopping = False
        self._thread: threading.Thread | None = None
        self._closed = False

    @property
    def port(self) -> int:
        """The listening port (0 before ``start()``)."""
        return self._port

    def start(self, preferred_port: int = 0) -> int:
        """Listen and serve; returns the port."""
        listener = listen(self.host, preferred_port)
        self._port = int(listener.getsockname()[1])
        ready: concurrent.futures.Future[None] = concurrent.futures.Future()
        self._thread = threading.Thread(
            target=self._run,
            args=(listener, ready),
            name=f"{self.thread_prefix}-{self.name}",
            daemon=True,
        )
        self._thread.start()
        try:
            ready.result(timeout=START_TIMEOUT)
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
        self._thread.join(timeout=START_TIMEOUT)
        if self._thread.is_alive():  # pragma: no cover - the loop never blocks that long
            _log.warning("%s: %s thread did not stop in time", self.name, self.role)

    async def _start_server(self, listener: socket.socket) -> asyncio.Server:
        raise NotImplementedError

    def _run(self, listener: socket.socket, ready: concurrent.futures.Future[None]) -> None:
        try:
            asyncio.run(self._serve(listener, ready))
        except BaseException as error:  # pragma: no cover - a bug must not hang start()
            _log.exception("%s: %s loop failed", self.name, self.role)
            if not ready.done():
                ready.set_exception(error)
        finally:
            listener.close()  # already closed by the server unless it never started

    async def _serve(self, listener: socket.socket, ready: concurrent.futures.Future[None]) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        try:
            server = await self._start_server(listener)
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


def listen(host: str, preferred_port: int) -> socket.socket:
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
