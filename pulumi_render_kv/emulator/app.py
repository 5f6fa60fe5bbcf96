"""``Emulator``: the backend, rate limiter, control plane, routes and server put together."""

from __future__ import annotations

import logging
import shutil
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, Self

from .backend import Backend
from .control import ControlPlane, FaultInjector, RequestLog
from .lifecycle import LifecycleSettings
from .maintenance import DEFAULT_TYPE
from .plane import DataPlaneLike
from .ratelimit import RateLimitSettings, RateLimitWindows
from .records import Owner
from .routes import Api
from .server import ServerThread
from .store import FILE_NAME as STATE_FILE_NAME
from .store import StateStore

if TYPE_CHECKING:
    from .dataplane import DataPlane

logger = logging.getLogger("pulumi_render_kv.emulator")

DEFAULT_OWNER_ID = "tea-emulator000000000000"


@dataclass(frozen=True)
class EmulatorSettings:
    """Everything an emulator run can be told.

    ``clock`` (monotonic seconds) drives status progressions and, offset to the real epoch at
    construction, the timestamps and rate-limit windows, so a test that advances it sees every
    time-based behaviour move together. ``api_key=None`` accepts any non-empty bearer token.
    ``data_plane=False`` runs no server processes (connection info then points at placeholder
    hosts). ``data_dir`` (default: a temporary directory, removed on stop) holds the servers' data
    and, when given, the emulator's own state (``store.FILE_NAME``, SQLite): an emulator started
    on a data dir used before brings back its workspaces, environments and instances, each
    server restarted on its data and on its old ports when they are free (so connection strings
    handed out before stay valid). ``null_empty_allow_list`` reproduces Render's
    ``"ipAllowList": null`` for empty lists.
    ``host`` is where the HTTP API listens; the data plane's servers always listen on 127.0.0.1.
    """

    host: str = "127.0.0.1"
    port: int = 0
    api_key: str | None = None
    owner_id: str = DEFAULT_OWNER_ID
    owner_name: str = "Emulator Workspace"
    owner_email: str = "owner@example.com"
    data_dir: Path | None = None
    create_delay: float = 0.0
    restart_delay: float = 0.0
    # Seconds reads still say `suspended` after a resume's 202 (Render's resume is asynchronous).
    resume_delay: float = 0.0
    data_plane: bool = True
    rate_limits: RateLimitSettings = field(default_factory=RateLimitSettings)
    clock: Callable[[], float] | None = None
    status_on_create: str = "unknown"
    null_empty_allow_list: bool = True
    server_binary: str | None = None
    # None: fault delays wait on the emulator's stop event, so stop() interrupts them.
    sleep: Callable[[float], object] | None = None


class Emulator:
    """A local Render API for Key Value instances; see the package docstring."""

    def __init__(
        self, settings: EmulatorSettings | None = None, *, data_plane: DataPlaneLike | None = None
    ) -> None:
        """``data_plane`` overrides the real one (tests pass a fake).

        On any failure everything made so far (server processes, the temporary data directory
        with its CA key) is cleaned up before the exception propagates.
        """
        self.settings = settings = settings or EmulatorSettings()
        clock = settings.clock or time.monotonic
        epoch_offset = time.time() - clock()
        self._wall_clock: Callable[[], float] = lambda: epoch_offset + clock()
        self._temp_dir: Path | None = None
        self._plane: DataPlaneLike | None = data_plane
        self._ca_cert_path: Path | None = None  # set when the emulator runs its own data plane
        self._store: StateStore | None = None
        self._server: ServerThread | None = None
        self._stopped = False
        self._stopping = threading.Event()
        try:
            if self._plane is None and settings.data_plane:
                real_plane = self._real_data_plane(settings)
                self._plane = real_plane
                self._ca_cert_path = real_plane.ca_cert_path
            if settings.data_dir is not None:
                settings.data_dir.mkdir(parents=True, exist_ok=True)
                self._store = StateStore(settings.data_dir / STATE_FILE_NAME)
            self.backend = Backend(
                owner=Owner(
                    id=settings.owner_id, name=settings.owner_name, email=settings.owner_email
                ),
                lifecycle=LifecycleSettings(
                    create_delay=settings.create_delay,
                    restart_delay=settings.restart_delay,
                    status_on_create=settings.status_on_create,
                    resume_delay=settings.resume_delay,
                ),
                clock=clock,
                wall_clock_ns=lambda: int(self._wall_clock() * 1_000_000_000),
                data_plane=self._plane,
                store=self._store,
            )
            self.rate_limiter = RateLimitWindows(settings.rate_limits, self._wall_clock)
            self.faults = FaultInjector()
            self.request_log = RequestLog()
            control = ControlPlane(
                backend=self.backend, faults=self.faults, log=self.request_log, reset=self.reset
            )
            self.wsgi_app = Api(
                backend=self.backend,
                limiter=self.rate_limiter,
                faults=self.faults,
                log=self.request_log,
                control=control,
                api_key=settings.api_key,
                null_empty_allow_list=settings.null_empty_allow_list,
                sleep=settings.sleep,
                stopping=self._stopping,
            )
        except BaseException:
            self.stop()
            raise

    def _real_data_plane(self, settings: EmulatorSettings) -> DataPlane:
        data_dir = settings.data_dir
        if data_dir is None:
            # Recorded before the data plane checks its binary: stop() removes it if that fails.
            self._temp_dir = data_dir = Path(tempfile.mkdtemp(prefix="render-kv-emulator-"))
        # Not settings.host: the data plane stays on loopback even when the API is served on
        # 0.0.0.0 (a password-less Redis must not face the network).
        # Imported here: the data plane loads redis and the TLS code, which an emulator without
        # servers (data_plane=False) never needs.
        from .dataplane import DataPlane  # noqa: PLC0415

        return DataPlane(data_dir, server_binary=settings.server_binary)

    # -- serving --

    def start(self) -> Self:
        """Serve on ``settings.host``/``settings.port`` (0 = a free port) in a background thread.

        If serving cannot start (``OSError`` for a port in use), the emulator is stopped --
        server processes and the temporary data directory go -- before the error propagates,
        since ``with Emulator(...)`` never reaches ``__exit__`` when ``__enter__`` raises.
        """
        if self._server is not None:
            raise RuntimeError("emulator already started")
        if self._stopped:
            raise RuntimeError("a stopped emulator cannot be started again")
        try:
            self._server = ServerThread(self.wsgi_app, self.settings.host, self.settings.port)
            self._server.start()
        except BaseException:
            self.stop()
            raise
        logger.info("Render emulator listening on %s", self.url)
        return self

    @property
    def port(self) -> int:
        """The port being served (after ``start``)."""
        if self._server is None:
            raise RuntimeError("emulator not started")
        return self._server.port

    @property
    def url(self) -> str:
        """The API base URL, ``http://HOST:PORT/v1`` (after ``start``)."""
        host = self.settings.host
        if ":" in host:
            host = f"[{host}]"
        return f"http://{host}:{self.port}/v1"

    def stop(self) -> None:
        """Stop the HTTP server and every data-plane process; idempotent."""
        if self._stopped:
            return
        self._stopped = True
        # First: requests waiting in an injected delay wake up and answer 503 instead of
        # holding the server's stop (and Ctrl-C) for as long as the delay lasts.
        self._stopping.set()
        try:
            if self._server is not None:
                self._server.stop()
        finally:
            try:
                if self._plane is not None:
                    self._plane.close()
            finally:
                if self._store is not None:
                    self._store.close()
                if self._temp_dir is not None:
                    shutil.rmtree(self._temp_dir, ignore_errors=True)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    # -- control plane, in process --

    @property
    def ca_cert_path(self) -> Path | None:
        """The CA certificate of the external ``rediss://`` endpoints (None without data plane)."""
        return self._ca_cert_path

    @property
    def owner_id(self) -> str:
        """The configured workspace id."""
        return self.settings.owner_id

    def reset(self) -> None:
        """Delete every instance and environment; clear faults, the log and rate limits."""
        self.backend.reset()
        self.faults.clear()
        self.request_log.clear()
        self.rate_limiter.reset()

    def inject_fault(
        self,
        method: str = "*",
        path: str = "/v1/*",
        *,
        status: int | None = None,
        count: int = 1,
        retry_after: int | None = None,
        delay: float = 0.0,
        drop_connection: bool = False,
    ) -> None:
        """Make the next ``count`` matching requests fail, wait, or lose their connection."""
        self.faults.add(
            method=method,
            path=path,
            status=status,
            count=count,
            retry_after=retry_after,
            delay=delay,
            drop_connection=drop_connection,
        )

    def requests(self) -> list[dict[str, Any]]:
        """The request log: ``{method, path, query, status, fault, requestId}`` per request."""
        return [entry.to_json() for entry in self.request_log.entries()]

    def clear_requests(self) -> None:
        """Empty the request log and the counts."""
        self.request_log.clear()

    def request_counts(self) -> dict[str, int]:
        """``/v1`` requests per method since the last clear."""
        return self.request_log.counts()

    def add_environment(self, name: str = "production", *, owner_id: str | None = None) -> str:
        """Seed an environment; returns its ``evm-…`` id."""
        return self.backend.add_environment(name, owner_id=owner_id).id

    def set_internal_auth(self, instance_id: str, enabled: bool = True) -> None:
        """Render's internal authentication on (or off), as its Dashboard switches it.

        The instance restarts; then its internal URL needs the password and connection info's
        internal URL carries ``default:<password>@``. See ``control.py``.
        """
        self.backend.set_internal_auth(instance_id, enabled)

    def internal_auth_enabled(self, instance_id: str) -> bool:
        """Whether the instance's internal URL needs the password."""
        return self.backend.internal_auth_enabled(instance_id)

    def schedule_maintenance(
        self,
        instance_id: str,
        *,
        scheduled_at: datetime,
        pending_maintenance_by: datetime | None = None,
        run_type: str = DEFAULT_TYPE,
    ) -> str:
        """Schedule a maintenance run, as Render does by itself; returns its ``mrn-…`` id.

        It runs (the server restarts) when triggered, or at the first API request once
        ``scheduled_at`` has come on the emulator's clock (or at :meth:`run_due_maintenance`).
        ``run_type`` is the run's ``type``. Times must be timezone-aware.
        """
        return self.backend.schedule_maintenance(
            instance_id,
            scheduled_ns=_epoch_ns(scheduled_at),
            pending_by_ns=(
                None if pending_maintenance_by is None else _epoch_ns(pending_maintenance_by)
            ),
            run_type=run_type,
        ).id

    def run_due_maintenance(self) -> list[str]:
        """Start the runs whose time has come (API requests do it too); their ids."""
        return self.backend.run_due_maintenance()

    def rotate_password(self, instance_id: str) -> None:
        """Give the instance a new password (the old one then gets ``WRONGPASS``)."""
        self.backend.rotate_password(instance_id)


def _epoch_ns(moment: datetime) -> int:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"a timezone-aware datetime is needed, got {moment!r}")
    return int(moment.timestamp()) * 1_000_000_000 + moment.microsecond * 1000
