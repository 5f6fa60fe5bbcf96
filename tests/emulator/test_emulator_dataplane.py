"""End to end with real server processes: the API's changes reach the live server."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import redis

from pulumi_render_kv.emulator import Emulator, EmulatorSettings, RateLimitSettings

pytestmark = pytest.mark.dataplane


@pytest.fixture
def live(tmp_path: Path) -> Iterator[Emulator]:
    settings = EmulatorSettings(
        data_dir=tmp_path, data_plane=True, rate_limits=RateLimitSettings.unlimited()
    )
    with Emulator(settings) as emu:
        yield emu


def test_api_changes_reach_the_live_server(live: Emulator) -> None:
    """create → SET/GET over the internal URL → PATCH policy is live → DELETE stops the server."""
    headers = {"Authorization": "Bearer any"}
    with httpx.Client(base_url=live.url, headers=headers, timeout=30) as api:
        created = api.post(
            "/key-value",
            json={
                "name": "cache",
                "ownerId": live.owner_id,
                "plan": "starter",
                "maxmemoryPolicy": "volatile_lru",
            },
        )
        assert created.status_code == 201, created.text
        instance_id = created.json()["id"]
        info = api.get(f"/key-value/{instance_id}/connection-info").json()
        internal = info["internalConnectionString"]
        assert internal.startswith("redis://127.0.0.1:")

        server = redis.Redis.from_url(internal, socket_timeout=5)
        try:
            assert server.set("greeting", "hello")
            assert server.get("greeting") == b"hello"
            assert server.config_get("maxmemory-policy") == {"maxmemory-policy": "volatile-lru"}
            assert server.config_get("maxmemory") == {"maxmemory": str(256 * 1024 * 1024)}

            patched = api.patch(f"/key-value/{instance_id}", json={"maxmemoryPolicy": "noeviction"})
            assert patched.status_code == 200, patched.text
            assert server.config_get("maxmemory-policy") == {"maxmemory-policy": "noeviction"}
            assert server.get("greeting") == b"hello"

            assert api.delete(f"/key-value/{instance_id}").status_code == 204
        finally:
            server.close()
        with pytest.raises(redis.ConnectionError):
            redis.Redis.from_url(internal, socket_connect_timeout=2).ping()


def test_free_to_paid_upgrade_loses_the_data(live: Emulator) -> None:
    """free → starter flushes the live server, as Render documents."""
    headers = {"Authorization": "Bearer any"}
    with httpx.Client(base_url=live.url, headers=headers, timeout=30) as api:
        created = api.post(
            "/key-value", json={"name": "free", "ownerId": live.owner_id, "plan": "free"}
        )
        assert created.status_code == 201, created.text
        instance_id = created.json()["id"]
        internal = api.get(f"/key-value/{instance_id}/connection-info").json()[
            "internalConnectionString"
        ]
        server = redis.Redis.from_url(internal, socket_timeout=5)
        try:
            server.set("k", "v")
            upgraded = api.patch(f"/key-value/{instance_id}", json={"plan": "starter"})
            assert upgraded.status_code == 200, upgraded.text
            assert upgraded.json()["options"]["persistenceMode"] == "journal_snapshot"
            assert server.get("k") is None
        finally:
            server.close()


def test_external_endpoint_needs_tls_password_and_allow_list(live: Emulator) -> None:
    """rediss:// with the instance's id and password works from an allowed address."""
    headers = {"Authorization": "Bearer any"}
    with httpx.Client(base_url=live.url, headers=headers, timeout=30) as api:
        created = api.post(
            "/key-value",
            json={
                "name": "public",
                "ownerId": live.owner_id,
                "plan": "starter",
                "ipAllowList": [{"cidrBlock": "127.0.0.0/8", "description": "loopback"}],
            },
        )
        assert created.status_code == 201, created.text
        info = api.get(f"/key-value/{created.json()['id']}/connection-info").json()
    assert live.ca_cert_path is not None
    external = redis.Redis.from_url(
        info["externalConnectionString"], ssl_ca_certs=str(live.ca_cert_path), socket_timeout=5
    )
    try:
        assert external.ping() is True
    finally:
        external.close()
