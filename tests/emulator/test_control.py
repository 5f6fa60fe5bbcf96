"""The /_emulator control plane and fault injection, in-process."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from pulumi_render_kv.emulator import Emulator, RateLimitSettings

from .conftest import create, make_client, make_emulator
from .fakes import FakeClock


@pytest.fixture
def control(emulator: Emulator) -> Iterator[httpx.Client]:
    with httpx.Client(
        transport=httpx.WSGITransport(app=emulator.wsgi_app),
        base_url="http://emulator.test/_emulator",
    ) as http:
        yield http


def _create_body(emulator: Emulator) -> dict[str, str]:
    return {"name": "cache", "ownerId": emulator.owner_id, "plan": "starter"}


# --- status faults --------------------------------------------------------------------------


def test_status_fault_fails_the_next_matching_requests_without_acting(
    client: httpx.Client, emulator: Emulator
) -> None:
    """count=2 → two 503s with Retry-After, nothing created, then normal service."""
    emulator.inject_fault("POST", "/v1/key-value", status=503, count=2, retry_after=7)
    first = client.post("/key-value", json=_create_body(emulator))
    second = client.post("/key-value", json=_create_body(emulator))
    assert (first.status_code, second.status_code) == (503, 503)
    assert first.json() == {"message": "injected fault: 503"}
    assert first.headers["Retry-After"] == "7"
    assert "Render-Request-Id" in first.headers
    assert emulator.backend.instance_ids() == []
    assert client.post("/key-value", json=_create_body(emulator)).status_code == 201
    assert [entry["fault"] for entry in emulator.requests()] == ["status", "status", None]


def test_faults_match_method_and_path_pattern(client: httpx.Client, emulator: Emulator) -> None:
    """Only requests with the fault's method and a matching path meet it."""
    instance_id = create(client, emulator.owner_id)["id"]
    emulator.inject_fault("GET", "/v1/key-value/*/connection-info", status=500)
    assert client.get(f"/key-value/{instance_id}").status_code == 200
    assert client.post(f"/key-value/{instance_id}/suspend").status_code == 202
    failed = client.get(f"/key-value/{instance_id}/connection-info")
    assert failed.status_code == 500
    assert client.get(f"/key-value/{instance_id}/connection-info").status_code == 200


def test_any_method_fault(client: httpx.Client, emulator: Emulator) -> None:
    """method='*' matches every method."""
    emulator.inject_fault("*", "/v1/owners", status=429, retry_after=3)
    response = client.get("/owners")
    assert response.status_code == 429
    assert response.headers["Retry-After"] == "3"


def test_status_fault_does_not_use_rate_limit_quota(clock: FakeClock) -> None:
    """An injected error answers before the rate limiter counts the request."""
    emu = make_emulator(clock, None, rate_limits=RateLimitSettings(get_per_minute=5))
    emu.inject_fault("GET", "/v1/owners", status=502)
    with make_client(emu) as client:
        failed = client.get("/owners")
        ok = client.get("/owners")
    assert failed.status_code == 502
    assert failed.headers["Ratelimit-Remaining"] == "5"
    assert ok.headers["Ratelimit-Remaining"] == "4"


# --- delay and drop -------------------------------------------------------------------------


def test_delay_fault_waits_then_acts(
    client: httpx.Client, emulator: Emulator, clock: FakeClock
) -> None:
    """delay=S sleeps S seconds (through the injected sleep) and then serves normally."""
    emulator.inject_fault("POST", "/v1/key-value", delay=12.5)
    before = clock()
    response = client.post("/key-value", json=_create_body(emulator))
    assert response.status_code == 201
    assert clock() - before == 12.5
    assert emulator.requests()[-1]["fault"] == "delay"


def test_drop_fault_in_process_acts_then_raises(client: httpx.Client, emulator: Emulator) -> None:
    """In-process, a dropped connection surfaces as ConnectionAbortedError after the create."""
    emulator.inject_fault("POST", "/v1/key-value", drop_connection=True)
    with pytest.raises(ConnectionAbortedError, match="dropped by an injected fault"):
        client.post("/key-value", json=_create_body(emulator))
    assert len(emulator.backend.instance_ids()) == 1
    [entry] = emulator.requests()
    assert (entry["status"], entry["fault"]) == (201, "drop")


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({}, "a fault needs a status, a delay or drop_connection"),
        ({"status": 503, "drop_connection": True}, "choose either status or drop_connection"),
        ({"status": 200}, "status must be an HTTP error status"),
        ({"status": 503, "count": 0}, "count must be >= 1"),
        ({"delay": 1.0, "retry_after": 3}, "retry_after only goes with status"),
        ({"status": 503, "delay": -1.0}, "delay must be a number of seconds from 0 to 3600"),
    ],
)
def test_meaningless_faults_are_refused(
    emulator: Emulator, kwargs: dict[str, object], message: str
) -> None:
    """inject_fault validates its combination of arguments."""
    with pytest.raises(ValueError, match=message):
        emulator.inject_fault("GET", "/v1/owners", **kwargs)  # type: ignore[arg-type]


# --- control plane over HTTP ----------------------------------------------------------------


def test_control_faults_endpoint(control: httpx.Client, client: httpx.Client) -> None:
    """POST /_emulator/faults queues, GET lists, DELETE clears."""
    created = control.post(
        "/faults",
        json={"method": "GET", "path": "/v1/owners", "status": 503, "count": 2, "retryAfter": 1},
    )
    assert created.status_code == 201
    assert created.json()["count"] == 2
    assert client.get("/owners").status_code == 503
    [pending] = control.get("/faults").json()
    assert pending["count"] == 1
    assert control.delete("/faults").status_code == 204
    assert control.get("/faults").json() == []
    assert client.get("/owners").status_code == 200


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"path": "/v1/owners", "status": 503, "colour": "red"}, "unknown fault fields: colour"),
        ({"status": 503}, "method and path must be strings (path is required)"),
        ({"path": "/v1/owners", "status": "503"}, "status must be an integer"),
        ({"path": "v1/owners", "status": 503}, "path must start with /"),
        ({"path": "/v1/owners", "dropConnection": "yes"}, "dropConnection must be a boolean"),
    ],
)
def test_control_fault_validation(
    control: httpx.Client, body: dict[str, object], message: str
) -> None:
    """Bad fault requests → 400 with the reason."""
    response = control.post("/faults", json=body)
    assert response.status_code == 400
    assert response.json()["message"].startswith(message)


def test_control_requests_log_and_counts(
    control: httpx.Client, client: httpx.Client, emulator: Emulator
) -> None:
    """GET /_emulator/requests returns the log and per-method counts; DELETE clears both."""
    create(client, emulator.owner_id)
    client.get("/key-value")
    client.get("/owners")
    log = control.get("/requests").json()
    assert log["counts"] == {"POST": 1, "GET": 2}
    assert [(r["method"], r["path"], r["status"]) for r in log["requests"]] == [
        ("POST", "/v1/key-value", 201),
        ("GET", "/v1/key-value", 200),
        ("GET", "/v1/owners", 200),
    ]
    assert emulator.request_counts() == {"POST": 1, "GET": 2}
    assert control.delete("/requests").status_code == 204
    assert control.get("/requests").json() == {"requests": [], "counts": {}}
    assert emulator.requests() == []


def test_control_requests_are_not_logged(control: httpx.Client, emulator: Emulator) -> None:
    """Only /v1 traffic is recorded, so benchmarks count API calls alone."""
    control.get("/health")
    control.get("/requests")
    assert emulator.request_counts() == {}


def test_control_environments_seed_an_environment(
    control: httpx.Client, client: httpx.Client, emulator: Emulator
) -> None:
    """POST /_emulator/environments → 201 with an evm- id usable by the API."""
    response = control.post("/environments", json={"name": "production"})
    assert response.status_code == 201
    environment = response.json()
    assert environment["id"].startswith("evm-")
    assert environment["name"] == "production"
    created = create(client, emulator.owner_id, environmentId=environment["id"])
    assert created["environmentId"] == environment["id"]
    missing = control.post("/environments", json={})
    assert (missing.status_code, missing.json()) == (
        400,
        {"message": "name (a non-empty string) is required"},
    )
    foreign = control.post("/environments", json={"name": "x", "ownerId": "tea-nobody"})
    assert (foreign.status_code, foreign.json()) == (404, {"message": "not found: tea-nobody"})


def test_control_reset_clears_everything(
    control: httpx.Client, client: httpx.Client, emulator: Emulator
) -> None:
    """POST /_emulator/reset deletes instances and environments, clears faults and the log."""
    create(client, emulator.owner_id)
    emulator.add_environment()
    emulator.inject_fault("GET", "/v1/owners", status=500)
    assert control.post("/reset").status_code == 204
    assert emulator.backend.instance_ids() == []
    assert control.get("/faults").json() == []
    assert emulator.requests() == []
    assert client.get("/key-value").json() == []
    assert client.get("/owners").status_code == 200


def test_control_unknown_route_and_health(control: httpx.Client) -> None:
    """Unknown control routes → 404; /_emulator/health → ok."""
    assert control.get("/health").json() == {"ok": True}
    missing = control.get("/nope")
    assert (missing.status_code, missing.json()) == (404, {"message": "not found: /_emulator/nope"})


def test_control_needs_no_auth(control: httpx.Client) -> None:
    """The control plane answers without a bearer token."""
    assert "Authorization" not in control.headers
    assert control.post("/reset").status_code == 204
