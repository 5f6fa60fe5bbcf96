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
import logging
import socket

from ._loop_server import LoopServer
from ._proxy import _BUFFER_LIMIT, _close, _Login, _pipe
from .plane import Serving

_log = logging.getLogger(__name__)


class ReadinessGate(LoopServer):
    """A plain TCP relay to ``backend_port`` that takes connections only while ``serving()``.

    ``start()`` binds (the preferred port if free, else any free one) and starts the loop thread;
    ``close()`` stops accepting, drops every connection and joins the thread.
    """

    thread_prefix = "kv-ready"
    role = "readiness gate"

    def __init__(self, *, name: str, host: str, backend_port: int, serving: Serving) -> None:
        super().__init__(name=name, host=host)
        self.backend_port = backend_port
        self._serving = serving

    async def _start_server(self, listener: socket.socket) -> asyncio.Server:
        return await asyncio.start_server(self._client, sock=listener, limit=_BUFFER_LIMIT)

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
