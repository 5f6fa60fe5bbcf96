"""The SDK's own dynamic-provider server, run as a child process and reached over gRPC.

This is the process the Pulumi CLI starts for every ``pulumi-python:*`` resource (the shim
``pulumi-resource-pulumi-python`` runs ``python -u -m pulumi.dynamic <engine address>``). The
SDK's ``__main__`` ignores its arguments: it listens on ``127.0.0.1:0`` and prints the port on
stdout. The provider's logs (``print(file=sys.stderr)``, ``pulumi.log.*``) go to stderr, which
is captured to a file here.

Nothing outlives the test process: ``close()``, an ``atexit`` hook, and on Linux a parent-death
signal for the case where Python dies without running either (SIGKILL, a crash, a CI timeout).
"""

from __future__ import annotations

import atexit
import json
import os
import queue
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import weakref
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future
from pathlib import Path
from types import TracebackType
from typing import IO, Any

import grpc
from pulumi.runtime.proto import provider_pb2, provider_pb2_grpc

from . import _values

_LIVE: weakref.WeakSet[ProviderServer] = weakref.WeakSet()


class ProviderServerError(RuntimeError):
    """The provider server could not be started or reached. The message says what to check."""


def _kill_leftovers() -> None:
    for server in list(_LIVE):
        server.close()


atexit.register(_kill_leftovers)


def _death_signal_prefix() -> list[str]:
    """``setpriv --pdeathsig TERM --``: the kernel SIGTERMs the child when its parent thread dies.

    Linux only (util-linux's ``setpriv``); empty elsewhere, where ``close()`` and ``atexit``
    remain. Exec'ing through setpriv rather than a ``preexec_fn``: Python code between fork and
    exec in a process running gRPC's threads can crash the child. A deliberate duplicate of
    ``emulator._process.death_signal_prefix``: the harness and the emulator import nothing
    from each other, and sharing four lines is not worth a common module.
    """
    setpriv = shutil.which("setpriv") if sys.platform.startswith("linux") else None
    return [setpriv, "--pdeathsig", "TERM", "--"] if setpriv else []


class _Spawner:
    """Runs every fork/exec of a provider server on one thread that lives as long as Python.

    The parent-death signal fires when the *thread* that forked the child ends, not the
    process; a ProviderServer may be created or restarted from a short-lived thread (a worker,
    a program's thread, a timeout watchdog), which would SIGTERM the server in mid-use. Forking
    from this daemon thread ties the child's lifetime to the Python process instead. Started
    lazily (again after a ``fork()`` of the test process, which keeps no threads).
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._jobs: queue.SimpleQueue[
            tuple[Callable[[], subprocess.Popen[bytes]], Future[subprocess.Popen[bytes]]]
        ] = queue.SimpleQueue()

    def spawn(self, launch: Callable[[], subprocess.Popen[bytes]]) -> subprocess.Popen[bytes]:
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                # A daemon: it must not keep the interpreter from exiting; atexit closes the
                # servers, and at exit the process (all its threads) is gone anyway.
                self._thread = threading.Thread(
                    target=self._serve, name="provider-server-spawner", daemon=True
                )
                self._thread.start()
        future: Future[subprocess.Popen[bytes]] = Future()
        self._jobs.put((launch, future))
        return future.result()

    def _serve(self) -> None:
        while True:
            launch, future = self._jobs.get()
            if future.set_running_or_notify_cancel():
                try:
                    future.set_result(launch())
                except BaseException as error:  # handed to the caller, re-raised there
                    future.set_exception(error)


_SPAWNER = _Spawner()


class _Launched:
    """A provider process started but not yet attached: its pipes and its stdout reader."""

    def __init__(self, proc: subprocess.Popen[bytes], stderr_file: IO[bytes], env: dict[str, str]):
        self.proc = proc
        self.stderr_file = stderr_file
        self.env = env
        self.stdout_lines: list[str] = []
        self.first_line: queue.Queue[str] = queue.Queue(maxsize=1)
        self.reader = threading.Thread(
            target=self._drain_stdout, name=f"provider-stdout-{proc.pid}", daemon=True
        )
        self.reader.start()

    def _drain_stdout(self) -> None:
        # The SDK prints the port first; anything else a provider prints to stdout is kept (the
        # engine shows it as info diagnostics). Reading until EOF also keeps the pipe from filling.
        assert self.proc.stdout is not None
        sent = False
        for raw in self.proc.stdout:
            line = raw.decode("utf-8", "replace").rstrip("\n")
            if not sent:
                self.first_line.put(line)
                sent = True
            self.stdout_lines.append(line)
        if not sent:
            self.first_line.put("")

    def stop(self) -> None:
        """SIGTERM, then SIGKILL; close the pipes. Idempotent."""
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.reader.join(timeout=5)
        if self.proc.stdout is not None:
            self.proc.stdout.close()
        self.stderr_file.close()


def namespaced_config(config: Mapping[str, Any], project: str) -> dict[str, Any]:
    """Stack config with every key in ``<namespace>:<key>`` form; bare keys get ``project``."""
    return {(key if ":" in key else f"{project}:{key}"): value for key, value in config.items()}


class ProviderServer:
    """A running ``python -u -m pulumi.dynamic`` process and a gRPC stub connected to it.

    The process starts in the constructor and stops in :meth:`close` (also on ``with`` exit and,
    as a last resort, at interpreter exit). ``cwd`` must be a directory from which the modules
    that define your providers can be imported, since providers pickled by reference are
    imported there; ``pythonpath`` entries are prepended to ``PYTHONPATH`` for the same purpose.
    ``env`` overrides entries of the inherited environment; ``PULUMI_PROJECT`` is always set to
    ``project``, as the engine does.
    """

    def __init__(
        self,
        *,
        cwd: str | os.PathLike[str],
        project: str,
        env: Mapping[str, str] | None = None,
        pythonpath: Sequence[str | os.PathLike[str]] = (),
        python: str | None = None,
        ready_timeout: float = 30.0,
        stderr_path: str | os.PathLike[str] | None = None,
    ) -> None:
        self.cwd = Path(cwd)
        self.project = project
        self.python = python or sys.executable
        self.ready_timeout = ready_timeout
        self._env = self._build_env(env, pythonpath)
        self._tmpdir: tempfile.TemporaryDirectory[str] | None = None
        if stderr_path is None:
            self._tmpdir = tempfile.TemporaryDirectory(prefix="pulumi-dynamic-")
            stderr_path = Path(self._tmpdir.name) / "provider-stderr.log"
        self.stderr_path = Path(stderr_path)
        self.stderr_path.write_bytes(b"")
        self._current: _Launched | None = None
        # After a first restart, the next process is started ahead, while the current one
        # serves: a fresh process per operation then costs a connect, not an interpreter start.
        self._spare: _Launched | None = None
        self._channel: grpc.Channel | None = None
        self._stub: provider_pb2_grpc.ResourceProviderStub | None = None
        self.port = 0
        self.starts = 0
        self.used = False
        try:
            self._start()
        except BaseException:
            self.cleanup()
            raise

    # -- lifecycle -------------------------------------------------------------------------

    def _build_env(
        self, overrides: Mapping[str, str] | None, pythonpath: Sequence[str | os.PathLike[str]]
    ) -> dict[str, str]:
        env = dict(os.environ)
        env.update(overrides or {})
        extra = [os.fspath(p) for p in pythonpath]
        if extra:
            current = env.get("PYTHONPATH", "")
            env["PYTHONPATH"] = os.pathsep.join([*extra, *([current] if current else [])])
        env["PULUMI_PROJECT"] = self.project
        return env

    @property
    def _proc(self) -> subprocess.Popen[bytes] | None:
        return self._current.proc if self._current is not None else None

    @property
    def _stderr_file(self) -> IO[bytes] | None:
        return self._current.stderr_file if self._current is not None else None

    @property
    def _stdout_lines(self) -> list[str]:
        return self._current.stdout_lines if self._current is not None else []

    def _launch(self) -> _Launched:
        stderr_file = self.stderr_path.open("ab")
        argv = [*_death_signal_prefix(), self.python, "-u", "-m", "pulumi.dynamic"]
        env = dict(self._env)
        try:
            proc = _SPAWNER.spawn(
                lambda: subprocess.Popen(  # noqa: S603 -- fixed argv: this interpreter, a module
                    argv,
                    cwd=self.cwd,
                    env=env,
                    stdin=subprocess.DEVNULL,
                    stdout=subprocess.PIPE,
                    stderr=stderr_file,
                )
            )
        except BaseException:
            stderr_file.close()
            raise
        return _Launched(proc, stderr_file, env)

    def _start(self, *, spare: _Launched | None = None) -> None:
        deadline = time.monotonic() + self.ready_timeout
        self._current = spare if spare is not None else self._launch()
        _LIVE.add(self)
        self.starts += 1
        self.used = False
        try:
            self.port = self._wait_for_port(self._current.first_line, deadline)
            self._channel = grpc.insecure_channel(f"127.0.0.1:{self.port}")
            grpc.channel_ready_future(self._channel).result(
                timeout=max(0.1, deadline - time.monotonic())
            )
        except BaseException:
            self.close()
            raise
        self._stub = provider_pb2_grpc.ResourceProviderStub(self._channel)

    def _wait_for_port(self, first: queue.Queue[str], deadline: float) -> int:
        try:
            line = first.get(timeout=max(0.1, deadline - time.monotonic()))
        except queue.Empty:
            raise ProviderServerError(
                f"the provider server printed no port within {self.ready_timeout}s; "
                f"its stderr says:\n{self.stderr_text()}"
            ) from None
        try:
            return int(line.strip())
        except ValueError:
            proc = self._proc
            code = proc.wait(timeout=5) if proc is not None and line == "" else None
            raise ProviderServerError(
                f"the provider server did not print its port (exit code {code}, first line "
                f"{line!r}); check that `{self.python} -m pulumi.dynamic` works in {self.cwd}. "
                f"Its stderr says:\n{self.stderr_text()}"
            ) from None

    def _close_current(self) -> None:
        if self._channel is not None:
            self._channel.close()
            self._channel = None
        self._stub = None
        if self._current is not None:
            self._current.stop()

    def close(self) -> None:
        """Stop the process (SIGTERM, then SIGKILL), close the channel and the files. Idempotent."""
        self._close_current()
        if self._spare is not None:
            self._spare.stop()
            self._spare = None
        _LIVE.discard(self)

    def restart(self, *, env: Mapping[str, str | None] | None = None) -> None:
        """Start a fresh process, as each CLI command does (new provider cache, new configure()).

        ``env`` changes the environment first, as a user's ``export``/``unset`` between two
        commands does (``None`` removes a variable); the change stays for later restarts.
        """
        for key, value in (env or {}).items():
            if value is None:
                self._env.pop(key, None)
            else:
                self._env[key] = value
        spare, self._spare = self._spare, None
        if spare is not None and (spare.env != self._env or spare.proc.poll() is not None):
            spare.stop()  # started for another environment, or it died: not this command's
            spare = None
        self._close_current()
        self._start(spare=spare)
        self._spare = self._launch()

    def cleanup(self) -> None:
        """:meth:`close`, then delete the temporary directory holding the stderr log, if any."""
        self.close()
        if self._tmpdir is not None:
            self._tmpdir.cleanup()
            self._tmpdir = None

    def __enter__(self) -> ProviderServer:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.cleanup()

    @classmethod
    def open_servers(cls) -> tuple[ProviderServer, ...]:
        """Servers whose process was started and not yet closed (for leak assertions)."""
        return tuple(s for s in _LIVE if s.pid is not None)

    # -- introspection ---------------------------------------------------------------------

    @property
    def pid(self) -> int | None:
        """The process id, or None when never started."""
        return self._proc.pid if self._proc is not None else None

    def is_running(self) -> bool:
        """Whether the process is alive."""
        return self._proc is not None and self._proc.poll() is None

    @property
    def returncode(self) -> int | None:
        """The exit code once the process has ended."""
        return self._proc.poll() if self._proc is not None else None

    def stderr_text(self, since: int = 0) -> str:
        """What the provider process wrote to stderr (from byte offset ``since``)."""
        stderr_file = self._stderr_file
        if stderr_file is not None and not stderr_file.closed:
            stderr_file.flush()
        with self.stderr_path.open("rb") as f:
            f.seek(since)
            return f.read().decode("utf-8", "replace")

    def stderr_size(self) -> int:
        """The current size of the stderr log, to pass later as ``since``."""
        return self.stderr_path.stat().st_size

    def stdout_lines(self) -> list[str]:
        """Lines the process printed to stdout (the first is the port)."""
        return list(self._stdout_lines)

    @property
    def stub(self) -> provider_pb2_grpc.ResourceProviderStub:
        """The gRPC stub; raises when the server is closed."""
        if self._stub is None:
            raise ProviderServerError("the provider server is closed")
        return self._stub

    # -- the one RPC every operation starts with -------------------------------------------

    def configure(self, config: Mapping[str, Any]) -> provider_pb2.ConfigureResponse:
        """Send ``Configure`` as the engine does: the whole stack config, secrets kept.

        Marks the server :attr:`used` (an engine restarts a used server when asked to give
        each operation a fresh process).
        """
        return self.send_configure(self.configure_request(config))

    def configure_request(
        self,
        config: Mapping[str, Any],
        *,
        provider_id: str = "",
        urn: str = "",
        name: str = "",
        type: str = "",
    ) -> provider_pb2.ConfigureRequest:
        """The ``ConfigureRequest`` the engine sends for this stack config.

        Keys without a namespace get the project's. Values are sent as-is in ``args`` (secret
        wrappers included; the SDK server unwraps them) and as strings in the legacy
        ``variables`` map, where the engine files every key under the provider's own package
        (``pulumi-python:config:<ns>:<key>``). ``provider_id``/``urn``/``name``/``type``
        identify the provider resource, as the engine sends them to a default provider.
        """
        full = namespaced_config(config, self.project)
        variables: dict[str, str] = {}
        for key, value in full.items():
            plain = _values.reveal(value)
            variables[f"pulumi-python:config:{key}"] = (
                plain if isinstance(plain, str) else json.dumps(plain, sort_keys=True)
            )
        request = provider_pb2.ConfigureRequest(
            id=provider_id,
            urn=urn,
            name=name,
            type=type,
            variables=variables,
            args=_values.to_struct(full, keep_secrets=True),
            acceptSecrets=True,
            acceptResources=True,
            sends_old_inputs=True,
            sends_old_inputs_to_delete=True,
        )
        return request

    def send_configure(
        self, request: provider_pb2.ConfigureRequest
    ) -> provider_pb2.ConfigureResponse:
        """Send a ``ConfigureRequest`` built by :meth:`configure_request`; marks :attr:`used`."""
        self.used = True
        response: provider_pb2.ConfigureResponse = self.stub.Configure(request)
        return response
