"""The client's one retry policy.

What is retried:

- Render's 429 (rate limited), any 5xx and transport failures (:class:`RenderTransportError`,
  timeouts included). Other 4xx are final: sending the same request again cannot help.
- :class:`ClientRateLimitedError` is final too: the limiter already found no slot before the
  deadline.
- Which *operations* may be repeated is the caller's decision (see ``RenderClient``): reads,
  PATCH, DELETE, suspend/resume and environment moves repeat as they are; ``POST /key-value``
  is repeated only after a failure that proves nothing was created (a 429, a connection that
  never opened); after an uncertain one it looks for the instance instead.

How long to wait:

- a ``Retry-After`` (or, for 429, ``Ratelimit-Reset``) from Render, up to ``max_retry_after``
  (default 120 s). If Render asks for a longer wait (the hourly create window, say), the call
  fails at once with that wait in the error: retrying sooner would only meet the same 429;
- otherwise exponential backoff with jitter: ``initial_backoff * 2**(n-1)`` capped at
  ``max_backoff``, scaled by a random factor in [0.5, 1).

When to stop: the deadline bounds retries, not a count. A call stops as soon as the next wait
would end past ``deadline`` seconds since it started (``RetryPolicy.deadline``, 300 s, or the
shorter ``timeout`` the caller passes: a create's and a status read's come from
``wait_timeout``), or when Render asks for a wait longer than ``max_retry_after``. So a storm
of 429s with ``Retry-After: 5`` is waited out for as long as the deadline allows.
``max_attempts`` is only a safety cap (1000, far above what a 300 s deadline allows) against a
server that asks for no wait at all. The last error is then raised with
:meth:`RenderError.stopped_retrying` called, so its message says what happened for how long and
what to run.

Logging (logger ``pulumi_render_kv.client``): each retry is a WARNING saying when the next
attempt comes; the stop is an INFO line saying that *this call* stops retrying. It does not
say the operation gave up, because the caller may go on (the provider's wait loop reads the
status again while its own deadline allows): the caller's error is the final word. Log lines
carry the method, path, attempt, wait and error class only — never headers, bodies or error
text.

The clock, the sleep function and the random source are injected, so tests never sleep.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal, TypeVar

if TYPE_CHECKING:
    import tenacity

from ._errors import (
    ClientRateLimitedError,
    RateLimitedError,
    RenderAPIError,
    RenderError,
    RenderTransportError,
    RetryRecord,
    ServerError,
)

__all__ = ["AttemptInfo", "RetryPolicy", "is_retryable", "retry_wait", "run_with_retries"]

logger = logging.getLogger("pulumi_render_kv.client")

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Bounds and pacing of retries for one client call."""

    max_attempts: int = 1000
    """A safety cap only: the deadline is what bounds retries (``1`` turns retries off)."""
    deadline: float = 300.0
    """Seconds from a call's start after which no retry starts; ``timeout`` may shorten it."""
    max_retry_after: float = 120.0
    initial_backoff: float = 1.0
    max_backoff: float = 30.0
    create_lookup_window: float = 90.0
    """After an unanswered create, how long to look for the instance before giving up."""
    create_confirm_window: float = 3.0
    """After a create Render answered with 500/503, how long to look before posting again."""

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError(f"max_attempts must be >= 1, got {self.max_attempts}")
        for name in (
            "deadline",
            "max_retry_after",
            "initial_backoff",
            "max_backoff",
            "create_lookup_window",
            "create_confirm_window",
        ):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must be >= 0, got {getattr(self, name)}")


@dataclass(frozen=True, slots=True)
class AttemptInfo:
    """What an attempt function knows about the call so far."""

    number: int
    deadline: float
    """Clock value by which the whole call must be done."""
    previous_errors: tuple[RenderError, ...]


def is_retryable(error: BaseException) -> bool:
    """Whether an error may go away if the same request is sent again later."""
    if isinstance(error, ClientRateLimitedError):
        return False
    return isinstance(error, RateLimitedError | ServerError | RenderTransportError)


def maybe_acted(error: BaseException) -> bool:
    """Whether Render may have carried out the request that failed with ``error``."""
    if isinstance(error, RenderTransportError):
        return error.maybe_sent
    return isinstance(error, ServerError)


def retry_wait(
    error: BaseException, failed_attempts: int, policy: RetryPolicy, rng: Callable[[], float]
) -> float:
    """Seconds to wait after the ``failed_attempts``-th failure: Render's ask, else backoff."""
    asked = _asked_wait(error)
    if asked >= 0:
        return asked
    backoff = min(policy.max_backoff, policy.initial_backoff * 2.0 ** (failed_attempts - 1))
    return backoff * (0.5 + 0.5 * rng())


def _asked_wait(error: BaseException) -> float:
    """The wait Render asked for with this error, or -1 if it did not say."""
    if isinstance(error, RenderAPIError) and error.retry_after is not None:
        return error.retry_after
    return -1.0


def run_with_retries(
    attempt: Callable[[AttemptInfo], T],
    *,
    policy: RetryPolicy,
    method: str,
    path: str,
    clock: Callable[[], float],
    sleep: Callable[[float], None],
    rng: Callable[[], float],
) -> T:
    """Call ``attempt`` until it succeeds, fails for good, or the policy's bounds are reached."""
    # Imported with the first call, not with the package: most provider processes (each
    # preview's) never call the API (issue 16: cold start).
    import tenacity  # noqa: PLC0415

    start = clock()
    deadline = start + policy.deadline
    errors: list[RenderError] = []

    def one_attempt() -> T:
        info = AttemptInfo(number=len(errors) + 1, deadline=deadline, previous_errors=tuple(errors))
        try:
            return attempt(info)
        except RenderError as error:
            errors.append(error)
            raise

    def wait(state: tenacity.RetryCallState) -> float:
        error = _outcome_error(state)
        return retry_wait(error, state.attempt_number, policy, rng)

    def stop(state: tenacity.RetryCallState) -> bool:
        elapsed = clock() - start
        error = _outcome_error(state)
        asked = _asked_wait(error)
        reason: Literal["deadline", "long-wait", "max-attempts"]
        if asked > policy.max_retry_after:
            reason = "long-wait"
            why = (
                f"Render asks for {asked:g} s, over max_retry_after ({policy.max_retry_after:g} s)"
            )
        elif elapsed + state.upcoming_sleep > policy.deadline:
            reason = "deadline"
            why = (
                f"the next wait ({state.upcoming_sleep:.1f} s) would end past its "
                f"{policy.deadline:g} s deadline"
            )
        elif state.attempt_number >= policy.max_attempts:
            reason = "max-attempts"
            why = f"max_attempts ({policy.max_attempts}) reached"
        else:
            return False
        # INFO, and only about this call: the caller may go on (a wait loop reads again),
        # and the error it raises, if any, is the final word.
        logger.info(
            "Render API %s %s failed (attempt %d in %.1f s, %s); this call stops retrying: %s",
            method,
            path,
            state.attempt_number,
            elapsed,
            type(error).__name__,
            why,
        )
        if isinstance(error, RenderError):
            error.stopped_retrying(
                RetryRecord(
                    attempts=state.attempt_number,
                    seconds=elapsed,
                    deadline=policy.deadline,
                    stop=reason,
                    max_retry_after=policy.max_retry_after,
                )
            )
        return True

    def before_sleep(state: tenacity.RetryCallState) -> None:
        logger.warning(
            "Render API %s %s failed (attempt %d, %s); retrying in %.1f s "
            "(%.0f s left before this call's deadline)",
            method,
            path,
            state.attempt_number,
            type(_outcome_error(state)).__name__,
            state.upcoming_sleep,
            max(0.0, policy.deadline - (clock() - start)),
        )

    retrying = tenacity.Retrying(
        retry=tenacity.retry_if_exception(is_retryable),
        wait=wait,
        stop=stop,
        sleep=sleep,
        before_sleep=before_sleep,
        reraise=True,
    )
    return retrying(one_attempt)


def _outcome_error(state: tenacity.RetryCallState) -> BaseException:
    outcome = state.outcome
    error = outcome.exception() if outcome is not None else None
    if error is None:  # pragma: no cover - tenacity only waits/stops after a failure here
        raise RuntimeError("retry hook called without a failed attempt")
    return error
