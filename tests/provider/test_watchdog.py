"""The provider process ends once the Pulumi engine that started it is gone.

After ``kill -9`` of the CLI nothing tells the SDK's dynamic-provider server: it has no health
check, and a create mid-wait goes on calling Render. Each test here starts an engine stand-in
(``engine_stand_in.py``) that launches the real ``python -m pulumi.dynamic`` as the CLI does,
drives it over gRPC until our provider is loaded, then kills the stand-in with SIGKILL and
polls, with a deadline, for the provider process to end.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc
import pytest
from google.protobuf import struct_pb2
from pulumi.dynamic import Config, ConfigureRequest
from pulumi.runtime.proto import provider_pb2, provider_pb2_grpc

from pulumi_render_kv.emulator import Emulator, EmulatorSettings, RateLimitSettings
from pulumi_render_kv.provider import KeyValueProvider, _watchdog
from pulumi_render_kv.testing import serialize_provider

pytestmark = pytest.mark.grpc

ROOT = Path(__file__).resolve().parents[2]
STAND_IN = Path(__file__).with_name("engine_stand_in.py")
PROJECT = "render-kv-watchdog"
API_KEY = "rnd_watchdogTestKey0123456789"
# Well above the watchdog's poll interval, well below the minutes the issue saw.
EXIT_DEADLINE = 10.0
TYPE = "pulumi-python:dynamic:Resource"
URN = f"urn:pulumi:dev::{PROJECT}::{TYPE}::cache"

# The CLI's pulumi-resource-pulumi-python comes down to this line (its last branch): python
# runs as the shell's child, so the provider's parent is the shell, not the engine.
SHIM_BODY = '#!/bin/sh\n"${PULUMI_PYTHON_CMD:-python3}" -u -m pulumi.dynamic $@\n'
SHIM_NAME = "pulumi-resource-pulumi-python"

linux_only = pytest.mark.skipif(
    not sys.platform.startswith("linux"), reason="finds a shell's child in /proc"
)


class ManualClock:
    """The emulator's clock: instances stay ``creating`` until the test moves it on."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture(scope="module")
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture(scope="module")
def emulator(clock: ManualClock) -> Iterator[Emulator]:
    settings = EmulatorSettings(
        port=0,
        data_plane=False,
        create_delay=60.0,
        clock=clock,
        rate_limits=RateLimitSettings.unlimited(),
    )
    with Emulator(settings) as emu:
        yield emu


@pytest.fixture
def emu(emulator: Emulator) -> Iterator[Emulator]:
    emulator.reset()
    yield emulator
    emulator.reset()


def _alive(pid: int) -> bool:
    """Whether the process exists and is not a zombie (an orphan may be reaped late)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    except OSError:  # no /proc: ask the kernel
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        return True
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def _until(condition: Callable[[], bool], timeout: float, what: str) -> None:
    """Poll ``condition`` until it holds; fail naming ``what`` once ``timeout`` has passed."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"expected {what} within {timeout} s")
        time.sleep(0.02)


def _struct(values: dict[str, Any]) -> struct_pb2.Struct:
    struct = struct_pb2.Struct()
    struct.update(values)
    return struct


@dataclass
class Launched:
    """The engine stand-in, the provider it started, and a stub connected to the provider."""

    engine: subprocess.Popen[bytes]
    pid: int
    launcher: int
    stub: provider_pb2_grpc.ResourceProviderStub
    stderr: Path

    def load_our_provider(self) -> dict[str, Any]:
        """Configure, then Check (which unpickles KeyValueProvider and configures it)."""
        self.stub.Configure(provider_pb2.ConfigureRequest(args=_struct({}), acceptSecrets=True))
        news = {
            "name": "cache",
            "plan": "starter",
            "workload": "cache",
            "__provider": serialize_provider(KeyValueProvider()),
        }
        checked = self.stub.Check(
            provider_pb2.CheckRequest(urn=URN, type=TYPE, olds=_struct({}), news=_struct(news))
        )
        assert not checked.failures
        return dict(checked.inputs.items())

    def create(self, inputs: dict[str, Any]) -> grpc.Future:
        request = provider_pb2.CreateRequest(urn=URN, type=TYPE, properties=_struct(inputs))
        future: grpc.Future = self.stub.Create.future(request)
        return future

    def kill_engine(self) -> None:
        self.engine.send_signal(signal.SIGKILL)
        self.engine.wait()

    def stderr_text(self) -> str:
        return self.stderr.read_text(errors="replace")


@pytest.fixture
def launch(emu: Emulator, tmp_path: Path) -> Iterator[Callable[[str, str], Launched]]:
    """Start the provider through the stand-in: ``launch(stdin, launcher)``.

    ``launcher``: ``"python"`` (direct child), ``"shim"`` (a script named as the CLI's), or
    ``"script"`` (the same script under another name). Whatever a test leaves running is
    killed afterwards.
    """
    started: list[Launched] = []
    channels: list[grpc.Channel] = []

    def start(stdin: str, launcher: str) -> Launched:
        if launcher != "python":
            script = tmp_path / (SHIM_NAME if launcher == "shim" else "launch-provider.sh")
            script.write_text(SHIM_BODY)
            script.chmod(0o755)
            launcher = str(script)
        stderr = tmp_path / f"provider-stderr-{len(started)}.log"
        env = {
            **os.environ,
            "PULUMI_PROJECT": PROJECT,
            "PULUMI_PYTHON_CMD": sys.executable,
            "PROVIDER_STDERR": str(stderr),
            "RENDER_API_URL": emu.url,
            "RENDER_API_KEY": API_KEY,
            "RENDER_OWNER_ID": emu.owner_id,
            "RENDER_API_CLIENT_LIMITS": "off",
        }
        engine = subprocess.Popen(
            [sys.executable, str(STAND_IN), stdin, launcher],
            cwd=ROOT,
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
        )
        assert engine.stdout is not None
        line = engine.stdout.readline()
        assert line.startswith(b"{"), f"the stand-in printed {line!r}"
        info = json.loads(line)
        channel = grpc.insecure_channel(f"127.0.0.1:{info['port']}")
        channels.append(channel)
        grpc.channel_ready_future(channel).result(timeout=30)
        launched = Launched(
            engine,
            info["pid"],
            info["launcher"],
            provider_pb2_grpc.ResourceProviderStub(channel),
            stderr,
        )
        started.append(launched)
        return launched

    yield start
    for channel in channels:
        channel.close()
    for launched in started:
        for pid in (launched.pid, launched.launcher):
            if _alive(pid):
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
        if launched.engine.poll() is None:
            launched.engine.kill()
        launched.engine.wait()
        assert launched.engine.stdin is not None
        assert launched.engine.stdout is not None
        launched.engine.stdin.close()
        launched.engine.stdout.close()
    # The launcher shell ends once its python has: nothing of a test outlives it.
    launchers = [launched.launcher for launched in started]
    _until(lambda: not any(map(_alive, launchers)), EXIT_DEADLINE, "the launchers to end")


LAUNCHES = [
    # As the CLI does it: its shim as the parent, a stdin pipe from the engine.
    pytest.param("pipe", "shim", "its stdin pipe closed", id="cli", marks=linux_only),
    # Each sign alone: the stdin pipe (the shell is not recognised as the shim)...
    pytest.param("pipe", "script", "its stdin pipe closed", id="stdin-pipe-only", marks=linux_only),
    # ...the shim's parent, read from /proc (no stdin pipe)...
    pytest.param(
        "devnull",
        "shim",
        f"which ran {SHIM_NAME}, ended",
        id="shim-parent-only",
        marks=linux_only,
    ),
    # ...and our own parent (python started directly, no stdin pipe).
    pytest.param("devnull", "python", "parent process", id="parent-only"),
]


@pytest.mark.parametrize(("stdin", "launcher", "reason"), LAUNCHES)
def test_the_provider_exits_when_its_engine_is_killed(
    launch: Callable[[str, str], Launched], stdin: str, launcher: str, reason: str
) -> None:
    """kill -9 of the engine: the provider process ends promptly, saying why on stderr."""
    provider = launch(stdin, launcher)
    provider.load_our_provider()
    assert _alive(provider.pid)
    provider.kill_engine()
    _until(lambda: not _alive(provider.pid), EXIT_DEADLINE, "the provider to exit")
    [line] = [ln for ln in provider.stderr_text().splitlines() if "engine" in ln]
    assert line.startswith("pulumi-render-kv: the Pulumi engine is gone")
    assert reason in line
    assert f"provider process {provider.pid} exits" in line


@pytest.mark.parametrize(
    ("stdin", "launcher"),
    [
        pytest.param("pipe", "shim", id="cli", marks=linux_only),
        pytest.param("devnull", "python", id="parent-only"),
    ],
)
def test_a_create_waiting_on_render_ends_with_its_engine(
    launch: Callable[[str, str], Launched], emu: Emulator, stdin: str, launcher: str
) -> None:
    """Mid-create (the instance stays `creating`), the provider exits and stops calling Render."""
    provider = launch(stdin, launcher)
    pending = provider.create(provider.load_our_provider())
    # The POST is done and the provider polls the instance's status: mid-wait.
    _until(
        lambda: (
            emu.request_counts().get("POST", 0) == 1 and emu.request_counts().get("GET", 0) >= 2
        ),
        EXIT_DEADLINE,
        "the create to reach its wait",
    )
    provider.kill_engine()
    _until(lambda: not _alive(provider.pid), EXIT_DEADLINE, "the provider to exit")
    with pytest.raises(grpc.RpcError) as cut:
        pending.result(timeout=EXIT_DEADLINE)
    assert cut.value.code() == grpc.StatusCode.UNAVAILABLE


@linux_only
def test_a_live_engine_is_left_alone_through_a_long_create(
    launch: Callable[[str, str], Launched], emu: Emulator, clock: ManualClock
) -> None:
    """While the engine lives, a create that waits through several watchdog polls completes."""
    provider = launch("pipe", "shim")
    pending = provider.create(provider.load_our_provider())
    # The provider's backoff polls at 0, 0.5, 1.5 and 3.5 s: four reads span three seconds.
    _until(lambda: emu.request_counts().get("GET", 0) >= 4, 3 * EXIT_DEADLINE, "four status reads")
    clock.now += 120  # past the create delay: the next read says `available`
    created = pending.result(timeout=3 * EXIT_DEADLINE)
    assert created.id.startswith("red-")
    assert _alive(provider.pid)
    assert "engine is gone" not in provider.stderr_text()


def test_calling_the_provider_in_process_starts_no_watchdog() -> None:
    """Under pytest (or any program) the parent is no engine: nothing is armed, no thread."""
    before = set(threading.enumerate())
    KeyValueProvider().configure(ConfigureRequest(Config({}, PROJECT)))
    assert set(threading.enumerate()) == before
    assert _watchdog.start() is False
