"""RenderClient over MockTransport: request shapes, parsing, errors, secrecy, sharing."""

from __future__ import annotations

import json
import logging
import pickle
import threading
from typing import Any

import httpx
import pytest

from pulumi_render_kv.client import (
    CidrBlockAndDescription,
    ConflictError,
    InvalidRequestError,
    KeyValuePATCHInput,
    KeyValuePOSTInput,
    NotFoundError,
    RenderClient,
    RenderConfigError,
    RenderResponseError,
    ResourceLogStreamPUTInput,
    UnauthorizedError,
)

from ._fakes import (
    API_KEY,
    BASE_URL,
    OWNER_ID,
    PASSWORD,
    REQUEST_ID,
    FakeRender,
    connection_info_json,
    json_response,
    kv_json,
    make_client,
    owner_json,
    settings,
)

KV_ID = "red-d8k3stdodlmc73btr2q0"


class Recorder:
    """A MockTransport handler that records requests and replays canned responses."""

    def __init__(self, *responses: httpx.Response) -> None:
        self.responses = list(responses)
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return self.responses.pop(0)

    @property
    def last(self) -> httpx.Request:
        return self.requests[-1]

    def body(self, index: int = -1) -> Any:
        return json.loads(self.requests[index].content)


def test_requests_carry_auth_accept_and_user_agent() -> None:
    """Every request sends the bearer key, Accept: application/json and our User-Agent."""
    rec = Recorder(json_response(200, kv_json()))
    make_client(rec).retrieve_key_value(KV_ID)
    headers = rec.last.headers
    assert headers["authorization"] == f"Bearer {API_KEY}"
    assert headers["accept"] == "application/json"
    assert headers["user-agent"].startswith("pulumi-render-kv/")
    assert str(rec.last.url) == f"{BASE_URL}/key-value/{KV_ID}"


def test_retrieve_key_value_parses_detail() -> None:
    """GET /key-value/{id} returns a KeyValueDetail."""
    rec = Recorder(json_response(200, kv_json(environment_id="evm-1")))
    kv = make_client(rec).retrieve_key_value(KV_ID)
    assert rec.last.method == "GET"
    assert (kv.id, kv.environment_id, kv.ip_allow_list) == (KV_ID, "evm-1", [])


def test_path_ids_are_quoted() -> None:
    """An id cannot escape its path segment."""
    rec = Recorder(json_response(200, kv_json()))
    make_client(rec).retrieve_key_value("../owners")
    assert rec.last.url.raw_path == b"/v1/key-value/..%2Fowners"


def test_empty_id_is_refused_before_sending() -> None:
    """An empty id raises ValueError and sends nothing."""
    rec = Recorder()
    with pytest.raises(ValueError, match="key_value_id must be a non-empty string, got ''"):
        make_client(rec).retrieve_key_value("")
    assert rec.requests == []


def test_create_key_value_posts_body_and_returns_detail() -> None:
    """POST /key-value sends the camelCase body (after one lookup GET) and parses the 201."""
    rec = Recorder(json_response(200, []), json_response(201, kv_json(status="creating")))
    body = KeyValuePOSTInput(
        name="cache",
        owner_id=OWNER_ID,
        plan="starter",
        ip_allow_list=[CidrBlockAndDescription(cidr_block="1.2.3.4/32", description="office")],
    )
    kv = make_client(rec).create_key_value(body)
    lookup, post = rec.requests
    assert lookup.method == "GET"
    assert dict(lookup.url.params) == {
        "name": "cache",
        "ownerId": OWNER_ID,
        "region": "oregon",
        "limit": "100",
    }
    assert post.method == "POST"
    assert post.headers["content-type"] == "application/json"
    assert rec.body() == {
        "name": "cache",
        "ownerId": OWNER_ID,
        "plan": "starter",
        "ipAllowList": [{"cidrBlock": "1.2.3.4/32", "description": "office"}],
    }
    assert kv.status == "creating"


def test_update_key_value_patches_only_set_fields() -> None:
    """PATCH sends exactly the fields set on the input model."""
    rec = Recorder(json_response(200, kv_json(plan="standard")))
    kv = make_client(rec).update_key_value(KV_ID, KeyValuePATCHInput(plan="standard"))
    assert rec.last.method == "PATCH"
    assert rec.last.url.path == f"/v1/key-value/{KV_ID}"
    assert rec.body() == {"plan": "standard"}
    assert kv.plan == "standard"


def test_delete_key_value_accepts_204() -> None:
    """DELETE /key-value/{id} returns None on 204."""
    rec = Recorder(json_response(204))
    assert make_client(rec).delete_key_value(KV_ID) is None
    assert (rec.last.method, rec.last.url.path) == ("DELETE", f"/v1/key-value/{KV_ID}")


def test_delete_key_value_first_attempt_404_raises() -> None:
    """A 404 on the first delete attempt is NotFoundError with Render's message."""
    rec = Recorder(json_response(404, {"message": f"not found: {KV_ID}"}))
    with pytest.raises(NotFoundError) as info:
        make_client(rec).delete_key_value(KV_ID)
    assert str(info.value) == (
        f"Render API rejected DELETE /key-value/{KV_ID}: 404 Not Found: not found: {KV_ID} "
        f"(request id {REQUEST_ID})."
    )


def test_connection_info_is_secret() -> None:
    """Connection info parses into SecretStr values; repr hides the password."""
    rec = Recorder(json_response(200, connection_info_json()))
    info = make_client(rec).retrieve_key_value_connection_info(KV_ID)
    assert rec.last.url.path == f"/v1/key-value/{KV_ID}/connection-info"
    assert PASSWORD not in repr(info)
    assert PASSWORD in info.get_external_connection_string()


def test_suspend_and_resume_post_without_body() -> None:
    """Suspend and resume POST with no body and accept 202."""
    rec = Recorder(json_response(202), json_response(202))
    client = make_client(rec)
    client.suspend_key_value(KV_ID)
    client.resume_key_value(KV_ID)
    assert [(r.method, r.url.path, r.content) for r in rec.requests] == [
        ("POST", f"/v1/key-value/{KV_ID}/suspend", b""),
        ("POST", f"/v1/key-value/{KV_ID}/resume", b""),
    ]


LOG_TOKEN = "lst_tokenNeverShown42"  # a test value


def _log_stream_json(setting: str = "send", endpoint: str = "logs.example.com:6514") -> Any:
    return {"endpoint": endpoint, "resourceId": KV_ID, "setting": setting}


def test_log_stream_put_sends_the_token_and_reads_the_override() -> None:
    rec = Recorder(json_response(200, _log_stream_json()))
    body = ResourceLogStreamPUTInput(
        setting="send", endpoint="logs.example.com:6514", token=LOG_TOKEN
    )
    answered = make_client(rec).update_resource_log_stream(KV_ID, body)
    assert (rec.last.method, rec.last.url.path) == ("PUT", f"/v1/logs/streams/resource/{KV_ID}")
    assert rec.body() == {
        "setting": "send",
        "endpoint": "logs.example.com:6514",
        "token": LOG_TOKEN,
    }
    assert (answered.setting, answered.endpoint, answered.resource_id) == (
        "send",
        "logs.example.com:6514",
        KV_ID,
    )
    assert LOG_TOKEN not in repr(body) + str(body)


def test_log_stream_drop_reads_renders_empty_endpoint_as_none() -> None:
    rec = Recorder(json_response(200, _log_stream_json("drop", "")))
    answered = make_client(rec).update_resource_log_stream(
        KV_ID, ResourceLogStreamPUTInput(setting="drop")
    )
    assert rec.body() == {"setting": "drop"}
    assert answered.endpoint is None


def test_log_stream_get_404_means_no_override() -> None:
    """Render answers a resource without an override with 404 `not found: <id>` (recorded)."""
    rec = Recorder(json_response(404, {"message": f"not found: {KV_ID}"}))
    assert make_client(rec).get_resource_log_stream(KV_ID) is None
    assert rec.last.url.path == f"/v1/logs/streams/resource/{KV_ID}"


def test_log_stream_get_other_errors_raise() -> None:
    rec = Recorder(json_response(401, {"message": "unauthorized"}))
    with pytest.raises(UnauthorizedError):
        make_client(rec).get_resource_log_stream(KV_ID)


def test_log_stream_put_retries_5xx_and_scrubs_the_token_from_errors() -> None:
    echoed = {"message": f"invalid token {LOG_TOKEN}"}
    rec = Recorder(json_response(503, echoed), json_response(400, echoed))
    body = ResourceLogStreamPUTInput(setting="send", endpoint="h.example:1", token=LOG_TOKEN)
    with pytest.raises(InvalidRequestError) as info:
        make_client(rec).update_resource_log_stream(KV_ID, body)
    assert len(rec.requests) == 2
    assert LOG_TOKEN not in str(info.value) + repr(info.value)


@pytest.mark.parametrize("key", ["k", "k7", "k7x"])
def test_a_short_api_key_that_render_echoes_is_scrubbed(key: str) -> None:
    """However short the API key, Render echoing it back does not put it in an error."""
    rec = Recorder(json_response(400, {"message": f"key {key} cannot do this"}))
    with pytest.raises(InvalidRequestError) as info:
        make_client(rec, api_key=key).retrieve_key_value(KV_ID)
    assert info.value.message == "key *** cannot do this"
    assert f" {key} " not in str(info.value) + repr(info.value)


@pytest.mark.parametrize("token", ["t", "tk", "tk1"])
def test_a_short_log_stream_token_that_render_echoes_is_scrubbed(token: str) -> None:
    """The same for a short log-stream token echoed in a 400 to the PUT that sent it."""
    rec = Recorder(json_response(400, {"message": f"cannot log in with {token} at h.example:1"}))
    body = ResourceLogStreamPUTInput(setting="send", endpoint="h.example:1", token=token)
    with pytest.raises(InvalidRequestError) as info:
        make_client(rec).update_resource_log_stream(KV_ID, body)
    assert info.value.message == "cannot log in with *** at h.example:1"
    assert f" {token} " not in str(info.value) + repr(info.value)


def test_log_stream_delete_404_first_raises_and_after_an_uncertain_attempt_is_done() -> None:
    gone = {"message": f"not found: {KV_ID}"}
    with pytest.raises(NotFoundError):
        make_client(Recorder(json_response(404, gone))).delete_resource_log_stream(KV_ID)
    rec = Recorder(json_response(502, {"message": "bad gateway"}), json_response(404, gone))
    assert make_client(rec).delete_resource_log_stream(KV_ID) is None
    assert [r.method for r in rec.requests] == ["DELETE", "DELETE"]


def test_list_key_value_encodes_filters_comma_separated() -> None:
    """Array filters are sent comma-separated (style form, explode false)."""
    rec = Recorder(json_response(200, []))
    make_client(rec).list_key_value(
        name=["a", "b"],
        region="ohio",
        owner_id=[OWNER_ID],
        environment_id=("evm-1", "evm-2"),
        limit=5,
    )
    assert dict(rec.last.url.params) == {
        "name": "a,b",
        "region": "ohio",
        "ownerId": OWNER_ID,
        "environmentId": "evm-1,evm-2",
        "limit": "5",
    }


def test_list_key_value_follows_cursors_to_exhaustion() -> None:
    """Pages are fetched with the last item's cursor until a short page ends the list."""
    fake = FakeRender()
    ids = [fake.seed(name=f"kv{i}")["id"] for i in range(7)]
    client = make_client(fake)
    found = client.list_key_value(limit=3)
    assert [kv.id for kv in found] == ids
    cursors = [r.url.params.get("cursor") for r in fake.requests]
    assert cursors == [None, ids[2], ids[5]]


def test_list_key_value_stops_on_empty_page() -> None:
    """A full page followed by an empty one ends the iteration after one extra call."""
    fake = FakeRender()
    for i in range(4):
        fake.seed(name=f"kv{i}")
    assert len(make_client(fake).list_key_value(limit=2)) == 4
    assert fake.calls("GET") == 3


def test_list_key_value_repeated_cursor_is_an_error() -> None:
    """A server that hands the same cursor twice raises instead of looping forever."""
    page = [{"keyValue": kv_json(f"red-{i}", list_item=True), "cursor": "same"} for i in range(2)]
    rec = Recorder(*(json_response(200, page) for _ in range(3)))
    with pytest.raises(RenderResponseError) as info:
        make_client(rec).list_key_value(limit=2)
    assert str(info.value) == (
        "Render API returned an unexpected response to GET /key-value: "
        "the API repeated a page cursor"
    )


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"limit": 0}, "limit must be between 1 and 100, got 0"),
        ({"name": []}, "name filter must be None or non-empty strings"),
    ],
)
def test_list_key_value_argument_checks(kwargs: dict[str, Any], message: str) -> None:
    """Out-of-range limits and empty filters are refused before sending."""
    with pytest.raises(ValueError, match=message):
        make_client(Recorder()).list_key_value(**kwargs)


def test_unexpected_body_is_a_response_error_without_values() -> None:
    """A 200 body of the wrong shape raises RenderResponseError that does not echo the body."""
    body = connection_info_json()
    del body["cliCommand"]
    rec = Recorder(json_response(200, body))
    with pytest.raises(RenderResponseError) as info:
        make_client(rec).retrieve_key_value_connection_info(KV_ID)
    assert str(info.value) == (
        f"Render API returned an unexpected response to GET /key-value/{KV_ID}/connection-info: "
        "cliCommand: Field required"
    )
    assert PASSWORD not in str(info.value)


def test_non_json_success_body_is_a_response_error() -> None:
    """A 200 with HTML is reported as an unexpected response."""
    rec = Recorder(httpx.Response(200, text="<html>maintenance</html>"))
    with pytest.raises(
        RenderResponseError,
        match=r"^Render API returned an unexpected response to GET /key-value/red-x: "
        r"<body>: Invalid JSON",
    ):
        make_client(rec).retrieve_key_value("red-x")


@pytest.mark.parametrize(
    ("status", "cls", "sentence"),
    [
        (400, InvalidRequestError, "400 Bad Request: name is too long"),
        (401, UnauthorizedError, "401 Unauthorized: name is too long"),
        (409, ConflictError, "409 Conflict: name is too long"),
    ],
)
def test_error_statuses_raise_their_class(status: int, cls: type[Exception], sentence: str) -> None:
    """A non-retryable error status raises its class at once, with Render's message."""
    rec = Recorder(json_response(status, {"message": "name is too long"}))
    with pytest.raises(cls) as info:
        make_client(rec).update_key_value(KV_ID, KeyValuePATCHInput(name="x" * 300))
    assert str(info.value).startswith(
        f"Render API rejected PATCH /key-value/{KV_ID}: {sentence} (request id {REQUEST_ID})"
    )
    assert len(rec.requests) == 1


def test_api_key_never_in_errors_reprs_or_pickles() -> None:
    """Even when Render echoes the key, no error text, repr or pickle carries it."""
    rec = Recorder(json_response(401, {"message": f"invalid key {API_KEY}", "id": API_KEY}))
    client = make_client(rec)
    with pytest.raises(UnauthorizedError) as info:
        client.retrieve_key_value(KV_ID)
    error = info.value
    assert API_KEY not in str(error)
    assert API_KEY not in repr(error)
    assert API_KEY.encode() not in pickle.dumps(error)
    assert API_KEY not in repr(client)
    assert API_KEY not in str(vars(error))
    assert API_KEY not in str(vars(client))


def test_client_refuses_pickling() -> None:
    """Pickling a client fails (it holds the key) with a message saying what to do."""
    with pytest.raises(TypeError, match="RenderClient holds the Render API key"):
        pickle.dumps(make_client(Recorder()))


def test_request_count_counts_sent_requests_per_method() -> None:
    """request_count reports how many requests of each method reached the transport."""
    rec = Recorder(json_response(200, kv_json()), json_response(200, kv_json()), json_response(204))
    client = make_client(rec)
    client.retrieve_key_value(KV_ID)
    client.update_key_value(KV_ID, KeyValuePATCHInput(name="n"))
    client.delete_key_value(KV_ID)
    assert client.request_count == {"GET": 1, "PATCH": 1, "DELETE": 1}


def test_list_owners_and_resolve_single_owner() -> None:
    """With no configured owner, the key's only workspace is used (and cached)."""
    rec = Recorder(json_response(200, [{"owner": owner_json("tea-only"), "cursor": "c1"}]))
    client = make_client(rec, owner_id=None)
    assert client.resolve_owner_id() == "tea-only"
    assert client.resolve_owner_id() == "tea-only"
    assert len(rec.requests) == 1
    assert rec.last.url.path == "/v1/owners"


def test_resolve_owner_prefers_configured_owner() -> None:
    """A configured owner id is returned without calling the API."""
    rec = Recorder()
    assert make_client(rec).resolve_owner_id() == OWNER_ID
    assert rec.requests == []


def test_resolve_owner_with_several_workspaces_is_a_clear_error() -> None:
    """Several workspaces and no choice → RenderConfigError listing them and how to choose."""
    owners = [
        {"owner": owner_json("tea-a", "Alpha"), "cursor": "a"},
        {"owner": owner_json("tea-b", "Beta"), "cursor": "b"},
    ]
    client = make_client(Recorder(json_response(200, owners)), owner_id=None)
    with pytest.raises(RenderConfigError) as info:
        client.resolve_owner_id()
    assert str(info.value) == (
        "The Render API key can use 2 workspaces: 'Alpha' (tea-a), 'Beta' (tea-b). Choose one: "
        "set RENDER_OWNER_ID=<id> or run `pulumi config set render:ownerId <id>`."
    )


def test_resolve_owner_with_no_workspace_is_a_clear_error() -> None:
    """No workspace at all → RenderConfigError saying so."""
    client = make_client(Recorder(json_response(200, [])), owner_id=None)
    with pytest.raises(RenderConfigError, match=r"^The Render API key has access to no workspace"):
        client.resolve_owner_id()


def test_add_and_remove_environment_resources() -> None:
    """Environment moves: POST {resourceIds} to add, DELETE ?resourceIds=a,b to remove."""
    rec = Recorder(json_response(201, {"id": "evm-1"}), json_response(204))
    client = make_client(rec)
    client.add_resources_to_environment("evm-1", [KV_ID])
    client.remove_resources_from_environment("evm-1", [KV_ID, "red-other"])
    add, remove = rec.requests
    assert (add.method, add.url.path, json.loads(add.content)) == (
        "POST",
        "/v1/environments/evm-1/resources",
        {"resourceIds": [KV_ID]},
    )
    assert (remove.method, remove.url.path) == ("DELETE", "/v1/environments/evm-1/resources")
    assert dict(remove.url.params) == {"resourceIds": f"{KV_ID},red-other"}


def test_environment_moves_refuse_empty_lists() -> None:
    """Adding or removing no resources is a caller bug, refused before sending."""
    client = make_client(Recorder())
    with pytest.raises(ValueError, match="resource_ids must not be empty"):
        client.remove_resources_from_environment("evm-1", [])
    with pytest.raises(ValueError, match="at least 1 item"):
        client.add_resources_to_environment("evm-1", [])


def test_retrieve_environment() -> None:
    """GET /environments/{id} parses an Environment."""
    body = {
        "id": "evm-1",
        "name": "prod",
        "projectId": "prj-1",
        "redisIds": [KV_ID],
        "serviceIds": [],
        "databasesIds": [],
        "envGroupIds": [],
        "protectedStatus": "unprotected",
        "networkIsolationEnabled": False,
    }
    env = make_client(Recorder(json_response(200, body))).retrieve_environment("evm-1")
    assert (env.id, env.redis_ids) == ("evm-1", [KV_ID])


def test_retrieve_environment_reads_null_id_lists_as_empty() -> None:
    """Render sends empty id lists as null (recorded traffic); they read as []."""
    body = {
        "id": "evm-1",
        "name": "prod",
        "projectId": "prj-1",
        "redisIds": None,
        "serviceIds": None,
        "databasesIds": None,
        "envGroupIds": None,
        "protectedStatus": "protected",
        "networkIsolationEnabled": False,
    }
    env = make_client(Recorder(json_response(200, body))).retrieve_environment("evm-1")
    assert (env.redis_ids, env.service_ids, env.databases_ids, env.env_group_ids) == (
        [],
        [],
        [],
        [],
    )


def test_shared_client_is_cached_per_settings_and_thread_safe() -> None:
    """shared() hands every thread the same client for equal settings, a new one after close."""
    s = settings()
    results: list[RenderClient] = []
    threads = [
        threading.Thread(target=lambda: results.append(RenderClient.shared(s))) for _ in range(8)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len({id(client) for client in results}) == 1
    assert RenderClient.shared(settings(owner_id="tea-other")) is not results[0]
    results[0].close()
    assert results[0].is_closed
    fresh = RenderClient.shared(s)
    assert fresh is not results[0]
    fresh.close()


def test_debug_log_has_no_secrets(caplog: pytest.LogCaptureFixture) -> None:
    """Request logs name method, path, status and request id, never the key or bodies."""
    rec = Recorder(json_response(200, connection_info_json()))
    with caplog.at_level(logging.DEBUG, logger="pulumi_render_kv.client"):
        make_client(rec).retrieve_key_value_connection_info(KV_ID)
    text = "\n".join(r.getMessage() for r in caplog.records if r.name == "pulumi_render_kv.client")
    assert (
        text
        == f"Render API GET /key-value/{KV_ID}/connection-info -> 200 (request id {REQUEST_ID})"
    )
    assert API_KEY not in caplog.text
    assert PASSWORD not in caplog.text
