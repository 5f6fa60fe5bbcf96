"""Restarted on the same data dir, the emulator brings back every workspace, environment and
instance (its state is an SQLite file there), and every server on its data."""

from __future__ import annotations

import itertools
import os
import sqlite3
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis

from pulumi_render_kv.emulator import Emulator, EmulatorSettings, RateLimitSettings
from pulumi_render_kv.emulator.store import FILE_NAME, StoreError

from .conftest import create, make_client, make_emulator
from .fakes import FakeClock, FakeDataPlane

HEADERS = {"Authorization": "Bearer any"}


def _control(emu: Emulator) -> httpx.Client:
    return httpx.Client(
        transport=httpx.WSGITransport(app=emu.wsgi_app), base_url="http://e/_emulator"
    )


def _listed(client: httpx.Client) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = client.get("/key-value").json()
    return [item["keyValue"] for item in items]


def _without_status(item: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in item.items() if key != "status"}


# --- the state, with a fake data plane -------------------------------------------------------


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


def test_restart_brings_back_owners_environments_and_instances(
    tmp_path: Path, clock: FakeClock
) -> None:
    """Every field a read shows is the same after the restart; statuses are settled."""
    first_plane = FakeDataPlane()
    first = make_emulator(clock, first_plane, data_dir=tmp_path)
    other = first.backend.add_owner("Other", "other@example.com")
    with make_client(first) as client, _control(first) as control:
        environment = control.post(
            "/environments", json={"name": "production", "protectedStatus": "protected"}
        ).json()
        cache = create(
            client,
            first.owner_id,
            name="cache",
            ipAllowList=[{"cidrBlock": "10.0.0.0/8", "description": "office"}],
        )
        queue = create(client, first.owner_id, name="queue", plan="standard")
        sleeper = create(client, other.id, name="sleeper", persistenceMode="snapshot")
        moved = client.post(
            f"/environments/{environment['id']}/resources", json={"resourceIds": [cache["id"]]}
        )
        assert moved.status_code == 201, moved.text
        assert client.patch(f"/key-value/{queue['id']}", json={"name": "jobs"}).status_code == 200
        assert client.post(f"/key-value/{sleeper['id']}/suspend").status_code == 202
        before = _listed(client)
        owners_before = client.get("/owners").json()
        connection_before = client.get(f"/key-value/{cache['id']}/connection-info").json()
        environment_before = client.get(f"/environments/{environment['id']}").json()
    first.stop()

    second_plane = FakeDataPlane()
    second = make_emulator(clock, second_plane, data_dir=tmp_path)
    try:
        with make_client(second) as client:
            after = _listed(client)
            assert [_without_status(i) for i in after] == [_without_status(i) for i in before]
            assert {i["name"]: i["status"] for i in after} == {
                "sleeper": "suspended",
                "jobs": "available",
                "cache": "available",
            }
            assert [o["owner"] for o in client.get("/owners").json()] == [
                o["owner"] for o in owners_before
            ]
            assert {i["id"]: i.get("environmentId") for i in after}[cache["id"]] == (
                environment["id"]
            )
            assert client.get(f"/environments/{environment['id']}").json() == (environment_before)
            assert environment_before["protectedStatus"] == "protected"
            connection_after = client.get(f"/key-value/{cache['id']}/connection-info").json()
            # Same password (the server's ACL user was recreated with it); new local ports.
            password = connection_before["externalConnectionString"].split(":")[2].split("@")[0]
            assert f":{password}@" in connection_after["externalConnectionString"]
            # Each server restarted with the config it had; the suspended one stopped again.
            assert {c.instance_id: c for c in second_plane.configs.values()} == {
                c.instance_id: c for c in first_plane.configs.values()
            }
            assert second_plane.running == {cache["id"], queue["id"]}
            assert ("suspend", sleeper["id"]) in second_plane.calls
            assert client.post(f"/key-value/{sleeper['id']}/resume").status_code == 202
            # New instances continue the order: newest first in lists.
            newest = create(client, second.owner_id, name="newest")
            assert _listed(client)[0]["id"] == newest["id"]
            # The restored environment still takes resources.
            assert (
                client.post(
                    f"/environments/{environment['id']}/resources",
                    json={"resourceIds": [newest["id"]]},
                ).status_code
                == 201
            )
    finally:
        second.stop()


def test_deletes_and_resets_are_remembered_too(tmp_path: Path, clock: FakeClock) -> None:
    """A deleted instance stays deleted; a reset leaves nothing to bring back."""
    first = make_emulator(clock, FakeDataPlane(), data_dir=tmp_path)
    with make_client(first) as client:
        kept = create(client, first.owner_id, name="kept")
        gone = create(client, first.owner_id, name="gone")
        assert client.delete(f"/key-value/{gone['id']}").status_code == 204
    first.stop()

    second = make_emulator(clock, FakeDataPlane(), data_dir=tmp_path)
    with make_client(second) as client:
        assert [i["id"] for i in _listed(client)] == [kept["id"]]
        assert client.get(f"/key-value/{gone['id']}").status_code == 404
    with _control(second) as control:
        control.post("/environments", json={"name": "staging"})
        assert control.post("/reset").status_code == 204
    second.stop()

    third = make_emulator(clock, FakeDataPlane(), data_dir=tmp_path)
    try:
        with make_client(third) as client:
            assert _listed(client) == []
        with sqlite3.connect(tmp_path / FILE_NAME) as db:
            assert db.execute("SELECT COUNT(*) FROM environments").fetchone() == (0,)
    finally:
        third.stop()


def test_log_stream_overrides_survive_a_restart_and_go_with_their_instance(
    tmp_path: Path, clock: FakeClock
) -> None:
    first = make_emulator(clock, FakeDataPlane(), data_dir=tmp_path)
    override = {"setting": "send", "endpoint": "logs.example.com:6514", "token": "t0k"}
    with make_client(first) as client:
        streamed = create(client, first.owner_id, name="streamed")
        gone = create(client, first.owner_id, name="gone")
        for instance in (streamed, gone):
            put = client.put(f"/logs/streams/resource/{instance['id']}", json=override)
            assert put.status_code == 200, put.text
        assert client.delete(f"/key-value/{gone['id']}").status_code == 204
        # A later change of the instance row keeps the override (no cascade on REPLACE).
        assert client.patch(f"/key-value/{streamed['id']}", json={"name": "s2"}).status_code == 200
    first.stop()

    second = make_emulator(clock, FakeDataPlane(), data_dir=tmp_path)
    try:
        with make_client(second) as client:
            got = client.get(f"/logs/streams/resource/{streamed['id']}")
            assert got.json() == {
                "endpoint": "logs.example.com:6514",
                "resourceId": streamed["id"],
                "setting": "send",
            }
            assert second.backend.log_stream_token(streamed["id"]) == "t0k"
        with sqlite3.connect(tmp_path / FILE_NAME) as db:
            rows = db.execute("SELECT resource_id FROM log_streams").fetchall()
            assert rows == [(streamed["id"],)]
    finally:
        second.stop()


def test_a_version_1_state_file_without_log_streams_opens(tmp_path: Path, clock: FakeClock) -> None:
    """Files written before overrides and stored ports existed gain the tables when opened."""
    emu = make_emulator(clock, FakeDataPlane(), data_dir=tmp_path)
    with make_client(emu) as client:
        kept = create(client, emu.owner_id, name="kept")
    emu.stop()
    with sqlite3.connect(tmp_path / FILE_NAME) as db:
        db.execute("DROP TABLE log_streams")
        db.execute("DROP TABLE endpoints")
    again = make_emulator(clock, FakeDataPlane(), data_dir=tmp_path)
    try:
        with make_client(again) as client:
            assert [i["id"] for i in _listed(client)] == [kept["id"]]
            assert client.get(f"/logs/streams/resource/{kept['id']}").status_code == 404
        # Started on free ports, which are stored from now on.
        assert len(_stored_ports(tmp_path)) == 1
    finally:
        again.stop()


def _stored_ports(data_dir: Path) -> list[tuple[str, int, int]]:
    db = sqlite3.connect(data_dir / FILE_NAME)
    try:
        return db.execute(
            "SELECT resource_id, internal_port, external_port FROM endpoints"
        ).fetchall()
    finally:
        db.close()


def test_a_restart_brings_every_server_back_on_its_ports(tmp_path: Path, clock: FakeClock) -> None:
    """Connection strings stay valid across an emulator restart, as a Render instance's never
    change: a program's outputs and the apps using them need no refresh."""
    first = make_emulator(clock, FakeDataPlane(), data_dir=tmp_path)
    with make_client(first) as client:
        cache = create(client, first.owner_id, name="cache")
        sleeper = create(client, first.owner_id, name="sleeper")
        assert client.post(f"/key-value/{sleeper['id']}/suspend").status_code == 202
        before = {
            i: client.get(f"/key-value/{i}/connection-info").json()
            for i in (cache["id"], sleeper["id"])
        }
    first.stop()

    # The second data plane would pick other ports (its counter starts elsewhere).
    second_plane = FakeDataPlane(_ports=itertools.count(30000, 2))
    second = make_emulator(clock, second_plane, data_dir=tmp_path)
    try:
        with make_client(second) as client:
            assert client.post(f"/key-value/{sleeper['id']}/resume").status_code == 202
            after = {i: client.get(f"/key-value/{i}/connection-info").json() for i in before}
        assert after == before
    finally:
        second.stop()


def test_a_port_taken_meanwhile_is_replaced_and_the_new_one_stored(
    tmp_path: Path, clock: FakeClock
) -> None:
    """When another program holds an old port, the server gets a free one; connection info
    says so, and the next restart takes the new one back."""
    first = make_emulator(clock, FakeDataPlane(), data_dir=tmp_path)
    with make_client(first) as client:
        cache = create(client, first.owner_id, name="cache")
        old = client.get(f"/key-value/{cache['id']}/connection-info").json()
    first.stop()
    [(_, internal, _)] = _stored_ports(tmp_path)

    second = make_emulator(
        clock,
        FakeDataPlane(taken={internal}, _ports=itertools.count(30000, 2)),
        data_dir=tmp_path,
    )
    with make_client(second) as client:
        new = client.get(f"/key-value/{cache['id']}/connection-info").json()
    second.stop()
    assert new["internalConnectionString"] == "redis://127.0.0.1:30000"
    assert new != old
    assert _stored_ports(tmp_path) == [(cache["id"], 30000, 30001)]

    third = make_emulator(clock, FakeDataPlane(taken={internal}), data_dir=tmp_path)
    try:
        with make_client(third) as client:
            again = client.get(f"/key-value/{cache['id']}/connection-info").json()
        assert again == new
    finally:
        third.stop()


def test_state_file_is_sqlite_written_on_every_change(tmp_path: Path, clock: FakeClock) -> None:
    """Readable by any SQLite client while the emulator runs: each answer is already stored."""
    emu = make_emulator(clock, FakeDataPlane(), data_dir=tmp_path)
    try:
        with make_client(emu) as client:
            created = create(client, emu.owner_id, name="first")
            with sqlite3.connect(tmp_path / FILE_NAME) as db:
                assert db.execute("SELECT id, name FROM instances").fetchall() == [
                    (created["id"], "first")
                ]
            client.patch(f"/key-value/{created['id']}", json={"name": "renamed"})
            with sqlite3.connect(tmp_path / FILE_NAME) as db:
                assert db.execute("SELECT name FROM instances").fetchall() == [("renamed",)]
    finally:
        emu.stop()


def test_a_file_that_is_not_a_state_file_is_refused(tmp_path: Path, clock: FakeClock) -> None:
    """Garbage where the state file goes: a clear error, and nothing is left running."""
    (tmp_path / FILE_NAME).write_bytes(b"not a database, just bytes " * 100)
    plane = FakeDataPlane()
    with pytest.raises(StoreError, match="not an emulator state file"):
        make_emulator(clock, plane, data_dir=tmp_path)
    assert plane.closed


def test_a_data_dir_serves_one_emulator_at_a_time(tmp_path: Path, clock: FakeClock) -> None:
    """A second emulator on a data dir in use is refused (it would run every server twice);
    once the first stops, the directory is free again."""
    first = make_emulator(clock, FakeDataPlane(), data_dir=tmp_path)
    second_plane = FakeDataPlane()
    try:
        with pytest.raises(StoreError, match=rf"in use by another emulator \(pid {os.getpid()}\)"):
            make_emulator(clock, second_plane, data_dir=tmp_path)
        assert second_plane.closed
    finally:
        first.stop()
    third = make_emulator(clock, FakeDataPlane(), data_dir=tmp_path)
    third.stop()


def test_without_a_data_dir_nothing_is_stored(clock: FakeClock) -> None:
    """The default (temporary) emulator keeps its state in memory only."""
    emu = make_emulator(clock, FakeDataPlane())
    try:
        assert emu.settings.data_dir is None
        assert emu.backend._store is None
    finally:
        emu.stop()


# --- with real servers ------------------------------------------------------------------------


def _settings(data_dir: Path) -> EmulatorSettings:
    return EmulatorSettings(
        data_dir=data_dir, data_plane=True, rate_limits=RateLimitSettings.unlimited()
    )


@pytest.mark.dataplane
def test_restart_keeps_the_data_written_through_the_connection_string(tmp_path: Path) -> None:
    """Keys written before the stop are there after it, as persistence allows: journal and
    snapshot modes keep them (a suspended instance too, once resumed); the free plan (no
    persistence) comes back empty, as a Render instance without a disk would."""
    with (
        Emulator(_settings(tmp_path)) as first,
        httpx.Client(base_url=first.url, headers=HEADERS, timeout=30) as api,
    ):
        ids: dict[str, str] = {}
        for name, plan, mode in (
            ("journal", "starter", "journal_snapshot"),
            ("snapshot", "starter", "snapshot"),
            ("sleeper", "starter", "journal_snapshot"),
            ("free", "free", None),
        ):
            body = {"name": name, "ownerId": first.owner_id, "plan": plan}
            if mode is not None:
                body["persistenceMode"] = mode
            created = api.post("/key-value", json=body)
            assert created.status_code == 201, created.text
            ids[name] = created.json()["id"]
            url = api.get(f"/key-value/{ids[name]}/connection-info").json()[
                "internalConnectionString"
            ]
            with redis.Redis.from_url(url, socket_timeout=10) as server:
                assert server.set("greeting", f"hello from {name}")
        assert api.post(f"/key-value/{ids['sleeper']}/suspend").status_code == 202

    with (
        Emulator(_settings(tmp_path)) as second,
        httpx.Client(base_url=second.url, headers=HEADERS, timeout=30) as api,
    ):
        listed = {i["keyValue"]["id"]: i["keyValue"] for i in api.get("/key-value").json()}
        assert set(listed) == set(ids.values())
        assert listed[ids["sleeper"]]["status"] == "suspended"
        assert api.post(f"/key-value/{ids['sleeper']}/resume").status_code == 202
        for name, expected in (
            ("journal", b"hello from journal"),
            ("snapshot", b"hello from snapshot"),
            ("sleeper", b"hello from sleeper"),
            ("free", None),
        ):
            url = api.get(f"/key-value/{ids[name]}/connection-info").json()[
                "internalConnectionString"
            ]
            with redis.Redis.from_url(url, socket_timeout=10) as server:
                assert server.get("greeting") == expected, name
        # The external endpoint takes the same password as before the restart.
        info = api.get(f"/key-value/{ids['journal']}/connection-info").json()
        patched = api.patch(
            f"/key-value/{ids['journal']}",
            json={"ipAllowList": [{"cidrBlock": "127.0.0.1/32", "description": "me"}]},
        )
        assert patched.status_code == 200, patched.text
        assert second.ca_cert_path is not None
        with redis.Redis.from_url(
            info["externalConnectionString"],
            ssl_ca_certs=str(second.ca_cert_path),
            socket_timeout=10,
        ) as external:
            assert external.get("greeting") == b"hello from journal"
