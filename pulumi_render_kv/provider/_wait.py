"""Waiting for an instance to become available, with a deadline and backoff.

Render's Key Value API never says "ready" by itself: a create answers ``unknown`` or
``creating``, a plan/policy/persistence change restarts the instance, and a resume is
asynchronous (its 202 comes while reads still say ``suspended``). Python dynamic
providers receive no ``customTimeouts`` from the engine, so the deadline is the resource's
own ``wait_timeout``. Clock and sleep are injected so tests never sleep.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Collection
from typing import Protocol, TypeVar

from pulumi_render_kv import catalog
from pulumi_render_kv.errors import (
    InstanceFailed,
    RateLimitedError,
    RenderError,
    RenderTransportError,
    ServerError,
    WaitTimedOut,
)

FIRST_DELAY = 0.5
MAX_DELAY = 15.0
BACKOFF = 2.0


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
    """
    ready = catalog.READY_STATUSES if target == "available" else frozenset({target})
    hopeless = catalog.FAILED_STATUSES - ready - frozenset(transitional)
    deadline = clock() + timeout
    delay = 0.0
    last_reported = ""
    last_status: str | None = None
    last_error: RenderError | None = None
    while True:
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
        delay = min(MAX_DELAY, max(FIRST_DELAY, delay * BACKOFF), remaining)
        sleep(delay)


def log_progress(message: str) -> None:
    """Progress goes to stderr, which the Pulumi CLI shows for dynamic providers."""
    print(f"render-kv: {message}", file=sys.stderr, flush=True)
