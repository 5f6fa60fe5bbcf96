"""Fixtures for the emulator tests: an in-process emulator on a fake clock and data plane."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from pulumi_render_kv.emulator import Emulator, EmulatorSettings, RateLimitSettings

from .fakes import FakeClock, FakeDataPlane

API_KEY = "rnd_test_key"


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def plane() -> FakeDataPlane:
    return FakeDataPlane()


def make_emulator(clock: FakeClock, plane: FakeDataPlane | None, **overrides: Any) -> Emulator:
    settings: dict[str, Any] = {
        "api_key": API_KEY,
        "data_plane": False,
        "rate_limits": RateLimitSettings.unlimited(),
        "clock": clock,
        "sleep": clock.advance,
    }
    settings.update(overrides)
    return Emulator(EmulatorSettings(**settings), data_plane=plane)


@pytest.fixture
def emulator(clock: FakeClock, plane: FakeDataPlane) -> Iterator[Emulator]:
    emu = make_emulator(clock, plane)
    yield emu
    emu.stop()


def make_client(emu: Emulator, *, api_key: str | None = API_KEY) -> httpx.Client:
    headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
    return httpx.Client(
        transport=httpx.WSGITransport(app=emu.wsgi_app),
        base_url="http://emulator.test/v1",
        headers=headers,
    )


@pytest.fixture
def client(emulator: Emulator) -> Iterator[httpx.Client]:
    with make_client(emulator) as http:
        yield http


def create(client: httpx.Client, owner_id: str, **fields: Any) -> dict[str, Any]:
    """Create an instance (starter unless told) and return the 201 body."""
    body = {"name": "cache", "ownerId": owner_id, "plan": "starter", **fields}
    response = client.post("/key-value", json=body)
    assert response.status_code == 201, response.text
    result: dict[str, Any] = response.json()
    return result
