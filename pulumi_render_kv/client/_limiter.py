"""Client-side rate limiting: stay under Render's limits instead of discovering them via 429s.

Render limits each user per endpoint group (https://api-docs.render.com/reference/rate-limiting):
GETs 400/minute,
other POST/PATCH/DELETE 30/minute, creates 20/hour. :class:`RateLimiter` keeps a sliding-window
log per bucket: a request may go only if fewer than ``count`` requests of its buckets were
sent in the last ``period`` seconds. A sliding window is stricter than Render's fixed,
clock-aligned windows, so staying under it keeps every fixed window under the limit too,
whatever the alignment.

A create (``POST /key-value``) counts in the create bucket *and* the write bucket: the docs do
not say whether creates also use the 30/minute write budget, so the limiter assumes they do.

The limiter is thread-safe (the Pulumi provider runs four worker threads). Waiting uses the
injected ``clock``/``sleep``, so tests drive it with a fake clock.
"""

from __future__ import annotations

import re
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

__all__ = ["Bucket", "ClientLimits", "LimitExceeded", "Rate", "RateLimiter"]

Bucket = Literal["get", "write", "create"]
_BUCKETS: tuple[Bucket, ...] = ("get", "write", "create")

_UNITS: dict[str, float] = {"s": 1.0, "m": 60.0, "min": 60.0, "h": 3600.0, "hour": 3600.0}
_UNIT_NAMES: dict[float, str] = {1.0: "s", 60.0: "m", 3600.0: "h"}
_RATE_RE = re.compile(r"^\s*(?P<count>\d+)\s*/\s*(?P<unit>[a-z]+)\s*$")
_LIMITS_FORMAT = (
    'expected "off" or comma-separated bucket=count/unit, e.g. "get=400/m,write=30/m,create=20/h"'
)


@dataclass(frozen=True, slots=True)
class Rate:
    """At most ``count`` requests in any ``period`` seconds."""

    count: int
    period: float

    def __post_init__(self) -> None:
        if self.count < 1 or self.period <= 0:
            raise ValueError(
                f"a rate needs count >= 1 and period > 0, got {self.count}/{self.period}s"
            )

    def __str__(self) -> str:
        unit = _UNIT_NAMES.get(self.period)
        return f"{self.count}/{unit}" if unit else f"{self.count}/{self.period:g}s"

    @classmethod
    def parse(cls, text: str) -> Rate:
        """Parse ``"400/m"``, ``"20/h"`` or ``"5/s"``."""
        match = _RATE_RE.match(text.lower())
        if match is None or match["unit"] not in _UNITS:
            raise ValueError(f"bad rate {text!r}: expected count/unit with unit s, m or h")
        return cls(int(match["count"]), _UNITS[match["unit"]])


@dataclass(frozen=True, slots=True)
class ClientLimits:
    """Client-side limits per bucket; ``None`` means unlimited. Defaults are Render's docs."""

    get: Rate | None = field(default_factory=lambda: Rate(400, 60.0))
    write: Rate | None = field(default_factory=lambda: Rate(30, 60.0))
    create: Rate | None = field(default_factory=lambda: Rate(20, 3600.0))

    @classmethod
    def off(cls) -> ClientLimits:
        """No client-side limiting (tests against the emulator)."""
        return cls(get=None, write=None, create=None)

    @property
    def enabled(self) -> bool:
        return any(rate is not None for rate in (self.get, self.write, self.create))

    def rate(self, bucket: Bucket) -> Rate | None:
        rate: Rate | None = getattr(self, bucket)
        return rate

    def __str__(self) -> str:
        if not self.enabled:
            return "off"
        return ",".join(f"{b}={self.rate(b) or 'off'}" for b in _BUCKETS)

    @classmethod
    def parse(cls, text: str) -> ClientLimits:
        """Parse ``RENDER_API_CLIENT_LIMITS``: ``"off"`` or ``"get=400/m,write=30/m,create=20/h"``.

        Buckets not named keep Render's documented default; ``bucket=off`` disables one.
        Raises ValueError with the expected format.
        """
        cleaned = text.strip().lower()
        if cleaned in {"off", "none", "0", "false", "no"}:
            return cls.off()
        values: dict[str, Rate | None] = {}
        for part in cleaned.split(","):
            if not part.strip():
                continue
            bucket, sep, rate_text = part.partition("=")
            bucket = bucket.strip()
            if not sep or bucket not in _BUCKETS:
                raise ValueError(f"bad client limits {text!r}: {_LIMITS_FORMAT}")
            if bucket in values:
                raise ValueError(f"bad client limits {text!r}: {bucket} is given twice")
            if rate_text.strip() == "off":
                values[bucket] = None
                continue
            try:
                values[bucket] = Rate.parse(rate_text)
            except ValueError as exc:
                raise ValueError(f"bad client limits {text!r}: {exc}") from None
        if not values:
            raise ValueError(f"bad client limits {text!r}: {_LIMITS_FORMAT}")
        defaults = cls()
        return cls(
            get=values.get("get", defaults.get),
            write=values.get("write", defaults.write),
            create=values.get("create", defaults.create),
        )


@dataclass(frozen=True, slots=True)
class LimitExceeded:
    """The limiter cannot grant a slot before the deadline."""

    bucket: Bucket
    rate: Rate
    wait: float


def buckets_for(method: str, *, is_create: bool) -> tuple[Bucket, ...]:
    """Which buckets a request counts against."""
    if method.upper() in {"GET", "HEAD"}:
        return ("get",)
    if is_create:
        return ("create", "write")
    return ("write",)


class RateLimiter:
    """Thread-safe sliding-window limiter over the three buckets of :class:`ClientLimits`."""

    def __init__(
        self,
        limits: ClientLimits,
        *,
        clock: Callable[[], float],
        sleep: Callable[[float], None],
    ) -> None:
        self.limits = limits
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self._sent: dict[Bucket, deque[float]] = {bucket: deque() for bucket in _BUCKETS}

    def _wait_needed(self, buckets: tuple[Bucket, ...], now: float) -> LimitExceeded | None:
        """The longest wait any of ``buckets`` imposes at ``now``, or None if all have room."""
        longest: LimitExceeded | None = None
        for bucket in buckets:
            rate = self.limits.rate(bucket)
            if rate is None:
                continue
            sent = self._sent[bucket]
            while sent and sent[0] <= now - rate.period:
                sent.popleft()
            if len(sent) >= rate.count:
                # The slot frees when the oldest request still in the window leaves it.
                wait = sent[len(sent) - rate.count] + rate.period - now
                if longest is None or wait > longest.wait:
                    longest = LimitExceeded(bucket=bucket, rate=rate, wait=wait)
        return longest

    def acquire(
        self, buckets: tuple[Bucket, ...], *, deadline: float | None = None
    ) -> float | LimitExceeded:
        """Take a slot in every bucket, sleeping while none is free.

        Returns the clock time the slot was taken at, or :class:`LimitExceeded` (without
        sleeping) when the wait would run past ``deadline`` (a clock value).
        """
        if not self.limits.enabled:
            return self._clock()
        while True:
            with self._lock:
                now = self._clock()
                blocked = self._wait_needed(buckets, now)
                if blocked is None:
                    for name in buckets:
                        if self.limits.rate(name) is not None:
                            self._sent[name].append(now)
                    return now
                if deadline is not None and now + blocked.wait > deadline:
                    return blocked
            # Sleep outside the lock; another thread may take the slot first, so check again.
            self._sleep(blocked.wait)

    def in_window(self, bucket: Bucket) -> int:
        """How many requests of ``bucket`` the current window holds (for tests and logs)."""
        rate = self.limits.rate(bucket)
        with self._lock:
            if rate is None:
                return 0
            now = self._clock()
            return sum(1 for sent in self._sent[bucket] if sent > now - rate.period)
