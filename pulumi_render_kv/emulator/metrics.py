"""Render's ``/metrics/memory``, ``/metrics/active-connections`` and ``/metrics/cpu`` for Key
Value instances, computed from what the real servers' ``INFO`` says.

The emulator keeps no history it did not see: a metrics request samples every instance it
names (one ``INFO``), and the answer is the samples that fall in the requested range, one point
per ``resolutionSeconds`` bucket (the bucket's last sample; its timestamp is the bucket's
start, on the emulator's clock). So the numbers are true, and a range before the first request
holds no points.

- memory: ``used_memory``, in bytes;
- active connections: ``connected_clients`` without the emulator's own ``INFO`` connection
  (the TLS gate's connections to the server are clients' connections, so they count);
- CPU: cores used, ``used_cpu_sys + used_cpu_user`` over the server's own clock between two
  samples of one process (the first sample of a process: its average since it started).

Inferred (Render documents neither): the series' label is ``{"field": "resource", "value":
"red-…"}`` and the units are ``bytes``, ``connections`` and ``cpu``; an id the workspace has
no Key Value instance for selects no series (200 ``[]``: the spec declares no 404 here).
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from enum import Enum

from .plane import ServerStats

DEFAULT_RANGE_SECONDS = 3600  # the spec: startTime defaults to now() - 1 hour
DEFAULT_RESOLUTION = 60
MIN_RESOLUTION = 30
# Per instance: a day at one sample a minute; older samples go first.
MAX_SAMPLES = 1440


class Metric(Enum):
    """One metrics route: its path segment and the unit of its series."""

    MEMORY = ("memory", "bytes")
    ACTIVE_CONNECTIONS = ("active-connections", "connections")
    CPU = ("cpu", "cpu")

    @property
    def path(self) -> str:
        return self.value[0]

    @property
    def unit(self) -> str:
        return self.value[1]


@dataclass(frozen=True)
class MetricsQuery:
    """A parsed metrics query (epoch nanoseconds; ``None`` = Render's default)."""

    resource_ids: tuple[str, ...]
    start_ns: int | None = None
    end_ns: int | None = None
    resolution_seconds: float = DEFAULT_RESOLUTION


@dataclass(frozen=True)
class Sample:
    """One ``INFO`` of one instance's server, at ``at_ns`` on the emulator's wall clock."""

    at_ns: int
    stats: ServerStats


@dataclass(frozen=True)
class Series:
    """One answer series: the instance, its unit and its (timestamp ns, value) points."""

    resource_id: str
    unit: str
    points: tuple[tuple[int, float], ...]


class MetricsRecorder:
    """The samples taken so far, per instance; not thread-safe (the backend's lock guards it)."""

    def __init__(self, max_samples: int = MAX_SAMPLES) -> None:
        self._max = max_samples
        self._samples: dict[str, deque[Sample]] = {}

    def record(self, resource_id: str, sample: Sample) -> None:
        self._samples.setdefault(resource_id, deque(maxlen=self._max)).append(sample)

    def samples(self, resource_id: str) -> list[Sample]:
        return list(self._samples.get(resource_id, ()))

    def drop(self, resource_id: str) -> None:
        self._samples.pop(resource_id, None)


def value(metric: Metric, sample: Sample, previous: Sample | None) -> float:
    """The metric's value at ``sample`` (``previous``: the sample before it, for CPU)."""
    stats = sample.stats
    if metric is Metric.MEMORY:
        return float(stats.used_memory)
    if metric is Metric.ACTIVE_CONNECTIONS:
        return float(stats.connected_clients)
    if previous is not None and _same_process(previous.stats, stats):
        elapsed = (stats.server_time_us - previous.stats.server_time_us) / 1_000_000
        if elapsed > 0:
            return max(0.0, stats.cpu_seconds - previous.stats.cpu_seconds) / elapsed
    return stats.cpu_seconds / max(stats.uptime_seconds, 1)


def _same_process(before: ServerStats, after: ServerStats) -> bool:
    """A restart (maintenance, resume) resets the counters: then there is no delta."""
    return after.uptime_seconds >= before.uptime_seconds and after.cpu_seconds >= before.cpu_seconds


def points(
    metric: Metric, samples: list[Sample], *, start_ns: int, end_ns: int, resolution: float
) -> tuple[tuple[int, float], ...]:
    """One point per bucket of ``resolution`` seconds within [start, end]: its last sample."""
    step_ns = int(resolution * 1_000_000_000)
    buckets: dict[int, float] = {}
    previous: Sample | None = None
    for sample in samples:
        current = value(metric, sample, previous)
        previous = sample
        if start_ns <= sample.at_ns <= end_ns:
            buckets[sample.at_ns // step_ns * step_ns] = current
    return tuple(sorted(buckets.items()))
