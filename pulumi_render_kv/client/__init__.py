"""Typed, synchronous client for Render's Key Value REST API.

Imports nothing else from ``pulumi_render_kv``; see ``_client.py`` for the create rule,
``_errors.py`` for the error tree, ``_retry.py`` for the retry policy and ``_limiter.py`` for
the client-side rate limits.
"""

from ._client import RenderClient
from ._errors import (
    AmbiguousCreateError,
    ClientRateLimitedError,
    ConflictError,
    ForbiddenError,
    InvalidRequestError,
    NotFoundError,
    RateLimitedError,
    RenderAPIError,
    RenderConfigError,
    RenderError,
    RenderResponseError,
    RenderTimeoutError,
    RenderTransportError,
    ServerError,
    UnauthorizedError,
)
from ._limiter import ClientLimits, Rate
from ._models import (
    DATABASE_STATUSES,
    DEFAULT_REGION,
    CidrBlockAndDescription,
    Environment,
    KeyValueConnectionInfo,
    KeyValueDetail,
    KeyValueOptions,
    KeyValuePATCHInput,
    KeyValuePlan,
    KeyValuePOSTInput,
    KeyValueSummary,
    Maintenance,
    MaxmemoryPolicy,
    Owner,
    PersistenceMode,
    Region,
    ResourceLogStream,
    ResourceLogStreamPUTInput,
)
from ._redact import redact
from ._retry import RetryPolicy
from ._settings import DEFAULT_BASE_URL, RenderSettings, Timeouts

__all__ = [
    "DATABASE_STATUSES",
    "DEFAULT_BASE_URL",
    "DEFAULT_REGION",
    "AmbiguousCreateError",
    "CidrBlockAndDescription",
    "ClientLimits",
    "ClientRateLimitedError",
    "ConflictError",
    "Environment",
    "ForbiddenError",
    "InvalidRequestError",
    "KeyValueConnectionInfo",
    "KeyValueDetail",
    "KeyValueOptions",
    "KeyValuePATCHInput",
    "KeyValuePOSTInput",
    "KeyValuePlan",
    "KeyValueSummary",
    "Maintenance",
    "MaxmemoryPolicy",
    "NotFoundError",
    "Owner",
    "PersistenceMode",
    "Rate",
    "RateLimitedError",
    "Region",
    "RenderAPIError",
    "RenderClient",
    "RenderConfigError",
    "RenderError",
    "RenderResponseError",
    "RenderSettings",
    "RenderTimeoutError",
    "RenderTransportError",
    "ResourceLogStream",
    "ResourceLogStreamPUTInput",
    "RetryPolicy",
    "ServerError",
    "Timeouts",
    "UnauthorizedError",
    "redact",
]
