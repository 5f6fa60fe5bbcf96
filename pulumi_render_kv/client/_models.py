"""Pydantic models of Render's JSON, named after the spec's schemas.

Attributes are snake_case; the JSON is camelCase (aliases), and either name is accepted when
building a model (``populate_by_name``).

Strict in what we send: request models (``KeyValuePOSTInput``, ``KeyValuePATCHInput``,
``CidrBlockAndDescription`` when built by hand) forbid unknown fields, check enums, and are
serialised by alias with unset fields left out (:func:`request_json`).

Tolerant in what we read, as Render's real answers require: unknown fields are ignored;
``ipAllowList: null`` reads as ``[]``; ``status``, ``plan``, ``region`` and
``maxmemoryPolicy`` are kept as plain strings, so a value Render adds later does not break
reading; nanosecond timestamps parse (to microseconds); the legacy ``redisCLICommand`` name
is accepted for ``cliCommand``.

Connection strings are secrets: :class:`KeyValueConnectionInfo` holds them as ``SecretStr`` and
has explicit accessors for the plain values.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Final, Literal

from pydantic import (
    AliasChoices,
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    field_serializer,
    field_validator,
)
from pydantic.alias_generators import to_camel

__all__ = [
    "DATABASE_STATUSES",
    "DEFAULT_REGION",
    "CidrBlockAndDescription",
    "Environment",
    "KeyValueConnectionInfo",
    "KeyValueDetail",
    "KeyValueOptions",
    "KeyValuePATCHInput",
    "KeyValuePOSTInput",
    "KeyValuePlan",
    "KeyValueSummary",
    "KeyValueWithCursor",
    "Maintenance",
    "MaintenancePATCHInput",
    "MaintenanceRun",
    "MaintenanceState",
    "MaxmemoryPolicy",
    "Owner",
    "OwnerWithCursor",
    "PersistenceMode",
    "Region",
    "ResourceLogStream",
    "ResourceLogStreamPUTInput",
    "TimeSeries",
    "TimeSeriesLabel",
    "TimeSeriesValue",
    "request_json",
]

MaxmemoryPolicy = Literal[
    "noeviction",
    "allkeys_lfu",
    "allkeys_lru",
    "allkeys_random",
    "volatile_lfu",
    "volatile_lru",
    "volatile_random",
    "volatile_ttl",
]
PersistenceMode = Literal["journal_snapshot", "snapshot", "off"]
Region = Literal["frankfurt", "oregon", "ohio", "singapore", "virginia"]
KeyValuePlan = Literal["free", "starter", "standard", "pro", "pro_plus", "custom"]

DEFAULT_REGION: Final = "oregon"
"""The region Render uses when a create body has none (spec: ``region`` "Defaults to oregon")."""

DATABASE_STATUSES: Final = frozenset(
    {
        "creating",
        "available",
        "unavailable",
        "config_restart",
        "suspended",
        "maintenance_scheduled",
        "maintenance_in_progress",
        "recovery_failed",
        "recovery_in_progress",
        "unknown",
        "updating_instance",
    }
)
"""The spec's ``databaseStatus`` values. ``status`` fields also keep values not listed here."""


# Every model defers building its validator to its first use: the package is imported by
# every provider process, and most of them (each preview's) never validate a wire model
# (issue 16: cold start).


class _Response(BaseModel):
    """Base of models read from Render: tolerant, immutable."""

    model_config = ConfigDict(
        defer_build=True,
        alias_generator=to_camel,
        populate_by_name=True,
        extra="ignore",
        frozen=True,
    )


class _Request(BaseModel):
    """Base of models sent to Render: strict."""

    model_config = ConfigDict(
        defer_build=True,
        alias_generator=to_camel,
        populate_by_name=True,
        extra="forbid",
        validate_assignment=True,
    )


def request_json(model: _Request) -> bytes:
    """The JSON body for ``model``: camelCase keys, unset (and None) fields left out."""
    return model.model_dump_json(by_alias=True, exclude_unset=True, exclude_none=True).encode()


class CidrBlockAndDescription(_Request):
    """One ``ipAllowList`` entry. Render requires both fields."""

    cidr_block: str = Field(min_length=1)
    description: str


def _allow_list(value: Any) -> Any:
    """Read ``ipAllowList``: null → [], and unknown keys inside entries dropped."""
    if value is None:
        return []
    if isinstance(value, list):
        known = {"cidrBlock", "cidr_block", "description"}
        return [
            {k: v for k, v in item.items() if k in known} if isinstance(item, dict) else item
            for item in value
        ]
    return value


class Owner(_Response):
    """A workspace (``team``) or user that owns resources."""

    id: str
    name: str
    email: str | None = None
    type: str | None = None
    ip_allow_list: list[CidrBlockAndDescription] = Field(default_factory=list)
    two_factor_auth_enabled: bool | None = None

    _allow_list = field_validator("ip_allow_list", mode="before")(_allow_list)


class OwnerWithCursor(_Response):
    owner: Owner
    cursor: str | None = None


class KeyValueOptions(_Response):
    """``options``: both fields optional in the spec, always present in practice."""

    maxmemory_policy: str | None = None
    persistence_mode: str | None = None


MaintenanceState = Literal[
    "scheduled", "in_progress", "user_fix_required", "cancelled", "succeeded", "failed"
]
"""The spec's maintenance-run ``state`` values (read as plain strings, like every enum)."""


class Maintenance(_Response):
    """A scheduled or running maintenance run, as ``KeyValueDetail.maintenance`` carries it."""

    id: str
    type: str | None = None
    scheduled_at: datetime | None = None
    pending_maintenance_by: datetime | None = None
    """If present, the run cannot be scheduled for later than this (Render's window)."""
    state: str | None = None


class MaintenanceRun(Maintenance):
    """A maintenance run as ``GET /maintenance`` and ``GET /maintenance/{id}`` answer it."""

    resource_id: str


class MaintenancePATCHInput(_Request):
    """Body of ``PATCH /maintenance/{id}``: the new start, before ``pendingMaintenanceBy``.

    Timezone-aware only: a naive time would be read by Render in a zone nobody chose.
    """

    scheduled_at: AwareDatetime


class TimeSeriesLabel(_Response):
    """One label of a metrics time series, e.g. ``{"field": "resource", "value": "red-…"}``."""

    field: str
    value: str


class TimeSeriesValue(_Response):
    """One data point. The spec lists ``unit`` as required here but does not declare it."""

    timestamp: datetime
    value: float
    unit: str | None = None


class TimeSeries(_Response):
    """One series of ``/metrics/*``: its labels (which resource), points and unit."""

    labels: list[TimeSeriesLabel] = Field(default_factory=list)
    values: list[TimeSeriesValue] = Field(default_factory=list)
    unit: str

    def label(self, field: str) -> str | None:
        """The value of the label named ``field`` (``resource``), if the series has one."""
        return next((label.value for label in self.labels if label.field == field), None)


class _KeyValueBase(_Response):
    id: str
    name: str
    plan: str
    region: str
    status: str
    owner: Owner
    options: KeyValueOptions = Field(default_factory=KeyValueOptions)
    ip_allow_list: list[CidrBlockAndDescription] = Field(default_factory=list)
    version: str | None = None
    created_at: datetime
    updated_at: datetime
    environment_id: str | None = None
    dashboard_url: str | None = None

    _allow_list = field_validator("ip_allow_list", mode="before")(_allow_list)

    @property
    def status_is_known(self) -> bool:
        """Whether ``status`` is one of the spec's ``databaseStatus`` values."""
        return self.status in DATABASE_STATUSES


class KeyValueDetail(_KeyValueBase):
    """A Key Value instance, as create, retrieve and update return it (no ``dashboardUrl``)."""

    maintenance: Maintenance | None = None


class KeyValueSummary(_KeyValueBase):
    """A Key Value instance as a list item (has ``dashboardUrl``, no ``maintenance``)."""


class KeyValueWithCursor(_Response):
    key_value: KeyValueSummary
    cursor: str | None = None


class KeyValueConnectionInfo(_Response):
    """How to connect. Every string can hold the password, so all three are ``SecretStr``."""

    internal_connection_string: SecretStr
    external_connection_string: SecretStr
    cli_command: SecretStr = Field(
        validation_alias=AliasChoices("cliCommand", "redisCLICommand", "cli_command"),
        serialization_alias="cliCommand",
    )

    def get_internal_connection_string(self) -> str:
        """``redis://red-…:6379`` (with ``user:password@`` if internal auth is on)."""
        return self.internal_connection_string.get_secret_value()

    def get_external_connection_string(self) -> str:
        """``rediss://red-…:PASSWORD@<region>-keyvalue.render.com:6379``."""
        return self.external_connection_string.get_secret_value()

    def get_cli_command(self) -> str:
        """``REDISCLI_AUTH=… valkey-cli --user red-… -h … -p … --tls``, as Render sent it."""
        return self.cli_command.get_secret_value()


class Environment(_Response):
    """A project environment (only the fields the provider needs are required)."""

    id: str
    name: str | None = None
    project_id: str | None = None
    redis_ids: list[str] = Field(default_factory=list)
    service_ids: list[str] = Field(default_factory=list)
    databases_ids: list[str] = Field(default_factory=list)
    env_group_ids: list[str] = Field(default_factory=list)
    protected_status: str | None = None
    network_isolation_enabled: bool | None = None

    @field_validator("redis_ids", "service_ids", "databases_ids", "env_group_ids", mode="before")
    @classmethod
    def _null_is_empty(cls, value: Any) -> Any:
        # Render sends an empty id list as null (recorded traffic), though the spec says array.
        return [] if value is None else value


class KeyValuePOSTInput(_Request):
    """Body of ``POST /key-value``. ``region`` defaults to ``oregon`` on Render's side."""

    name: str = Field(min_length=1)
    owner_id: str = Field(min_length=1)
    plan: str = Field(min_length=1)
    """A :data:`KeyValuePlan`, or an account-specific custom plan name."""
    region: str | None = Field(default=None, min_length=1)
    environment_id: str | None = Field(default=None, min_length=1)
    maxmemory_policy: MaxmemoryPolicy | None = None
    persistence_mode: PersistenceMode | None = None
    ip_allow_list: list[CidrBlockAndDescription] | None = None


class KeyValuePATCHInput(_Request):
    """Body of ``PATCH /key-value/{id}``: only the fields set are sent; ``ipAllowList`` replaces."""

    name: str | None = Field(default=None, min_length=1)
    plan: str | None = Field(default=None, min_length=1)
    maxmemory_policy: MaxmemoryPolicy | None = None
    persistence_mode: PersistenceMode | None = None
    ip_allow_list: list[CidrBlockAndDescription] | None = None


class ResourceLogStream(_Response):
    """A resource's log-stream override, as ``GET``/``PUT /logs/streams/resource/{id}`` answer.

    Render never returns the token, and sends ``"endpoint": ""`` for ``drop`` (recorded
    traffic): read as ``None``.
    """

    resource_id: str
    setting: str
    """``send`` or ``drop`` (kept as a plain string, like every enum read from Render)."""
    endpoint: str | None = None

    @field_validator("endpoint", mode="before")
    @classmethod
    def _empty_is_none(cls, value: Any) -> Any:
        return value or None


class ResourceLogStreamPUTInput(_Request):
    """Body of ``PUT /logs/streams/resource/{id}``.

    Render's rule (spec): ``send`` needs an ``endpoint``, ``drop`` takes none. The token is a
    ``SecretStr`` (never in a repr); only the request body carries its value.
    """

    setting: Literal["send", "drop"]
    endpoint: str | None = Field(default=None, min_length=1)
    token: SecretStr | None = None

    @field_serializer("token", when_used="json")
    def _reveal(self, token: SecretStr | None) -> str | None:
        return None if token is None else token.get_secret_value()
