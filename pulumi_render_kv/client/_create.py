"""Creating a Key Value instance: never blindly repeated, because Render has no idempotency key.

:func:`create_key_value`:

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

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Protocol

from ._calls import Caller, Op
from ._errors import AmbiguousCreateError, RenderError, ServerError
from ._models import (
    DEFAULT_REGION,
    KeyValueDetail,
    KeyValuePOSTInput,
    KeyValueSummary,
    request_json,
)
from ._parsing import parse
from ._retry import AttemptInfo, RetryPolicy, is_retryable, maybe_acted

logger = logging.getLogger("pulumi_render_kv.client")

# How far Render's clock (``createdAt``) and ours may disagree. An error in either direction
# only makes recovery refuse an instance (a CreateIncomplete for the user), never accept one.
CLOCK_SKEW = 5.0


class NamedLookup(Protocol):
    """The instances called ``name`` in the workspace and region, retried within ``policy``."""

    def __call__(
        self,
        name: str,
        *,
        owner_id: str,
        region: str | None = None,
        policy: RetryPolicy | None = None,
    ) -> list[KeyValueSummary]: ...


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


def create_key_value(
    caller: Caller,
    body: KeyValuePOSTInput,
    *,
    named: NamedLookup,
    retrieve: Callable[[str], KeyValueDetail],
    timeout: float | None,
    existing: Sequence[str] | None,
    take_over: bool,
) -> KeyValueDetail:
    """``POST /key-value``, never posting twice after an uncertain failure (module docstring).

    ``named`` lists the same-named instances (before the POST and after an uncertain one);
    ``retrieve`` reads the one taken over. The other arguments are
    :meth:`RenderClient.create_key_value`'s.
    """
    op = Op("POST", "/key-value", "/key-value", is_create=True)
    payload = request_json(body)
    policy = caller.policy(timeout)
    started = caller.clock()
    region = body.region or DEFAULT_REGION
    if existing is None:
        existing = [
            kv.id for kv in named(body.name, owner_id=body.owner_id, region=region, policy=policy)
        ]
    before = set(existing)
    window = _PostWindow()

    def attempt(info: AttemptInfo) -> KeyValueDetail:
        window.start = caller.wall_clock()
        try:
            response = caller.send(op, deadline=info.deadline, body=payload)
        except RenderError as error:
            if maybe_acted(error):
                # Answered by the API itself (500, 503): it decided before answering.
                # Unanswered, or answered by a proxy in front of it (502, 504): it may
                # still act later, so the window stays open.
                window.end = caller.wall_clock() if _decided(error) else None
                raise _UncertainCreate(error) from error
            raise
        return parse(op, response, KeyValueDetail)

    while True:
        left = started + policy.deadline - caller.clock()
        try:
            return caller.retrying(op, attempt, policy=replace(policy, deadline=max(0.0, left)))
        except _UncertainCreate as uncertain:
            cause = uncertain.error
        decided = _decided(cause)
        left = started + policy.deadline - caller.clock()
        # A decided failure needs only a short look, and must leave time to post again.
        look = (
            min(policy.create_confirm_window, left / 2) if decided else policy.create_lookup_window
        )
        looked_from = caller.clock()
        until = min(looked_from + look, started + policy.deadline)
        found = _look_for_created(
            caller, body, named=named, before=before, until=until, policy=policy
        )
        if found:
            return _settle_found(
                body, found, retrieve=retrieve, window=window, cause=cause, take_over=take_over
            )
        if not decided or caller.clock() >= started + policy.deadline:
            raise AmbiguousCreateError(
                name=body.name,
                owner_id=body.owner_id,
                region=region,
                candidate_ids=(),
                cause=str(cause),
                looked_for=caller.clock() - looked_from,
            )
        # Render answered and made nothing (the lookups agree): a new POST is safe.
        logger.info(
            "Render API POST /key-value answered %s and created nothing; posting again",
            type(cause).__name__,
        )


def _look_for_created(
    caller: Caller,
    body: KeyValuePOSTInput,
    *,
    named: NamedLookup,
    before: set[str],
    until: float,
    policy: RetryPolicy,
) -> list[KeyValueSummary]:
    """After an uncertain POST: poll until a new same-named instance shows, or ``until``."""
    region = body.region or DEFAULT_REGION
    delay = policy.initial_backoff
    while True:
        # Each lookup's own retries end by ``until``, so the create ends by its timeout.
        left = replace(policy, deadline=max(0.0, until - caller.clock()))
        try:
            found = named(body.name, owner_id=body.owner_id, region=region, policy=left)
        except RenderError as error:
            if not is_retryable(error):
                raise
            found = []  # a transient failure of the lookup: look again later
        new = [kv for kv in found if kv.id not in before]
        if new:
            return new
        remaining = until - caller.clock()
        if remaining <= 0:
            return []
        caller.sleep(min(delay, remaining))
        delay = min(policy.max_backoff, delay * 2)


def _settle_found(
    body: KeyValuePOSTInput,
    found: list[KeyValueSummary],
    *,
    retrieve: Callable[[str], KeyValueDetail],
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
        return retrieve(ours[0].id)
    raise AmbiguousCreateError(
        name=body.name,
        owner_id=body.owner_id,
        region=body.region or DEFAULT_REGION,
        candidate_ids=sorted(kv.id for kv in found),
        cause=str(cause),
    )
