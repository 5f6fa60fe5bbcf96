"""Waiting for an instance to become available, with a deadline and a growing poll gap.

Render's Key Value API never says "ready" by itself: a create answers ``unknown`` or
``creating``, a plan/policy/persistence change restarts the instance, and a resume is
asynchronous (its 202 comes while reads still say ``suspended``). Python dynamic
providers receive no ``customTimeouts`` from the engine, so the deadline is the resource's
own ``wait_timeout``. Clock and sleep are injected so tests never sleep.

The schedule: a status read at once, then each next one ``FIRST_GAP`` + ``GROWTH`` x the
time waited so far after the previous one started (at most ``MAX_GAP``). An instance that is
ready after D seconds is therefore seen by D + 0.75 s + 5 % of D, and the reads number about
log(1 + D / 15 s) / log(1.05): 4 for D = 2 s, 12 for 10 s, 47 for 120 s, 86 for 900 s. The
doubling gaps used before (0.5 s to 15 s) saw an instance up to twice as late (D = 10 s at
15.5 s) and, capped, grew linearly for long creates. The additive 0.75 s (not 1 s) leaves a
quarter of a second of the ``1.05 x D + 1 s`` target for the requests around the wait (the
same-name list, the POST, the connection-info read, each read's own latency).

Many waits at once (Pulumi's ``--parallel``, or many instances in one program) share a
:class:`PollPacer`: their reads together stay at ``POLL_SHARE`` of the client's read limit
(Render: 400 GET/min), spread evenly instead of bursting into the client's limiter, which
would then stall every read (connection info, refreshes) until its window slides.
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Callable, Collection
from typing import TYPE_CHECKING, Protocol, TypeVar

from pulumi_render_kv import catalog
from pulumi_render_kv.errors import InstanceFailed, WaitTimedOut

if TYPE_CHECKING:
    from pulumi_render_kv.client import RenderError

# The gap before the next status read: FIRST_GAP + GROWTH x the seconds waited so far.
FIRST_GAP = 0.75
GROWTH = 0.05
MAX_GAP = 60.0  # reached after about 20 minutes: then one read a minute
# The share of the read limit that status polls may take together; the rest is for the reads
# around them (same-name lists, connection info, refreshes of other resources).
POLL_SHARE = 0.75
POLL_BURST = 10  # reads the pacer lets go at once (waits that start together)


def poll_gap(waited: float) -> float:
    """Seconds from one status read to the next, ``waited`` seconds into the wait."""
    return min(MAX_GAP, FIRST_GAP + GROWTH * waited)


class PollPacer:
    """Status reads of every wait sharing it, at most ``per_second`` on average.

    A token bucket in the GCRA form: ``burst`` reads may go at once, and over any ``W`` seconds
    at most ``burst + W x per_second`` go. Thread-safe; the clock is the caller's (``now``), so
    tests drive it with a fake one.
    """

    def __init__(self, per_second: float, *, burst: int = POLL_BURST) -> None:
        if per_second <= 0 or burst < 1:
            raise ValueError(
                f"a pacer needs per_second > 0 and burst >= 1, got {per_second}/{burst}"
            )
        self.per_second = per_second
        self._interval = 1.0 / per_second
        self._burst_span = (burst - 1) * self._interval
        self._lock = threading.Lock()
        self._theoretical: float | None = None  # when the bucket would be full again

    @classmethod
    def for_read_limit(cls, count: int, period: float) -> PollPacer:
        """The pacer for a client allowed ``count`` reads per ``period`` seconds."""
        return cls(POLL_SHARE * count / period)

    def slot(self, now: float) -> float:
        """Reserve the next read: the clock time (>= ``now``) at which it may go."""
        with self._lock:
            theoretical = now if self._theoretical is None else max(self._theoretical, now)
            start = max(now, theoretical - self._burst_span)
            self._theoretical = theoretical + self._interval
            return start


class HasStatus(Protocol):
    @property
    def id(self) -> str: ...
    @property
    def status(self) -> str: ...


_T = TypeVar("_T", bound=HasStatus)


def wait_until_available(
    fetch: Callable[[float], _T],
    *,
    timeout: float,
    what: str,
    dashboard: str = "https://dashboard.render.com",
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
    progress: Callable[[str], None] | None = None,
    target: str = "available",
    transitional: Collection[str] = (),
    pacer: PollPacer | None = None,
) -> _T:
    """Poll ``fetch`` until the instance is ``target``; raise with the last status if not.

    ``target`` is ``available`` (any of ``catalog.READY_STATUSES``) or ``suspended``, after a
    suspend: then ``suspended`` is what is waited for rather than a failure.

    ``transitional`` names failure statuses that this wait polls through until its deadline
    instead of failing at once: after a resume, ``suspended`` (the resume has not started
    yet). Elsewhere (a create, a restarting update) ``suspended`` fails fast with its hint.

    ``dashboard`` is where to look until a read names the instance. ``fetch`` gets the
    seconds left and must end by then (plus at most one request timeout):
    the client cuts its retries to it, so the wait as a whole ends by its deadline. A status
    read that fails transiently is retried on the next poll while time is left.

    Reads follow :func:`poll_gap`, each timed from the start of the one before (a slow read
    does not push the schedule back); ``pacer``, shared by the waits of one client, may
    hold a read back so that all of them together stay under the read limit.
    """
    # Imported by the first wait, not with the module: check and diff need no client (issue 16).
    from pulumi_render_kv.client import (  # noqa: PLC0415
        RateLimitedError,
        RenderError,
        RenderTransportError,
        ServerError,
    )

    ready = catalog.READY_STATUSES if target == "available" else frozenset({target})
    hopeless = catalog.FAILED_STATUSES - ready - frozenset(transitional)
    started = clock()
    deadline = started + timeout
    last_reported = ""
    last_status: str | None = None
    last_error: RenderError | None = None
    while True:
        if pacer is not None:
            _sleep_until(pacer.slot(clock()), deadline, clock, sleep)
        polled_at = clock()
        try:
            current = fetch(max(0.0, deadline - clock()))
        except RenderError as err:
            if not isinstance(err, RateLimitedError | ServerError | RenderTransportError):
                raise
            last_error = err
        else:
            last_error = None
            last_status = current.status
            dashboard = catalog.DASHBOARD_URL.format(id=current.id)
            if current.status in ready:
                return current
            if current.status in hopeless:
                hint = (
                    "; suspended=False resumes it"
                    if current.status == catalog.SUSPENDED_STATUS
                    else ""
                )
                raise InstanceFailed(
                    f"{what} is {current.status!r} and will not become {target} by waiting"
                    f"{hint}; see {dashboard}"
                )
            if current.status != last_reported and progress is not None:
                progress(f"{what} is {current.status!r}; waiting for {target!r}")
                last_reported = current.status
        remaining = deadline - clock()
        if remaining <= 0:
            was = f"still {last_status!r}" if last_status is not None else "not confirmed"
            failed = (
                f"; the last status read failed: {str(last_error).rstrip('.')}"
                if last_error is not None
                else ""
            )
            raise WaitTimedOut(
                f"{what} was {was} after {timeout:g} s (wait_timeout){failed}, "
                f"and may still become {target}; see {dashboard}"
            )
        _sleep_until(polled_at + poll_gap(polled_at - started), deadline, clock, sleep)


def _sleep_until(
    when: float, deadline: float, clock: Callable[[], float], sleep: Callable[[float], None]
) -> None:
    """Sleep until ``when``, or the deadline if that comes first (no zero-length sleeps)."""
    pause = min(when, deadline) - clock()
    if pause > 0:
        sleep(pause)


def log_progress(message: str) -> None:
    """Progress goes to stderr, which the Pulumi CLI shows for dynamic providers."""
    print(f"render-kv: {message}", file=sys.stderr, flush=True)
