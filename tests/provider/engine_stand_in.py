"""Starts the dynamic-provider server as the Pulumi engine starts a plugin, then waits to be killed.

``python engine_stand_in.py STDIN LAUNCHER``, run with the provider's environment and cwd:

* ``STDIN``: ``pipe``, as the engine gives every plugin (``cmd.StdinPipe()`` in the CLI's
  ``sdk/go/common/resource/plugin/plugin.go``, held open and never written for the plugin's
  life), or ``devnull``.
* ``LAUNCHER``: ``python`` runs ``python -u -m pulumi.dynamic`` as this process's child; any
  other value is the path of a ``/bin/sh`` script that does, as the CLI's
  ``pulumi-resource-pulumi-python`` does: the script runs python as *its* child (it does not
  exec), so the provider's parent is the shell, which outlives the engine.

The plugin gets its own process group, as the engine's ``cmdutil.RegisterProcessGroup`` gives
it; the provider's stderr goes to ``$PROVIDER_STDERR``. Prints one JSON line, ``{"pid": the
provider's pid, "port": its gRPC port, "launcher": the launcher's pid}``, then blocks until its
own stdin closes (the test, or the test's death) or it is killed. Reading the shell's child
from ``/proc`` makes script launchers Linux-only.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import IO

ENGINE_ADDRESS = "127.0.0.1:1"  # the engine passes its address; the SDK's server ignores it


def _child_of(pid: int, timeout: float = 10.0) -> int:
    """The one child of ``pid`` (the shell's python), which has printed its port already."""
    children = Path(f"/proc/{pid}/task/{pid}/children")
    deadline = time.monotonic() + timeout
    while not (found := children.read_text().split()):
        if time.monotonic() > deadline:
            raise SystemExit(f"process {pid} started no child within {timeout} s")
        time.sleep(0.01)
    return int(found[0])


def _drain(stream: IO[bytes]) -> None:
    for _ in stream:  # the engine reads a plugin's stdout to its end; so must this
        pass


def main() -> None:
    stdin_mode, launcher = sys.argv[1:3]
    direct = launcher == "python"
    argv = (
        [sys.executable, "-u", "-m", "pulumi.dynamic", ENGINE_ADDRESS]
        if direct
        else [launcher, ENGINE_ADDRESS]
    )
    with Path(os.environ["PROVIDER_STDERR"]).open("ab") as stderr:
        plugin = subprocess.Popen(
            argv,
            stdin=subprocess.PIPE if stdin_mode == "pipe" else subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=stderr,
            process_group=0,
        )
    assert plugin.stdout is not None
    port = plugin.stdout.readline().decode().strip()
    if not port.isdigit():
        raise SystemExit(f"the provider server printed {port!r} instead of its port")
    threading.Thread(target=_drain, args=(plugin.stdout,), daemon=True).start()
    pid = plugin.pid if direct else _child_of(plugin.pid)
    print(json.dumps({"pid": pid, "port": int(port), "launcher": plugin.pid}), flush=True)
    sys.stdin.buffer.read()


if __name__ == "__main__":
    main()
