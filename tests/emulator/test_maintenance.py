"""Maintenance runs: Render's /maintenance shapes and rules, the instance's status and
`maintenance` object, and the run itself (a restart) when triggered or due."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis

from pulumi_render_kv.emulator import Emulator, EmulatorSettings, RateLimitSettings

from .conftest import create, make_client, make_emulator
from .fakes import FakeClock, FakeDataPlane

HOUR = timedelta(hours=1)


def _control(emu: Emulator) -> httpx.Client:
    return httpx.Client(
        transport=httpx.WSGITransport(app=emu.wsgi_app), base_url="http://e/_emulator"
    )


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _parse(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


@pytest.fixture
def slow(clock: FakeClock, plane: FakeDataPlane) -> Iterator[tuple[Emulator, httpx.Client]]:
    """An emulator whose restarts take 30 s of its clock."""
    emu = make_emulator(clock, plane, restart_delay=30)
    with make_client(emu) as api:
        yield emu, api
    emu.stop()


def test_a_scheduled_run_shows_on_the_instance_and_in_the_list(
    slow: tuple[Emulator, httpx.Client],
) -> None:
    emu, api = slow
    instance_id = create(api, emu.owner_id)["id"]
    other_id = create(api, emu.owner_id, name="other")["id"]
    start = datetime.now(UTC) + 2 * HOUR
    with _control(emu) as control:
        scheduled = control.post(
            "/maintenance",
            json={
                "resourceId": instance_id,
                "scheduledAt": _iso(start),
                "pendingMaintenanceBy": _iso(start + 48 * HOUR),
                "type": "software_upgrade",
            },
        )
    assert scheduled.status_code == 201, scheduled.text
    run = scheduled.json()
    assert run["id"].startswith("mrn-")
    assert len(run["id"]) == 24
    assert {k: v for k, v in run.items() if k != "id"} == {
        "type": "software_upgrade",
        "scheduledAt": _iso(start),
        "pendingMaintenanceBy": _iso(start + 48 * HOUR),
        "state": "scheduled",
        "resourceId": instance_id,
    }

    detail = api.get(f"/key-value/{instance_id}").json()
    assert detail["status"] == "maintenance_scheduled"
    assert detail["maintenance"] == {k: v for k, v in run.items() if k != "resourceId"}
    assert "maintenance" not in api.get(f"/key-value/{other_id}").json()
    listed = {item["keyValue"]["id"]: item["keyValue"] for item in api.get("/key-value").json()}
    assert "maintenance" not in listed[instance_id]  # list items have no maintenance field
    assert listed[instance_id]["status"] == "maintenance_scheduled"

    assert api.get("/maintenance", params={"resourceId": instance_id}).json() == [run]
    assert api.get("/maintenance", params={"resourceId": other_id}).json() == []
    assert api.get("/maintenance", params={"ownerId": emu.owner_id}).json() == [run]
    assert api.get("/maintenance", params={"ownerId": "tea-other"}).json() == []
    assert api.get("/maintenance", params={"state": "scheduled,in_progress"}).json() == [run]
    assert api.get("/maintenance", params=[("state", "succeeded")]).json() == []
    assert api.get(f"/maintenance/{run['id']}").json() == run
    assert api.get("/maintenance", params={"state": "done"}).status_code == 400
    assert api.get("/maintenance", params={"resource": instance_id}).status_code == 400
    assert api.get("/maintenance/mrn-aaaaaaaaaaaaaaaaaaaa").status_code == 404


def test_rescheduling_stays_within_the_window_and_not_in_the_past(
    slow: tuple[Emulator, httpx.Client],
) -> None:
    emu, api = slow
    instance_id = create(api, emu.owner_id)["id"]
    start = datetime.now(UTC) + 2 * HOUR
    run_id = emu.schedule_maintenance(
        instance_id, scheduled_at=start, pending_maintenance_by=start + 24 * HOUR
    )
    path = f"/maintenance/{run_id}"

    moved = api.patch(path, json={"scheduledAt": _iso(start + 20 * HOUR)})
    assert (moved.status_code, moved.content) == (202, b"")
    assert _parse(api.get(path).json()["scheduledAt"]) == start.replace(microsecond=0) + 20 * HOUR
    assert api.patch(path, json={"scheduledAt": _iso(start + 24 * HOUR)}).status_code == 202

    late = api.patch(path, json={"scheduledAt": _iso(start + 25 * HOUR)})
    assert late.status_code == 400
    assert "pendingMaintenanceBy" in late.json()["message"]
    past = api.patch(path, json={"scheduledAt": _iso(datetime.now(UTC) - HOUR)})
    assert past.status_code == 400
    assert "in the past" in past.json()["message"]
    assert api.patch(path, json={}).status_code == 400
    assert api.patch(path, json={"scheduledAt": "tomorrow"}).status_code == 400
    assert api.patch(path, json={"scheduledAt": _iso(start), "x": 1}).status_code == 400
    missing = api.patch("/maintenance/mrn-aaaaaaaaaaaaaaaaaaaa", json={"scheduledAt": "x"})
    assert missing.status_code == 404
    # None of the refused ones moved it.
    assert _parse(api.get(path).json()["scheduledAt"]) == start.replace(microsecond=0) + 24 * HOUR


def test_a_triggered_run_restarts_the_server_then_succeeds(
    slow: tuple[Emulator, httpx.Client], clock: FakeClock, plane: FakeDataPlane
) -> None:
    emu, api = slow
    instance_id = create(api, emu.owner_id)["id"]
    run_id = emu.schedule_maintenance(instance_id, scheduled_at=datetime.now(UTC) + 5 * HOUR)
    assert "restart" not in plane.names()

    triggered = api.post(f"/maintenance/{run_id}/trigger")
    assert (triggered.status_code, triggered.content) == (202, b"")
    assert plane.names().count("restart") == 1
    detail = api.get(f"/key-value/{instance_id}").json()
    assert detail["status"] == "maintenance_in_progress"
    assert detail["maintenance"]["state"] == "in_progress"
    assert api.get(f"/maintenance/{run_id}").json()["state"] == "in_progress"
    again = api.post(f"/maintenance/{run_id}/trigger")
    assert again.status_code == 400
    assert "only a scheduled run" in again.json()["message"]
    assert (
        api.patch(
            f"/maintenance/{run_id}", json={"scheduledAt": _iso(datetime.now(UTC) + HOUR)}
        ).status_code
        == 400
    )

    clock.advance(30)
    detail = api.get(f"/key-value/{instance_id}").json()
    assert detail["status"] == "available"
    assert "maintenance" not in detail
    assert api.get(f"/maintenance/{run_id}").json()["state"] == "succeeded"
    assert api.get("/maintenance", params={"state": "succeeded"}).json()[0]["id"] == run_id
    assert plane.names().count("restart") == 1


def test_a_due_run_starts_at_the_first_request_after_its_time(
    emulator: Emulator, client: httpx.Client, clock: FakeClock, plane: FakeDataPlane
) -> None:
    instance_id = create(client, emulator.owner_id)["id"]
    run_id = emulator.schedule_maintenance(instance_id, scheduled_at=datetime.now(UTC) + HOUR)
    clock.advance(HOUR.total_seconds() - 60)
    assert client.get(f"/key-value/{instance_id}").json()["status"] == "maintenance_scheduled"
    assert "restart" not in plane.names()

    clock.advance(120)
    assert client.get(f"/maintenance/{run_id}").json()["state"] == "succeeded"  # no restart delay
    assert plane.names().count("restart") == 1
    assert client.get(f"/key-value/{instance_id}").json()["status"] == "available"
    assert emulator.run_due_maintenance() == []  # nothing left to run


def test_a_due_run_waits_while_the_instance_is_suspended(
    emulator: Emulator, client: httpx.Client, clock: FakeClock, plane: FakeDataPlane
) -> None:
    instance_id = create(client, emulator.owner_id)["id"]
    run_id = emulator.schedule_maintenance(instance_id, scheduled_at=datetime.now(UTC) + HOUR)
    assert client.post(f"/key-value/{instance_id}/suspend").status_code == 202
    refused = client.post(f"/maintenance/{run_id}/trigger")
    assert refused.status_code == 400
    assert "suspended" in refused.json()["message"]
    clock.advance(2 * HOUR.total_seconds())
    assert client.get(f"/maintenance/{run_id}").json()["state"] == "scheduled"
    assert client.post(f"/key-value/{instance_id}/resume").status_code == 202
    assert client.get(f"/maintenance/{run_id}").json()["state"] == "succeeded"
    assert plane.names().count("restart") == 1


def test_scheduling_rules_and_deletion(emulator: Emulator, client: httpx.Client) -> None:
    instance_id = create(client, emulator.owner_id)["id"]
    soon = datetime.now(UTC) + HOUR
    with _control(emulator) as control:
        body: dict[str, Any] = {"resourceId": instance_id, "scheduledAt": _iso(soon)}
        assert (
            control.post(
                "/maintenance", json={**body, "pendingMaintenanceBy": _iso(soon - HOUR)}
            ).status_code
            == 400
        )
        assert control.post("/maintenance", json={**body, "scheduledAt": "soon"}).status_code == 400
        assert control.post("/maintenance", json={**body, "when": 1}).status_code == 400
        unknown = {**body, "resourceId": "red-aaaaaaaaaaaaaaaaaaaa"}
        assert control.post("/maintenance", json=unknown).status_code == 404
        first = control.post("/maintenance", json=body)
        assert first.status_code == 201
        assert "pendingMaintenanceBy" not in first.json()
        second = control.post("/maintenance", json=body)
        assert second.status_code == 400
        assert first.json()["id"] in second.json()["message"]
    assert client.delete(f"/key-value/{instance_id}").status_code == 204
    assert client.get(f"/maintenance/{first.json()['id']}").status_code == 404
    assert client.get("/maintenance").json() == []


def test_runs_survive_an_emulator_restart(tmp_path: Path, clock: FakeClock) -> None:
    first = make_emulator(clock, FakeDataPlane(), data_dir=tmp_path)
    with make_client(first) as api:
        waiting, done = create(api, first.owner_id)["id"], create(api, first.owner_id)["id"]
        later = datetime.now(UTC) + 3 * HOUR
        waiting_run = first.schedule_maintenance(waiting, scheduled_at=later)
        done_run = first.schedule_maintenance(done, scheduled_at=later)
        assert api.post(f"/maintenance/{done_run}/trigger").status_code == 202
        before = api.get("/maintenance").json()
    first.stop()
    second = make_emulator(clock, FakeDataPlane(), data_dir=tmp_path)
    try:
        with make_client(second) as api:
            assert api.get("/maintenance").json() == before
            assert api.get(f"/maintenance/{waiting_run}").json()["state"] == "scheduled"
            assert api.get(f"/maintenance/{done_run}").json()["state"] == "succeeded"
            assert api.get(f"/key-value/{waiting}").json()["status"] == "maintenance_scheduled"
    finally:
        second.stop()


# --- with real servers ---------------------------------------------------------------------------


@pytest.mark.dataplane
def test_maintenance_really_restarts_the_server(tmp_path: Path) -> None:
    """Clients are cut, the process is a new one, and the journal kept the data."""
    settings = EmulatorSettings(
        data_dir=tmp_path, data_plane=True, rate_limits=RateLimitSettings.unlimited()
    )
    headers = {"Authorization": "Bearer k"}
    with Emulator(settings) as emu, httpx.Client(base_url=emu.url, headers=headers) as api:
        body = {"name": "queue", "ownerId": emu.owner_id, "plan": "starter"}
        instance_id = api.post("/key-value", json=body).json()["id"]
        url = api.get(f"/key-value/{instance_id}/connection-info").json()[
            "internalConnectionString"
        ]
        run_id = emu.schedule_maintenance(instance_id, scheduled_at=datetime.now(UTC) + HOUR)
        with redis.Redis.from_url(url, socket_timeout=5) as client:
            client.set("job", "42")
            before = client.info("server")["run_id"]
        host, _, port = url.removeprefix("redis://").rpartition(":")
        with socket.create_connection((host, int(port)), timeout=5) as connected:
            connected.sendall(b"PING\r\n")
            assert connected.recv(64) == b"+PONG\r\n"
            assert api.post(f"/maintenance/{run_id}/trigger").status_code == 202
            assert connected.recv(64) == b""  # the restart closed it
        with redis.Redis.from_url(url, socket_timeout=5) as client:
            assert client.info("server")["run_id"] != before
            assert client.get("job") == b"42"
