"""HTTP plumbing only: serve a WSGI app with werkzeug's threaded server.

:class:`ServerThread` binds ``host``/``port`` (port 0 = a free port chosen by the OS) when it
is created, so the URL is known before serving starts (a port in use raises ``OSError``, not
werkzeug's ``SystemExit``), and serves in a background thread until
:meth:`ServerThread.stop`. The CLI uses the same class and keeps its main thread free to handle
signals. ``stop`` also closes open connections and waits for request threads, but only up to
``join_timeout`` seconds: a handler stuck in a long wait must not keep Ctrl-C or SIGTERM from
stopping the emulator. Request threads are daemons for the same reason (interpreter exit does not
wait for them); the emulator interrupts its own waits (fault delays) before stopping the server,
so in practice every thread has ended when ``stop`` returns.
"""

from __future__ import annotations

import contextlib
import logging
import socket
import threading
import time
from typing import Any

from werkzeug.serving import ThreadedWSGIServer, WSGIRequestHandler

logger = logging.getLogger("pulumi_render_kv.emulator.server")


class _BindFailed(Exception):
    """Carries a bind/listen ``OSError`` past werkzeug, which would turn it into ``sys.exit(1)``."""

    def __init__(self, error: OSError) -> None:
        super().__init__(error)
        self.error = error


class _Server(ThreadedWSGIServer):
    """werkzeug's threaded server plus a registry of open client connections."""

    # Daemons, and socketserver's unbounded join in server_close is off: this class keeps its own
    # list of request threads and ServerThread.stop joins them with a deadline.
    daemon_threads = True
    block_on_close = False

    def __init__(self, host: str, port: int, app: Any) -> None:
        self._connections: set[socket.socket] = set()
        self._connections_lock = threading.Lock()
        self._request_threads: list[threading.Thread] = []
        try:
            super().__init__(host, port, app, handler=_RequestHandler)
        except _BindFailed as failed:
            # werkzeug has closed the socket (its `except BaseException` path) by now.
            error = failed.error
            raise OSError(
                error.errno,
                f"The emulator cannot listen on {host}:{port}: {error.strerror or error}. "
                "Pass another port (0 picks a free one) or stop the program that holds it.",
            ) from error

    # werkzeug's BaseWSGIServer catches an OSError from these two, prints it and calls
    # sys.exit(1): a SystemExit that skips callers' cleanup. Smuggle it past as _BindFailed.
    def server_bind(self) -> None:
        try:
            super().server_bind()
        except OSError as error:
            raise _BindFailed(error) from error

    def server_activate(self) -> None:
        try:
            super().server_activate()
        except OSError as error:
            raise _BindFailed(error) from error

    def process_request(self, request: Any, client_address: Any) -> None:
        """Handle the connection on a new daemon thread that :meth:`join_requests` can wait for."""
        thread = threading.Thread(
            target=self.process_request_thread, args=(request, client_address), daemon=True
        )
        with self._connections_lock:
            self._request_threads = [t for t in self._request_threads if t.is_alive()]
            self._request_threads.append(thread)
        thread.start()

    def join_requests(self, timeout: float) -> list[threading.Thread]:
        """Wait up to ``timeout`` seconds in all for request threads; returns those still alive."""
        deadline = time.monotonic() + timeout
        with self._connections_lock:
            threads = list(self._request_threads)
        for thread in threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        return [thread for thread in threads if thread.is_alive()]

    def track(self, connection: socket.socket) -> None:
        """Remember an open client connection."""
        with self._connections_lock:
            self._connections.add(connection)

    def untrack(self, connection: socket.socket) -> None:
        """Forget a closed client connection."""
        with self._connections_lock:
            self._connections.discard(connection)

    def close_connections(self) -> None:
        """Shut down open (idle keep-alive) connections so their handler threads end."""
        with self._connections_lock:
            connections = list(self._connections)
        for connection in connections:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)


class _RequestHandler(WSGIRequestHandler):
    """Logs requests at DEBUG and registers its connection with the server."""

    server: _Server

    def setup(self) -> None:
        super().setup()
        self.server.track(self.connection)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            self.server.untrack(self.connection)

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        logger.debug("%s %s", self.requestline, code)

    def log(self, type: str, message: str, *args: Any) -> None:
        logger.debug(message, *args)


class ServerThread:
    """A threaded werkzeug server on its own thread."""

    def __init__(
        self, app: Any, host: str = "127.0.0.1", port: int = 0, *, join_timeout: float = 5.0
    ) -> None:
        self._server = _Server(host, port, app)
        self._join_timeout = join_timeout
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.1},
            name=f"render-kv-emulator:{self.port}",
            daemon=True,
        )
        self._started = False
        self._stopped = False

    @property
    def host(self) -> str:
        """The address the socket is bound to."""
        return str(self._server.server_address[0])

    @property
    def port(self) -> int:
        """The bound port (the free one the OS chose when asked for 0)."""
        return int(self._server.server_port)

    def start(self) -> None:
        """Start serving in the background."""
        if self._started:
            raise RuntimeError("server already started")
        self._thread.start()
        # Only now: stop() waits for serve_forever to finish, which a thread never started
        # would never do.
        self._started = True

    def stop(self) -> None:
        """Stop serving, close connections and the socket, join request threads; idempotent."""
        if self._stopped:
            return
        self._stopped = True
        if self._started:
            self._server.shutdown()
            self._thread.join(timeout=10)
        self._server.close_connections()
        self._server.server_close()
        if stuck := self._server.join_requests(self._join_timeout):
            logger.warning(
                "stopped with %d request thread(s) still running after %.0f s; not waiting",
                len(stuck),
                self._join_timeout,
            )
