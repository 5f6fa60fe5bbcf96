"""Every emulator route's responses validate against Render's OpenAPI spec.

Uses the project's one contract checker (tests/openapi_contract.py), which applies the single
list of documented deviations; the client's contract tests use the same checker, so the two
sides are each held to the spec rather than to each other.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from openapi_contract import (
    DOCUMENTED_DEVIATIONS,
    SPEC_PATH,
    requires_spec,
    validate_request_body,
    validate_response,
)

from pulumi_render_kv.emulator import Emulator, RateLimitSettings
from pulumi_render_kv.emulator.routes import ROUTES
from pulumi_render_kv.emulator.shapes import Flavor

from .conftest import make_client, make_emulator
from .fakes import FakeClock, FakeDataPlane

pytestmark = requires_spec

MISSING = "red-aaaaaaaaaaaaaaaaaaaa"


def _spec_template(pattern: str) -> str:
    """Our route regex → the spec's path template."""
    path = pattern.strip("^$").removeprefix("/v1")
    path = path.replace("(?P<owner_id>[^/]+)", "{ownerId}")
    path = path.replace("(?P<environment_id>[^/]+)", "{environmentId}")
    path = path.replace("(?P<resource_id>[^/]+)", "{resourceId}")
    path = path.replace("(?P<maintenance_id>[^/]+)", "{maintenanceRunParam}")
    if path.startswith("/redis"):
        return path.replace("(?P<instance_id>[^/]+)", "{redisId}")
    return path.replace("(?P<instance_id>[^/]+)", "{keyValueId}")


ALL_OPERATIONS = {(route.method, _spec_template(route.pattern.pattern)) for route in ROUTES}


class Checked:
    """An httpx client that validates every response against the spec and records coverage."""

    def __init__(self, client: httpx.Client) -> None:
        self.client = client
        self.covered: set[tuple[str, str]] = set()
        self.statuses: set[tuple[str, str, int]] = set()

    def __call__(
        self, method: str, path: str, template: str, *, json: Any = None, **kwargs: Any
    ) -> httpx.Response:
        if json is not None:
            validate_request_body(method, template, json)
        response = self.client.request(method, path, json=json, **kwargs)
        body = response.json() if response.content else None
        validate_response(method, template, response.status_code, body)
        self.covered.add((method, template))
        self.statuses.add((method, template, response.status_code))
        return response


@pytest.fixture
def checked(emulator: Emulator) -> Iterator[Checked]:
    with make_client(emulator) as client:
        yield Checked(client)


# Render serves these, the copied spec lacks them: DOCUMENTED_DEVIATIONS["redis-suspend-resume"].
SPEC_NEW_OPERATIONS = {("POST", "/redis/{redisId}/suspend"), ("POST", "/redis/{redisId}/resume")}
MAINTENANCE_PATHS = (
    "/maintenance",
    "/maintenance/{maintenanceRunParam}",
    "/maintenance/{maintenanceRunParam}/trigger",
)
METRICS_PATHS = ("/metrics/memory", "/metrics/active-connections", "/metrics/cpu")
# Besides every /key-value* and /redis* operation, the emulator claims these paths' operations.
CLAIMED_PATHS = (
    "/owners",
    "/owners/{ownerId}",
    "/environments/{environmentId}/resources",
    "/logs/streams/resource/{resourceId}",
    *MAINTENANCE_PATHS,
    *METRICS_PATHS,
)
# ... and these single operations of paths it serves only in part (no PATCH/DELETE of
# environments: they belong to the projects API, which is not emulated).
CLAIMED_OPERATIONS = {("GET", "/environments/{environmentId}")}


def _spec_operations() -> set[tuple[str, str]]:
    """The (METHOD, path) operations of Render's spec that the emulator claims to serve."""
    assert SPEC_PATH is not None  # requires_spec skips otherwise
    paths: dict[str, dict[str, Any]] = json.loads(SPEC_PATH.read_text())["paths"]
    claimed = {
        (method.upper(), path)
        for path, item in paths.items()
        if path.startswith(("/key-value", "/redis")) or path in CLAIMED_PATHS
        for method in item
        if method in {"get", "put", "post", "patch", "delete"}
    }
    for method, path in CLAIMED_OPERATIONS:
        assert method.lower() in paths[path], f"{method} {path} is not in Render's spec"
    return claimed | CLAIMED_OPERATIONS


def test_the_route_table_matches_the_spec_operations() -> None:
    """The routes are exactly the spec's Key Value / Redis / owners / environment-resources
    operations, plus the documented spec-new additions: none missing, none invented."""
    assert "redis-suspend-resume" in DOCUMENTED_DEVIATIONS
    spec = _spec_operations()
    assert not SPEC_NEW_OPERATIONS & spec, "now in the spec: drop them from SPEC_NEW_OPERATIONS"
    assert len(ALL_OPERATIONS) == len(ROUTES)  # no operation routed twice
    missing = spec - ALL_OPERATIONS
    invented = ALL_OPERATIONS - spec - SPEC_NEW_OPERATIONS
    assert (missing, invented) == (set(), set())
    assert SPEC_NEW_OPERATIONS <= ALL_OPERATIONS


@pytest.mark.parametrize("flavor", list(Flavor), ids=lambda f: f.list_key)
def test_every_route_answers_in_the_specs_shapes(
    checked: Checked, emulator: Emulator, flavor: Flavor
) -> None:
    """A full walk (create → read → list → patch → suspend → resume → move → delete) validates."""
    base = "/key-value" if flavor is Flavor.KEY_VALUE else "/redis"
    item = base + ("/{keyValueId}" if flavor is Flavor.KEY_VALUE else "/{redisId}")
    environment_id = emulator.add_environment("production")
    body = {
        "name": "cache",
        "ownerId": emulator.owner_id,
        "plan": "free",
        "maxmemoryPolicy": "allkeys_lfu",
        "ipAllowList": [],
    }
    created = checked("POST", base, base, json=body)
    assert created.status_code == 201
    instance_id = created.json()["id"]
    with_list = checked(
        "POST",
        base,
        base,
        json={
            "name": "with-list",
            "ownerId": emulator.owner_id,
            "plan": "starter",
            "region": "frankfurt",
            "environmentId": environment_id,
            "ipAllowList": [{"cidrBlock": "0.0.0.0/0", "description": "everywhere"}],
        },
    )
    assert with_list.json()["environmentId"] == environment_id
    assert checked("GET", f"{base}/{instance_id}", item).status_code == 200
    assert checked("GET", base, base, params={"limit": 1}).status_code == 200
    assert checked("GET", f"{base}/{instance_id}/connection-info", item + "/connection-info")
    patched = checked(
        "PATCH",
        f"{base}/{instance_id}",
        item,
        json={"plan": "starter", "persistenceMode": "snapshot", "ipAllowList": []},
    )
    assert patched.json()["options"]["persistenceMode"] == "snapshot"
    assert checked("POST", f"{base}/{instance_id}/suspend", item + "/suspend").status_code == 202
    assert checked("POST", f"{base}/{instance_id}/resume", item + "/resume").status_code == 202
    resources = "/environments/{environmentId}/resources"
    moved = checked(
        "POST",
        f"/environments/{environment_id}/resources",
        resources,
        json={"resourceIds": [instance_id]},
    )
    assert moved.status_code == 201
    assert instance_id in moved.json()["redisIds"]
    retrieved = checked("GET", f"/environments/{environment_id}", "/environments/{environmentId}")
    assert retrieved.json() == moved.json()
    removed = checked(
        "DELETE",
        f"/environments/{environment_id}/resources",
        resources,
        params={"resourceIds": instance_id},
    )
    assert removed.status_code == 204
    # Only with_list is left in it; empty id lists are null (see the deviation).
    emptied = checked("GET", f"/environments/{environment_id}", "/environments/{environmentId}")
    assert emptied.json()["redisIds"] == [with_list.json()["id"]]
    assert emptied.json()["serviceIds"] is None
    assert checked("GET", "/owners", "/owners").status_code == 200
    assert checked("GET", f"/owners/{emulator.owner_id}", "/owners/{ownerId}").status_code == 200
    stream = "/logs/streams/resource/{resourceId}"
    sent = {"setting": "send", "endpoint": "logs.example.com:6514", "token": "t0ken"}
    put = checked("PUT", f"/logs/streams/resource/{instance_id}", stream, json=sent)
    assert put.json() == {
        "endpoint": "logs.example.com:6514",
        "resourceId": instance_id,
        "setting": "send",
    }
    dropped = checked(
        "PUT", f"/logs/streams/resource/{instance_id}", stream, json={"setting": "drop"}
    )
    assert dropped.json() == {"endpoint": "", "resourceId": instance_id, "setting": "drop"}
    got = checked("GET", f"/logs/streams/resource/{instance_id}", stream)
    assert got.json() == dropped.json()
    assert checked("DELETE", f"/logs/streams/resource/{instance_id}", stream).status_code == 204
    assert checked("GET", f"/logs/streams/resource/{instance_id}", stream).status_code == 404
    assert checked("DELETE", f"{base}/{instance_id}", item).status_code == 204
    prefix = base + "/"
    flavor_ops = {op for op in ALL_OPERATIONS if op[1] == base or op[1].startswith(prefix)}
    shared_ops = {
        op
        for op in ALL_OPERATIONS
        if not op[1].startswith(("/key-value", "/redis", "/maintenance", "/metrics"))
    }
    assert checked.covered == flavor_ops | shared_ops


def test_maintenance_routes_answer_in_the_specs_shapes(
    checked: Checked, emulator: Emulator
) -> None:
    """Schedule (control plane) → detail with `maintenance` → list → get → patch → trigger,
    and the 400/404 answers: every body validates, every maintenance operation is walked."""
    body = {"name": "cache", "ownerId": emulator.owner_id, "plan": "starter"}
    instance_id = checked("POST", "/key-value", "/key-value", json=body).json()["id"]
    start = datetime.now(UTC) + timedelta(hours=2)
    run_id = emulator.schedule_maintenance(
        instance_id, scheduled_at=start, pending_maintenance_by=start + timedelta(days=2)
    )
    detail = checked("GET", f"/key-value/{instance_id}", "/key-value/{keyValueId}").json()
    assert detail["maintenance"]["id"] == run_id
    assert detail["status"] == "maintenance_scheduled"
    listed = checked("GET", "/key-value", "/key-value").json()
    assert listed[0]["keyValue"]["status"] == "maintenance_scheduled"
    run_path, template = f"/maintenance/{run_id}", "/maintenance/{maintenanceRunParam}"
    assert checked("GET", "/maintenance", "/maintenance", params={"resourceId": instance_id})
    assert checked("GET", run_path, template).json()["resourceId"] == instance_id
    moved = (start + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert checked("PATCH", run_path, template, json={"scheduledAt": moved}).status_code == 202
    late = (start + timedelta(days=3)).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert checked("PATCH", run_path, template, json={"scheduledAt": late}).status_code == 400
    trigger = template + "/trigger"
    assert checked("POST", run_path + "/trigger", trigger).status_code == 202
    assert checked("POST", run_path + "/trigger", trigger).status_code == 400
    assert (
        checked("GET", "/maintenance", "/maintenance", params={"state": "nope"}).status_code == 400
    )
    missing = "/maintenance/mrn-aaaaaaaaaaaaaaaaaaaa"
    assert checked("GET", missing, template).status_code == 404
    assert checked("POST", missing + "/trigger", trigger).status_code == 404
    assert checked("PATCH", missing, template, json={"scheduledAt": moved}).status_code == 404
    assert (
        checked("GET", f"/key-value/{instance_id}", "/key-value/{keyValueId}").json()["status"]
        == "available"
    )
    maintenance_ops = {op for op in ALL_OPERATIONS if op[1].startswith("/maintenance")}
    assert maintenance_ops <= checked.covered


ERROR_CASES = [
    # (method, path, template, kwargs, expected status)
    ("GET", "/key-value", "/key-value", {"params": {"limit": 0}}, 400),
    ("GET", f"/key-value/{MISSING}", "/key-value/{keyValueId}", {}, 404),
    ("PATCH", f"/key-value/{MISSING}", "/key-value/{keyValueId}", {"json": {"name": "x"}}, 404),
    ("DELETE", f"/key-value/{MISSING}", "/key-value/{keyValueId}", {}, 404),
    (
        "GET",
        f"/key-value/{MISSING}/connection-info",
        "/key-value/{keyValueId}/connection-info",
        {},
        404,
    ),
    ("POST", f"/key-value/{MISSING}/suspend", "/key-value/{keyValueId}/suspend", {}, 404),
    ("POST", f"/key-value/{MISSING}/resume", "/key-value/{keyValueId}/resume", {}, 404),
    ("GET", f"/redis/{MISSING}", "/redis/{redisId}", {}, 404),
    ("DELETE", f"/redis/{MISSING}", "/redis/{redisId}", {}, 404),
    ("GET", "/owners/tea-nobody", "/owners/{ownerId}", {}, 404),
    (
        "POST",
        "/environments/evm-nope/resources",
        "/environments/{environmentId}/resources",
        {"json": {"resourceIds": [MISSING]}},
        404,
    ),
    (
        "DELETE",
        "/environments/evm-nope/resources",
        "/environments/{environmentId}/resources",
        {"params": {"resourceIds": MISSING}},
        404,
    ),
    ("GET", "/owners", "/owners", {"headers": {"Accept": "text/html"}}, 406),
    *(
        (
            method,
            f"/logs/streams/resource/{MISSING}",
            "/logs/streams/resource/{resourceId}",
            kw,
            404,
        )
        for method, kw in (("GET", {}), ("PUT", {"json": {"setting": "drop"}}), ("DELETE", {}))
    ),
]


@pytest.mark.parametrize(
    ("method", "path", "template", "kwargs", "status"),
    ERROR_CASES,
    ids=[f"{c[0]} {c[2]} {c[4]}" for c in ERROR_CASES],
)
def test_error_answers_match_the_spec(
    checked: Checked,
    method: str,
    path: str,
    template: str,
    kwargs: dict[str, Any],
    status: int,
) -> None:
    """400/404/406 bodies are the spec's `error` object."""
    assert checked(method, path, template, **kwargs).status_code == status


def test_create_errors_match_the_spec(checked: Checked, emulator: Emulator) -> None:
    """400 (rule), 404 (owner) and 401 on create are error objects."""
    bad_plan = {
        "name": "a",
        "ownerId": emulator.owner_id,
        "plan": "free",
        "persistenceMode": "snapshot",
    }
    assert checked("POST", "/key-value", "/key-value", json=bad_plan).status_code == 400
    no_owner = {"name": "a", "ownerId": "tea-nobody", "plan": "starter"}
    assert checked("POST", "/key-value", "/key-value", json=no_owner).status_code == 404
    unauthorized = checked(
        "POST", "/key-value", "/key-value", json=no_owner, headers={"Authorization": "Bearer no"}
    )
    assert unauthorized.status_code == 401


def test_conflict_on_suspended_patch_matches_the_spec(checked: Checked, emulator: Emulator) -> None:
    """409 (declared for PATCH) is an error object."""
    body = {"name": "a", "ownerId": emulator.owner_id, "plan": "starter"}
    instance_id = checked("POST", "/key-value", "/key-value", json=body).json()["id"]
    emulator.backend.suspend_key_value(instance_id)
    response = checked(
        "PATCH", f"/key-value/{instance_id}", "/key-value/{keyValueId}", json={"name": "b"}
    )
    assert response.status_code == 409


@pytest.mark.parametrize("status", [500, 503])
def test_injected_server_errors_match_the_spec(
    checked: Checked, emulator: Emulator, status: int
) -> None:
    """Injected 500/503 answers are error objects."""
    emulator.inject_fault("GET", "/v1/key-value", status=status)
    assert checked("GET", "/key-value", "/key-value").status_code == status


def test_rate_limited_answers_match_the_spec(clock: FakeClock) -> None:
    """429 is an error object."""
    emu = make_emulator(clock, FakeDataPlane(), rate_limits=RateLimitSettings(get_per_minute=1))
    with make_client(emu) as client:
        checked = Checked(client)
        checked("GET", "/key-value", "/key-value")
        assert checked("GET", "/key-value", "/key-value").status_code == 429


LOG_STREAM_REFUSALS = {
    "send-without-endpoint": ({"setting": "send"}, "endpoint: must be present if setting is send"),
    "drop-with-endpoint": (
        {"setting": "drop", "endpoint": "logs.example.com:6514"},
        "endpoint: cannot be present if setting is drop",
    ),
    "drop-with-token": ({"setting": "drop", "token": "t"}, "token: cannot be present"),
    "bad-setting": ({"setting": "stream"}, "setting"),
    "no-setting": ({"endpoint": "logs.example.com:6514"}, "missing required field: setting"),
    "unknown-field": ({"setting": "drop", "preview": "drop"}, "preview"),
}


@pytest.mark.parametrize("case", LOG_STREAM_REFUSALS)
def test_a_log_stream_override_render_refuses_is_a_400_error_object(
    checked: Checked, emulator: Emulator, case: str
) -> None:
    """The spec's rule: an endpoint with send, none with drop; bodies refused as `error`."""
    body = {"name": "logs", "ownerId": emulator.owner_id, "plan": "starter", "ipAllowList": []}
    instance_id = checked("POST", "/key-value", "/key-value", json=body).json()["id"]
    sent, message = LOG_STREAM_REFUSALS[case]
    path = f"/logs/streams/resource/{instance_id}"
    template = "/logs/streams/resource/{resourceId}"
    # Sent around the body check: the spec itself would refuse some of these bodies.
    refused = checked.client.put(path, json=sent)
    validate_response("PUT", template, refused.status_code, refused.json())
    assert refused.status_code == 400
    assert message in refused.json()["message"]
    assert checked("GET", path, template).status_code == 404  # nothing was stored
    checked.client.delete(f"/key-value/{instance_id}")


def test_metrics_routes_answer_in_the_specs_shapes(
    checked: Checked, emulator: Emulator, clock: FakeClock
) -> None:
    """Series with points (two samples a bucket apart), empty answers and 400s validate."""
    body = {"name": "cache", "ownerId": emulator.owner_id, "plan": "starter"}
    instance_id = checked("POST", "/key-value", "/key-value", json=body).json()["id"]
    for path in METRICS_PATHS:
        checked("GET", path, path, params={"resource": instance_id})
        clock.advance(60)
        answer = checked("GET", path, path, params={"resource": instance_id}).json()
        assert len(answer[0]["values"]) >= 2  # samples are shared by the three routes
        assert checked("GET", path, path, params={"resource": MISSING}).json() == []
        assert checked("GET", path, path, params={}).status_code == 400
    assert {("GET", path) for path in METRICS_PATHS} <= checked.covered
