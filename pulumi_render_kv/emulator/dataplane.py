"""Data plane of the local Render emulator: one real Valkey/Redis process per Key Value instance.

Every instance gets its own ``valkey-server`` (or ``redis-server``) process on a free loopback
port, with its own directory under ``data_dir/<instance_id>`` and the instance's memory limit,
eviction policy and persistence mode. It is reachable two ways, as on Render:

- *internal*: ``redis://127.0.0.1:<internal_port>``, a plain relay (:mod:`._ready_gate`) to the
  server's port with the password-less ``default`` user, like Render's private-network URL
  ``redis://red-xxx:6379``. With internal authentication (``InstanceConfig.internal_auth``)
  the ``default`` user needs the instance's password, set at every start: the server itself
  answers ``NOAUTH`` and ``WRONGPASS``;
- *external*: ``rediss://<instance_id>:<password>@127.0.0.1:<external_port>``, a TLS gate
  (:mod:`._proxy`) that admits only addresses in the instance's IP allow list and only clients
  that log in as the ACL user ``<instance_id>`` that this module creates on the server.

Both endpoints take connections only while the instance's ``serving`` predicate (given to
:meth:`DataPlane.start`; the backend's lifecycle) says it is available: a ``creating`` or
restarting instance does not answer ``PING``, as on Render. The server's own port, which the
data plane reconfigures the server through, is not an endpoint.

This module orchestrates: it keeps the instances, their locks and their state, and drives the
helpers that each do one job -- :mod:`._process` (binary, spawn, readiness, stop, parent-death
signal), :mod:`._server_config` (memory, eviction and persistence as server settings),
:mod:`._ports` (free ports), :mod:`._tls` and :mod:`._proxy` (the external endpoint). The types
it shares with the backend (:class:`InstanceConfig`, :class:`Endpoints`,
:class:`DataPlaneError`) live in the dependency-free :mod:`.plane`.

Everything listens on loopback only, whatever address the emulator's HTTP API is served on: the
internal port has no password (``--protected-mode no``), so it must never face a network. A
non-loopback ``host`` is refused rather than bound.
"""

from __future__ import annotations

import atexit
import contextlib
import shutil
import subprocess
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from . import _ports
from ._gate_policy import Network, parse_allow_list
from ._process import (
    ADDRESS_IN_USE,
    Spawner,
    check_version,
    find_server_binary,
    log_size,
    log_tail,
    reap,
    resolve_binary,
    wait_ready,
)
from ._proxy import TlsGateProxy
from ._ready_gate import ReadinessGate
from ._server_config import (
    INSTANCE_ID,
    apply_live,
    delete_persisted_files,
    run_checked,
    server_args,
    set_acl_user,
    set_default_user,
    validate,
)
from ._tls import TlsFiles, ensure_certificates, server_context
from .plane import DataPlaneError, Endpoints, InstanceConfig, ServerStats, Serving

__all__ = [
    "DataPlane",
    "DataPlaneError",
    "Endpoints",
    "InstanceConfig",
    "find_server_binary",
]

# A start that loses the race for its free port is retried on another one, this many times.
_START_ATTEMPTS = 5


def _always_serving() -> bool:
    return True


@dataclass
class _Instance:
    config: InstanceConfig
    directory: Path
    internal_port: int = 0  # the readiness gate's (the internal endpoint)
    external_port: int = 0
    server_port: int = 0  # the server process's own, for the data plane's admin connections
    serving: Serving = _always_serving
    process: subprocess.Popen[bytes] | None = None
    gate: TlsGateProxy | None = None
    internal_gate: ReadinessGate | None = None
    removed: bool = False  # stopped (deleted) while another call waited for the lock
    lock: threading.Lock = field(default_factory=threading.Lock)


class DataPlane:
    """Runs and supervises the server processes of emulated Key Value instances.

    ``host`` is the loopback address every server and TLS gate binds (``127.0.0.1`` or ``::1``);
    anything else raises :class:`DataPlaneError`, since the internal endpoint has no password.

    Thread-safe: the emulator's HTTP threads may call it concurrently; calls for one instance are
    serialised, calls for different instances run in parallel.
    """

    def __init__(
        self, data_dir: Path, *, host: str = "127.0.0.1", server_binary: str | None = None
    ) -> None:
        self._data_dir = Path(data_dir).resolve()
        self._host = _ports.loopback(host)
        self._binary = resolve_binary(server_binary)
        self._flavour, self._version = check_version(self._binary)
        self._data_dir.mkdir(parents=True, exist_ok=True)
        # Instance ids start with a letter or digit, so "_tls" can never be an instance's directory.
        self._tls: TlsFiles = ensure_certificates(self._data_dir / "_tls", host)
        self._tls_context = server_context(self._tls)
        self._instances: dict[str, _Instance] = {}
        self._lock = threading.Lock()
        self._closed = False
        self._spawner = Spawner()
        atexit.register(self.close)

    # -- public API ------------------------------------------------------------------------------

    @property
    def server_version(self) -> str:
        """The server flavour and version, e.g. ``"redis 7.0.15"`` or ``"valkey 8.1.4"``."""
        return f"{self._flavour} {self._version}"

    @property
    def ca_cert_path(self) -> Path:
        """The self-signed CA certificate that clients of the external endpoint trust."""
        return self._tls.ca_cert

    def start(
        self,
        config: InstanceConfig,
        *,
        ports: tuple[int, int] | None = None,
        serving: Serving | None = None,
    ) -> Endpoints:
        """Start a new instance's server and its gates; data already in its directory is kept.

        ``ports`` (internal, external) are taken when free, as resume takes back its own;
        otherwise, and without them, free ports are picked. ``serving`` is asked at every new
        connection, on either endpoint, for the instance's whole life (default: always yes).
        """
        networks = validate(config)
        internal, external = ports or (0, 0)
        instance = _Instance(
            config=config,
            directory=self._data_dir / config.instance_id,
            internal_port=internal,
            external_port=external,
            serving=serving or _always_serving,
        )
        with self._lock:
            self._ensure_open()
            if config.instance_id in self._instances:
                raise DataPlaneError(
                    f"Instance {config.instance_id} already has a server; use apply() to change "
                    "it, or stop() it first."
                )
            self._instances[config.instance_id] = instance
            instance.lock.acquire()  # uncontended: nobody else can see the instance yet
        try:
            return self._launch(instance, networks)
        except BaseException:
            with self._lock:
                self._instances.pop(config.instance_id, None)
            instance.removed = True
            raise
        finally:
            instance.lock.release()

    def apply(self, config: InstanceConfig, *, flush: bool = False) -> None:
        """Make the live server match ``config``; ``flush`` also wipes the data (FLUSHALL).

        Only what changed is sent (CONFIG SET maxmemory / maxmemory-policy / save + appendonly,
        ACL SETUSER for the password); a new allow list applies to new external connections. On
        a suspended instance the new config is kept for ``resume()`` and ``flush`` deletes the
        persisted files.
        """
        networks = validate(config)
        with self._locked(config.instance_id) as instance:
            if instance.process is None:
                instance.config = config
                if flush:
                    delete_persisted_files(instance.directory)
                return
            with self._admin(instance) as client:
                self._apply_live(instance, config, client)
                if flush:
                    run_checked(config.instance_id, "FLUSHALL", client.flushall)
            assert instance.gate is not None
            instance.gate.set_allow_list(networks)
            instance.config = config

    def suspend(self, instance_id: str) -> None:
        """Stop the instance's server and gate but keep its directory; idempotent."""
        with self._locked(instance_id) as instance:
            self._shut_down(instance, graceful=True)

    def resume(self, instance_id: str) -> Endpoints:
        """Start a suspended instance again with its last config, on its old ports if free."""
        with self._locked(instance_id) as instance:
            if instance.process is not None:
                return self._endpoints_of(instance)
            return self._launch(instance, parse_allow_list(instance.config.allow_list))

    def restart(self, config: InstanceConfig) -> Endpoints:
        """Stop the server gracefully and start it again with ``config``, on its ports if free.

        Every client is disconnected, as by a Render restart; what the persistence mode keeps
        survives (with ``off``, the data is gone). A suspended instance keeps ``config`` for
        ``resume()``.
        """
        networks = validate(config)
        with self._locked(config.instance_id) as instance:
            if instance.process is None:
                instance.config = config
                return self._endpoints_of(instance)
            self._shut_down(instance, graceful=True)
            instance.config = config
            return self._launch(instance, networks)

    def stats(self, instance_id: str) -> ServerStats | None:
        """``INFO`` of the live server (``None`` while suspended), for the metrics endpoints."""
        with self._locked(instance_id) as instance:
            if instance.process is None:
                return None
            with self._admin(instance) as client:
                info = client.info("everything")
        return ServerStats(
            used_memory=int(info["used_memory"]),
            # The INFO itself came over one more connection: not a client of the instance.
            connected_clients=max(0, int(info["connected_clients"]) - 1),
            cpu_seconds=float(info["used_cpu_sys"]) + float(info["used_cpu_user"]),
            server_time_us=int(info.get("server_time_usec", 0)),
            uptime_seconds=int(info["uptime_in_seconds"]),
        )

    def stop(self, instance_id: str) -> None:
        """Stop the instance's server and delete its data. An unknown id is a no-op.

        The directory ``data_dir/<instance_id>`` is removed even when this data plane never ran
        the instance (left over from an earlier emulator run), since deleting is the point.
        """
        with self._lock:
            instance = self._instances.pop(instance_id, None)
        if instance is None:
            if INSTANCE_ID.fullmatch(instance_id):
                _remove_tree(self._data_dir / instance_id)
            return
        with instance.lock:
            instance.removed = True
            # No graceful shutdown: saving a snapshot that is deleted right after is wasted time.
            self._shut_down(instance, graceful=False)
            _remove_tree(instance.directory)

    def close(self) -> None:
        """Stop every server and gate (data is kept); idempotent; also runs at interpreter exit."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            instances = list(self._instances.values())
        atexit.unregister(self.close)
        locked: list[_Instance] = []
        try:
            for instance in instances:
                instance.lock.acquire()
                locked.append(instance)
                if instance.gate is not None:
                    instance.gate.close()
                    instance.gate = None
                if instance.internal_gate is not None:
                    instance.internal_gate.close()
                    instance.internal_gate = None
            # SIGTERM everyone first, then wait: shutdowns (final snapshots) run in parallel.
            for instance in instances:
                if instance.process is not None and instance.process.poll() is None:
                    with contextlib.suppress(ProcessLookupError):
                        instance.process.terminate()
            for instance in instances:
                if instance.process is not None:
                    reap(instance.process, graceful=True)
                    instance.process = None
        finally:
            for instance in locked:
                instance.lock.release()
            self._spawner.close()

    def endpoints(self, instance_id: str) -> Endpoints:
        """The instance's endpoints (for a suspended instance: the ones it had last)."""
        with self._locked(instance_id) as instance:
            return self._endpoints_of(instance)

    def __enter__(self) -> DataPlane:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # -- internals ---------------------------------------------------------------------------------

    def _ensure_open(self) -> None:
        if self._closed:
            raise DataPlaneError("This data plane is closed; create a new DataPlane.")

    @contextlib.contextmanager
    def _locked(self, instance_id: str) -> Iterator[_Instance]:
        with self._lock:
            self._ensure_open()
            instance = self._instances.get(instance_id)
        if instance is None:
            raise DataPlaneError(f"Unknown instance {instance_id!r}: start() it first.")
        with instance.lock:
            if instance.removed:
                raise DataPlaneError(f"Instance {instance_id!r} was stopped (deleted).")
            self._ensure_open()
            yield instance

    def _endpoints_of(self, instance: _Instance) -> Endpoints:
        return Endpoints(self._host, instance.internal_port, instance.external_port)

    def _launch(self, instance: _Instance, networks: tuple[Network, ...]) -> Endpoints:
        """Start the server (retrying on a port race), create the ACL user, open the gate."""
        config = instance.config
        instance.directory.mkdir(parents=True, exist_ok=True)
        if config.persistence == "off":
            # Like a Render instance without a disk: a restart starts empty, even if an earlier
            # persistent mode left a snapshot behind.
            delete_persisted_files(instance.directory)
        log_path = instance.directory / "server.log"
        stderr_path = instance.directory / "server.stderr"
        process: subprocess.Popen[bytes] | None = None
        failure = ""
        for _attempt in range(_START_ATTEMPTS):
            port = _ports.free_port(self._host)
            offsets = (log_size(log_path), log_size(stderr_path))
            candidate = self._spawn(instance, port, log_path, stderr_path)
            problem = wait_ready(candidate, self._host, port)
            if problem is None:
                process = candidate
                break
            reap(candidate, graceful=False)
            tail = log_tail(log_path, offsets[0]) + log_tail(stderr_path, offsets[1])
            failure = f"{problem}. Last lines of {log_path.name} / {stderr_path.name}:\n{tail}"
            # Another program took the free port before the server bound it: try another one.
            if not any(marker in failure for marker in ADDRESS_IN_USE):
                break
        if process is None:
            raise DataPlaneError(
                f"The {self._flavour} server for {config.instance_id} did not start: {failure}"
                f"Fix what the log names (e.g. maxmemory_policy={config.maxmemory_policy!r}), "
                f"check `{self._binary} --version`, and see {instance.directory}."
            )
        instance.process = process
        instance.server_port = port
        try:
            with self._admin(instance) as client:
                set_acl_user(client, config.instance_id, config.password)
                if config.internal_auth:
                    # A fresh server's `default` has no password (ACLs are not persisted).
                    set_default_user(client, config.instance_id, config.password)
            internal_gate = ReadinessGate(
                name=config.instance_id,
                host=self._host,
                backend_port=port,
                serving=instance.serving,
            )
            instance.internal_gate = internal_gate
            try:
                instance.internal_port = internal_gate.start(instance.internal_port)
            except OSError as error:
                raise DataPlaneError(
                    f"Could not listen for {config.instance_id}'s internal endpoint on "
                    f"{self._host}: {error}"
                ) from error
            gate = TlsGateProxy(
                name=config.instance_id,
                host=self._host,
                backend_port=port,
                context=self._tls_context,
                username=config.instance_id,
                allow_list=networks,
                serving=instance.serving,
            )
            try:
                instance.external_port = gate.start(instance.external_port)
            except OSError as error:
                gate.close()
                raise DataPlaneError(
                    f"Could not listen for {config.instance_id}'s external endpoint on "
                    f"{self._host}: {error}"
                ) from error
            instance.gate = gate
        except BaseException:
            self._shut_down(instance, graceful=False)
            raise
        return self._endpoints_of(instance)

    def _spawn(
        self, instance: _Instance, port: int, log_path: Path, stderr_path: Path
    ) -> subprocess.Popen[bytes]:
        argv = [
            self._binary,
            "--port", str(port),
            "--bind", self._host,
            # The internal endpoint is password-less by design: safe only because self._host
            # is a loopback address (checked in __init__), never a network-facing one.
            "--protected-mode", "no",
            "--daemonize", "no",
            "--dir", str(instance.directory),
            "--logfile", str(log_path),
            "--dbfilename", "dump.rdb",
            *server_args(instance.config),
        ]  # fmt: skip
        # The log file only opens once the config is parsed: config errors go to stderr.
        return self._spawner.start_server(argv, stderr_path)

    @contextlib.contextmanager
    def _admin(self, instance: _Instance) -> Iterator[redis.Redis]:
        """A client on the internal port for reconfiguring the live server.

        It logs in as ``default`` with the instance's password: accepted by a password-less
        ``default`` (any password is) and required once internal authentication is on.
        """
        client = redis.Redis(
            host=self._host,
            port=instance.server_port,
            username="default",
            password=instance.config.password,
            socket_timeout=10,
            socket_connect_timeout=5,
            retry=Retry(NoBackoff(), 0),  # a failure here is reported, not hidden by back-off
            decode_responses=True,
        )
        try:
            yield client
        except (redis.ConnectionError, redis.TimeoutError) as error:
            raise DataPlaneError(
                f"The server of {instance.config.instance_id} is not reachable on port "
                f"{instance.server_port}: {error}. See {instance.directory / 'server.log'}."
            ) from error
        finally:
            client.close()

    @staticmethod
    def _apply_live(instance: _Instance, config: InstanceConfig, client: redis.Redis) -> None:
        """CONFIG SET what changed; ``instance.config`` follows each step that succeeded."""

        def applied(step: InstanceConfig) -> None:
            instance.config = step

        apply_live(client, instance.config, config, instance.directory / "server.log", applied)

    def _shut_down(self, instance: _Instance, *, graceful: bool) -> None:
        """Close the gates first (no new clients), then stop the server."""
        if instance.gate is not None:
            instance.gate.close()
            instance.gate = None
        if instance.internal_gate is not None:
            instance.internal_gate.close()
            instance.internal_gate = None
        if instance.process is not None:
            reap(instance.process, graceful=graceful)
            instance.process = None


def _remove_tree(path: Path) -> None:
    try:
        shutil.rmtree(path)
    except FileNotFoundError:
        return
    except OSError as error:
        raise DataPlaneError(f"Could not delete {path}: {error}. Remove it by hand.") from error
