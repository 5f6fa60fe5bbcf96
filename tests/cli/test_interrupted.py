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
from contextlib import contextmanager
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


@contextmanager
def slow(cli: Cli, **delays: float) -> Iterator[Cli]:
    """The cli fixture's backend and home, aimed at an emulator with these delays."""
    settings = EmulatorSettings(port=0, rate_limits=RateLimitSettings.unlimited(), **delays)
    with Emulator(settings) as emu:
        env = {**cli.env, "RENDER_API_URL": emu.url, "RENDER_OWNER_ID": emu.owner_id}
        yield Cli(emu=emu, scratch=cli.scratch, env=env, log=cli.log)


@pytest.fixture
def slow_cli(cli: Cli) -> Iterator[Cli]:
    """Creates take 20 s."""
    with slow(cli, create_delay=20.0) as tool:
        yield tool


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


def interrupt(process: subprocess.Popen[bytes], how: str) -> None:
    """Stop the CLI as a user does: ``kill -9``, or Ctrl-C twice (the second one is "now")."""
    if how == "kill-9":
        process.send_signal(signal.SIGKILL)
    else:
        process.send_signal(signal.SIGINT)
        time.sleep(0.5)  # a person's second Ctrl-C, after the first one's message
        process.send_signal(signal.SIGINT)
    process.wait(timeout=30)


def start(cli: Cli, where: Path, *args: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [str(PULUMI), *args, "--yes", "--non-interactive", "--skip-preview"],
        cwd=where,
        env=cli.env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


@contextmanager
def running(cli: Cli, where: Path, command: str) -> Iterator[subprocess.Popen[bytes]]:
    """`pulumi <command>` in the background; killed on the way out if still running."""
    process = start(cli, where, command)
    try:
        yield process
    finally:
        if process.poll() is None:
            process.kill()


def unlock(cli: Cli, where: Path) -> None:
    """What the README says after an interrupted command: `pulumi cancel` if it is locked."""
    # (preview takes no lock, so it cannot tell; cancel says so itself when nothing is locked)
    cancelled = cli.run("cancel", "--yes", cwd=where, check=False)
    assert cancelled.returncode == 0 or "no update" in cancelled.stderr.lower(), cancelled.stderr


@pytest.mark.parametrize("how", ["kill-9", "ctrl-c-twice"])
def test_an_interrupted_create_leaves_no_provider_and_the_next_up_no_twin(
    slow_cli: Cli, how: str
) -> None:
    """`pulumi up` stopped while 3 creates wait: no orphaned provider, no second POST, and the
    one command the error names takes all three over."""
    where = program_dir(slow_cli, "three", THREE)
    slow_cli.run("stack", "init", "dev", cwd=where)
    before = providers()
    with running(slow_cli, where, "up") as up:
        wait_for(lambda: len(posts(slow_cli.emu)) == 3, 120, "three POSTs")
        started = providers() - before
        assert started, "the CLI started a dynamic provider"
        interrupt(up, how)
        # The provider notices its engine is gone and exits (it was seen running for minutes).
        wait_for(lambda: not (started & providers()), 15, "the provider to exit")
    unlock(slow_cli, where)
    # The next up does not create them again: it names them and the repair.
    again = slow_cli.run("up", "--yes", "--skip-preview", cwd=where, check=False)
    assert again.returncode != 0
    assert "NameTaken" in again.stdout + again.stderr
    assert "RENDER_KV_ADOPT=" in again.stdout
    # One line on each resource: none of the SDK server's or our frames around it. (The
    # stack's KeyboardInterrupt traceback is the language host's, stopped by the engine.)
    assert "dynamic/__main__.py" not in again.stdout
    assert "pulumi_render_kv/provider" not in again.stdout
    assert posts(slow_cli.emu) == [201, 201, 201]
    listed = live_ids(slow_cli.emu)
    ids = ",".join(listed)
    slow_cli.run("up", "--yes", "--skip-preview", cwd=where, env={"RENDER_KV_ADOPT": ids})
    assert posts(slow_cli.emu) == [201, 201, 201]
    # The engine keeps warning of the killed run's pending creates until told they are done.
    if slow_cli.export(where, "dev")["deployment"].get("pending_operations"):
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


ONE_POLICY = """import pulumi
import pulumi_render_kv as render_kv

policy = pulumi.Config().get("policy") or "allkeys_lru"
render_kv.KeyValue("cache", plan="starter", maxmemory_policy=policy)
"""


def test_kill_9_mid_update_then_up_converges(cli: Cli) -> None:
    """Killed while a restarting PATCH waits: the next up sends it again (a PATCH repeats
    safely) and ends with the change recorded."""
    with slow(cli, restart_delay=20.0) as slow_cli:
        emu = slow_cli.emu
        where = program_dir(slow_cli, "update", ONE_POLICY)
        slow_cli.run("stack", "init", "dev", cwd=where)
        slow_cli.run("up", "--yes", cwd=where)
        slow_cli.run("config", "set", "policy", "noeviction", cwd=where)
        with running(slow_cli, where, "up") as up:
            wait_for(lambda: any(r["method"] == "PATCH" for r in emu.requests()), 60, "the PATCH")
            interrupt(up, "kill-9")
        unlock(slow_cli, where)
        slow_cli.run("up", "--yes", "--skip-preview", cwd=where)
        slow_cli.run("preview", "--expect-no-changes", cwd=where)
        [kv_id] = live_ids(emu)
        outputs = slow_cli.export(where, "dev")["deployment"]["resources"]
        [state] = [r for r in outputs if r.get("id") == kv_id]
        assert state["outputs"]["maxmemoryPolicy"] == "noeviction"
        slow_cli.run("destroy", "--yes", "--skip-preview", cwd=where)


def test_kill_9_mid_destroy_then_destroy_converges(cli: Cli) -> None:
    """Killed while the DELETE is in flight: the next destroy meets a 404 and is done."""
    where = program_dir(cli, "destroy", ONE_POLICY)
    cli.run("stack", "init", "dev", cwd=where)
    cli.run("up", "--yes", cwd=where)
    cli.emu.inject_fault("DELETE", "/v1/key-value/*", delay=10.0)  # Render acts, then answers
    with running(cli, where, "destroy") as down:
        wait_for(lambda: cli.emu.faults.pending() == [], 60, "the DELETE to reach the emulator")
        interrupt(down, "kill-9")
    unlock(cli, where)
    cli.run("destroy", "--yes", "--skip-preview", cwd=where)
    assert live_ids(cli.emu) == []
    left = cli.export(where, "dev")["deployment"].get("resources") or []
    assert not [r for r in left if r["type"].endswith("KeyValue")]


ADOPTING = """\
import pulumi_render_kv as render_kv

render_kv.KeyValue(
    {resource!r}, name="cache", plan="starter", workload="cache", adopt_existing=True
)
"""


def test_renaming_an_adopting_resource_deletes_nothing(cli: Cli) -> None:
    """The rename the engine runs as create-then-delete keeps the instance: one provider
    process serves the whole deployment, so the delete sees the create's holding."""
    where = program_dir(cli, "rename", ADOPTING.format(resource="cache"))
    cli.run("stack", "init", "dev", cwd=where)
    cli.run("up", "--yes", cwd=where)
    [kv_id] = live_ids(cli.emu)
    (where / "__main__.py").write_text(ADOPTING.format(resource="cache-v2"))
    preview = cli.run("preview", cwd=where)
    assert "+ 1 to create" in preview.stdout
    assert "- 1 to delete" in preview.stdout
    done = cli.run("up", "--yes", cwd=where)
    assert "leaves this stack's state but is not deleted" in done.stdout + done.stderr
    assert deletes(cli.emu) == 0
    assert live_ids(cli.emu) == [kv_id]
    cli.run("preview", "--expect-no-changes", cwd=where)
    cli.run("destroy", "--yes", cwd=where)
    assert live_ids(cli.emu) == []


def test_a_second_stack_with_the_same_names_stops_before_its_post(cli: Cli) -> None:
    """Two stacks of one program in one workspace: the second names the first's instances."""
    where = program_dir(cli, "stacks", THREE)
    for stack in ("dev", "prod"):
        cli.run("stack", "init", stack, cwd=where)
    cli.run("up", "--yes", "--stack", "dev", cwd=where)
    second = cli.run("up", "--yes", "--stack", "prod", cwd=where, check=False)
    assert second.returncode != 0
    assert "prefix it with the stack name" in second.stdout
    assert posts(cli.emu) == [201, 201, 201]
    # prod's failure left dev's instances alone: dev still converges and destroys them.
    cli.run("preview", "--expect-no-changes", "--stack", "dev", cwd=where)
    cli.run("destroy", "--yes", "--stack", "dev", cwd=where)
    assert live_ids(cli.emu) == []
