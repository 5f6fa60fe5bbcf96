"""The internal endpoint of an emulated Key Value instance: a plain relay that follows readiness.

Render's instance does not answer while it is ``creating``, restarting or suspended; a server
process that is up from the first second would. So the internal URL's port is this relay, not
the server's own: each new connection asks the instance's ``serving`` predicate (the backend's
lifecycle, read at that moment -- there are no timers to flip anything) and is dropped when the
instance is not available; an admitted one is piped to the server byte for byte, and dropped
at its next request once the instance stops being available (a restart began), as a restart
drops a real server's clients. The data plane's own admin connections use the server's port.

One ``asyncio`` loop on one background thread (``kv-ready-<instance>``) per instance, like the
TLS gate (:mod:`._proxy`), whose piping and closing this reuses.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import logging
import socket
import threading

from ._proxy import _BUFFER_LIMIT, _START_TIMEOUT, _close, _listen, _Login, _pipe
from .plane import Serving

_log = logging.getLogger(__name__)


class ReadinessGate:
    """A plain TCP relay to ``backend_port`` that takes connections only while ``serving()``.

    ``start()`` binds (the preferred port if free, else any free one) and starts the loop thread;
    ``close()`` stops accepting, drops every connection and joins the thread.
    """

    def __init__(self, *, name: str, host: str, backend_port: int, serving: Serving) -> None:
        self.name = name
        self.host = host
        self.backend_port = backend_port
        self._serving = serving
        self._port = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._stopping = False
        self._thread: threading.Thread | None = None
        self._closed = False

    @property
    def port(self) -> int:
        """The listening port (0 before ``start()``)."""
        return self._port

    def start(self, preferred_port: int = 0) -> int:
        """Listen and relay; returns the port."""
        listener = _listen(self.host, preferred_port)
        self._port = int(listener.getsockname()[1])
        ready: concurrent.futures.Future[None] = concurrent.futures.Future()
        self._thread = threading.Thread(
            target=self._run, args=(listener, ready), name=f"kv-ready-{self.name}", daemon=True
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
            with contextlib.suppress(RuntimeError):  # the loop already ended
                loop.call_soon_threadsafe(stop.set)
        self._thread.join(timeout=_START_TIMEOUT)
        if self._thread.is_alive():  # pragma: no cover - the loop never blocks that long
            _log.warning("%s: readiness gate thread did not stop in time", self.name)

    def _run(self, listener: socket.socket, ready: concurrent.futures.Future[None]) -> None:
        try:
            asyncio.run(self._serve(listener, ready))
        except BaseException as error:  # pragma: no cover - a bug must not hang start()
            _log.exception("%s: readiness gate loop failed", self.name)
            if not ready.done():
                ready.set_exception(error)
        finally:
            listener.close()

    async def _serve(self, listener: socket.socket, ready: concurrent.futures.Future[None]) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        try:
            server = await asyncio.start_server(self._client, sock=listener, limit=_BUFFER_LIMIT)
        except BaseException as error:
            ready.set_exception(error)
            return
        ready.set_result(None)
        await self._stop.wait()
        self._stopping = True
        server.close()
        current = asyncio.current_task()
        while tasks := asyncio.all_tasks() - {current}:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
        await server.wait_closed()

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        backend: _Login | None = None
        graceful = False
        try:
            if self._stopping or not self._serving():
                return  # dropped (a reset): the instance does not answer yet
            try:
                server_reader, server_writer = await asyncio.open_connection(
                    self.host, self.backend_port, limit=_BUFFER_LIMIT
                )
            except OSError:
                return  # the server is down: as good as a refused connection
            backend = _Login(server_reader, server_writer, b"")
            graceful = await _pipe(reader, writer, backend, b"", serving=self._serving)
        except (OSError, TimeoutError, EOFError, ValueError) as error:
            _log.debug("%s: internal client closed: %r", self.name, error)
        except Exception:  # pragma: no cover - one broken connection must not stop the gate
            _log.exception("%s: closing an internal connection after an error", self.name)
        finally:
            if backend is not None:
                backend.writer.transport.abort()
            await _close(writer, graceful=graceful and not self._stopping)
