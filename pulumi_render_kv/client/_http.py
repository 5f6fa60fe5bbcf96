"""The httpx side of the client: the connection pool, the auth hook, the transport errors.

Imported when the first :class:`RenderClient` is made, not with the package: every provider
process imports the client with ``pulumi_render_kv``, and most (each preview's) never call
the API, so they do not pay for importing httpx (issue 16: cold start).
"""

from __future__ import annotations

from collections.abc import Generator
from importlib import metadata
from typing import TYPE_CHECKING

import httpx

if TYPE_CHECKING:
    from ._settings import RenderSettings

# Transport failures raised before any byte of the request reached Render.
NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout, httpx.UnsupportedProtocol)


def user_agent() -> str:
    try:
        version = metadata.version("pulumi-render-kv")
    except metadata.PackageNotFoundError:  # pragma: no cover - running from a plain checkout
        version = "0+unknown"
    return f"pulumi-render-kv/{version} python-httpx/{httpx.__version__}"


class BearerAuth(httpx.Auth):
    """Adds ``Authorization: Bearer`` per request; the key stays a SecretStr until then."""

    def __init__(self, settings: RenderSettings) -> None:
        self._key = settings.api_key

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        request.headers["Authorization"] = f"Bearer {self._key.get_secret_value()}"
        yield request

    def __repr__(self) -> str:
        return "<BearerAuth ***>"


def new_pool(settings: RenderSettings, transport: httpx.BaseTransport | None) -> httpx.Client:
    """The client's connection pool: Render's base URL, the key, no redirects followed."""
    return httpx.Client(
        base_url=settings.base_url + "/",
        transport=transport,
        timeout=settings.timeouts.to_httpx(),
        auth=BearerAuth(settings),
        headers={"Accept": "application/json", "User-Agent": user_agent()},
        follow_redirects=False,
        trust_env=transport is None,
    )
