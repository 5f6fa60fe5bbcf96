"""What the backend needs from a data plane, and the adapter to the real one.

The backend talks to a :class:`DataPlaneLike`. In production that is :class:`RealDataPlane`,
which wraps ``pulumi_render_kv.emulator.dataplane.DataPlane`` (real ``valkey-server`` /
``redis-server`` processes, written separately) and is imported only when a data plane is asked
for, so the HTTP layer works, and is tested, without it. Unit tests use a fake with the same
methods.
"""

from __future__ import annotations

import importlib
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Protocol

# Render's persistence modes (the API's ``persistenceMode`` enum), in the spec's order. One list
# for the API's validation (backend) and the data plane's; this module has no dependencies, so
# both may import it.
PERSISTENCE_MODES = ("journal_snapshot", "snapshot", "off")


@dataclass(frozen=True)
class PlaneConfig:
    """The settings of one server process (same fields as ``dataplane.InstanceConfig``)."""

    instance_id: str
    password: str  # 32 chars, for the external (TLS) endpoint
    maxmemory_bytes: int
    maxmemory_policy: str  # Valkey spelling, e.g. "allkeys-lru"
    persistence: str  # one of PERSISTENCE_MODES
    allow_list: tuple[str, ...]  # CIDR blocks that may use the external endpoint


class PlaneEndpoints(Protocol):
    """Where one server process listens."""

    @property
    def host(self) -> str: ...
    @property
    def internal_port(self) -> int: ...
    @property
    def external_port(self) -> int: ...


class DataPlaneLike(Protocol):
    """The operations the backend performs on server processes."""

    def start(self, config: PlaneConfig) -> PlaneEndpoints: ...
    def apply(self, config: PlaneConfig, *, flush: bool = False) -> None: ...
    def suspend(self, instance_id: str) -> None: ...
    def resume(self, instance_id: str) -> PlaneEndpoints: ...
    def stop(self, instance_id: str) -> None: ...
    def close(self) -> None: ...


class RealDataPlane:
    """Adapter to ``dataplane.DataPlane``: converts :class:`PlaneConfig` to its config type."""

    def __init__(self, data_dir: Path, *, server_binary: str | None = None) -> None:
        # Imported here, not at module level: the data plane needs redis-server and friends,
        # and the emulator must work (and import) without them when data_plane=False.
        module: Any = importlib.import_module("pulumi_render_kv.emulator.dataplane")
        self._config_type: Any = module.InstanceConfig
        # No host: the servers listen on 127.0.0.1 whatever address the HTTP API is served on,
        # since their internal endpoint has no password.
        self._plane: Any = module.DataPlane(data_dir, server_binary=server_binary)

    @property
    def ca_cert_path(self) -> Path:
        """The CA certificate that clients of the external (TLS) endpoints must trust."""
        return Path(self._plane.ca_cert_path)

    def _convert(self, config: PlaneConfig) -> Any:
        return self._config_type(**asdict(config))

    def start(self, config: PlaneConfig) -> PlaneEndpoints:
        """Start the process for a new instance."""
        endpoints: PlaneEndpoints = self._plane.start(self._convert(config))
        return endpoints

    def apply(self, config: PlaneConfig, *, flush: bool = False) -> None:
        """Apply changed settings live; ``flush`` wipes the data."""
        self._plane.apply(self._convert(config), flush=flush)

    def suspend(self, instance_id: str) -> None:
        """Stop the process, keep the data."""
        self._plane.suspend(instance_id)

    def resume(self, instance_id: str) -> PlaneEndpoints:
        """Start a suspended instance's process again."""
        endpoints: PlaneEndpoints = self._plane.resume(instance_id)
        return endpoints

    def stop(self, instance_id: str) -> None:
        """Stop the process and remove its data."""
        self._plane.stop(instance_id)

    def close(self) -> None:
        """Stop every process; idempotent."""
        self._plane.close()
