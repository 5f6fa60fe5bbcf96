"""The policy pack and render-kv-import under the real Pulumi CLI, against the emulator.

``pulumi preview --policy-pack`` loads examples/policy-pack as the CLI loads any Python pack
and must block a production stack on its mandatory rules; the project written by
render-kv-import must run as the README says (the CLI makes its virtualenv from its
requirements.txt) and adopt existing instances on its first ``pulumi up`` without a write.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from pulumi_render_kv.client import (
    CidrBlockAndDescription,
    ClientLimits,
    KeyValuePOSTInput,
    RenderClient,
    RenderSettings,
)

from .conftest import API_KEY, PULUMI, ROOT, Cli, project

if PULUMI is None:
    pytest.skip(
        "no `pulumi` CLI on PATH: tests/cli runs where the Pulumi CLI is installed",
        allow_module_level=True,
    )

RISKY = """\
import pulumi_render_kv as render_kv

render_kv.KeyValue("jobs", plan="free", workload="cache", ip_allow_list=["0.0.0.0/0"])
render_kv.KeyValue(
    "queue", plan="starter", workload="queue", persistence_mode="snapshot",
    deletion_protection=True,
)
"""


def policy_pack(cli: Cli) -> Path:
    """examples/policy-pack, run with this run's virtualenv (as ``project`` does for programs)."""
    pack = cli.scratch / "policy-pack"
    shutil.copytree(ROOT / "examples" / "policy-pack", pack)
    manifest = yaml.safe_load((pack / "PulumiPolicy.yaml").read_text())
    manifest["runtime"]["options"]["virtualenv"] = sys.prefix
    (pack / "PulumiPolicy.yaml").write_text(yaml.safe_dump(manifest))
    return pack


def test_policy_pack_blocks_a_production_preview(cli: Cli) -> None:
    (cli.scratch / "risky.py").write_text(RISKY)
    where = project(cli.scratch / "risky", "render-kv-risky", cli.scratch / "risky.py")
    pack = policy_pack(cli)
    config = cli.scratch / "policy-config.json"
    config.write_text(
        json.dumps({"render-kv-queue-durable": {"allowedPersistenceModes": ["journal_snapshot"]}})
    )

    cli.run("stack", "init", "prod-eu", cwd=where)
    prod = cli.run(
        "preview",
        "--policy-pack",
        str(pack),
        "--policy-pack-config",
        str(config),
        cwd=where,
        check=False,
    )
    assert prod.returncode != 0, "mandatory violations fail the preview"
    shown = prod.stdout + prod.stderr
    for expected in (
        "[mandatory]  render-kv-no-open-allow-list",
        "KeyValue 'jobs' breaks render-kv-no-open-allow-list: ipAllowList admits 0.0.0.0/0 "
        "(the whole internet) on production stack 'prod-eu'",
        "KeyValue 'jobs' breaks render-kv-no-free-plan: plan is 'free' on production stack",
        "KeyValue 'jobs' breaks render-kv-deletion-protection: deletionProtection is False",
        "KeyValue 'queue' breaks render-kv-queue-durable: persistenceMode is 'snapshot'",
    ):
        assert expected in shown, shown
    assert "KeyValue 'queue' breaks render-kv-deletion-protection" not in shown
    assert cli.emu.request_counts() == {}, "a preview of new resources calls no API"

    # On a stack that is not production only the queue rule applies.
    cli.run("stack", "init", "dev", cwd=where)
    dev = cli.run(
        "preview",
        "--policy-pack",
        str(pack),
        "--policy-pack-config",
        str(config),
        cwd=where,
        check=False,
    )
    shown = dev.stdout + dev.stderr
    assert "render-kv-queue-durable" in shown
    assert "render-kv-no-free-plan" not in shown
    assert "render-kv-no-open-allow-list" not in shown


BLUEPRINT = """\
services:
  - type: web
    name: api
    runtime: python
  - type: keyvalue
    name: cache
    maxmemoryPolicy: allkeys-lru
    ipAllowList: []
  - type: redis
    name: jobs
    plan: standard
    region: frankfurt
    maxmemoryPolicy: noeviction
    ipAllowList:
      - source: 203.0.113.0/24
        description: office
"""


def requirement_lines(path: Path) -> list[str]:
    return [line for line in path.read_text().splitlines() if line and not line.startswith("#")]


def render_kv_import(cli: Cli, *args: str) -> subprocess.CompletedProcess[str]:
    """The console script pip installed, run as a user runs it (the README's command)."""
    script = Path(sys.prefix) / "bin" / "render-kv-import"
    done = subprocess.run(
        [str(script), *args],
        cwd=cli.scratch,
        env=cli.env,
        text=True,
        capture_output=True,
        timeout=60,
        check=False,
    )
    cli.log.append(f"$ render-kv-import {' '.join(args)}  (exit {done.returncode})\n{done.stdout}")
    assert done.returncode == 0, done.stderr
    return done


# The virtualenv the CLI creates for the generated project installs pulumi from PyPI: minutes
# on a cold pip cache, where the other tests take seconds.
@pytest.mark.timeout(900)
def test_the_readme_workflow_adopts_existing_instances_under_the_cli(cli: Cli) -> None:
    """README: `render-kv-import render.yaml -o infra --project my-kv`, then in infra/
    `pulumi stack init prod && pulumi up`, with nothing set up by hand in between."""
    dashboard = RenderClient(
        RenderSettings.resolve(
            api_key=API_KEY,
            owner_id=cli.emu.owner_id,
            base_url=cli.emu.url,
            limits=ClientLimits.off(),
        )
    )
    with dashboard:
        cache = dashboard.create_key_value(
            KeyValuePOSTInput(
                name="cache",
                owner_id=cli.emu.owner_id,
                plan="starter",
                maxmemory_policy="allkeys_lru",
                ip_allow_list=[],
            )
        )
        jobs = dashboard.create_key_value(
            KeyValuePOSTInput(
                name="jobs",
                owner_id=cli.emu.owner_id,
                plan="standard",
                region="frankfurt",
                maxmemory_policy="noeviction",
                ip_allow_list=[
                    CidrBlockAndDescription(cidr_block="203.0.113.0/24", description="office")
                ],
            )
        )
        urls = {
            kv.name: dashboard.retrieve_key_value_connection_info(
                kv.id
            ).get_internal_connection_string()
            for kv in (cache, jobs)
        }
    (cli.scratch / "render.yaml").write_text(BLUEPRINT)
    render_kv_import(cli, "render.yaml", "-o", "infra", "--project", "my-kv")
    infra = cli.scratch / "infra"
    cli.run("stack", "init", "prod", cwd=infra)
    cli.emu.clear_requests()

    up = cli.run("up", "--yes", cwd=infra)
    assert (infra / "venv" / "bin" / "python").exists(), "the CLI created the virtualenv"
    # This run's package is installed from the checkout (`make venv`: pip install -e .), so
    # that is what the project's requirements.txt installed: no package index has it.
    assert requirement_lines(infra / "requirements.txt")[0] == f"-e {ROOT}"
    counts = cli.emu.request_counts()
    assert not {"POST", "PATCH", "DELETE"} & set(counts), counts
    for kv in (cache, jobs):
        assert f"Key Value {kv.name!r}: adopting existing instance {kv.id}" in up.stdout, up.stdout
    cli.run("preview", "--expect-no-changes", cwd=infra)
    outputs = cli.outputs(infra, "prod")
    for name, url in urls.items():
        assert outputs[f"{name}.connectionString"] == url
        assert outputs[f"{name}.host"] == url.split("//")[1].split(":")[0]
        assert outputs[f"{name}.port"] == int(url.rsplit(":", 1)[1])

    # The policy pack stops this production stack until the import says --protect.
    pack = policy_pack(cli)
    blocked = cli.run("preview", "--policy-pack", str(pack), cwd=infra, check=False)
    assert blocked.returncode != 0
    shown = blocked.stdout + blocked.stderr
    for name in ("cache", "jobs"):
        assert f"KeyValue {name!r} breaks render-kv-deletion-protection" in shown, shown
    render_kv_import(
        cli, "render.yaml", "-o", "infra", "--project", "my-kv", "--protect", "--force"
    )
    passed = cli.run("preview", "--policy-pack", str(pack), cwd=infra)
    assert " breaks " not in passed.stdout + passed.stderr
    cli.run("destroy", "--yes", cwd=infra)  # the state is not protected yet: nothing was up
