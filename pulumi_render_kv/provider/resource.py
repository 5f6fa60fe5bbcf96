"""The program-facing types: ``KeyValue``, ``IpAllowEntry``, ``LogStream``, ``get_key_value``.

Python attributes are snake_case; in state and in ``pulumi preview`` the properties are
camelCase like every Pulumi provider's (``maxmemoryPolicy``, ``ipAllowList[].cidrBlock``).
Connection strings are always secret outputs.
"""

from __future__ import annotations

import sys
from collections.abc import Awaitable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from inspect import isawaitable
from typing import TYPE_CHECKING, Any, ClassVar, TypeAlias

import pulumi
from pulumi.dynamic import Resource

from pulumi_render_kv.core._convert import SECRET_OUTPUTS
from pulumi_render_kv.core._find import KeyValueLookup, find_by_name
from pulumi_render_kv.provider.provider import KeyValueProvider

if TYPE_CHECKING:
    # Imported where used at run time: the provider process imports this module too, and its
    # check and diff need neither the client nor pydantic's models (issue 16, target 3).
    from pulumi_render_kv.spec import IpAllowEntry

TYPE_TOKEN = "pulumi-python:dynamic/render-kv:KeyValue"  # noqa: S105  (a type name, not a secret)

# Python attribute → property name in state. Only top-level names are translated: the
# entries of ipAllowList keep Render's own camelCase keys.
_PROPERTY_NAMES: dict[str, str] = {
    "name": "name",
    "plan": "plan",
    "region": "region",
    "workload": "workload",
    "maxmemory_policy": "maxmemoryPolicy",
    "persistence_mode": "persistenceMode",
    "ip_allow_list": "ipAllowList",
    "log_stream": "logStream",
    "environment_id": "environmentId",
    "owner_id": "ownerId",
    "suspended": "suspended",
    "deletion_protection": "deletionProtection",
    "allow_data_loss": "allowDataLoss",
    "adopt_existing": "adoptExisting",
    "allow_duplicate_name": "allowDuplicateName",
    "pulumi_protect": "pulumiProtect",
    "wait_timeout": "waitTimeout",
    "maintenance_scheduled_at": "maintenanceScheduledAt",
    "status": "status",
    "version": "version",
    "dashboard_url": "dashboardUrl",
    "internal_connection_string": "internalConnectionString",
    "external_connection_string": "externalConnectionString",
    "cli_command": "cliCommand",
    "host": "host",
    "port": "port",
    "internal_auth_enabled": "internalAuthEnabled",
    "deployed_internal_auth_enabled": "deployedInternalAuthEnabled",
    "maintenance": "maintenance",
    "maintenance_moved": "maintenanceMoved",
}
_ATTRIBUTE_NAMES = {prop: attr for attr, prop in _PROPERTY_NAMES.items()}
IpAllowEntryInput: TypeAlias = "IpAllowEntry | Mapping[str, Any] | str"


@dataclass(frozen=True)
class LogStream:
    """The instance's own log stream, overriding the workspace's default.

    ``setting="send"`` streams to ``endpoint`` (``host:port``, syslog over TLS) with an
    optional ``token``; ``"drop"`` sends its logs nowhere. The token is always a secret.
    """

    setting: pulumi.Input[str]
    endpoint: pulumi.Input[str] | None = None
    token: pulumi.Input[str] | None = field(default=None, repr=False)


LogStreamInput = (
    LogStream
    | Mapping[str, Any]
    | pulumi.Output[LogStream]
    | pulumi.Output[Mapping[str, Any]]
    | Awaitable[LogStream | Mapping[str, Any] | None]
)


def _entry(entry: IpAllowEntryInput) -> Any:
    # An IpAllowEntry exists only once its module (and pydantic) was imported: a program that
    # passes strings or dicts does not pay for that import (about 60 ms per program run).
    models = sys.modules.get("pulumi_render_kv.spec._models")
    if models is not None and isinstance(entry, models.IpAllowEntry):
        return {"cidrBlock": entry.cidr_block, "description": entry.description}
    if isinstance(entry, Mapping):
        return {
            "cidrBlock": entry.get("cidr_block", entry.get("cidrBlock")),
            "description": entry.get("description", ""),
        }
    return entry  # a bare CIDR string, or an Output: check() validates it


def _entries(value: Any) -> Any:
    if value is None:
        return []
    if isinstance(value, str) or not isinstance(value, Sequence):
        return value  # one CIDR string, or an Output of a list: check() reports or takes it
    return [_entry(e) for e in value]


def _log_stream(value: Any) -> Any:
    """``log_stream`` as the property to register, its token a secret in every form.

    The token is the only secret part: setting and endpoint stay readable in previews and
    diffs. An ``Output`` (or awaitable) of the whole value is the exception: its fields are
    not known until it resolves, so there is nothing to wrap now, and the value it resolves
    to is made secret as a whole when it holds a token.
    """
    if value is None:
        return None
    if isinstance(value, pulumi.Output) or isawaitable(value):
        # Output.from_input lifts the Outputs inside the resolved dict (the secret token
        # among them) into one Output, secret when any of them is; apply() carries that
        # secrecy to the result. The engine then keeps the whole logStream input secret,
        # and the output of the same name with it.
        return pulumi.Output.from_input(value).apply(
            lambda resolved: pulumi.Output.from_input(_log_stream(resolved))
        )
    if isinstance(value, LogStream):
        value = {"setting": value.setting, "endpoint": value.endpoint, "token": value.token}
    if not isinstance(value, Mapping):
        return value  # check() says what it must be
    fields = dict(value)
    if fields.get("token") is not None:
        # Secret in state, previews and outputs (the engine keeps an input's secrecy for the
        # output of the same name), even when the program passes a plain string.
        fields["token"] = pulumi.Output.secret(fields["token"])
    return {k: v for k, v in fields.items() if v is not None}


class KeyValue(Resource, module="render-kv", name="KeyValue"):
    """A Render Key Value instance (managed Valkey).

    ``plan`` is required (no costly default). Give ``workload`` (``"cache"``, ``"queue"``,
    ``"session"``) or ``maxmemory_policy``. ``region`` and ``owner_id`` cannot change in
    place: changing them replaces the instance, which loses its data and therefore needs
    ``allow_data_loss=True``. Plans can only be upgraded.

    ``suspended=True`` suspends the instance (it refuses every connection; its data is kept
    when persistence is on); ``False`` resumes it and waits until it is available.
    ``log_stream`` overrides the workspace's log stream for this instance; leaving it out
    (or removing it) means the workspace default. ``AS_IS`` for either leaves it as it is in
    Render: Pulumi neither changes it nor reports drift for it (what a program adopting an
    instance says for what it cannot know).

    ``adopt_existing=True`` takes over the instance already called ``name`` in the workspace
    and region instead of creating one. Without it, an existing instance of that name stops
    the create (no silent twin); ``allow_duplicate_name=True`` creates a second one anyway.

    Internal authentication (a Dashboard setting; the API cannot set it) shows in
    ``internal_auth_enabled``, read from the internal connection string Render gives (it then
    carries ``default:<password>@``). ``pulumi refresh`` records a switch: the new
    ``internal_connection_string`` (a secret) for app stacks to pick up at their next `up`,
    while ``deployed_internal_auth_enabled`` keeps what the last create or update saw. Until
    the next `up` records it (an update that calls nothing), every preview warns that clients
    on the old URL fail.

    ``maintenance`` is Render's pending maintenance run (``id``, ``type``, ``scheduledAt``,
    ``pendingMaintenanceBy``, ``state``; None when none is pending), from the instance's own
    detail. A preview or `up` warns while one is scheduled within 7 days, naming its date.
    ``maintenance_scheduled_at`` (ISO-8601 with an offset, or an aware ``datetime``) moves
    the pending run to that time: a new value must be in the future (checked at preview) and
    not after the run's ``pendingMaintenanceBy`` (refused at preview, from the state). The
    input is satisfied once the run starts then or this provider moved it there
    (``maintenance_moved``: no second request, even while Render's read still shows the old
    time), and moot while no run is pending: neither makes a diff. A run Render schedules
    later is moved to the same time if it is still ahead; a past time is left alone, with a
    warning.
    """

    name: pulumi.Output[str]
    plan: pulumi.Output[str]
    region: pulumi.Output[str]
    workload: pulumi.Output[str | None]
    maxmemory_policy: pulumi.Output[str]
    persistence_mode: pulumi.Output[str]
    ip_allow_list: pulumi.Output[list[dict[str, str]]]
    log_stream: pulumi.Output[dict[str, str] | None]
    environment_id: pulumi.Output[str | None]
    owner_id: pulumi.Output[str]
    suspended: pulumi.Output[bool]
    deletion_protection: pulumi.Output[bool]
    allow_data_loss: pulumi.Output[bool]
    adopt_existing: pulumi.Output[bool]
    allow_duplicate_name: pulumi.Output[bool]
    wait_timeout: pulumi.Output[float]
    maintenance_scheduled_at: pulumi.Output[str | None]
    status: pulumi.Output[str]
    version: pulumi.Output[str]
    dashboard_url: pulumi.Output[str]
    internal_connection_string: pulumi.Output[str]
    external_connection_string: pulumi.Output[str]
    cli_command: pulumi.Output[str]
    host: pulumi.Output[str]
    port: pulumi.Output[int]
    internal_auth_enabled: pulumi.Output[bool]
    deployed_internal_auth_enabled: pulumi.Output[bool]
    maintenance: pulumi.Output[dict[str, str] | None]
    maintenance_moved: pulumi.Output[dict[str, str] | None]

    type_token: ClassVar[str] = TYPE_TOKEN

    def __init__(
        self,
        resource_name: str,
        *,
        plan: pulumi.Input[str] | None = None,
        name: pulumi.Input[str] | None = None,
        region: pulumi.Input[str] | None = None,
        workload: pulumi.Input[str] | None = None,
        maxmemory_policy: pulumi.Input[str] | None = None,
        persistence_mode: pulumi.Input[str] | None = None,
        ip_allow_list: Sequence[IpAllowEntryInput] | None = None,
        log_stream: LogStreamInput | str | None = None,
        environment_id: pulumi.Input[str] | None = None,
        owner_id: pulumi.Input[str] | None = None,
        suspended: pulumi.Input[bool] | str | None = None,
        deletion_protection: pulumi.Input[bool] | None = None,
        allow_data_loss: pulumi.Input[bool] | None = None,
        adopt_existing: pulumi.Input[bool] | None = None,
        allow_duplicate_name: pulumi.Input[bool] | None = None,
        wait_timeout: pulumi.Input[float] | None = None,
        maintenance_scheduled_at: pulumi.Input[str] | datetime | None = None,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        is_get = opts is not None and opts.id is not None
        props: dict[str, Any] = {attr: None for attr in _PROPERTY_NAMES}
        if not is_get:
            props.update(
                name=name if name is not None else resource_name,
                plan=plan,
                region=region,
                workload=workload,
                maxmemory_policy=maxmemory_policy,
                persistence_mode=persistence_mode,
                ip_allow_list=_entries(ip_allow_list),
                log_stream=_log_stream(log_stream),
                environment_id=environment_id,
                owner_id=owner_id,
                suspended=suspended,
                deletion_protection=deletion_protection,
                allow_data_loss=allow_data_loss,
                adopt_existing=adopt_existing,
                allow_duplicate_name=allow_duplicate_name,
                wait_timeout=wait_timeout,
                # A datetime is sent as ISO-8601 text (a naive one keeps no offset, and check
                # refuses it); check makes every spelling one canonical UTC string.
                maintenance_scheduled_at=(
                    maintenance_scheduled_at.isoformat()
                    if isinstance(maintenance_scheduled_at, datetime)
                    else maintenance_scheduled_at
                ),
            )
        own = pulumi.ResourceOptions(
            additional_secret_outputs=list(SECRET_OUTPUTS),
            # The provider refuses to delete a protected instance, but only when the delete
            # runs: a destroy preview would show a plain delete, and the apply would fail after
            # the other resources are gone. The engine checks Pulumi's own `protect` in
            # preview too, so set it as well. Only a plain True can set it (an Output is not
            # known when options are read); an explicit `protect` in opts wins.
            protect=True if deletion_protection is True and not is_get else None,
        )
        merged = pulumi.ResourceOptions.merge(own, opts)
        if not is_get and merged.protect is True:
            # Recorded for the provider, which never sees options: with protect set, the
            # engine itself refuses the delete, so a Delete that reaches the provider comes
            # after `pulumi state unprotect`, the user's consent (provider.delete).
            props["pulumi_protect"] = True
        super().__init__(KeyValueProvider(), resource_name, props, merged)
        # Pulumi carries every number as a double; a port is an integer.
        self.port = self.port.apply(lambda p: None if p is None else int(p))

    def translate_output_property(self, prop: str) -> str:
        return _ATTRIBUTE_NAMES.get(prop, prop)

    def translate_input_property(self, prop: str) -> str:
        return _PROPERTY_NAMES.get(prop, prop)

    @staticmethod
    def get(
        resource_name: str, id: pulumi.Input[str], opts: pulumi.ResourceOptions | None = None
    ) -> KeyValue:
        """Read an existing instance by its ``red-…`` id (not managed: never deleted)."""
        return KeyValue(
            resource_name, opts=pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(id=id))
        )


def get_key_value(
    *, name: str, owner_id: str | None = None, region: str | None = None
) -> KeyValueLookup:
    """Find exactly one instance by name (and workspace, region), or fail saying why.

    Runs in the Pulumi program: credentials come from config ``render:apiKey`` /
    ``render:ownerId`` / ``render:apiUrl``, then the ``RENDER_*`` environment variables.
    """
    from pulumi_render_kv.client import RenderClient, RenderSettings  # noqa: PLC0415

    config = pulumi.Config("render")
    settings = RenderSettings.resolve(
        api_key=config.get("apiKey"),
        owner_id=owner_id or config.get("ownerId"),
        base_url=config.get("apiUrl"),
    )
    client = RenderClient.shared(settings)
    return find_by_name(client, name, owner_id=settings.owner_id, region=region)
