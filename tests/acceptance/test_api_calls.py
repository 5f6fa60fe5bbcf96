"""API calls per operation: each `pulumi up` makes only the requests its change needs.

Counted in the emulator's request log, one operation after the other on one stack, driven
over gRPC as the CLI drives it (create and restart delays 0, so every wait ends on its first
status read). The minimum per operation, and why, is docs/PERFORMANCE.md's table
"API calls per operation" (benchmarks/bench_targets.py). After every update the recorded
outputs are checked against Render's live detail and connection info: an output carried
over instead of read must still be what Render says.
"""

from __future__ import annotations

import re
from collections import Counter
from typing import Any

import pytest

from pulumi_render_kv.client import RenderClient
from pulumi_render_kv.emulator import Emulator
from pulumi_render_kv.testing import Engine

from .conftest import key_value_program

pytestmark = [pytest.mark.grpc, pytest.mark.dataplane]

_KINDS = {
    ("POST", "/v1/key-value"): "POST create",
    ("GET", "/v1/key-value"): "GET list",
    ("GET", "/v1/key-value/{id}"): "GET status",
    ("PATCH", "/v1/key-value/{id}"): "PATCH",
    ("DELETE", "/v1/key-value/{id}"): "DELETE",
    ("GET", "/v1/key-value/{id}/connection-info"): "GET connection-info",
    ("POST", "/v1/key-value/{id}/suspend"): "POST suspend",
    ("POST", "/v1/key-value/{id}/resume"): "POST resume",
    ("POST", "/v1/environments/{env}/resources"): "POST env-add",
    ("DELETE", "/v1/environments/{env}/resources"): "DELETE env-remove",
    ("GET", "/v1/logs/streams/resource/{id}"): "GET log-stream",
    ("PUT", "/v1/logs/streams/resource/{id}"): "PUT log-stream",
}


def calls(emu: Emulator) -> Counter[str]:
    """The requests since the log was cleared, by kind (``GET status``, ``PATCH``, …)."""
    kinds: Counter[str] = Counter()
    for entry in emu.requests():
        path = re.sub(r"/red-[a-z0-9]+", "/{id}", entry["path"])
        path = re.sub(r"/evm-[a-z0-9]+", "/{env}", path)
        kinds[_KINDS.get((entry["method"], path), f"{entry['method']} {path}")] += 1
    return kinds


def assert_outputs_are_live(engine: Engine, dashboard: RenderClient) -> None:
    """What the state records is what Render has, carried over or not."""
    state = engine.resource("cache")
    live = dashboard.retrieve_key_value(state.id)
    connection = dashboard.retrieve_key_value_connection_info(state.id)
    outs = state.outputs
    assert outs["status"] == live.status
    assert outs["ownerId"] == live.owner.id
    assert outs.get("environmentId") == live.environment_id
    assert outs["internalConnectionString"] == connection.get_internal_connection_string()
    assert outs["externalConnectionString"] == connection.get_external_connection_string()
    assert outs["cliCommand"] == connection.get_cli_command()
    # Carried over, they are still secrets: never in the checkpoint in plaintext.
    assert state.secret_outputs >= {
        "internalConnectionString",
        "externalConnectionString",
        "cliCommand",
    }
    checkpoint = engine.state_json()
    assert outs["externalConnectionString"] not in checkpoint
    assert outs["internalConnectionString"] not in checkpoint


CACHE: dict[str, Any] = {"plan": "starter", "workload": "cache"}
ALLOW = [{"cidr_block": "203.0.113.0/24", "description": "office"}]


def test_each_operation_makes_only_the_requests_it_needs(
    engine: Engine, emu: Emulator, dashboard: RenderClient
) -> None:
    env_a, env_b = emu.add_environment("staging"), emu.add_environment("production")
    policy = {**CACHE, "maxmemory_policy": "allkeys-lfu"}
    allowed = {**policy, "ip_allow_list": ALLOW}
    renamed = {**allowed, "name": "cache-renamed"}
    upgraded = {**renamed, "environment_id": env_b, "plan": "standard"}
    logged = {**upgraded, "log_stream": {"setting": "drop"}}
    steps: list[tuple[str, dict[str, Any] | None, dict[str, int]]] = [
        # The same-name list before the POST is what keeps a user from a silent twin
        # (NameTaken); connection strings are outputs, so one connection-info read.
        (
            "create",
            CACHE,
            {"GET list": 1, "POST create": 1, "GET status": 1, "GET connection-info": 1},
        ),
        ("no-op up", CACHE, {}),
        ("policy (restarts)", policy, {"PATCH": 1, "GET status": 1}),
        ("allow list", allowed, {"PATCH": 1}),
        ("name", renamed, {"PATCH": 1}),
        ("environment none -> A", {**renamed, "environment_id": env_a}, {"POST env-add": 1}),
        (
            "environment A -> B",
            {**renamed, "environment_id": env_b},
            {"DELETE env-remove": 1, "POST env-add": 1},
        ),
        ("plan upgrade (restarts)", upgraded, {"PATCH": 1, "GET status": 1}),
        ("log-stream override", logged, {"PUT log-stream": 1}),
        ("suspend", {**logged, "suspended": True}, {"POST suspend": 1, "GET status": 1}),
        # A resumed server may come back elsewhere (the emulator's does when its old port is
        # taken; Render does not say), so a resume reads the connection info again.
        ("resume", logged, {"POST resume": 1, "GET status": 1, "GET connection-info": 1}),
        ("refresh", None, {"GET status": 1, "GET connection-info": 1, "GET log-stream": 1}),
        ("destroy", None, {"DELETE": 1}),
    ]
    made: dict[str, dict[str, int]] = {}
    for label, kwargs, _ in steps:
        emu.clear_requests()
        if label == "refresh":
            engine.refresh()
        elif label == "destroy":
            engine.destroy()
        else:
            assert engine.up(key_value_program(**(kwargs or {}))).ok, label
        made[label] = dict(calls(emu))
        if label not in ("no-op up", "refresh", "destroy"):
            assert_outputs_are_live(engine, dashboard)
    assert made == {label: expected for label, _, expected in steps}


def test_leaving_the_free_plan_reads_the_connection_info_again(
    engine: Engine, emu: Emulator, dashboard: RenderClient
) -> None:
    """Free → paid deletes all data (a new server, in effect): its endpoints are read again."""
    engine.up(key_value_program(plan="free", workload="cache"))
    emu.clear_requests()
    engine.up(key_value_program(**CACHE, allow_data_loss=True))
    assert dict(calls(emu)) == {"PATCH": 1, "GET status": 1, "GET connection-info": 1}
    assert_outputs_are_live(engine, dashboard)
