"""The client's maintenance and metrics methods against the real emulator over HTTP."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import redis

from pulumi_render_kv.client import (
    ClientLimits,
    InvalidRequestError,
    KeyValuePOSTInput,
    NotFoundError,
    RenderClient,
    RenderSettings,
)
from pulumi_render_kv.emulator import Emulator, EmulatorSettings, RateLimitSettings

from ._fakes import FakeClock

API_KEY = "test-key"
HOUR = timedelta(hours=1)


def _connect(emu: Emulator, clock: FakeClock) -> RenderClient:
    settings = RenderSettings.resolve(
        api_key=API_KEY,
        base_url=emu.url,
        owner_id=emu.owner_id,
        limits=ClientLimits.off(),
        environ={},
    )
    return RenderClient(settings, clock=clock, sleep=clock.sleep, rng=lambda: 0.0)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def emu(clock: FakeClock) -> Iterator[Emulator]:
    settings = EmulatorSettings(
        api_key=API_KEY,
        data_plane=False,
        rate_limits=RateLimitSettings.unlimited(),
        clock=clock,
        restart_delay=30,
    )
    with Emulator(settings) as emulator:
        yield emulator


@pytest.fixture
def client(emu: Emulator, clock: FakeClock) -> Iterator[RenderClient]:
    with _connect(emu, clock) as render:
        yield render


def _instance(emu: Emulator, client: RenderClient) -> str:
    body = KeyValuePOSTInput(name="queue", owner_id=emu.owner_id, plan="starter")
    return client.create_key_value(body).id


def test_maintenance_round_trip(emu: Emulator, client: RenderClient, clock: FakeClock) -> None:
    """Scheduled → seen on the detail and in the list → moved → refused past its window →
    triggered → in progress → succeeded, all through the client's typed methods."""
    instance_id = _instance(emu, client)
    start = (datetime.now(UTC) + 2 * HOUR).replace(microsecond=0)
    run_id = emu.schedule_maintenance(
        instance_id, scheduled_at=start, pending_maintenance_by=start + 24 * HOUR
    )

    detail = client.retrieve_key_value(instance_id)
    assert detail.status == "maintenance_scheduled"
    assert detail.maintenance is not None
    assert (detail.maintenance.id, detail.maintenance.state) == (run_id, "scheduled")
    assert detail.maintenance.pending_maintenance_by == start + 24 * HOUR

    [run] = client.list_maintenance(resource_id=instance_id)
    assert (run.id, run.resource_id, run.scheduled_at, run.type) == (
        run_id,
        instance_id,
        start,
        "software_upgrade",
    )
    assert client.list_maintenance(resource_id="red-aaaaaaaaaaaaaaaaaaaa") == []
    assert client.list_maintenance(state=["succeeded", "failed"]) == []

    client.update_maintenance(run_id, start + 6 * HOUR)
    assert client.retrieve_maintenance(run_id).scheduled_at == start + 6 * HOUR
    with pytest.raises(InvalidRequestError, match="pendingMaintenanceBy"):
        client.update_maintenance(run_id, start + 25 * HOUR)
    with pytest.raises(InvalidRequestError, match="in the past"):
        client.update_maintenance(run_id, datetime.now(UTC) - HOUR)

    client.trigger_maintenance(run_id)
    assert client.retrieve_maintenance(run_id).state == "in_progress"
    assert client.retrieve_key_value(instance_id).status == "maintenance_in_progress"
    with pytest.raises(InvalidRequestError, match="only a scheduled run"):
        client.trigger_maintenance(run_id)
    clock.advance(30)
    assert client.retrieve_maintenance(run_id).state == "succeeded"
    assert client.retrieve_key_value(instance_id).maintenance is None
    with pytest.raises(NotFoundError):
        client.retrieve_maintenance("mrn-aaaaaaaaaaaaaaaaaaaa")


def test_a_trigger_whose_answer_was_lost_is_not_an_error(
    emu: Emulator, client: RenderClient
) -> None:
    """The first POST started the run and lost its connection; the retry's 400 means done."""
    instance_id = _instance(emu, client)
    run_id = emu.schedule_maintenance(instance_id, scheduled_at=datetime.now(UTC) + HOUR)
    path = f"/v1/maintenance/{run_id}/trigger"
    emu.inject_fault(method="POST", path=path, drop_connection=True)
    client.trigger_maintenance(run_id)
    posts = [r["status"] for r in emu.requests() if (r["method"], r["path"]) == ("POST", path)]
    assert posts == [202, 400]
    assert client.retrieve_maintenance(run_id).state == "in_progress"


def test_metrics_without_servers_are_empty_series(emu: Emulator, client: RenderClient) -> None:
    instance_id = _instance(emu, client)
    [memory] = client.get_memory(instance_id)
    assert (memory.label("resource"), memory.unit, memory.values) == (instance_id, "bytes", [])
    assert client.get_cpu("red-aaaaaaaaaaaaaaaaaaaa") == []
    now = datetime.now(UTC)
    with pytest.raises(InvalidRequestError, match="after endTime"):
        client.get_active_connections(instance_id, start_time=now, end_time=now - HOUR)


@pytest.mark.dataplane
def test_metrics_of_a_real_server_through_the_client(tmp_path: Path, clock: FakeClock) -> None:
    settings = EmulatorSettings(
        api_key=API_KEY,
        data_dir=tmp_path,
        data_plane=True,
        rate_limits=RateLimitSettings.unlimited(),
    )
    with Emulator(settings) as emu, _connect(emu, clock) as client:
        instance_id = _instance(emu, client)
        url = client.retrieve_key_value_connection_info(
            instance_id
        ).get_internal_connection_string()
        with redis.Redis.from_url(url, socket_timeout=5) as server:
            server.set("blob", "x" * 2_000_000)
            [connections] = client.get_active_connections(instance_id)
            assert connections.values[-1].value == 1
        [memory] = client.get_memory(instance_id, resolution_seconds=30)
        assert memory.values[-1].value >= 2_000_000
        [cpu] = client.get_cpu(instance_id, start_time=datetime.now(UTC) - HOUR)
        assert cpu.values[-1].value >= 0
        assert cpu.values[-1].timestamp.tzinfo is not None
