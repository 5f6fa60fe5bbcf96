"""Status codes, bodies and headers of every /v1 route, over in-process HTTP."""

from __future__ import annotations

import logging
import re
from typing import Any

import httpx
import pytest

from pulumi_render_kv.emulator import Emulator, RateLimitSettings

from .conftest import API_KEY, create, make_client, make_emulator
from .fakes import FakeClock, FakeDataPlane

NANO = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,9})?Z$")
MICRO = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,6})?Z$")
MISSING = "red-aaaaaaaaaaaaaaaaaaaa"


# --- auth, Accept, unknown routes -----------------------------------------------------------


@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": "Bearer "}, {"Authorization": "Basic abc"}, {"Authorization": "x"}],
)
def test_missing_or_malformed_bearer_is_401(emulator: Emulator, headers: dict[str, str]) -> None:
    """Every /v1 route needs `Authorization: Bearer <key>`."""
    with make_client(emulator, api_key=None) as client:
        response = client.get("/key-value", headers=headers)
    assert response.status_code == 401
    assert response.json() == {"message": "authorization information is missing or invalid"}
    assert response.headers["Content-Type"] == "application/json; charset=utf-8"


def test_wrong_api_key_is_401(emulator: Emulator) -> None:
    """With --api-key set, another token is refused."""
    with make_client(emulator, api_key="rnd_other") as client:
        response = client.post("/key-value", json={})
    assert response.status_code == 401
    assert response.json()["message"] == "authorization information is missing or invalid"


def test_any_token_is_accepted_without_configured_key(clock: FakeClock) -> None:
    """api_key=None accepts any non-empty bearer token; the scheme is case-insensitive."""
    emu = make_emulator(clock, None, api_key=None)
    with make_client(emu, api_key=None) as client:
        response = client.get("/owners", headers={"Authorization": "bearer whatever"})
    assert response.status_code == 200


@pytest.mark.parametrize("accept", ["application/json", "*/*", "application/json; q=0.9, */*"])
def test_json_accept_headers_are_fine(client: httpx.Client, accept: str) -> None:
    """Accept missing, */* or application/json is served."""
    assert client.get("/key-value", headers={"Accept": accept}).status_code == 200


def test_unacceptable_accept_header_is_406(client: httpx.Client) -> None:
    """Accept: text/html → 406 with a JSON message."""
    response = client.get("/key-value", headers={"Accept": "text/html"})
    assert response.status_code == 406
    assert response.json()["message"].startswith(
        "unable to generate preferred media types as specified by Accept request header"
    )


def test_unknown_path_is_404_and_wrong_method_is_405(client: httpx.Client) -> None:
    """Unknown /v1 paths → 404; known path with an unsupported method → 405."""
    unknown = client.get("/postgres")
    wrong = client.put("/key-value", json={})
    assert unknown.status_code == 404
    assert unknown.json() == {"message": "not found: /v1/postgres"}
    assert wrong.status_code == 405
    assert wrong.json() == {"message": "method PUT not allowed for /v1/key-value"}


def test_responses_carry_renders_headers(client: httpx.Client) -> None:
    """Content-Type, Render-Request-Id, Ratelimit-* and the security headers."""
    response = client.get("/owners")
    headers = response.headers
    assert headers["Content-Type"] == "application/json; charset=utf-8"
    assert headers["Render-Request-Id"].startswith("emulator/")
    assert all(
        name in headers for name in ("Ratelimit-Limit", "Ratelimit-Remaining", "Ratelimit-Reset")
    )
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["X-Frame-Options"] == "DENY"
    assert client.get("/owners").headers["Render-Request-Id"] != headers["Render-Request-Id"]


# --- create ---------------------------------------------------------------------------------


def test_create_answers_201_with_a_key_value_detail(
    client: httpx.Client, emulator: Emulator
) -> None:
    """201, status unknown, nanosecond timestamps, no dashboardUrl, no environmentId."""
    body = create(client, emulator.owner_id, maxmemoryPolicy="allkeys_lfu", ipAllowList=[])
    assert re.fullmatch(r"red-[a-z0-9]{20}", body["id"])
    assert body["status"] == "unknown"
    assert body["ipAllowList"] is None
    assert body["options"] == {
        "maxmemoryPolicy": "allkeys_lfu",
        "persistenceMode": "journal_snapshot",
    }
    assert body["owner"] == {
        "id": emulator.owner_id,
        "name": "Emulator Workspace",
        "email": "owner@example.com",
        "type": "team",
    }
    assert body["createdAt"] == body["updatedAt"]
    assert NANO.match(body["createdAt"])
    assert "dashboardUrl" not in body
    assert "environmentId" not in body
    assert body["version"] == "8.1.4"


def test_allow_list_is_echoed_in_request_order(client: httpx.Client, emulator: Emulator) -> None:
    """A non-empty ipAllowList comes back as sent."""
    entries = [
        {"cidrBlock": "203.0.113.0/24", "description": "office"},
        {"cidrBlock": "0.0.0.0/0", "description": "everywhere"},
    ]
    assert create(client, emulator.owner_id, ipAllowList=entries)["ipAllowList"] == entries


def test_empty_allow_list_can_be_answered_as_an_array(clock: FakeClock) -> None:
    """null_empty_allow_list=False answers [] instead of Render's null."""
    emu = make_emulator(clock, None, null_empty_allow_list=False)
    with make_client(emu) as client:
        assert create(client, emu.owner_id)["ipAllowList"] == []


def test_create_with_environment_reports_it(client: httpx.Client, emulator: Emulator) -> None:
    """environmentId given at creation is echoed."""
    environment_id = emulator.add_environment("staging")
    assert create(client, emulator.owner_id, environmentId=environment_id)["environmentId"] == (
        environment_id
    )


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"ownerId": "tea-x", "plan": "free"}, "missing required field: name"),
        ({"name": "a", "plan": "free"}, "missing required field: ownerId"),
        ({"name": "a", "ownerId": "tea-x"}, "missing required field: plan"),
        (
            {"name": 5, "ownerId": "tea-x", "plan": "free"},
            "invalid value for name: expected a string",
        ),
        (
            {"name": "a", "ownerId": "tea-x", "plan": "free", "version": "8"},
            "unknown field 'version' for keyValuePOSTInput; accepted fields: name, ownerId, "
            "plan, region, environmentId, maxmemoryPolicy, persistenceMode, ipAllowList",
        ),
        (
            {"name": "a", "ownerId": "tea-x", "plan": "free", "ipAllowList": [{"cidrBlock": "1"}]},
            "missing required field: ipAllowList[0].description",
        ),
        (
            {"name": "a", "ownerId": "tea-x", "plan": "free", "ipAllowList": "0.0.0.0/0"},
            "invalid value for ipAllowList: expected an array of {cidrBlock, description}",
        ),
    ],
)
def test_malformed_create_bodies_are_400(
    client: httpx.Client, body: dict[str, Any], message: str
) -> None:
    """Required fields, JSON types and unknown fields are checked before any rule."""
    response = client.post("/key-value", json=body)
    assert response.status_code == 400
    assert response.json() == {"message": message}


@pytest.mark.parametrize(
    ("content", "headers", "message"),
    [
        (b"", {"Content-Type": "application/json"}, "request body is required (a JSON object)"),
        (
            b"[1]",
            {"Content-Type": "application/json"},
            "request body must be a JSON object, got an array",
        ),
        (
            b"name=a",
            {"Content-Type": "application/x-www-form-urlencoded"},
            "unsupported Content-Type",
        ),
        (b"{nope", {"Content-Type": "application/json"}, "request body is not valid JSON"),
    ],
)
def test_unreadable_bodies_are_400(
    client: httpx.Client, content: bytes, headers: dict[str, str], message: str
) -> None:
    """Missing, non-JSON or non-object bodies → 400 saying what is wrong."""
    response = client.post("/key-value", content=content, headers=headers)
    assert response.status_code == 400
    assert response.json()["message"].startswith(message)


def test_bad_enum_in_create_is_400_naming_field_and_value(
    client: httpx.Client, emulator: Emulator
) -> None:
    """region=mars → 400 listing the allowed regions."""
    response = client.post(
        "/key-value",
        json={"name": "a", "ownerId": emulator.owner_id, "plan": "starter", "region": "mars"},
    )
    assert response.status_code == 400
    assert response.json() == {
        "message": "invalid value for region: 'mars' "
        "(must be one of: frankfurt, oregon, ohio, singapore, virginia)"
    }


def test_second_free_instance_is_400(client: httpx.Client, emulator: Emulator) -> None:
    """One free Key Value per workspace."""
    first = create(client, emulator.owner_id, plan="free")
    response = client.post(
        "/key-value", json={"name": "b", "ownerId": emulator.owner_id, "plan": "free"}
    )
    assert response.status_code == 400
    assert response.json()["message"].startswith(
        f"workspace {emulator.owner_id} already has a free Key Value instance ({first['id']})"
    )


def test_persistence_on_free_is_400(client: httpx.Client, emulator: Emulator) -> None:
    """free + persistenceMode snapshot → 400."""
    response = client.post(
        "/key-value",
        json={
            "name": "a",
            "ownerId": emulator.owner_id,
            "plan": "free",
            "persistenceMode": "snapshot",
        },
    )
    assert response.status_code == 400
    assert response.json()["message"].startswith(
        "invalid value for persistenceMode: 'snapshot' is not available on the free plan"
    )


def test_unknown_owner_is_404(client: httpx.Client) -> None:
    """ownerId the key cannot see → 404."""
    response = client.post(
        "/key-value", json={"name": "a", "ownerId": "tea-nobody", "plan": "starter"}
    )
    assert response.status_code == 404
    assert response.json() == {"message": "not found: tea-nobody"}


# --- retrieve, update, delete ---------------------------------------------------------------


def test_retrieve_reports_creating_then_available_with_microseconds(
    clock: FakeClock,
) -> None:
    """GET: creating until create_delay, then available; timestamps in microseconds."""
    emu = make_emulator(clock, None, create_delay=60)
    with make_client(emu) as client:
        instance_id = create(client, emu.owner_id)["id"]
        early = client.get(f"/key-value/{instance_id}").json()
        clock.advance(60)
        later = client.get(f"/key-value/{instance_id}").json()
    assert (early["status"], later["status"]) == ("creating", "available")
    assert MICRO.match(early["createdAt"])
    assert "dashboardUrl" not in later


def test_status_on_create_creating(clock: FakeClock) -> None:
    """status_on_create='creating' changes the create response's status."""
    emu = make_emulator(clock, None, status_on_create="creating")
    with make_client(emu) as client:
        assert create(client, emu.owner_id)["status"] == "creating"


def test_patch_answers_200_with_the_updated_detail(
    client: httpx.Client, emulator: Emulator, clock: FakeClock
) -> None:
    """PATCH applies the given fields and bumps updatedAt."""
    created = create(client, emulator.owner_id, plan="free")
    clock.advance(2)
    response = client.patch(
        f"/key-value/{created['id']}",
        json={"plan": "standard", "maxmemoryPolicy": "noeviction", "name": "renamed"},
    )
    assert response.status_code == 200
    body = response.json()
    assert (body["plan"], body["name"]) == ("standard", "renamed")
    assert body["options"] == {
        "maxmemoryPolicy": "noeviction",
        "persistenceMode": "journal_snapshot",
    }
    assert body["updatedAt"] > body["createdAt"]
    assert body["status"] == "available"  # restart_delay is 0 in this fixture


def test_downgrade_is_400_naming_both_plans(client: httpx.Client, emulator: Emulator) -> None:
    """pro → starter is refused."""
    instance_id = create(client, emulator.owner_id, plan="pro")["id"]
    response = client.patch(f"/key-value/{instance_id}", json={"plan": "starter"})
    assert response.status_code == 400
    assert response.json()["message"].startswith("cannot change plan from pro to starter:")
    assert client.get(f"/key-value/{instance_id}").json()["plan"] == "pro"


@pytest.mark.parametrize("field", ["region", "ownerId", "environmentId", "version"])
def test_unknown_patch_fields_are_400_naming_the_field(
    client: httpx.Client, emulator: Emulator, field: str
) -> None:
    """Fields not in keyValuePATCHInput are refused (Render's real reaction is unknown)."""
    instance_id = create(client, emulator.owner_id)["id"]
    response = client.patch(f"/key-value/{instance_id}", json={field: "x"})
    assert response.status_code == 400
    assert response.json()["message"] == (
        f"unknown field {field!r} for keyValuePATCHInput; accepted fields: "
        "name, plan, maxmemoryPolicy, persistenceMode, ipAllowList"
    )


def test_patch_of_unknown_id_is_404_even_with_a_bad_body(client: httpx.Client) -> None:
    """The id is looked up first."""
    response = client.patch(f"/key-value/{MISSING}", json={"region": "ohio"})
    assert response.status_code == 404
    assert response.json() == {"message": f"not found: {MISSING}"}


def test_delete_is_204_empty_then_404(client: httpx.Client, emulator: Emulator) -> None:
    """DELETE → 204 with no body; GET, PATCH, DELETE afterwards → 404."""
    instance_id = create(client, emulator.owner_id)["id"]
    deleted = client.delete(f"/key-value/{instance_id}")
    assert deleted.status_code == 204
    assert deleted.content == b""
    for response in (
        client.get(f"/key-value/{instance_id}"),
        client.patch(f"/key-value/{instance_id}", json={"name": "x"}),
        client.delete(f"/key-value/{instance_id}"),
        client.get(f"/key-value/{instance_id}/connection-info"),
    ):
        assert response.status_code == 404
        assert response.json() == {"message": f"not found: {instance_id}"}


# --- connection info, suspend, resume -------------------------------------------------------


def test_connection_info_has_renders_three_strings(
    client: httpx.Client, emulator: Emulator, plane: FakeDataPlane
) -> None:
    """internal/external/cliCommand; cliCommand starts with a space."""
    instance_id = create(client, emulator.owner_id)["id"]
    response = client.get(f"/key-value/{instance_id}/connection-info")
    password = plane.configs[instance_id].password
    assert response.status_code == 200
    assert response.json() == {
        "internalConnectionString": "redis://127.0.0.1:20000",
        "externalConnectionString": f"rediss://{instance_id}:{password}@127.0.0.1:20001",
        "cliCommand": f" REDISCLI_AUTH={password} valkey-cli --user {instance_id} "
        "-h 127.0.0.1 -p 20001 --tls",
    }


def test_suspend_and_resume_are_202_empty(client: httpx.Client, emulator: Emulator) -> None:
    """suspend → 202 (status suspended), resume → 202 (available)."""
    instance_id = create(client, emulator.owner_id)["id"]
    suspended = client.post(f"/key-value/{instance_id}/suspend")
    assert (suspended.status_code, suspended.content) == (202, b"")
    assert client.get(f"/key-value/{instance_id}").json()["status"] == "suspended"
    patched = client.patch(f"/key-value/{instance_id}", json={"name": "x"})
    assert patched.status_code == 409
    assert patched.json()["message"].endswith("is suspended; resume it before updating it")
    resumed = client.post(f"/key-value/{instance_id}/resume")
    assert (resumed.status_code, resumed.content) == (202, b"")
    assert client.get(f"/key-value/{instance_id}").json()["status"] == "available"


def test_suspend_of_unknown_id_is_404(client: httpx.Client) -> None:
    """Unknown id → 404 on suspend and resume."""
    for action in ("suspend", "resume"):
        response = client.post(f"/key-value/{MISSING}/{action}")
        assert response.status_code == 404
        assert response.json() == {"message": f"not found: {MISSING}"}


# --- log-stream overrides ---------------------------------------------------------------------


def test_log_stream_override_put_get_delete_as_recorded(
    client: httpx.Client, emulator: Emulator
) -> None:
    """PUT answers the override; GET shows it without the token; DELETE 204; then GET 404."""
    instance_id = create(client, emulator.owner_id)["id"]
    path = f"/logs/streams/resource/{instance_id}"
    missing = client.get(path)
    assert (missing.status_code, missing.json()) == (404, {"message": f"not found: {instance_id}"})
    put = client.put(path, json={"setting": "send", "endpoint": "h.example:6514", "token": "tk"})
    assert put.status_code == 200
    assert put.text == (
        f'{{"endpoint":"h.example:6514","resourceId":"{instance_id}","setting":"send"}}'
    )
    assert client.get(path).json() == put.json()
    assert emulator.backend.log_stream_token(instance_id) == "tk"
    deleted = client.delete(path)
    assert (deleted.status_code, deleted.content) == (204, b"")
    assert client.get(path).status_code == 404
    assert client.delete(path).status_code == 404


def test_log_stream_writes_count_as_writes_and_reads_as_gets(clock: FakeClock) -> None:
    emu = make_emulator(
        clock, None, rate_limits=RateLimitSettings(get_per_minute=7, write_per_minute=5)
    )
    try:
        with make_client(emu) as client:
            instance_id = create(client, emu.owner_id)["id"]
            path = f"/logs/streams/resource/{instance_id}"
            assert client.put(path, json={"setting": "drop"}).headers["Ratelimit-Limit"] == "5"
            assert client.get(path).headers["Ratelimit-Limit"] == "7"
            assert client.delete(path).headers["Ratelimit-Limit"] == "5"
    finally:
        emu.stop()


def test_an_override_goes_with_its_instance_and_survives_a_suspension(
    client: httpx.Client, emulator: Emulator
) -> None:
    instance_id = create(client, emulator.owner_id)["id"]
    path = f"/logs/streams/resource/{instance_id}"
    assert client.post(f"/key-value/{instance_id}/suspend").status_code == 202
    assert client.put(path, json={"setting": "drop"}).status_code == 200
    assert client.post(f"/key-value/{instance_id}/resume").status_code == 202
    assert client.get(path).json()["setting"] == "drop"
    assert client.delete(f"/key-value/{instance_id}").status_code == 204
    assert client.get(path).json() == {"message": f"not found: {instance_id}"}
    assert client.put(path, json={"setting": "drop"}).status_code == 404


# --- legacy /redis --------------------------------------------------------------------------


def test_redis_aliases_address_the_same_instances(client: httpx.Client, emulator: Emulator) -> None:
    """/redis creates, lists (wrapped in "redis"), and has redisCLICommand."""
    created = client.post(
        "/redis", json={"name": "legacy", "ownerId": emulator.owner_id, "plan": "starter"}
    )
    assert created.status_code == 201
    instance_id = created.json()["id"]
    assert instance_id.startswith("red-")
    assert client.get(f"/key-value/{instance_id}").json()["name"] == "legacy"
    listed = client.get("/redis").json()
    assert list(listed[0]) == ["redis", "cursor"]
    assert listed[0]["redis"]["dashboardUrl"] == f"https://dashboard.render.com/r/{instance_id}"
    info = client.get(f"/redis/{instance_id}/connection-info").json()
    assert set(info) == {
        "internalConnectionString",
        "externalConnectionString",
        "redisCLICommand",
    }
    unknown = client.patch(f"/redis/{instance_id}", json={"region": "ohio"})
    assert unknown.status_code == 400
    assert unknown.json()["message"].startswith("unknown field 'region' for redisPATCHInput")
    assert client.post(f"/redis/{instance_id}/suspend").status_code == 202
    assert client.post(f"/redis/{instance_id}/resume").status_code == 202
    assert client.delete(f"/redis/{instance_id}").status_code == 204
    assert client.get(f"/redis/{instance_id}").status_code == 404


# --- list and pagination --------------------------------------------------------------------


def _ids(page: list[dict[str, Any]]) -> list[str]:
    return [item["keyValue"]["id"] for item in page]


def test_list_items_wrap_key_value_with_cursor_and_dashboard_url(
    client: httpx.Client, emulator: Emulator
) -> None:
    """Bare array of {"keyValue": …, "cursor": …}; items carry dashboardUrl."""
    instance_id = create(client, emulator.owner_id)["id"]
    listed = client.get("/key-value")
    assert listed.status_code == 200
    [item] = listed.json()
    assert list(item) == ["keyValue", "cursor"]
    assert item["keyValue"]["dashboardUrl"] == f"https://dashboard.render.com/r/{instance_id}"
    assert isinstance(item["cursor"], str)


def test_pagination_walks_every_page_newest_first_with_filters(
    client: httpx.Client, emulator: Emulator, clock: FakeClock
) -> None:
    """limit + cursor walk a filtered list page by page; the page after the last is []."""
    expected = []
    for index in range(7):
        clock.advance(1)
        region = "ohio" if index % 2 else "oregon"
        instance_id = create(client, emulator.owner_id, name=f"kv{index}", region=region)["id"]
        if region == "oregon":
            expected.append(instance_id)
    expected.reverse()
    seen: list[str] = []
    cursor = None
    pages = 0
    while True:
        params: dict[str, Any] = {"limit": 2, "region": "oregon", "ownerId": emulator.owner_id}
        if cursor:
            params["cursor"] = cursor
        page = client.get("/key-value", params=params).json()
        pages += 1
        if not page:
            break
        seen.extend(_ids(page))
        cursor = page[-1]["cursor"]
    assert seen == expected
    assert pages == 3  # 2 + 2 + [] for 4 matches


def test_list_filters_are_comma_separated(client: httpx.Client, emulator: Emulator) -> None:
    """?name=a,b matches either name exactly."""
    a = create(client, emulator.owner_id, name="a")["id"]
    b = create(client, emulator.owner_id, name="b")["id"]
    create(client, emulator.owner_id, name="ab")
    assert set(_ids(client.get("/key-value", params={"name": "a,b"}).json())) == {a, b}


def test_list_filters_by_environment_and_time(
    client: httpx.Client, emulator: Emulator, clock: FakeClock
) -> None:
    """environmentId, createdAfter and updatedBefore narrow the list."""
    environment_id = emulator.add_environment()
    old = create(client, emulator.owner_id, name="old")
    clock.advance(10)
    new = create(client, emulator.owner_id, name="new", environmentId=environment_id)
    in_env = client.get("/key-value", params={"environmentId": environment_id}).json()
    after = client.get("/key-value", params={"createdAfter": old["createdAt"]}).json()
    before = client.get("/key-value", params={"updatedBefore": new["createdAt"]}).json()
    assert _ids(in_env) == [new["id"]]
    assert _ids(after) == [new["id"]]
    assert _ids(before) == [old["id"]]


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"limit": "0"}, "invalid query parameter limit: must be between 1 and 100, got 0"),
        ({"limit": "101"}, "invalid query parameter limit: must be between 1 and 100, got 101"),
        ({"limit": "ten"}, "invalid query parameter limit: 'ten' is not an integer"),
        ({"cursor": "nope"}, "invalid query parameter cursor: 'nope' is not a cursor returned"),
        ({"createdAfter": "yesterday"}, "invalid query parameter createdAfter: 'yesterday'"),
        ({"sort": "name"}, "invalid query parameter sort: unknown parameter"),
        ({"region": "mars"}, "invalid value for region: 'mars'"),
    ],
)
def test_bad_list_queries_are_400(
    client: httpx.Client, params: dict[str, str], message: str
) -> None:
    """limit outside 1..100, foreign cursors, bad timestamps, unknown parameters → 400."""
    response = client.get("/key-value", params=params)
    assert response.status_code == 400
    assert response.json()["message"].startswith(message)


def test_repeated_list_parameters_are_400(client: httpx.Client) -> None:
    """Arrays are comma-separated (explode: false); ?name=a&name=b is refused."""
    response = client.get("/key-value?name=a&name=b")
    assert response.status_code == 400
    assert response.json() == {
        "message": "invalid query parameter name: given more than once; "
        "send several values as one comma-separated list"
    }


def test_limit_bounds_are_accepted(client: httpx.Client, emulator: Emulator) -> None:
    """limit=1 and limit=100 are valid; the default page is 20."""
    for index in range(21):
        create(client, emulator.owner_id, name=f"n{index}")
    assert len(client.get("/key-value", params={"limit": 1}).json()) == 1
    assert len(client.get("/key-value", params={"limit": 100}).json()) == 21
    assert len(client.get("/key-value").json()) == 20


# --- owners and environments ----------------------------------------------------------------


def test_owners_list_and_retrieve(client: httpx.Client, emulator: Emulator) -> None:
    """GET /owners lists {"owner", "cursor"}; GET /owners/{id} returns the owner or 404."""
    listed = client.get("/owners")
    assert listed.status_code == 200
    [item] = listed.json()
    assert item["owner"]["id"] == emulator.owner_id
    assert client.get(f"/owners/{emulator.owner_id}").json() == item["owner"]
    missing = client.get("/owners/tea-nobody")
    assert missing.status_code == 404
    assert missing.json() == {"message": "not found: tea-nobody"}


def test_owners_filter_by_name_and_page(client: httpx.Client, emulator: Emulator) -> None:
    """name/email filters and cursors work on workspaces too."""
    emulator.backend.add_owner("Second", "second@example.com")
    page1 = client.get("/owners", params={"limit": 1}).json()
    page2 = client.get("/owners", params={"limit": 1, "cursor": page1[0]["cursor"]}).json()
    named = client.get("/owners", params={"name": "Second"}).json()
    assert page2[0]["owner"]["name"] == "Second"
    assert [item["owner"]["email"] for item in named] == ["second@example.com"]


def test_moving_instances_between_environments(client: httpx.Client, emulator: Emulator) -> None:
    """POST adds (201, environment), DELETE removes (204); environmentId follows."""
    first = emulator.add_environment("staging")
    second = emulator.add_environment("production")
    instance_id = create(client, emulator.owner_id, environmentId=first)["id"]
    added = client.post(f"/environments/{second}/resources", json={"resourceIds": [instance_id]})
    assert added.status_code == 201
    assert added.json()["id"] == second
    assert added.json()["redisIds"] == [instance_id]
    assert client.get(f"/key-value/{instance_id}").json()["environmentId"] == second
    removed = client.delete(
        f"/environments/{second}/resources", params={"resourceIds": instance_id}
    )
    assert (removed.status_code, removed.content) == (204, b"")
    assert "environmentId" not in client.get(f"/key-value/{instance_id}").json()


def test_environment_errors(client: httpx.Client, emulator: Emulator) -> None:
    """Unknown environment or resource → 404; empty or missing ids → 400."""
    environment_id = emulator.add_environment()
    unknown_env = client.post("/environments/evm-nope/resources", json={"resourceIds": [MISSING]})
    unknown_resource = client.post(
        f"/environments/{environment_id}/resources", json={"resourceIds": [MISSING]}
    )
    empty = client.post(f"/environments/{environment_id}/resources", json={"resourceIds": []})
    no_query = client.delete(f"/environments/{environment_id}/resources")
    assert (unknown_env.status_code, unknown_env.json()) == (
        404,
        {"message": "not found: evm-nope"},
    )
    assert unknown_resource.status_code == 404
    assert unknown_resource.json() == {"message": f"not found: {MISSING}"}
    assert (empty.status_code, empty.json()) == (
        400,
        {"message": "invalid value for resourceIds: must not be empty"},
    )
    assert (no_query.status_code, no_query.json()) == (
        400,
        {"message": "invalid query parameter resourceIds: is required"},
    )


def test_api_key_is_never_logged(client: httpx.Client, emulator: Emulator) -> None:
    """The request log keeps method, path, query and status, never the Authorization header."""
    client.get("/key-value", params={"limit": 5})
    [entry] = emulator.requests()
    assert entry["method"] == "GET"
    assert entry["path"] == "/v1/key-value"
    assert entry["query"] == "limit=5"
    assert entry["status"] == 200
    assert API_KEY not in repr(emulator.requests())


# --- unexpected failures -----------------------------------------------------------------------


def _assert_render_500(response: httpx.Response, emulator: Emulator, *, method: str) -> None:
    """A JSON 500 with Render's headers, recorded in the request log like every answer."""
    assert response.status_code == 500
    assert response.headers["Content-Type"] == "application/json; charset=utf-8"
    for header in (
        "Render-Request-Id",
        "Ratelimit-Limit",
        "Ratelimit-Remaining",
        "X-Frame-Options",
    ):
        assert header in response.headers
    assert set(response.json()) == {"message"}
    last = emulator.requests()[-1]
    assert (last["method"], last["status"]) == (method, 500)
    assert last["requestId"] == response.headers["Render-Request-Id"]


def test_a_data_plane_failure_on_delete_is_a_json_500_and_keeps_the_instance(
    client: httpx.Client, emulator: Emulator, plane: FakeDataPlane
) -> None:
    """plane.stop raising (e.g. DataPlaneError: cannot delete the dir) → Render-shaped 500."""
    instance_id = create(client, emulator.owner_id)["id"]
    plane.fail_stop = True
    response = client.delete(f"/key-value/{instance_id}")
    _assert_render_500(response, emulator, method="DELETE")
    assert f"could not stop the Key Value server for {instance_id}" in response.json()["message"]
    assert client.get(f"/key-value/{instance_id}").status_code == 200
    plane.fail_stop = False
    assert client.delete(f"/key-value/{instance_id}").status_code == 204


def test_a_data_plane_failure_on_suspend_is_a_json_500_and_nothing_is_suspended(
    client: httpx.Client, emulator: Emulator, plane: FakeDataPlane
) -> None:
    """plane.suspend raising → Render-shaped 500; the instance is not reported suspended."""
    instance_id = create(client, emulator.owner_id)["id"]
    plane.fail_suspend = True
    response = client.post(f"/key-value/{instance_id}/suspend")
    _assert_render_500(response, emulator, method="POST")
    assert "could not suspend the Key Value server" in response.json()["message"]
    assert client.get(f"/key-value/{instance_id}").json()["status"] != "suspended"


def test_any_unexpected_exception_is_a_json_500_and_its_traceback_is_logged(
    client: httpx.Client,
    emulator: Emulator,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A bug in a handler: not werkzeug's HTML page but {"message": ...}, headers, log entry."""

    def broken(*args: object) -> None:
        raise ZeroDivisionError("a bug")

    monkeypatch.setattr(emulator.backend, "list_key_value", broken)
    with caplog.at_level(logging.ERROR, logger="pulumi_render_kv.emulator"):
        response = client.get("/key-value")
    _assert_render_500(response, emulator, method="GET")
    assert "ZeroDivisionError" in response.json()["message"]
    [record] = [r for r in caplog.records if r.name.startswith("pulumi_render_kv.emulator")]
    assert record.exc_info is not None
    assert record.exc_info[0] is ZeroDivisionError
    assert "GET /v1/key-value" in record.getMessage()


def test_retrieve_environment_shows_members_and_null_empty_lists(
    client: httpx.Client, emulator: Emulator
) -> None:
    """GET /environments/{id}: Render's shape, empty id lists as null (as Render sends them)."""
    environment_id = emulator.add_environment("production")
    empty = client.get(f"/environments/{environment_id}")
    assert empty.status_code == 200
    body = empty.json()
    assert body["id"] == environment_id
    assert (body["name"], body["protectedStatus"], body["networkIsolationEnabled"]) == (
        "production",
        "unprotected",
        False,
    )
    assert [body[key] for key in ("redisIds", "serviceIds", "databasesIds", "envGroupIds")] == [
        None,
        None,
        None,
        None,
    ]
    instance_id = create(client, emulator.owner_id, environmentId=environment_id)["id"]
    assert client.get(f"/environments/{environment_id}").json()["redisIds"] == [instance_id]
    missing = client.get("/environments/evm-nope")
    assert (missing.status_code, missing.json()) == (404, {"message": "not found: evm-nope"})


def test_removal_from_an_unknown_environment_is_a_no_op(
    client: httpx.Client, emulator: Emulator
) -> None:
    """Render answered 204 to DELETE /environments/<an instance id>/resources; so do we, and
    the instance stays where it was. An unknown resource is still 404."""
    environment_id = emulator.add_environment()
    instance_id = create(client, emulator.owner_id, environmentId=environment_id)["id"]
    removed = client.delete(
        f"/environments/{instance_id}/resources", params={"resourceIds": instance_id}
    )
    assert (removed.status_code, removed.content) == (204, b"")
    assert client.get(f"/key-value/{instance_id}").json()["environmentId"] == environment_id
    unknown = client.delete(
        f"/environments/{environment_id}/resources", params={"resourceIds": MISSING}
    )
    assert (unknown.status_code, unknown.json()) == (404, {"message": f"not found: {MISSING}"})


def test_control_plane_environments_take_protection_and_isolation(
    client: httpx.Client, emulator: Emulator
) -> None:
    """Seeded as a project would create it: protectedStatus and networkIsolationEnabled."""
    with httpx.Client(
        transport=httpx.WSGITransport(app=emulator.wsgi_app), base_url="http://e/_emulator"
    ) as control:
        made = control.post(
            "/environments",
            json={"name": "prod", "protectedStatus": "protected", "networkIsolationEnabled": True},
        )
        sibling = control.post(
            "/environments", json={"name": "staging", "projectId": made.json()["projectId"]}
        )
        bad = control.post("/environments", json={"name": "x", "protectedStatus": "maybe"})
        unknown = control.post("/environments", json={"name": "x", "color": "red"})
    assert made.status_code == 201, made.text
    shown = client.get(f"/environments/{made.json()['id']}").json()
    assert (shown["protectedStatus"], shown["networkIsolationEnabled"]) == ("protected", True)
    # One project, two environments: the second was given the first one's project id.
    assert sibling.json()["projectId"] == shown["projectId"]
    assert sibling.json()["protectedStatus"] == "unprotected"
    assert bad.status_code == 400
    assert "protectedStatus" in bad.json()["message"]
    assert (unknown.status_code, unknown.json()) == (
        400,
        {"message": "unknown environment fields: color"},
    )
