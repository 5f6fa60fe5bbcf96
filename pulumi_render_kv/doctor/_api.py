"""What Render's API says about an instance: detail, connection info, maintenance, metrics.

A thin layer over :class:`~pulumi_render_kv.client.RenderClient` with the doctor's bounds:
every call is cut to a few seconds, with no long retries (a doctor that waits five minutes on
a 429 is no help). Maintenance and metrics are optional extras: when they cannot be read the
facts say why, and the diagnosis goes on without them.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta

from pulumi_render_kv.client import (
    KeyValueDetail,
    RenderClient,
    RenderError,
    RenderSettings,
    RetryPolicy,
    Timeouts,
)
from pulumi_render_kv.client import Maintenance as ApiMaintenance

from ._facts import InstanceFacts, Maintenance, Metrics
from ._urls import RedisUrl, UrlError, parse_url

# Maintenance states that still lie ahead (or are under way).
_OPEN_STATES = ("scheduled", "in_progress", "user_fix_required")
# Metrics are read over the last few minutes; the newest point is the one reported.
_METRICS_WINDOW = timedelta(minutes=10)


class TargetError(Exception):
    """The target cannot be resolved (no key, no such id or name); the message says what to do."""


def make_client(environ: Mapping[str, str], timeout: float) -> RenderClient | None:
    """A client from RENDER_API_KEY / RENDER_API_URL, or None without a key."""
    if not environ.get("RENDER_API_KEY", "").strip():
        return None
    try:
        settings = RenderSettings.resolve(
            environ=environ,
            timeouts=Timeouts(connect=timeout, read=2 * timeout, write=2 * timeout, pool=timeout),
            retry=RetryPolicy(deadline=2 * timeout, max_retry_after=timeout, max_backoff=timeout),
        )
    except RenderError as error:
        raise TargetError(str(error)) from None
    return RenderClient(settings)


def find_by_name(client: RenderClient, name: str, owner_id: str | None) -> str:
    """The id of the one instance called ``name`` (in the workspace, if given)."""
    try:
        found = [
            kv for kv in client.list_key_value(name=name, owner_id=owner_id) if kv.name == name
        ]
    except RenderError as error:
        raise TargetError(f"could not look up Key Value {name!r}: {error}") from None
    if not found:
        raise TargetError(f"no Key Value instance is called {name!r} (as this API key sees them)")
    if len(found) > 1:
        ids = ", ".join(kv.id for kv in found)
        raise TargetError(f"{len(found)} instances are called {name!r} ({ids}): pass --id")
    return found[0].id


def find_by_url(client: RenderClient, url: RedisUrl, *, limit: int = 50) -> str | None:
    """The instance whose internal or external URL points where ``url`` does, if any.

    For URLs that do not name their instance (the emulator's ``redis://127.0.0.1:PORT``):
    at most ``limit`` instances' connection info is read.
    """
    try:
        for kv in client.list_key_value()[:limit]:
            info = client.retrieve_key_value_connection_info(kv.id)
            for text in (
                info.get_internal_connection_string(),
                info.get_external_connection_string(),
            ):
                try:
                    if parse_url(text).same_endpoint(url):
                        return kv.id
                except UrlError:
                    continue
    except RenderError:
        return None
    return None


def read_instance(
    client: RenderClient, instance_id: str, *, now: datetime | None = None
) -> InstanceFacts:
    """Detail and connection info (required), maintenance and metrics (if Render has them)."""
    try:
        detail = client.retrieve_key_value(instance_id)
        info = client.retrieve_key_value_connection_info(instance_id)
    except RenderError as error:
        raise TargetError(f"Render's API could not read {instance_id}: {error}") from None
    maintenance_notes: list[str] = []
    metrics_notes: list[str] = []
    maintenance = _maintenance(client, detail, maintenance_notes)
    metrics = _metrics(client, instance_id, now or datetime.now(UTC), metrics_notes)
    return InstanceFacts(
        id=detail.id,
        name=detail.name,
        plan=detail.plan,
        region=detail.region,
        status=detail.status,
        maxmemory_policy=detail.options.maxmemory_policy,
        persistence_mode=detail.options.persistence_mode,
        allow_list=tuple(entry.cidr_block for entry in detail.ip_allow_list),
        version=detail.version,
        internal_url=_url(info.get_internal_connection_string()),
        external_url=_url(info.get_external_connection_string()),
        maintenance=maintenance,
        metrics=metrics,
        maintenance_unread="; ".join(maintenance_notes) or None,
        metrics_unread="; ".join(metrics_notes) or None,
    )


def _why(error: RenderError) -> str:
    """A short reason: the API's status code, or the error's kind."""
    status = getattr(error, "status_code", None)
    return f"HTTP {status}" if status else type(error).__name__


def _url(text: str) -> RedisUrl | None:
    try:
        return parse_url(text)
    except UrlError:
        return None


def _maintenance(
    client: RenderClient, detail: KeyValueDetail, notes: list[str]
) -> Maintenance | None:
    run: ApiMaintenance | None = detail.maintenance
    if run is None:
        try:
            runs = client.list_maintenance(resource_id=detail.id)
        except RenderError as error:
            notes.append(_why(error))
            return None
        upcoming = [r for r in runs if r.state in _OPEN_STATES]
        upcoming.sort(key=lambda r: r.scheduled_at or datetime.max.replace(tzinfo=UTC))
        run = upcoming[0] if upcoming else None
    if run is None:
        return None
    return Maintenance(
        id=run.id,
        type=run.type,
        state=run.state,
        scheduled_at=run.scheduled_at,
        pending_by=run.pending_maintenance_by,
    )


def _metrics(
    client: RenderClient, instance_id: str, now: datetime, notes: list[str]
) -> Metrics | None:
    start = now - _METRICS_WINDOW
    values: dict[str, float | None] = {}
    readers = {
        "memory": client.get_memory,
        "active_connections": client.get_active_connections,
        "cpu": client.get_cpu,
    }
    for name, read in readers.items():
        try:
            # No end time: Render's default (now, as the server sees it) includes the newest
            # point, which an end taken from this machine's clock could cut off.
            series = read(instance_id, start_time=start)
        except RenderError as error:
            notes.append(f"{name.replace('_', ' ')}: {_why(error)}")
            values[name] = None
            continue
        points = [
            point
            for one in series
            if one.label("resource") in (None, instance_id)
            for point in one.values
        ]
        values[name] = max(points, key=lambda p: p.timestamp).value if points else None
    if all(value is None for value in values.values()):
        return None
    return Metrics(
        memory_bytes=values["memory"],
        active_connections=values["active_connections"],
        cpu=values["cpu"],
    )
