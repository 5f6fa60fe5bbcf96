"""``make demo``: the quickstart, end to end, against the local Render emulator.

1. Starts the emulator (Render's API on a free local port; every instance a real
   valkey-server/redis-server).
2. Runs ``examples/quickstart`` (a cache and a job queue) as stack ``dev``:
   - with the Pulumi CLI when it is installed: ``pulumi preview --diff``, ``pulumi up``,
     ``pulumi stack output``, ``pulumi destroy``, on a copy of the project in a throw-away
     folder with a throw-away local backend;
   - otherwise through ``pulumi_render_kv.testing``, which drives the SDK's own provider
     server exactly as the CLI would, and prints the same kind of plan.
3. Connects to the cache with the exported ``REDIS_URL`` and to the queue's external TLS
   endpoint with ``QUEUE_EXTERNAL_URL``, shows that a second preview plans nothing, and
   tears everything down.

``python -m pulumi_render_kv.demo playground DIR`` (``make playground``) copies the
quickstart and the app stack to DIR, to edit and run with the CLI in this virtualenv.

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

import yaml

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"
QUICKSTART = EXAMPLES / "quickstart" / "__main__.py"
# The examples `make playground` copies (each to a folder of the same name).
PLAYGROUND_EXAMPLES = ("quickstart", "app-stack")
PROJECT = "render-kv-quickstart"
STACK = "dev"
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


def copy_example(example: str, dest: Path, virtualenv: Path) -> Path:
    """``examples/<example>`` as a project in ``dest`` that runs in ``virtualenv``.

    The example's own Pulumi.yaml names a virtualenv of its own, filled from its
    requirements.txt by ``pulumi install``; the copy names ``virtualenv`` instead (for
    ``make playground`` and ``make demo``, the checkout's .venv, where pulumi-render-kv is
    installed from the checkout), so it runs at once and needs no requirements.txt.
    """
    source = EXAMPLES / example
    dest.mkdir(parents=True)
    shutil.copy(source / "__main__.py", dest / "__main__.py")
    project = yaml.safe_load((source / "Pulumi.yaml").read_text())
    project["runtime"]["options"]["virtualenv"] = str(virtualenv)
    (dest / "Pulumi.yaml").write_text(
        f"# A copy of examples/{example}, run in the virtualenv below (the one this copy was\n"
        "# made from): edit it freely, `make test` never reads it.\n"
        + yaml.safe_dump(project, sort_keys=False)
    )
    return dest


def playground(dest: Path) -> int:
    """``make playground``: the quickstart and the app stack in ``dest``, and what to run next."""
    dest = dest.expanduser().absolute()
    if dest.exists() and any(dest.iterdir()):
        print(
            f"playground: {dest} already exists and is not empty; edit what is there, or "
            "choose another folder (make playground DIR=...)",
            file=sys.stderr,
        )
        return 1
    for example in PLAYGROUND_EXAMPLES:
        copy_example(example, dest / example, Path(sys.prefix))
    state = dest / ".pulumi-state"
    state.mkdir()
    bin_dir = Path(sys.prefix) / "bin"
    print(f"playground: {dest}/quickstart and {dest}/app-stack, copies of examples/ to edit.")
    print("With the Pulumi CLI, against the local emulator (stack state in .pulumi-state):\n")
    print(
        f"  {bin_dir / 'render-kv-emulator'} &   # prints RENDER_API_URL=http://127.0.0.1:PORT/v1"
    )
    print("  export RENDER_API_URL=http://127.0.0.1:PORT/v1 RENDER_API_KEY=anything")
    print(f"  export PULUMI_BACKEND_URL={state.as_uri()} PULUMI_CONFIG_PASSPHRASE=demo")
    print(f"  cd {dest / 'quickstart'} && pulumi stack init dev && pulumi up")
    print("  pulumi stack output --show-secrets")
    print("  cd ../app-stack && pulumi stack init dev && pulumi up")
    return 0


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
        # A fresh provider process per command, as the CLI starts one: a provider that ran
        # the `up` itself would keep, at destroy, what this deployment created (a rename's
        # guard), and the demo would leave its instances behind.
        engine = Engine(server, stack=STACK, config=DEMO_CONFIG)  # a process per command
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
    # A copy of the quickstart in a throw-away folder, with a throw-away backend: nothing of
    # the user's own stacks or files (examples/ included) is touched.
    with tempfile.TemporaryDirectory() as scratch:
        project = copy_example("quickstart", Path(scratch) / "quickstart", Path(sys.prefix))
        env = {
            **os.environ,
            **_env(url, owner_id),
            "PULUMI_BACKEND_URL": (Path(scratch) / "backend").as_uri(),
            "PULUMI_CONFIG_PASSPHRASE": "local-emulator-demo",
            "PULUMI_SKIP_UPDATE_CHECK": "true",
        }
        (Path(scratch) / "backend").mkdir()

        def cli(*args: str, quiet: bool = False) -> str:
            """Runs ``pulumi *args`` under a header, its output shown; ``quiet``: neither
            (for setup, and for output the demo reads rather than shows)."""
            if not quiet:
                _say("pulumi " + " ".join(args))
            done = subprocess.run(  # noqa: S603 -- the user's own pulumi binary
                [pulumi, *args, "--stack", STACK, "--non-interactive"],
                cwd=project,
                env=env,
                check=True,
                text=True,
                capture_output=quiet,
            )
            return done.stdout or ""

        cli("stack", "init")
        for key, value in DEMO_CONFIG.items():
            cli("config", "set", key, value, quiet=True)
        cli("config")
        try:
            cli("preview", "--diff")
            cli("up", "--yes", "--diff")
            # What `pulumi stack output` shows (secrets masked); the URLs to connect with are
            # read with --show-secrets, and never printed.
            cli("stack", "output")
            outputs = json.loads(cli("stack", "output", "--json", "--show-secrets", quiet=True))
            _say("connect with the exported (secret) URLs")
            _connect(outputs, ca_cert)
            cli("preview", "--expect-no-changes")
        finally:
            cli("destroy", "--yes")


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if args and args[0] == "playground":
        if len(args) != 2:
            print("usage: python -m pulumi_render_kv.demo playground DIR", file=sys.stderr)
            return 2
        return playground(Path(args[1]))
    if args:
        print("usage: python -m pulumi_render_kv.demo [playground DIR]", file=sys.stderr)
        return 2

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
