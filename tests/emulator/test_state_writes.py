"""With a data dir, a change is stored and applied as one step: a write the state file refuses
answers 500, says nothing was changed, and leaves the file, the memory and the data plane as
they were; the next write goes through.

SQLite's refusal is real: a trigger the test adds to the state file (``RAISE(ABORT)``) makes
SQLite refuse the write, as a full disk or a constraint would.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from pulumi_render_kv.emulator import Emulator
from pulumi_render_kv.emulator.errors import InternalError
from pulumi_render_kv.emulator.store import FILE_NAME

from .conftest import create, make_client, make_emulator
from .fakes import FakeClock, FakeDataPlane

JSON_HEADERS = {"Content-Type": "application/json"}


@contextmanager
def _refusing(data_dir: Path, event: str, table: str) -> Iterator[None]:
    """SQLite refuses every ``event`` (INSERT/DELETE) on ``table`` while the block runs."""
    db = sqlite3.connect(data_dir / FILE_NAME, isolation_level=None)
    try:
        db.execute(
            f"CREATE TRIGGER refuse BEFORE {event} ON {table} "
            "BEGIN SELECT RAISE(ABORT, 'refused by the test'); END"
        )
        yield
    finally:
        db.execute("DROP TRIGGER IF EXISTS refuse")
        db.close()


def _rows(data_dir: Path, query: str) -> list[tuple[Any, ...]]:
    db = sqlite3.connect(data_dir / FILE_NAME)
    try:
        return db.execute(query).fetchall()
    finally:
        db.close()


def _assert_refused(response: httpx.Response) -> None:
    assert response.status_code == 500, response.text
    message = response.json()["message"]
    assert "could not save" in message
    assert "nothing was changed" in message
    assert "refused by the test" in message


@pytest.fixture
def plane() -> FakeDataPlane:
    return FakeDataPlane()


@pytest.fixture
def stored(tmp_path: Path, clock: FakeClock, plane: FakeDataPlane) -> Iterator[Emulator]:
    emu = make_emulator(clock, plane, data_dir=tmp_path)
    yield emu
    emu.stop()


@pytest.fixture
def http(stored: Emulator) -> Iterator[httpx.Client]:
    with make_client(stored) as client:
        yield client


def _restarted(tmp_path: Path, clock: FakeClock, first: Emulator) -> Emulator:
    """A second emulator on the same data dir: what the file holds, nothing else."""
    first.stop()
    return make_emulator(clock, FakeDataPlane(), data_dir=tmp_path)


def test_a_lone_surrogate_in_a_log_stream_endpoint_is_a_400_and_nothing_half_applied(
    tmp_path: Path, clock: FakeClock, stored: Emulator, http: httpx.Client
) -> None:
    """The reported case: SQLite cannot store "\\ud800". It was a 500 that still took effect in
    memory, and every later PATCH of the instance failed (the row could no longer be written)."""
    instance = create(http, stored.owner_id, name="cache")
    body = json.dumps({"setting": "send", "endpoint": "\ud800", "token": "t0k"})
    put = http.put(
        f"/logs/streams/resource/{instance['id']}", content=body.encode(), headers=JSON_HEADERS
    )
    assert put.status_code == 400, put.text
    assert put.json()["message"] == (
        "invalid value for endpoint: must not contain control characters (found U+D800 at 0)"
    )
    assert http.get(f"/logs/streams/resource/{instance['id']}").status_code == 404
    assert _rows(tmp_path, "SELECT * FROM log_streams") == []

    patched = http.patch(f"/key-value/{instance['id']}", json={"name": "renamed"})
    assert patched.status_code == 200, patched.text
    assert _rows(tmp_path, "SELECT name FROM instances") == [("renamed",)]
    again = _restarted(tmp_path, clock, stored)
    try:
        with make_client(again) as client:
            assert client.get(f"/key-value/{instance['id']}").json()["name"] == "renamed"
            assert client.get(f"/logs/streams/resource/{instance['id']}").status_code == 404
    finally:
        again.stop()


def test_a_refused_patch_changes_nothing_and_the_next_one_is_saved(
    tmp_path: Path,
    clock: FakeClock,
    stored: Emulator,
    http: httpx.Client,
    plane: FakeDataPlane,
) -> None:
    """Refused: the answer says so; the name, plan and server config stay; no restart starts."""
    instance = create(http, stored.owner_id, name="cache")
    path = f"/key-value/{instance['id']}"
    before = http.get(path).json()
    with _refusing(tmp_path, "INSERT", "instances"):
        _assert_refused(http.patch(path, json={"name": "renamed", "plan": "standard"}))
    assert http.get(path).json() == before
    assert _rows(tmp_path, "SELECT name, plan FROM instances") == [("cache", "starter")]
    assert "apply" not in plane.names()  # the server was not reconfigured

    patched = http.patch(path, json={"name": "renamed", "plan": "standard"})
    assert patched.status_code == 200, patched.text
    assert (patched.json()["name"], patched.json()["plan"]) == ("renamed", "standard")
    assert _rows(tmp_path, "SELECT name, plan FROM instances") == [("renamed", "standard")]
    assert plane.names().count("apply") == 1


def test_a_refused_log_stream_write_changes_nothing(
    tmp_path: Path, clock: FakeClock, stored: Emulator, http: httpx.Client
) -> None:
    instance = create(http, stored.owner_id, name="cache")
    path = f"/logs/streams/resource/{instance['id']}"
    override = {"setting": "send", "endpoint": "logs.example.com:6514", "token": "t0k"}
    with _refusing(tmp_path, "INSERT", "log_streams"):
        _assert_refused(http.put(path, json=override))
    assert http.get(path).status_code == 404
    assert stored.backend.log_stream_token(instance["id"]) is None
    assert http.patch(f"/key-value/{instance['id']}", json={"name": "s2"}).status_code == 200

    assert http.put(path, json=override).status_code == 200
    assert _rows(tmp_path, "SELECT setting, endpoint, token FROM log_streams") == [
        ("send", "logs.example.com:6514", "t0k")
    ]


def test_a_refused_suspend_leaves_the_server_running(
    tmp_path: Path, stored: Emulator, http: httpx.Client, plane: FakeDataPlane
) -> None:
    instance = create(http, stored.owner_id, name="cache")
    with _refusing(tmp_path, "INSERT", "instances"):
        _assert_refused(http.post(f"/key-value/{instance['id']}/suspend"))
    assert http.get(f"/key-value/{instance['id']}").json()["status"] == "available"
    assert instance["id"] in plane.running
    assert _rows(tmp_path, "SELECT suspended FROM instances") == [(0,)]

    assert http.post(f"/key-value/{instance['id']}/suspend").status_code == 202
    assert http.get(f"/key-value/{instance['id']}").json()["status"] == "suspended"
    assert _rows(tmp_path, "SELECT suspended FROM instances") == [(1,)]


def test_a_refused_delete_keeps_the_instance_and_its_server(
    tmp_path: Path, stored: Emulator, http: httpx.Client, plane: FakeDataPlane
) -> None:
    instance = create(http, stored.owner_id, name="cache")
    with _refusing(tmp_path, "DELETE", "instances"):
        _assert_refused(http.delete(f"/key-value/{instance['id']}"))
    assert http.get(f"/key-value/{instance['id']}").status_code == 200
    assert instance["id"] in plane.running
    assert http.delete(f"/key-value/{instance['id']}").status_code == 204
    assert _rows(tmp_path, "SELECT id FROM instances") == []


def test_a_refused_create_leaves_no_instance_and_no_server(
    tmp_path: Path, stored: Emulator, http: httpx.Client, plane: FakeDataPlane
) -> None:
    """The server started for it is stopped again; the workspace's free slot stays free."""
    body = {"name": "free", "ownerId": stored.owner_id, "plan": "free"}
    with _refusing(tmp_path, "INSERT", "instances"):
        _assert_refused(http.post("/key-value", json=body))
    assert http.get("/key-value").json() == []
    assert plane.running == set()
    assert _rows(tmp_path, "SELECT id FROM instances") == []
    created = http.post("/key-value", json=body)
    assert created.status_code == 201, created.text
    assert _rows(tmp_path, "SELECT id FROM instances") == [(created.json()["id"],)]


def test_a_refused_environment_move_moves_none_of_the_instances(
    tmp_path: Path, stored: Emulator, http: httpx.Client
) -> None:
    """Several rows in one request: all are kept, or none."""
    first = create(http, stored.owner_id, name="first")
    second = create(http, stored.owner_id, name="second")
    environment_id = stored.add_environment("production")
    body = {"resourceIds": [first["id"], second["id"]]}
    with _refusing(tmp_path, "INSERT", "instances"):
        _assert_refused(http.post(f"/environments/{environment_id}/resources", json=body))
    assert [i["keyValue"].get("environmentId") for i in http.get("/key-value").json()] == [
        None,
        None,
    ]
    assert _rows(tmp_path, "SELECT environment_id FROM instances") == [(None,), (None,)]
    moved = http.post(f"/environments/{environment_id}/resources", json=body)
    assert moved.status_code == 201, moved.text
    assert _rows(tmp_path, "SELECT environment_id FROM instances") == [
        (environment_id,),
        (environment_id,),
    ]


def test_a_refused_environment_seed_adds_nothing(tmp_path: Path, stored: Emulator) -> None:
    with (
        _refusing(tmp_path, "INSERT", "environments"),
        pytest.raises(InternalError, match="nothing was changed"),
    ):
        stored.add_environment("production")
    assert stored.backend._environments == {}
    stored.add_environment("production")
    assert len(_rows(tmp_path, "SELECT id FROM environments")) == 1
