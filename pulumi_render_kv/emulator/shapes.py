"""Render's JSON shapes: request bodies and query strings in, response bodies out.

The emulator keeps its own wire code (it shares nothing with the package's client), so a
misreading of Render's format cannot pass on both sides. Parsing here checks JSON *types*,
required fields and unknown fields; the *rules* (enums, plans, limits) live in ``backend.py``.
Shapes follow the schemas of Render's OpenAPI spec (https://api-docs.render.com/), named in
each function.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from enum import Enum
from typing import Any

from werkzeug.wrappers import Request

from . import errors, ids
from .maintenance import MAINTENANCE_STATES, MaintenanceView
from .metrics import DEFAULT_RESOLUTION as DEFAULT_METRICS_RESOLUTION
from .metrics import MIN_RESOLUTION, MetricsQuery, Series
from .records import (
    CidrBlock,
    ConnectionInfo,
    CreateInput,
    EnvironmentView,
    InstanceView,
    ListFilters,
    LogStreamOverride,
    MaintenanceFilters,
    Owner,
    UpdateInput,
    check_text,
)

JsonObject = dict[str, Any]

CREATE_FIELDS = (
    "name",
    "ownerId",
    "plan",
    "region",
    "environmentId",
    "maxmemoryPolicy",
    "persistenceMode",
    "ipAllowList",
)
CREATE_REQUIRED = ("name", "ownerId", "plan")
# region, ownerId and environmentId are not fields of the PATCH body; sending them is rejected.
PATCH_FIELDS = ("name", "plan", "maxmemoryPolicy", "persistenceMode", "ipAllowList")
LIST_PARAMETERS = (
    "name",
    "region",
    "ownerId",
    "environmentId",
    "createdBefore",
    "createdAfter",
    "updatedBefore",
    "updatedAfter",
    "cursor",
    "limit",
)
OWNER_LIST_PARAMETERS = ("name", "email", "cursor", "limit")
MAINTENANCE_LIST_PARAMETERS = ("resourceId", "ownerId", "state")
DEFAULT_LIMIT = 20
MAX_LIMIT = 100


class Flavor(Enum):
    """``/key-value`` or the legacy ``/redis`` twin: same objects, two spellings."""

    KEY_VALUE = ("keyValue", "cliCommand")
    REDIS = ("redis", "redisCLICommand")

    @property
    def list_key(self) -> str:
        """The wrapper key of list items."""
        return self.value[0]

    @property
    def cli_field(self) -> str:
        """The connection-info field holding the CLI command."""
        return self.value[1]


# Ours: Render documents no limit. The largest real body (a create with a long allow list) is a
# few kilobytes; a mebibyte leaves room for any of them and bounds what one request can make the
# emulator read and parse.
MAX_BODY_BYTES = 1024 * 1024


def check_body_size(request: Request) -> None:
    """413 for an announced ``Content-Length`` over the limit, before anything reads the body.

    werkzeug's server discards the unread rest and closes the connection, so the client sees
    the answer rather than a reset.
    """
    if request.content_length is not None and request.content_length > MAX_BODY_BYTES:
        raise errors.PayloadTooLarge(MAX_BODY_BYTES)


def read_body(request: Request) -> bytes:
    """The raw body, at most ``MAX_BODY_BYTES`` (413 beyond, chunked or not)."""
    check_body_size(request)
    # One byte more than allowed tells a chunked body (no Content-Length to check) over the
    # limit from one exactly at it, without reading the rest.
    data = request.stream.read(MAX_BODY_BYTES + 1)
    if len(data) > MAX_BODY_BYTES:
        raise errors.PayloadTooLarge(MAX_BODY_BYTES)
    return data


# --- bodies in ------------------------------------------------------------------------------


def parse_json_body(raw: bytes, content_type: str | None) -> Any:
    """Decode a request body; 400 when it is absent, not JSON, or sent as another media type."""
    if not raw.strip():
        raise errors.InvalidBody("request body is required (a JSON object)")
    media_type = (content_type or "").split(";", 1)[0].strip().lower()
    if media_type and media_type != "application/json":
        raise errors.InvalidBody(
            f"unsupported Content-Type {content_type!r}: send the body as application/json"
        )
    try:
        return json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise errors.InvalidBody(f"request body is not valid JSON: {exc}") from None
    except RecursionError:
        # json's scanner recurses once per nesting level; no Render body nests more than 3 deep.
        raise errors.InvalidBody("request body is nested too deeply for a Render request") from None


def _json_kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    return "a string" if isinstance(value, str) else "an array"


def _object(body: Any) -> JsonObject:
    if not isinstance(body, dict):
        raise errors.InvalidBody(f"request body must be a JSON object, got {_json_kind(body)}")
    return body


def _check_fields(body: JsonObject, accepted: tuple[str, ...], operation: str) -> None:
    for key in body:
        if key not in accepted:
            raise errors.UnknownField(key, operation, accepted)


def _string(body: JsonObject, key: str) -> str | None:
    value = body.get(key)
    if value is None and key not in body:
        return None
    if not isinstance(value, str):
        raise errors.InvalidFieldType(key, "a string")
    return value


def _allow_list(body: JsonObject) -> tuple[CidrBlock, ...] | None:
    if "ipAllowList" not in body:
        return None
    value = body["ipAllowList"]
    if not isinstance(value, list):
        raise errors.InvalidFieldType("ipAllowList", "an array of {cidrBlock, description}")
    entries = []
    for index, item in enumerate(value):
        where = f"ipAllowList[{index}]"
        if not isinstance(item, dict):
            raise errors.InvalidFieldType(where, "an object {cidrBlock, description}")
        _check_fields(item, ("cidrBlock", "description"), "cidrBlockAndDescription")
        for key in ("cidrBlock", "description"):
            if key not in item:
                raise errors.MissingField(f"{where}.{key}")
            if not isinstance(item[key], str):
                raise errors.InvalidFieldType(f"{where}.{key}", "a string")
        entries.append(CidrBlock(cidr_block=item["cidrBlock"], description=item["description"]))
    return tuple(entries)


def parse_create_input(body: Any, operation: str = "keyValuePOSTInput") -> CreateInput:
    """A ``keyValuePOSTInput`` / ``redisPOSTInput`` body."""
    data = _object(body)
    _check_fields(data, CREATE_FIELDS, operation)
    for key in CREATE_REQUIRED:
        if key not in data:
            raise errors.MissingField(key)
    return CreateInput(
        name=_string(data, "name") or "",
        owner_id=_string(data, "ownerId") or "",
        plan=_string(data, "plan") or "",
        region=_string(data, "region"),
        environment_id=_string(data, "environmentId"),
        maxmemory_policy=_string(data, "maxmemoryPolicy"),
        persistence_mode=_string(data, "persistenceMode"),
        ip_allow_list=_allow_list(data),
    )


def parse_update_input(body: Any, operation: str = "keyValuePATCHInput") -> UpdateInput:
    """A ``keyValuePATCHInput`` / ``redisPATCHInput`` body (omitted = unchanged)."""
    data = _object(body)
    _check_fields(data, PATCH_FIELDS, operation)
    return UpdateInput(
        name=_string(data, "name"),
        plan=_string(data, "plan"),
        maxmemory_policy=_string(data, "maxmemoryPolicy"),
        persistence_mode=_string(data, "persistenceMode"),
        ip_allow_list=_allow_list(data),
    )


LOG_STREAM_FIELDS = ("endpoint", "token", "setting")
LOG_STREAM_SETTINGS = ("send", "drop")


def parse_log_stream_input(body: Any) -> LogStreamOverride:
    """The ``update-resource-log-stream`` body, with the spec's rule: "endpoint must be present
    if setting is send; cannot be present if setting is drop". A token with ``drop`` is
    refused too (inferred: it could not be used)."""
    data = _object(body)
    _check_fields(data, LOG_STREAM_FIELDS, "updateResourceLogStreamInput")
    if "setting" not in data:
        raise errors.MissingField("setting")
    setting = _string(data, "setting") or ""
    check_text(setting, "setting")  # before the enum's message quotes it
    if setting not in LOG_STREAM_SETTINGS:
        raise errors.InvalidEnumValue("setting", setting, LOG_STREAM_SETTINGS)
    endpoint, token = _string(data, "endpoint") or None, _string(data, "token") or None
    if setting == "send" and endpoint is None:
        raise errors.InvalidFieldValue("endpoint", "must be present if setting is send")
    if setting == "drop":
        for name, value in (("endpoint", endpoint), ("token", token)):
            if value is not None:
                raise errors.InvalidFieldValue(name, "cannot be present if setting is drop")
    return LogStreamOverride(setting=setting, endpoint=endpoint, token=token)


def render_log_stream(resource_id: str, override: LogStreamOverride) -> JsonObject:
    """A resource log-stream override, as recorded: ``endpoint`` is ``""`` for drop, no token."""
    return {
        "endpoint": override.endpoint or "",
        "resourceId": resource_id,
        "setting": override.setting,
    }


def parse_resource_ids_body(body: Any) -> tuple[str, ...]:
    """An ``environmentResourcesPOSTInput``: ``{"resourceIds": [...]}``."""
    data = _object(body)
    _check_fields(data, ("resourceIds",), "environmentResourcesPOSTInput")
    if "resourceIds" not in data:
        raise errors.MissingField("resourceIds")
    value = data["resourceIds"]
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise errors.InvalidFieldType("resourceIds", "an array of strings")
    if not value:
        raise errors.InvalidFieldValue("resourceIds", "must not be empty")
    return tuple(value)


def parse_maintenance_update(body: Any) -> int:
    """The ``update-maintenance`` body ``{"scheduledAt": date-time}``: epoch nanoseconds.

    The spec marks nothing required; a body without ``scheduledAt`` would change nothing, so
    it is refused (ours).
    """
    data = _object(body)
    _check_fields(data, ("scheduledAt",), "update-maintenance body")
    if "scheduledAt" not in data:
        raise errors.MissingField("scheduledAt")
    value = _string(data, "scheduledAt") or ""
    check_text(value, "scheduledAt")
    try:
        return ids.parse_timestamp(value)
    except ValueError:
        raise errors.InvalidFieldValue(
            "scheduledAt", f"{value!r} is not an RFC 3339 date-time (e.g. 2026-06-09T16:25:25Z)"
        ) from None


# --- query strings in -----------------------------------------------------------------------


def _single(args: Mapping[str, list[str]], key: str) -> str | None:
    values = args.get(key)
    if not values:
        return None
    if len(values) > 1:
        raise errors.InvalidQueryParameter(
            key, "given more than once; send several values as one comma-separated list"
        )
    return values[0]


def _check_parameters(args: Mapping[str, list[str]], accepted: tuple[str, ...]) -> None:
    for key in args:
        if key not in accepted:
            raise errors.InvalidQueryParameter(
                key, f"unknown parameter (accepted: {', '.join(accepted)})"
            )


def _csv(args: Mapping[str, list[str]], key: str) -> tuple[str, ...] | None:
    value = _single(args, key)
    if not value:
        return None
    return tuple(part for part in value.split(",") if part)


def _timestamp(args: Mapping[str, list[str]], key: str) -> int | None:
    value = _single(args, key)
    if value is None:
        return None
    try:
        return ids.parse_timestamp(value)
    except ValueError:
        raise errors.InvalidQueryParameter(
            key, f"{value!r} is not an RFC 3339 date-time (e.g. 2026-06-09T16:25:25Z)"
        ) from None


def _limit(args: Mapping[str, list[str]]) -> int:
    value = _single(args, "limit")
    if value is None:
        return DEFAULT_LIMIT
    try:
        limit = int(value)
    except ValueError:
        raise errors.InvalidQueryParameter("limit", f"{value!r} is not an integer") from None
    if not 1 <= limit <= MAX_LIMIT:
        raise errors.InvalidQueryParameter(
            "limit", f"must be between 1 and {MAX_LIMIT}, got {limit}"
        )
    return limit


def parse_list_query(args: Mapping[str, list[str]]) -> ListFilters:
    """The query of ``list-key-value`` / ``list-redis``: arrays are comma-separated."""
    _check_parameters(args, LIST_PARAMETERS)
    return ListFilters(
        names=_csv(args, "name"),
        regions=_csv(args, "region"),
        owner_ids=_csv(args, "ownerId"),
        environment_ids=_csv(args, "environmentId"),
        created_before_ns=_timestamp(args, "createdBefore"),
        created_after_ns=_timestamp(args, "createdAfter"),
        updated_before_ns=_timestamp(args, "updatedBefore"),
        updated_after_ns=_timestamp(args, "updatedAfter"),
        cursor=_single(args, "cursor"),
        limit=_limit(args),
    )


def parse_owner_query(
    args: Mapping[str, list[str]],
) -> tuple[tuple[str, ...] | None, tuple[str, ...] | None, str | None, int]:
    """The query of ``list-owners``: (names, emails, cursor, limit)."""
    _check_parameters(args, OWNER_LIST_PARAMETERS)
    return _csv(args, "name"), _csv(args, "email"), _single(args, "cursor"), _limit(args)


def _repeated_csv(args: Mapping[str, list[str]], key: str) -> tuple[str, ...] | None:
    """A parameter given as ``k=a,b`` or ``k=a&k=b`` (the spec's default style for arrays)."""
    values = tuple(part for value in args.get(key, []) for part in value.split(",") if part)
    return values or None


def parse_maintenance_query(args: Mapping[str, list[str]]) -> MaintenanceFilters:
    """The query of ``list-maintenance``: ``resourceId`` and ``ownerId`` are comma-separated
    (``explode: false``); ``state`` may be repeated or comma-separated."""
    _check_parameters(args, MAINTENANCE_LIST_PARAMETERS)
    states = _repeated_csv(args, "state")
    for state in states or ():
        check_text(state, "state")
        if state not in MAINTENANCE_STATES:
            raise errors.InvalidQueryParameter(
                "state", f"{state!r} is not one of: {', '.join(MAINTENANCE_STATES)}"
            )
    return MaintenanceFilters(
        resource_ids=_csv(args, "resourceId"), owner_ids=_csv(args, "ownerId"), states=states
    )


# ``service`` is the spec's deprecated spelling of ``resource``. ``instance`` and
# ``aggregationMethod`` (one server per Key Value instance: nothing to pick or aggregate) are
# not emulated and refused.
METRICS_PARAMETERS = ("resource", "service", "startTime", "endTime", "resolutionSeconds")


def _metrics_time(args: Mapping[str, list[str]], key: str) -> int | None:
    """A date-time (the spec's format) or epoch seconds (its description says both)."""
    value = _single(args, key)
    if value is None:
        return None
    try:
        return (
            int(float(value) * 1_000_000_000) if _is_number(value) else ids.parse_timestamp(value)
        )
    except ValueError:
        raise errors.InvalidQueryParameter(
            key, f"{value!r} is neither an RFC 3339 date-time nor epoch seconds"
        ) from None


def _is_number(value: str) -> bool:
    try:
        float(value)
    except ValueError:
        return False
    return True


def parse_metrics_query(args: Mapping[str, list[str]]) -> MetricsQuery:
    """The query of the metrics routes: ``resource`` repeated or comma-separated (required)."""
    _check_parameters(args, METRICS_PARAMETERS)
    resource_ids = (_repeated_csv(args, "resource") or ()) + (_repeated_csv(args, "service") or ())
    if not resource_ids:
        raise errors.InvalidQueryParameter("resource", "is required (a red-… id)")
    for resource_id in resource_ids:
        check_text(resource_id, "resource")
    raw = _single(args, "resolutionSeconds")
    resolution = float(DEFAULT_METRICS_RESOLUTION)
    if raw is not None:
        if not _is_number(raw) or not float(raw) >= MIN_RESOLUTION or float(raw) == float("inf"):
            raise errors.InvalidQueryParameter(
                "resolutionSeconds", f"must be a number of seconds >= {MIN_RESOLUTION}, got {raw!r}"
            )
        resolution = float(raw)
    return MetricsQuery(
        resource_ids=resource_ids,
        start_ns=_metrics_time(args, "startTime"),
        end_ns=_metrics_time(args, "endTime"),
        resolution_seconds=resolution,
    )


def parse_resource_ids_query(args: Mapping[str, list[str]]) -> tuple[str, ...]:
    """``?resourceIds=red-…,red-…`` of ``remove-resources-from-environment`` (required)."""
    _check_parameters(args, ("resourceIds",))
    values = _csv(args, "resourceIds")
    if not values:
        raise errors.InvalidQueryParameter("resourceIds", "is required")
    return values


# --- bodies out -----------------------------------------------------------------------------


def render_owner(owner: Owner) -> JsonObject:
    """An ``owner`` object."""
    return {"id": owner.id, "name": owner.name, "email": owner.email, "type": owner.type}


def render_instance(
    view: InstanceView, *, null_empty_allow_list: bool, dashboard_url: bool = False
) -> JsonObject:
    """A ``keyValueDetail`` (``dashboard_url=False``) or ``keyValue`` list payload.

    ``environmentId`` is absent (not null) when unset; an empty allow list is ``null`` as
    observed (switchable); the create response's timestamps carry nanoseconds.
    """
    allow_list: list[JsonObject] | None = [
        {"cidrBlock": entry.cidr_block, "description": entry.description}
        for entry in view.ip_allow_list
    ]
    if not allow_list and null_empty_allow_list:
        allow_list = None
    body: JsonObject = {
        "id": view.id,
        "createdAt": ids.format_timestamp(view.created_ns, nanoseconds=view.fresh),
        "updatedAt": ids.format_timestamp(view.updated_ns, nanoseconds=view.fresh),
        "status": view.status,
        "region": view.region,
        "plan": view.plan,
        "name": view.name,
        "owner": render_owner(view.owner),
        "options": {
            "maxmemoryPolicy": view.maxmemory_policy,
            "persistenceMode": view.persistence_mode,
        },
        "ipAllowList": allow_list,
        "version": view.version,
    }
    if view.environment_id is not None:
        body["environmentId"] = view.environment_id
    if dashboard_url:
        body["dashboardUrl"] = view.dashboard_url
    elif view.maintenance is not None:  # a detail field only (not in list items)
        body["maintenance"] = render_maintenance(view.maintenance, with_resource_id=False)
    return body


def render_maintenance(view: MaintenanceView, *, with_resource_id: bool = True) -> JsonObject:
    """A maintenance run (``GET /maintenance/{id}``), or ``keyValueDetail.maintenance``
    (``with_resource_id=False``); ``pendingMaintenanceBy`` is absent when the run has none."""
    body: JsonObject = {
        "id": view.id,
        "type": view.type,
        "scheduledAt": ids.format_timestamp(view.scheduled_ns, nanoseconds=False),
        "state": view.state,
    }
    if view.pending_by_ns is not None:
        body["pendingMaintenanceBy"] = ids.format_timestamp(view.pending_by_ns, nanoseconds=False)
    if with_resource_id:
        body["resourceId"] = view.resource_id
    return body


def render_instance_list(
    rows: list[tuple[InstanceView, str]], flavor: Flavor, *, null_empty_allow_list: bool
) -> list[JsonObject]:
    """A bare array of ``{"keyValue"|"redis": …, "cursor": …}``."""
    return [
        {
            flavor.list_key: render_instance(
                view, null_empty_allow_list=null_empty_allow_list, dashboard_url=True
            ),
            "cursor": cursor,
        }
        for view, cursor in rows
    ]


def render_connection_info(info: ConnectionInfo, flavor: Flavor) -> JsonObject:
    """``keyValueConnectionInfo`` / ``redisConnectionInfo``."""
    return {
        "internalConnectionString": info.internal,
        "externalConnectionString": info.external,
        flavor.cli_field: info.cli_command,
    }


def render_owner_list(rows: list[tuple[Owner, str]]) -> list[JsonObject]:
    """A bare array of ``ownerWithCursor``."""
    return [{"owner": render_owner(owner), "cursor": cursor} for owner, cursor in rows]


def render_environment(environment: EnvironmentView) -> JsonObject:
    """An ``environment`` object; only Key Value members are tracked by the emulator.

    Empty id lists are ``null``, as Render sends them (observed in every recorded environment
    object, before and after a resource move), although the spec declares arrays.
    """
    return {
        "id": environment.id,
        "name": environment.name,
        "projectId": environment.project_id,
        "databasesIds": None,
        "redisIds": list(environment.redis_ids) or None,
        "serviceIds": None,
        "envGroupIds": None,
        "protectedStatus": environment.protected_status,
        "networkIsolationEnabled": environment.network_isolation_enabled,
    }


def render_time_series(series: list[Series]) -> list[JsonObject]:
    """The metrics routes' answer: a bare array of time series, one per instance.

    Points carry ``timestamp`` and ``value`` only: the spec lists a ``unit`` among a point's
    required fields without declaring it (see the contract tests' documented deviation).
    """
    return [
        {
            "labels": [{"field": "resource", "value": one.resource_id}],
            "values": [
                {"timestamp": ids.format_timestamp(at_ns, nanoseconds=False), "value": number}
                for at_ns, number in one.points
            ],
            "unit": one.unit,
        }
        for one in series
    ]
