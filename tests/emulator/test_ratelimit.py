"""Render's rate-limit buckets, windows and headers (pure, then over in-process HTTP)."""

from __future__ import annotations

import httpx
import pytest

from pulumi_render_kv.emulator import RateLimitSettings
from pulumi_render_kv.emulator.ratelimit import Bucket, RateLimitWindows, bucket_for

from .conftest import create, make_client, make_emulator
from .fakes import FakeClock, FakeDataPlane

# 2026-06-09T16:25:25Z, as in Render's recordings.
T0 = 1_781_022_325.0


class WallClock:
    def __init__(self, now: float = T0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.mark.parametrize(
    ("method", "path", "bucket"),
    [
        ("GET", "/v1/key-value", Bucket.GET),
        ("GET", "/v1/key-value/red-x/connection-info", Bucket.GET),
        ("POST", "/v1/key-value", Bucket.CREATE),
        ("POST", "/v1/redis", Bucket.CREATE),
        ("POST", "/v1/key-value/red-x/suspend", Bucket.WRITE),
        ("PATCH", "/v1/key-value/red-x", Bucket.WRITE),
        ("DELETE", "/v1/redis/red-x", Bucket.WRITE),
        ("POST", "/v1/environments/evm-x/resources", Bucket.WRITE),
    ],
)
def test_requests_fall_into_renders_buckets(method: str, path: str, bucket: Bucket) -> None:
    """GETs read, creates (both paths) create, every other write write."""
    assert bucket_for(method, path) is bucket


def test_default_limits_are_renders_documented_ones() -> None:
    """400 GET/min, 30 writes/min, 20 creates/hour."""
    settings = RateLimitSettings()
    assert settings.limit_and_window(Bucket.GET) == (400, 60)
    assert settings.limit_and_window(Bucket.WRITE) == (30, 60)
    assert settings.limit_and_window(Bucket.CREATE) == (20, 3600)


def test_limits_must_be_positive() -> None:
    """A zero limit would refuse everything; use unlimited() to lift limits instead."""
    with pytest.raises(ValueError, match="write_per_minute must be >= 1"):
        RateLimitSettings(write_per_minute=0)


def test_remaining_counts_down_and_reset_is_seconds_to_the_full_minute() -> None:
    """Windows are aligned to the wall clock: at :25 s, 35 s are left in the minute."""
    limiter = RateLimitWindows(RateLimitSettings(get_per_minute=3), WallClock())
    first = limiter.hit("key", "GET", "/v1/key-value")
    second = limiter.hit("key", "GET", "/v1/key-value")
    assert (first.allowed, first.limit, first.remaining, first.reset) == (True, 3, 2, 35)
    assert second.remaining == 1


def test_create_window_ends_on_the_full_hour() -> None:
    """At 16:25:25 the create bucket resets at 17:00:00, 2075 s later."""
    limiter = RateLimitWindows(RateLimitSettings(), WallClock())
    assert limiter.hit("key", "POST", "/v1/key-value").reset == 2075


def test_exceeding_the_limit_refuses_with_retry_after_until_the_window_ends() -> None:
    """Once the limit is used, requests are refused with Remaining 0 and Retry-After = Reset."""
    clock = WallClock()
    limiter = RateLimitWindows(RateLimitSettings(write_per_minute=2), clock)
    limiter.hit("key", "PATCH", "/v1/key-value/red-x")
    limiter.hit("key", "PATCH", "/v1/key-value/red-x")
    refused = limiter.hit("key", "DELETE", "/v1/key-value/red-x")
    assert not refused.allowed
    assert refused.headers() == {
        "Ratelimit-Limit": "2",
        "Ratelimit-Remaining": "0",
        "Ratelimit-Reset": "35",
        "Retry-After": "35",
    }
    clock.now += 35
    assert limiter.hit("key", "DELETE", "/v1/key-value/red-x").allowed


def test_buckets_and_api_keys_are_counted_separately() -> None:
    """A full write bucket does not block GETs, nor another user's writes."""
    limiter = RateLimitWindows(RateLimitSettings(write_per_minute=1), WallClock())
    limiter.hit("alice", "PATCH", "/v1/key-value/red-x")
    assert not limiter.hit("alice", "PATCH", "/v1/key-value/red-x").allowed
    assert limiter.hit("alice", "GET", "/v1/key-value").allowed
    assert limiter.hit("bob", "PATCH", "/v1/key-value/red-x").allowed


def test_peek_does_not_count() -> None:
    """peek() reports the headers without using quota."""
    limiter = RateLimitWindows(RateLimitSettings(get_per_minute=5), WallClock())
    assert limiter.peek("key", "GET", "/v1/owners").remaining == 5
    assert limiter.hit("key", "GET", "/v1/owners").remaining == 4


def test_every_response_carries_ratelimit_headers(clock: FakeClock) -> None:
    """Success, 404 and 401 answers all carry Ratelimit-Limit/Remaining/Reset."""
    emu = make_emulator(clock, None, rate_limits=RateLimitSettings())
    with make_client(emu) as client, make_client(emu, api_key=None) as anonymous:
        responses = [
            client.get("/key-value"),
            client.get("/key-value/red-aaaaaaaaaaaaaaaaaaaa"),
            anonymous.get("/key-value"),
        ]
    for response in responses:
        assert response.headers["Ratelimit-Limit"] == "400"
        assert 0 < int(response.headers["Ratelimit-Reset"]) <= 60
    assert [r.headers["Ratelimit-Remaining"] for r in responses[:2]] == ["399", "398"]


def test_creates_through_both_paths_share_one_hourly_bucket(clock: FakeClock) -> None:
    """POST /key-value and POST /redis use the same 20/hour bucket; the 21st gets 429."""
    emu = make_emulator(clock, FakeDataPlane(), rate_limits=RateLimitSettings(create_per_hour=2))
    with make_client(emu) as client:
        create(client, emu.owner_id, name="one")
        second = client.post(
            "/redis", json={"name": "two", "ownerId": emu.owner_id, "plan": "starter"}
        )
        third = client.post(
            "/key-value", json={"name": "three", "ownerId": emu.owner_id, "plan": "starter"}
        )
    assert second.status_code == 201
    assert second.headers["Ratelimit-Remaining"] == "0"
    assert third.status_code == 429
    assert third.json() == {"message": "rate limit exceeded"}
    assert third.headers["Ratelimit-Limit"] == "2"
    assert third.headers["Ratelimit-Remaining"] == "0"
    assert third.headers["Retry-After"] == third.headers["Ratelimit-Reset"]
    assert 0 < int(third.headers["Retry-After"]) <= 3600
    assert len(emu.backend.instance_ids()) == 2


def test_refused_writes_recover_when_the_clock_passes_the_window(clock: FakeClock) -> None:
    """After Retry-After seconds the same request succeeds."""
    emu = make_emulator(clock, None, rate_limits=RateLimitSettings(write_per_minute=1))
    with make_client(emu) as client:
        first = client.delete("/key-value/red-aaaaaaaaaaaaaaaaaaaa")
        refused = client.delete("/key-value/red-aaaaaaaaaaaaaaaaaaaa")
        clock.advance(int(refused.headers["Retry-After"]))
        later = client.delete("/key-value/red-aaaaaaaaaaaaaaaaaaaa")
    assert (first.status_code, refused.status_code, later.status_code) == (404, 429, 404)


def test_control_plane_is_not_rate_limited(clock: FakeClock) -> None:
    """/_emulator requests neither count nor carry rate-limit headers."""
    emu = make_emulator(clock, None, rate_limits=RateLimitSettings(get_per_minute=1))
    with httpx.Client(
        transport=httpx.WSGITransport(app=emu.wsgi_app), base_url="http://emulator.test"
    ) as raw:
        for _ in range(3):
            response = raw.get("/_emulator/health")
            assert response.status_code == 200
            assert "Ratelimit-Limit" not in response.headers
