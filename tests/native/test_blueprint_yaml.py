"""``render-kv-import --yaml``'s program through the real provider, as the engine runs it.

The instances exist (Render made them from the Blueprint); each generated resource's
properties, as Pulumi YAML hands them to the provider (``$$`` read as ``$``), go through
Check, then ``up`` and a second preview: every one checks without a failure, is adopted with
no write, and is then unchanged.
"""

from __future__ import annotations

from typing import Any

import yaml
from acceptance.conftest import made_outside

from pulumi_render_kv.blueprint import read_blueprint, render_yaml_program
from pulumi_render_kv.client import CidrBlockAndDescription, RenderClient
from pulumi_render_kv.emulator import Emulator

from .harness import NativeEngine, plain

BLUEPRINT = """\
services:
  - type: keyvalue
    name: cache
    plan: standard
    maxmemoryPolicy: allkeys-lfu
    ipAllowList:
      - source: 203.0.113.0/24
        description: "office ${x}"
      - source: 198.51.100.7
  - type: redis
    name: pulumi
    region: frankfurt
    maxmemoryPolicy: noeviction
    ipAllowList: []
"""


def _as_yaml_passes_it(value: Any) -> Any:
    """What Pulumi YAML sends for a written value: ``$$`` is its escape for ``$``."""
    if isinstance(value, str):
        return value.replace("$$", "$")
    if isinstance(value, dict):
        return {k: _as_yaml_passes_it(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_as_yaml_passes_it(v) for v in value]
    return value


def _resources(protect: bool = False) -> dict[str, dict[str, Any]]:
    text = render_yaml_program(read_blueprint(BLUEPRINT), "render.yaml", "kv", protect=protect)
    program = yaml.safe_load(text)
    return {
        _as_yaml_passes_it(r.get("name", key)): _as_yaml_passes_it(r["properties"])
        for key, r in program["resources"].items()
    }


def test_the_generated_resources_check_without_failures(engine: NativeEngine) -> None:
    for protect in (False, True):
        for name, properties in _resources(protect).items():
            checked = engine.check(name, {}, properties)
            assert list(checked.failures) == [], (name, checked.failures)
            inputs = plain(checked.inputs)
            assert inputs["adoptExisting"] is True
            assert (inputs["suspended"], inputs["logStream"]) == ("as-is", "as-is")


def test_the_generated_program_adopts_the_live_instances_without_a_write(
    engine: NativeEngine, emu: Emulator, dashboard: RenderClient
) -> None:
    live = {
        "cache": made_outside(
            dashboard,
            emu,
            "cache",
            plan="standard",
            maxmemory_policy="allkeys_lfu",
            ip_allow_list=[
                CidrBlockAndDescription(cidr_block="203.0.113.0/24", description="office ${x}"),
                CidrBlockAndDescription(cidr_block="198.51.100.7/32", description=""),
            ],
        ).id,
        "pulumi": made_outside(
            dashboard, emu, "pulumi", region="frankfurt", maxmemory_policy="noeviction"
        ).id,
    }
    emu.clear_requests()
    resources = _resources()
    for name, properties in resources.items():
        assert engine.up(name, properties).op == "create"
    assert {name: engine.state[name].id for name in live} == live
    counts = emu.request_counts()
    assert not {"POST", "PATCH", "PUT", "DELETE"} & set(counts), counts
    for name, properties in resources.items():
        assert engine.preview(name, properties).op == "same"
    description = engine.state["cache"].outputs["ipAllowList"][0]["description"]
    assert description == "office ${x}"
