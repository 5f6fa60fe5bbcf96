"""Finding one instance by name or id: what ``get_key_value`` and ``getKeyValue`` return."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from pulumi_render_kv.catalog import DASHBOARD_URL
from pulumi_render_kv.errors import LookupFailed, RenderCallFailed

if TYPE_CHECKING:
    # The client is imported by the calls that need it: the provider process imports this
    # module, and its check and diff need no client (issue 16, target 3).
    from pulumi_render_kv.client import KeyValueDetail, KeyValueSummary, RenderClient


@dataclass(frozen=True)
class KeyValueLookup:
    """What ``get_key_value`` found (no secrets: use ``KeyValue.get`` for connection info)."""

    id: str
    name: str
    plan: str
    region: str
    status: str
    owner_id: str
    environment_id: str | None
    dashboard_url: str


def _lookup(kv: KeyValueSummary | KeyValueDetail) -> KeyValueLookup:
    return KeyValueLookup(
        id=kv.id,
        name=kv.name,
        plan=kv.plan,
        region=kv.region,
        status=kv.status,
        owner_id=kv.owner.id,
        environment_id=kv.environment_id,
        dashboard_url=kv.dashboard_url or DASHBOARD_URL.format(id=kv.id),
    )


def find_by_id(client: RenderClient, instance_id: str) -> KeyValueLookup:
    from pulumi_render_kv.client import NotFoundError, RenderError  # noqa: PLC0415

    try:
        return _lookup(client.retrieve_key_value(instance_id))
    except NotFoundError as err:
        raise LookupFailed(f"no Key Value {instance_id} that the API key can see") from err
    except RenderError as err:
        raise RenderCallFailed(f"read Key Value {instance_id}", err) from err


def find_by_name(
    client: RenderClient, name: str, *, owner_id: str | None, region: str | None
) -> KeyValueLookup:
    """Exactly one instance called ``name`` (in the workspace, region), or fail saying why."""
    from pulumi_render_kv.client import RenderError  # noqa: PLC0415

    try:
        owner = owner_id or client.resolve_owner_id()
        matches = client.list_key_value_named(name, owner_id=owner, region=region)
    except RenderError as err:
        raise RenderCallFailed(f"look up Key Value {name!r}", err) from err
    where = f"in workspace {owner}" + (f", region {region}" if region else "")
    if not matches:
        raise LookupFailed(f"no Key Value named {name!r} {where}")
    if len(matches) > 1:
        ids = ", ".join(f"{kv.id} ({kv.region})" for kv in matches)
        # region= only helps when the namesakes are in different regions and none was given.
        narrow = (
            "pass region= or " if region is None and len({kv.region for kv in matches}) > 1 else ""
        )
        raise LookupFailed(
            f"{len(matches)} Key Value instances are named {name!r} {where}: {ids}; "
            f"{narrow}use KeyValue.get with the id of the one you mean (or rename the others)"
        )
    return _lookup(matches[0])
