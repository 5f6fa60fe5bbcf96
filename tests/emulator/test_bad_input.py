"""Hostile input gets Render-shaped answers (``{"message": …}``, the usual headers), never a 500
page, and every ``/v1`` request -- failing ones too -- lands in the request log."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from pulumi_render_kv.emulator import Emulator, EmulatorSettings, RateLimitSettings
from pulumi_render_kv.emulator.records import MAX_NAME_LENGTH, MAX_TEXT_LENGTH
from pulumi_render_kv.emulator.shapes import MAX_BODY_BYTES

from .conftest import API_KEY, create, make_client, make_emulator
from .fakes import FakeClock, FakeDataPlane

JSON_HEADERS = {"Content-Type": "application/json"}


def _assert_render_error(response: httpx.Response, status: int, fragment: str) -> None:
    assert response.status_code == status, response.text
    assert response.headers["Content-Type"] == "application/json; charset=utf-8"
    body = response.json()
    assert set(body) == {"message"}
    assert fragment in body["message"]


def _deep(depth: int) -> bytes:
    return b"[" * depth + b"]" * depth


# --- nesting --------------------------------------------------------------------------------


def test_deeply_nested_body_is_400_not_recursion_error(
    emulator: Emulator, client: httpx.Client
) -> None:
    """100,000 nested arrays: 400 from the parser, logged like any other request."""
    response = client.post("/key-value", content=_deep(100_000), headers=JSON_HEADERS)
    _assert_render_error(response, 400, "nested too deeply")
    assert "Render-Request-Id" in response.headers
    assert emulator.requests()[-1]["status"] == 400


def test_deeply_nested_object_inside_a_field_is_400(
    emulator: Emulator, client: httpx.Client
) -> None:
    """The depth bomb inside an otherwise valid create body is refused too, and creates nothing."""
    body = b'{"name": "a", "ownerId": "%s", "plan": "starter", "ipAllowList": %s}' % (
        emulator.owner_id.encode(),
        _deep(100_000),
    )
    response = client.post("/key-value", content=body, headers=JSON_HEADERS)
    _assert_render_error(response, 400, "nested too deeply")
    assert emulator.backend.instance_ids() == []


def test_deeply_nested_control_plane_body_is_400(emulator: Emulator) -> None:
    """The control plane parses JSON too, with the same answer."""
    with httpx.Client(
        transport=httpx.WSGITransport(app=emulator.wsgi_app), base_url="http://e/_emulator"
    ) as control:
        response = control.post("/faults", content=_deep(100_000), headers=JSON_HEADERS)
    _assert_render_error(response, 400, "nested too deeply")


# --- body size --------------------------------------------------------------------------------


def test_body_over_the_limit_is_413(emulator: Emulator, client: httpx.Client) -> None:
    """One byte over MAX_BODY_BYTES: 413 before parsing; nothing is created; logged."""
    filler = "x" * (MAX_BODY_BYTES + 1)
    response = client.post(
        "/key-value",
        content=f'{{"name": "{filler}"}}'.encode(),
        headers=JSON_HEADERS,
    )
    _assert_render_error(response, 413, f"limit of {MAX_BODY_BYTES} bytes")
    assert emulator.backend.instance_ids() == []
    assert emulator.requests()[-1]["status"] == 413


def test_body_at_the_limit_is_parsed(emulator: Emulator, client: httpx.Client) -> None:
    """Exactly MAX_BODY_BYTES is read and parsed (the name rule answers, not the size rule)."""
    prefix = f'{{"ownerId": "{emulator.owner_id}", "plan": "starter", "name": "'
    filler = "x" * (MAX_BODY_BYTES - len(prefix) - 2)
    body = (prefix + filler + '"}').encode()
    assert len(body) == MAX_BODY_BYTES
    response = client.post("/key-value", content=body, headers=JSON_HEADERS)
    _assert_render_error(response, 400, f"at most {MAX_NAME_LENGTH} characters")


def test_control_plane_body_over_the_limit_is_413(emulator: Emulator) -> None:
    """The control plane reads bodies through the same limit."""
    with httpx.Client(
        transport=httpx.WSGITransport(app=emulator.wsgi_app), base_url="http://e/_emulator"
    ) as control:
        response = control.post(
            "/environments", content=b" " * (MAX_BODY_BYTES + 1), headers=JSON_HEADERS
        )
    _assert_render_error(response, 413, "larger than the limit")


def _chunks(total: int) -> Iterator[bytes]:
    sent = 0
    while sent < total:
        piece = min(64 * 1024, total - sent)
        yield b" " * piece
        sent += piece


@pytest.fixture
def served() -> Iterator[Emulator]:
    clock = FakeClock()
    emu = make_emulator(clock, FakeDataPlane())
    emu.start()
    yield emu
    emu.stop()


@pytest.mark.parametrize("chunked", [False, True])
def test_oversized_body_over_a_real_socket_gets_the_answer(served: Emulator, chunked: bool) -> None:
    """Over TCP the client reads the 413 (the server discards the rest), chunked or not."""
    size = 2 * MAX_BODY_BYTES
    content: Any = _chunks(size) if chunked else b" " * size
    with httpx.Client(
        base_url=served.url, headers={"Authorization": f"Bearer {API_KEY}"}, timeout=30
    ) as http:
        response = http.post("/key-value", content=content, headers=JSON_HEADERS)
    _assert_render_error(response, 413, "larger than the limit")
    assert served.requests()[-1]["status"] == 413


# --- names ------------------------------------------------------------------------------------


def test_name_at_the_length_limit_is_accepted(emulator: Emulator, client: httpx.Client) -> None:
    """MAX_NAME_LENGTH characters: created, and echoed back unchanged."""
    created = create(client, emulator.owner_id, name="n" * MAX_NAME_LENGTH)
    assert created["name"] == "n" * MAX_NAME_LENGTH


@pytest.mark.parametrize("length", [MAX_NAME_LENGTH + 1, 5_000_000 // 8])
def test_name_over_the_length_limit_is_400(
    emulator: Emulator, client: httpx.Client, length: int
) -> None:
    """Longer names are refused on create and on PATCH, naming the limit."""
    response = client.post(
        "/key-value",
        json={"name": "n" * length, "ownerId": emulator.owner_id, "plan": "starter"},
    )
    _assert_render_error(response, 400, f"at most {MAX_NAME_LENGTH} characters, got {length}")
    instance = create(client, emulator.owner_id)
    patched = client.patch(f"/key-value/{instance['id']}", json={"name": "n" * length})
    _assert_render_error(patched, 400, f"at most {MAX_NAME_LENGTH}")
    assert client.get(f"/key-value/{instance['id']}").json()["name"] == "cache"


@pytest.mark.parametrize(
    ("name", "code_point"),
    [
        ("line\nbreak", "U+000A"),
        ("tab\there", "U+0009"),
        ("nul\x00", "U+0000"),
        ("del\x7f", "U+007F"),
        ("c1\x85", "U+0085"),
        ("lone\ud800surrogate", "U+D800"),
    ],
)
def test_name_with_control_characters_is_400(
    emulator: Emulator, client: httpx.Client, name: str, code_point: str
) -> None:
    """Control characters (and lone surrogates) in names are refused, naming the character."""
    # json.dumps escapes them ("\\n", "\\u0000", "\\ud800"), as a real client would send them.
    body = json.dumps({"name": name, "ownerId": emulator.owner_id, "plan": "starter"})
    response = client.post("/key-value", content=body.encode(), headers=JSON_HEADERS)
    _assert_render_error(response, 400, f"control characters (found {code_point}")
    assert emulator.backend.instance_ids() == []


def test_unicode_names_are_still_accepted(emulator: Emulator, client: httpx.Client) -> None:
    """Only controls are refused: accents, CJK and emoji are names like any other."""
    name = "caché-東京-🚀 prod"
    assert create(client, emulator.owner_id, name=name)["name"] == name


def test_control_plane_environment_names_follow_the_same_rule(emulator: Emulator) -> None:
    """Seeded environments get the same checks (their names appear in API responses)."""
    with httpx.Client(
        transport=httpx.WSGITransport(app=emulator.wsgi_app), base_url="http://e/_emulator"
    ) as control:
        response = control.post("/environments", json={"name": "prod\r\n"})
    _assert_render_error(response, 400, "control characters")


# --- every other text field -----------------------------------------------------------------

# Each text field of each request body, as (operation, path to the field in the body). The
# values go in where the path says; everything else in the body is valid.
TEXT_FIELDS = [
    *(
        ("create", field)
        for field in (
            "ownerId",
            "plan",
            "region",
            "environmentId",
            "maxmemoryPolicy",
            "persistenceMode",
            "ipAllowList[0].cidrBlock",
            "ipAllowList[0].description",
        )
    ),
    *(
        ("patch", field)
        for field in (
            "name",
            "plan",
            "maxmemoryPolicy",
            "persistenceMode",
            "ipAllowList[0].cidrBlock",
            "ipAllowList[0].description",
        )
    ),
    ("log-stream", "setting"),
    ("log-stream", "endpoint"),
    ("log-stream", "token"),
    ("environment-resources", "resourceIds[0]"),
    ("control-environment", "ownerId"),
    ("control-environment", "projectId"),
    ("control-environment", "protectedStatus"),
]
BAD_TEXT = [
    ("\ud800", "control characters (found U+D800 at 6)"),
    ("\x00", "control characters (found U+0000 at 6)"),
    ("\n", "control characters (found U+000A at 6)"),
]


def _body(operation: str, field: str, value: str, owner_id: str, instance_id: str) -> Any:
    """A valid body of ``operation`` with ``value`` (prefixed "secret") at ``field``."""
    allow_list = [{"cidrBlock": "10.0.0.0/8", "description": "office"}]
    bodies: dict[str, Any] = {
        "create": {"name": "cache", "ownerId": owner_id, "plan": "starter"},
        "patch": {"name": "renamed"},
        "log-stream": {"setting": "send", "endpoint": "logs.example.com:6514", "token": "t"},
        "environment-resources": {"resourceIds": [instance_id]},
        "control-environment": {"name": "staging"},
    }
    body = bodies[operation]
    if field.startswith("ipAllowList"):
        body["ipAllowList"] = allow_list
        allow_list[0][field.rsplit(".", 1)[1]] = "secret" + value
    elif field == "resourceIds[0]":
        body["resourceIds"] = ["secret" + value]
    else:
        body[field] = "secret" + value
    return body


def _send(emulator: Emulator, client: httpx.Client, operation: str, body: Any) -> httpx.Response:
    # ensure_ascii: "\ud800" goes as the escape a real client sends (it cannot be UTF-8).
    content = json.dumps(body).encode()
    if operation == "control-environment":
        with httpx.Client(
            transport=httpx.WSGITransport(app=emulator.wsgi_app), base_url="http://e/_emulator"
        ) as control:
            return control.post("/environments", content=content, headers=JSON_HEADERS)
    [instance_id] = emulator.backend.instance_ids()
    [environment_id] = emulator.backend._environments
    method, path = {
        "create": ("POST", "/key-value"),
        "patch": ("PATCH", f"/key-value/{instance_id}"),
        "log-stream": ("PUT", f"/logs/streams/resource/{instance_id}"),
        "environment-resources": ("POST", f"/environments/{environment_id}/resources"),
    }[operation]
    return client.request(method, path, content=content, headers=JSON_HEADERS)


@pytest.fixture
def instance_id(emulator: Emulator, client: httpx.Client) -> str:
    """The one instance (and next to it the one environment) the bodies refer to."""
    emulator.add_environment("production")
    result: str = create(client, emulator.owner_id)["id"]
    return result


@pytest.mark.parametrize(("operation", "field"), TEXT_FIELDS)
@pytest.mark.parametrize(("value", "fragment"), BAD_TEXT)
def test_every_text_field_refuses_control_characters(
    emulator: Emulator,
    client: httpx.Client,
    instance_id: str,
    operation: str,
    field: str,
    value: str,
    fragment: str,
) -> None:
    """Controls and lone surrogates in any text field: a 400 naming the field and the character
    (never the value: it may be a token), and nothing changes."""
    environments = dict(emulator.backend._environments)
    before = client.get("/key-value").json()
    body = _body(operation, field, value, emulator.owner_id, instance_id)
    response = _send(emulator, client, operation, body)
    _assert_render_error(response, 400, fragment)
    message = response.json()["message"]
    assert field in message
    assert "secret" not in message
    assert client.get("/key-value").json() == before
    assert client.get(f"/logs/streams/resource/{instance_id}").status_code == 404
    assert emulator.backend._environments == environments


@pytest.mark.parametrize(("operation", "field"), TEXT_FIELDS)
def test_every_text_field_has_a_length_limit(
    emulator: Emulator, client: httpx.Client, instance_id: str, operation: str, field: str
) -> None:
    """A value over the limit is refused, naming the limit, instead of stored and echoed."""
    limit = MAX_NAME_LENGTH if field == "name" else MAX_TEXT_LENGTH
    value = "x" * (limit + 1 - len("secret"))
    body = _body(operation, field, value, emulator.owner_id, instance_id)
    response = _send(emulator, client, operation, body)
    _assert_render_error(response, 400, f"at most {limit} characters, got {limit + 1}")
    assert field in response.json()["message"]


# --- fault delays -----------------------------------------------------------------------------


@pytest.mark.parametrize("delay", ["NaN", "Infinity", "-Infinity", "1e308", "-1", "3600.5"])
def test_control_plane_refuses_unusable_fault_delays(
    emulator: Emulator, client: httpx.Client, delay: str
) -> None:
    """NaN, infinities, huge and negative delays: 400, and no fault is queued."""
    with httpx.Client(
        transport=httpx.WSGITransport(app=emulator.wsgi_app), base_url="http://e/_emulator"
    ) as control:
        # Python's json accepts NaN/Infinity literals, as a sloppy client might send them.
        body = f'{{"method": "GET", "path": "/v1/owners", "delay": {delay}}}'.encode()
        response = control.post("/faults", content=body, headers=JSON_HEADERS)
        _assert_render_error(response, 400, "delay must be a number of seconds from 0 to 3600")
        assert control.get("/faults").json() == []
    assert client.get("/owners").status_code == 200


def test_the_longest_fault_delay_is_accepted(emulator: Emulator, client: httpx.Client) -> None:
    """3600 s is allowed (through the injected sleep, so the test does not wait)."""
    emulator.inject_fault("GET", "/v1/owners", delay=3600)
    assert client.get("/owners").status_code == 200
    assert emulator.requests()[-1]["fault"] == "delay"


# --- the log keeps failures -------------------------------------------------------------------


def test_an_unexpected_failure_is_a_logged_render_shaped_500() -> None:
    """When something below the routes raises, the answer is JSON with the usual headers and
    the request is in the log with its fault and status."""

    def broken_sleep(seconds: float) -> None:
        raise OverflowError("sleep length is too large")

    emu = Emulator(
        EmulatorSettings(
            api_key=API_KEY,
            data_plane=False,
            rate_limits=RateLimitSettings.unlimited(),
            sleep=broken_sleep,
        )
    )
    try:
        emu.inject_fault("GET", "/v1/owners", delay=1.0)
        with make_client(emu) as http:
            response = http.get("/owners")
        _assert_render_error(response, 500, "OverflowError")
        assert "Render-Request-Id" in response.headers
        [entry] = emu.requests()
        assert (entry["path"], entry["status"], entry["fault"]) == ("/v1/owners", 500, "delay")
    finally:
        emu.stop()


def test_every_bad_request_is_logged(emulator: Emulator, client: httpx.Client) -> None:
    """400s, 401s, 404s, 405s and 413s all appear, in order."""
    client.post("/key-value", content=b"{", headers=JSON_HEADERS)
    client.get("/owners", headers={"Authorization": ""})
    client.get("/key-value/red-doesnotexist00000000")
    client.put("/owners")
    client.post("/key-value", content=b" " * (MAX_BODY_BYTES + 1), headers=JSON_HEADERS)
    assert [entry["status"] for entry in emulator.requests()] == [400, 401, 404, 405, 413]
