"""Render's error cases, one class each, with the status and message text the API answers.

Every error is answered as ``{"message": <text>}`` with the class's status (``routes.py`` does
the serialising; nothing here knows about HTTP beyond the number). Render documents the body
shape (``error`` schema: optional ``id``, ``message``) but, for the Key Value rules below, not
the wording: messages whose text was observed say so; the others are ours, written to name the
field, the value and the fix.

Tree::

    ApiError (status, message)
    ├── BadRequest                 400
    │   ├── InvalidBody            malformed JSON / not an object / missing body
    │   ├── MissingField           a required field is absent
    │   ├── UnknownField           a field the operation does not take
    │   ├── InvalidFieldType       a field of the wrong JSON type
    │   ├── InvalidEnumValue       a value outside the field's enum
    │   ├── InvalidFieldValue      any other bad value (empty name, bad CIDR, bad timestamp, …)
    │   ├── InvalidQueryParameter  unknown / repeated / malformed query parameter, limit bounds
    │   ├── PlanDowngrade          plans only move up: free < starter < standard < pro < pro_plus
    │   ├── FreeInstanceLimit      one free Key Value per workspace
    │   ├── PersistenceOnFreePlan  free instances have no persistence
    │   └── EnvironmentOwnerMismatch
    ├── Unauthorized               401
    ├── NotFound                   404  "not found: <id>" (observed wording)
    ├── MethodNotAllowed           405
    ├── NotAcceptable              406
    ├── Conflict                   409  (e.g. changing a suspended instance; inferred)
    ├── PayloadTooLarge            413  a body over the emulator's limit (ours: Render's unknown)
    ├── RateLimitExceeded          429  "rate limit exceeded" (spec-new example)
    ├── InternalError              500
    ├── Stopping                   503  the emulator stopped while the request waited
    └── InjectedFault              any status chosen through the control plane
"""

from __future__ import annotations


class ApiError(Exception):
    """Base of every error the emulator answers with; ``status`` is the HTTP status."""

    status: int = 500

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class BadRequest(ApiError):
    """400: the request could not be understood."""

    status = 400


class InvalidBody(BadRequest):
    """The body is missing, is not JSON, or is not a JSON object."""


class MissingField(BadRequest):
    """A required field of the request body is absent."""

    def __init__(self, field: str) -> None:
        super().__init__(f"missing required field: {field}")
        self.field = field


class UnknownField(BadRequest):
    """A field the operation does not accept (Render's own reaction is unknown; we reject)."""

    def __init__(self, field: str, operation: str, accepted: tuple[str, ...]) -> None:
        super().__init__(
            f"unknown field {field!r} for {operation}; accepted fields: {', '.join(accepted)}"
        )
        self.field = field


class InvalidFieldType(BadRequest):
    """A field has the wrong JSON type."""

    def __init__(self, field: str, expected: str) -> None:
        super().__init__(f"invalid value for {field}: expected {expected}")
        self.field = field


class InvalidEnumValue(BadRequest):
    """A value outside the field's documented enum."""

    def __init__(self, field: str, value: str, allowed: tuple[str, ...]) -> None:
        super().__init__(
            f"invalid value for {field}: {value!r} (must be one of: {', '.join(allowed)})"
        )
        self.field = field
        self.value = value


class InvalidFieldValue(BadRequest):
    """Any other bad value: empty name, unparsable CIDR block, bad timestamp, …"""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"invalid value for {field}: {reason}")
        self.field = field


class InvalidQueryParameter(BadRequest):
    """An unknown, repeated or malformed query parameter (including ``limit`` out of 1..100)."""

    def __init__(self, parameter: str, reason: str) -> None:
        super().__init__(f"invalid query parameter {parameter}: {reason}")
        self.parameter = parameter


class PlanDowngrade(BadRequest):
    """Plans can only be upgraded (Render docs: "It's not currently possible to downgrade")."""

    def __init__(self, current: str, requested: str) -> None:
        super().__init__(
            f"cannot change plan from {current} to {requested}: Key Value instances can only "
            f"be upgraded (free < starter < standard < pro < pro_plus); create a new instance "
            f"on the smaller plan and migrate instead"
        )
        self.current = current
        self.requested = requested


class FreeInstanceLimit(BadRequest):
    """Only one free Key Value instance per workspace (Render docs /free)."""

    def __init__(self, owner_id: str, existing_id: str) -> None:
        super().__init__(
            f"workspace {owner_id} already has a free Key Value instance ({existing_id}); "
            f"only one free instance is allowed per workspace: choose a paid plan or delete it"
        )
        self.owner_id = owner_id


class PersistenceOnFreePlan(BadRequest):
    """Free instances have no disk, so ``persistenceMode`` must be ``off`` on ``free``."""

    def __init__(self, mode: str) -> None:
        super().__init__(
            f"invalid value for persistenceMode: {mode!r} is not available on the free plan "
            f"(free instances have no persistence; use 'off' or a paid plan)"
        )
        self.mode = mode


class EnvironmentOwnerMismatch(BadRequest):
    """An instance and an environment belong to different workspaces."""

    def __init__(self, environment_id: str, owner_id: str) -> None:
        super().__init__(f"environment {environment_id} does not belong to workspace {owner_id}")


class Unauthorized(ApiError):
    """401: missing or wrong bearer token."""

    status = 401

    def __init__(self, message: str = "authorization information is missing or invalid") -> None:
        super().__init__(message)


class NotFound(ApiError):
    """404 with Render's observed wording ``not found: <id>``."""

    status = 404

    def __init__(self, resource_id: str) -> None:
        super().__init__(f"not found: {resource_id}")
        self.resource_id = resource_id


class MethodNotAllowed(ApiError):
    """405: the path exists but not for this method."""

    status = 405

    def __init__(self, method: str, path: str) -> None:
        super().__init__(f"method {method} not allowed for {path}")


class NotAcceptable(ApiError):
    """406: the Accept header asks for something other than JSON."""

    status = 406

    def __init__(self, accept: str) -> None:
        super().__init__(
            f"unable to generate preferred media types as specified by Accept request header "
            f"({accept!r}); this API only produces application/json"
        )


class Conflict(ApiError):
    """409: the current state of the resource conflicts with the request (inferred use)."""

    status = 409


class PayloadTooLarge(ApiError):
    """413: the body exceeds the emulator's limit; Render's own limit and answer are unknown."""

    status = 413

    def __init__(self, limit: int) -> None:
        super().__init__(f"request body is larger than the limit of {limit} bytes")
        self.limit = limit


class RateLimitExceeded(ApiError):
    """429 with the spec's example text; ``routes.py`` adds ``Retry-After``."""

    status = 429

    def __init__(self, retry_after: int) -> None:
        super().__init__("rate limit exceeded")
        self.retry_after = retry_after


class InternalError(ApiError):
    """500: something failed inside the emulator (for example a data-plane process)."""

    status = 500


class Stopping(ApiError):
    """503: the emulator began stopping while the request sat in an injected delay.

    The request is not acted on: the servers it would touch are being stopped.
    """

    status = 503

    def __init__(self) -> None:
        super().__init__("the emulator is stopping; the request was not carried out")


class InjectedFault(ApiError):
    """An error the control plane asked for; any status, optional ``Retry-After``."""

    def __init__(self, status: int, message: str, retry_after: int | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.retry_after = retry_after
