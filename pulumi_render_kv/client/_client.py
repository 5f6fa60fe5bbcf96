"""RenderClient: one method per Render API operation used for Key Value instances.

Methods are named after the spec's ``operationId`` in snake_case and return the wire models of
:mod:`._models`. Every call goes through the same path: client-side limiter → httpx → status
check (:func:`api_error_from_response`) → body parsing, wrapped in the one retry policy of
:mod:`._retry`.

Creating is the one operation that is never blindly repeated, because Render has no
idempotency key. :meth:`RenderClient.create_key_value`:

1. knows the instances with the same name, workspace and region from *before* the POST (the
   caller lists them, or it lists them itself: one GET per create) and never takes one of
   them for its own;
2. posts; a 429, or a connection that never reached Render, proves nothing was created and
   is retried like anything else;
3. after an *uncertain* failure it looks for the instance instead of posting blindly. When
   Render's API itself answered (500, 503) it decided before answering: a short look
   (``RetryPolicy.create_confirm_window``, 3 s) that finds nothing new proves nothing was
   made, and the POST is sent again. When nothing answered (a timeout, a dropped
   connection) or a proxy did (502, 504), Render may act long after the client stopped
   waiting, so it keeps looking for up to ``RetryPolicy.create_lookup_window`` seconds (90
   by default, within the call's deadline).
4. A new same-named instance found that way is *not* taken over: another writer creating
   the same name in the same moment (a second stack of one program) makes one that looks
   exactly like ours, and two stacks holding one instance means one stack's destroy deletes
   the other's data. :class:`AmbiguousCreateError` names the candidates and the caller
   hands the decision to the user, unless it passed ``take_over=True`` (it adopts
   same-named instances anyway) and exactly one candidate has the settings sent and was
   created inside the POST's window.
"""

from __future__ import annotations

import functools
import hashlib
import logging
import random
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, ClassVar, NoReturn, Self, TypeVar
from urllib.parse import quote

from pydantic import BaseModel, Field, TypeAdapter, ValidationError

from ._errors import (
    AmbiguousCreateError,
    ClientRateLimitedError,
    InvalidRequestError,
    NotFoundError,
    RenderConfigError,
    RenderError,
    RenderResponseError,
    RenderTimeoutError,
    RenderTransportError,
    ServerError,
    api_error_from_response,
)
from ._limiter import LimitExceeded, RateLimiter, buckets_for
from ._models import (
    DEFAULT_REGION,
    Environment,
    KeyValueConnectionInfo,
    KeyValueDetail,
    KeyValuePATCHInput,
    KeyValuePOSTInput,
    KeyValueSummary,
    KeyValueWithCursor,
    MaintenancePATCHInput,
    MaintenanceRun,
    Owner,
    OwnerWithCursor,
    ResourceLogStream,
    ResourceLogStreamPUTInput,
    TimeSeries,
    _Request,
    _Response,
    request_json,
)
from ._pagination import MAX_PAGE_SIZE, iterate_pages
from ._redact import redact
from ._retry import AttemptInfo, RetryPolicy, is_retryable, maybe_acted, run_with_retries
from ._settings import ENV_OWNER_ID, RenderSettings, _refuse_pickle

if TYPE_CHECKING:
    import httpx

__all__ = ["RenderClient"]

logger = logging.getLogger("pulumi_render_kv.client")

M = TypeVar("M", bound=BaseModel)
T = TypeVar("T")

# What a triggered run moves on to: a retried trigger that meets one of these was ours.
_TRIGGERED_STATES = frozenset({"in_progress", "succeeded", "failed", "user_fix_required"})


@functools.cache
def _page_of(model: type[M]) -> TypeAdapter[list[M]]:
    # Made by the first client, not at import: a TypeAdapter builds its validator when made,
    # and most processes that import the client (each preview's) never read a page.
    return TypeAdapter(list[model])  # type: ignore[valid-type]


_BUILD_LOCK = threading.Lock()


def _build_validators() -> None:
    """Build every wire model's validator (deferred at import), once, before any request.

    The SDK's provider server runs four calls at once, and pydantic's own build on first use
    was not thread-safe until recent releases (pydantic#13419: a model racing its first
    validation in two threads could use its parent's validator); this package accepts older
    ones. Under one lock, the first client builds them all.
    """
    with _BUILD_LOCK:
        pending: list[type[BaseModel]] = [_Request, _Response]
        while pending:
            model = pending.pop()
            pending.extend(model.__subclasses__())
            if not model.__pydantic_complete__:
                model.model_rebuild()
        for listed in (KeyValueWithCursor, OwnerWithCursor, MaintenanceRun, TimeSeries):
            _page_of(listed)


# How far Render's clock (``createdAt``) and ours may disagree. An error in either direction
# only makes recovery refuse an instance (a CreateIncomplete for the user), never accept one.
CLOCK_SKEW = 5.0


class _EnvironmentResourcesPOSTInput(_Request):
    resource_ids: list[str] = Field(min_length=1)


@dataclass(frozen=True, slots=True)
class _Op:
    """One operation: method, spec path template and the concrete path."""

    method: str
    template: str
    path: str
    is_create: bool = False


class _UncertainCreate(Exception):
    """A POST that may have created the instance: stops the retries, never re-posted."""

    def __init__(self, error: RenderError) -> None:
        self.error = error
        super().__init__(str(error))


@dataclass
class _PostWindow:
    """When (epoch seconds, our clock) the uncertain POST could have acted."""

    start: float = 0.0
    end: float | None = None

    def admits(self, kv: KeyValueSummary) -> bool:
        created = kv.created_at.timestamp()
        if created < self.start - CLOCK_SKEW:
            return False
        return self.end is None or created <= self.end + CLOCK_SKEW


def _matches(kv: KeyValueSummary, body: KeyValuePOSTInput) -> bool:
    """Whether ``kv`` has every setting ``body`` sent (what Render defaults is not compared)."""
    sent = (
        (body.plan, kv.plan),
        (body.maxmemory_policy, kv.options.maxmemory_policy),
        (body.persistence_mode, kv.options.persistence_mode),
        (body.environment_id, kv.environment_id),
    )
    return all(want is None or want == got for want, got in sent)


def _decided(error: RenderError) -> bool:
    """Whether Render's API itself answered the failed request (so it acts no later)."""
    return isinstance(error, ServerError) and error.status_code in (500, 503)


def _segment(value: str, what: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"{what} must be a non-empty string, got {value!r}")
    return quote(value, safe="")


def _csv(value: str | Sequence[str] | None, what: str) -> str | None:
    """Encode an array filter the way the spec asks (``style: form, explode: false``)."""
    if value is None:
        return None
    values = [value] if isinstance(value, str) else list(value)
    if not values or not all(isinstance(v, str) and v for v in values):
        raise ValueError(f"{what} filter must be None or non-empty strings, got {value!r}")
    return ",".join(values)


def _timestamp(value: datetime | None, what: str) -> str | None:
    """A query timestamp in RFC 3339 UTC (``…Z``); naive datetimes are refused, not guessed."""
    if value is None:
        return None
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{what} must be timezone-aware (e.g. datetime.now(UTC)), got {value!r}")
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _describe(error: ValidationError) -> str:
    """Validation problems without the input values (they may hold connection strings)."""
    problems = [
        f"{'.'.join(str(part) for part in item['loc']) or '<body>'}: {item['msg']}"
        for item in error.errors(include_input=False, include_url=False)
    ]
    more = f" (and {len(problems) - 5} more)" if len(problems) > 5 else ""
    return "; ".join(problems[:5]) + more


class RenderClient:
    """A synchronous, thread-safe client for Render's Key Value API.

    ``transport`` replaces the network (tests pass ``httpx.MockTransport``); ``clock`` (a
    monotonic clock), ``sleep``, ``rng`` (a ``random()``-like callable for backoff jitter)
    and ``wall_clock`` (epoch seconds) are injectable so retry and limiter tests never sleep.

    Methods that take ``timeout`` end by then (plus at most one request timeout): retries
    and waits inside them are cut to the time left.
    """

    _shared_clients: ClassVar[dict[tuple[Any, ...], RenderClient]] = {}
    _shared_lock: ClassVar[threading.Lock] = threading.Lock()

    def __init__(
        self,
        settings: RenderSettings,
        *,
        transport: httpx.BaseTransport | None = None,
        clock: Callable[[], float] | None = None,
        sleep: Callable[[float], None] | None = None,
        rng: Callable[[], float] | None = None,
        wall_clock: Callable[[], float] | None = None,
    ) -> None:
        self._settings = settings
        # Epoch seconds, compared with Render's createdAt after an uncertain create.
        self._wall_clock = wall_clock or time.time
        self._clock = clock or time.monotonic
        self._sleep = sleep or time.sleep
        self._rng = rng or random.random
        self._limiter = RateLimiter(settings.limits, clock=self._clock, sleep=self._sleep)
        # httpx is imported with the first client, not with the package (issue 16).
        from . import _http  # noqa: PLC0415

        self._http = _http.new_pool(settings, transport)
        _build_validators()
        self._lock = threading.Lock()
        self._counts: dict[str, int] = {}
        self._owner_id = settings.owner_id

    # -- lifecycle ---------------------------------------------------------------------------------

    @classmethod
    def shared(cls, settings: RenderSettings) -> RenderClient:
        """The process-wide client for these settings (one connection pool and one limiter).

        Cached per base URL and API-key hash (plus the other settings, so two stacks with
        different workspaces never share a resolved owner). Thread-safe.
        """
        digest = hashlib.sha256(settings.api_key.get_secret_value().encode()).hexdigest()
        key = (
            settings.base_url,
            digest,
            settings.owner_id,
            settings.limits,
            settings.timeouts,
            settings.retry,
        )
        with cls._shared_lock:
            client = cls._shared_clients.get(key)
            if client is None or client.is_closed:
                client = cls(settings)
                cls._shared_clients[key] = client
            return client

    @property
    def settings(self) -> RenderSettings:
        return self._settings

    @property
    def is_closed(self) -> bool:
        return self._http.is_closed

    def close(self) -> None:
        """Close the connection pool. Further calls fail."""
        self._http.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"RenderClient(base_url={self._settings.base_url!r}, owner_id={self._owner_id!r})"

    def __reduce__(self) -> NoReturn:
        _refuse_pickle("RenderClient")

    def __reduce_ex__(self, protocol: Any) -> NoReturn:
        _refuse_pickle("RenderClient")

    @property
    def request_count(self) -> dict[str, int]:
        """HTTP requests handed to the transport so far, per method (retries included)."""
        with self._lock:
            return dict(self._counts)

    # -- plumbing ----------------------------------------------------------------------------------

    def _send(
        self,
        op: _Op,
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
                deadline=self._settings.retry.deadline,
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
        return (self._settings.api_key.get_secret_value(),)

    def _cause(self, exc: httpx.HTTPError, secrets: tuple[str, ...] = ()) -> str:
        text = redact(str(exc), (*self._secret_values(), *secrets)).strip()
        return f"{type(exc).__name__}: {text}" if text else type(exc).__name__

    def _parse(self, op: _Op, response: httpx.Response, model: type[M]) -> M:
        try:
            return model.model_validate_json(response.content)
        except ValidationError as exc:
            raise RenderResponseError(
                method=op.method, path=op.path, detail=_describe(exc)
            ) from None

    def _parse_page(self, op: _Op, response: httpx.Response, adapter: TypeAdapter[T]) -> T:
        try:
            return adapter.validate_json(response.content)
        except ValidationError as exc:
            raise RenderResponseError(
                method=op.method, path=op.path, detail=_describe(exc)
            ) from None

    def _policy(self, timeout: float | None) -> RetryPolicy:
        """The retry policy, its deadline cut to ``timeout`` seconds when one is given."""
        policy = self._settings.retry
        if timeout is None or timeout >= policy.deadline:
            return policy
        return replace(policy, deadline=max(0.0, timeout))

    def _retrying(
        self, op: _Op, attempt: Callable[[AttemptInfo], T], *, policy: RetryPolicy | None = None
    ) -> T:
        return run_with_retries(
            attempt,
            policy=policy or self._settings.retry,
            method=op.method,
            path=op.path,
            clock=self._clock,
            sleep=self._sleep,
            rng=self._rng,
        )

    def _call(
        self,
        op: _Op,
        *,
        params: dict[str, str | None] | None = None,
        body: bytes | None = None,
        policy: RetryPolicy | None = None,
        secrets: tuple[str, ...] = (),
    ) -> httpx.Response:
        """Send with the retry policy; for operations that are safe to repeat as they are."""
        return self._retrying(
            op,
            lambda info: self._send(
                op, deadline=info.deadline, params=params, body=body, secrets=secrets
            ),
            policy=policy,
        )

    def _list_key_value(
        self,
        params: dict[str, str | None],
        limit: int,
        *,
        deadline: float | None,
        policy: RetryPolicy | None = None,
    ) -> list[KeyValueSummary]:
        """All pages; each page retried on its own, or sent once if ``deadline`` is given."""
        op = _Op("GET", "/key-value", "/key-value")
        if not 1 <= limit <= MAX_PAGE_SIZE:
            raise ValueError(f"limit must be between 1 and {MAX_PAGE_SIZE}, got {limit}")

        def fetch(cursor: str | None) -> list[tuple[KeyValueSummary, str | None]]:
            query = {**params, "limit": str(limit), "cursor": cursor}
            if deadline is None:
                response = self._call(op, params=query, policy=policy)
            else:
                response = self._send(op, deadline=deadline, params=query)
            page = self._parse_page(op, response, _page_of(KeyValueWithCursor))
            return [(entry.key_value, entry.cursor) for entry in page]

        return list(iterate_pages(fetch, limit=limit, method=op.method, path=op.path))

    # -- Key Value ---------------------------------------------------------------------------------

    def list_key_value(
        self,
        *,
        name: str | Sequence[str] | None = None,
        region: str | Sequence[str] | None = None,
        owner_id: str | Sequence[str] | None = None,
        environment_id: str | Sequence[str] | None = None,
        limit: int = MAX_PAGE_SIZE,
    ) -> list[KeyValueSummary]:
        """``GET /key-value``: every instance matching the filters, following cursors to the end.

        Filters take one value or several (OR within a filter, AND across filters).
        """
        params = {
            "name": _csv(name, "name"),
            "region": _csv(region, "region"),
            "ownerId": _csv(owner_id, "owner_id"),
            "environmentId": _csv(environment_id, "environment_id"),
        }
        return self._list_key_value(params, limit, deadline=None)

    def list_key_value_named(
        self, name: str, *, owner_id: str, region: str | None = None
    ) -> list[KeyValueSummary]:
        """Every instance called exactly ``name`` in the workspace (and region, if given).

        Render's ``name`` filter is a comma-separated list, so a name holding a comma cannot
        be expressed in it: such a name is looked up without the filter and matched here. The
        filter's matching rules are not documented either, so a near-namesake is never
        returned.
        """
        return self._named(name, owner_id=owner_id, region=region)

    def _named(
        self,
        name: str,
        *,
        owner_id: str,
        region: str | None = None,
        policy: RetryPolicy | None = None,
    ) -> list[KeyValueSummary]:
        """:meth:`list_key_value_named`, its retries bounded by ``policy`` (a create's)."""
        params = {
            "name": None if "," in name else name,
            "ownerId": _csv(owner_id, "owner_id"),
            "region": None if region is None else _csv(region, "region"),
        }
        found = self._list_key_value(params, MAX_PAGE_SIZE, deadline=None, policy=policy)
        return [
            kv
            for kv in found
            if kv.name == name and kv.owner.id == owner_id and region in (None, kv.region)
        ]

    def create_key_value(
        self,
        body: KeyValuePOSTInput,
        *,
        timeout: float | None = None,
        existing: Sequence[str] | None = None,
        take_over: bool = False,
    ) -> KeyValueDetail:
        """``POST /key-value``, never posting twice after an uncertain failure (module docstring).

        ``timeout`` bounds the whole call, the lookup after an uncertain failure included.
        ``existing`` are the ids of the instances with the body's name, workspace and region
        that the caller already listed (the client lists them itself when not given); none of
        them is ever taken for the one this call makes. ``take_over``: after an uncertain
        failure, return the one new instance that matches what was sent, instead of raising
        :class:`AmbiguousCreateError` for it (for a caller that would adopt a same-named
        instance anyway).
        """
        op = _Op("POST", "/key-value", "/key-value", is_create=True)
        payload = request_json(body)
        policy = self._policy(timeout)
        started = self._clock()
        region = body.region or DEFAULT_REGION
        if existing is None:
            existing = [
                kv.id
                for kv in self._named(
                    body.name, owner_id=body.owner_id, region=region, policy=policy
                )
            ]
        before = set(existing)
        window = _PostWindow()

        def attempt(info: AttemptInfo) -> KeyValueDetail:
            window.start = self._wall_clock()
            try:
                response = self._send(op, deadline=info.deadline, body=payload)
            except RenderError as error:
                if maybe_acted(error):
                    # Answered by the API itself (500, 503): it decided before answering.
                    # Unanswered, or answered by a proxy in front of it (502, 504): it may
                    # still act later, so the window stays open.
                    window.end = self._wall_clock() if _decided(error) else None
                    raise _UncertainCreate(error) from error
                raise
            return self._parse(op, response, KeyValueDetail)

        while True:
            left = started + policy.deadline - self._clock()
            try:
                return self._retrying(op, attempt, policy=replace(policy, deadline=max(0.0, left)))
            except _UncertainCreate as uncertain:
                cause = uncertain.error
            decided = _decided(cause)
            left = started + policy.deadline - self._clock()
            # A decided failure needs only a short look, and must leave time to post again.
            look = (
                min(policy.create_confirm_window, left / 2)
                if decided
                else policy.create_lookup_window
            )
            looked_from = self._clock()
            until = min(looked_from + look, started + policy.deadline)
            found = self._look_for_created(body, before=before, until=until, policy=policy)
            if found:
                return self._settle_found(
                    body, found, window=window, cause=cause, take_over=take_over
                )
            if not decided or self._clock() >= started + policy.deadline:
                raise AmbiguousCreateError(
                    name=body.name,
                    owner_id=body.owner_id,
                    region=region,
                    candidate_ids=(),
                    cause=str(cause),
                    looked_for=self._clock() - looked_from,
                )
            # Render answered and made nothing (the lookups agree): a new POST is safe.
            logger.info(
                "Render API POST /key-value answered %s and created nothing; posting again",
                type(cause).__name__,
            )

    def _look_for_created(
        self,
        body: KeyValuePOSTInput,
        *,
        before: set[str],
        until: float,
        policy: RetryPolicy,
    ) -> list[KeyValueSummary]:
        """After an uncertain POST: poll until a new same-named instance shows, or ``until``."""
        region = body.region or DEFAULT_REGION
        delay = policy.initial_backoff
        while True:
            # Each lookup's own retries end by ``until``, so the create ends by its timeout.
            left = replace(policy, deadline=max(0.0, until - self._clock()))
            try:
                named = self._named(body.name, owner_id=body.owner_id, region=region, policy=left)
            except RenderError as error:
                if not is_retryable(error):
                    raise
                named = []  # a transient failure of the lookup: look again later
            new = [kv for kv in named if kv.id not in before]
            if new:
                return new
            remaining = until - self._clock()
            if remaining <= 0:
                return []
            self._sleep(min(delay, remaining))
            delay = min(policy.max_backoff, delay * 2)

    def _settle_found(
        self,
        body: KeyValuePOSTInput,
        found: list[KeyValueSummary],
        *,
        window: _PostWindow,
        cause: RenderError,
        take_over: bool,
    ) -> KeyValueDetail:
        """New same-named instances after an uncertain POST: take ours only when allowed.

        An instance made inside the POST's window with what was sent is *probably* this
        call's, but another writer creating the same name at the same moment (a second stack
        of the same program) makes one that looks exactly alike. Taking it would leave two
        stacks holding one instance, and one stack's destroy would delete the other's data,
        so it is taken only for a caller that adopts same-named instances anyway.
        """
        ours = [kv for kv in found if window.admits(kv) and _matches(kv, body)]
        if take_over and len(ours) == 1:
            logger.warning(
                "Render API POST /key-value: found %s after the uncertain attempt; taking it over",
                ours[0].id,
            )
            return self.retrieve_key_value(ours[0].id)
        raise AmbiguousCreateError(
            name=body.name,
            owner_id=body.owner_id,
            region=body.region or DEFAULT_REGION,
            candidate_ids=sorted(kv.id for kv in found),
            cause=str(cause),
        )

    def _retrieve_op(self, key_value_id: str) -> _Op:
        path = f"/key-value/{_segment(key_value_id, 'key_value_id')}"
        return _Op("GET", "/key-value/{keyValueId}", path)

    def retrieve_key_value(
        self, key_value_id: str, *, timeout: float | None = None
    ) -> KeyValueDetail:
        """``GET /key-value/{keyValueId}``. Raises :class:`NotFoundError` if it does not exist."""
        op = self._retrieve_op(key_value_id)
        policy = self._policy(timeout)
        return self._parse(op, self._call(op, policy=policy), KeyValueDetail)

    def update_key_value(self, key_value_id: str, body: KeyValuePATCHInput) -> KeyValueDetail:
        """``PATCH /key-value/{keyValueId}`` with only the fields set in ``body``."""
        path = f"/key-value/{_segment(key_value_id, 'key_value_id')}"
        op = _Op("PATCH", "/key-value/{keyValueId}", path)
        return self._parse(op, self._call(op, body=request_json(body)), KeyValueDetail)

    def delete_key_value(self, key_value_id: str) -> None:
        """``DELETE /key-value/{keyValueId}``.

        A 404 on the first attempt raises :class:`NotFoundError`. A 404 after an attempt that
        may have reached Render (5xx, or a connection lost after sending) means that attempt
        deleted it, and counts as done.
        """
        path = f"/key-value/{_segment(key_value_id, 'key_value_id')}"
        self._delete(_Op("DELETE", "/key-value/{keyValueId}", path))

    def _delete(self, op: _Op) -> None:
        """A DELETE, retried; a 404 after an attempt that may have acted counts as done."""

        def attempt(info: AttemptInfo) -> None:
            try:
                self._send(op, deadline=info.deadline)
            except NotFoundError:
                if any(maybe_acted(error) for error in info.previous_errors):
                    logger.info(
                        "Render API DELETE %s: gone after an uncertain attempt; done", op.path
                    )
                    return
                raise

        self._retrying(op, attempt)

    def retrieve_key_value_connection_info(self, key_value_id: str) -> KeyValueConnectionInfo:
        """``GET /key-value/{keyValueId}/connection-info`` (secret strings)."""
        path = f"/key-value/{_segment(key_value_id, 'key_value_id')}/connection-info"
        op = _Op("GET", "/key-value/{keyValueId}/connection-info", path)
        return self._parse(op, self._call(op), KeyValueConnectionInfo)

    def suspend_key_value(self, key_value_id: str) -> None:
        """``POST /key-value/{keyValueId}/suspend`` (202, no body)."""
        path = f"/key-value/{_segment(key_value_id, 'key_value_id')}/suspend"
        self._call(_Op("POST", "/key-value/{keyValueId}/suspend", path))

    def resume_key_value(self, key_value_id: str) -> None:
        """``POST /key-value/{keyValueId}/resume`` (202, no body)."""
        path = f"/key-value/{_segment(key_value_id, 'key_value_id')}/resume"
        self._call(_Op("POST", "/key-value/{keyValueId}/resume", path))

    # -- log streams -------------------------------------------------------------------------------

    @staticmethod
    def _log_stream_op(method: str, resource_id: str) -> _Op:
        path = f"/logs/streams/resource/{_segment(resource_id, 'resource_id')}"
        return _Op(method, "/logs/streams/resource/{resourceId}", path)

    def get_resource_log_stream(self, resource_id: str) -> ResourceLogStream | None:
        """``GET /logs/streams/resource/{resourceId}``; ``None`` when there is no override.

        Render answers 404 ``not found: <id>`` for a resource without an override (recorded).
        """
        op = self._log_stream_op("GET", resource_id)
        try:
            response = self._call(op)
        except NotFoundError:
            return None
        return self._parse(op, response, ResourceLogStream)

    def update_resource_log_stream(
        self, resource_id: str, body: ResourceLogStreamPUTInput
    ) -> ResourceLogStream:
        """``PUT /logs/streams/resource/{resourceId}`` (a replacement: safe to repeat).

        The token's value is scrubbed from any error, like the API key.
        """
        op = self._log_stream_op("PUT", resource_id)
        token = () if body.token is None else (body.token.get_secret_value(),)
        response = self._call(op, body=request_json(body), secrets=token)
        return self._parse(op, response, ResourceLogStream)

    def delete_resource_log_stream(self, resource_id: str) -> None:
        """``DELETE /logs/streams/resource/{resourceId}`` (204): back to the workspace default.

        404 handling as in :meth:`delete_key_value`.
        """
        self._delete(self._log_stream_op("DELETE", resource_id))

    # -- maintenance -------------------------------------------------------------------------------

    def list_maintenance(
        self,
        *,
        resource_id: str | Sequence[str] | None = None,
        owner_id: str | Sequence[str] | None = None,
        state: str | Sequence[str] | None = None,
    ) -> list[MaintenanceRun]:
        """``GET /maintenance``: scheduled and recent runs of the resources (one bare array).

        Filters take one value or several, as :meth:`list_key_value`'s do.
        """
        op = _Op("GET", "/maintenance", "/maintenance")
        params = {
            "resourceId": _csv(resource_id, "resource_id"),
            "ownerId": _csv(owner_id, "owner_id"),
            "state": _csv(state, "state"),
        }
        return self._parse_page(op, self._call(op, params=params), _page_of(MaintenanceRun))

    @staticmethod
    def _maintenance_op(method: str, maintenance_id: str, suffix: str = "") -> _Op:
        path = f"/maintenance/{_segment(maintenance_id, 'maintenance_id')}{suffix}"
        return _Op(method, "/maintenance/{maintenanceRunParam}" + suffix, path)

    def retrieve_maintenance(self, maintenance_id: str) -> MaintenanceRun:
        """``GET /maintenance/{maintenanceRunParam}`` (an ``mrn-…`` id)."""
        op = self._maintenance_op("GET", maintenance_id)
        return self._parse(op, self._call(op), MaintenanceRun)

    def update_maintenance(self, maintenance_id: str, scheduled_at: datetime) -> None:
        """``PATCH /maintenance/{maintenanceRunParam}`` (202): move the run to ``scheduled_at``.

        Render refuses (400) a time after the run's ``pendingMaintenanceBy``. Setting a time is
        a replacement, so repeating it after an uncertain failure is harmless. Asynchronous on
        Render: read the run back to see the new time.
        """
        op = self._maintenance_op("PATCH", maintenance_id)
        body = MaintenancePATCHInput(scheduled_at=scheduled_at)
        self._call(op, body=request_json(body))

    def trigger_maintenance(self, maintenance_id: str) -> None:
        """``POST /maintenance/{maintenanceRunParam}/trigger`` (202): start the run now.

        A retry after an attempt that may have reached Render can meet a run that attempt
        already started; Render then refuses the trigger (400), and the run's state (no longer
        ``scheduled``) shows it was done, so that counts as success.
        """
        op = self._maintenance_op("POST", maintenance_id, "/trigger")

        def attempt(info: AttemptInfo) -> None:
            try:
                self._send(op, deadline=info.deadline)
            except InvalidRequestError:
                if not any(maybe_acted(error) for error in info.previous_errors):
                    raise
                if self.retrieve_maintenance(maintenance_id).state not in _TRIGGERED_STATES:
                    raise
                logger.info("Render API POST %s: started by an uncertain attempt; done", op.path)

        self._retrying(op, attempt)

    # -- metrics -----------------------------------------------------------------------------------

    def _metrics(
        self,
        path: str,
        resource_id: str | Sequence[str],
        start_time: datetime | None,
        end_time: datetime | None,
        resolution_seconds: int | None,
    ) -> list[TimeSeries]:
        op = _Op("GET", path, path)
        if resolution_seconds is not None and resolution_seconds < 30:
            raise ValueError(f"resolution_seconds must be at least 30, got {resolution_seconds}")
        params = {
            "resource": _csv(resource_id, "resource_id"),
            "startTime": _timestamp(start_time, "start_time"),
            "endTime": _timestamp(end_time, "end_time"),
            "resolutionSeconds": None if resolution_seconds is None else str(resolution_seconds),
        }
        return self._parse_page(op, self._call(op, params=params), _page_of(TimeSeries))

    def get_memory(
        self,
        resource_id: str | Sequence[str],
        *,
        start_time: datetime | None = None,
        end_time: datetime | None = None,
        resolution_seconds: int | None = None,
    ) -> list[TimeSeries]:
        """``GET /metrics/memory``: used memory (bytes) of Key Value instances, one series each.

        Render's defaults: the last hour, 60 s resolution (at least 30).
        """
        return self._metrics(
            "/metrics/memory", resource_id, start_time, end_time, resolution_seconds
        )

    def get_active_connections(
        self,
        resource_id: str | Sequence[str],
        *,
        start_time: datetime | None = None,
        end_time: datetime | None = None,
        resolution_seconds: int | None = None,
    ) -> list[TimeSeries]:
        """``GET /metrics/active-connections``: connected clients, one series per instance."""
        return self._metrics(
            "/metrics/active-connections", resource_id, start_time, end_time, resolution_seconds
        )

    def get_cpu(
        self,
        resource_id: str | Sequence[str],
        *,
        start_time: datetime | None = None,
        end_time: datetime | None = None,
        resolution_seconds: int | None = None,
    ) -> list[TimeSeries]:
        """``GET /metrics/cpu``: CPU used (cores), one series per instance."""
        return self._metrics("/metrics/cpu", resource_id, start_time, end_time, resolution_seconds)

    # -- workspaces --------------------------------------------------------------------------------

    def list_owners(self, *, limit: int = MAX_PAGE_SIZE) -> list[Owner]:
        """``GET /owners``: every workspace the API key can use."""
        op = _Op("GET", "/owners", "/owners")
        if not 1 <= limit <= MAX_PAGE_SIZE:
            raise ValueError(f"limit must be between 1 and {MAX_PAGE_SIZE}, got {limit}")

        def fetch(cursor: str | None) -> list[tuple[Owner, str | None]]:
            response = self._call(op, params={"limit": str(limit), "cursor": cursor})
            page = self._parse_page(op, response, _page_of(OwnerWithCursor))
            return [(entry.owner, entry.cursor) for entry in page]

        return list(iterate_pages(fetch, limit=limit, method=op.method, path=op.path))

    def resolve_owner_id(self) -> str:
        """The workspace to create in: the configured one, else the key's only workspace."""
        with self._lock:
            if self._owner_id:
                return self._owner_id
        owners = self.list_owners()
        if len(owners) == 1:
            with self._lock:
                self._owner_id = owners[0].id
            return owners[0].id
        how = f"set {ENV_OWNER_ID}=<id> or run `pulumi config set render:ownerId <id>`"
        if not owners:
            raise RenderConfigError(
                "The Render API key has access to no workspace, so there is nowhere to create "
                f"Key Value instances. Check that the key is the right one, or {how}."
            )
        listing = ", ".join(f"{owner.name!r} ({owner.id})" for owner in owners)
        raise RenderConfigError(
            f"The Render API key can use {len(owners)} workspaces: {listing}. Choose one: {how}."
        )

    # -- environments ------------------------------------------------------------------------------

    def retrieve_environment(self, environment_id: str) -> Environment:
        """``GET /environments/{environmentId}``."""
        path = f"/environments/{_segment(environment_id, 'environment_id')}"
        op = _Op("GET", "/environments/{environmentId}", path)
        return self._parse(op, self._call(op), Environment)

    def add_resources_to_environment(
        self, environment_id: str, resource_ids: Sequence[str]
    ) -> None:
        """``POST /environments/{environmentId}/resources`` (moves resources into it).

        Adding is a set operation, so repeating it after an uncertain failure is harmless.
        """
        path = f"/environments/{_segment(environment_id, 'environment_id')}/resources"
        op = _Op("POST", "/environments/{environmentId}/resources", path)
        body = _EnvironmentResourcesPOSTInput(resource_ids=list(resource_ids))
        self._call(op, body=request_json(body))

    def remove_resources_from_environment(
        self, environment_id: str, resource_ids: Sequence[str]
    ) -> None:
        """``DELETE /environments/{environmentId}/resources?resourceIds=a,b``."""
        path = f"/environments/{_segment(environment_id, 'environment_id')}/resources"
        op = _Op("DELETE", "/environments/{environmentId}/resources", path)
        ids = list(resource_ids)
        if not ids:
            raise ValueError("resource_ids must not be empty")
        self._call(op, params={"resourceIds": _csv(ids, "resource_ids")})
