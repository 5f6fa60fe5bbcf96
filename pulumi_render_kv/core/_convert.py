"""Translation between Pulumi's property dicts, the pure core and Render's wire models.

Pulumi hands the provider plain dicts: camelCase keys (as in state), numbers as floats,
``pulumi.output.Unknown`` for values not known during a preview. The core speaks canonical
dicts with ``spec.UNKNOWN``; the client speaks pydantic wire models. Every crossing between
the three happens here, so each layer keeps a single vocabulary.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from pulumi.output import Unknown
from pulumi.runtime import rpc

from pulumi_render_kv import catalog, maintenance_plan
from pulumi_render_kv.catalog import ChangeKind
from pulumi_render_kv.spec import UNKNOWN, normalize_inputs

if TYPE_CHECKING:
    # The client's models are imported by the functions that build request bodies: check and
    # diff need none, and a preview's provider process imports this module (issue 16).
    from pulumi_render_kv.client import (
        CidrBlockAndDescription,
        KeyValueConnectionInfo,
        KeyValueDetail,
        KeyValuePOSTInput,
        ResourceLogStream,
        ResourceLogStreamPUTInput,
    )
    from pulumi_render_kv.spec import KeyValueSpec, LogStreamSpec

# Inputs that only the provider uses: Render knows nothing of them, so `read` keeps them.
LOCAL_INPUTS = tuple(
    prop for prop, rule in catalog.CHANGE_RULES.items() if rule.kind is ChangeKind.LOCAL
)

SECRET_OUTPUTS = ("internalConnectionString", "externalConnectionString", "cliCommand")
# Where clients connect: what an app stack reads, so a refresh that changes it says so.
ENDPOINT_OUTPUTS = ("host", "port", *SECRET_OUTPUTS)
# The outputs Render's detail gives (`detail_outputs`).
DETAIL_OUTPUTS = ("ownerId", "status", "version", "dashboardUrl")
# Whether the internal URL needs the password now (refresh updates it), and whether it did at
# the last create or update (only those set it): the two differ after a refresh saw internal
# authentication switched in the Dashboard, until the next `up` (see provider.diff).
INTERNAL_AUTH = "internalAuthEnabled"
DEPLOYED_INTERNAL_AUTH = "deployedInternalAuthEnabled"
# What `outputs` adds to the inputs: Render's answers, not the user's.
COMPUTED_OUTPUTS = (
    "ownerId",
    "status",
    "version",
    "dashboardUrl",
    *SECRET_OUTPUTS,
    "host",
    "port",
    INTERNAL_AUTH,
    DEPLOYED_INTERNAL_AUTH,
    maintenance_plan.OUTPUT,
    maintenance_plan.MOVED,
)


_UNKNOWN_TEXT = rpc.UNKNOWN
# Values that are never an unknown marker and hold none: returned as they are, without a
# call. Exact types (no subclasses, no ABCs): a str or dict subclass takes the general path.
_PLAIN_LEAVES = frozenset({float, bool, int, type(None)})

# Every preview converts each resource's old and new properties in check and again in diff:
# the walks below test exact types first (a `type(v) is str` costs a fraction of an
# isinstance against the Mapping ABC) and convert leaves inline, without a call per value.


def from_pulumi(value: Any) -> Any:
    """Pulumi's unknown markers (object or wire string) → ``spec.UNKNOWN``, recursively."""
    kind = type(value)
    if kind in _PLAIN_LEAVES:
        return value
    if kind is str or isinstance(value, str):
        return UNKNOWN if value == _UNKNOWN_TEXT else value
    if kind is dict or isinstance(value, Mapping):
        return _from_pulumi_items(value.items())
    if kind is list or isinstance(value, list | tuple):
        return [from_pulumi(v) for v in value]
    return UNKNOWN if isinstance(value, Unknown) else value


def _from_pulumi_items(items: Iterable[tuple[Any, Any]], *, skip_dunder: bool = False) -> Any:
    out: dict[Any, Any] = {}
    for key, value in items:
        if skip_dunder and key.startswith("__"):
            continue
        kind = type(value)
        if kind is str:
            out[key] = UNKNOWN if value == _UNKNOWN_TEXT else value
        elif kind in _PLAIN_LEAVES:
            out[key] = value
        else:
            out[key] = from_pulumi(value)
    return out


def to_pulumi(value: Any) -> Any:
    """``spec.UNKNOWN`` → the wire's unknown string, which the SDK passes through as is."""
    if value is UNKNOWN:
        return _UNKNOWN_TEXT
    kind = type(value)
    if kind is str or kind in _PLAIN_LEAVES:
        return value
    if kind is dict or isinstance(value, Mapping):
        return {k: to_pulumi(v) for k, v in value.items()}
    if kind is list or isinstance(value, list | tuple):
        return [to_pulumi(v) for v in value]
    return value


def user_inputs(props: Mapping[str, Any]) -> dict[str, Any]:
    """The resource's own inputs from a Pulumi dict (drops ``__provider`` and outputs)."""
    inputs: dict[str, Any] = _from_pulumi_items(props.items(), skip_dunder=True)
    return inputs


def _allow_list(spec: KeyValueSpec) -> list[CidrBlockAndDescription]:
    from pulumi_render_kv.client import CidrBlockAndDescription  # noqa: PLC0415

    return [
        CidrBlockAndDescription(cidr_block=e.cidr_block, description=e.description)
        for e in spec.ip_allow_list
    ]


def create_body(spec: KeyValueSpec, owner_id: str) -> KeyValuePOSTInput:
    # ipAllowList is always sent, [] included, so Render never picks a default for it.
    from pulumi_render_kv.client import KeyValuePOSTInput  # noqa: PLC0415

    return KeyValuePOSTInput(
        name=spec.name,
        owner_id=owner_id,
        plan=spec.plan,
        region=spec.region,
        environment_id=spec.environment_id,
        maxmemory_policy=spec.maxmemory_policy,
        persistence_mode=spec.persistence_mode,
        ip_allow_list=_allow_list(spec),
    )


def log_stream_body(log_stream: LogStreamSpec) -> ResourceLogStreamPUTInput:
    from pulumi_render_kv.client import ResourceLogStreamPUTInput  # noqa: PLC0415

    return ResourceLogStreamPUTInput(
        setting=log_stream.setting,  # validated by check: send or drop
        endpoint=log_stream.endpoint,
        token=log_stream.token,
    )


def _live_log_stream(override: ResourceLogStream | None, recorded: Any) -> dict[str, Any] | None:
    """The override as an input. Render never returns the token: the one recorded in state
    is kept while setting and endpoint are unchanged (a token changed in the Dashboard cannot
    be seen); once they differ, it is left out, so the next `pulumi up` sends it again."""
    if override is None:
        return None
    live: dict[str, Any] = {"setting": override.setting}
    if override.endpoint:
        live["endpoint"] = override.endpoint
    if (
        isinstance(recorded, Mapping)
        and recorded.get("token") is not None
        and {k: v for k, v in recorded.items() if k != "token"} == live
    ):
        live["token"] = recorded["token"]
    return live


def live_inputs(
    detail: KeyValueDetail,
    local: Mapping[str, Any],
    log_stream: ResourceLogStream | None,
    *,
    recorded_log_stream: Any = None,
) -> dict[str, Any]:
    """The inputs that describe the live instance, canonicalised like ``check`` does.

    ``local`` supplies the provider-only inputs (workload, protection, …) from prior state, and
    the order of the allow list (see ``_in_recorded_order``); ``recorded_log_stream`` is the
    override in state, for its token (see ``_live_log_stream``).
    """
    raw: dict[str, Any] = {
        "name": detail.name,
        "plan": detail.plan,
        "region": detail.region,
        "ownerId": detail.owner.id,
        "maxmemoryPolicy": detail.options.maxmemory_policy,
        "persistenceMode": detail.options.persistence_mode,
        "ipAllowList": [
            {"cidrBlock": e.cidr_block, "description": e.description} for e in detail.ip_allow_list
        ],
        "environmentId": detail.environment_id,
        "logStream": _live_log_stream(log_stream, recorded_log_stream),
        # A suspension made in the Dashboard shows here, so refresh records it as drift.
        "suspended": detail.status == catalog.SUSPENDED_STATUS,
        **{k: local[k] for k in LOCAL_INPUTS if local.get(k) is not None},
    }
    canonical, problems = normalize_inputs(raw)
    # Enum normalisers keep a value they cannot place, so odd live values show as they are.
    # The allow list drops entries it refuses (say, host bits set in the Dashboard), and an
    # override Render holds may not pass our checks: keep Render's value then, so the drift
    # shows in the next preview instead of vanishing.
    for prop in ("ipAllowList", "logStream"):
        if any(p.property.startswith(prop) for p in problems):
            canonical[prop] = raw[prop]
    canonical["ipAllowList"] = _in_recorded_order(
        canonical["ipAllowList"], local.get("ipAllowList")
    )
    return {k: v for k, v in canonical.items() if v is not None}


def _in_recorded_order(live: Any, recorded: Any) -> Any:
    """Render's allow-list entries in the order ``recorded`` (state, or the program) has them.

    Render lists them in its own order. Read's inputs become the old inputs the next preview
    displays its diff against, element by element: in Render's order, one added entry would
    show as every entry changed. Entries only Render has (drift) follow, in Render's order;
    an entry is placed by its CIDR, so a description changed in the Dashboard stays in place.
    """
    if not isinstance(live, list) or not isinstance(recorded, list):
        return live
    place: dict[Any, int] = {}
    for index, entry in enumerate(recorded):
        if isinstance(entry, Mapping):
            place.setdefault(entry.get("cidrBlock"), index)

    def position(entry: Any) -> int:
        cidr = entry.get("cidrBlock") if isinstance(entry, Mapping) else None
        return place.get(cidr, len(place))

    return sorted(live, key=position)  # stable: Render's order among the unrecorded


def detail_outputs(detail: KeyValueDetail) -> dict[str, Any]:
    """The outputs Render's detail gives: what a status read or an update's answer says."""
    return {
        "ownerId": detail.owner.id,
        "status": detail.status,
        "version": detail.version,
        "dashboardUrl": detail.dashboard_url or catalog.DASHBOARD_URL.format(id=detail.id),
        maintenance_plan.OUTPUT: maintenance_output(detail),
    }


def maintenance_output(detail: KeyValueDetail) -> dict[str, Any] | None:
    """The pending maintenance run the detail carries (Render's own field: no extra call)."""
    run = detail.maintenance
    if run is None:
        return None
    return maintenance_plan.output(
        run.id, run.type, run.state, run.scheduled_at, run.pending_maintenance_by
    )


def has_credentials(url: Any) -> bool:
    """Whether a connection URL carries a user or password (internal auth on, for the
    internal one: Render's API has no field for it, the URL is how it says so)."""
    if not isinstance(url, str):
        return False
    parsed = urlsplit(url)
    return parsed.password is not None or bool(parsed.username)


def connection_outputs(connection: KeyValueConnectionInfo) -> dict[str, Any]:
    """The outputs the connection info gives: where and how clients connect (secrets)."""
    internal = connection.get_internal_connection_string()
    parsed = urlsplit(internal)
    return {
        "internalConnectionString": internal,
        "externalConnectionString": connection.get_external_connection_string(),
        "cliCommand": connection.get_cli_command(),
        "host": parsed.hostname,
        "port": parsed.port,
        INTERNAL_AUTH: has_credentials(internal),
    }


def outputs(
    inputs: Mapping[str, Any], detail: KeyValueDetail, connection: KeyValueConnectionInfo
) -> dict[str, Any]:
    """Everything the resource exposes: its inputs plus what Render computed."""
    return {**inputs, **detail_outputs(detail), **connection_outputs(connection)}


def deployed(outs: dict[str, Any]) -> dict[str, Any]:
    """``outs`` as a create or update leaves them: what it saw is now what is deployed.

    The move of a maintenance run is forgotten once that run is no longer pending.
    """
    outs[DEPLOYED_INTERNAL_AUTH] = outs.get(INTERNAL_AUTH)
    return forget_finished_move(outs)


def forget_finished_move(outs: dict[str, Any]) -> dict[str, Any]:
    moved, run = outs.get(maintenance_plan.MOVED), outs.get(maintenance_plan.OUTPUT)
    if isinstance(moved, Mapping) and not (
        isinstance(run, Mapping) and run.get("id") == moved.get("id")
    ):
        outs.pop(maintenance_plan.MOVED)
    return outs
