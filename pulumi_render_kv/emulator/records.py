"""What the emulated Render holds and is asked: its facts, inputs, records, views and checks.

The data of ``backend.py`` without its behaviour: Render's plans, regions and policies
(https://render.com/docs/key-value), the typed inputs the routes parse from JSON
(``shapes.py``), the records the backend keeps and the read-only views it returns, and the
field checks that answer Render-shaped 400s (``errors.ApiError`` subclasses).
"""

from __future__ import annotations

import ipaddress
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field

from . import errors
from .lifecycle import InstanceLifecycle
from .maintenance import MaintenanceView
from .plane import PlaneEndpoints

# --- facts about Render: plans, regions, policies (https://render.com/docs/key-value) -------

PLANS = ("free", "starter", "standard", "pro", "pro_plus", "custom")
# Upgrade order; `custom` plans are account-specific and not offered by the emulator.
PLAN_ORDER = ("free", "starter", "standard", "pro", "pro_plus")
MB = 1024 * 1024
PLAN_MEMORY_BYTES = {
    "free": 25 * MB,
    "starter": 256 * MB,
    "standard": 1024 * MB,
    "pro": 5 * 1024 * MB,
    "pro_plus": 10 * 1024 * MB,
}
REGIONS = ("frankfurt", "oregon", "ohio", "singapore", "virginia")
DEFAULT_REGION = "oregon"
MAXMEMORY_POLICIES = (
    "noeviction",
    "allkeys_lfu",
    "allkeys_lru",
    "allkeys_random",
    "volatile_lfu",
    "volatile_lru",
    "volatile_random",
    "volatile_ttl",
)
DEFAULT_MAXMEMORY_POLICY = "allkeys_lru"  # inferred: Dashboard/Blueprint/CLI default
VERSION = "8.1.4"
DASHBOARD_URL = "https://dashboard.render.com/r/{id}"
# Without a data plane, connection strings point at a host that never resolves (RFC 2606).
PLACEHOLDER_HOST = "{region}-keyvalue.render-emulator.invalid"
PLACEHOLDER_PORT = 6379
# Ours: Render documents no limit. Long enough for any real name, short enough to stop a
# multi-megabyte name from being stored and echoed back in every list response.
MAX_NAME_LENGTH = 255
# Ours too, for every other text field of a request body (ids, enum values, CIDR blocks,
# descriptions, log-stream endpoints and tokens): room for any real value (a host:port endpoint
# is at most 259 characters, a log-stream token a few dozen), none for a multi-megabyte one.
MAX_TEXT_LENGTH = 1024


def valkey_policy(api_policy: str) -> str:
    """The API's ``allkeys_lru`` is Valkey's ``allkeys-lru``."""
    return api_policy.replace("_", "-")


# --- inputs -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class CidrBlock:
    """One ``ipAllowList`` entry."""

    cidr_block: str
    description: str


@dataclass(frozen=True)
class LogStreamOverride:
    """A resource's log-stream override (``PUT /logs/streams/resource/{id}``).

    The token is kept (a test can see what arrived) but never rendered: Render's answers
    have no token field.
    """

    setting: str
    endpoint: str | None = None
    token: str | None = field(default=None, repr=False)


@dataclass(frozen=True)
class CreateInput:
    """A parsed ``keyValuePOSTInput``; ``None`` = omitted."""

    name: str
    owner_id: str
    plan: str
    region: str | None = None
    environment_id: str | None = None
    maxmemory_policy: str | None = None
    persistence_mode: str | None = None
    ip_allow_list: tuple[CidrBlock, ...] | None = None


@dataclass(frozen=True)
class UpdateInput:
    """A parsed ``keyValuePATCHInput``; ``None`` = unchanged."""

    name: str | None = None
    plan: str | None = None
    maxmemory_policy: str | None = None
    persistence_mode: str | None = None
    ip_allow_list: tuple[CidrBlock, ...] | None = None


@dataclass(frozen=True)
class ListFilters:
    """Parsed list query; tuples are OR-ed within a filter, filters are AND-ed."""

    names: tuple[str, ...] | None = None
    regions: tuple[str, ...] | None = None
    owner_ids: tuple[str, ...] | None = None
    environment_ids: tuple[str, ...] | None = None
    created_before_ns: int | None = None
    created_after_ns: int | None = None
    updated_before_ns: int | None = None
    updated_after_ns: int | None = None
    cursor: str | None = None
    limit: int = 20


@dataclass(frozen=True)
class MaintenanceFilters:
    """Parsed ``list-maintenance`` query; OR within a filter, AND across filters."""

    resource_ids: tuple[str, ...] | None = None
    owner_ids: tuple[str, ...] | None = None
    states: tuple[str, ...] | None = None


# --- state and views --------------------------------------------------------------------------


@dataclass(frozen=True)
class Owner:
    """A workspace."""

    id: str
    name: str
    email: str
    type: str = "team"


PROTECTED_STATUSES = ("protected", "unprotected")


@dataclass
class _Environment:
    id: str
    name: str
    project_id: str
    owner_id: str
    protected_status: str = "unprotected"
    network_isolation_enabled: bool = False


@dataclass(frozen=True)
class EnvironmentView:
    """An environment and the Key Value instances in it."""

    id: str
    name: str
    project_id: str
    redis_ids: tuple[str, ...]
    protected_status: str = "unprotected"
    network_isolation_enabled: bool = False


@dataclass
class _Instance:
    id: str
    sequence: int
    name: str
    owner_id: str
    plan: str
    region: str
    environment_id: str | None
    maxmemory_policy: str
    persistence_mode: str
    ip_allow_list: tuple[CidrBlock, ...]
    password: str
    created_ns: int
    updated_ns: int
    lifecycle: InstanceLifecycle
    endpoints: PlaneEndpoints | None = field(default=None)
    log_stream: LogStreamOverride | None = None
    # Render's internal authentication (a Dashboard setting, not in the API's shapes).
    internal_auth: bool = False


@dataclass(frozen=True)
class InstanceView:
    """A Key Value instance as one read sees it. ``fresh`` marks the create response."""

    id: str
    name: str
    owner: Owner
    plan: str
    region: str
    status: str
    environment_id: str | None
    maxmemory_policy: str
    persistence_mode: str
    ip_allow_list: tuple[CidrBlock, ...]
    version: str
    created_ns: int
    updated_ns: int
    fresh: bool = False
    maintenance: MaintenanceView | None = None  # the scheduled or running one

    @property
    def dashboard_url(self) -> str:
        """Render's Dashboard link (list items only)."""
        return DASHBOARD_URL.format(id=self.id)


@dataclass(frozen=True)
class ConnectionInfo:
    """The three connection strings of ``keyValueConnectionInfo``."""

    internal: str
    external: str
    cli_command: str


def _url_host(host: str) -> str:
    """``host`` as a URL authority needs it: an IPv6 address in brackets."""
    return f"[{host}]" if ":" in host else host


# --- validation helpers -----------------------------------------------------------------------


def _check_enum(field_name: str, value: str, allowed: tuple[str, ...]) -> None:
    if value not in allowed:
        raise errors.InvalidEnumValue(field_name, value, allowed)


def _check_plan(field_name: str, plan: str) -> None:
    _check_enum(field_name, plan, PLANS)
    if plan not in PLAN_ORDER:
        raise errors.InvalidFieldValue(
            field_name,
            f"{plan!r} plans are account-specific and not offered by this workspace "
            f"(use one of: {', '.join(PLAN_ORDER)})",
        )


def check_name(name: str, field_name: str = "name") -> None:
    """A name Render could show: not blank, at most ``MAX_NAME_LENGTH``, no control characters."""
    if not name.strip():
        raise errors.InvalidFieldValue(field_name, "must not be empty")
    check_text(name, field_name, max_length=MAX_NAME_LENGTH)


def check_text(value: str, field_name: str, *, max_length: int = MAX_TEXT_LENGTH) -> None:
    """Text the emulator can store and answer with: at most ``max_length``, no control characters.

    The message names the field, the code point and its position, never the value: the value
    may be a log-stream token.
    """
    if len(value) > max_length:
        raise errors.InvalidFieldValue(
            field_name, f"must be at most {max_length} characters, got {len(value)}"
        )
    for position, char in enumerate(value):
        # Cc: C0/C1 controls (newline, tab, NUL, DEL, …); Cs: lone surrogates from "\ud800"
        # escapes, which are not text: SQLite (the --data-dir state) cannot store them.
        if unicodedata.category(char) in ("Cc", "Cs"):
            raise errors.InvalidFieldValue(
                field_name,
                f"must not contain control characters (found U+{ord(char):04X} at {position})",
            )


def check_optional_text(value: str | None, field_name: str) -> None:
    """:func:`check_text` for a field that may be omitted (``None``)."""
    if value is not None:
        check_text(value, field_name)


def _check_allow_list(entries: Iterable[CidrBlock]) -> None:
    for index, entry in enumerate(entries):
        check_text(entry.cidr_block, f"ipAllowList[{index}].cidrBlock")
        check_text(entry.description, f"ipAllowList[{index}].description")
        try:
            ipaddress.ip_network(entry.cidr_block, strict=False)
        except ValueError:
            raise errors.InvalidFieldValue(
                f"ipAllowList[{index}].cidrBlock",
                f"{entry.cidr_block!r} is not a CIDR block (e.g. 203.0.113.0/24 or 0.0.0.0/0)",
            ) from None


def _persistence_after_update(
    current_plan: str, plan: str, requested: str | None, current: str
) -> str:
    """Persistence after a PATCH: free is always ``off``; leaving free flips it on."""
    if plan == "free":
        if requested not in (None, "off"):
            raise errors.PersistenceOnFreePlan(requested)
        return "off"
    if requested is not None:
        return requested
    if current_plan == "free":
        return "journal_snapshot"  # observed: free → starter switched off → journal_snapshot
    return current


def _in(values: tuple[str, ...] | None, value: str | None) -> bool:
    return values is None or value in values
