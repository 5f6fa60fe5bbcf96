"""The data plane's interface: its config and endpoint types, its error, and its protocol.

The backend talks to a :class:`DataPlaneLike`. In production that is
``pulumi_render_kv.emulator.dataplane.DataPlane`` (real ``valkey-server`` / ``redis-server``
processes); unit tests use a fake with the same methods. This module imports nothing, so the
backend, the HTTP layer and the fakes can use these types without loading the process code
(redis, cryptography); ``dataplane`` imports this module, never the other way round.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

__all__ = [
    "PERSISTENCE_MODES",
    "DataPlaneError",
    "DataPlaneLike",
    "Endpoints",
    "InstanceConfig",
    "PlaneEndpoints",
    "ServerStats",
    "Serving",
]

# Asked by the data plane at each new connection (and before relaying each request): False while
# the instance is not available (creating, restarting, suspended), so the connection is dropped.
Serving = Callable[[], bool]

# Render's persistence modes (the API's ``persistenceMode`` enum), in the spec's order. One list
# for the API's validation (backend) and the data plane's.
PERSISTENCE_MODES = ("journal_snapshot", "snapshot", "off")


@dataclass(frozen=True)
class InstanceConfig:
    """What one Key Value instance's server process runs with."""

    instance_id: str  # "red-" + 20 [a-z0-9]
    password: str  # 32 chars [A-Za-z0-9]; the external endpoint's ACL user <instance_id>
    maxmemory_bytes: int
    maxmemory_policy: str  # Valkey spelling, e.g. "allkeys-lru", "noeviction"
    persistence: str  # one of PERSISTENCE_MODES: "journal_snapshot" | "snapshot" | "off"
    allow_list: tuple[str, ...]  # CIDR blocks that may use the external endpoint; () = none
    # Render's "internal authentication" (Dashboard only): the internal port's `default` user
    # then needs `password` too. Off, `default` has no password and accepts any (as Render's).
    internal_auth: bool = False


@dataclass(frozen=True)
class Endpoints:
    """Where an instance listens."""

    host: str  # a loopback address, "127.0.0.1" unless told ("::1"): bracket it in URLs
    internal_port: int  # plain RESP, no password (as Render's private network)
    external_port: int  # TLS + password, gated by allow_list


@dataclass(frozen=True)
class ServerStats:
    """What one ``INFO`` of a live server says, for the metrics endpoints."""

    used_memory: int  # bytes (INFO memory: used_memory)
    connected_clients: int  # clients other than the one that asked (INFO clients)
    cpu_seconds: float  # used_cpu_sys + used_cpu_user since the process started
    # The server's clock when it answered (INFO server: server_time_usec); 0 from a server that
    # does not report it (before Redis 7), whose CPU is then averaged since its start.
    server_time_us: int
    uptime_seconds: int  # since the process started (INFO server: uptime_in_seconds)


class DataPlaneError(Exception):
    """A server process could not be found, started, reconfigured or stopped; says how to fix."""


class PlaneEndpoints(Protocol):
    """Where one server process listens: :class:`Endpoints`, or a fake's look-alike."""

    @property
    def host(self) -> str: ...
    @property
    def internal_port(self) -> int: ...
    @property
    def external_port(self) -> int: ...


class DataPlaneLike(Protocol):
    """The operations the backend performs on server processes.

    ``start``'s ``ports`` are (internal, external) to take back when free: an instance brought
    back after an emulator restart keeps its connection strings, as a Render instance's never
    change; a port another program holds is replaced by a free one. ``serving`` (default: always)
    gates both endpoints for the instance's whole life, across suspend and resume.

    ``restart`` stops the server (gracefully: it saves what its persistence mode keeps) and
    starts it again with ``config``, on the same ports when free: every client is disconnected,
    as by a Render restart. ``stats`` is ``None`` for a suspended instance.
    """

    def start(
        self,
        config: InstanceConfig,
        *,
        ports: tuple[int, int] | None = None,
        serving: Serving | None = None,
    ) -> PlaneEndpoints: ...
    def apply(self, config: InstanceConfig, *, flush: bool = False) -> None: ...
    def suspend(self, instance_id: str) -> None: ...
    def resume(self, instance_id: str) -> PlaneEndpoints: ...
    def restart(self, config: InstanceConfig) -> PlaneEndpoints: ...
    def stats(self, instance_id: str) -> ServerStats | None: ...
    def stop(self, instance_id: str) -> None: ...
    def close(self) -> None: ...
