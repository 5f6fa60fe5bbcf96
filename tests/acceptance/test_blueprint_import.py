"""render-kv-import end to end: Blueprint → generated program → the harness → the emulator.

Each Blueprint describes instances that already exist (created first through the API, as
Render created them from the Blueprint). The generated program's first `up` must adopt every
one of them without a single write (no POST, no PATCH), and its stack outputs must be the
live instances' ``fromService`` properties.
"""

from __future__ import annotations

import runpy
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from google.protobuf import struct_pb2
from pulumi.runtime.proto import analyzer_pb2
from pulumi_policy import EnforcementLevel
from pulumi_policy.policy import _PolicyAnalyzerServicer

from pulumi_render_kv.blueprint import main
from pulumi_render_kv.client import (
    CidrBlockAndDescription,
    KeyValuePOSTInput,
    RenderClient,
    ResourceLogStreamPUTInput,
)
from pulumi_render_kv.emulator import Emulator
from pulumi_render_kv.policy import PACK_NAME, policies
from pulumi_render_kv.testing import Engine, ResourceState, run_program

pytestmark = [pytest.mark.grpc, pytest.mark.dataplane]

# Each case: the Blueprint, and the instances Render made from it (name, plan, region,
# policy in the API's spelling, allow list).
Live = tuple[str, str, str, str, list[tuple[str, str]]]
CASES: dict[str, tuple[str, list[Live]]] = {
    "internal-only": (
        """\
services:
  - type: keyvalue
    name: cache
    plan: starter
    maxmemoryPolicy: allkeys-lru
    ipAllowList: [] # Only allow internal connections
""",
        [("cache", "starter", "oregon", "allkeys_lru", [])],
    ),
    "open": (
        """\
services:
  - type: keyvalue
    name: public-cache
    region: frankfurt
    plan: standard
    maxmemoryPolicy: allkeys-lfu
    ipAllowList:
      - source: 0.0.0.0/0
        description: everywhere
""",
        [("public-cache", "standard", "frankfurt", "allkeys_lfu", [("0.0.0.0/0", "everywhere")])],
    ),
    "office-ranges-underscored": (
        """\
services:
  - type: keyvalue
    name: sessions
    plan: pro
    region: virginia
    maxmemoryPolicy: volatile_lru
    ipAllowList:
      - source: 203.0.113.0/24
        description: office
      - source: 198.51.100.7
      - source: 2001:db8::/32
        description: office v6
""",
        [
            (
                "sessions",
                "pro",
                "virginia",
                "volatile_lru",
                [
                    ("198.51.100.7/32", ""),
                    ("203.0.113.0/24", "office"),
                    ("2001:db8::/32", "office v6"),
                ],
            )
        ],
    ),
    "redis-alias-defaults-and-other-services": (
        """\
services:
  - type: web
    name: api
    runtime: python
    envVars:
      - key: REDIS_URL
        fromService: {type: redis, name: jobs, property: connectionString}
  - type: redis
    name: jobs
    maxmemoryPolicy: noeviction
    ipAllowList: []
  - type: keyvalue
    name: ttl-cache
    maxmemoryPolicy: volatile-ttl
    previewPlan: starter
    ipAllowList:
      - source: 10.0.0.0/8
        description: vpn
""",
        [
            ("jobs", "starter", "oregon", "noeviction", []),
            ("ttl-cache", "starter", "oregon", "volatile_ttl", [("10.0.0.0/8", "vpn")]),
        ],
    ),
}


def generate(tmp_path: Path, blueprint: str, *options: str) -> Callable[[], None]:
    tmp_path.mkdir(parents=True, exist_ok=True)
    (tmp_path / "render.yaml").write_text(blueprint)
    out = tmp_path / "program"
    argv = [str(tmp_path / "render.yaml"), "-o", str(out), "--project", "imported", *options]
    assert main(argv) == 0
    program = out / "__main__.py"
    return lambda: runpy.run_path(str(program), run_name="__main__")


def create_live(dashboard: RenderClient, emu: Emulator, live: list[Live]) -> list[str]:
    """The instances, as Render made them from the Blueprint; their ids, in order."""
    return [
        dashboard.create_key_value(
            KeyValuePOSTInput(
                name=name,
                owner_id=emu.owner_id,
                plan=plan,
                region=region,
                maxmemory_policy=policy,
                ip_allow_list=[
                    CidrBlockAndDescription(cidr_block=c, description=d) for c, d in allow
                ],
            )
        ).id
        for name, plan, region, policy, allow in live
    ]


@pytest.mark.parametrize("case", list(CASES))
def test_first_up_adopts_everything_and_writes_nothing(
    case: str, tmp_path: Path, engine: Engine, emu: Emulator, dashboard: RenderClient
) -> None:
    blueprint, live = CASES[case]
    ids = dict(zip([name for name, *_ in live], create_live(dashboard, emu, live), strict=True))
    program = generate(tmp_path, blueprint)
    emu.clear_requests()

    result = run_program(program, engine, preview=False)

    counts = emu.request_counts()
    assert counts.get("POST") is None, counts
    assert counts.get("PATCH") is None, counts
    assert counts.get("DELETE") is None, counts
    assert {name: engine.resource(name).id for name in ids} == ids
    for name, kv_id in ids.items():
        info = dashboard.retrieve_key_value_connection_info(kv_id)
        url = info.get_internal_connection_string()
        assert result.outputs[f"{name}.connectionString"] == url
        assert f"{name}.connectionString" in result.secret_outputs
        assert result.outputs[f"{name}.host"] == urlsplit(url).hostname
        assert result.outputs[f"{name}.port"] == urlsplit(url).port
    # Adopted and reconciled: the next run is a no-op with no write either.
    again = run_program(program, engine, preview=True)
    assert again.plan.ops == dict.fromkeys(ids, "same")
    assert all(m not in emu.request_counts() for m in ("POST", "PATCH", "DELETE")), (
        emu.request_counts()
    )
    engine.destroy()


def test_what_a_blueprint_cannot_state_stays_as_it_is(
    tmp_path: Path, engine: Engine, emu: Emulator, dashboard: RenderClient
) -> None:
    """A Dashboard suspension and log-stream override survive the first up and a refresh."""
    blueprint, live = CASES["internal-only"]
    [(name, *_)] = live
    [kv_id] = create_live(dashboard, emu, live)
    override = ResourceLogStreamPUTInput(setting="send", endpoint="logs.example.com:6514")
    dashboard.update_resource_log_stream(kv_id, override)
    dashboard.suspend_key_value(kv_id)
    program = generate(tmp_path, blueprint)
    emu.clear_requests()

    run_program(program, engine, preview=False)
    engine.refresh()
    assert run_program(program, engine, preview=True).plan.ops == {name: "same"}

    writes = [(r["method"], r["path"]) for r in emu.requests() if r["method"] != "GET"]
    assert writes == []  # no resume, no override PUT or DELETE, no PATCH
    assert dashboard.retrieve_key_value(kv_id).status == "suspended"
    live = dashboard.get_resource_log_stream(kv_id)
    assert live is not None
    assert (live.setting, live.endpoint) == ("send", "logs.example.com:6514")
    assert engine.resource(name).outputs["status"] == "suspended"


# Valid on Render, awkward in Python or in YAML: names that are keywords, dunders, the program's
# own modules, digits, a superscript; `name: 2024` and `name: yes` (a YAML 1.1 int and bool);
# settings shared through a merge key; one name in two regions (names are unique per region).
AWKWARD = """\
x-internal: &internal
  type: keyvalue
  plan: starter
  maxmemoryPolicy: allkeys-lru
  ipAllowList: []
services:
  - {<<: *internal, name: pulumi}
  - {<<: *internal, name: render_kv}
  - {<<: *internal, name: render-kv}
  - {<<: *internal, name: "cache\u00b2"}
  - {<<: *internal, name: __debug__}
  - {<<: *internal, name: class}
  - {<<: *internal, name: 2024}
  - {<<: *internal, name: yes}
  - {<<: *internal, name: sessions}
  - {<<: *internal, name: sessions, region: frankfurt, maxmemoryPolicy: volatile-lru}
"""
AWKWARD_LIVE: list[Live] = [
    (name, "starter", "oregon", "allkeys_lru", [])
    for name in ("pulumi", "render_kv", "render-kv", "cache\u00b2", "__debug__", "class", "2024")
] + [
    ("yes", "starter", "oregon", "allkeys_lru", []),
    ("sessions", "starter", "oregon", "allkeys_lru", []),
    ("sessions", "starter", "frankfurt", "volatile_lru", []),
]
# The Pulumi resource (and stack output) names: a name in two regions gets its region.
AWKWARD_RESOURCES = [
    *(name for name, *_ in AWKWARD_LIVE[:-2]),
    "sessions-oregon",
    "sessions-frankfurt",
]


def test_names_render_accepts_give_a_program_that_runs_and_adopts_them(
    tmp_path: Path, engine: Engine, emu: Emulator, dashboard: RenderClient
) -> None:
    ids = dict(zip(AWKWARD_RESOURCES, create_live(dashboard, emu, AWKWARD_LIVE), strict=True))
    program = generate(tmp_path, AWKWARD)
    emu.clear_requests()

    result = run_program(program, engine, preview=False)

    counts = emu.request_counts()
    assert not {"POST", "PATCH", "DELETE"} & set(counts), counts
    assert {name: engine.resource(name).id for name in ids} == ids
    assert engine.resource("sessions-frankfurt").outputs["region"] == "frankfurt"
    assert engine.resource("sessions-frankfurt").outputs["name"] == "sessions"
    for name, kv_id in ids.items():
        url = dashboard.retrieve_key_value_connection_info(kv_id).get_internal_connection_string()
        assert result.outputs[f"{name}.connectionString"] == url
    assert run_program(program, engine, preview=True).plan.ops == dict.fromkeys(ids, "same")
    engine.destroy()


def analyze_as_production(resource: ResourceState) -> list[tuple[str, str]]:
    """The policy pack's verdict on a resource on stack "prod", as the CLI's analyzer gives it.

    The SDK's own analyzer servicer (what ``pulumi preview --policy-pack`` talks to), with
    the pack's default levels and config, judges the resource's inputs as the engine holds
    them after the provider's check, which is what the engine sends in ``AnalyzeRequest``.
    """
    servicer = _PolicyAnalyzerServicer(
        PACK_NAME, "0.1.0", list(policies(stack_name=lambda: "prod")), EnforcementLevel.ADVISORY
    )
    servicer.Configure(analyzer_pb2.ConfigureAnalyzerRequest(), None)
    properties = struct_pb2.Struct()
    properties.update(resource.inputs)
    request = analyzer_pb2.AnalyzeRequest(
        type=resource.type, properties=properties, urn=resource.urn, name=resource.name
    )
    return [(d.policyName, d.message) for d in servicer.Analyze(request, None).diagnostics]


PRODUCTION = """\
services:
  - type: keyvalue
    name: sessions
    plan: standard
    maxmemoryPolicy: volatile-lru
    ipAllowList:
      - source: 203.0.113.0/24
        description: office
  - type: keyvalue
    name: cache
    plan: pro
    region: frankfurt
    ipAllowList: []
"""
PRODUCTION_LIVE: list[Live] = [
    ("sessions", "standard", "oregon", "volatile_lru", [("203.0.113.0/24", "office")]),
    ("cache", "pro", "frankfurt", "allkeys_lru", []),
]


def test_with_protect_the_imported_program_passes_the_policy_pack_on_production(
    tmp_path: Path, engine: Engine, emu: Emulator, dashboard: RenderClient
) -> None:
    create_live(dashboard, emu, PRODUCTION_LIVE)
    names = [name for name, *_ in PRODUCTION_LIVE]
    emu.clear_requests()

    # Without --protect, the pack's mandatory deletion-protection rule stops a production up.
    run_program(generate(tmp_path / "plain", PRODUCTION), engine, preview=False)
    for name in names:
        ((rule, message),) = analyze_as_production(engine.resource(name))
        assert rule == "render-kv-deletion-protection"
        assert f"KeyValue {name!r} breaks render-kv-deletion-protection" in message

    run_program(generate(tmp_path / "protected", PRODUCTION, "--protect"), engine, preview=False)
    for name in names:
        resource = engine.resource(name)
        assert resource.inputs["deletionProtection"] is True
        assert resource.protect  # Pulumi's own protect too: a destroy preview refuses
        assert analyze_as_production(resource) == []
    # Deletion protection is the provider's: turning it on asks nothing of Render.
    assert set(emu.request_counts()) == {"GET"}, emu.request_counts()
