"""``render-kv doctor --stack`` on the quickstart, under the real Pulumi CLI."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import API_KEY, PULUMI, ROOT, Cli, project

if PULUMI is None:
    pytest.skip(
        "no `pulumi` CLI on PATH: tests/cli runs where the Pulumi CLI is installed",
        allow_module_level=True,
    )

QUICKSTART = ROOT / "examples" / "quickstart" / "__main__.py"


def test_doctor_reads_the_quickstart_stacks_urls(cli: Cli) -> None:
    where = project(cli.scratch / "quickstart", "render-kv-quickstart", QUICKSTART)
    cli.run("stack", "init", "dev", cwd=where)
    cli.run("up", "--yes", cwd=where)
    script = Path(sys.executable).with_name("render-kv")
    env = {**cli.env, "RENDER_KV_CA_CERT": str(cli.emu.ca_cert_path)}
    done = subprocess.run(
        [str(script), "doctor", "--stack", "dev", "-C", str(where), "--json", "--timeout", "3"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    cli.log.append(f"$ render-kv doctor --stack dev --json (exit {done.returncode})\n{done.stdout}")
    outputs = cli.outputs(where, "dev")
    # The queue's allow list admits only the office network, not this machine: its external
    # URL is refused, and the doctor says so (exit status 1); the internal URLs work.
    assert done.returncode == 1, done.stderr
    document = json.loads(done.stdout)
    targets = {t["label"]: t for t in document["targets"]}
    assert set(targets) == {"REDIS_URL", "QUEUE_URL", "QUEUE_EXTERNAL_URL"}
    assert targets["REDIS_URL"]["connected"]
    assert targets["QUEUE_URL"]["connected"]
    checks = {c["check"]: c for c in targets["QUEUE_EXTERNAL_URL"]["checks"]}
    assert checks["allow list"]["level"] == "fail"
    assert checks["allow list"]["cause"] == "your address is in none of 203.0.113.0/24"
    queue = {c["check"]: c for c in targets["QUEUE_URL"]["checks"]}
    assert queue["policy"]["level"] == "ok"
    assert queue["policy"]["summary"].startswith("noeviction, right for a queue")
    assert API_KEY not in done.stdout + done.stderr
    secret = outputs["QUEUE_EXTERNAL_URL"].split(":")[2].split("@")[0]
    assert secret not in done.stdout + done.stderr
    cli.run("destroy", "--yes", cwd=where)
