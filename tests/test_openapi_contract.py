"""The contract checker itself: it must accept Render's real shapes and reject everything else."""

from __future__ import annotations

import pytest
from openapi_contract import requires_spec, validate_request_body, validate_response

pytestmark = requires_spec

# A create response recorded from Render's testing environment (status "unknown", allow list
# null).
RECORDED_CREATE = {
    "createdAt": "2026-06-09T16:25:25.48944232Z",
    "id": "red-d8k3stdodlmc73btr2q0",
    "ipAllowList": None,
    "name": "test-keyvalue-paid",
    "options": {"maxmemoryPolicy": "allkeys_lfu", "persistenceMode": "journal_snapshot"},
    "owner": {
        "email": "email@example.com",
        "id": "some-owner-id",
        "name": "My Workspace",
        "type": "team",
    },
    "plan": "starter",
    "region": "oregon",
    "status": "unknown",
    "updatedAt": "2026-06-09T16:25:25.48944232Z",
    "version": "8.1.4",
}


def test_recorded_create_response_is_accepted() -> None:
    """Render's own recorded create response passes, with its documented deviations."""
    validate_response("POST", "/key-value", 201, RECORDED_CREATE)


def test_unknown_response_field_is_rejected() -> None:
    """A field the spec does not declare fails: objects are closed."""
    with pytest.raises(AssertionError, match="'surprise' was unexpected"):
        validate_response("POST", "/key-value", 201, {**RECORDED_CREATE, "surprise": 1})


def test_missing_required_field_is_rejected() -> None:
    """Dropping a required field (here `version`) fails."""
    body = {k: v for k, v in RECORDED_CREATE.items() if k != "version"}
    with pytest.raises(AssertionError, match="'version' is a required property"):
        validate_response("POST", "/key-value", 201, body)


def test_undeclared_status_is_rejected() -> None:
    """A status the spec does not declare for the operation fails."""
    with pytest.raises(AssertionError, match="declares no 418"):
        validate_response("GET", "/key-value/{keyValueId}", 418, {"message": "teapot"})


def test_patch_body_with_region_is_rejected() -> None:
    """`region` is not patchable: a PATCH carrying it fails the contract."""
    with pytest.raises(AssertionError, match="'region' was unexpected"):
        validate_request_body("PATCH", "/key-value/{keyValueId}", {"region": "ohio"})


def test_bad_enum_in_request_is_rejected() -> None:
    """Policies use underscores on the wire: the Blueprint spelling fails."""
    with pytest.raises(AssertionError, match="allkeys-lru"):
        validate_request_body(
            "POST",
            "/key-value",
            {"name": "n", "ownerId": "tea-x", "plan": "starter", "maxmemoryPolicy": "allkeys-lru"},
        )


def test_empty_body_required_for_204() -> None:
    """A delete answers with no body; any body fails."""
    validate_response("DELETE", "/key-value/{keyValueId}", 204, None)
    with pytest.raises(AssertionError, match="must be empty"):
        validate_response("DELETE", "/key-value/{keyValueId}", 204, {"ok": True})


def test_metrics_points_need_no_unit_but_series_do() -> None:
    """The documented `metrics-point-unit` deviation: a point is {timestamp, value}; the series
    still needs its `unit`, and a point with an undeclared field still fails."""
    series = {
        "labels": [{"field": "resource", "value": "red-d8k3stdodlmc73btr2q0"}],
        "values": [{"timestamp": "2026-12-04T21:00:00Z", "value": 1.5}],
        "unit": "cpu",
    }
    validate_response("GET", "/metrics/cpu", 200, [series])
    validate_response("GET", "/metrics/memory", 200, [series])
    with pytest.raises(AssertionError, match="'unit' is a required property"):
        validate_response(
            "GET", "/metrics/cpu", 200, [{k: v for k, v in series.items() if k != "unit"}]
        )
    point = {"timestamp": "2026-12-04T21:00:00Z", "value": 1.5, "unit": "cpu"}
    with pytest.raises(AssertionError, match="'unit' was unexpected"):
        validate_response("GET", "/metrics/cpu", 200, [{**series, "values": [point]}])
