"""Pulumi dynamic resources for Render Key Value (managed Valkey).

>>> import pulumi_render_kv as render_kv
>>> cache = render_kv.KeyValue("cache", plan="starter", workload="cache")  # doctest: +SKIP
"""

from pulumi_render_kv.catalog import MaxmemoryPolicy, PersistenceMode, Plan, Region, Workload
from pulumi_render_kv.errors import (
    CreateIncomplete,
    DeletionProtected,
    InputError,
    InstanceFailed,
    InstanceHeld,
    KeyValueError,
    LookupFailed,
    NameTaken,
    PlanRejected,
    RenderCallFailed,
    RenderError,
    WaitTimedOut,
    WorkspaceNotVisible,
)
from pulumi_render_kv.provider import (
    TYPE_TOKEN,
    IpAllowEntry,
    KeyValue,
    KeyValueLookup,
    KeyValueProvider,
    LogStream,
    get_key_value,
)
from pulumi_render_kv.spec import AS_IS

__all__ = [
    "AS_IS",
    "TYPE_TOKEN",
    "CreateIncomplete",
    "DeletionProtected",
    "InputError",
    "InstanceFailed",
    "InstanceHeld",
    "IpAllowEntry",
    "KeyValue",
    "KeyValueError",
    "KeyValueLookup",
    "KeyValueProvider",
    "LogStream",
    "LookupFailed",
    "MaxmemoryPolicy",
    "NameTaken",
    "PersistenceMode",
    "Plan",
    "PlanRejected",
    "Region",
    "RenderCallFailed",
    "RenderError",
    "WaitTimedOut",
    "Workload",
    "WorkspaceNotVisible",
    "get_key_value",
]
