"""The metrics endpoints of :class:`~._client.RenderClient`: memory, connections, CPU series."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from ._calls import Endpoints, Op
from ._models import TimeSeries
from ._parsing import page_of, parse_page
from ._query import csv, timestamp


class MetricsEndpoints(Endpoints):
    """``/metrics/memory``, ``/metrics/active-connections`` and ``/metrics/cpu``."""

    def _metrics(
        self,
        path: str,
        resource_id: str | Sequence[str],
        start_time: datetime | None,
        end_time: datetime | None,
        resolution_seconds: int | None,
    ) -> list[TimeSeries]:
        op = Op("GET", path, path)
        if resolution_seconds is not None and resolution_seconds < 30:
            raise ValueError(f"resolution_seconds must be at least 30, got {resolution_seconds}")
        params = {
            "resource": csv(resource_id, "resource_id"),
            "startTime": timestamp(start_time, "start_time"),
            "endTime": timestamp(end_time, "end_time"),
            "resolutionSeconds": None if resolution_seconds is None else str(resolution_seconds),
        }
        return parse_page(op, self._caller.call(op, params=params), page_of(TimeSeries))

    def get_memory(
        self,
        resource_id: str | Sequence[str],
        *,
        start_time: datetime | None = None,
        end_time: datetime | None = None,
        resolution_seconds: int | None = None,
    ) -> list[TimeSeries]:
        """``GET /metrics/memory``: used memory (bytes) of Key Value instances, one series each.

        Render's defaults: the last hour, 60 s resolution (at least 30).
        """
        return self._metrics(
            "/metrics/memory", resource_id, start_time, end_time, resolution_seconds
        )

    def get_active_connections(
        self,
        resource_id: str | Sequence[str],
        *,
        start_time: datetime | None = None,
        end_time: datetime | None = None,
        resolution_seconds: int | None = None,
    ) -> list[TimeSeries]:
        """``GET /metrics/active-connections``: connected clients, one series per instance."""
        return self._metrics(
            "/metrics/active-connections", resource_id, start_time, end_time, resolution_seconds
        )

    def get_cpu(
        self,
        resource_id: str | Sequence[str],
        *,
        start_time: datetime | None = None,
        end_time: datetime | None = None,
        resolution_seconds: int | None = None,
    ) -> list[TimeSeries]:
        """``GET /metrics/cpu``: CPU used (cores), one series per instance."""
        return self._metrics("/metrics/cpu", resource_id, start_time, end_time, resolution_seconds)
