"""The real Pulumi CLI against the local emulator: each test its own backend, emulator and stack.

These tests drive the examples exactly as a user does (``pulumi preview``, ``up``,
``refresh``, ``stack export``, ...), with a ``pulumi`` found on ``PATH``. Where there is none
(CI, a fresh machine) every test is skipped with one reason; the rest of the suite drives the
same provider through ``pulumi_render_kv.testing``, whose requests are checked against the
real engine's by ``tests/testing/test_engine_traces.py``.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from pulumi_render_kv.emulator import Emulator, EmulatorSettings, RateLimitSettings

ROOT = Path(__file__).resolve().parents[2]
PULUMI = shutil.which("pulumi")
API_KEY = "rnd_cliSuiteKeyDoNotLeak0123456789"
PASSPHRASE = "cli-suite-passphrase"
COMMAND_TIMEOUT = 300

pytestmark = [pytest.mark.cli, pytest.mark.dataplane]


def project(directory: Path, name: str, program: Path) -> Path:
    """A copy of an example ``program`` as project ``name``, run with this run's virtualenv."""
    directory.mkdir(parents=True, exist_ok=True)
    shutil.copy(program, directory / "__main__.py")
    (directory / "Pulumi.yaml").write_text(
        f"name: {name}\n"
        "runtime:\n"
        "  name: python\n"
        "  options:\n"
        "    toolchain: pip\n"
        f"    virtualenv: {json.dumps(sys.prefix)}\n"
    )
    return directory


@dataclass
class Cli:
    """``pulumi`` with a private file backend and ``PULUMI_HOME``, aimed at one emulator."""

    emu: Emulator
    scratch: Path
    env: dict[str, str] = field(default_factory=dict)
    log: list[str] = field(default_factory=list)

    def run(
        self,
        *args: str,
        cwd: Path,
        check: bool = True,
        env: Mapping[str, str | None] | None = None,
    ) -> subprocess.CompletedProcess[str]:
        assert PULUMI is not None
        full_env = dict(self.env)
        for key, value in (env or {}).items():
            if value is None:
                full_env.pop(key, None)
            else:
                full_env[key] = value
        done = subprocess.run(
            [PULUMI, *args, "--non-interactive"],
            cwd=cwd,
            env=full_env,
            text=True,
            capture_output=True,
            timeout=COMMAND_TIMEOUT,
            check=False,
        )
        self.log.append(
            f"$ pulumi {' '.join(args)}  (exit {done.returncode})\n{done.stdout}{done.stderr}"
        )
        if check and done.returncode != 0:
            raise AssertionError(
                f"pulumi {' '.join(args)} exited {done.returncode}:\n{done.stdout}\n{done.stderr}"
            )
        return done

    def outputs(self, cwd: Path, stack: str) -> dict[str, Any]:
        done = self.run("stack", "output", "--json", "--show-secrets", "--stack", stack, cwd=cwd)
        result: dict[str, Any] = json.loads(done.stdout)
        return result

    def export(self, cwd: Path, stack: str) -> dict[str, Any]:
        done = self.run("stack", "export", "--stack", stack, cwd=cwd)
        result: dict[str, Any] = json.loads(done.stdout)
        return result


@pytest.fixture
def cli(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Cli]:
    assert PULUMI is not None, "test_cli.py skips itself when there is no CLI"
    backend = tmp_path / "backend"
    backend.mkdir()
    settings = EmulatorSettings(port=0, rate_limits=RateLimitSettings.unlimited())
    with Emulator(settings) as emu:
        env = {
            key: value
            for key, value in os.environ.items()
            if not key.startswith(("RENDER_", "PULUMI_"))
        }
        env.update(
            PULUMI_BACKEND_URL=backend.as_uri(),
            PULUMI_HOME=str(tmp_path / "pulumi-home"),
            PULUMI_CONFIG_PASSPHRASE=PASSPHRASE,
            PULUMI_SKIP_UPDATE_CHECK="true",
            PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION="true",
            RENDER_API_URL=emu.url,
            RENDER_API_KEY=API_KEY,
            RENDER_OWNER_ID=emu.owner_id,
            RENDER_API_CLIENT_LIMITS="off",
        )
        tool = Cli(emu=emu, scratch=tmp_path, env=env)
        yield tool
        (tmp_path / "commands.log").write_text("\n".join(tool.log))
        # Nothing outlives a test: whatever a failed test left is destroyed with the emulator.
