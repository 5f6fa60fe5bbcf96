"""Waiting for an instance to become available, with a deadline and backoff.

Render's Key Value API never says "ready" by itself: a create answers ``unknown`` or
``creating`` and a plan/policy/persistence change restarts the instance. Python dynamic
providers receive no ``customTimeouts`` from the engine, so the deadline is the resource's
own ``wait_timeout``. Clock and sleep are injected so tests never sleep.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import Protocol, TypeVar

from pulumi_render_kv import catalog
from pulumi_render_kv.errors import InstanceFailed, WaitTimedOut

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
    fetch: Callable[[], _T],
    *,
    timeout: float,
    what: str,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
    progress: Callable[[str], None] | None = None,
) -> _T:
    """Poll ``fetch`` until the instance is available; raise with the last status if not."""
    deadline = clock() + timeout
    delay = 0.0
    last_reported = ""
    while True:
        current = fetch()
        if current.status in catalog.READY_STATUSES:
            return current
        dashboard = catalog.DASHBOARD_URL.format(id=current.id)
        if current.status in catalog.FAILED_STATUSES:
            raise InstanceFailed(
                f"{what} is {current.status!r} and will not become available by waiting; "
                f"see {dashboard}"
            )
        if current.status != last_reported and progress is not None:
            progress(f"{what} is {current.status!r}; waiting for 'available'")
            last_reported = current.status
        remaining = deadline - clock()
        if remaining <= 0:
            raise WaitTimedOut(
                f"{what} was still {current.status!r} after {timeout:g} s (wait_timeout) "
                f"and may still become available; see {dashboard}"
            )
        delay = min(MAX_DELAY, max(FIRST_DELAY, delay * BACKOFF), remaining)
        sleep(delay)


def log_progress(message: str) -> None:
    """Progress goes to stderr, which the Pulumi CLI shows for dynamic providers."""
    print(f"render-kv: {message}", file=sys.stderr, flush=True)
