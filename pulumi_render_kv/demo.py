"""``make demo``: the quickstart, end to end, against the local Render emulator.

1. Starts the emulator (Render's API on a free local port; every instance a real
   valkey-server/redis-server).
2. Runs ``examples/quickstart`` (a cache and a job queue):
   - with the Pulumi CLI when it is installed: ``pulumi preview --diff``, ``pulumi up``,
     ``pulumi stack output``, ``pulumi destroy``, on a throw-away local backend;
   - otherwise through ``pulumi_render_kv.testing``, which drives the SDK's own provider
     server exactly as the CLI would, and prints the same kind of plan.
3. Connects to the cache with the exported ``REDIS_URL`` and to the queue's external TLS
   endpoint with ``QUEUE_EXTERNAL_URL``, shows that a second preview plans nothing, and
   tears everything down.

This module imports the emulator and the test harness; nothing on the provider's path
imports it.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
QUICKSTART = ROOT / "examples" / "quickstart" / "__main__.py"
PROJECT = "render-kv-quickstart"
DEMO_API_KEY = "rnd_localEmulatorDemoKey"
DEMO_CONFIG = {"extraAllowedCidr": "127.0.0.1/32"}


def _say(text: str) -> None:
    print(f"\n=== {text}", flush=True)


def _connect(outputs: Mapping[str, Any], ca_cert: Path | None) -> None:
    import redis  # noqa: PLC0415 -- part of the emulator extra

    with redis.Redis.from_url(str(outputs["REDIS_URL"])) as cache:
        cache.set("demo:greeting", "hello from pulumi-render-kv")
        value = cache.get("demo:greeting")
        policy = cache.config_get("maxmemory-policy")["maxmemory-policy"]
        print(
            f"cache  {outputs['REDIS_HOST']}:{int(outputs['REDIS_PORT'])}: GET → {value!r}, "
            f"maxmemory-policy={policy}"
        )
    with redis.Redis.from_url(
        str(outputs["QUEUE_EXTERNAL_URL"]), ssl_ca_certs=str(ca_cert) if ca_cert else None
    ) as queue:
        queue.lpush("demo:jobs", "job-1")
        print(
            f"queue  external TLS endpoint: LLEN demo:jobs → {queue.llen('demo:jobs')}, "
            f"maxmemory-policy={queue.config_get('maxmemory-policy')['maxmemory-policy']}"
        )


def _env(url: str, owner_id: str) -> dict[str, str]:
    return {
        "RENDER_API_URL": url,
        "RENDER_API_KEY": DEMO_API_KEY,
        "RENDER_OWNER_ID": owner_id,
        # The emulator is local: no need to pace requests under Render's rate limits.
        "RENDER_API_CLIENT_LIMITS": "off",
    }


def run_with_harness(url: str, owner_id: str, ca_cert: Path | None) -> None:
    import runpy  # noqa: PLC0415

    from pulumi_render_kv.testing import (  # noqa: PLC0415
        Engine,
        ProviderServer,
        format_value,
        render_plan,
        run_program,
    )

    def program() -> None:
        runpy.run_path(str(QUICKSTART), run_name="__main__")

    print("The Pulumi CLI is not installed: driving the SDK's provider server the way the CLI")
    print("does (pulumi_render_kv.testing). With the CLI, this is `pulumi preview` / `up`.")
    with (
        tempfile.TemporaryDirectory() as tmp,
        ProviderServer(
            cwd=ROOT,
            project=PROJECT,
            env=_env(url, owner_id),
            stderr_path=Path(tmp) / "provider.log",
        ) as server,
    ):
        engine = Engine(server, stack="dev", config=DEMO_CONFIG)
        try:
            _say("pulumi preview --diff")
            print(render_plan(run_program(program, engine, preview=True).plan))
            _say("pulumi up")
            result = run_program(program, engine, preview=False)
            print(render_plan(result.plan))
            for line in result.plan.stderr:
                print(f"  provider: {line}")
            _say("pulumi stack output")
            for key, value in sorted(result.outputs.items()):
                shown = "[secret]" if key in result.secret_outputs else format_value(value)
                print(f"  {key:<20} {shown}")
            _say("connect with the exported (secret) URLs")
            _connect(result.outputs, ca_cert)
            _say("pulumi preview (again): nothing to do")
            again = run_program(program, engine, preview=True)
            print(render_plan(again.plan, diff=False))
        finally:
            _say("pulumi destroy")
            print(render_plan(engine.destroy(), diff=False))


def run_with_cli(pulumi: str, url: str, owner_id: str, ca_cert: Path | None) -> None:
    # A throw-away backend, stack and config file: nothing of the user's own stacks (or
    # Pulumi.<stack>.yaml files in the checkout) is touched.
    with tempfile.TemporaryDirectory() as scratch:
        stack = f"render-kv-demo-{os.getpid()}"
        config_file = str(Path(scratch) / "Pulumi.demo.yaml")
        env = {
            **os.environ,
            **_env(url, owner_id),
            "PULUMI_BACKEND_URL": (Path(scratch) / "backend").as_uri(),
            "PULUMI_CONFIG_PASSPHRASE": "local-emulator-demo",
            "PULUMI_SKIP_UPDATE_CHECK": "true",
        }
        (Path(scratch) / "backend").mkdir()

        def cli(*args: str, capture: bool = False) -> str:
            _say("pulumi " + " ".join(args))
            done = subprocess.run(  # noqa: S603 -- the user's own pulumi binary
                [pulumi, *args, "--stack", stack, "--non-interactive"],
                cwd=QUICKSTART.parent,
                env=env,
                check=True,
                text=True,
                capture_output=capture,
            )
            return done.stdout or ""

        def with_config(*args: str) -> tuple[str, ...]:
            return (*args, "--config-file", config_file)

        cli("stack", "init")
        try:
            for key, value in DEMO_CONFIG.items():
                cli(*with_config("config", "set", key, value))
            try:
                cli(*with_config("preview", "--diff"))
                cli(*with_config("up", "--yes", "--diff"))
                outputs = json.loads(
                    cli("stack", "output", "--json", "--show-secrets", capture=True)
                )
                _say("connect with the exported (secret) URLs")
                _connect(outputs, ca_cert)
                cli(*with_config("preview", "--expect-no-changes"))
            finally:
                cli(*with_config("destroy", "--yes"))
        finally:
            # Also removes the Pulumi.<stack>.yaml `stack init` wrote next to the project.
            cli("stack", "rm", "--yes", "--force")


def main() -> int:
    from pulumi_render_kv.emulator import Emulator, EmulatorSettings  # noqa: PLC0415

    if not QUICKSTART.is_file():
        print(
            f"demo: {QUICKSTART} not found; run `make demo` from a clone of the repository",
            file=sys.stderr,
        )
        return 2
    _say("starting the local Render emulator")
    with Emulator(EmulatorSettings(port=0)) as emu:
        print(f"RENDER_API_URL={emu.url}  (workspace {emu.owner_id})")
        pulumi = shutil.which("pulumi")
        if pulumi:
            run_with_cli(pulumi, emu.url, emu.owner_id, emu.ca_cert_path)
        else:
            run_with_harness(emu.url, emu.owner_id, emu.ca_cert_path)
        calls = emu.request_counts()
    per_method = dict(sorted(calls.items()))
    _say(f"done: the emulator served {sum(calls.values())} API requests {per_method}")
    print("every instance and server process has been stopped")
    return 0


if __name__ == "__main__":
    sys.exit(main())
