"""Replays Render's recorded traffic against the emulator and compares the answers.

The recordings are go-vcr cassettes from the acceptance tests of Render's Terraform provider
(``../shared/render-traffic/*.yaml``, see its SOURCE.txt), read at run time and never copied
into the repository. Each request is sent to an in-process emulator, with the ids Render
created during the recording replaced by the ids the emulator created in their place; then
status, headers, and the body's shape (keys and JSON types, recursively) and values are
compared. Values that cannot match are compared by form only: timestamps, request ids,
rate-limit counters, and the host, port and password inside connection strings.

Requests the emulator does not serve are replayed by other means or skipped, each for a reason
named in ``NOT_EMULATED`` and in the README's list of differences: a project is created as
environments through the control plane, and project reads/deletes are skipped. Log-stream
overrides are replayed like every instance request. Any other request that cannot be replayed
fails the test.
"""

from __future__ import annotations

import json
import os
import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
import yaml

from pulumi_render_kv.emulator import Emulator, EmulatorSettings, RateLimitSettings

from .fakes import FakeClock

_ROOT = Path(__file__).resolve().parents[2]
TRAFFIC_DIR = Path(
    os.environ.get("RENDER_TRAFFIC_DIR") or _ROOT.parent / "shared" / "render-traffic"
)
CASSETTES = sorted(TRAFFIC_DIR.glob("*.yaml")) if TRAFFIC_DIR.is_dir() else []

pytestmark = pytest.mark.skipif(
    not TRAFFIC_DIR.is_dir(),
    reason="Render's recorded traffic not found in ../shared/render-traffic/ "
    "(set RENDER_TRAFFIC_DIR to the folder holding the *.yaml cassettes)",
)

# The scrubbed workspace of the recording; the emulator is started with the same name/email.
RECORDED_OWNER_ID = "some-owner-id"
RECORDED_OWNER = {"name": "My Workspace", "email": "email@example.com"}

# Families of requests the emulator does not serve, and what the replay does instead.
NOT_EMULATED = {
    "create-project": "no projects API: its environments are seeded through the control plane",
    "project": "no projects API: project reads and deletes are skipped",
}

# Headers Render sent on every answer; the emulator must send them too. The first group must
# also have Render's exact values.
SAME_VALUE_HEADERS = (
    "Content-Type",
    "Referrer-Policy",
    "Vary",
    "X-Content-Type-Options",
    "X-Frame-Options",
    "X-Xss-Protection",
)
PRESENT_HEADERS = ("Render-Request-Id", "Ratelimit-Limit", "Ratelimit-Remaining", "Ratelimit-Reset")

ID = re.compile(r"\b(?:red|evm|prj|tea)-[a-z0-9]{20}\b|\bsome-owner-id\b")
TIMESTAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,9})?Z$")
PASSWORD = re.compile(r"[A-Za-z0-9]{32}")
# What in a connection string is local (emulator) or Render's network (recording): compared
# by form. Placeholders keep the rest -- scheme, user, flags, the leading space -- exact.
CONNECTION_PARTS = (
    (re.compile(r"REDISCLI_AUTH=[A-Za-z0-9]{32}"), "REDISCLI_AUTH=<password>"),
    (re.compile(r":[A-Za-z0-9]{32}@"), ":<password>@"),
    (re.compile(r"@[^:/\s]+:\d+"), "@<host>:<port>"),
    (re.compile(r"-h \S+ -p \d+"), "-h <host> -p <port>"),
)
CONNECTION_FIELDS = {"externalConnectionString", "cliCommand", "redisCLICommand"}
# A create answers `unknown` or `creating`, Render's choice (both recorded): either matches.
CREATE_STATUSES = {"unknown", "creating"}


@dataclass
class Replay:
    """One cassette's replay: the id map and what was compared or skipped."""

    emulator: Emulator
    api: httpx.Client
    control: httpx.Client
    ids: dict[str, str] = field(default_factory=dict)
    compared: Counter[str] = field(default_factory=Counter)
    skipped: Counter[str] = field(default_factory=Counter)
    differences: list[str] = field(default_factory=list)

    def translate(self, text: str) -> str:
        """Recorded ids → the emulator's; an id not seen yet stays (and fails visibly)."""
        return ID.sub(lambda match: self.ids.get(match[0], match[0]), text)


@pytest.fixture
def replay() -> Iterator[Replay]:
    settings = EmulatorSettings(
        api_key="some-api-key",
        owner_name=RECORDED_OWNER["name"],
        owner_email=RECORDED_OWNER["email"],
        data_plane=False,
        # The recording's instances never left `creating`: a clock that does not move and a
        # long creation keep the emulator's statuses on the same course.
        clock=FakeClock(),
        create_delay=3600,
        rate_limits=RateLimitSettings(),
    )
    emulator = Emulator(settings)
    transport = httpx.WSGITransport(app=emulator.wsgi_app)
    with (
        httpx.Client(
            transport=transport,
            base_url="http://emulator.test",
            headers={"Authorization": "Bearer some-api-key"},
        ) as api,
        httpx.Client(transport=transport, base_url="http://emulator.test/_emulator") as control,
    ):
        state = Replay(emulator, api, control)
        state.ids[RECORDED_OWNER_ID] = emulator.owner_id
        yield state
    emulator.stop()


def _family(method: str, path: str) -> str | None:
    if path == "/v1/projects" and method == "POST":
        return "create-project"
    if path.startswith("/v1/projects/"):
        return "project"
    return None


def _create_project(replay: Replay, request_body: Any, response_body: Any) -> None:
    """A project's environments, seeded through the control plane; their ids are mapped."""
    project_id: str | None = None
    for spec, recorded_id in zip(
        request_body["environments"], response_body["environmentIds"], strict=True
    ):
        made = replay.control.post(
            "/environments",
            json={
                "name": spec["name"],
                "ownerId": replay.ids[request_body["ownerId"]],
                "protectedStatus": spec.get("protectedStatus", "unprotected"),
                "networkIsolationEnabled": spec.get("networkIsolationEnabled", False),
                **({"projectId": project_id} if project_id else {}),
            },
        )
        assert made.status_code == 201, made.text
        replay.ids[recorded_id] = made.json()["id"]
        project_id = made.json()["projectId"]
    assert project_id is not None
    replay.ids[response_body["id"]] = project_id


def _learn_ids(replay: Replay, recorded: Any, actual: Any) -> None:
    """Map the id of a resource the request created (recorded → emulator)."""
    if isinstance(recorded, dict) and isinstance(actual, dict):
        recorded_id, actual_id = recorded.get("id"), actual.get("id")
        if isinstance(recorded_id, str) and isinstance(actual_id, str):
            replay.ids.setdefault(recorded_id, actual_id)


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    return "array" if isinstance(value, list) else "object"


def _compare(
    replay: Replay, where: str, recorded: Any, actual: Any, key: str = "", created: bool = False
) -> None:
    """Record every difference of shape (keys, JSON types) and of deterministic values.

    ``created``: the body answers a create, whose ``status`` Render picks from two values.
    """
    if _kind(recorded) != _kind(actual):
        replay.differences.append(
            f"{where}: {_kind(actual)} where Render sent {_kind(recorded)} "
            f"({json.dumps(actual)[:80]} vs {json.dumps(recorded)[:80]})"
        )
        return
    if isinstance(recorded, dict):
        if set(recorded) != set(actual):
            replay.differences.append(
                f"{where}: keys {sorted(actual)} where Render sent {sorted(recorded)}"
            )
        for name in sorted(set(recorded) & set(actual)):
            _compare(replay, f"{where}.{name}", recorded[name], actual[name], name, created)
        return
    if isinstance(recorded, list):
        if len(recorded) != len(actual):
            replay.differences.append(f"{where}: {len(actual)} items, Render sent {len(recorded)}")
        for index, (left, right) in enumerate(zip(recorded, actual, strict=False)):
            _compare(replay, f"{where}[{index}]", left, right, key, created)
        return
    if not isinstance(recorded, str):
        if recorded != actual:
            replay.differences.append(f"{where}: {actual!r} where Render sent {recorded!r}")
        return
    expected = replay.translate(recorded)
    if key in ("createdAt", "updatedAt"):
        if not (TIMESTAMP.match(recorded) and TIMESTAMP.match(actual)):
            replay.differences.append(f"{where}: timestamp {actual!r} vs Render's {recorded!r}")
        return
    if created and key == "status" and {recorded, actual} <= CREATE_STATUSES:
        return
    if key in CONNECTION_FIELDS:
        for pattern, placeholder in CONNECTION_PARTS:
            expected, actual = pattern.sub(placeholder, expected), pattern.sub(placeholder, actual)
    if expected != actual:
        replay.differences.append(f"{where}: {actual!r} where Render sent {expected!r}")


def _compare_headers(
    replay: Replay, where: str, recorded: dict[str, Any], actual: httpx.Headers
) -> None:
    for name in SAME_VALUE_HEADERS:
        if name in recorded and actual.get(name) != recorded[name][0]:
            replay.differences.append(
                f"{where}: header {name}: {actual.get(name)!r}, Render sent {recorded[name][0]!r}"
            )
        if name not in recorded and name in actual:
            replay.differences.append(f"{where}: header {name} that Render did not send")
    for name in PRESENT_HEADERS:
        if name in recorded and name not in actual:
            replay.differences.append(f"{where}: no {name} header (Render sent one)")


def _replay_cassette(replay: Replay, cassette: Path) -> None:
    interactions = yaml.safe_load(cassette.read_text())["interactions"]
    for interaction in interactions:
        request, response = interaction["request"], interaction["response"]
        url = urlsplit(request["url"])
        method = request["method"]
        recorded_body = json.loads(response["body"]) if response["body"].strip() else None
        request_body = json.loads(request["body"]) if request["body"] else None
        where = f"{cassette.name}#{interaction['id']} {method} {url.path}"
        family = _family(method, url.path)
        if family == "create-project":
            _create_project(replay, request_body, recorded_body)
        if family is not None:
            replay.skipped[family] += 1
            continue
        target = replay.translate(url.path + (f"?{url.query}" if url.query else ""))
        content = replay.translate(request["body"]).encode() if request["body"] else None
        headers = {"Content-Type": "application/json"} if content else {}
        answer = replay.api.request(method, target, content=content, headers=headers)
        replay.compared[f"{method} {answer.status_code}"] += 1
        if answer.status_code != response["code"]:
            replay.differences.append(
                f"{where}: status {answer.status_code} where Render sent {response['code']} "
                f"({answer.text[:120]})"
            )
            continue
        actual_body = answer.json() if answer.content else None
        created = method == "POST" and answer.status_code == 201
        if created:
            _learn_ids(replay, recorded_body, actual_body)
        _compare(replay, where, recorded_body, actual_body, created=created)
        _compare_headers(replay, where, response["headers"], answer.headers)


def test_the_recorded_traffic_is_there() -> None:
    """The folder holds cassettes (an empty folder would make the replay test vacuous)."""
    assert CASSETTES, f"no *.yaml cassettes in {TRAFFIC_DIR}"


@pytest.mark.parametrize("cassette", CASSETTES, ids=lambda path: path.stem)
def test_the_emulator_answers_renders_recorded_traffic_alike(
    replay: Replay, cassette: Path
) -> None:
    """Every replayable request gets Render's status, headers, shape and values."""
    _replay_cassette(replay, cassette)
    assert replay.differences == []
    assert set(replay.skipped) <= set(NOT_EMULATED)
    # Something real was compared: creates, reads, updates and deletes.
    assert {"POST 201", "GET 200", "DELETE 204"} <= set(replay.compared)
    if cassette.stem != "keyvalue_datasource_cassette":  # it reads no override back
        assert {"PUT 200", "GET 404"} <= set(replay.compared)
