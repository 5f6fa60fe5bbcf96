"""The policy pack and render-kv-import under the real Pulumi CLI, against the emulator.

``pulumi preview --policy-pack`` loads examples/policy-pack as the CLI loads any Python pack
and must block a production stack on its mandatory rules; a program written by
render-kv-import must adopt existing instances on its first ``pulumi up`` without a write.
"""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import pytest
import yaml

from pulumi_render_kv.blueprint import main as render_kv_import
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


def test_imported_blueprint_adopts_existing_instances_under_the_cli(cli: Cli) -> None:
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
    generated = cli.scratch / "generated"
    assert render_kv_import([str(cli.scratch / "render.yaml"), "-o", str(generated)]) == 0
    where = project(cli.scratch / "imported", "render-kv-imported", generated / "__main__.py")
    cli.run("stack", "init", "prod", cwd=where)
    cli.emu.clear_requests()

    cli.run("up", "--yes", cwd=where)
    counts = cli.emu.request_counts()
    assert not {"POST", "PATCH", "DELETE"} & set(counts), counts
    cli.run("preview", "--expect-no-changes", cwd=where)
    outputs = cli.outputs(where, "prod")
    for name, url in urls.items():
        assert outputs[f"{name}.connectionString"] == url
        assert outputs[f"{name}.host"] == url.split("//")[1].split(":")[0]
        assert outputs[f"{name}.port"] == int(url.rsplit(":", 1)[1])
    cli.run("destroy", "--yes", cwd=where)
