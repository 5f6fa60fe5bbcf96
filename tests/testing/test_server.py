"""ProviderServer: the SDK's `python -m pulumi.dynamic` as a child process over gRPC."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from pulumi_render_kv.testing import (
    Engine,
    ProviderServer,
    ProviderServerError,
    dynamic_goal,
    secret,
)

from .conftest import start_server
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
