"""RenderClient: one method per Render API operation used for Key Value instances.

Methods are named after the spec's ``operationId`` in snake_case and return the wire models of
:mod:`._models`. The client is made of its endpoint groups (:mod:`._key_value`,
:mod:`._log_streams`, :mod:`._maintenance`, :mod:`._metrics`, :mod:`._workspaces`), which all
send through one :class:`~._calls.Caller`: client-side limiter → httpx → status check
(:func:`api_error_from_response`) → body parsing (:mod:`._parsing`), wrapped in the one retry
policy of :mod:`._retry`. Creating is the one operation never blindly repeated
(:mod:`._create`).
"""

from __future__ import annotations

import hashlib
import random
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, ClassVar, NoReturn, Self

from ._calls import Caller
from ._key_value import KeyValueEndpoints
from ._log_streams import LogStreamEndpoints
from ._maintenance import MaintenanceEndpoints
from ._metrics import MetricsEndpoints
from ._parsing import build_validators
from ._settings import RenderSettings, _refuse_pickle
from ._workspaces import WorkspaceEndpoints

if TYPE_CHECKING:
    import httpx

__all__ = ["RenderClient"]


class RenderClient(
    KeyValueEndpoints,
    LogStreamEndpoints,
    MaintenanceEndpoints,
    MetricsEndpoints,
    WorkspaceEndpoints,
):
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
        self._caller = Caller(
            settings,
            transport=transport,
            clock=clock or time.monotonic,
            sleep=sleep or time.sleep,
            rng=rng or random.random,
            wall_clock=wall_clock or time.time,
        )
        build_validators()
        self._owner_lock = threading.Lock()
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
        return self._caller.is_closed

    def close(self) -> None:
        """Close the connection pool. Further calls fail."""
        self._caller.close()

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
        return self._caller.request_count
