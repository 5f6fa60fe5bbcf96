"""End to end with real server processes: the API's changes reach the live server."""

from __future__ import annotations

import ipaddress
import socket
import sys
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from pulumi_render_kv.emulator import Emulator, EmulatorSettings, RateLimitSettings

pytestmark = pytest.mark.dataplane


def _listening_addresses(port: int) -> set[str]:
    """The local addresses of the TCP sockets listening on ``port`` (from /proc/net/tcp{,6})."""
    found: set[str] = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except FileNotFoundError:
            continue
        for line in lines:
            fields = line.split()
            address, _, port_hex = fields[1].partition(":")
            if fields[3] != "0A" or int(port_hex, 16) != port:  # 0A = LISTEN
                continue
            # Each 32-bit word of the address is in host (little-endian) byte order.
            raw = b"".join(
                bytes.fromhex(address[i : i + 8])[::-1] for i in range(0, len(address), 8)
            )
            found.add(str(ipaddress.ip_address(raw)))
    return found


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
    """rediss:// with the id and password works from an allowed address, and only then.

    Each missing piece is refused: plain text on the TLS port, a wrong password, and an allow
    list (changed through the API) that no longer admits 127.0.0.1.
    """
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
        instance_id = created.json()["id"]
        info = api.get(f"/key-value/{instance_id}/connection-info").json()
        assert live.ca_cert_path is not None
        ca = str(live.ca_cert_path)
        url = httpx.URL(info["externalConnectionString"])
        assert url.scheme == "rediss"

        def external(target: httpx.URL, **options: object) -> redis.Redis:
            return redis.Redis.from_url(
                str(target), socket_timeout=5, retry=Retry(NoBackoff(), 0), **options
            )

        with external(url, ssl_ca_certs=ca) as client:
            assert client.ping() is True

        # No TLS: the same URL as plain redis:// gets only a closed connection.
        with external(url.copy_with(scheme="redis")) as plain, pytest.raises(redis.ConnectionError):
            plain.ping()

        # The right user with a wrong password.
        wrong = url.copy_with(password="not-the-password")
        with (
            external(wrong, ssl_ca_certs=ca) as client,
            pytest.raises(redis.AuthenticationError, match="invalid username-password pair"),
        ):
            client.ping()

        # An allow list that does not admit 127.0.0.1 (applies to new connections).
        patched = api.patch(
            f"/key-value/{instance_id}",
            json={"ipAllowList": [{"cidrBlock": "203.0.113.0/24", "description": "elsewhere"}]},
        )
        assert patched.status_code == 200, patched.text
        with (
            external(url, ssl_ca_certs=ca) as client,
            pytest.raises(redis.ResponseError, match="Client IP address is not in the allowlist"),
        ):
            client.ping()


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc/net/tcp")
def test_data_plane_stays_on_loopback_when_the_api_listens_on_all_interfaces(
    tmp_path: Path,
) -> None:
    """host="0.0.0.0" is the API's address only: servers, gates and URLs stay on 127.0.0.1."""
    settings = EmulatorSettings(
        host="0.0.0.0",  # the point of the test; the API itself is never started here
        data_dir=tmp_path,
        rate_limits=RateLimitSettings.unlimited(),
    )
    emu = Emulator(settings)
    try:
        transport = httpx.WSGITransport(app=emu.wsgi_app)
        with httpx.Client(
            transport=transport,
            base_url="http://emulator.test/v1",
            headers={"Authorization": "Bearer any"},
        ) as api:
            created = api.post(
                "/key-value",
                json={
                    "name": "cache",
                    "ownerId": emu.owner_id,
                    "plan": "starter",
                    "ipAllowList": [{"cidrBlock": "0.0.0.0/0", "description": "everywhere"}],
                },
            )
            assert created.status_code == 201, created.text
            info = api.get(f"/key-value/{created.json()['id']}/connection-info").json()
        internal = httpx.URL(info["internalConnectionString"])
        external = httpx.URL(info["externalConnectionString"])
        assert (internal.host, external.host) == ("127.0.0.1", "127.0.0.1")
        assert " -h 127.0.0.1 " in info["cliCommand"]
        assert internal.port is not None
        assert external.port is not None
        server = redis.Redis.from_url(str(internal), socket_timeout=5)
        try:
            assert server.config_get("bind") == {"bind": "127.0.0.1"}
            assert server.config_get("protected-mode") == {"protected-mode": "no"}
        finally:
            server.close()
        assert _listening_addresses(internal.port) == {"127.0.0.1"}
        assert _listening_addresses(external.port) == {"127.0.0.1"}
    finally:
        emu.stop()


def _spawners() -> int:
    return sum(thread.name == "dataplane-spawner" for thread in threading.enumerate())


def test_a_busy_port_leaves_no_temp_dir_and_no_spawner_thread(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`with Emulator(...)` on a port in use: OSError, and the data plane made first is gone."""
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    spawners = _spawners()
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen(1)
        settings = EmulatorSettings(port=busy.getsockname()[1])
        with pytest.raises(OSError, match="cannot listen"):  # noqa: SIM117
            with Emulator(settings):
                pytest.fail("__enter__ should have raised")
    assert list(tmp_path.iterdir()) == []  # the data dir held the CA's private key
    assert _spawners() == spawners
