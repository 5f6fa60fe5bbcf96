"""Test doubles for the emulator: a settable clock and a data plane that records calls."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field

from pulumi_render_kv.emulator.plane import InstanceConfig, ServerStats, Serving


class FakeClock:
    """Monotonic seconds that only move when a test says so."""

    def __init__(self, start: float = 1000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


class FakeDataPlaneError(Exception):
    """Stands for ``plane.DataPlaneError``: not one of the emulator's Render errors."""


@dataclass(frozen=True)
class FakeEndpoints:
    host: str
    internal_port: int
    external_port: int


@dataclass
class FakeDataPlane:
    """Implements the data-plane protocol in memory; ``calls`` lists what the backend did."""

    calls: list[tuple[str, object]] = field(default_factory=list)
    configs: dict[str, InstanceConfig] = field(default_factory=dict)
    running: set[str] = field(default_factory=set)
    closed: bool = False
    fail_start: bool = False
    fail_stop: bool = False
    fail_suspend: bool = False
    taken: set[int] = field(default_factory=set)  # ports another program holds
    endpoints: dict[str, FakeEndpoints] = field(default_factory=dict)
    serving: dict[str, Serving] = field(default_factory=dict)  # each instance's gate
    host: str = "127.0.0.1"
    server_stats: dict[str, ServerStats] = field(default_factory=dict)  # what INFO would say
    _ports: itertools.count[int] = field(default_factory=lambda: itertools.count(20000, 2))

    def _endpoints(self) -> FakeEndpoints:
        port = next(self._ports)
        return FakeEndpoints(self.host, port, port + 1)

    def start(
        self,
        config: InstanceConfig,
        *,
        ports: tuple[int, int] | None = None,
        serving: Serving | None = None,
    ) -> FakeEndpoints:
        """``ports`` are taken back unless one of them is in ``taken``, as a free port would."""
        if self.fail_start:
            raise RuntimeError("redis-server exited with status 1")
        self.calls.append(("start", config))
        if serving is not None:
            self.serving[config.instance_id] = serving
        self.configs[config.instance_id] = config
        self.running.add(config.instance_id)
        return self._take(config.instance_id, ports)

    def _take(self, instance_id: str, ports: tuple[int, int] | None) -> FakeEndpoints:
        if ports is not None and not set(ports) & self.taken:
            endpoints = FakeEndpoints(self.host, *ports)
        else:
            endpoints = self._endpoints()
        self.endpoints[instance_id] = endpoints
        return endpoints

    def apply(self, config: InstanceConfig, *, flush: bool = False) -> None:
        self.calls.append(("apply", (config, flush)))
        self.configs[config.instance_id] = config

    def suspend(self, instance_id: str) -> None:
        if self.fail_suspend:
            raise FakeDataPlaneError(f"the server of {instance_id} did not stop")
        self.calls.append(("suspend", instance_id))
        self.running.discard(instance_id)

    def resume(self, instance_id: str) -> FakeEndpoints:
        """Back on its old ports, unless one was taken meanwhile (as the real data plane)."""
        self.calls.append(("resume", instance_id))
        self.running.add(instance_id)
        old = self.endpoints[instance_id]
        return self._take(instance_id, (old.internal_port, old.external_port))

    def restart(self, config: InstanceConfig) -> FakeEndpoints:
        """Back on its ports (unless taken), with ``config``; a suspended one just keeps it."""
        self.calls.append(("restart", config))
        self.configs[config.instance_id] = config
        if config.instance_id not in self.running:
            return self.endpoints[config.instance_id]
        old = self.endpoints[config.instance_id]
        return self._take(config.instance_id, (old.internal_port, old.external_port))

    def stats(self, instance_id: str) -> ServerStats | None:
        if instance_id not in self.running:
            return None
        return self.server_stats.get(instance_id, ServerStats(1_000_000, 0, 0.0, 0, 1))

    def stop(self, instance_id: str) -> None:
        if self.fail_stop:
            raise FakeDataPlaneError(f"Could not delete the directory of {instance_id}")
        self.calls.append(("stop", instance_id))
        self.running.discard(instance_id)
        del self.configs[instance_id]

    def close(self) -> None:
        self.calls.append(("close", None))
        self.running.clear()
        self.closed = True

    def names(self) -> list[str]:
        return [name for name, _ in self.calls]
