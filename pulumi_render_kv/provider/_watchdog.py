"""End the dynamic-provider process once the Pulumi engine that started it is gone.

The CLI runs every ``pulumi-python:*`` resource in ``pulumi-resource-pulumi-python``, a
``/bin/sh`` script that starts ``python -u -m pulumi.dynamic`` as its *child* (it does not
exec). When the CLI dies without shutting its plugins down (``kill -9``, the OOM killer, a CI
runner's timeout), nothing tells the SDK's server: it has no health check, the shell waits for
python, python serves forever, and a create mid-wait goes on calling Render for minutes.

One daemon thread per process watches for any of three signs, each enough on its own:

* **stdin closes.** The engine gives each plugin a stdin pipe (``cmd.StdinPipe()`` in
  ``sdk/go/common/resource/plugin/plugin.go``), never writes to it and never closes it while
  the plugin runs; the shell passes it on. The kernel closes it when the engine dies, however
  it dies, so end of file arrives at once, on every POSIX platform, through the shell.
* **our parent changes** (``os.getppid()``): for launchers that start python directly.
* **the shim's parent changes** (Linux, read from ``/proc``): when our parent is the CLI's
  shell script, its parent is the engine. The shell survives the engine, so our own parent
  never changes; its parent does.

No ``prctl(PR_SET_PDEATHSIG)``: it fires when the parent *thread* that forked us ends, and
our parent is the shell anyway. No gRPC call to the engine: the process tree and the pipe say
the same without touching it.

Armed only inside the SDK's server (``python -m pulumi.dynamic``): a test or a program that
calls the provider in-process has pytest or a shell as its parent, which is no engine.
"""

from __future__ import annotations

import contextlib
import os
import select
import stat
import sys
import threading
import time
from pathlib import Path

EXIT_CODE = 1
POLL_INTERVAL = 1.0
"""Seconds between process-tree checks; a closed stdin is seen at once."""
SERVER_MODULE = "pulumi.dynamic.__main__"
SHIM = "pulumi-resource-pulumi-python"
THREAD_NAME = "render-kv-engine-watchdog"

_lock = threading.Lock()
_armed_in: int | None = None  # the pid that armed it: a forked child arms its own


def under_dynamic_server() -> bool:
    """Whether this process is the SDK's dynamic-provider server (``-m pulumi.dynamic``)."""
    spec = getattr(sys.modules.get("__main__"), "__spec__", None)
    return getattr(spec, "name", None) == SERVER_MODULE


def start() -> bool:
    """Start the watchdog once per process, only in the SDK's server; whether one runs.

    Cheap to call again (``configure`` runs once per pickled provider, not once per process).
    """
    global _armed_in  # noqa: PLW0603 -- one watchdog per process, whoever asks first
    if not under_dynamic_server():
        return False
    with _lock:
        if _armed_in == os.getpid():
            return True
        _armed_in = os.getpid()
        watchdog = _Watchdog()
        threading.Thread(target=watchdog.run, name=THREAD_NAME, daemon=True).start()
    return True


def _parent_of(pid: int) -> int | None:
    """``pid``'s parent from ``/proc``; None when it is gone or there is no ``/proc``."""
    try:
        # The command name (field 2) is in parentheses and may hold spaces or ")".
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return int(fields[1])


def _runs_the_shim(pid: int) -> bool:
    """Whether ``pid`` is the shell running the CLI's ``pulumi-resource-pulumi-python``."""
    try:
        argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return False
    return any(os.path.basename(arg.decode(errors="replace")) == SHIM for arg in argv[:2])


def _stdin_pipe() -> int | None:
    """fd 0 when it is a pipe or socket: what the engine holds the other end of."""
    if os.name != "posix":
        return None  # select() waits on sockets only there
    try:
        mode = os.fstat(0).st_mode
    except OSError:
        return None
    return 0 if stat.S_ISFIFO(mode) or stat.S_ISSOCK(mode) else None


class _Watchdog:
    """What the engine looked like when armed, and the loop that notices it is gone."""

    def __init__(self) -> None:
        self.parent = os.getppid()
        # Under the CLI our parent is its shell script; the engine is the shell's parent.
        self.engine = _parent_of(self.parent) if _runs_the_shim(self.parent) else None
        self.stdin = _stdin_pipe()

    def run(self) -> None:
        while True:
            reason = self._wait_for_stdin_eof() if self.stdin is not None else self._pause()
            reason = reason or self._tree_changed()
            if reason is not None:
                _exit(reason)

    @staticmethod
    def _pause() -> None:
        time.sleep(POLL_INTERVAL)

    def _wait_for_stdin_eof(self) -> str | None:
        """Wait up to one interval for stdin to close; the engine never writes to it."""
        assert self.stdin is not None
        try:
            readable, _, _ = select.select([self.stdin], [], [], POLL_INTERVAL)
            if readable and not os.read(self.stdin, 65536):
                return "its stdin pipe closed"
        except OSError:
            # Not waitable after all: go on with the process tree alone.
            self.stdin = None
        return None

    def _tree_changed(self) -> str | None:
        if os.getppid() != self.parent:
            return f"parent process {self.parent} ended"
        if self.engine is not None and _parent_of(self.parent) != self.engine:
            return f"process {self.engine}, which ran {SHIM}, ended"
        return None


def _exit(reason: str) -> None:
    """One line on stderr (if anyone still reads it), then out, mid-operation or not."""
    with contextlib.suppress(OSError):
        os.write(
            2,
            f"pulumi-render-kv: the Pulumi engine is gone ({reason}); "
            f"the provider process {os.getpid()} exits\n".encode(),
        )
    # os._exit: sys.exit here would end only this thread, and an interpreter shutdown would
    # wait on the gRPC server's threads, one maybe mid-call to Render. Nothing is left to
    # flush: the engine runs the server as `python -u`, and the engine reads nothing now.
    os._exit(EXIT_CODE)
