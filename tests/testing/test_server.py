"""ProviderServer: the SDK's `python -m pulumi.dynamic` as a child process over gRPC."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from pulumi_render_kv.testing import (
    Engine,
    ProviderServer,
    ProviderServerError,
    dynamic_goal,
    secret,
)

from .conftest import PROJECT_ROOT, start_server
from .memprovider import MemProvider, Store

pytestmark = pytest.mark.grpc


def _process_exists(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_configure_answers_accept_secrets_false(server: ProviderServer) -> None:
    """The SDK server refuses secrets, which is why the engine strips them before each call."""
    response = server.configure({"token": secret("t"), "other:flag": "x"})
    assert response.acceptSecrets is False
    assert response.supportsPreview is False


def test_close_stops_the_process_and_is_idempotent() -> None:
    """close() ends the child process; a second close() is harmless; the stub is gone."""
    srv = start_server()
    pid = srv.pid
    assert pid is not None
    assert srv.is_running()
    assert srv.port > 0
    srv.close()
    srv.close()
    assert not srv.is_running()
    assert not _process_exists(pid)
    assert srv not in ProviderServer.open_servers()
    with pytest.raises(ProviderServerError, match="closed"):
        _ = srv.stub
    srv.cleanup()


def test_context_manager_stops_process_and_removes_its_log() -> None:
    """Leaving the `with` block stops the process and deletes the temporary stderr log."""
    with start_server() as srv:
        pid = srv.pid
        log = srv.stderr_path
        assert log.exists()
    assert pid is not None
    assert not _process_exists(pid)
    assert not log.exists()


def test_environment_project_and_stderr_reach_the_provider(tmp_path: Path) -> None:
    """PULUMI_PROJECT and env overrides are visible to the provider; its stderr is captured."""
    store = Store(tmp_path / "store.json")
    with start_server(env={"HARNESS_MARK": "42"}) as srv:
        engine = Engine(srv, stack="env")
        goal = dynamic_goal(
            MemProvider(str(store.path)),
            "a",
            {"name": "a", "size": 1},
            module="memprov",
            type_name="MemResource",
        )
        engine.up([goal])
        text = srv.stderr_text()
        engine.destroy()
    configure = store.log("configure")[0]
    assert configure["env_mark"] == "42"
    assert configure["project"] == "harness"
    assert "memprovider: created obj-1" in text


def test_restart_starts_a_new_process(tmp_path: Path) -> None:
    """restart() replaces the process (as each CLI command does) and the server still answers."""
    with start_server(stderr_path=tmp_path / "err.log") as srv:
        first = srv.pid
        srv.restart()
        assert srv.pid != first
        assert srv.starts == 2
        assert first is not None
        assert not _process_exists(first)
        assert srv.configure({}).acceptSecrets is False


def test_startup_failure_reports_the_servers_stderr(tmp_path: Path) -> None:
    """A server that dies before printing its port raises with what it wrote to stderr."""
    broken = tmp_path / "broken"
    (broken / "pulumi").mkdir(parents=True)
    (broken / "pulumi" / "__init__.py").write_text(
        "import sys\nsys.stderr.write('broken pulumi for the test\\n')\nraise SystemExit(3)\n"
    )
    before = set(ProviderServer.open_servers())
    with pytest.raises(ProviderServerError, match="broken pulumi for the test") as info:
        ProviderServer(cwd=tmp_path, project="p", pythonpath=[broken], python=sys.executable)
    assert "exit code 3" in str(info.value)
    assert set(ProviderServer.open_servers()) == before


def _alive(pid: int) -> bool:
    """Whether the process exists and is not a zombie (orphans may be reaped late in containers)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


@pytest.mark.skipif(
    not sys.platform.startswith("linux") or shutil.which("setpriv") is None,
    reason="the parent-death signal needs Linux and util-linux's setpriv",
)
def test_server_dies_with_its_killed_parent_but_not_with_the_thread_that_started_it() -> None:
    """SIGKILL on the test process (no close, no atexit) still ends the provider server.

    The server is started from a thread that ends right away: the parent-death signal must be
    tied to the process's lifetime, not to that thread's.
    """
    script = (
        "import sys, threading, time\n"
        "from pulumi_render_kv.testing import ProviderServer\n"
        "box = []\n"
        "worker = threading.Thread(\n"
        "    target=lambda: box.append(ProviderServer(cwd=sys.argv[1], project='p'))\n"
        ")\n"
        "worker.start()\n"
        "worker.join()\n"
        "time.sleep(0.5)  # a signal tied to the worker thread would have arrived by now\n"
        "server = box[0]\n"
        "server.configure({})\n"
        "print(server.pid, flush=True)\n"
        "sys.stdin.read()\n"
    )
    env = {**os.environ, "PYTHONPATH": str(PROJECT_ROOT)}
    pid = 0
    try:
        with subprocess.Popen(
            [sys.executable, "-c", script, str(PROJECT_ROOT)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            env=env,
            cwd=PROJECT_ROOT,
        ) as owner:
            try:
                assert owner.stdout is not None
                line = owner.stdout.readline()
                assert line.strip().isdigit(), f"the owner printed {line!r}"
                pid = int(line)
                assert _alive(pid)
            finally:
                owner.send_signal(signal.SIGKILL)
                owner.wait()
        deadline = time.monotonic() + 10
        while _alive(pid) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not _alive(pid), "the provider server outlived its killed parent"
    finally:
        if pid and _alive(pid):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
