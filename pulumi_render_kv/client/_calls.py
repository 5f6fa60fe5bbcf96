"""The path every request takes: client-side limiter → httpx → status check, under the retry policy.

:class:`Caller` makes one HTTP exchange (:meth:`Caller.send`), or one retried as the policy of
:mod:`._retry` says (:meth:`Caller.call`); the endpoint groups that make up
:class:`~._client.RenderClient` reach Render only through it. httpx is imported with the first
caller, not with the package (issue 16: cold start).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, TypeVar

from ._errors import (
    ClientRateLimitedError,
    NotFoundError,
    RenderTimeoutError,
    RenderTransportError,
    api_error_from_response,
)
from ._limiter import LimitExceeded, RateLimiter, buckets_for
from ._redact import redact
from ._retry import AttemptInfo, RetryPolicy, maybe_acted, run_with_retries

if TYPE_CHECKING:
    import httpx

    from ._settings import RenderSettings

logger = logging.getLogger("pulumi_render_kv.client")

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Op:
    """One operation: method, spec path template and the concrete path."""

    method: str
    template: str
    path: str
    is_create: bool = False


class Caller:
    """Sends requests for one client: its connection pool, its limiter, its request counts.

    ``clock`` (monotonic), ``sleep``, ``rng`` (backoff jitter) and ``wall_clock`` (epoch
    seconds) are the client's injected ones, so retry and limiter tests never sleep.
    """

    def __init__(
        self,
        settings: RenderSettings,
        *,
        transport: httpx.BaseTransport | None,
        clock: Callable[[], float],
        sleep: Callable[[float], None],
        rng: Callable[[], float],
        wall_clock: Callable[[], float],
    ) -> None:
        self.settings = settings
        self.clock = clock
        self.sleep = sleep
        # Epoch seconds, compared with Render's createdAt after an uncertain create.
        self.wall_clock = wall_clock
        self._rng = rng
        self._limiter = RateLimiter(settings.limits, clock=clock, sleep=sleep)
        # httpx is imported with the first client, not with the package (issue 16).
        from . import _http  # noqa: PLC0415

        self._http = _http.new_pool(settings, transport)
        self._lock = threading.Lock()
        self._counts: dict[str, int] = {}

    @property
    def is_closed(self) -> bool:
        return self._http.is_closed

    def close(self) -> None:
        self._http.close()

    @property
    def request_count(self) -> dict[str, int]:
        """HTTP requests handed to the transport so far, per method (retries included)."""
        with self._lock:
            return dict(self._counts)

    def send(
        self,
        op: Op,
        *,
        deadline: float,
        params: dict[str, str | None] | None = None,
        body: bytes | None = None,
        secrets: tuple[str, ...] = (),
    ) -> httpx.Response:
        """One HTTP exchange: limiter, request, status check. No retries here.

        ``secrets`` are values the body carries (a log-stream token), scrubbed from errors
        like the API key.
        """
        slot = self._limiter.acquire(
            buckets_for(op.method, is_create=op.is_create), deadline=deadline
        )
        if isinstance(slot, LimitExceeded):
            raise ClientRateLimitedError(
                method=op.method,
                path=op.path,
                path_template=op.template,
                bucket=slot.bucket,
                limit=str(slot.rate),
                retry_after=slot.wait,
                deadline=self.settings.retry.deadline,
            )
        query = {k: v for k, v in (params or {}).items() if v is not None}
        headers = {"Content-Type": "application/json"} if body is not None else None
        with self._lock:
            self._counts[op.method] = self._counts.get(op.method, 0) + 1
        import httpx  # noqa: PLC0415 -- loaded by __init__ already; not with the package

        from ._http import NOT_SENT  # noqa: PLC0415

        try:
            response = self._http.request(
                op.method, op.path.lstrip("/"), params=query, content=body, headers=headers
            )
        except httpx.TransportError as exc:  # timeouts included: they are transport errors
            error = (
                RenderTimeoutError
                if isinstance(exc, httpx.TimeoutException)
                else RenderTransportError
            )
            raise error(
                method=op.method,
                path=op.path,
                cause=self._cause(exc, secrets),
                maybe_sent=not isinstance(exc, NOT_SENT),
            ) from None
        request_id = response.headers.get("render-request-id")
        logger.debug(
            "Render API %s %s -> %d (request id %s)",
            op.method,
            op.path,
            response.status_code,
            request_id,
        )
        if not response.is_success:
            raise api_error_from_response(
                status_code=response.status_code,
                headers=response.headers,
                body=response.content,
                method=op.method,
                path=op.path,
                path_template=op.template,
                secrets=(*self._secret_values(), *secrets),
            )
        return response

    def _secret_values(self) -> tuple[str, ...]:
        """Exact values to scrub from error text; unwrapped only here, never stored plain."""
        return (self.settings.api_key.get_secret_value(),)

    def _cause(self, exc: httpx.HTTPError, secrets: tuple[str, ...] = ()) -> str:
        text = redact(str(exc), (*self._secret_values(), *secrets)).strip()
        return f"{type(exc).__name__}: {text}" if text else type(exc).__name__

    def policy(self, timeout: float | None) -> RetryPolicy:
        """The retry policy, its deadline cut to ``timeout`` seconds when one is given."""
        policy = self.settings.retry
        if timeout is None or timeout >= policy.deadline:
            return policy
        return replace(policy, deadline=max(0.0, timeout))

    def retrying(
        self, op: Op, attempt: Callable[[AttemptInfo], T], *, policy: RetryPolicy | None = None
    ) -> T:
        """``attempt`` under the retry policy (the client's, unless ``policy`` is given)."""
        return run_with_retries(
            attempt,
            policy=policy or self.settings.retry,
            method=op.method,
            path=op.path,
            clock=self.clock,
            sleep=self.sleep,
            rng=self._rng,
        )

    def call(
        self,
        op: Op,
        *,
        params: dict[str, str | None] | None = None,
        body: bytes | None = None,
        policy: RetryPolicy | None = None,
        secrets: tuple[str, ...] = (),
    ) -> httpx.Response:
        """Send with the retry policy; for operations that are safe to repeat as they are."""
        return self.retrying(
            op,
            lambda info: self.send(
                op, deadline=info.deadline, params=params, body=body, secrets=secrets
            ),
            policy=policy,
        )

    def delete(self, op: Op) -> None:
        """A DELETE, retried; a 404 after an attempt that may have acted counts as done."""

        def attempt(info: AttemptInfo) -> None:
            try:
                self.send(op, deadline=info.deadline)
            except NotFoundError:
                if any(maybe_acted(error) for error in info.previous_errors):
                    logger.info(
                        "Render API DELETE %s: gone after an uncertain attempt; done", op.path
                    )
                    return
                raise

        self.retrying(op, attempt)


class Endpoints:
    """What an endpoint group of :class:`~._client.RenderClient` stands on: its caller."""

    _caller: Caller
