"""Every request body the client sends, and every fixture it is tested on, fits Render's spec."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from openapi_contract import SPEC_PATH, requires_spec, validate_request_body, validate_response

from pulumi_render_kv.client import (
    CidrBlockAndDescription,
    KeyValuePATCHInput,
    KeyValuePOSTInput,
    MaintenancePATCHInput,
    RenderClient,
    ResourceLogStreamPUTInput,
)

from ._fakes import OWNER_ID, connection_info_json, json_response, kv_json, make_client, owner_json
from .test_maintenance_metrics import SERIES, run_json

pytestmark = requires_spec

KV_ID = "red-d8k3stdodlmc73btr2q0"
ALLOW = [
    CidrBlockAndDescription(cidr_block="203.0.113.4/30", description="office"),
    CidrBlockAndDescription(cidr_block="2001:db8::/32", description="v6"),
]

TEMPLATES = {
    ("POST", "/v1/key-value"): "/key-value",
    ("PATCH", f"/v1/key-value/{KV_ID}"): "/key-value/{keyValueId}",
    ("POST", "/v1/environments/evm-1/resources"): "/environments/{environmentId}/resources",
    ("PUT", f"/v1/logs/streams/resource/{KV_ID}"): "/logs/streams/resource/{resourceId}",
}


class BodyCapture:
    """Answers like Render and keeps (method, template, body) of every request with a body."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, str, Any]] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        if request.content:
            template = TEMPLATES[(request.method, request.url.path)]
            self.sent.append((request.method, template, json.loads(request.content)))
        if request.method == "GET":
            return json_response(200, [])
        if request.method == "POST" and request.url.path == "/v1/key-value":
            return json_response(201, kv_json())
        if request.method == "PATCH":
            return json_response(200, kv_json())
        if request.method == "PUT":
            return json_response(200, {"endpoint": "", "resourceId": KV_ID, "setting": "drop"})
        return json_response(201, {"id": "evm-1"})


def sent_by(action: Any) -> list[tuple[str, str, Any]]:
    capture = BodyCapture()
    action(make_client(capture))
    assert capture.sent, "the action sent no body"
    return capture.sent


CREATE_BODIES = {
    "minimal": KeyValuePOSTInput(name="cache", owner_id=OWNER_ID, plan="free"),
    "every field": KeyValuePOSTInput(
        name="cache",
        owner_id=OWNER_ID,
        plan="pro_plus",
        region="frankfurt",
        environment_id="evm-1",
        maxmemory_policy="volatile_ttl",
        persistence_mode="journal_snapshot",
        ip_allow_list=ALLOW,
    ),
    "empty allow list": KeyValuePOSTInput(
        name="q", owner_id=OWNER_ID, plan="starter", ip_allow_list=[], persistence_mode="off"
    ),
}

PATCH_BODIES = {
    "name": KeyValuePATCHInput(name="renamed"),
    "plan": KeyValuePATCHInput(plan="standard"),
    "policy": KeyValuePATCHInput(maxmemory_policy="noeviction"),
    "persistence": KeyValuePATCHInput(persistence_mode="snapshot"),
    "allow list": KeyValuePATCHInput(ip_allow_list=ALLOW),
    "clear allow list": KeyValuePATCHInput(ip_allow_list=[]),
    "everything": KeyValuePATCHInput(
        name="n",
        plan="pro",
        maxmemory_policy="allkeys_lfu",
        persistence_mode="off",
        ip_allow_list=ALLOW[:1],
    ),
    "nothing": KeyValuePATCHInput(),
}


@pytest.mark.parametrize("body", CREATE_BODIES.values(), ids=CREATE_BODIES.keys())
def test_create_bodies_match_spec(body: KeyValuePOSTInput) -> None:
    """POST /key-value bodies validate against keyValuePOSTInput."""
    ((method, template, sent),) = sent_by(lambda c: c.create_key_value(body))
    validate_request_body(method, template, sent)


@pytest.mark.parametrize("body", PATCH_BODIES.values(), ids=PATCH_BODIES.keys())
def test_patch_bodies_match_spec(body: KeyValuePATCHInput) -> None:
    """PATCH /key-value/{id} bodies validate against keyValuePATCHInput."""
    ((method, template, sent),) = sent_by(lambda c: c.update_key_value(KV_ID, body))
    validate_request_body(method, template, sent)


def test_environment_move_body_matches_spec() -> None:
    """POST /environments/{id}/resources sends an environmentResourcesPOSTInput."""
    sent = sent_by(lambda c: c.add_resources_to_environment("evm-1", [KV_ID, "red-other"]))
    ((method, template, body),) = sent
    assert body == {"resourceIds": [KV_ID, "red-other"]}
    validate_request_body(method, template, body)


@pytest.mark.parametrize(
    "body",
    [
        ResourceLogStreamPUTInput(setting="send", endpoint="logs.example.com:6514", token="t"),
        ResourceLogStreamPUTInput(setting="send", endpoint="logs.example.com:6514"),
        ResourceLogStreamPUTInput(setting="drop"),
    ],
    ids=["send-with-token", "send", "drop"],
)
def test_log_stream_bodies_match_spec(body: ResourceLogStreamPUTInput) -> None:
    """PUT /logs/streams/resource/{id} bodies validate against the spec's request body."""
    sent = sent_by(lambda c: c.update_resource_log_stream(KV_ID, body))
    ((method, template, json_body),) = sent
    assert template == "/logs/streams/resource/{resourceId}"
    validate_request_body(method, template, json_body)


def test_contract_catches_a_bad_body() -> None:
    """Sanity check of the check: a body with a field the spec lacks fails validation."""
    with pytest.raises(AssertionError, match="does not match Render's spec"):
        validate_request_body("PATCH", "/key-value/{keyValueId}", {"region": "ohio"})


@pytest.mark.parametrize(
    ("method", "template", "status", "body"),
    [
        ("GET", "/key-value/{keyValueId}", 200, kv_json()),
        (
            "GET",
            "/key-value/{keyValueId}",
            200,
            kv_json(
                ip_allow_list=[{"cidrBlock": "1.2.3.4/32", "description": "x"}],
                environment_id="evm-1",
            ),
        ),
        ("POST", "/key-value", 201, kv_json(status="unknown")),
        ("GET", "/key-value", 200, [{"keyValue": kv_json(list_item=True), "cursor": "abc"}]),
        ("GET", "/key-value/{keyValueId}/connection-info", 200, connection_info_json()),
        ("GET", "/owners", 200, [{"owner": owner_json(), "cursor": "c"}]),
        ("GET", "/key-value/{keyValueId}", 404, {"message": "not found: red-x"}),
        (
            "GET",
            "/logs/streams/resource/{resourceId}",
            200,
            {"endpoint": "", "resourceId": "red-x", "setting": "drop"},
        ),
        ("GET", "/logs/streams/resource/{resourceId}", 404, {"message": "not found: red-x"}),
    ],
)
def test_test_fixtures_match_spec(method: str, template: str, status: int, body: Any) -> None:
    """The JSON the client tests feed it is what Render's spec allows (so tests are realistic)."""
    validate_response(method, template, status, body)


def test_every_key_value_operation_has_a_client_method() -> None:
    """Each Key Value operationId in the spec has a snake_case RenderClient method."""
    assert SPEC_PATH is not None
    spec = json.loads(SPEC_PATH.read_text())
    operation_ids = {
        op["operationId"]
        for path, item in spec["paths"].items()
        if path.startswith("/key-value")
        for method, op in item.items()
        if method != "parameters"
    }
    assert operation_ids == {
        "list-key-value",
        "create-key-value",
        "retrieve-key-value",
        "update-key-value",
        "delete-key-value",
        "retrieve-key-value-connection-info",
        "suspend-key-value",
        "resume-key-value",
    }
    operation_ids |= {
        op["operationId"] for op in spec["paths"]["/logs/streams/resource/{resourceId}"].values()
    }
    assert {"get-resource-log-stream", "update-resource-log-stream"} <= operation_ids
    for operation_id in operation_ids:
        assert callable(getattr(RenderClient, operation_id.replace("-", "_"), None)), operation_id


def test_maintenance_and_metrics_bodies_and_fixtures_fit_the_spec() -> None:
    """The PATCH body the client sends, and the answers its tests parse, are Render's shapes."""
    body = MaintenancePATCHInput(scheduled_at=datetime(2026, 12, 12, 5, 30, tzinfo=UTC))
    sent = body.model_dump(mode="json", by_alias=True)
    validate_request_body("PATCH", "/maintenance/{maintenanceRunParam}", sent)
    validate_response("GET", "/maintenance/{maintenanceRunParam}", 200, run_json())
    validate_response("GET", "/maintenance", 200, [run_json(state="in_progress")])
    detail = {
        **kv_json(),
        "maintenance": {k: v for k, v in run_json().items() if k != "resourceId"},
    }
    validate_response("GET", "/key-value/{keyValueId}", 200, detail)
    for path in ("/metrics/memory", "/metrics/active-connections", "/metrics/cpu"):
        validate_response("GET", path, 200, SERIES)
    validate_response("PATCH", "/maintenance/{maintenanceRunParam}", 202, None)
    validate_response("POST", "/maintenance/{maintenanceRunParam}/trigger", 202, None)
