"""Waiting for `available`: backoff, deadline and failure statuses, on a fake clock."""

from __future__ import annotations

from dataclasses import dataclass

import httpx
import pytest

from pulumi_render_kv.client import ClientLimits, RenderClient, RenderSettings
from pulumi_render_kv.errors import InstanceFailed, RenderTimeoutError, WaitTimedOut
from pulumi_render_kv.provider._wait import MAX_DELAY, wait_until_available


@dataclass
class Snapshot:
    id: str
    status: str


class FakeTime:
    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def statuses(*values: str) -> list[Snapshot]:
    return [Snapshot("red-aaaaaaaaaaaaaaaaaaaa", v) for v in values]


def test_returns_at_once_when_available() -> None:
    """An available instance costs one read and no sleep."""
    t = FakeTime()
    seen = iter(statuses("available"))
    assert (
        wait_until_available(
            lambda _: next(seen), timeout=10, what="kv", clock=t.clock, sleep=t.sleep
        ).status
        == "available"
    )
    assert t.sleeps == []


def test_polls_through_transient_statuses_with_growing_delays() -> None:
    """unknown → creating → available, backing off between reads."""
    t = FakeTime()
    seen = iter(statuses("unknown", "creating", "creating", "creating", "available"))
    progress: list[str] = []
    wait_until_available(
        lambda _: next(seen),
        timeout=100,
        what="kv",
        clock=t.clock,
        sleep=t.sleep,
        progress=progress.append,
    )
    assert t.sleeps == [0.5, 1.0, 2.0, 4.0]
    assert progress == [
        "kv is 'unknown'; waiting for 'available'",
        "kv is 'creating'; waiting for 'available'",
    ]


def test_delay_is_capped() -> None:
    """Backoff never exceeds the cap."""
    t = FakeTime()
    seen = iter(statuses(*["creating"] * 12, "available"))
    wait_until_available(
        lambda _: next(seen), timeout=10_000, what="kv", clock=t.clock, sleep=t.sleep
    )
    assert max(t.sleeps) == MAX_DELAY


def test_deadline_names_last_status_and_dashboard() -> None:
    """A timeout says what the instance was doing and where to look."""
    t = FakeTime()
    with pytest.raises(WaitTimedOut) as caught:
        wait_until_available(
            lambda _: Snapshot("red-bbbbbbbbbbbbbbbbbbbb", "config_restart"),
            timeout=5,
            what="Key Value 'q'",
            clock=t.clock,
            sleep=t.sleep,
        )
    message = str(caught.value)
    assert "still 'config_restart' after 5 s" in message
    assert "https://dashboard.render.com/r/red-bbbbbbbbbbbbbbbbbbbb" in message
    assert t.now <= 5.0


def test_suspended_fails_without_waiting() -> None:
    """A suspended instance will not become available by waiting."""
    t = FakeTime()
    with pytest.raises(InstanceFailed, match=r"'suspended'.*suspended=False resumes it"):
        wait_until_available(
            lambda _: Snapshot("red-c", "suspended"),
            timeout=100,
            what="kv",
            clock=t.clock,
            sleep=t.sleep,
        )
    assert t.sleeps == []


def test_after_a_resume_suspended_is_polled_through_until_available() -> None:
    """Render's resume is asynchronous: reads right after its 202 may still say suspended."""
    t = FakeTime()
    seen = iter(statuses("suspended", "suspended", "unavailable", "available"))
    progress: list[str] = []
    result = wait_until_available(
        lambda _: next(seen),
        timeout=100,
        what="kv",
        clock=t.clock,
        sleep=t.sleep,
        progress=progress.append,
        transitional=frozenset({"suspended"}),
    )
    assert result.status == "available"
    assert t.sleeps == [0.5, 1.0, 2.0]
    assert progress == [
        "kv is 'suspended'; waiting for 'available'",
        "kv is 'unavailable'; waiting for 'available'",
    ]


def test_a_resume_that_never_starts_times_out_at_the_deadline() -> None:
    """Transitional for this wait only until its deadline: then the usual timeout."""
    t = FakeTime()
    with pytest.raises(WaitTimedOut, match=r"still 'suspended' after 10 s \(wait_timeout\)"):
        wait_until_available(
            lambda _: Snapshot("red-c", "suspended"),
            timeout=10,
            what="kv",
            clock=t.clock,
            sleep=t.sleep,
            transitional=frozenset({"suspended"}),
        )
    assert t.now == 10.0


def test_transitional_statuses_are_per_wait() -> None:
    """Only the statuses named: recovery_failed still fails at once after a resume."""
    t = FakeTime()
    with pytest.raises(InstanceFailed, match="'recovery_failed'"):
        wait_until_available(
            lambda _: Snapshot("red-c", "recovery_failed"),
            timeout=100,
            what="kv",
            clock=t.clock,
            sleep=t.sleep,
            transitional=frozenset({"suspended"}),
        )
    assert t.sleeps == []


def test_waiting_for_a_suspension_polls_until_suspended() -> None:
    """After a suspend, ``suspended`` is the goal and an ``available`` read is waited out."""
    t = FakeTime()
    seen = iter(statuses("available", "available", "suspended"))
    result = wait_until_available(
        lambda _: next(seen),
        timeout=100,
        what="kv",
        clock=t.clock,
        sleep=t.sleep,
        target="suspended",
    )
    assert result.status == "suspended"
    assert len(t.sleeps) == 2


def test_a_suspension_that_never_shows_times_out_naming_the_goal() -> None:
    t = FakeTime()
    with pytest.raises(
        WaitTimedOut, match=r"still 'available' after 10 s .* may still become suspended"
    ):
        wait_until_available(
            lambda _: Snapshot("red-c", "available"),
            timeout=10,
            what="kv",
            clock=t.clock,
            sleep=t.sleep,
            target="suspended",
        )


class SlowReads:
    """Render whose status reads each take a full read timeout, then time out."""

    def __init__(self, t: FakeTime, read_timeout: float) -> None:
        self.t, self.read_timeout, self.requests = t, read_timeout, 0

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests += 1
        self.t.now += self.read_timeout
        raise httpx.ReadTimeout("scripted slow read", request=request)


def test_wait_timeout_is_a_deadline_for_the_reads_inside_it() -> None:
    """wait_timeout=5 with reads that time out after 60 s: over by 5 s + one read, not 312 s."""
    t = FakeTime()
    slow = SlowReads(t, read_timeout=60.0)
    settings = RenderSettings.resolve(
        api_key="rnd_k", base_url="https://api.test/v1", limits=ClientLimits.off(), environ={}
    )
    client = RenderClient(
        settings,
        transport=httpx.MockTransport(slow),
        clock=t.clock,
        sleep=t.sleep,
        rng=lambda: 0.5,
    )
    with pytest.raises(WaitTimedOut) as caught:
        wait_until_available(
            lambda left: client.retrieve_key_value("red-slow", timeout=left),
            timeout=5,
            what="Key Value 'cache' (red-slow)",
            dashboard="https://dashboard.render.com/r/red-slow",
            clock=t.clock,
            sleep=t.sleep,
        )
    assert t.now <= 5 + 60
    assert slow.requests == 1
    message = str(caught.value)
    assert "was not confirmed after 5 s (wait_timeout)" in message
    assert "the last status read failed" in message
    assert "https://dashboard.render.com/r/red-slow" in message


def test_a_transient_status_read_failure_is_polled_past() -> None:
    """One failed read while time is left is not the end of the wait."""
    t = FakeTime()
    answers: list[Snapshot | Exception] = [
        Snapshot("red-a", "creating"),
        RenderTimeoutError(method="GET", path="/key-value/red-a", cause="slow", maybe_sent=True),
        Snapshot("red-a", "available"),
    ]

    def fetch(_left: float) -> Snapshot:
        answer = answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer

    assert (
        wait_until_available(fetch, timeout=60, what="kv", clock=t.clock, sleep=t.sleep).status
        == "available"
    )
