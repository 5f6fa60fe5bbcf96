"""The data plane follows readiness: no PING answers while an instance is not available.

Real server processes, the API in-process. Most tests drive the emulator's clock (the status
and the gates read the same one), so each transition is checked at its exact instant with no
waiting; one runs on the real clock with short delays and waits on the status, as a user does.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from pulumi_render_kv.emulator import Emulator, EmulatorSettings, RateLimitSettings

from .conftest import create, make_client
from .fakes import FakeClock

pytestmark = pytest.mark.dataplane

DELAY = 30.0  # seconds of emulator clock; only the fake clock ever covers them


@pytest.fixture
def live(tmp_path: Path, clock: FakeClock) -> Iterator[Emulator]:
    settings = EmulatorSettings(
        api_key="any",
        data_dir=tmp_path,
        create_delay=DELAY,
        restart_delay=DELAY,
        resume_delay=DELAY,
        rate_limits=RateLimitSettings.unlimited(),
        clock=clock,
        sleep=clock.advance,
    )
    with Emulator(settings) as emu:
        yield emu


@pytest.fixture
def api(live: Emulator) -> Iterator[httpx.Client]:
    with make_client(live, api_key="any") as http:
        yield http


def _answers(url: str, ca_cert: Path | None) -> bool:
    """Whether a new connection to ``url`` gets PONG (a refused or dropped one does not)."""
    options: dict[str, Any] = {"socket_timeout": 5, "socket_connect_timeout": 5}
    if url.startswith("rediss://"):
        options["ssl_ca_certs"] = str(ca_cert)
    client = redis.Redis.from_url(url, retry=Retry(NoBackoff(), 0), **options)
    try:
        return bool(client.ping())
    except redis.ConnectionError:
        return False
    finally:
        client.close()


class _Instance:
    """One created instance: its status and whether each endpoint answers PING now."""

    def __init__(self, live: Emulator, api: httpx.Client, body: dict[str, Any]) -> None:
        self.id: str = body["id"]
        self._api = api
        self._ca_cert = live.ca_cert_path
        info = api.get(f"/key-value/{self.id}/connection-info").json()
        self.internal: str = info["internalConnectionString"]
        self.external: str = info["externalConnectionString"]

    def status(self) -> str:
        status: str = self._api.get(f"/key-value/{self.id}").json()["status"]
        return status

    def answering(self) -> tuple[bool, bool]:
        """(internal, external) PING answered."""
        return _answers(self.internal, self._ca_cert), _answers(self.external, self._ca_cert)


def _create(live: Emulator, api: httpx.Client) -> _Instance:
    body = create(
        api, live.owner_id, ipAllowList=[{"cidrBlock": "127.0.0.1/32", "description": "here"}]
    )
    return _Instance(live, api, body)


def test_no_ping_answer_while_creating_then_both_endpoints_answer(
    live: Emulator, api: httpx.Client, clock: FakeClock
) -> None:
    instance = _create(live, api)
    assert instance.status() == "creating"
    assert instance.answering() == (False, False)
    clock.advance(DELAY - 0.5)
    assert instance.status() == "creating"
    assert instance.answering() == (False, False)
    clock.advance(0.5)
    assert instance.status() == "available"
    assert instance.answering() == (True, True)


@pytest.mark.parametrize(
    ("change", "restart_status"),
    [
        ({"maxmemoryPolicy": "noeviction"}, "config_restart"),
        ({"plan": "standard"}, "updating_instance"),
    ],
)
def test_a_restart_drops_connections_and_refuses_new_ones_until_available(
    live: Emulator,
    api: httpx.Client,
    clock: FakeClock,
    change: dict[str, str],
    restart_status: str,
) -> None:
    instance = _create(live, api)
    clock.advance(DELAY)
    held = redis.Redis.from_url(instance.internal, socket_timeout=5, retry=Retry(NoBackoff(), 0))
    try:
        assert held.set("kept", "yes")
        patched = api.patch(f"/key-value/{instance.id}", json=change)
        assert patched.status_code == 200, patched.text
        assert instance.status() == restart_status
        # A restart drops the clients it had: the held connection's next request fails.
        with pytest.raises(redis.ConnectionError):
            held.get("kept")
        assert instance.answering() == (False, False)
        clock.advance(DELAY - 0.5)
        assert instance.answering() == (False, False)
        clock.advance(0.5)
        assert instance.status() == "available"
        assert instance.answering() == (True, True)
        assert held.get("kept") == b"yes"  # a new connection: the data outlived the restart
    finally:
        held.close()


def test_a_change_that_does_not_restart_keeps_connections(
    live: Emulator, api: httpx.Client, clock: FakeClock
) -> None:
    instance = _create(live, api)
    clock.advance(DELAY)
    held = redis.Redis.from_url(instance.internal, socket_timeout=5, retry=Retry(NoBackoff(), 0))
    try:
        assert held.set("k", "v")
        patched = api.patch(f"/key-value/{instance.id}", json={"name": "renamed"})
        assert patched.status_code == 200, patched.text
        assert instance.status() == "available"
        assert held.get("k") == b"v"
        assert instance.answering() == (True, True)
    finally:
        held.close()


def test_no_ping_answer_while_suspended_or_resuming(
    live: Emulator, api: httpx.Client, clock: FakeClock
) -> None:
    instance = _create(live, api)
    clock.advance(DELAY)
    assert instance.answering() == (True, True)
    assert api.post(f"/key-value/{instance.id}/suspend").status_code == 202
    assert instance.status() == "suspended"
    assert instance.answering() == (False, False)
    assert api.post(f"/key-value/{instance.id}/resume").status_code == 202
    assert instance.status() == "suspended"  # the resume's restart has not begun
    assert instance.answering() == (False, False)
    clock.advance(DELAY)
    assert instance.status() == "unavailable"
    assert instance.answering() == (False, False)
    clock.advance(DELAY)
    assert instance.status() == "available"
    assert instance.answering() == (True, True)


def test_on_the_real_clock_ping_answers_once_the_status_says_available(tmp_path: Path) -> None:
    """What a tool's user sees: PING fails while ``creating`` and answers once ``available``."""
    delay = 2.0
    settings = EmulatorSettings(
        api_key="any",
        data_dir=tmp_path,
        create_delay=delay,
        restart_delay=delay,
        rate_limits=RateLimitSettings.unlimited(),
    )
    with Emulator(settings) as live, make_client(live, api_key="any") as api:
        created_at = time.monotonic()
        instance = _create(live, api)
        assert instance.answering() == (False, False)
        assert time.monotonic() - created_at < delay  # the refusal was inside the window
        deadline = created_at + 30
        while (status := instance.status()) != "available":
            assert status == "creating"
            assert time.monotonic() < deadline, "never became available"
            time.sleep(0.02)
        assert instance.answering() == (True, True)
