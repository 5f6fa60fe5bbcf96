"""RenderClient's maintenance and metrics methods over MockTransport: requests, parsing, retries."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import httpx
import pytest

from pulumi_render_kv.client import (
    InvalidRequestError,
    MaintenanceRun,
    NotFoundError,
    TimeSeries,
)

from ._fakes import API_KEY, BASE_URL, json_response, make_client

KV_ID = "red-d8k3stdodlmc73btr2q0"
RUN_ID = "mrn-cph1rs3idesc73a2b2mg"


class Recorder:
    """Records requests and replays canned responses in order."""

    def __init__(self, *responses: httpx.Response) -> None:
        self.responses = list(responses)
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return self.responses.pop(0)

    @property
    def last(self) -> httpx.Request:
        return self.requests[-1]


def run_json(state: str = "scheduled", **overrides: Any) -> dict[str, Any]:
    body = {
        "id": RUN_ID,
        "type": "software_upgrade",
        "scheduledAt": "2026-12-10T04:00:00Z",
        "pendingMaintenanceBy": "2026-12-17T04:00:00Z",
        "state": state,
        "resourceId": KV_ID,
    }
    body.update(overrides)
    return body


def test_list_maintenance_sends_filters_as_comma_lists_and_parses_runs() -> None:
    """GET /maintenance?resourceId=a,b&state=scheduled → MaintenanceRun objects."""
    rec = Recorder(json_response(200, [run_json()]))
    runs = make_client(rec).list_maintenance(resource_id=[KV_ID, "red-other"], state="scheduled")
    assert rec.last.method == "GET"
    assert rec.last.url.path == "/v1/maintenance"
    assert dict(rec.last.url.params) == {"resourceId": f"{KV_ID},red-other", "state": "scheduled"}
    assert runs == [
        MaintenanceRun(
            id=RUN_ID,
            type="software_upgrade",
            scheduled_at=datetime(2026, 12, 10, 4, tzinfo=UTC),
            pending_maintenance_by=datetime(2026, 12, 17, 4, tzinfo=UTC),
            state="scheduled",
            resource_id=KV_ID,
        )
    ]


def test_retrieve_maintenance_reads_one_run_and_tolerates_no_window() -> None:
    """pendingMaintenanceBy is optional in the spec; unknown fields are ignored."""
    body = run_json(state="in_progress", surprise=True)
    del body["pendingMaintenanceBy"]
    rec = Recorder(json_response(200, body))
    run = make_client(rec).retrieve_maintenance(RUN_ID)
    assert str(rec.last.url) == f"{BASE_URL}/maintenance/{RUN_ID}"
    assert (run.state, run.pending_maintenance_by, run.resource_id) == ("in_progress", None, KV_ID)


def test_update_maintenance_patches_scheduled_at_in_utc() -> None:
    """PATCH body is {"scheduledAt": RFC 3339}; a 202 with no body is success."""
    rec = Recorder(httpx.Response(202))
    when = datetime(2026, 12, 12, 5, 30, tzinfo=timezone(timedelta(hours=2)))
    assert make_client(rec).update_maintenance(RUN_ID, when) is None
    assert rec.last.method == "PATCH"
    assert rec.last.headers["content-type"] == "application/json"
    sent = json.loads(rec.last.content)
    assert list(sent) == ["scheduledAt"]
    assert datetime.fromisoformat(sent["scheduledAt"]) == when


def test_update_maintenance_refuses_a_naive_time_before_sending() -> None:
    rec = Recorder()
    with pytest.raises(ValueError, match="timezone"):
        make_client(rec).update_maintenance(RUN_ID, datetime(2026, 12, 12, 5, 30))
    assert rec.requests == []


def test_update_maintenance_past_the_window_raises_render_s_400() -> None:
    refusal = {"message": "scheduledAt must be before pendingMaintenanceBy"}
    rec = Recorder(json_response(400, refusal))
    with pytest.raises(InvalidRequestError, match="pendingMaintenanceBy"):
        make_client(rec).update_maintenance(RUN_ID, datetime(2027, 1, 1, tzinfo=UTC))


def test_trigger_maintenance_posts_once() -> None:
    rec = Recorder(httpx.Response(202))
    make_client(rec).trigger_maintenance(RUN_ID)
    assert [(r.method, r.url.path) for r in rec.requests] == [
        ("POST", f"/v1/maintenance/{RUN_ID}/trigger")
    ]


def test_trigger_after_an_uncertain_attempt_that_started_the_run_is_done() -> None:
    """503, then 400 (already running): the run's state shows the first attempt started it."""
    rec = Recorder(
        json_response(503, {"message": "unavailable"}),
        json_response(400, {"message": "maintenance run is not scheduled"}),
        json_response(200, run_json(state="in_progress")),
    )
    make_client(rec).trigger_maintenance(RUN_ID)
    assert [r.method for r in rec.requests] == ["POST", "POST", "GET"]


def test_trigger_refused_on_the_first_attempt_raises() -> None:
    """A 400 with no uncertain attempt before it is the caller's error, not looked into."""
    rec = Recorder(json_response(400, {"message": "maintenance run is not scheduled"}))
    with pytest.raises(InvalidRequestError):
        make_client(rec).trigger_maintenance(RUN_ID)
    assert len(rec.requests) == 1


def test_trigger_of_an_unknown_run_is_not_found() -> None:
    rec = Recorder(json_response(404, {"message": f"not found: {RUN_ID}"}))
    with pytest.raises(NotFoundError):
        make_client(rec).trigger_maintenance(RUN_ID)


SERIES = [
    {
        "labels": [{"field": "resource", "value": KV_ID}],
        "values": [
            {"timestamp": "2026-12-04T21:00:00Z", "value": 1048576},
            {"timestamp": "2026-12-04T21:01:00Z", "value": 2097152.5},
        ],
        "unit": "bytes",
    }
]


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get_memory", "/v1/metrics/memory"),
        ("get_active_connections", "/v1/metrics/active-connections"),
        ("get_cpu", "/v1/metrics/cpu"),
    ],
)
def test_metrics_send_resource_and_time_range_and_parse_series(method: str, path: str) -> None:
    rec = Recorder(json_response(200, SERIES))
    client = make_client(rec)
    start = datetime(2026, 12, 4, 21, tzinfo=UTC)
    series: list[TimeSeries] = getattr(client, method)(
        KV_ID, start_time=start, end_time=start + timedelta(hours=1), resolution_seconds=60
    )
    assert rec.last.url.path == path
    assert dict(rec.last.url.params) == {
        "resource": KV_ID,
        "startTime": "2026-12-04T21:00:00Z",
        "endTime": "2026-12-04T22:00:00Z",
        "resolutionSeconds": "60",
    }
    assert rec.last.headers["authorization"] == f"Bearer {API_KEY}"
    assert series[0].label("resource") == KV_ID
    assert [point.value for point in series[0].values] == [1048576, 2097152.5]
    assert series[0].unit == "bytes"


def test_metrics_defaults_leave_the_range_to_render() -> None:
    rec = Recorder(json_response(200, []))
    assert make_client(rec).get_memory([KV_ID, "red-two"]) == []
    assert dict(rec.last.url.params) == {"resource": f"{KV_ID},red-two"}


def test_metrics_refuse_bad_arguments_before_sending() -> None:
    rec = Recorder()
    client = make_client(rec)
    with pytest.raises(ValueError, match="at least 30"):
        client.get_cpu(KV_ID, resolution_seconds=10)
    with pytest.raises(ValueError, match="timezone"):
        client.get_cpu(KV_ID, start_time=datetime(2026, 1, 1))
    with pytest.raises(ValueError, match="resource_id"):
        client.get_cpu([])
    assert rec.requests == []


def test_metrics_are_retried_like_any_get() -> None:
    rec = Recorder(json_response(500, {"message": "boom"}), json_response(200, SERIES))
    assert make_client(rec).get_active_connections(KV_ID)[0].values[0].value == 1048576
    assert len(rec.requests) == 2
