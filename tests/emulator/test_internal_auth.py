"""Render's internal authentication, switched on as its Dashboard does: a restart, then the
internal URL needs the password (the real server answers NOAUTH / WRONGPASS)."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from pulumi_render_kv.emulator import Emulator, EmulatorSettings, RateLimitSettings

from .conftest import create, make_client, make_emulator
from .fakes import FakeClock, FakeDataPlane


def _control(emu: Emulator) -> httpx.Client:
    return httpx.Client(
        transport=httpx.WSGITransport(app=emu.wsgi_app), base_url="http://e/_emulator"
    )


# --- the API's side, with a fake data plane ----------------------------------------------------


def test_switching_it_on_restarts_and_puts_credentials_in_the_internal_url(
    clock: FakeClock, plane: FakeDataPlane
) -> None:
    emu = make_emulator(clock, plane, restart_delay=30)
    with make_client(emu) as api, _control(emu) as control:
        instance_id = create(api, emu.owner_id)["id"]
        before = api.get(f"/key-value/{instance_id}/connection-info").json()
        plain = before["internalConnectionString"]
        assert "@" not in plain
        assert control.get(f"/key-value/{instance_id}/internal-auth").json() == {"enabled": False}

        switched = control.post(f"/key-value/{instance_id}/internal-auth", json={"enabled": True})
        assert switched.status_code == 204, switched.text
        assert api.get(f"/key-value/{instance_id}").json()["status"] == "config_restart"
        clock.advance(30)
        assert api.get(f"/key-value/{instance_id}").json()["status"] == "available"

        after = api.get(f"/key-value/{instance_id}/connection-info").json()
        password = after["externalConnectionString"].split(":")[2].split("@")[0]
        assert after["internalConnectionString"] == plain.replace(
            "redis://", f"redis://default:{password}@"
        )
        assert after["externalConnectionString"] == before["externalConnectionString"]
        assert emu.internal_auth_enabled(instance_id)
        restarts = [config for name, config in plane.calls if name == "restart"]
        assert [c.internal_auth for c in restarts] == [True]  # type: ignore[attr-defined]

        # Switching it on again changes nothing: no second restart.
        assert (
            control.post(
                f"/key-value/{instance_id}/internal-auth", json={"enabled": True}
            ).status_code
            == 204
        )
        assert plane.names().count("restart") == 1
        emu.set_internal_auth(instance_id, enabled=False)
        off = api.get(f"/key-value/{instance_id}/connection-info").json()
        assert off["internalConnectionString"] == plain
        assert plane.names().count("restart") == 2
    emu.stop()


def test_control_refuses_bad_bodies_unknown_and_suspended_instances(
    emulator: Emulator, client: httpx.Client
) -> None:
    instance_id = create(client, emulator.owner_id)["id"]
    with _control(emulator) as control:
        path = f"/key-value/{instance_id}/internal-auth"
        assert control.post(path, json={"enabled": "yes"}).status_code == 400
        assert control.post(path, json={"enabled": True, "user": "x"}).status_code == 400
        unknown = control.post("/key-value/red-aaaaaaaaaaaaaaaaaaaa/internal-auth", json={})
        assert unknown.status_code == 400  # the body is checked first
        missing = control.post(
            "/key-value/red-aaaaaaaaaaaaaaaaaaaa/internal-auth", json={"enabled": True}
        )
        assert missing.status_code == 404
        assert client.post(f"/key-value/{instance_id}/suspend").status_code == 202
        refused = control.post(path, json={"enabled": True})
        assert refused.status_code == 409
        assert "resume it" in refused.json()["message"]
        assert control.delete(path).status_code == 404  # no such method: not a route


def test_rotating_the_password_changes_both_connection_strings(
    emulator: Emulator, client: httpx.Client, plane: FakeDataPlane
) -> None:
    instance_id = create(client, emulator.owner_id)["id"]
    emulator.set_internal_auth(instance_id)
    before = client.get(f"/key-value/{instance_id}/connection-info").json()
    with _control(emulator) as control:
        assert control.post(f"/key-value/{instance_id}/rotate-password").status_code == 204
    after = client.get(f"/key-value/{instance_id}/connection-info").json()
    for key in ("internalConnectionString", "externalConnectionString", "cliCommand"):
        assert after[key] != before[key]
    new_password = plane.configs[instance_id].password
    assert f"default:{new_password}@" in after["internalConnectionString"]
    assert f":{new_password}@" in after["externalConnectionString"]
    assert plane.names()[-1] == "apply"  # live, no restart


def test_internal_auth_survives_an_emulator_restart(tmp_path: Path, clock: FakeClock) -> None:
    first = make_emulator(clock, FakeDataPlane(), data_dir=tmp_path)
    with make_client(first) as api:
        on, off = create(api, first.owner_id)["id"], create(api, first.owner_id)["id"]
    first.set_internal_auth(on)
    first.stop()
    plane = FakeDataPlane()
    second = make_emulator(clock, plane, data_dir=tmp_path)
    try:
        assert second.internal_auth_enabled(on)
        assert not second.internal_auth_enabled(off)
        assert plane.configs[on].internal_auth
        assert not plane.configs[off].internal_auth
    finally:
        second.stop()


# --- with real servers ---------------------------------------------------------------------------


@pytest.fixture
def live(tmp_path: Path) -> Iterator[tuple[Emulator, httpx.Client]]:
    settings = EmulatorSettings(
        data_dir=tmp_path, data_plane=True, rate_limits=RateLimitSettings.unlimited()
    )
    with (
        Emulator(settings) as emu,
        httpx.Client(base_url=emu.url, headers={"Authorization": "Bearer k"}, timeout=30) as api,
    ):
        yield emu, api


def _raw_reply(host_port: str, request: bytes) -> bytes:
    """The server's first reply line to ``request`` sent on a fresh, unauthenticated socket."""
    host, _, port = host_port.rpartition(":")
    with socket.create_connection((host, int(port)), timeout=5) as sock:
        sock.sendall(request)
        with sock.makefile("rb") as replies:
            return replies.readline()


def _once(url: str, *command: str) -> object:
    """One command on a client that is closed afterwards, whatever the server answered."""
    with _server(url) as client:
        return client.execute_command(*command)


def _server(url: str, **options: object) -> redis.Redis:
    return redis.Redis.from_url(url, socket_timeout=5, retry=Retry(NoBackoff(), 0), **options)


@pytest.mark.dataplane
def test_the_real_server_enforces_internal_auth(live: tuple[Emulator, httpx.Client]) -> None:
    """Before: no password needed and any accepted. After: NOAUTH without, WRONGPASS with a
    wrong or rotated one; the credentialed URL works; connected clients were cut by the restart."""
    emu, api = live
    loopback = [{"cidrBlock": "127.0.0.0/8", "description": "this machine"}]
    body = {"name": "q", "ownerId": emu.owner_id, "plan": "starter", "ipAllowList": loopback}
    created = api.post("/key-value", json=body)
    assert created.status_code == 201, created.text
    instance_id = created.json()["id"]
    plain = api.get(f"/key-value/{instance_id}/connection-info").json()["internalConnectionString"]
    host_port = plain.removeprefix("redis://")

    with _server(plain) as client:
        assert client.set("job", "1")
        with _server(f"redis://default:anything@{host_port}") as migrating:
            assert migrating.get("job") == b"1"  # `default` accepts any password until it is on
        connected = _server(plain)
        assert connected.ping()

        emu.set_internal_auth(instance_id)

        with pytest.raises(redis.ConnectionError):
            connected.ping()  # the restart disconnected it
        connected.close()
        with pytest.raises(redis.AuthenticationError, match="authenticated"):
            _once(plain, "GET", "job")  # redis-py opens with HELLO: its NOAUTH says so
        assert _raw_reply(host_port, b"GET job\r\n") == b"-NOAUTH Authentication required.\r\n"
        with pytest.raises(redis.AuthenticationError, match="invalid username-password pair"):
            _once(f"redis://default:anything@{host_port}", "GET", "job")

    credentialed = api.get(f"/key-value/{instance_id}/connection-info").json()[
        "internalConnectionString"
    ]
    assert credentialed.startswith("redis://default:")
    with _server(credentialed) as client:
        assert client.get("job") == b"1"  # journal persistence kept it across the restart

    emu.rotate_password(instance_id)
    with pytest.raises(redis.AuthenticationError, match="invalid username-password pair"):
        _once(credentialed, "PING")
    rotated = api.get(f"/key-value/{instance_id}/connection-info").json()
    with _server(rotated["internalConnectionString"]) as client:
        assert client.get("job") == b"1"
    assert emu.ca_cert_path is not None
    with _server(rotated["externalConnectionString"], ssl_ca_certs=str(emu.ca_cert_path)) as ext:
        assert ext.get("job") == b"1"  # the external endpoint takes the new password too

    # Off again: the password-less internal URL works, after one more restart.
    emu.set_internal_auth(instance_id, enabled=False)
    with _server(plain) as client:
        assert client.get("job") == b"1"


@pytest.mark.dataplane
def test_internal_auth_is_back_after_an_emulator_restart(tmp_path: Path) -> None:
    settings = EmulatorSettings(
        data_dir=tmp_path, data_plane=True, rate_limits=RateLimitSettings.unlimited()
    )
    headers = {"Authorization": "Bearer k"}
    with Emulator(settings) as first, httpx.Client(base_url=first.url, headers=headers) as api:
        body = {"name": "q", "ownerId": first.owner_id, "plan": "starter"}
        instance_id = api.post("/key-value", json=body).json()["id"]
        first.set_internal_auth(instance_id)
        url = api.get(f"/key-value/{instance_id}/connection-info").json()[
            "internalConnectionString"
        ]
    with Emulator(settings) as second, httpx.Client(base_url=second.url, headers=headers) as api:
        again = api.get(f"/key-value/{instance_id}/connection-info").json()
        assert again["internalConnectionString"] == url  # same ports, same credentials
        with _server(url) as client:
            assert client.ping()
        plain = "redis://" + url.split("@", 1)[1]
        with pytest.raises(redis.AuthenticationError):
            _once(plain, "PING")
