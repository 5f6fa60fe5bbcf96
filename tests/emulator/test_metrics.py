"""/metrics/memory, /metrics/active-connections and /metrics/cpu from the servers' INFO."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
import redis

from pulumi_render_kv.emulator import Emulator, EmulatorSettings, RateLimitSettings
from pulumi_render_kv.emulator.plane import ServerStats

from .conftest import create, make_client, make_emulator
from .fakes import FakeClock, FakeDataPlane


def _series(client: httpx.Client, metric: str, **params: object) -> list[dict[str, object]]:
    response = client.get(f"/metrics/{metric}", params=params)
    assert response.status_code == 200, response.text
    body: list[dict[str, object]] = response.json()
    return body


def _values(series: dict[str, object]) -> list[float]:
    points = series["values"]
    assert isinstance(points, list)
    return [point["value"] for point in points]


def test_memory_and_connections_are_what_info_said_one_point_per_bucket(
    emulator: Emulator, client: httpx.Client, clock: FakeClock, plane: FakeDataPlane
) -> None:
    instance_id = create(client, emulator.owner_id)["id"]
    plane.server_stats[instance_id] = ServerStats(5_000_000, 3, 1.0, 10_000_000, 10)
    [memory] = _series(client, "memory", resource=instance_id)
    assert memory["labels"] == [{"field": "resource", "value": instance_id}]
    assert memory["unit"] == "bytes"
    assert _values(memory) == [5_000_000]
    [point] = memory["values"]  # type: ignore[misc]
    stamp = datetime.fromisoformat(point["timestamp"].replace("Z", "+00:00"))
    assert stamp.second == 0  # the start of its 60 s bucket
    assert stamp.tzinfo == UTC

    plane.server_stats[instance_id] = ServerStats(6_000_000, 1, 1.5, 20_000_000, 20)
    [memory] = _series(client, "memory", resource=instance_id)
    assert _values(memory) == [6_000_000]  # same bucket: its last sample
    clock.advance(60)
    [connections] = _series(client, "active-connections", resource=instance_id)
    assert connections["unit"] == "connections"
    assert _values(connections) == [1, 1]
    [memory] = _series(client, "memory", resource=instance_id, resolutionSeconds=3600)
    assert len(_values(memory)) in (1, 2)  # three samples in at most two hour-buckets


def test_cpu_is_cores_used_between_samples_of_one_process(
    emulator: Emulator, client: httpx.Client, clock: FakeClock, plane: FakeDataPlane
) -> None:
    instance_id = create(client, emulator.owner_id)["id"]
    plane.server_stats[instance_id] = ServerStats(1, 0, 2.0, 100_000_000, 100)
    [cpu] = _series(client, "cpu", resource=instance_id)
    assert cpu["unit"] == "cpu"
    assert _values(cpu) == [0.02]  # the first sample: the average since the process started
    clock.advance(60)
    plane.server_stats[instance_id] = ServerStats(1, 0, 5.0, 110_000_000, 110)
    [cpu] = _series(client, "cpu", resource=instance_id)
    assert _values(cpu) == [0.02, 0.3]  # 3 s of CPU in 10 s of the server's clock
    clock.advance(60)
    plane.server_stats[instance_id] = ServerStats(1, 0, 0.5, 200_000_000, 5)  # restarted
    [cpu] = _series(client, "cpu", resource=instance_id)
    assert _values(cpu)[-1] == 0.1


def test_several_resources_unknown_ids_and_ranges(
    emulator: Emulator, client: httpx.Client, clock: FakeClock
) -> None:
    first = create(client, emulator.owner_id)["id"]
    second = create(client, emulator.owner_id, name="two")["id"]
    both = _series(client, "memory", resource=f"{first},red-aaaaaaaaaaaaaaaaaaaa")
    assert [s["labels"] for s in both] == [[{"field": "resource", "value": first}]]
    repeated = client.get("/metrics/memory", params=[("resource", first), ("resource", second)])
    assert [s["labels"][0]["value"] for s in repeated.json()] == [first, second]
    assert _series(client, "memory", resource="red-aaaaaaaaaaaaaaaaaaaa") == []
    assert _series(client, "memory", service=first)[0]["labels"][0]["value"] == first
    # A range before the first sample has no points; epoch seconds are accepted too.
    [early] = _series(client, "cpu", resource=first, startTime=0, endTime=1)
    assert early["values"] == []
    [recent] = _series(client, "cpu", resource=first, startTime="2000-01-01T00:00:00Z")
    assert len(recent["values"]) == 1  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "params",
    [
        {},
        {"resource": "red-x", "resolutionSeconds": "10"},
        {"resource": "red-x", "resolutionSeconds": "fast"},
        {"resource": "red-x", "startTime": "yesterday"},
        {
            "resource": "red-x",
            "startTime": "2030-01-01T00:00:00Z",
            "endTime": "2029-01-01T00:00:00Z",
        },
        {"resource": "red-x", "aggregationMethod": "AVG"},
        {"resource": "red-x", "surprise": "1"},
    ],
    ids=[
        "no-resource",
        "too-fine",
        "not-a-number",
        "bad-time",
        "reversed",
        "aggregation",
        "unknown",
    ],
)
def test_bad_queries_are_400(
    emulator: Emulator, client: httpx.Client, params: dict[str, str]
) -> None:
    create(client, emulator.owner_id)
    response = client.get("/metrics/memory", params=params)
    assert response.status_code == 400, response.text
    assert response.json()["message"]


def test_a_suspended_instance_gets_no_new_points(
    emulator: Emulator, client: httpx.Client, clock: FakeClock
) -> None:
    instance_id = create(client, emulator.owner_id)["id"]
    assert len(_values(_series(client, "memory", resource=instance_id)[0])) == 1
    assert client.post(f"/key-value/{instance_id}/suspend").status_code == 202
    clock.advance(120)
    assert len(_values(_series(client, "memory", resource=instance_id)[0])) == 1


def test_metrics_count_against_the_get_rate_limit(clock: FakeClock) -> None:
    emu = make_emulator(clock, FakeDataPlane(), rate_limits=RateLimitSettings(get_per_minute=2))
    with make_client(emu) as client:
        assert client.get("/metrics/cpu", params={"resource": "red-x"}).status_code == 200
        assert client.get("/key-value").status_code == 200
        limited = client.get("/metrics/cpu", params={"resource": "red-x"})
        assert limited.status_code == 429
        assert "Retry-After" in limited.headers
    emu.stop()


@pytest.mark.dataplane
def test_numbers_come_from_the_real_server(tmp_path: Path) -> None:
    settings = EmulatorSettings(
        data_dir=tmp_path, data_plane=True, rate_limits=RateLimitSettings.unlimited()
    )
    headers = {"Authorization": "Bearer k"}
    with Emulator(settings) as emu, httpx.Client(base_url=emu.url, headers=headers) as api:
        body = {"name": "m", "ownerId": emu.owner_id, "plan": "starter", "persistenceMode": "off"}
        instance_id = api.post("/key-value", json=body).json()["id"]
        url = api.get(f"/key-value/{instance_id}/connection-info").json()[
            "internalConnectionString"
        ]
        [idle] = _series(api, "active-connections", resource=instance_id)
        assert _values(idle) == [0]
        clients = [redis.Redis.from_url(url, socket_timeout=5) for _ in range(3)]
        try:
            for number, client in enumerate(clients):
                client.ping()
                client.set(f"k{number}", "x" * 1_000_000)
            [busy] = _series(api, "active-connections", resource=instance_id)
            [memory] = _series(api, "memory", resource=instance_id)
            with redis.Redis.from_url(url) as probe:
                used = probe.info("memory")["used_memory"]
        finally:
            for client in clients:
                client.close()
        assert _values(busy)[-1] == 3
        assert 3_000_000 <= _values(memory)[-1] <= used * 1.1
        [cpu] = _series(api, "cpu", resource=instance_id)
        assert 0 <= _values(cpu)[-1] < 4
