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

When to stop: after ``max_attempts`` attempts, as soon as the next wait would end past
``deadline`` seconds since the call started, or when Render asks for a wait longer than
``max_retry_after`` — whichever comes first. The last error is then
raised unchanged (with a note saying how many attempts were made).

The clock, the sleep function and the random source are injected, so tests never sleep. Log
lines (logger ``pulumi_render_kv.client``) carry the method, path, attempt, wait and error
class only — never headers, bodies or error text.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

import tenacity

from ._errors import (
    ClientRateLimitedError,
    RateLimitedError,
    RenderAPIError,
    RenderError,
    RenderTransportError,
    ServerError,
)

__all__ = ["AttemptInfo", "RetryPolicy", "is_retryable", "retry_wait", "run_with_retries"]

logger = logging.getLogger("pulumi_render_kv.client")

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Bounds and pacing of retries for one client call."""

    max_attempts: int = 6
    deadline: float = 300.0
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
        reason = None
        if state.attempt_number >= policy.max_attempts:
            reason = "out of attempts"
        elif _asked_wait(error) > policy.max_retry_after:
            reason = "server asks for a longer wait than max_retry_after"
        elif elapsed + state.upcoming_sleep > policy.deadline:
            reason = "out of time"
        if reason is not None:
            logger.warning(
                "Render API %s %s failed (attempt %d of %d, %s); giving up: %s",
                method,
                path,
                state.attempt_number,
                policy.max_attempts,
                type(error).__name__,
                reason,
            )
            error.add_note(
                f"Gave up after {state.attempt_number} attempt(s) in {elapsed:.1f} s, {reason} "
                f"(limits: {policy.max_attempts} attempts, {policy.deadline:g} s, "
                f"{policy.max_retry_after:g} s per wait)."
            )
            return True
        return False

    def before_sleep(state: tenacity.RetryCallState) -> None:
        logger.warning(
            "Render API %s %s failed (attempt %d of %d, %s); retrying in %.1f s",
            method,
            path,
            state.attempt_number,
            policy.max_attempts,
            type(_outcome_error(state)).__name__,
            state.upcoming_sleep,
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
