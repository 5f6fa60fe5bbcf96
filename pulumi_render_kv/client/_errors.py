"""Every error the Render client raises, in one tree.

::

    RenderError                      base of everything below; str() is one redacted sentence
    ├── RenderConfigError            (also ValueError) bad or missing settings: API key, URL,
    │                                limits, no/ambiguous workspace; raised before any request
    ├── RenderAPIError               Render answered with an error status
    │   │                            .status_code .message .request_id .method .path
    │   │                            .path_template .operation .error_id .error_code
    │   │                            .retry_after (seconds Render asked to wait, if any)
    │   ├── InvalidRequestError      400  the request was wrong; .message says why
    │   ├── UnauthorizedError        401  API key missing, wrong or revoked
    │   ├── ForbiddenError           403  the key's user may not do this
    │   ├── NotFoundError            404  no such resource (or it was deleted)
    │   ├── ConflictError            409  the resource's current state conflicts with the change
    │   ├── RateLimitedError         429  .retry_after (seconds, if Render said)
    │   │   └── ClientRateLimitedError    never sent: the client-side limiter has no slot before
    │   │                                 the retry deadline; .retry_after says when one frees
    │   └── ServerError              5xx  Render failed; retried for safe operations
    │       (any other status)       RenderAPIError itself
    ├── RenderTransportError         no HTTP answer: connection refused/reset, TLS, protocol
    │   │                            .maybe_sent says whether Render may have seen the request
    │   └── RenderTimeoutError       connect/read/write/pool timeout
    ├── RenderResponseError          an answer whose body does not have the documented shape
    └── AmbiguousCreateError         an uncertain create not resolved to exactly one instance
                                     of its own (several, or none in the lookup window); the
                                     client neither guesses nor posts again

Errors hold plain, already-redacted data only (no httpx request or response, so no
``Authorization`` header), and they pickle and unpickle without losing attributes.
:func:`api_error_from_response` is the only place that maps a status code to a class.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from http import HTTPStatus
from typing import Any, ClassVar, Literal

from ._redact import redact, summarize_body

__all__ = [
    "AmbiguousCreateError",
    "ClientRateLimitedError",
    "ConflictError",
    "ForbiddenError",
    "InvalidRequestError",
    "NotFoundError",
    "RateLimitedError",
    "RenderAPIError",
    "RenderConfigError",
    "RenderError",
    "RenderResponseError",
    "RenderTimeoutError",
    "RenderTransportError",
    "RetryRecord",
    "ServerError",
    "UnauthorizedError",
    "api_error_from_response",
    "parse_seconds",
]


RENDER_STATUS_PAGE = "https://status.render.com"


def _rebuild(cls: type[RenderError], args: tuple[Any, ...], state: dict[str, Any]) -> RenderError:
    error = cls.__new__(cls)
    error.args = args
    error.__dict__.update(state)
    return error


@dataclass(frozen=True, slots=True)
class RetryRecord:
    """How the client's retries of one call ended; kept on the error they raise."""

    attempts: int
    seconds: float
    """From the first attempt to the last failure."""
    deadline: float
    """The call's retry deadline, in seconds (``RetryPolicy.deadline``, or its ``timeout``)."""
    stop: Literal["deadline", "long-wait", "max-attempts"]
    """Why: no time left for another wait, Render asked for a wait longer than
    ``RetryPolicy.max_retry_after``, or the safety cap ``RetryPolicy.max_attempts``."""
    max_retry_after: float = 0.0

    def span(self) -> str:
        """``295 s (60 attempts, up to this call's 300 s deadline)``, or the like."""
        why = {
            "deadline": f"up to this call's {self.deadline:g} s deadline",
            "long-wait": f"until Render asked for a wait over {self.max_retry_after:g} s",
            "max-attempts": "this call's limit",
        }[self.stop]
        return f"{self.seconds:.0f} s ({self.attempts} attempts, {why})"


class RenderError(Exception):
    """Base class of every error raised by :mod:`pulumi_render_kv.client`."""

    retries: RetryRecord | None = None
    """Set when the retry policy stopped retrying this error: its message then says so."""

    def _sentence(self) -> str:
        return str(self.args[0]) if self.args else ""

    def stopped_retrying(self, record: RetryRecord) -> None:
        """Record how the retries ended, so that the message says what happened."""
        self.retries = record
        self.args = (self._sentence(),)

    def __reduce__(self) -> tuple[Any, ...]:
        # Exceptions pickle as cls(*args) by default, which breaks keyword-only constructors;
        # rebuild from the (already redacted) attributes instead.
        return (_rebuild, (type(self), self.args, dict(self.__dict__)))


class RenderConfigError(RenderError, ValueError):
    """The client cannot be used as configured; the message says what to set."""


class RenderResponseError(RenderError):
    """Render answered 2xx, but the body is not what its API documents."""

    def __init__(self, *, method: str, path: str, detail: str) -> None:
        self.method = method
        self.path = path
        self.detail = detail
        super().__init__(f"Render API returned an unexpected response to {method} {path}: {detail}")


class AmbiguousCreateError(RenderError):
    """An uncertain create that the client would not resolve on its own.

    Either new instances with the create's name appeared (``candidate_ids``): one may be the
    create's, but another writer's looks the same, so none was taken; or none appeared
    within the lookup window (``looked_for`` seconds). The create is not repeated: only the
    user can tell whether an instance is theirs, or whether Render still makes one.
    """

    def __init__(
        self,
        *,
        name: str,
        owner_id: str,
        region: str,
        candidate_ids: Iterable[str],
        cause: str | None = None,
        looked_for: float | None = None,
    ):
        self.name = name
        self.owner_id = owner_id
        self.region = region
        self.candidate_ids = tuple(candidate_ids)
        self.cause = cause
        self.looked_for = looked_for
        why = f" ({cause.rstrip('.')})" if cause else ""
        where = f"in workspace {owner_id} ({region})"
        if self.candidate_ids:
            count = len(self.candidate_ids)
            instances = (
                "a new instance with that name now exists"
                if count == 1
                else f"{count} new instances with that name now exist"
            )
            ids = ", ".join(self.candidate_ids)
            message = (
                f"Creating Key Value {name!r} failed ambiguously{why}, and {instances} {where}: "
                f"{ids}. One may be this attempt's, but another writer creating the same name "
                "at the same moment (a second stack of the same program, say) makes one that "
                "looks alike, so none was taken over and nothing was created again."
            )
        else:
            message = (
                f"Creating Key Value {name!r} failed ambiguously{why}, and no new instance with "
                f"that name appeared {where} within {looked_for or 0:.0f} s. It was not created "
                "again, so that no second instance is billed: Render may still create it. "
                "Check the Render Dashboard, then run again."
            )
        super().__init__(message)


class RenderAPIError(RenderError):
    """Render answered with an error status. Subclasses name the statuses callers act on."""

    hint: ClassVar[str] = ""

    def __init__(
        self,
        *,
        status_code: int,
        message: str,
        method: str,
        path: str,
        path_template: str | None = None,
        request_id: str | None = None,
        error_id: str | None = None,
        error_code: str | None = None,
        retry_after: float | None = None,
    ) -> None:
        self.status_code = status_code
        self.message = message
        self.method = method
        self.path = path
        self.path_template = path_template or path
        self.request_id = request_id
        self.error_id = error_id
        self.error_code = error_code
        self.retry_after = retry_after
        """Seconds Render asked the client to wait (``Retry-After``), if it said."""
        super().__init__(self._sentence())

    @property
    def operation(self) -> str:
        """The operation as ``METHOD /path/{template}``."""
        return f"{self.method} {self.path_template}"

    def _status_text(self) -> str:
        try:
            return f"{self.status_code} {HTTPStatus(self.status_code).phrase}"
        except ValueError:
            return str(self.status_code)

    def _detail(self) -> str:
        """`` (Render's message; request id …)``, or nothing when Render said neither."""
        parts = [self.message.rstrip(".")] if self.message else []
        if self.request_id:
            parts.append(f"request id {self.request_id}")
        return f" ({'; '.join(parts)})" if parts else ""

    def _sentence(self) -> str:
        verb = "failed on" if self.status_code >= 500 else "rejected"
        text = f"Render API {verb} {self.method} {self.path}: {self._status_text()}"
        if self.message:
            text += f": {self.message.rstrip('.')}"
        if self.request_id:
            text += f" (request id {self.request_id})"
        hint = self._hint()
        return f"{text}. {hint}" if hint else f"{text}."

    def _hint(self) -> str:
        return self.hint


class InvalidRequestError(RenderAPIError):
    """400: Render could not accept the request as sent."""


class UnauthorizedError(RenderAPIError):
    """401: the API key is missing, wrong or revoked."""

    hint = (
        "Check the API key: set RENDER_API_KEY or the Pulumi secret config `render:apiKey` "
        "(pulumi config set --secret render:apiKey ...)."
    )


class ForbiddenError(RenderAPIError):
    """403: the API key's user may not do this."""

    hint = "The API key's user lacks permission for this workspace or resource."


class NotFoundError(RenderAPIError):
    """404: no such resource, or not visible to this API key."""


class ConflictError(RenderAPIError):
    """409: the resource's current state conflicts with the request."""

    hint = (
        "The instance is busy or in a state that forbids this change; retry once it is available."
    )


class RateLimitedError(RenderAPIError):
    """429: too many requests. ``retry_after`` is the wait Render asked for, in seconds."""

    def _hint(self) -> str:
        if self.retry_after is not None:
            return f"Render's rate limit was reached; it asked for a {self.retry_after:g} s wait."
        return "Render's rate limit was reached."

    def _sentence(self) -> str:
        done = self.retries
        if done is None:
            return super()._sentence()
        to = f"to {self.method} {self.path}{self._detail()}"
        wait = "a few minutes"
        if done.stop == "long-wait" and self.retry_after is not None:
            happened = (
                f"Render answered 429 (rate limited) {to} and asks to wait "
                f"{_duration(self.retry_after)}, longer than this client waits "
                f"({done.max_retry_after:g} s)"
            )
            wait = "that long"
        elif done.attempts > 1:
            happened = f"Render kept answering 429 (rate limited) {to} for {done.span()}"
        elif done.stop == "deadline":
            happened = (
                f"Render answered 429 (rate limited) {to}, with no time left for a retry "
                f"before this call's {done.deadline:g} s deadline"
            )
        else:
            happened = f"Render answered 429 (rate limited) {to}"
        return (
            f"{happened}; its rate limits are per API key and shared with every other tool "
            f"using the key: wait {wait}, then run the same `pulumi` command again."
        )


class ClientRateLimitedError(RateLimitedError):
    """Not sent: the client-side limiter has no free slot before the retry deadline."""

    def __init__(
        self,
        *,
        method: str,
        path: str,
        path_template: str | None = None,
        bucket: str,
        limit: str,
        retry_after: float,
        deadline: float,
    ) -> None:
        self.bucket = bucket
        self.limit = limit
        self.deadline = deadline
        super().__init__(
            retry_after=retry_after,
            status_code=429,
            message="",
            method=method,
            path=path,
            path_template=path_template,
        )

    def _sentence(self) -> str:
        return (
            f"Render API call {self.method} {self.path} was not sent: the client-side "
            f"{self.bucket} limit of {self.limit} is used up and the next slot frees up in "
            f"{self.retry_after:.0f} s, after the {self.deadline:.0f} s retry deadline. Wait and "
            "run again, or set RENDER_API_CLIENT_LIMITS if your Render account has higher limits."
        )


class ServerError(RenderAPIError):
    """5xx: Render failed to handle the request."""

    hint = "This is a problem on Render's side; retry later."

    def _hint(self) -> str:
        if self.retries is None or self.retries.attempts < 2:
            return self.hint
        return (
            f"This is a problem on Render's side; it lasted {self.retries.span()}: "
            f"check {RENDER_STATUS_PAGE}, then run the same `pulumi` command again."
        )


_STATUS_CLASSES: Mapping[int, type[RenderAPIError]] = {
    400: InvalidRequestError,
    401: UnauthorizedError,
    403: ForbiddenError,
    404: NotFoundError,
    409: ConflictError,
    429: RateLimitedError,
}


class RenderTransportError(RenderError):
    """No HTTP answer was received. ``maybe_sent``: Render may have seen (and acted on) it."""

    def __init__(self, *, method: str, path: str, cause: str, maybe_sent: bool) -> None:
        self.method = method
        self.path = path
        self.cause = cause
        self.maybe_sent = maybe_sent
        super().__init__(self._sentence())

    def _sentence(self) -> str:
        return (
            f"Could not reach the Render API for {self.method} {self.path}: "
            f"{self.cause.rstrip('.')}{self._retried()}."
        )

    def _retried(self) -> str:
        if self.retries is None or self.retries.attempts < 2:
            return ""
        return (
            f"; it went on for {self.retries.span()}: check the network and the API URL "
            "(RENDER_API_URL or `render:apiUrl`), then run the same `pulumi` command again"
        )


class RenderTimeoutError(RenderTransportError):
    """Render did not answer in time (connect, read, write or connection-pool timeout)."""

    def _sentence(self) -> str:
        return (
            f"The Render API did not answer {self.method} {self.path} in time: "
            f"{self.cause.rstrip('.')}{self._retried()}."
        )


def _duration(seconds: float) -> str:
    """``2074 s (35 min)``: seconds, and minutes too once that reads better."""
    if seconds < 120:
        return f"{seconds:g} s"
    return f"{seconds:.0f} s ({seconds / 60:.0f} min)"


def parse_seconds(value: str | None, *, now_epoch: float | None = None) -> float | None:
    """Parse a ``Retry-After`` / ``Ratelimit-Reset`` value into seconds to wait (>= 0).

    Accepts delta-seconds (Render's form) and, defensively, an HTTP date or a Unix epoch
    timestamp (the rate-limit docs claim epoch seconds; every observation says delta).
    None if absent or unreadable.
    """
    text = (value or "").strip()
    if not text:
        return None
    current = time.time() if now_epoch is None else now_epoch
    try:
        seconds = float(text)
    except ValueError:
        try:
            when = parsedate_to_datetime(text)
        except (TypeError, ValueError, IndexError):
            return None
        return max(0.0, when.timestamp() - current) if when.tzinfo is not None else None
    if not math.isfinite(seconds):
        return None
    if seconds > 1_000_000_000:  # an epoch timestamp, not a delta
        seconds -= current
    return max(0.0, seconds)


def _error_fields(body: bytes, secrets: Iterable[str | None]) -> tuple[str, str | None, str | None]:
    """Render's ``message``, ``id`` and ``code`` from an error body, tolerating any shape."""
    secrets = tuple(secrets)
    if not body.strip():
        return "", None, None
    try:
        parsed = json.loads(body)
    except ValueError:
        return summarize_body(body, secrets), None, None
    if not isinstance(parsed, dict):
        return summarize_body(body, secrets), None, None

    def text(key: str) -> str | None:
        value = parsed.get(key)
        return redact(str(value), secrets) if isinstance(value, str | int | float) else None

    message = text("message") or text("error") or ""
    if not message:
        message = summarize_body(body, secrets)
    return message, text("id"), text("code")


def api_error_from_response(
    *,
    status_code: int,
    headers: Mapping[str, str],
    body: bytes,
    method: str,
    path: str,
    path_template: str,
    secrets: Iterable[str | None] = (),
) -> RenderAPIError:
    """Build the error for a non-2xx answer. The one status → class mapping lives here."""
    message, error_id, error_code = _error_fields(body, secrets)
    common: dict[str, Any] = {
        "status_code": status_code,
        "message": message,
        "method": method,
        "path": path,
        "path_template": path_template,
        "request_id": headers.get("render-request-id"),
        "error_id": error_id,
        "error_code": error_code,
    }
    retry_after = parse_seconds(headers.get("retry-after"))
    if retry_after is None and status_code == 429:
        # Seconds until the rate-limit window resets: the earliest a retry can succeed.
        retry_after = parse_seconds(headers.get("ratelimit-reset"))
    common["retry_after"] = retry_after
    if status_code >= 500:
        return ServerError(**common)
    cls = _STATUS_CLASSES.get(status_code, RenderAPIError)
    return cls(**common)
