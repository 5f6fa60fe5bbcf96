"""Pulumi dynamic resources for Render Key Value (managed Valkey).

>>> import pulumi_render_kv as render_kv
>>> cache = render_kv.KeyValue("cache", plan="starter", workload="cache")  # doctest: +SKIP
"""

import importlib
import typing

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
    WaitTimedOut,
    WorkspaceNotVisible,
)
from pulumi_render_kv.provider import (
    TYPE_TOKEN,
    KeyValue,
    KeyValueLookup,
    KeyValueProvider,
    LogStream,
    get_key_value,
)
from pulumi_render_kv.spec import AS_IS

if typing.TYPE_CHECKING:
    from pulumi_render_kv.errors import RenderError
    from pulumi_render_kv.spec import IpAllowEntry

# Bound on first use (PEP 562): the client's error tree and the pydantic models would import
# the client and pydantic into every preview's provider process, which check and diff never
# need (issue 16, target 3). ``from pulumi_render_kv import RenderError`` works as before.
_LAZY = {"RenderError": "pulumi_render_kv.errors", "IpAllowEntry": "pulumi_render_kv.spec"}


def __getattr__(name: str) -> typing.Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted({*globals(), *_LAZY})


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
