"""The real client against the real emulator over HTTP: every method, errors, retries, no dupes.

The emulator and the client share one fake clock: the client's retry sleeps advance it, which
moves the emulator's rate-limit windows too, so nothing here really waits (except the one
timeout test, which needs a real slow answer).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from pulumi_render_kv.client import (
    AmbiguousCreateError,
    CidrBlockAndDescription,
    ClientLimits,
    ConflictError,
    InvalidRequestError,
    KeyValuePATCHInput,
    KeyValuePOSTInput,
    NotFoundError,
    Rate,
    RateLimitedError,
    RenderClient,
    RenderSettings,
    RenderTransportError,
    ResourceLogStreamPUTInput,
    RetryPolicy,
    ServerError,
    Timeouts,
    UnauthorizedError,
)
from pulumi_render_kv.core._wait import wait_until_available
from pulumi_render_kv.emulator import Emulator, EmulatorSettings, RateLimitSettings
from pulumi_render_kv.errors import WaitTimedOut

from ._fakes import FakeClock

API_KEY = "test-key"


@pytest.fixture(scope="module")
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture(scope="module")
def module_emulator(clock: FakeClock) -> Iterator[Emulator]:
    settings = EmulatorSettings(
        port=0,
        api_key=API_KEY,
        data_plane=False,
        rate_limits=RateLimitSettings.unlimited(),
        clock=clock,
    )
    with Emulator(settings) as emu:
        yield emu


@pytest.fixture(scope="module")
def wall(module_emulator: Emulator, clock: FakeClock) -> Callable[[], float]:
    """The emulator's wall clock (epoch + the fake clock), which stamps createdAt."""
    offset = time.time() - clock()  # as the emulator computed it when it started
    return lambda: offset + clock()


@pytest.fixture
def emu(module_emulator: Emulator) -> Emulator:
    module_emulator.reset()
    return module_emulator


def connect(
    emu: Emulator,
    clock: FakeClock,
    wall_clock: Callable[[], float] | None = None,
    **overrides: Any,
) -> RenderClient:
    values: dict[str, Any] = {
        "api_key": API_KEY,
        "base_url": emu.url,
        "owner_id": emu.owner_id,
        "limits": ClientLimits.off(),
        "environ": {},
    }
    values.update(overrides)
    return RenderClient(
        RenderSettings.resolve(**values),
        clock=clock,
        sleep=clock.sleep,
        rng=lambda: 0.0,
        wall_clock=wall_clock,
    )


@pytest.fixture
def client(emu: Emulator, clock: FakeClock) -> Iterator[RenderClient]:
    with connect(emu, clock) as render:
        yield render


def body(emu: Emulator, name: str = "cache", **kwargs: Any) -> KeyValuePOSTInput:
    kwargs.setdefault("plan", "starter")
    return KeyValuePOSTInput(name=name, owner_id=emu.owner_id, **kwargs)


def logged(emu: Emulator, method: str, path: str = "/v1/key-value") -> list[int]:
    """Statuses the emulator answered for ``method path`` (None-status = dropped)."""
    return [r["status"] for r in emu.requests() if (r["method"], r["path"]) == (method, path)]


# -- every method ---------------------------------------------------------------------------------


def test_log_stream_override_round_trip(emu: Emulator, client: RenderClient) -> None:
    """PUT send with a token → GET without it → drop → DELETE → GET None; the token arrived."""
    kv_id = client.create_key_value(body(emu)).id
    assert client.get_resource_log_stream(kv_id) is None
    sent = ResourceLogStreamPUTInput(setting="send", endpoint="logs.example.com:6514", token="tk1")
    put = client.update_resource_log_stream(kv_id, sent)
    assert (put.resource_id, put.setting, put.endpoint) == (kv_id, "send", "logs.example.com:6514")
    assert client.get_resource_log_stream(kv_id) == put
    assert emu.backend.log_stream_token(kv_id) == "tk1"
    dropped = client.update_resource_log_stream(kv_id, ResourceLogStreamPUTInput(setting="drop"))
    assert (dropped.setting, dropped.endpoint) == ("drop", None)
    client.delete_resource_log_stream(kv_id)
    assert client.get_resource_log_stream(kv_id) is None
    with pytest.raises(NotFoundError):
        client.delete_resource_log_stream(kv_id)
    with pytest.raises(InvalidRequestError, match="endpoint: must be present if setting is send"):
        client.update_resource_log_stream(kv_id, ResourceLogStreamPUTInput(setting="send"))


def test_full_lifecycle(emu: Emulator, client: RenderClient) -> None:
    """create → retrieve → list → update → connection info → suspend/resume → delete → 404."""
    allow = [CidrBlockAndDescription(cidr_block="203.0.113.0/24", description="office")]
    created = client.create_key_value(
        body(emu, maxmemory_policy="noeviction", ip_allow_list=allow, region="frankfurt")
    )
    assert created.id.startswith("red-")
    assert created.region == "frankfurt"
    assert created.options.maxmemory_policy == "noeviction"
    assert created.ip_allow_list == allow

    fetched = client.retrieve_key_value(created.id)
    assert fetched.id == created.id
    assert fetched.owner.id == emu.owner_id

    (listed,) = client.list_key_value(owner_id=emu.owner_id)
    assert listed.id == created.id
    assert listed.dashboard_url == f"https://dashboard.render.com/r/{created.id}"

    updated = client.update_key_value(
        created.id, KeyValuePATCHInput(name="renamed", plan="standard", ip_allow_list=[])
    )
    assert (updated.name, updated.plan, updated.ip_allow_list) == ("renamed", "standard", [])

    info = client.retrieve_key_value_connection_info(created.id)
    assert info.get_internal_connection_string().startswith(f"redis://{created.id}")
    assert info.get_external_connection_string().startswith(f"rediss://{created.id}:")

    client.suspend_key_value(created.id)
    assert client.retrieve_key_value(created.id).status == "suspended"
    client.resume_key_value(created.id)
    assert client.retrieve_key_value(created.id).status != "suspended"

    client.delete_key_value(created.id)
    with pytest.raises(NotFoundError, match=f"404 Not Found: not found: {created.id}"):
        client.retrieve_key_value(created.id)


def test_list_filters(emu: Emulator, client: RenderClient) -> None:
    """name and region filters (one or several values) narrow the list."""
    a = client.create_key_value(body(emu, "alpha", region="oregon"))
    b = client.create_key_value(body(emu, "beta", region="ohio"))
    client.create_key_value(body(emu, "gamma", region="ohio"))
    assert [kv.id for kv in client.list_key_value(name="alpha")] == [a.id]
    assert {kv.id for kv in client.list_key_value(name=["alpha", "beta"])} == {a.id, b.id}
    assert {kv.name for kv in client.list_key_value(region="ohio")} == {"beta", "gamma"}
    assert client.list_key_value(name="nope") == []


def test_pagination_across_pages(emu: Emulator, client: RenderClient) -> None:
    """Seven instances with limit=3 come back complete in three page requests."""
    ids = {client.create_key_value(body(emu, f"kv{i}")).id for i in range(7)}
    emu.clear_requests()
    found = client.list_key_value(limit=3)
    assert {kv.id for kv in found} == ids
    assert len(found) == 7
    assert logged(emu, "GET") == [200, 200, 200]


def test_owners(emu: Emulator, clock: FakeClock) -> None:
    """list_owners sees the emulator's workspace; resolve_owner_id picks it when unset."""
    with connect(emu, clock, owner_id=None) as client:
        (owner,) = client.list_owners()
        assert owner.id == emu.owner_id
        assert client.resolve_owner_id() == emu.owner_id


def test_environment_moves(emu: Emulator, client: RenderClient) -> None:
    """Adding to and removing from an environment shows in retrieve and in the list filter."""
    env = emu.add_environment("production")
    kv = client.create_key_value(body(emu))
    client.add_resources_to_environment(env, [kv.id])
    assert client.retrieve_key_value(kv.id).environment_id == env
    assert [x.id for x in client.list_key_value(environment_id=env)] == [kv.id]
    client.remove_resources_from_environment(env, [kv.id])
    assert client.retrieve_key_value(kv.id).environment_id is None


def test_create_in_environment(emu: Emulator, client: RenderClient) -> None:
    """environmentId at creation puts the instance in the environment."""
    env = emu.add_environment("staging")
    kv = client.create_key_value(body(emu, environment_id=env, persistence_mode="snapshot"))
    assert kv.environment_id == env
    assert kv.options.persistence_mode == "snapshot"


def test_request_count_matches_the_emulator_log(emu: Emulator, client: RenderClient) -> None:
    """The client's per-method request count equals what the emulator received."""
    emu.clear_requests()
    before = client.request_count
    kv = client.create_key_value(body(emu))
    client.retrieve_key_value(kv.id)
    client.delete_key_value(kv.id)
    after = client.request_count
    sent = {m: after.get(m, 0) - before.get(m, 0) for m in after}
    assert {m: n for m, n in sent.items() if n} == emu.request_counts()


# -- every error type -----------------------------------------------------------------------------


def test_invalid_request_from_plan_downgrade(emu: Emulator, client: RenderClient) -> None:
    """A plan downgrade is a 400 InvalidRequestError carrying the emulator's message."""
    kv = client.create_key_value(body(emu, plan="standard"))
    with pytest.raises(InvalidRequestError) as info:
        client.update_key_value(kv.id, KeyValuePATCHInput(plan="starter"))
    error = info.value
    assert error.status_code == 400
    assert error.request_id
    assert error.message
    assert str(error).startswith(
        f"Render API rejected PATCH /key-value/{kv.id}: 400 Bad Request: "
        "cannot change plan from standard to starter"
    )
    assert logged(emu, "PATCH", f"/v1/key-value/{kv.id}") == [400]


def test_invalid_request_from_unknown_plan(emu: Emulator, client: RenderClient) -> None:
    """A plan name Render does not know is rejected by the server with 400."""
    with pytest.raises(
        InvalidRequestError, match="400 Bad Request: invalid value for plan: 'mega'"
    ):
        client.create_key_value(body(emu, plan="mega"))


def test_unauthorized_with_wrong_key(emu: Emulator, clock: FakeClock) -> None:
    """A wrong API key is a 401 UnauthorizedError that says how to set the key, never the key."""
    client = connect(emu, clock, api_key="rnd_wrongKey12345678")
    with client, pytest.raises(UnauthorizedError) as info:
        client.list_key_value()
    assert str(info.value).startswith("Render API rejected GET /key-value: 401 Unauthorized")
    assert "RENDER_API_KEY" in str(info.value)
    assert "rnd_wrongKey12345678" not in str(info.value)


def test_not_found(client: RenderClient) -> None:
    """Unknown ids are 404 NotFoundError for retrieve, update, delete and connection info."""
    missing = "red-00000000000000000000"
    for call in (
        lambda: client.retrieve_key_value(missing),
        lambda: client.update_key_value(missing, KeyValuePATCHInput(name="x")),
        lambda: client.delete_key_value(missing),
        lambda: client.retrieve_key_value_connection_info(missing),
    ):
        with pytest.raises(NotFoundError, match=f"404 Not Found: not found: {missing}"):
            call()


def test_conflict_on_suspended_instance(emu: Emulator, client: RenderClient) -> None:
    """Updating a suspended instance is a 409 ConflictError, not retried."""
    kv = client.create_key_value(body(emu))
    client.suspend_key_value(kv.id)
    with pytest.raises(
        ConflictError, match=f"409 Conflict: Key Value instance {kv.id} is suspended"
    ):
        client.update_key_value(kv.id, KeyValuePATCHInput(name="x"))
    assert logged(emu, "PATCH", f"/v1/key-value/{kv.id}") == [409]


def test_server_error_after_retries(emu: Emulator, client: RenderClient) -> None:
    """A persistent 503 is retried until the 300 s deadline, then raised as ServerError."""
    emu.inject_fault(method="GET", path="/v1/key-value", status=503, count=50)
    with pytest.raises(ServerError, match="503 Service Unavailable: injected fault: 503") as info:
        client.list_key_value()
    # waits of 0.5, 1, 2, 4, 8, then 15 s (the 30 s cap times the jitter) while time is left
    assert logged(emu, "GET") == [503] * 24
    assert "it lasted 286 s (24 attempts, up to this call's 300 s deadline)" in str(info.value)


def test_rate_limited_after_retries(emu: Emulator, client: RenderClient) -> None:
    """A persistent 429 ends in RateLimitedError with Render's Retry-After."""
    emu.inject_fault(method="GET", path="/v1/key-value", status=429, count=10, retry_after=100)
    with pytest.raises(RateLimitedError) as info:
        client.list_key_value()
    assert info.value.retry_after == 100
    # attempts at 0, 100, 200 and 300 s; one more wait would end past the 300 s deadline
    assert logged(emu, "GET") == [429] * 4


def test_dropped_connection_is_a_transport_error(emu: Emulator, clock: FakeClock) -> None:
    """With retries off, a dropped connection surfaces as RenderTransportError."""
    emu.inject_fault(method="GET", path="/v1/owners", drop_connection=True)
    client = connect(emu, clock, retry=RetryPolicy(max_attempts=1))
    with client, pytest.raises(RenderTransportError) as info:
        client.list_owners()
    assert str(info.value).startswith("Could not reach the Render API for GET /owners: ")
    assert info.value.maybe_sent


# -- retries --------------------------------------------------------------------------------------


def test_retry_after_429_injected(emu: Emulator, client: RenderClient, clock: FakeClock) -> None:
    """An injected 429 with Retry-After: 7 is waited out (on the fake clock) and retried."""
    kv = client.create_key_value(body(emu))
    path = f"/v1/key-value/{kv.id}"
    emu.inject_fault(method="GET", path=path, status=429, retry_after=7)
    clock.sleeps.clear()
    assert client.retrieve_key_value(kv.id).id == kv.id
    assert clock.sleeps == [7.0]
    assert logged(emu, "GET", path) == [429, 200]


def test_a_429_storm_within_the_deadline_is_waited_out(
    emu: Emulator, client: RenderClient, clock: FakeClock
) -> None:
    """60 s of 429s with Retry-After: 5 on a read: waited out within its 300 s deadline."""
    kv = client.create_key_value(body(emu))
    path = f"/v1/key-value/{kv.id}"
    emu.inject_fault(method="GET", path=path, status=429, retry_after=5, count=12)
    clock.sleeps.clear()
    assert client.retrieve_key_value(kv.id).id == kv.id
    assert clock.sleeps == [5.0] * 12
    assert logged(emu, "GET", path) == [429] * 12 + [200]


def test_a_storm_past_a_status_read_deadline_inside_a_wait_is_logged_truthfully(
    emu: Emulator, client: RenderClient, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    """320 s of 429s during a 900 s wait: the status read's retries stop at their own 300 s
    deadline (said at INFO, as this call's end, not as giving up), the wait reads again, and
    the instance is found available. Nothing in the log claims the operation gave up."""
    kv = client.create_key_value(body(emu))
    path = f"/v1/key-value/{kv.id}"
    emu.inject_fault(method="GET", path=path, status=429, retry_after=5, count=64)
    with caplog.at_level(logging.INFO, logger="pulumi_render_kv.client"):
        ready = wait_until_available(
            lambda left: client.retrieve_key_value(kv.id, timeout=left),
            timeout=900,
            what=f"Key Value 'cache' ({kv.id})",
            clock=clock,
            sleep=clock.sleep,
        )
    assert ready.status == "available"
    assert logged(emu, "GET", path) == [429] * 64 + [200]
    assert "giving up" not in caplog.text.lower()
    stops = [r for r in caplog.records if "stops retrying" in r.getMessage()]
    assert [r.levelno for r in stops] == [logging.INFO]


def test_a_storm_longer_than_the_wait_says_what_happened_and_what_to_run(
    emu: Emulator, client: RenderClient, clock: FakeClock
) -> None:
    """A storm past wait_timeout ends the wait with Render's 429s and what to run."""
    kv = client.create_key_value(body(emu))
    path = f"/v1/key-value/{kv.id}"
    emu.inject_fault(method="GET", path=path, status=429, retry_after=5, count=100)
    with pytest.raises(WaitTimedOut) as info:
        wait_until_available(
            lambda left: client.retrieve_key_value(kv.id, timeout=left),
            timeout=120,
            what=f"Key Value 'cache' ({kv.id})",
            clock=clock,
            sleep=clock.sleep,
        )
    message = str(info.value)
    assert f"Render kept answering 429 (rate limited) to GET /key-value/{kv.id}" in message
    assert "for 120 s (25 attempts, up to this call's 120 s deadline)" in message
    assert "wait a few minutes, then run the same `pulumi` command again" in message
    assert "retry in" not in message


def test_retry_after_503(emu: Emulator, client: RenderClient) -> None:
    """An injected 503 on PATCH is retried; the second attempt applies the change."""
    kv = client.create_key_value(body(emu))
    path = f"/v1/key-value/{kv.id}"
    emu.inject_fault(method="PATCH", path=path, status=503)
    assert client.update_key_value(kv.id, KeyValuePATCHInput(name="n2")).name == "n2"
    assert logged(emu, "PATCH", path) == [503, 200]


def test_retry_after_dropped_connection(emu: Emulator, client: RenderClient) -> None:
    """A GET whose connection drops is simply sent again."""
    kv = client.create_key_value(body(emu))
    emu.inject_fault(method="GET", path=f"/v1/key-value/{kv.id}", drop_connection=True)
    assert client.retrieve_key_value(kv.id).id == kv.id


def test_delete_dropped_after_acting_counts_as_done(emu: Emulator, client: RenderClient) -> None:
    """Delete acted on but connection dropped: the retry's 404 means done."""
    kv = client.create_key_value(body(emu))
    path = f"/v1/key-value/{kv.id}"
    emu.inject_fault(method="DELETE", path=path, drop_connection=True)
    client.delete_key_value(kv.id)
    assert logged(emu, "DELETE", path)[-1] == 404
    assert client.list_key_value() == []


def test_emulator_rate_limit_is_waited_out(emu: Emulator, clock: FakeClock) -> None:
    """Against real rate limiting, the client waits Retry-After (fake clock) and succeeds."""
    limits = RateLimitSettings(get_per_minute=2, write_per_minute=30, create_per_hour=20)
    settings = EmulatorSettings(api_key=API_KEY, data_plane=False, rate_limits=limits, clock=clock)
    with Emulator(settings) as tight, connect(tight, clock) as client:
        for _ in range(3):
            client.list_key_value()
        statuses = logged(tight, "GET")
    assert statuses == [200, 200, 429, 200]
    assert 0 < clock.sleeps[-1] <= 60


def test_client_limiter_prevents_429s(emu: Emulator, clock: FakeClock) -> None:
    """With client limits equal to the server's, a burst never meets a 429."""
    limits = RateLimitSettings(get_per_minute=3, write_per_minute=30, create_per_hour=20)
    settings = EmulatorSettings(api_key=API_KEY, data_plane=False, rate_limits=limits, clock=clock)
    with (
        Emulator(settings) as tight,
        connect(tight, clock, limits=ClientLimits(get=Rate(3, 60))) as client,
    ):
        for _ in range(10):
            client.list_key_value()
        statuses = logged(tight, "GET")
    assert statuses == [200] * 10


# -- never create twice ---------------------------------------------------------------------------


def test_create_connection_dropped_after_creation(emu: Emulator, client: RenderClient) -> None:
    """The emulator creates, then drops the connection: exactly one instance, its id returned."""
    emu.inject_fault(method="POST", path="/v1/key-value", drop_connection=True)
    kv = client.create_key_value(body(emu), take_over=True)
    (only,) = client.list_key_value()
    assert only.id == kv.id
    assert len(logged(emu, "POST")) == 1
    # snapshot, POST (dropped), recovery lookup, retrieve of the found id, the test's list
    assert [(r["method"], r["path"]) for r in emu.requests()] == [
        ("GET", "/v1/key-value"),
        ("POST", "/v1/key-value"),
        ("GET", "/v1/key-value"),
        ("GET", f"/v1/key-value/{kv.id}"),
        ("GET", "/v1/key-value"),
    ]


def test_create_502_without_creation_is_not_posted_again(
    emu: Emulator, clock: FakeClock, wall: Callable[[], float]
) -> None:
    """A proxy's 502 cannot prove nothing was made: look for it, then hand over; no 2nd POST."""
    emu.inject_fault(method="POST", path="/v1/key-value", status=502)
    with (
        connect(emu, clock, wall_clock=wall) as client,
        pytest.raises(AmbiguousCreateError, match="Render may still create it"),
    ):
        client.create_key_value(body(emu))
    assert logged(emu, "POST") == [502]
    with connect(emu, clock) as client:
        assert client.list_key_value() == []


def test_create_503_that_made_nothing_is_posted_again(
    emu: Emulator, clock: FakeClock, wall: Callable[[], float]
) -> None:
    """Render's own 503 decided: nothing appears in a short look, so the POST goes again."""
    emu.inject_fault(method="POST", path="/v1/key-value", status=503)
    with connect(emu, clock, wall_clock=wall) as client:
        kv = client.create_key_value(body(emu))
        assert [k.id for k in client.list_key_value()] == [kv.id]
    assert logged(emu, "POST") == [503, 201]


def test_create_429_posts_again(emu: Emulator, client: RenderClient) -> None:
    """A 429 on create is waited out and re-posted without a recovery lookup."""
    emu.inject_fault(method="POST", path="/v1/key-value", status=429, retry_after=3)
    emu.clear_requests()
    client.create_key_value(body(emu))
    assert [(r["method"], r["status"]) for r in emu.requests()] == [
        ("GET", 200),
        ("POST", 429),
        ("POST", 201),
    ]


def test_create_does_not_adopt_preexisting_same_name(emu: Emulator, client: RenderClient) -> None:
    """An older instance with the same name is never returned as the one just created."""
    old = client.create_key_value(body(emu))
    emu.inject_fault(method="POST", path="/v1/key-value", drop_connection=True)
    new = client.create_key_value(body(emu), take_over=True)
    assert new.id != old.id
    assert {kv.id for kv in client.list_key_value(name="cache")} == {old.id, new.id}


def test_create_answered_after_the_read_timeout_is_found_not_posted_again(
    emu: Emulator, clock: FakeClock, wall: Callable[[], float]
) -> None:
    """Render acts after the client's read timeout and after its first lookup: still one."""
    emu.inject_fault(method="POST", path="/v1/key-value", delay=0.6)
    settings = RenderSettings.resolve(
        api_key=API_KEY,
        base_url=emu.url,
        owner_id=emu.owner_id,
        limits=ClientLimits.off(),
        timeouts=Timeouts(read=0.1),
        environ={},
    )

    def sleep(seconds: float) -> None:
        clock.sleep(seconds)  # the backoff, on the fake clock
        time.sleep(0.1)  # and a little real time, in which the emulator finishes the POST

    with RenderClient(settings, clock=clock, sleep=sleep, wall_clock=wall) as client:
        kv = client.create_key_value(body(emu), take_over=True)
        time.sleep(0.7)  # anything still in flight lands before we count
        (only,) = client.list_key_value()
    assert only.id == kv.id
    assert len(logged(emu, "POST")) == 1
    assert len(logged(emu, "GET")) >= 3  # snapshot, an empty lookup, the lookup that finds it
