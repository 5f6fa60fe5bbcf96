"""Interrupted, renamed and contested deployments under the real Pulumi CLI.

What users do to break things: ``kill -9`` of ``pulumi up`` while creates wait, a resource
renamed while ``adopt_existing=True`` is set, a second stack creating the same name. Each
test counts what reached the emulator: a second POST bills a twin, a DELETE loses data.
"""

from __future__ import annotations

import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from pulumi_render_kv.client import ClientLimits, RenderClient, RenderSettings
from pulumi_render_kv.emulator import Emulator, EmulatorSettings, RateLimitSettings

from .conftest import API_KEY, PULUMI, Cli, project

if PULUMI is None:
    pytest.skip(
        "no `pulumi` CLI on PATH: tests/cli runs where the Pulumi CLI is installed",
        allow_module_level=True,
    )

THREE = """\
import pulumi_render_kv as render_kv

for name in ("alpha", "beta", "gamma"):
    render_kv.KeyValue(name, plan="starter", workload="cache")
"""


def program_dir(cli: Cli, name: str, text: str) -> Path:
    source = cli.scratch / f"{name}.py"
    source.write_text(text)
    return project(cli.scratch / name, name, source)


@pytest.fixture
def slow_cli(cli: Cli) -> Iterator[Cli]:
    """The cli fixture's backend and home, aimed at an emulator whose creates take 20 s."""
    settings = EmulatorSettings(
        port=0, create_delay=20.0, rate_limits=RateLimitSettings.unlimited()
    )
    with Emulator(settings) as emu:
        env = {**cli.env, "RENDER_API_URL": emu.url, "RENDER_OWNER_ID": emu.owner_id}
        yield Cli(emu=emu, scratch=cli.scratch, env=env, log=cli.log)


def posts(emu: Emulator) -> list[int]:
    return [
        r["status"] for r in emu.requests() if (r["method"], r["path"]) == ("POST", "/v1/key-value")
    ]


def live_ids(emu: Emulator) -> list[str]:
    settings = RenderSettings.resolve(
        api_key=API_KEY, owner_id=emu.owner_id, base_url=emu.url, limits=ClientLimits.off()
    )
    with RenderClient(settings) as client:
        return sorted(kv.id for kv in client.list_key_value())


def deletes(emu: Emulator) -> int:
    return sum(
        1
        for r in emu.requests()
        if r["method"] == "DELETE" and r["path"].startswith("/v1/key-value")
    )


def providers() -> set[int]:
    """Pids of dynamic-provider processes (``python -m pulumi.dynamic``) on this machine."""
    found = set()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            argv = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if b"pulumi.dynamic" in argv:
            found.add(int(entry.name))
    return found


def wait_for(condition: object, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():  # type: ignore[operator]
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


def test_kill_9_mid_create_then_the_next_up_makes_no_twin(slow_cli: Cli) -> None:
    """kill -9 of `pulumi up` while 3 creates wait: no orphaned provider, no second POST, and
    the one command the error names takes all three over."""
    where = program_dir(slow_cli, "three", THREE)
    slow_cli.run("stack", "init", "dev", cwd=where)
    before = providers()
    up = subprocess.Popen(
        [str(PULUMI), "up", "--yes", "--non-interactive", "--skip-preview"],
        cwd=where,
        env=slow_cli.env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for(lambda: len(posts(slow_cli.emu)) == 3, 120, "three POSTs")
        started = providers() - before
        assert started, "the CLI started a dynamic provider"
        up.send_signal(signal.SIGKILL)
        up.wait(timeout=10)
        # The provider notices its engine is gone and exits (it was seen running for minutes).
        wait_for(lambda: not (started & providers()), 15, "the provider to exit")
    finally:
        if up.poll() is None:
            up.kill()
    # A killed CLI leaves its lock on the backend: `pulumi cancel` is the documented way out.
    locked = slow_cli.run("up", "--yes", "--skip-preview", cwd=where, check=False)
    assert "the stack is currently locked" in locked.stderr
    slow_cli.run("cancel", "--yes", cwd=where)
    # The next up does not create them again: it names them and the repair.
    again = slow_cli.run("up", "--yes", "--skip-preview", cwd=where, check=False)
    assert again.returncode != 0
    assert "NameTaken" in again.stdout + again.stderr
    assert "RENDER_KV_ADOPT=" in again.stdout
    assert posts(slow_cli.emu) == [201, 201, 201]
    listed = live_ids(slow_cli.emu)
    ids = ",".join(listed)
    slow_cli.run("up", "--yes", "--skip-preview", cwd=where, env={"RENDER_KV_ADOPT": ids})
    assert posts(slow_cli.emu) == [201, 201, 201]
    # The engine keeps warning of the killed run's pending creates until told they are done.
    assert slow_cli.export(where, "dev")["deployment"].get("pending_operations")
    slow_cli.run("refresh", "--clear-pending-creates", "--yes", "--skip-preview", cwd=where)
    exported = slow_cli.export(where, "dev")
    held = sorted(
        r["id"] for r in exported["deployment"]["resources"] if r["type"].endswith("KeyValue")
    )
    assert held == listed
    assert not exported["deployment"].get("pending_operations")
    slow_cli.run("preview", "--expect-no-changes", cwd=where)
    slow_cli.run("destroy", "--yes", "--skip-preview", cwd=where)
    assert deletes(slow_cli.emu) == 3
