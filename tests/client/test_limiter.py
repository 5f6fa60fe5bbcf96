"""The client-side limiter keeps bursts under Render's limits, on a fake clock."""

from __future__ import annotations

import threading

import httpx
import pytest

from pulumi_render_kv.client import (
    ClientLimits,
    ClientRateLimitedError,
    KeyValuePATCHInput,
    KeyValuePOSTInput,
    Rate,
    RetryPolicy,
)
from pulumi_render_kv.client._limiter import LimitExceeded, RateLimiter

from ._fakes import OWNER_ID, FakeClock, FakeRender, make_client


def assert_within(times: list[float], rate: Rate) -> None:
    """No window of ``rate.period`` seconds holds more than ``rate.count`` of ``times``."""
    ordered = sorted(times)
    for i in range(rate.count, len(ordered)):
        assert ordered[i] - ordered[i - rate.count] >= rate.period, (
            i,
            ordered[i - rate.count : i + 1],
        )


class StampingRender(FakeRender):
    """Records the fake-clock time of every request it receives, per method."""

    def __init__(self, clock: FakeClock) -> None:
        super().__init__()
        self.clock = clock
        self.stamps: dict[str, list[float]] = {}

    def __call__(self, request: httpx.Request) -> httpx.Response:
        key = (
            "CREATE"
            if (request.method, request.url.path) == ("POST", "/v1/key-value")
            else request.method
        )
        self.stamps.setdefault(key, []).append(self.clock())
        return super().__call__(request)


def test_get_burst_stays_within_400_per_minute() -> None:
    """1000 GETs in a burst are paced to at most 400 in any minute, waiting on the fake clock."""
    clock = FakeClock()
    fake = StampingRender(clock)
    kv = fake.seed()
    client = make_client(fake, clock, limits=ClientLimits())
    for _ in range(1000):
        client.retrieve_key_value(kv["id"])
    assert_within(fake.stamps["GET"], Rate(400, 60))
    assert fake.stamps["GET"][399] == 1000.0
    assert fake.stamps["GET"][400] == 1060.0  # the 401st waits for the first to leave the window
    assert clock.now == 1120.0


def test_write_burst_stays_within_30_per_minute() -> None:
    """PATCHes and DELETEs share the 30/minute write budget."""
    clock = FakeClock()
    fake = StampingRender(clock)
    kv = fake.seed()
    client = make_client(fake, clock, limits=ClientLimits())
    for i in range(70):
        client.update_key_value(kv["id"], KeyValuePATCHInput(name=f"n{i}"))
    assert_within(fake.stamps["PATCH"], Rate(30, 60))
    assert clock.now == 1120.0


def test_create_burst_stays_within_20_per_hour_when_deadline_allows() -> None:
    """With a long enough deadline, creates wait for a slot: at most 20 in any hour."""
    clock = FakeClock()
    fake = StampingRender(clock)
    retry = RetryPolicy(deadline=4 * 3600)
    client = make_client(fake, clock, limits=ClientLimits(), retry=retry)
    for i in range(45):
        client.create_key_value(KeyValuePOSTInput(name=f"kv{i}", owner_id=OWNER_ID, plan="free"))
    assert_within(fake.stamps["CREATE"], Rate(20, 3600))
    assert len(fake.instances) == 45
    assert fake.stamps["CREATE"][20] >= 1000.0 + 3600


def test_create_fails_fast_when_slot_is_past_the_deadline() -> None:
    """The 21st create within the hour fails at once, saying when a slot frees up."""
    clock = FakeClock()
    fake = StampingRender(clock)
    client = make_client(fake, clock, limits=ClientLimits())
    for i in range(20):
        client.create_key_value(KeyValuePOSTInput(name=f"kv{i}", owner_id=OWNER_ID, plan="free"))
        clock.advance(60)
    sleeps_before = list(clock.sleeps)
    with pytest.raises(ClientRateLimitedError) as info:
        client.create_key_value(KeyValuePOSTInput(name="one-more", owner_id=OWNER_ID, plan="free"))
    assert clock.sleeps == sleeps_before  # failed without waiting
    assert fake.calls("POST") == 20
    # the first create (t=1000) leaves the window at 4600; now is 1000 + 20*60 = 2200
    assert info.value.retry_after == pytest.approx(2400.0)
    assert str(info.value) == (
        "Render API call POST /key-value was not sent: the client-side create limit of 20/h is "
        "used up and the next slot frees up in 2400 s, after the 300 s retry deadline. Wait and "
        "run again, or set RENDER_API_CLIENT_LIMITS if your Render account has higher limits."
    )


def test_creates_also_use_the_write_budget() -> None:
    """A create counts against both the create and the write bucket (conservative)."""
    clock = FakeClock()
    limiter = RateLimiter(ClientLimits(), clock=clock, sleep=clock.sleep)
    limiter.acquire(("create", "write"))
    assert (limiter.in_window("create"), limiter.in_window("write"), limiter.in_window("get")) == (
        1,
        1,
        0,
    )


def test_limits_off_never_waits() -> None:
    """ClientLimits.off() sends bursts without any wait."""
    clock = FakeClock()
    fake = StampingRender(clock)
    kv = fake.seed()
    client = make_client(fake, clock, limits=ClientLimits.off())
    for _ in range(500):
        client.retrieve_key_value(kv["id"])
    assert clock.sleeps == []


def test_acquire_reports_exceeded_without_sleeping() -> None:
    """acquire() returns LimitExceeded instead of sleeping past the deadline."""
    clock = FakeClock()
    limiter = RateLimiter(ClientLimits(get=Rate(2, 10)), clock=clock, sleep=clock.sleep)
    assert limiter.acquire(("get",)) == 1000.0
    clock.advance(4)
    assert limiter.acquire(("get",)) == 1004.0
    result = limiter.acquire(("get",), deadline=1005.0)
    assert result == LimitExceeded(bucket="get", rate=Rate(2, 10), wait=6.0)
    assert clock.sleeps == []
    assert limiter.acquire(("get",), deadline=1100.0) == 1010.0
    assert clock.sleeps == [6.0]


def test_limiter_is_thread_safe() -> None:
    """Four threads hammering one limiter never exceed the limit in any window."""
    clock = FakeClock()
    rate = Rate(20, 60)
    limiter = RateLimiter(ClientLimits(get=rate), clock=clock, sleep=clock.sleep)
    stamps: list[float] = []
    lock = threading.Lock()

    def worker() -> None:
        for _ in range(50):
            taken = limiter.acquire(("get",))
            assert isinstance(taken, float)
            with lock:
                stamps.append(taken)

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(stamps) == 200
    assert_within(stamps, rate)
