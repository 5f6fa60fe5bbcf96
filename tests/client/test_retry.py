"""The retry policy and the no-duplicate create, driven by a fake clock (nothing sleeps)."""

from __future__ import annotations

import logging
import time
from typing import Any

import httpx
import pytest

from pulumi_render_kv.client import (
    AmbiguousCreateError,
    ConflictError,
    InvalidRequestError,
    KeyValuePATCHInput,
    KeyValuePOSTInput,
    NotFoundError,
    RateLimitedError,
    RenderTimeoutError,
    RenderTransportError,
    RetryPolicy,
    ServerError,
)
from pulumi_render_kv.client._create import CLOCK_SKEW
from pulumi_render_kv.client._retry import retry_wait

from ._fakes import (
    API_KEY,
    OWNER_ID,
    REQUEST_ID,
    FakeClock,
    FakeRender,
    Fault,
    make_client,
    rfc3339,
)

KV = "/key-value"


def kv_path(kv_id: str) -> str:
    return f"/key-value/{kv_id}"


def post_body(name: str = "cache", **kwargs: Any) -> KeyValuePOSTInput:
    return KeyValuePOSTInput(name=name, owner_id=OWNER_ID, plan="starter", **kwargs)


# -- waits -------------------------------------------------------------------------------------


def test_429_honours_retry_after() -> None:
    """A 429 with Retry-After waits exactly that long, then succeeds."""
    fake, clock = FakeRender(), FakeClock()
    kv = fake.seed()
    fake.fail("GET", kv_path(kv["id"]), Fault(429, headers={"Retry-After": "7"}))
    assert make_client(fake, clock).retrieve_key_value(kv["id"]).id == kv["id"]
    assert clock.sleeps == [7.0]


def test_429_falls_back_to_ratelimit_reset() -> None:
    """Without Retry-After, a 429 waits Ratelimit-Reset seconds."""
    fake, clock = FakeRender(), FakeClock()
    kv = fake.seed()
    fake.fail("GET", kv_path(kv["id"]), Fault(429, headers={"Ratelimit-Reset": "34"}))
    make_client(fake, clock).retrieve_key_value(kv["id"])
    assert clock.sleeps == [34.0]


def test_retry_after_up_to_the_cap_is_waited() -> None:
    """A Retry-After equal to max_retry_after (120 s by default) is still waited out."""
    fake, clock = FakeRender(), FakeClock()
    kv = fake.seed()
    fake.fail("GET", kv_path(kv["id"]), Fault(429, headers={"Retry-After": "120"}))
    make_client(fake, clock).retrieve_key_value(kv["id"])
    assert clock.sleeps == [120.0]


def test_retry_after_beyond_the_cap_fails_at_once() -> None:
    """If Render asks for more than max_retry_after, the call fails now, saying how long."""
    fake, clock = FakeRender(), FakeClock()
    kv = fake.seed()
    fake.fail("GET", kv_path(kv["id"]), Fault(429, headers={"Ratelimit-Reset": "2074"}))
    client = make_client(fake, clock)
    with pytest.raises(RateLimitedError) as info:
        client.retrieve_key_value(kv["id"])
    assert clock.sleeps == []
    assert client.request_count == {"GET": 1}
    assert info.value.retry_after == 2074.0
    assert str(info.value) == (
        f"Render answered 429 (rate limited) to GET {kv_path(kv['id'])} (scripted 429; request "
        f"id {REQUEST_ID}) and asks to wait 2074 s (35 min), longer than this client waits "
        "(120 s); its rate limits are per API key and shared with every other tool using the "
        "key: wait that long, then run the same `pulumi` command again."
    )


def test_backoff_is_exponential_with_jitter_and_capped() -> None:
    """Without a server hint, waits double from 1 s (times the jitter factor), capped at 30 s."""
    fake, clock = FakeRender(), FakeClock()
    kv = fake.seed()
    fake.fail("GET", kv_path(kv["id"]), *[Fault(503)] * 7)
    policy = RetryPolicy(max_attempts=8, deadline=10_000)
    make_client(fake, clock, retry=policy).retrieve_key_value(kv["id"])
    # rng() == 0.5 → factor 0.75
    assert clock.sleeps == [0.75, 1.5, 3.0, 6.0, 12.0, 22.5, 22.5]


def test_jitter_stays_within_half_to_full_backoff() -> None:
    """The jitter factor spans [0.5, 1) of the backoff."""
    error = ServerError(status_code=503, message="", method="GET", path="/x")
    policy = RetryPolicy()
    assert retry_wait(error, 3, policy, lambda: 0.0) == 2.0
    assert retry_wait(error, 3, policy, lambda: 0.999) == pytest.approx(3.998)


# -- what is retried ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "fault",
    [
        Fault(500),
        Fault(502),
        Fault(503),
        Fault(429),
        Fault(error=httpx.ReadError),
        Fault(error=httpx.ConnectError),
        Fault(error=httpx.ReadTimeout),
        Fault(error=httpx.RemoteProtocolError),
    ],
)
def test_get_is_retried_on_transient_failures(fault: Fault) -> None:
    """GET retries 429, 5xx and transport failures, then returns the answer."""
    fake = FakeRender()
    kv = fake.seed()
    fake.fail("GET", kv_path(kv["id"]), fault)
    client = make_client(fake)
    assert client.retrieve_key_value(kv["id"]).id == kv["id"]
    assert client.request_count == {"GET": 2}


@pytest.mark.parametrize("status", [400, 401, 403, 404, 409, 410])
def test_definite_client_errors_are_not_retried(status: int) -> None:
    """4xx other than 429 are final: one request, the error raised."""
    fake = FakeRender()
    kv = fake.seed()
    fake.fail("PATCH", kv_path(kv["id"]), Fault(status))
    client = make_client(fake)
    with pytest.raises(Exception, match=f": {status} ") as info:
        client.update_key_value(kv["id"], KeyValuePATCHInput(name="x"))
    assert getattr(info.value, "status_code", None) == status
    assert client.request_count == {"PATCH": 1}


def test_patch_is_retried_on_5xx() -> None:
    """PATCH (sending the same desired fields again is harmless) retries a 500."""
    fake = FakeRender()
    kv = fake.seed()
    fake.fail("PATCH", kv_path(kv["id"]), Fault(500))
    client = make_client(fake)
    assert client.update_key_value(kv["id"], KeyValuePATCHInput(name="renamed")).name == "renamed"
    assert client.request_count == {"PATCH": 2}


def test_suspend_is_retried_on_503() -> None:
    """Suspend retries a 503."""
    calls: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request.method)
        return httpx.Response(503 if len(calls) == 1 else 202)

    make_client(handler).suspend_key_value("red-1")
    assert calls == ["POST", "POST"]


def test_5xx_is_retried_until_the_deadline_not_a_count() -> None:
    """Always-503 is retried with backoff until the next wait would pass the 300 s deadline."""
    fake, clock = FakeRender(), FakeClock()
    kv = fake.seed()
    fake.fail("GET", kv_path(kv["id"]), *[Fault(503)] * 100)
    client = make_client(fake, clock)
    start = clock()
    with pytest.raises(ServerError) as info:
        client.retrieve_key_value(kv["id"])
    # 0.75, 1.5, 3, 6, 12, then 22.5 s (30 s capped, times the jitter) while time is left
    assert clock.sleeps == [0.75, 1.5, 3.0, 6.0, 12.0, *[22.5] * 12]
    assert clock() - start == pytest.approx(293.25)
    assert client.request_count == {"GET": 18}
    assert str(info.value) == (
        f"Render API failed on GET {kv_path(kv['id'])}: 503 Service Unavailable: scripted 503 "
        f"(request id {REQUEST_ID}). This is a problem on Render's side; it lasted 293 s "
        "(18 attempts, up to this call's 300 s deadline): check https://status.render.com, "
        "then run the same `pulumi` command again."
    )


def test_429_storm_within_the_deadline_succeeds() -> None:
    """A 60 s burst of 429s with Retry-After: 5 is waited out inside the 300 s deadline."""
    fake, clock = FakeRender(), FakeClock()
    kv = fake.seed()
    fake.fail("GET", kv_path(kv["id"]), *[Fault(429, headers={"Retry-After": "5"})] * 12)
    client = make_client(fake, clock)
    assert client.retrieve_key_value(kv["id"]).id == kv["id"]
    assert clock.sleeps == [5.0] * 12
    assert client.request_count == {"GET": 13}


def test_429_storm_on_create_within_the_deadline_succeeds() -> None:
    """A 429 proves nothing was created: the POST is sent again until the storm passes."""
    fake, clock = FakeRender(), FakeClock()
    fake.fail("POST", KV, *[Fault(429, headers={"Retry-After": "5"})] * 12)
    kv = make_client(fake, clock).create_key_value(post_body())
    assert list(fake.instances) == [kv.id]
    assert clock.sleeps == [5.0] * 12


def test_429_storm_longer_than_the_deadline_says_what_happened_and_what_to_run() -> None:
    """A storm past the deadline ends in one sentence: how long, why, and what to run."""
    fake, clock = FakeRender(), FakeClock()
    kv = fake.seed()
    fake.fail("GET", kv_path(kv["id"]), *[Fault(429, headers={"Retry-After": "5"})] * 100)
    client = make_client(fake, clock)
    start = clock()
    with pytest.raises(RateLimitedError) as info:
        client.retrieve_key_value(kv["id"])
    assert clock() - start == 300.0
    assert client.request_count == {"GET": 61}
    assert str(info.value) == (
        f"Render kept answering 429 (rate limited) to GET {kv_path(kv['id'])} (scripted 429; "
        f"request id {REQUEST_ID}) for 300 s (61 attempts, up to this call's 300 s deadline); "
        "its rate limits are per API key and shared with every other tool using the key: wait "
        "a few minutes, then run the same `pulumi` command again."
    )
    assert "retry in" not in str(info.value)
    assert not getattr(info.value, "__notes__", None)  # the sentence says it all


def test_timeout_bounds_the_retries() -> None:
    """A call's ``timeout`` is its retry deadline: a storm is retried for that long only."""
    fake, clock = FakeRender(), FakeClock()
    kv = fake.seed()
    fake.fail("GET", kv_path(kv["id"]), *[Fault(429, headers={"Retry-After": "5"})] * 100)
    with pytest.raises(RateLimitedError) as info:
        make_client(fake, clock).retrieve_key_value(kv["id"], timeout=12)
    assert clock.sleeps == [5.0, 5.0]
    assert "for 10 s (3 attempts, up to this call's 12 s deadline)" in str(info.value)


def test_no_time_for_a_retry_says_so() -> None:
    """With less time left than Render's wait, the call stops at once and says why."""
    fake, clock = FakeRender(), FakeClock()
    kv = fake.seed()
    fake.fail("GET", kv_path(kv["id"]), Fault(429, headers={"Retry-After": "5"}))
    with pytest.raises(RateLimitedError) as info:
        make_client(fake, clock).retrieve_key_value(kv["id"], timeout=2)
    assert clock.sleeps == []
    assert str(info.value).startswith(
        f"Render answered 429 (rate limited) to GET {kv_path(kv['id'])} (scripted 429; request "
        f"id {REQUEST_ID}), with no time left for a retry before this call's 2 s deadline; "
    )


def test_a_safety_cap_on_attempts_still_applies() -> None:
    """max_attempts is only a safety cap (far above what the deadline allows by default)."""
    assert RetryPolicy().max_attempts >= 1000
    fake, clock = FakeRender(), FakeClock()
    kv = fake.seed()
    fake.fail("GET", kv_path(kv["id"]), *[Fault(429, headers={"Retry-After": "0"})] * 10)
    client = make_client(fake, clock, retry=RetryPolicy(max_attempts=3))
    with pytest.raises(RateLimitedError) as info:
        client.retrieve_key_value(kv["id"])
    assert client.request_count == {"GET": 3}
    assert "kept answering 429 (rate limited)" in str(info.value)
    assert "(3 attempts, this call's limit)" in str(info.value)


def test_gives_up_when_next_wait_passes_the_deadline() -> None:
    """The total-time bound stops retrying before a wait that would end past the deadline."""
    fake, clock = FakeRender(), FakeClock()
    kv = fake.seed()
    fake.fail("GET", kv_path(kv["id"]), *[Fault(429, headers={"Retry-After": "120"})] * 10)
    client = make_client(fake, clock, retry=RetryPolicy(deadline=300))
    with pytest.raises(RateLimitedError) as info:
        client.retrieve_key_value(kv["id"])
    assert clock.sleeps == [120.0, 120.0]
    assert client.request_count == {"GET": 3}
    assert info.value.retry_after == 120.0


def test_transport_errors_are_wrapped() -> None:
    """A dropped connection surfaces as RenderTransportError, a timeout as RenderTimeoutError."""
    fake = FakeRender()
    fake.fail("GET", kv_path("red-1"), *[Fault(error=httpx.ReadError)] * 100)
    fake.fail("GET", kv_path("red-2"), Fault(error=httpx.ReadTimeout))
    client = make_client(fake)
    with pytest.raises(RenderTransportError) as info:
        client.retrieve_key_value("red-1")
    assert type(info.value) is RenderTransportError
    assert str(info.value) == (
        "Could not reach the Render API for GET /key-value/red-1: ReadError: scripted failure; "
        "it went on for 293 s (18 attempts, up to this call's 300 s deadline): check the network "
        "and the API URL (RENDER_API_URL or `render:apiUrl`), then run the same `pulumi` "
        "command again."
    )
    assert info.value.maybe_sent is True
    with pytest.raises(RenderTimeoutError) as timeout:
        make_client(fake, retry=RetryPolicy(max_attempts=1)).retrieve_key_value("red-2")
    assert str(timeout.value) == (
        "The Render API did not answer GET /key-value/red-2 in time: ReadTimeout: scripted failure."
    )


def test_connect_error_is_marked_not_sent() -> None:
    """A refused connection is known not to have reached Render."""
    fake = FakeRender()
    fake.fail("GET", kv_path("red-1"), Fault(error=httpx.ConnectError))
    with pytest.raises(RenderTransportError) as info:
        make_client(fake, retry=RetryPolicy(max_attempts=1)).retrieve_key_value("red-1")
    assert info.value.maybe_sent is False


def test_retry_logs_carry_no_secrets_or_bodies(caplog: pytest.LogCaptureFixture) -> None:
    """Retry log lines give method, path, attempt, wait and error class only."""
    fake = FakeRender()
    kv = fake.seed()
    fake.fail("GET", kv_path(kv["id"]), Fault(503))
    with caplog.at_level(logging.INFO, logger="pulumi_render_kv.client"):
        make_client(fake).retrieve_key_value(kv["id"])
    assert [r.getMessage() for r in caplog.records] == [
        f"Render API GET {kv_path(kv['id'])} failed (attempt 1, ServerError); "
        "retrying in 0.8 s (300 s left before this call's deadline)"
    ]
    assert "scripted" not in caplog.text
    assert API_KEY not in caplog.text


def test_when_retries_stop_the_log_does_not_claim_the_operation_gave_up(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The retry layer only knows that this call stops; its caller may well go on (a wait loop
    reads again), so that is said at INFO, and nothing claims the operation gave up."""
    fake, clock = FakeRender(), FakeClock()
    kv = fake.seed()
    fake.fail("GET", kv_path(kv["id"]), *[Fault(429, headers={"Retry-After": "5"})] * 3)
    with (
        caplog.at_level(logging.DEBUG, logger="pulumi_render_kv.client"),
        pytest.raises(RateLimitedError),
    ):
        make_client(fake, clock).retrieve_key_value(kv["id"], timeout=12)
    last = caplog.records[-1]
    assert (last.levelno, last.getMessage()) == (
        logging.INFO,
        f"Render API GET {kv_path(kv['id'])} failed (attempt 3 in 10.0 s, RateLimitedError); "
        "this call stops retrying: the next wait (5.0 s) would end past its 12 s deadline",
    )
    assert "giving up" not in caplog.text.lower()
    assert all("stops retrying" not in r.getMessage() for r in caplog.records[:-1])


# -- delete ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "fault", [Fault(503, act=True), Fault(error=httpx.ReadError, act=True), Fault(500, act=True)]
)
def test_delete_404_after_uncertain_attempt_is_done(fault: Fault) -> None:
    """If a failed delete attempt may have reached Render, a 404 on the retry means deleted."""
    fake = FakeRender()
    kv = fake.seed()
    fake.fail("DELETE", kv_path(kv["id"]), fault)
    client = make_client(fake)
    assert client.delete_key_value(kv["id"]) is None
    assert kv["id"] not in fake.instances
    assert client.request_count == {"DELETE": 2}


@pytest.mark.parametrize(
    "fault", [Fault(429, headers={"Retry-After": "1"}), Fault(error=httpx.ConnectError)]
)
def test_delete_404_after_rejected_attempt_raises(fault: Fault) -> None:
    """If the earlier attempt surely did nothing (429, refused connection), a 404 is real."""
    fake = FakeRender()
    fake.fail("DELETE", kv_path("red-gone"), fault)
    with pytest.raises(NotFoundError, match="404 Not Found: not found: red-gone"):
        make_client(fake).delete_key_value("red-gone")


# -- create: never twice ---------------------------------------------------------------------------


def test_create_dropped_connection_after_server_created_returns_that_instance() -> None:
    """Connection lost after Render created it: no second POST; with take_over, its id."""
    fake = FakeRender()
    fake.fail("POST", KV, Fault(error=httpx.ReadError, act=True))
    client = make_client(fake)
    kv = client.create_key_value(post_body(), take_over=True)
    assert list(fake.instances) == [kv.id]
    assert fake.calls("POST") == 1
    # snapshot lookup, recovery lookup, retrieve of the found instance
    assert [(r.method, r.url.path) for r in fake.requests] == [
        ("GET", "/v1/key-value"),
        ("POST", "/v1/key-value"),
        ("GET", "/v1/key-value"),
        ("GET", f"/v1/key-value/{kv.id}"),
    ]


@pytest.mark.parametrize(
    "fault",
    [Fault(error=httpx.ReadTimeout, act=True), Fault(500, act=True), Fault(503, act=True)],
)
def test_create_timeout_or_5xx_after_creation_returns_that_instance(fault: Fault) -> None:
    """A timeout or 5xx after Render acted is recovered by lookup (take_over), not a new POST."""
    fake = FakeRender()
    fake.fail("POST", KV, fault)
    kv = make_client(fake).create_key_value(post_body(), take_over=True)
    assert list(fake.instances) == [kv.id]
    assert fake.calls("POST") == 1


@pytest.mark.parametrize(
    "fault",
    [Fault(error=httpx.ReadTimeout, act=True), Fault(500, act=True), Fault(503, act=True)],
)
def test_create_recovery_never_takes_an_instance_without_take_over(fault: Fault) -> None:
    """The instance an uncertain POST probably made is named, not taken: it may be another's."""
    fake = FakeRender()
    fake.fail("POST", KV, fault)
    with pytest.raises(AmbiguousCreateError) as info:
        make_client(fake).create_key_value(post_body())
    assert info.value.candidate_ids == tuple(fake.instances)
    assert f"exists in workspace {OWNER_ID} (oregon): {next(iter(fake.instances))}" in str(
        info.value
    )
    assert "none was taken over and nothing was created again" in str(info.value)
    assert fake.calls("POST") == 1


def test_another_stacks_same_name_instance_in_our_window_is_not_taken() -> None:
    """Two stacks create one name at once; ours answers 503 (made nothing), theirs lands.

    The other stack's instance has our name, settings and a creation time inside our POST's
    window: it looks exactly like ours. Taking it would let one stack's destroy delete the
    other's data, so it is named and refused, and nothing is posted again.
    """
    fake = FakeRender()
    theirs: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        response = fake(request)
        if request.method == "POST" and not theirs:
            theirs.append(fake.seed(name="cache", created_at=rfc3339(time.time()))["id"])
        return response

    fake.fail("POST", KV, Fault(503))
    with pytest.raises(AmbiguousCreateError) as info:
        make_client(handler).create_key_value(post_body())
    assert info.value.candidate_ids == tuple(theirs)
    assert fake.calls("POST") == 1
    assert list(fake.instances) == theirs


@pytest.mark.parametrize("status", [500, 503])
def test_create_answered_5xx_that_made_nothing_is_posted_again(status: int) -> None:
    """Render's API itself answered: it decided. A short look finds nothing, so POST again."""
    fake, clock = FakeRender(), FakeClock()
    fake.fail("POST", KV, Fault(status))
    kv = make_client(fake, clock).create_key_value(post_body())
    assert list(fake.instances) == [kv.id]
    assert fake.calls("POST") == 2
    # the snapshot, then lookups for 3 s (create_confirm_window), then the second POST
    assert sum(clock.sleeps) <= 3.0 + 1e-9
    assert [r.method for r in fake.requests][:2] == ["GET", "POST"]
    assert [r.method for r in fake.requests][-1] == "POST"


@pytest.mark.parametrize(
    "fault",
    [Fault(502), Fault(504), Fault(error=httpx.ReadError), Fault(error=httpx.ReadTimeout)],
)
def test_create_uncertain_failure_without_creation_is_never_posted_again(fault: Fault) -> None:
    """Nothing appears after an unanswered POST: look for 90 s with backoff, then hand over."""
    fake, clock = FakeRender(), FakeClock()
    fake.fail("POST", KV, fault, *[Fault(503)] * 5)
    with pytest.raises(AmbiguousCreateError) as info:
        make_client(fake, clock).create_key_value(post_body())
    assert fake.calls("POST") == 1
    assert fake.instances == {}
    assert info.value.candidate_ids == ()
    assert "Render may still create it" in str(info.value)
    assert "within 90 s" in str(info.value)
    # backoff between lookups (1, 2, 4, … s), not a busy loop, and no longer than the window
    assert clock.sleeps[:4] == [1.0, 2.0, 4.0, 8.0]
    assert 90.0 <= sum(clock.sleeps) <= 90.0 + 1e-9
    assert fake.calls("GET") <= 12


def test_create_keeps_looking_while_render_acts_late() -> None:
    """Render acts after the client gave up (a POST answered after the read timeout): found."""
    fake = FakeRender()
    pending: list[httpx.Request] = []
    lists = 0

    def handler(request: httpx.Request) -> httpx.Response:
        nonlocal lists
        if request.method == "POST":
            pending.append(request)  # Render is still working on it
            raise httpx.ReadTimeout("scripted timeout", request=request)
        if request.method == "GET" and request.url.path == "/v1/key-value":
            lists += 1
            if lists == 4 and pending:  # the snapshot, two empty lookups, then it lands
                fake(pending.pop())
        return fake(request)

    kv = make_client(handler).create_key_value(post_body(), take_over=True)
    assert list(fake.instances) == [kv.id]
    assert sum(r.method == "POST" for r in fake.requests) == 1


def test_create_preexisting_same_name_is_never_taken_for_ours() -> None:
    """An instance with the same name that existed before the POST is not mistaken for ours."""
    fake = FakeRender()
    fake.seed(name="cache")
    fake.fail("POST", KV, Fault(error=httpx.ReadError, act=False))
    with pytest.raises(AmbiguousCreateError) as info:
        make_client(fake).create_key_value(post_body(), take_over=True)
    assert info.value.candidate_ids == ()
    assert len(fake.instances) == 1
    assert fake.calls("POST") == 1


def test_create_recovery_refuses_an_instance_made_after_the_answered_failure() -> None:
    """Another stack's same-name instance, made after our 500 came back, is not taken."""
    fake = FakeRender()
    theirs: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        response = fake(request)
        if request.method == "POST":  # answered 500 (nothing made); the other stack's lands
            later = rfc3339(time.time() + CLOCK_SKEW + 5)
            theirs.append(fake.seed(name="cache", created_at=later)["id"])
        return response

    fake.fail("POST", KV, Fault(500))
    with pytest.raises(AmbiguousCreateError) as info:
        make_client(handler).create_key_value(post_body(), take_over=True)
    assert info.value.candidate_ids == tuple(theirs)
    assert theirs[0] in str(info.value)
    assert fake.calls("POST") == 1


def test_create_recovery_refuses_an_instance_with_other_settings() -> None:
    """A new same-name instance on another plan is someone else's, whatever its timing."""
    fake = FakeRender()

    def handler(request: httpx.Request) -> httpx.Response:
        if request.method == "POST":
            fake.seed(name="cache", plan="pro", created_at=rfc3339(time.time()))
        return fake(request)

    fake.fail("POST", KV, Fault(error=httpx.ReadTimeout))
    with pytest.raises(AmbiguousCreateError) as info:
        make_client(handler).create_key_value(post_body(), take_over=True)
    assert len(info.value.candidate_ids) == 1
    assert fake.calls("POST") == 1


def test_create_preexisting_same_name_and_ours_created_returns_ours() -> None:
    """With an older same-name instance around, recovery returns the one our POST created."""
    fake = FakeRender()
    old = fake.seed(name="cache")
    fake.fail("POST", KV, Fault(error=httpx.ReadError, act=True))
    kv = make_client(fake).create_key_value(post_body(), take_over=True)
    assert kv.id != old["id"]
    assert len(fake.instances) == 2
    assert fake.calls("POST") == 1


def test_create_ignores_same_name_in_other_region_or_owner() -> None:
    """Same name in another region or workspace is neither snapshot nor recovery material."""
    fake = FakeRender()
    fake.seed(name="cache", region="ohio")
    fake.seed(name="cache", owner_id="tea-other")
    fake.fail("POST", KV, Fault(error=httpx.ReadError, act=True))
    kv = make_client(fake).create_key_value(post_body(region="frankfurt"), take_over=True)
    assert kv.region == "frankfurt"
    assert len(fake.instances) == 3
    assert fake.calls("POST") == 1


def test_create_429_is_retried_without_lookup() -> None:
    """A 429 means Render did nothing: POST again after the wait, no recovery lookup."""
    fake, clock = FakeRender(), FakeClock()
    fake.fail("POST", KV, Fault(429, headers={"Retry-After": "5"}))
    kv = make_client(fake, clock).create_key_value(post_body())
    assert [r.method for r in fake.requests] == ["GET", "POST", "POST"]
    assert list(fake.instances) == [kv.id]
    assert clock.sleeps == [5.0]


def test_create_refused_connection_is_retried_without_lookup() -> None:
    """A connection that never opened cannot have created anything: POST again directly."""
    fake = FakeRender()
    fake.fail("POST", KV, Fault(error=httpx.ConnectError))
    make_client(fake).create_key_value(post_body())
    assert [r.method for r in fake.requests] == ["GET", "POST", "POST"]


def test_create_400_is_final() -> None:
    """A definite rejection is raised at once; nothing is retried."""
    fake = FakeRender()
    fake.fail("POST", KV, Fault(400))
    with pytest.raises(InvalidRequestError, match="400 Bad Request: scripted 400"):
        make_client(fake).create_key_value(post_body())
    assert fake.calls("POST") == 1
    assert fake.instances == {}


def test_create_recovery_lookup_failure_is_retried() -> None:
    """If the recovery lookup itself fails transiently, the attempt is retried, still no re-POST."""
    fake = FakeRender()
    fake.fail("POST", KV, Fault(error=httpx.ReadError, act=True))
    fake.fail("GET", KV, Fault(), Fault(503))  # the snapshot passes, the first recovery fails
    kv = make_client(fake).create_key_value(post_body(), take_over=True)
    assert list(fake.instances) == [kv.id]
    assert fake.calls("POST") == 1
    assert [r.method for r in fake.requests] == ["GET", "POST", "GET", "GET", "GET"]


def test_create_proven_failure_then_uncertain_success_is_found() -> None:
    """A 429 (nothing made) is re-posted; the second POST times out after acting: found."""
    fake = FakeRender()
    fake.fail("POST", KV, Fault(429), Fault(error=httpx.ReadError, act=True))
    kv = make_client(fake).create_key_value(post_body(), take_over=True)
    assert list(fake.instances) == [kv.id]
    assert fake.calls("POST") == 2


def test_create_ambiguous_when_two_new_instances_appear() -> None:
    """If two new same-name instances appear after an uncertain create, the client won't guess."""
    fake = FakeRender()

    def handler(request: httpx.Request) -> httpx.Response:
        if request.method == "POST":
            # someone else creates the same name and settings at the same moment
            fake.seed(name="cache", created_at=rfc3339(time.time()))
        return fake(request)

    fake.fail("POST", KV, Fault(error=httpx.ReadError, act=True))
    with pytest.raises(AmbiguousCreateError) as info:
        make_client(handler).create_key_value(post_body(), take_over=True)
    ids = sorted(fake.instances)
    assert info.value.candidate_ids == tuple(ids)
    assert f"and 2 new instances with that name now exist in workspace {OWNER_ID} " in str(
        info.value
    )


def test_create_name_with_comma_is_matched_client_side() -> None:
    """A name the comma-separated filter cannot express is looked up without it, matched exactly."""
    fake = FakeRender()
    fake.seed(name="a")
    fake.fail("POST", KV, Fault(error=httpx.ReadError, act=True))
    kv = make_client(fake).create_key_value(post_body(name="a,b"), take_over=True)
    assert kv.name == "a,b"
    assert "name" not in fake.requests[0].url.params
    assert fake.calls("POST") == 1


def test_create_lookup_window_is_bounded_by_the_timeout() -> None:
    """With timeout=20, the lookup after an uncertain POST ends by 20 s, not 90."""
    fake, clock = FakeRender(), FakeClock()
    fake.fail("POST", KV, Fault(504))
    start = clock()
    with pytest.raises(AmbiguousCreateError, match="within 20 s"):
        make_client(fake, clock).create_key_value(post_body(), timeout=20)
    assert clock() - start <= 20.0 + 1e-9


def test_create_lookups_that_keep_failing_are_bounded_by_the_timeout() -> None:
    """The same-name lookups' own retries end by the create's timeout, not the 300 s deadline."""
    fake, clock = FakeRender(), FakeClock()
    fake.fail("POST", KV, Fault(504))
    fake.fail("GET", KV, Fault(), *[Fault(503)] * 500)  # the snapshot passes, then only 503s
    start = clock()
    with pytest.raises(AmbiguousCreateError):
        make_client(fake, clock).create_key_value(post_body(), timeout=20)
    assert clock() - start <= 20.0 + 1e-9


def test_conflict_on_patch_is_not_retried() -> None:
    """409 is final for PATCH."""
    fake = FakeRender()
    kv = fake.seed()
    fake.fail("PATCH", kv_path(kv["id"]), Fault(409))
    with pytest.raises(ConflictError, match="409 Conflict: scripted 409"):
        make_client(fake).update_key_value(kv["id"], KeyValuePATCHInput(plan="pro"))
