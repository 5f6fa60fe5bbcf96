"""Waiting for `available`: the poll schedule, its pacing, deadline and failure statuses.

All on fake clocks: one for a single wait, and a virtual clock for many waits in threads
(time moves only when every thread sleeps), so no test sleeps.
"""

from __future__ import annotations

import bisect
import heapq
import itertools
import math
import threading
from collections.abc import Callable
from dataclasses import dataclass

import httpx
import pytest

from pulumi_render_kv.client import ClientLimits, RenderClient, RenderSettings
from pulumi_render_kv.core._wait import (
    FIRST_GAP,
    GROWTH,
    MAX_GAP,
    PollPacer,
    poll_gap,
    wait_until_available,
)
from pulumi_render_kv.errors import InstanceFailed, RenderTimeoutError, WaitTimedOut


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
    """unknown → creating → available: 0.75 s, then 5 % of the time waited more each time."""
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
    assert t.sleeps == pytest.approx([0.75, 0.7875, 0.826875, 0.86821875])
    assert progress == [
        "kv is 'unknown'; waiting for 'available'",
        "kv is 'creating'; waiting for 'available'",
    ]


def test_gap_is_capped() -> None:
    """A create that takes an hour is read once a minute at most, not once every three."""
    t = FakeTime()
    seen = iter(statuses(*["creating"] * 120, "available"))
    wait_until_available(
        lambda _: next(seen), timeout=10_000, what="kv", clock=t.clock, sleep=t.sleep
    )
    assert max(t.sleeps) == MAX_GAP
    assert t.sleeps[-1] == MAX_GAP


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
    assert len(t.sleeps) == 3
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


# --- the schedule: how late an instance is seen, and how many reads it costs -------------------


def seen_after(delay: float, *, pacer: PollPacer | None = None) -> tuple[float, int]:
    """One wait for an instance that is ready ``delay`` s in: (when it was seen, reads)."""
    t = FakeTime()
    reads = [0]

    def fetch(_left: float) -> Snapshot:
        reads[0] += 1
        return Snapshot("red-a", "available" if t.now >= delay else "creating")

    wait_until_available(fetch, timeout=3600, what="kv", clock=t.clock, sleep=t.sleep, pacer=pacer)
    return t.now, reads[0]


# D = 2, 10, 30, 31 and 120 s (issue 16's readiness cases; 31 s lies just past a poll of the
# old doubling schedule, which saw it at 45.5 s): when the wait sees it, and its reads.
READINESS = {2.0: (2.36, 4), 10.0: (10.66, 12), 30.0: (31.07, 24), 31.0: (31.07, 24)}
READINESS[120.0] = (126.51, 47)


@pytest.mark.parametrize("delay", sorted(READINESS))
def test_an_instance_is_seen_within_five_percent_and_a_second(delay: float) -> None:
    seen, reads = seen_after(delay)
    expected_seen, expected_reads = READINESS[delay]
    assert seen == pytest.approx(expected_seen, abs=0.01)
    assert reads == expected_reads
    # The target is for the whole create: the wait leaves 0.25 s of it to the requests around.
    assert seen <= 1.05 * delay + 1.0 - 0.25


def test_the_overshoot_bound_holds_for_every_delay() -> None:
    """By construction: seen by D + FIRST_GAP + GROWTH x D, from 10 ms to 20 minutes."""
    for centi in itertools.chain(range(1, 1000), range(1000, 120_000, 97)):
        delay = centi / 100
        seen, _ = seen_after(delay)
        assert delay <= seen <= delay + FIRST_GAP + GROWTH * delay + 1e-9, delay


def test_reads_grow_like_log_of_the_delay() -> None:
    """log(1 + D x GROWTH / FIRST_GAP) / log(1 + GROWTH) reads, give or take one: a create ten
    times longer costs about twice the reads, not ten times (before the one-minute cap)."""
    reads = {d: seen_after(d)[1] for d in (10.0, 100.0, 1000.0)}
    predicted = {d: 1 + math.log(1 + d * GROWTH / FIRST_GAP) / math.log(1 + GROWTH) for d in reads}
    for d, count in reads.items():
        assert abs(count - predicted[d]) <= 1.5, (d, count, predicted[d])
    assert reads[1000.0] < 2.5 * reads[100.0] < 10 * reads[10.0]
    assert reads[1000.0] < 100


def test_a_slow_read_does_not_push_the_schedule_back() -> None:
    """Each read is timed from the start of the one before, so its latency is not added."""
    t = FakeTime()
    started: list[float] = []

    def fetch(_left: float) -> Snapshot:
        started.append(t.now)
        t.now += 0.3  # the read itself takes 0.3 s
        return Snapshot("red-a", "available" if len(started) == 4 else "creating")

    wait_until_available(fetch, timeout=60, what="kv", clock=t.clock, sleep=t.sleep)
    expected = [0.0]
    for _ in range(3):
        expected.append(expected[-1] + poll_gap(expected[-1]))
    assert started == pytest.approx(expected)


# --- many waits at once: the pacer keeps them under Render's read limit ------------------------


def test_the_pacer_lets_a_burst_go_then_spaces_reads() -> None:
    pacer = PollPacer(5.0, burst=3)
    assert [pacer.slot(0.0) for _ in range(5)] == pytest.approx([0.0, 0.0, 0.0, 0.2, 0.4])
    # Idle time refills the bucket, up to the burst and no further.
    assert [pacer.slot(10.0) for _ in range(4)] == pytest.approx([10.0, 10.0, 10.0, 10.2])


def test_the_pacer_takes_three_quarters_of_the_read_limit() -> None:
    assert PollPacer.for_read_limit(400, 60.0).per_second == pytest.approx(5.0)


class VirtualTime:
    """A clock shared by threads: it moves only while every thread sleeps, to the next wake.

    So threads run as if each sleep took its time, in order, and a test never sleeps.
    """

    def __init__(self) -> None:
        self.now = 0.0
        self._cond = threading.Condition()
        self._awake = 0
        self._sleepers: list[tuple[float, int]] = []
        self._released: set[int] = set()
        self._order = itertools.count()

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        with self._cond:
            token = next(self._order)
            heapq.heappush(self._sleepers, (self.now + max(0.0, seconds), token))
            self._awake -= 1
            self._advance()
            while token not in self._released:
                self._cond.wait()
            self._released.discard(token)

    def _advance(self) -> None:
        if self._awake == 0 and self._sleepers:
            wake, token = heapq.heappop(self._sleepers)
            self.now = max(self.now, wake)
            self._released.add(token)
            self._awake += 1
            self._cond.notify_all()

    def run(self, jobs: list[Callable[[], object]]) -> list[BaseException]:
        """Run each job in its own thread until all are done; the exceptions they raised."""
        failures: list[BaseException] = []
        self._awake = len(jobs)

        def body(job: Callable[[], object]) -> None:
            try:
                job()
            except BaseException as err:  # reported to the test, which fails on any
                failures.append(err)
            finally:
                with self._cond:
                    self._awake -= 1
                    self._advance()

        threads = [threading.Thread(target=body, args=(job,)) for job in jobs]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
        assert not any(thread.is_alive() for thread in threads), "a waiting thread hung"
        return failures


def most_in_a_window(times: list[float], window: float) -> int:
    ordered = sorted(times)
    return max(bisect.bisect_left(ordered, start + window) - i for i, start in enumerate(ordered))


IN_FLIGHT = 50
READ_LIMIT = 400  # Render: GETs per minute


def key_value_json(kv_id: str, status: str) -> dict[str, object]:
    """The detail a status read answers, as Render shapes it."""
    owner = {"id": "tea-d8k3stdodlmc73btr2q0", "name": "W", "email": "w@x.y", "type": "team"}
    return {
        "id": kv_id,
        "name": kv_id,
        "plan": "starter",
        "region": "oregon",
        "status": status,
        "owner": owner,
        "options": {"maxmemoryPolicy": "allkeys_lru", "persistenceMode": "off"},
        "ipAllowList": None,
        "version": "8.1.4",
        "createdAt": "2026-06-09T16:25:25.48944232Z",
        "updatedAt": "2026-06-09T16:25:25.489442Z",
    }


def fifty_waits(
    pacer: PollPacer | None, client_limits: ClientLimits
) -> tuple[list[float], dict[str, float], list[float]]:
    """50 waits at once through one client: (request times, when each saw its instance,
    the client limiter's sleeps). Instance i is ready 30 + 2 i seconds in."""
    vt = VirtualTime()
    sent: list[float] = []
    ready_at = {f"red-{i:020d}": 30.0 + 2 * i for i in range(IN_FLIGHT)}

    def render(request: httpx.Request) -> httpx.Response:
        sent.append(vt.now)
        kv_id = request.url.path.rsplit("/", 1)[-1]
        status = "available" if vt.now >= ready_at[kv_id] else "creating"
        return httpx.Response(200, json=key_value_json(kv_id, status))

    limiter_sleeps: list[float] = []

    def client_sleep(seconds: float) -> None:
        limiter_sleeps.append(seconds)
        vt.sleep(seconds)

    settings = RenderSettings.resolve(
        api_key="rnd_k", base_url="https://api.test/v1", limits=client_limits, environ={}
    )
    client = RenderClient(
        settings,
        transport=httpx.MockTransport(render),
        clock=vt.clock,
        sleep=client_sleep,
        rng=lambda: 0.5,
    )
    seen: dict[str, float] = {}

    def one_wait(kv_id: str) -> Callable[[], object]:
        def job() -> None:
            wait_until_available(
                lambda left: client.retrieve_key_value(kv_id, timeout=left),
                timeout=1800,
                what=kv_id,
                clock=vt.clock,
                sleep=vt.sleep,
                pacer=pacer,
            )
            seen[kv_id] = vt.now - ready_at[kv_id]

        return job

    failures = vt.run([one_wait(kv_id) for kv_id in ready_at])
    client.close()
    assert failures == []
    return sent, seen, limiter_sleeps


def test_fifty_waits_in_flight_stay_under_the_read_limit_without_the_limiter_stepping_in() -> None:
    """Arithmetic: 50 waits each reading every ~1 s would be ~3000 GET/min, Render allows 400.

    Paced at 3/4 of the limit (5 reads/s, bursts of 10), any minute holds at most 310 of their
    reads: the client's own limiter (which would let 400 through, then stall every read for
    the rest of its window) never has to hold one back, and each instance is still seen
    within 50 / 5 s of the schedule (one read of every other wait ahead of it).
    """
    pacer = PollPacer.for_read_limit(READ_LIMIT, 60.0)
    sent, seen, limiter_sleeps = fifty_waits(pacer, ClientLimits())
    assert most_in_a_window(sent, 60.0) <= 0.75 * READ_LIMIT + 10
    assert limiter_sleeps == []
    assert len(seen) == IN_FLIGHT
    for late in seen.values():
        assert 0 <= late <= poll_gap(130.0) + IN_FLIGHT / pacer.per_second


def test_without_the_pacer_fifty_waits_would_lean_on_the_limiter() -> None:
    """Why the pacer: unpaced, the same waits hit the limiter's wall (and with limits off,
    exceed Render's limit many times over, which Render answers with 429s)."""
    _, _, limiter_sleeps = fifty_waits(None, ClientLimits())
    assert limiter_sleeps, "the limiter should have had to hold reads back"
    sent, _, _ = fifty_waits(None, ClientLimits.off())
    assert most_in_a_window(sent, 60.0) > 3 * READ_LIMIT
