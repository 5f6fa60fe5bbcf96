"""Errors the KeyValue resource raises, with one clear sentence each.

A Pulumi user reads the exception's message under the SDK's traceback, so every message
names the resource, what went wrong and what to do. Errors from Render's API come from
``pulumi_render_kv.client`` (already scrubbed of secrets) and are re-exported here.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Final

from pulumi_render_kv.spec import InputError

if TYPE_CHECKING:
    from pulumi_render_kv.client import (
        ConflictError,
        ForbiddenError,
        InvalidRequestError,
        NotFoundError,
        RateLimitedError,
        RenderAPIError,
        RenderError,
        RenderTimeoutError,
        RenderTransportError,
        ServerError,
        UnauthorizedError,
    )

# The client's errors are re-exported on first use of their names (PEP 562): importing the
# client imports pydantic and its models, which check and diff never need, and every
# preview's provider process imports this module (issue 16, target 3).
_FROM_CLIENT: Final = frozenset(
    {
        "ConflictError",
        "ForbiddenError",
        "InvalidRequestError",
        "NotFoundError",
        "RateLimitedError",
        "RenderAPIError",
        "RenderError",
        "RenderTimeoutError",
        "RenderTransportError",
        "ServerError",
        "UnauthorizedError",
    }
)


def __getattr__(name: str) -> Any:
    if name in _FROM_CLIENT:
        from pulumi_render_kv import client  # noqa: PLC0415

        return getattr(client, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted({*globals(), *_FROM_CLIENT})


class KeyValueError(Exception):
    """Base class of the errors the KeyValue resource itself raises."""


class PlanRejected(KeyValueError):
    """The change cannot be applied (a downgrade, unconsented data loss, protection)."""


class WaitTimedOut(KeyValueError):
    """The instance did not become available within ``wait_timeout``."""


class InstanceFailed(KeyValueError):
    """The instance reached a status it will not recover from by waiting."""


class CreateIncomplete(KeyValueError):
    """A create that did not finish; an instance may exist that is not in Pulumi's state.

    ``instance_id`` is set when the instance is known to exist; otherwise ``candidate_ids``
    lists instances that may be it (possibly none: the create may not have acted at all).
    ``outputs`` are what is known of an instance that exists (its inputs, workspace and
    status), for a provider that can record it in state as a partial create.
    """

    def __init__(
        self,
        message: str,
        *,
        instance_id: str | None = None,
        candidate_ids: tuple[str, ...] = (),
        outputs: Mapping[str, Any] | None = None,
    ) -> None:
        self.instance_id = instance_id
        self.candidate_ids = candidate_ids
        self.outputs = dict(outputs) if outputs is not None else None
        super().__init__(message)


class DeletionProtected(KeyValueError):
    """``delete`` was refused because ``deletion_protection`` is on.

    Only where Pulumi's ``protect`` was not set with it (overridden, or an ``Output``): with
    it, the engine refuses first, and a delete after ``pulumi state unprotect`` goes ahead.
    The message names both ways on: ``pulumi state delete`` to keep the instance, or
    ``deletion_protection=False`` and ``pulumi up`` before removing it.
    """


class WorkspaceNotVisible(KeyValueError):
    """The API key cannot see the workspace an instance in state belongs to.

    Render answers 404 both for a deleted instance and for one the key may not see, so a
    refresh raises this instead of dropping the instance from state (a wrong or rotated key
    would otherwise orphan every instance, and the next ``up`` would create them again).
    """


class LookupFailed(KeyValueError):
    """A lookup by name found zero or several instances."""


class NameTaken(KeyValueError):
    """A create found instances with its name that Pulumi's state does not hold.

    Creating anyway would bill a same-named twin (after an interrupted ``pulumi up``, the
    next one would create every instance again), so the create stops before its POST and
    names the instances and the way to take one over. ``existing_ids`` lists them.
    """

    def __init__(self, message: str, *, existing_ids: tuple[str, ...]) -> None:
        self.existing_ids = existing_ids
        super().__init__(message)


class InstanceHeld(KeyValueError):
    """Another resource of the same deployment already holds the instance."""


class RenderCallFailed(KeyValueError):
    """A call to Render's API failed; the message says what we were doing and why it failed.

    ``cause`` is the client error (status code, Render's message and request id); its text
    is already scrubbed of secrets.
    """

    def __init__(self, action: str, cause: RenderError) -> None:
        self.action = action
        self.cause = cause
        super().__init__(f"Could not {action}: {cause}")


__all__ = [
    "ConflictError",
    "CreateIncomplete",
    "DeletionProtected",
    "ForbiddenError",
    "InputError",
    "InstanceFailed",
    "InstanceHeld",
    "InvalidRequestError",
    "KeyValueError",
    "LookupFailed",
    "NameTaken",
    "NotFoundError",
    "PlanRejected",
    "RateLimitedError",
    "RenderAPIError",
    "RenderCallFailed",
    "RenderError",
    "RenderTimeoutError",
    "RenderTransportError",
    "ServerError",
    "UnauthorizedError",
    "WaitTimedOut",
    "WorkspaceNotVisible",
]
