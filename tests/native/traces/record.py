"""Record the real Pulumi engine's conversation with the render-kv provider, step by step.

Run with a ``pulumi`` CLI (and its YAML language host) on ``PATH``::

    .venv/bin/python tests/native/traces/record.py [--keep-logs DIR]

It starts the local Render emulator, copies ``program/`` to a scratch folder, prepares its
provider folder as a user does (``render-kv-provider ./provider``), and runs every step of
``scenario.STEPS`` with the CLI on a throw-away file backend, with the engine's gRPC debug log
(``PULUMI_DEBUG_GRPC``) on. It writes ``recorded/<step>.json``: the calls the engine made to
the ``render-kv`` plugin, normalised (``scenario.normalize``), with the command line and its
exit code. ``--keep-logs DIR`` keeps each raw log too (it holds passwords: for investigating
a difference, never for committing). ``tests/native/test_engine_traces.py`` replays the
steps through the harness and compares. Re-record after upgrading the CLI or the scenario.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # tests/, for native.traces

from native.traces import scenario
from pulumi_render_kv.emulator import Emulator, EmulatorSettings, RateLimitSettings
from pulumi_render_kv.native.plugin import prepare

API_KEY = "rnd_nativeTraceRecordingKey"


def provider_calls(log: Path) -> list[dict[str, Any]]:
    """The engine → provider-plugin requests in a ``PULUMI_DEBUG_GRPC`` log, in call order."""
    calls: list[dict[str, Any]] = []
    if not log.exists():
        return calls
    for line in log.read_text().splitlines():
        entry = json.loads(line)
        method = str(entry.get("method", ""))
        # Each unary call is logged twice, as it starts and as it completes; keep one.
        if not method.startswith(scenario.PROVIDER_SERVICE) or entry.get("progress") != (
            "response_completed"
        ):
            continue
        calls.append(scenario.normalize(method, entry["request"] or {}))
    return calls


def write_config(path: Path, config: Mapping[str, str]) -> None:
    """The stack's config file: the passphrase's salt (kept) and exactly ``config``."""
    kept = [
        line
        for line in (path.read_text().splitlines() if path.exists() else [])
        if line.startswith("encryptionsalt:")
    ]
    lines = [*kept, "config:" if config else "config: {}"]
    lines += [f"  {scenario.PROJECT}:{k}: {json.dumps(v)}" for k, v in sorted(config.items())]
    path.write_text("\n".join(lines) + "\n")


def cache_id(pulumi: str, cwd: Path, env: Mapping[str, str]) -> str | None:
    done = subprocess.run(
        [pulumi, "stack", "export", "--stack", scenario.STACK],
        cwd=cwd,
        env=dict(env),
        capture_output=True,
        text=True,
        check=True,
    )
    for resource in json.loads(done.stdout)["deployment"].get("resources") or []:
        if resource["urn"].endswith(f"::{scenario.KEYVALUE_TYPE}::{scenario.NAME}"):
            return str(resource["id"])
    return None


def urn() -> str:
    return (
        f"urn:pulumi:{scenario.STACK}::{scenario.PROJECT}::{scenario.KEYVALUE_TYPE}"
        f"::{scenario.NAME}"
    )


def command_line(step: scenario.Step, cid: str | None) -> list[str]:
    common = ["--stack", scenario.STACK, "--non-interactive"]
    if step.command == "preview":
        return ["preview", "--diff", *common]
    if step.command in ("up", "refresh", "destroy"):
        return [step.command, "--yes", "--skip-preview", *common]
    if step.command == "import":
        return [
            "import",
            scenario.KEYVALUE_TYPE,
            scenario.NAME,
            str(cid),
            "--yes",
            "--skip-preview",
            "--generate-code=false",
            "--protect=false",
            *common,
        ]
    raise ValueError(f"unknown command {step.command!r}")


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--keep-logs", type=Path, help="keep the raw gRPC logs in this folder")
    options = parser.parse_args()
    pulumi = shutil.which("pulumi")
    if pulumi is None:
        print("record.py: no `pulumi` on PATH", file=sys.stderr)
        return 2
    version = subprocess.run(
        [pulumi, "version"], capture_output=True, text=True, check=True
    ).stdout.strip()
    scenario.RECORDINGS.mkdir(exist_ok=True)
    settings = EmulatorSettings(port=0, rate_limits=RateLimitSettings.unlimited())
    with tempfile.TemporaryDirectory() as scratch, Emulator(settings) as emu:
        tmp = Path(scratch)
        (tmp / "backend").mkdir()
        program = tmp / "program"
        shutil.copytree(scenario.PROGRAM_DIR, program)
        prepare(program / "provider")
        env = {
            **{k: v for k, v in os.environ.items() if not k.startswith(("RENDER_", "PULUMI_"))},
            "PULUMI_BACKEND_URL": (tmp / "backend").as_uri(),
            "PULUMI_HOME": str(tmp / "home"),
            "PULUMI_CONFIG_PASSPHRASE": "native-traces",
            "PULUMI_SKIP_UPDATE_CHECK": "true",
            "PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION": "true",
            "RENDER_API_URL": emu.url,
            "RENDER_API_KEY": API_KEY,
            "RENDER_OWNER_ID": emu.owner_id,
            "RENDER_API_CLIENT_LIMITS": "off",
        }
        config_file = program / f"Pulumi.{scenario.STACK}.yaml"
        run: dict[str, Any] = {"cwd": program, "text": True, "capture_output": True, "env": env}
        subprocess.run(
            [pulumi, "stack", "init", scenario.STACK, "--non-interactive"], check=True, **run
        )
        for step in scenario.STEPS:
            cid = cache_id(pulumi, program, env)
            write_config(config_file, step.config)
            if step.forget:
                subprocess.run(
                    [pulumi, "state", "delete", urn(), "--yes", "--stack", scenario.STACK],
                    check=True,
                    **run,
                )
            log = tmp / f"{step.label}.grpc.json"
            args = command_line(step, cid)
            done = subprocess.run(
                [pulumi, *args],
                cwd=program,
                text=True,
                capture_output=True,
                env={**env, "PULUMI_DEBUG_GRPC": str(log)},
                check=False,
            )
            print(f"{step.label:<20} pulumi {' '.join(args)} → exit {done.returncode}")
            if done.returncode != 0:
                print(done.stdout, done.stderr, sep="\n", file=sys.stderr)
                return 1
            recording = {
                "pulumi": version,
                "command": ["pulumi", *args],
                "exit_code": done.returncode,
                "config": dict(step.config),
                "calls": provider_calls(log),
            }
            text = json.dumps(recording, indent=1) + "\n"
            if API_KEY in text:
                raise SystemExit(f"{step.label}: the API key reached the recording")
            scenario.recording_path(step).write_text(text)
            if options.keep_logs and log.exists():
                options.keep_logs.mkdir(parents=True, exist_ok=True)
                shutil.copy(log, options.keep_logs / log.name)
        subprocess.run(
            [pulumi, "stack", "rm", scenario.STACK, "--yes", "--force"], check=False, **run
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
