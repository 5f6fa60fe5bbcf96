"""Server process lifecycle: find the binary, spawn, wait until ready, stop, and never leak.

The data plane's processes are resources: the binary and its version are checked before
launch, readiness is a PING with a deadline, failures carry the server's log tail, and nothing
outlives its owner -- ``DataPlane.close()``, an ``atexit`` hook, and, against an abrupt death of
Python, a parent-death signal (see :class:`Spawner`).
"""

from __future__ import annotations

import contextlib
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from pathlib import Path
from queue import SimpleQueue

from .plane import DataPlaneError

__all__ = [
    "ADDRESS_IN_USE",
    "INSTALL_HINT",
    "READY_TIMEOUT",
    "Spawner",
    "check_version",
    "death_signal_prefix",
    "find_server_binary",
    "log_size",
    "log_tail",
    "reap",
    "resolve_binary",
    "wait_ready",
]

# ACL channel patterns (``&*``) and ``HELLO ... AUTH`` need Redis 6.2 (every Valkey has them).
_MIN_VERSION = (6, 2)
READY_TIMEOUT = 10.0
_STOP_TIMEOUT = 10.0
_LOG_TAIL_LINES = 25
_VERSION = re.compile(r"^(?P<flavour>[A-Za-z]+) server v=(?P<version>\d+\.\d+\.\d+)")
_PROCESS_ID = re.compile(rb"^process_id:(\d+)", re.MULTILINE)
# What a server logs when it lost the race for its port: the start is retried on another one.
ADDRESS_IN_USE = ("Address already in use", "Could not create server TCP listening socket")
INSTALL_HINT = (
    "Install Valkey or Redis: `apt-get install redis-server` (Debian/Ubuntu), "
    "`brew install valkey` (macOS), or pass server_binary=<path>."
)


def find_server_binary() -> str:
    """The path of ``valkey-server`` (preferred: Render runs Valkey 8), else ``redis-server``."""
    for name in ("valkey-server", "redis-server"):
        path = shutil.which(name)
        if path is not None:
            return path
    raise DataPlaneError(f"Neither valkey-server nor redis-server is on PATH. {INSTALL_HINT}")


def resolve_binary(server_binary: str | None) -> str:
    """The path of the binary to run: the one given, else :func:`find_server_binary`."""
    if server_binary is None:
        return find_server_binary()
    path = shutil.which(server_binary)
    if path is None:
        raise DataPlaneError(
            f"Server binary {server_binary!r} was not found or is not executable. {INSTALL_HINT}"
        )
    return path


def check_version(binary: str) -> tuple[str, str]:
    """The flavour ("valkey"/"redis") and version, refusing servers too old for the ACL setup."""
    try:
        result = subprocess.run(  # noqa: S603 - the binary was resolved on PATH or given by the user
            [binary, "--version"], capture_output=True, text=True, timeout=10, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as error:
        raise DataPlaneError(
            f"Could not run `{binary} --version`: {error}. {INSTALL_HINT}"
        ) from error
    match = _VERSION.match(result.stdout.strip())
    if result.returncode != 0 or match is None:
        output = (result.stdout + result.stderr).strip()[:200]
        raise DataPlaneError(
            f"`{binary} --version` did not identify a Redis/Valkey server (said {output!r}). "
            f"{INSTALL_HINT}"
        )
    version = match["version"]
    if tuple(int(part) for part in version.split(".")[:2]) < _MIN_VERSION:
        minimum = ".".join(map(str, _MIN_VERSION))
        raise DataPlaneError(
            f"{binary} is version {version}; the data plane needs Redis >= {minimum} or any "
            f"Valkey. {INSTALL_HINT}"
        )
    return match["flavour"].lower(), version


class Spawner:
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
        """Run ``launch`` (a ``Popen``) on the spawner thread and return its process."""
        if not self._thread.is_alive():
            raise DataPlaneError("This data plane is closed; create a new DataPlane.")
        future: Future[subprocess.Popen[bytes]] = Future()
        self._jobs.put((launch, future))
        return future.result()

    def start_server(self, argv: list[str], output: Path) -> subprocess.Popen[bytes]:
        """Start ``argv`` under the parent-death signal; its stdout and stderr go to ``output``."""
        command = [*death_signal_prefix(), *argv]
        with output.open("ab") as stream:
            try:
                return self.spawn(
                    lambda: subprocess.Popen(  # noqa: S603 - our own argv, no shell
                        command,
                        stdin=subprocess.DEVNULL,
                        stdout=stream,
                        stderr=stream,
                        # Its own session: a Ctrl-C meant for the emulator's terminal must not
                        # kill servers behind close()'s back; close() stops them in order.
                        start_new_session=True,
                    )
                )
            except OSError as error:
                raise DataPlaneError(f"Could not run {argv[0]}: {error}. {INSTALL_HINT}") from error

    def close(self) -> None:
        """Let the thread end once queued spawns are done."""
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


def death_signal_prefix() -> list[str]:
    """``setpriv --pdeathsig TERM --``: the kernel SIGTERMs the server when its parent thread dies.

    Linux only (util-linux's ``setpriv``, on every Debian); empty elsewhere. Done by exec'ing
    through setpriv rather than a ``preexec_fn``: running Python code between fork and exec in
    a process with gRPC's threads (the Pulumi SDK's) crashed the child with SIGSEGV.
    """
    setpriv = shutil.which("setpriv") if sys.platform.startswith("linux") else None
    return [setpriv, "--pdeathsig", "TERM", "--"] if setpriv else []


def wait_ready(process: subprocess.Popen[bytes], host: str, port: int) -> str | None:
    """Poll PING until *this* process answers PONG; None when ready, else what went wrong."""
    deadline = time.monotonic() + READY_TIMEOUT
    while True:
        code = process.poll()
        if code is not None:
            return f"the process exited with status {code}"
        pid = _answering_pid(host, port)
        if pid == process.pid:
            return None
        if pid is not None:
            # A concurrent start won the race for the port: its server answers, ours will
            # fail to bind. Without the pid check this instance would adopt that server.
            return f"Address already in use: port {port} is served by process {pid}"
        if time.monotonic() >= deadline:
            return f"no PONG within {READY_TIMEOUT:.0f} s"
        time.sleep(0.02)


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


def reap(process: subprocess.Popen[bytes], *, graceful: bool) -> None:
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


def log_size(path: Path) -> int:
    """Where a log file ends now, so :func:`log_tail` shows only what a start wrote."""
    try:
        return path.stat().st_size
    except FileNotFoundError:
        return 0


def log_tail(path: Path, offset: int) -> str:
    """The last lines written to ``path`` since ``offset``."""
    try:
        with path.open("rb") as handle:
            handle.seek(offset)
            text = handle.read().decode("utf-8", "replace")
    except FileNotFoundError:
        return ""
    lines = [line for line in text.splitlines() if line.strip()]
    return "".join(f"  {line}\n" for line in lines[-_LOG_TAIL_LINES:])
