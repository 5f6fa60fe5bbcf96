"""Render's rate limits: fixed, clock-aligned windows per bucket and per API key.

Buckets (https://api-docs.render.com/reference/rate-limiting):

- ``create``: ``POST /v1/key-value`` and ``POST /v1/redis`` share one bucket, 20 per hour
  (observed: Remaining went down across both paths; the window ends on the full hour);
- ``write``: every other POST / PATCH / DELETE, 30 per minute (documented; the testing host showed
  100 for PATCH/DELETE, configurable);
- ``get``: every GET, 400 per minute (the client names its bucket ``get`` too).

Windows are fixed and aligned to the wall clock (the per-minute ones end on the full minute, the
hourly one on the full hour), as the observed ``Date`` + ``Ratelimit-Reset`` values suggest.
``Ratelimit-Reset`` is the number of whole seconds until the window ends (never 0), which is what
every observation shows even though one docs table says "epoch seconds". A request that is
refused does not use up quota.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

UNLIMITED = 1_000_000_000


class Bucket(StrEnum):
    """The rate-limit groups Render applies."""

    GET = "get"
    WRITE = "write"
    CREATE = "create"


CREATE_PATHS = frozenset({"/v1/key-value", "/v1/redis"})


def bucket_for(method: str, path: str) -> Bucket:
    """The bucket a request counts against."""
    method = method.upper()
    if method in ("GET", "HEAD"):
        return Bucket.GET
    if method == "POST" and path.rstrip("/") in CREATE_PATHS:
        return Bucket.CREATE
    return Bucket.WRITE


@dataclass(frozen=True)
class RateLimitSettings:
    """Requests allowed per window; the defaults are Render's documented limits."""

    get_per_minute: int = 400
    write_per_minute: int = 30
    create_per_hour: int = 20

    def __post_init__(self) -> None:
        for name in ("get_per_minute", "write_per_minute", "create_per_hour"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1")

    @classmethod
    def unlimited(cls) -> RateLimitSettings:
        """Limits so high that tests never meet them (headers are still sent)."""
        return cls(get_per_minute=UNLIMITED, write_per_minute=UNLIMITED, create_per_hour=UNLIMITED)

    def limit_and_window(self, bucket: Bucket) -> tuple[int, int]:
        """(requests allowed, window length in seconds) for ``bucket``."""
        if bucket is Bucket.GET:
            return self.get_per_minute, 60
        if bucket is Bucket.WRITE:
            return self.write_per_minute, 60
        return self.create_per_hour, 3600


@dataclass(frozen=True)
class Decision:
    """The outcome of one request against its bucket, and the values of the headers."""

    allowed: bool
    limit: int
    remaining: int
    reset: int  # seconds until the window ends

    def headers(self) -> dict[str, str]:
        """``Ratelimit-*`` headers (plus ``Retry-After`` when refused)."""
        headers = {
            "Ratelimit-Limit": str(self.limit),
            "Ratelimit-Remaining": str(self.remaining),
            "Ratelimit-Reset": str(self.reset),
        }
        if not self.allowed:
            headers["Retry-After"] = str(self.reset)
        return headers


class RateLimitWindows:
    """Counts requests per (API key, bucket, window); ``wall_clock`` gives epoch seconds."""

    def __init__(self, settings: RateLimitSettings, wall_clock: Callable[[], float]) -> None:
        self.settings = settings
        self._wall_clock = wall_clock
        self._counts: dict[tuple[str, Bucket], tuple[int, int]] = {}
        self._lock = threading.Lock()

    def hit(self, key: str, method: str, path: str) -> Decision:
        """Count one request for ``key`` (the API key) and say whether it may proceed."""
        return self._decide(key, method, path, count=True)

    def peek(self, key: str, method: str, path: str) -> Decision:
        """The headers' values for a request that is answered without counting (a fault)."""
        return self._decide(key, method, path, count=False)

    def _decide(self, key: str, method: str, path: str, *, count: bool) -> Decision:
        bucket = bucket_for(method, path)
        limit, window = self.settings.limit_and_window(bucket)
        now = self._wall_clock()
        window_start = math.floor(now / window) * window
        reset = max(1, math.ceil(window_start + window - now))
        with self._lock:
            start, used = self._counts.get((key, bucket), (window_start, 0))
            if start != window_start:
                used = 0
            if used >= limit:
                return Decision(allowed=False, limit=limit, remaining=0, reset=reset)
            if count:
                used += 1
                self._counts[(key, bucket)] = (window_start, used)
        return Decision(allowed=True, limit=limit, remaining=limit - used, reset=reset)

    def reset(self) -> None:
        """Forget every count."""
        with self._lock:
            self._counts.clear()
