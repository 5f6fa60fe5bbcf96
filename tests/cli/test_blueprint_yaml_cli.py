"""``render-kv-import --yaml`` under the real Pulumi CLI: generate, ``up``, no-change preview.

The Blueprint's first instance exists already (Render made it); the second does not. The
generated ``Pulumi.yaml`` runs with the provider folder ``render-kv-provider`` prepares, as
the importer tells the user: ``up`` adopts the one and creates the other, and the next
``preview --expect-no-changes`` passes. Names that are no identifier (``a.b``) and a
description with ``${…}`` go through Pulumi YAML's own parser.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from pulumi_render_kv.blueprint import main

from .conftest import API_KEY, PULUMI, Cli

if PULUMI is None:
    pytest.skip(
        "no `pulumi` CLI on PATH: tests/cli runs where the Pulumi CLI is installed",
        allow_module_level=True,
    )

BLUEPRINT = """\
services:
  - type: keyvalue
    name: pulumi
    plan: starter
    maxmemoryPolicy: allkeys-lru
    ipAllowList:
      - source: 203.0.113.0/24
        description: "office ${not.a.reference}"
  - type: keyvalue
    name: jobs.eu
    region: frankfurt
    maxmemoryPolicy: noeviction
    ipAllowList: []
"""


def _instances(cli: Cli) -> dict[str, str]:
    with httpx.Client(headers={"Authorization": f"Bearer {API_KEY}"}) as http:
        listed = http.get(f"{cli.emu.url}/key-value").json()
    return {item["keyValue"]["name"]: item["keyValue"]["id"] for item in listed}


def test_generate_up_and_a_preview_with_no_changes(cli: Cli) -> None:
    with httpx.Client(headers={"Authorization": f"Bearer {API_KEY}"}) as http:
        made = http.post(
            f"{cli.emu.url}/key-value",
            json={
                "name": "pulumi",
                "ownerId": cli.emu.owner_id,
                "plan": "starter",
                "region": "oregon",
                "maxmemoryPolicy": "allkeys_lru",
                "ipAllowList": [
                    {"cidrBlock": "203.0.113.0/24", "description": "office ${not.a.reference}"}
                ],
            },
        )
    assert made.status_code == 201, made.text
    adopted = made.json()["id"]
    (cli.scratch / "render.yaml").write_text(BLUEPRINT)
    infra = cli.scratch / "infra"
    argv = [str(cli.scratch / "render.yaml"), "-o", str(infra), "--yaml", "--project", "kv"]
    assert main(argv) == 0
    # What the importer tells the user to run (this virtualenv's console script).
    provider = Path(sys.executable).with_name("render-kv-provider")
    subprocess.run([str(provider), str(infra / "provider")], check=True, capture_output=True)
    cli.run("stack", "init", "dev", cwd=infra)

    up = cli.run("up", "--yes", cwd=infra)
    assert "adopting existing instance" in up.stdout + up.stderr
    live = _instances(cli)
    assert set(live) == {"pulumi", "jobs.eu"}
    assert live["pulumi"] == adopted
    outputs = cli.outputs(infra, "dev")
    assert outputs["pulumi.connectionString"].startswith("redis://")
    assert outputs["jobs.eu.host"]
    state = cli.export(infra, "dev")
    names = {r["urn"].rsplit("::", 1)[1] for r in state["deployment"]["resources"]}
    assert {"pulumi", "jobs.eu"} <= names
    cli.run("preview", "--expect-no-changes", cwd=infra)
    cli.run("destroy", "--yes", cwd=infra)
    assert _instances(cli) == {}
