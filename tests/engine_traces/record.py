"""Record the real Pulumi engine's conversation with our dynamic provider, step by step.

Run with a ``pulumi`` CLI (and its Python language host) on ``PATH``::

    .venv/bin/python tests/engine_traces/record.py [--keep-logs DIR]

It starts the local Render emulator, runs every step of ``scenario.STEPS`` with the CLI on a
throw-away file backend, with the engine's gRPC debug log (``PULUMI_DEBUG_GRPC``) on, and
writes ``recorded/<step>.json``: the calls the engine made to the ``pulumi-python`` provider
plugin, normalised (see ``scenario.normalize``), with the command line and its exit code.
``--keep-logs DIR`` also keeps each step's raw gRPC log there (it holds passwords and the
API key's neighbours: for investigating a difference, never for committing).
``tests/testing/test_engine_traces.py`` replays the same steps through the harness and
compares. Re-record after upgrading the Pulumi CLI or changing the scenario.
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

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/, for engine_traces

from engine_traces import scenario

from pulumi_render_kv.emulator import Emulator, EmulatorSettings


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


def cache_id(pulumi: str, env: Mapping[str, str]) -> str | None:
    done = subprocess.run(
        [pulumi, "stack", "export", "--stack", scenario.STACK],
        cwd=scenario.PROGRAM_DIR,
        env=dict(env),
        capture_output=True,
        text=True,
        check=True,
    )
    for resource in json.loads(done.stdout)["deployment"].get("resources") or []:
        if resource["urn"].endswith(f"::{scenario.KEYVALUE_TYPE}::cache"):
            return str(resource["id"])
    return None


def command_line(step: scenario.Step, resolved: Mapping[str, str], cid: str | None) -> list[str]:
    common = ["--stack", scenario.STACK, "--non-interactive"]
    if step.command == "preview":
        return ["preview", "--diff", *common]
    if step.command in ("up", "refresh", "destroy"):
        return [step.command, "--yes", "--skip-preview", *common]
    if step.command == "import":
        return [
            "import",
            scenario.KEYVALUE_TYPE,
            "imported",
            str(cid),
            "--yes",
            "--skip-preview",
            "--generate-code=false",
            *common,
        ]
    raise ValueError(f"unknown command {step.command!r}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
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
    with tempfile.TemporaryDirectory() as scratch, Emulator(EmulatorSettings(port=0)) as emu:
        tmp = Path(scratch)
        (tmp / "backend").mkdir()
        env = {
            **os.environ,
            "PULUMI_BACKEND_URL": (tmp / "backend").as_uri(),
            "PULUMI_HOME": str(tmp / "home"),
            "PULUMI_CONFIG_PASSPHRASE": "engine-traces",
            "PULUMI_SKIP_UPDATE_CHECK": "true",
            "RENDER_API_URL": emu.url,
            "RENDER_API_KEY": "rnd_engineTraceRecordingKey",
            "RENDER_OWNER_ID": emu.owner_id,
            "RENDER_API_CLIENT_LIMITS": "off",
        }
        config_file = scenario.PROGRAM_DIR / f"Pulumi.{scenario.STACK}.yaml"
        environment = emu.add_environment("production")
        run = {"cwd": scenario.PROGRAM_DIR, "text": True, "capture_output": True}
        subprocess.run(
            [pulumi, "stack", "init", scenario.STACK, "--non-interactive"],
            env=env,
            check=True,
            **run,  # type: ignore[call-overload]
        )
        try:
            for step in scenario.STEPS:
                cid = cache_id(pulumi, env)
                ids = {scenario.CACHE_ID: cid, scenario.ENVIRONMENT_ID: environment}
                resolved = scenario.resolve_config(step.config, ids)
                write_config(config_file, resolved)
                log = tmp / f"{step.label}.grpc.json"
                args = command_line(step, resolved, cid)
                done = subprocess.run(
                    [pulumi, *args],
                    env={**env, "PULUMI_DEBUG_GRPC": str(log)},
                    check=False,
                    **run,  # type: ignore[call-overload]
                )
                failed = done.returncode != 0
                print(f"{step.label:<20} pulumi {' '.join(args)} → exit {done.returncode}")
                if failed != step.expect_failure:
                    print(done.stdout, done.stderr, sep="\n", file=sys.stderr)
                    return 1
                recording = {
                    "pulumi": version,
                    "command": ["pulumi", *args],
                    "exit_code": done.returncode,
                    "config": dict(step.config),
                    "calls": provider_calls(log),
                }
                scenario.recording_path(step).write_text(json.dumps(recording, indent=1) + "\n")
                if options.keep_logs and log.exists():
                    options.keep_logs.mkdir(parents=True, exist_ok=True)
                    shutil.copy(log, options.keep_logs / log.name)
        finally:
            subprocess.run(
                [pulumi, "stack", "rm", scenario.STACK, "--yes", "--force"],
                env=env,
                check=False,
                **run,  # type: ignore[call-overload]
            )
            config_file.unlink(missing_ok=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
