"""Data plane of the local Render emulator: one real Valkey/Redis process per Key Value instance.

Every instance gets its own ``valkey-server`` (or ``redis-server``) process on a free loopback
port, with its own directory under ``data_dir/<instance_id>`` and the instance's memory limit,
eviction policy and persistence mode. It is reachable two ways, as on Render:

- *internal*: ``redis://127.0.0.1:<internal_port>``, the server's own plain port with the
  password-less ``default`` user, like Render's private-network URL ``redis://red-xxx:6379``;
- *external*: ``rediss://<instance_id>:<password>@127.0.0.1:<external_port>``, a TLS gate
  (:mod:`._proxy`) that admits only addresses in the instance's IP allow list and only clients
  that log in as the ACL user ``<instance_id>`` that this module creates on the server.

Server processes are resources to check, bound and release: the binary and its version are checked
before launch, ports are free ones, readiness is a PING with a deadline, failures carry the
server's log tail and the fix, and nothing outlives its owner -- ``close()``, an ``atexit`` hook,
and, against an abrupt death of Python, a parent-death signal (see :class:`_Spawner`).

Everything listens on loopback only, whatever address the emulator's HTTP API is served on: the
internal port has no password (``--protected-mode no``), so it must never face a network. A
non-loopback ``host`` is refused rather than bound.

This module knows nothing about HTTP or pytest, and imports nothing else from the package but
its helpers (``_proxy``, ``_tls``) and the list of persistence modes in the dependency-free
``plane`` interface.
"""

from __future__ import annotations

import atexit
import contextlib
import ipaddress
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from dataclasses import dataclass, field, replace
from pathlib import Path
from queue import SimpleQueue

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from ._gate_policy import Network, parse_allow_list
from ._proxy import TlsGateProxy, socket_family
from ._tls import TlsFiles, ensure_certificates, server_context
from .plane import PERSISTENCE_MODES

__all__ = [
    "DataPlane",
    "DataPlaneError",
    "Endpoints",
    "InstanceConfig",
    "find_server_binary",
]

# ACL channel patterns (``&*``) and ``HELLO ... AUTH`` need Redis 6.2 (every Valkey has them).
_MIN_VERSION = (6, 2)
_READY_TIMEOUT = 10.0
_STOP_TIMEOUT = 10.0
_START_ATTEMPTS = 5
_LOG_TAIL_LINES = 25
# Redis's own default save points: the "snapshot" half of Render's persistence modes.
_SAVE_POINTS = (("3600", "1"), ("300", "100"), ("60", "10000"))
# What a server may have persisted in its directory (Redis 7 multi-part AOF, and the 6.2 file).
_PERSISTED_FILES = ("dump.rdb", "appendonlydir", "appendonly.aof")
_INSTANCE_ID = re.compile(r"[a-z0-9][a-z0-9-]{0,62}")
_VERSION = re.compile(r"^(?P<flavour>[A-Za-z]+) server v=(?P<version>\d+\.\d+\.\d+)")
_PROCESS_ID = re.compile(rb"^process_id:(\d+)", re.MULTILINE)
_ADDRESS_IN_USE = ("Address already in use", "Could not create server TCP listening socket")
_INSTALL_HINT = (
    "Install Valkey or Redis: `apt-get install redis-server` (Debian/Ubuntu), "
    "`brew install valkey` (macOS), or pass server_binary=<path>."
)


@dataclass(frozen=True)
class InstanceConfig:
    """What one Key Value instance's server process runs with."""

    instance_id: str  # "red-" + 20 [a-z0-9]
    password: str  # 32 chars [A-Za-z0-9]; the external endpoint's ACL user <instance_id>
    maxmemory_bytes: int
    maxmemory_policy: str  # Valkey spelling, e.g. "allkeys-lru", "noeviction"
    persistence: str  # one of plane.PERSISTENCE_MODES: "journal_snapshot" | "snapshot" | "off"
    allow_list: tuple[str, ...]  # CIDR blocks that may use the external endpoint; () = none


@dataclass(frozen=True)
class Endpoints:
    """Where an instance listens."""

    host: str  # a loopback address, "127.0.0.1" unless told ("::1"): bracket it in URLs
    internal_port: int  # plain RESP, no password (as Render's private network)
    external_port: int  # TLS + password, gated by allow_list


class DataPlaneError(Exception):
    """A server process could not be found, started, reconfigured or stopped; says how to fix."""


def find_server_binary() -> str:
    """The path of ``valkey-server`` (preferred: Render runs Valkey 8), else ``redis-server``."""
    for name in ("valkey-server", "redis-server"):
        path = shutil.which(name)
        if path is not None:
            return path
    raise DataPlaneError(f"Neither valkey-server nor redis-server is on PATH. {_INSTALL_HINT}")


@dataclass
class _Instance:
    config: InstanceConfig
    directory: Path
    internal_port: int = 0
    external_port: int = 0
    process: subprocess.Popen[bytes] | None = None
    gate: TlsGateProxy | None = None
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
        self._host = _loopback(host)
        self._binary = _resolve_binary(server_binary)
        self._flavour, self._version = _check_version(self._binary)
        self._data_dir.mkdir(parents=True, exist_ok=True)
        # Instance ids start with a letter or digit, so "_tls" can never be an instance's directory.
        self._tls: TlsFiles = ensure_certificates(self._data_dir / "_tls", host)
        self._tls_context = server_context(self._tls)
        self._instances: dict[str, _Instance] = {}
        self._lock = threading.Lock()
        self._closed = False
        self._spawner = _Spawner()
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

    def start(self, config: InstanceConfig) -> Endpoints:
        """Start a new instance's server and TLS gate; data already in its directory is kept."""
        networks = _validate(config)
        instance = _Instance(config=config, directory=self._data_dir / config.instance_id)
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
        networks = _validate(config)
        with self._locked(config.instance_id) as instance:
            if instance.process is None:
                instance.config = config
                if flush:
                    _delete_persisted_files(instance.directory)
                return
            with self._admin(instance) as client:
                self._apply_live(instance, config, client)
                if flush:
                    self._run(instance, "FLUSHALL", client.flushall)
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

    def stop(self, instance_id: str) -> None:
        """Stop the instance's server and delete its data. An unknown id is a no-op.

        The directory ``data_dir/<instance_id>`` is removed even when this data plane never ran
        the instance (left over from an earlier emulator run), since deleting is the point.
        """
        with self._lock:
            instance = self._instances.pop(instance_id, None)
        if instance is None:
            if _INSTANCE_ID.fullmatch(instance_id):
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
            # SIGTERM everyone first, then wait: shutdowns (final snapshots) run in parallel.
            for instance in instances:
                if instance.process is not None and instance.process.poll() is None:
                    with contextlib.suppress(ProcessLookupError):
                        instance.process.terminate()
            for instance in instances:
                if instance.process is not None:
                    _reap(instance.process, graceful=True)
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
            _delete_persisted_files(instance.directory)
        log_path = instance.directory / "server.log"
        stderr_path = instance.directory / "server.stderr"
        preferred = instance.internal_port
        process: subprocess.Popen[bytes] | None = None
        failure = ""
        for _attempt in range(_START_ATTEMPTS):
            port = preferred if preferred and _port_is_free(self._host, preferred) else 0
            port = port or _free_port(self._host)
            preferred = 0
            offsets = (_size(log_path), _size(stderr_path))
            candidate = self._spawn(instance, port, log_path, stderr_path)
            problem = self._wait_ready(candidate, port)
            if problem is None:
                process = candidate
                break
            _reap(candidate, graceful=False)
            tail = _tail(log_path, offsets[0]) + _tail(stderr_path, offsets[1])
            failure = f"{problem}. Last lines of {log_path.name} / {stderr_path.name}:\n{tail}"
            # Another program took the free port before the server bound it: try another one.
            if not any(marker in failure for marker in _ADDRESS_IN_USE):
                break
        if process is None:
            raise DataPlaneError(
                f"The {self._flavour} server for {config.instance_id} did not start: {failure}"
                f"Fix what the log names (e.g. maxmemory_policy={config.maxmemory_policy!r}), "
                f"check `{self._binary} --version`, and see {instance.directory}."
            )
        instance.process = process
        instance.internal_port = port
        try:
            with self._admin(instance) as client:
                self._set_acl_user(instance, config.password, client)
            gate = TlsGateProxy(
                name=config.instance_id,
                host=self._host,
                backend_port=port,
                context=self._tls_context,
                username=config.instance_id,
                allow_list=networks,
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
        config = instance.config
        persistent = config.persistence != "off"
        argv = [
            *_death_signal_prefix(),
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
            "--maxmemory", str(config.maxmemory_bytes),
            "--maxmemory-policy", config.maxmemory_policy,
            "--appendonly", "yes" if config.persistence == "journal_snapshot" else "no",
            # Render's journal mode is an AOF synced every second (at most ~1 s of writes lost).
            "--appendfsync", "everysec",
            *_save_args(persistent),
        ]  # fmt: skip
        # The log file only opens once the config is parsed: config errors go to stderr.
        with stderr_path.open("ab") as stderr:
            try:
                return self._spawner.spawn(
                    lambda: subprocess.Popen(  # noqa: S603 - our own argv, no shell
                        argv,
                        stdin=subprocess.DEVNULL,
                        stdout=stderr,
                        stderr=stderr,
                        # Its own session: a Ctrl-C meant for the emulator's terminal must not
                        # kill servers behind close()'s back; close() stops them in order.
                        start_new_session=True,
                    )
                )
            except OSError as error:
                raise DataPlaneError(
                    f"Could not run {self._binary}: {error}. {_INSTALL_HINT}"
                ) from error

    def _wait_ready(self, process: subprocess.Popen[bytes], port: int) -> str | None:
        """Poll PING until *this* process answers PONG; None when ready, else what went wrong."""
        deadline = time.monotonic() + _READY_TIMEOUT
        while True:
            code = process.poll()
            if code is not None:
                return f"the process exited with status {code}"
            pid = _answering_pid(self._host, port)
            if pid == process.pid:
                return None
            if pid is not None:
                # A concurrent start won the race for the port: its server answers, ours will
                # fail to bind. Without the pid check this instance would adopt that server.
                return f"Address already in use: port {port} is served by process {pid}"
            if time.monotonic() >= deadline:
                return f"no PONG within {_READY_TIMEOUT:.0f} s"
            time.sleep(0.02)

    @contextlib.contextmanager
    def _admin(self, instance: _Instance) -> Iterator[redis.Redis]:
        """A client on the internal port for reconfiguring the live server."""
        client = redis.Redis(
            host=self._host,
            port=instance.internal_port,
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
                f"{instance.internal_port}: {error}. See {instance.directory / 'server.log'}."
            ) from error
        finally:
            client.close()

    def _apply_live(self, instance: _Instance, config: InstanceConfig, client: redis.Redis) -> None:
        """CONFIG SET what changed; ``instance.config`` follows each step that succeeded."""
        old = instance.config
        if old.maxmemory_bytes != config.maxmemory_bytes:
            self._config_set(instance, client, "maxmemory", str(config.maxmemory_bytes))
            instance.config = replace(instance.config, maxmemory_bytes=config.maxmemory_bytes)
        if old.maxmemory_policy != config.maxmemory_policy:
            self._config_set(instance, client, "maxmemory-policy", config.maxmemory_policy)
            instance.config = replace(instance.config, maxmemory_policy=config.maxmemory_policy)
        if old.persistence != config.persistence:
            persistent = config.persistence != "off"
            save = " ".join(" ".join(point) for point in _SAVE_POINTS) if persistent else ""
            self._config_set(instance, client, "save", save)
            aof = "yes" if config.persistence == "journal_snapshot" else "no"
            self._config_set(instance, client, "appendonly", aof)
            if aof == "yes":
                _wait_initial_aof(instance, client)
            instance.config = replace(instance.config, persistence=config.persistence)
        if old.password != config.password:
            self._set_acl_user(instance, config.password, client)
            instance.config = replace(instance.config, password=config.password)

    def _config_set(self, instance: _Instance, client: redis.Redis, name: str, value: str) -> None:
        self._run(instance, f"CONFIG SET {name} {value!r}", lambda: client.config_set(name, value))

    def _set_acl_user(self, instance: _Instance, password: str, client: redis.Redis) -> None:
        """The external endpoint's user: named after the instance, full access, one password."""
        user = instance.config.instance_id
        self._run(
            instance,
            f"ACL SETUSER {user}",
            lambda: client.acl_setuser(
                user,
                reset=True,  # drops the previous password too
                enabled=True,
                passwords=[f"+{password}"],
                keys=["*"],
                channels=["*"],
                categories=["+@all"],
            ),
        )

    @staticmethod
    def _run(instance: _Instance, what: str, call: Callable[[], object]) -> None:
        try:
            call()
        except redis.ResponseError as error:
            raise DataPlaneError(
                f"The server of {instance.config.instance_id} rejected {what}: {error}"
            ) from error

    def _shut_down(self, instance: _Instance, *, graceful: bool) -> None:
        """Close the gate first (no new external clients), then stop the server."""
        if instance.gate is not None:
            instance.gate.close()
            instance.gate = None
        if instance.process is not None:
            _reap(instance.process, graceful=graceful)
            instance.process = None


class _Spawner:
    """Runs every fork/exec on one long-lived thread owned by the data plane.

    Why a thread of its own: children are started with a parent-death signal (SIGTERM), so
    the kernel kills them if Python dies without running ``close()`` or ``atexit`` (SIGKILL, a
    crash, an unhandled SIGTERM). Chosen over a watchdog process because it costs nothing and
    cannot itself be left behind. But that signal fires when the *thread* that forked the child
    ends, not the process -- and the emulator's HTTP server calls ``start()`` from short-lived
    request threads. Forking from this thread, which lives until ``close()``, ties the children's
    lifetime to the data plane instead. (Off Linux there is no such signal; ``close()`` and
    ``atexit`` remain.)
    """

    def __init__(self) -> None:
        self._jobs: SimpleQueue[
            tuple[Callable[[], subprocess.Popen[bytes]], Future[subprocess.Popen[bytes]]] | None
        ] = SimpleQueue()
        # A daemon: interpreter shutdown joins non-daemon threads *before* atexit hooks run, so a
        # non-daemon spawner would wait forever for the close() that stops it.
        self._thread = threading.Thread(target=self._serve, name="dataplane-spawner", daemon=True)
        self._thread.start()

    def spawn(self, launch: Callable[[], subprocess.Popen[bytes]]) -> subprocess.Popen[bytes]:
        if not self._thread.is_alive():
            raise DataPlaneError("This data plane is closed; create a new DataPlane.")
        future: Future[subprocess.Popen[bytes]] = Future()
        self._jobs.put((launch, future))
        return future.result()

    def close(self) -> None:
        self._jobs.put(None)
        if self._thread is not threading.current_thread():
            self._thread.join(timeout=10)

    def _serve(self) -> None:
        while (job := self._jobs.get()) is not None:
            launch, future = job
            if future.set_running_or_notify_cancel():
                try:
                    future.set_result(launch())
                except BaseException as error:  # handed to the caller, re-raised there
                    future.set_exception(error)


def _death_signal_prefix() -> list[str]:
    """``setpriv --pdeathsig TERM --``: the kernel SIGTERMs the server when its parent thread dies.

    Linux only (util-linux's ``setpriv``, on every Debian); empty elsewhere. Done by exec'ing
    through setpriv rather than a ``preexec_fn``: running Python code between fork and exec in
    a process with gRPC's threads (the Pulumi SDK's) crashed the child with SIGSEGV.
    """
    setpriv = shutil.which("setpriv") if sys.platform.startswith("linux") else None
    return [setpriv, "--pdeathsig", "TERM", "--"] if setpriv else []


def _loopback(host: str) -> str:
    """``host`` if it is a loopback IP address; the data plane never listens anywhere else."""
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        address = None
    if address is None or not address.is_loopback:
        raise DataPlaneError(
            f"The data plane binds loopback only (its internal endpoint has no password), not "
            f"{host!r}: pass host='127.0.0.1' or '::1'. The HTTP API's address is separate."
        )
    return str(address)


def _resolve_binary(server_binary: str | None) -> str:
    if server_binary is None:
        return find_server_binary()
    path = shutil.which(server_binary)
    if path is None:
        raise DataPlaneError(
            f"Server binary {server_binary!r} was not found or is not executable. {_INSTALL_HINT}"
        )
    return path


def _check_version(binary: str) -> tuple[str, str]:
    """The flavour ("valkey"/"redis") and version, refusing servers too old for the ACL setup."""
    try:
        result = subprocess.run(  # noqa: S603 - the binary was resolved on PATH or given by the user
            [binary, "--version"], capture_output=True, text=True, timeout=10, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as error:
        raise DataPlaneError(
            f"Could not run `{binary} --version`: {error}. {_INSTALL_HINT}"
        ) from error
    match = _VERSION.match(result.stdout.strip())
    if result.returncode != 0 or match is None:
        output = (result.stdout + result.stderr).strip()[:200]
        raise DataPlaneError(
            f"`{binary} --version` did not identify a Redis/Valkey server (said {output!r}). "
            f"{_INSTALL_HINT}"
        )
    version = match["version"]
    if tuple(int(part) for part in version.split(".")[:2]) < _MIN_VERSION:
        minimum = ".".join(map(str, _MIN_VERSION))
        raise DataPlaneError(
            f"{binary} is version {version}; the data plane needs Redis >= {minimum} or any "
            f"Valkey. {_INSTALL_HINT}"
        )
    return match["flavour"].lower(), version


def _validate(config: InstanceConfig) -> tuple[Network, ...]:
    """Reject configs the server would choke on later, with the field and the fix."""
    if not _INSTANCE_ID.fullmatch(config.instance_id):
        raise DataPlaneError(
            f"instance_id {config.instance_id!r} must be lowercase letters, digits and '-' "
            "(e.g. 'red-' + 20 [a-z0-9]); it names a directory and an ACL user."
        )
    if not config.password or any(c.isspace() for c in config.password):
        raise DataPlaneError("password must be non-empty and contain no whitespace.")
    if config.maxmemory_bytes < 0:
        raise DataPlaneError(f"maxmemory_bytes must be >= 0, got {config.maxmemory_bytes}.")
    if config.persistence not in PERSISTENCE_MODES:
        raise DataPlaneError(
            f"persistence {config.persistence!r} must be one of {', '.join(PERSISTENCE_MODES)}."
        )
    try:
        return parse_allow_list(config.allow_list)
    except ValueError as error:
        raise DataPlaneError(str(error)) from None


def _wait_initial_aof(instance: _Instance, client: redis.Redis) -> None:
    """Wait until the AOF that ``CONFIG SET appendonly yes`` starts is written.

    Until then the server cannot shut down cleanly, and the journal does not protect the data
    yet; returning afterwards makes ``apply`` mean "the new mode is in force", as Render reports
    ``available`` only after its config restart.
    """
    deadline = time.monotonic() + _READY_TIMEOUT
    while time.monotonic() < deadline:
        info = client.info("persistence")
        if not info.get("aof_rewrite_in_progress") and not info.get("aof_rewrite_scheduled"):
            return
        time.sleep(0.02)
    raise DataPlaneError(
        f"The server of {instance.config.instance_id} did not finish writing its AOF within "
        f"{_READY_TIMEOUT:.0f} s; see {instance.directory / 'server.log'}."
    )


def _save_args(persistent: bool) -> list[str]:
    # One ``--save`` per point: Redis 6.2 only accepts a single pair per config line.
    if not persistent:
        return ["--save", ""]
    return [arg for point in _SAVE_POINTS for arg in ("--save", *point)]


def _answering_pid(host: str, port: int) -> int | None:
    """The pid of the server that answers PING with PONG on the port, or None.

    None while the port is closed or the server is still loading its data (``-LOADING``).
    """
    try:
        with socket.create_connection((host, port), timeout=1.0) as sock:
            sock.sendall(b"PING\r\nINFO server\r\n")
            with sock.makefile("rb") as replies:
                if not replies.readline().startswith(b"+PONG"):
                    return None
                header = replies.readline()
                if not header.startswith(b"$"):
                    return None
                body = replies.read(int(header[1:]) + 2)
    except (OSError, ValueError):
        return None
    match = _PROCESS_ID.search(body)
    return int(match[1]) if match else None


def _free_port(host: str) -> int:
    """A port the kernel considers free right now (the server may still lose a race for it)."""
    with socket.socket(socket_family(host), socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
        return port


def _port_is_free(host: str, port: int) -> bool:
    with socket.socket(socket_family(host), socket.SOCK_STREAM) as sock:
        # As the server binds: TIME_WAIT leftovers of the previous run do not block the port.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
        return True


def _reap(process: subprocess.Popen[bytes], *, graceful: bool) -> None:
    """Stop the process and wait for it: SIGTERM first when graceful, SIGKILL at the deadline.

    SIGTERM is repeated while waiting: Redis/Valkey ignore one that arrives while they write
    their first AOF ("Writing initial AOF, can't exit.") and never retry by themselves.
    """
    if graceful:
        deadline = time.monotonic() + _STOP_TIMEOUT
        while process.poll() is None and time.monotonic() < deadline:
            with contextlib.suppress(ProcessLookupError):
                process.send_signal(signal.SIGTERM)  # Redis then saves its final snapshot
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(timeout=0.5)
    if process.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            process.kill()
    process.wait()


def _delete_persisted_files(directory: Path) -> None:
    for name in _PERSISTED_FILES:
        path = directory / name
        if path.is_dir():
            shutil.rmtree(path)
        else:
            path.unlink(missing_ok=True)


def _remove_tree(path: Path) -> None:
    try:
        shutil.rmtree(path)
    except FileNotFoundError:
        return
    except OSError as error:
        raise DataPlaneError(f"Could not delete {path}: {error}. Remove it by hand.") from error


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except FileNotFoundError:
        return 0


def _tail(path: Path, offset: int) -> str:
    """The last lines written to ``path`` since ``offset``."""
    try:
        with path.open("rb") as handle:
            handle.seek(offset)
            text = handle.read().decode("utf-8", "replace")
    except FileNotFoundError:
        return ""
    lines = [line for line in text.splitlines() if line.strip()]
    return "".join(f"  {line}\n" for line in lines[-_LOG_TAIL_LINES:])
