"""The Pulumi side: the ``KeyValue`` resource and the dynamic provider behind it."""

import typing

from pulumi_render_kv.core._find import KeyValueLookup
from pulumi_render_kv.provider.provider import KeyValueProvider
from pulumi_render_kv.provider.resource import (
    TYPE_TOKEN,
    KeyValue,
    LogStream,
    get_key_value,
)

if typing.TYPE_CHECKING:
    from pulumi_render_kv.spec import IpAllowEntry


def __getattr__(name: str) -> typing.Any:
    # Imported on first use (PEP 562): the model is pydantic's, which check and diff never
    # need, and every preview's provider process imports this package (issue 16, target 3).
    if name == "IpAllowEntry":
        from pulumi_render_kv import spec  # noqa: PLC0415

        return spec.IpAllowEntry
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted({*globals(), "IpAllowEntry"})


__all__ = [
    "TYPE_TOKEN",
    "IpAllowEntry",
    "KeyValue",
    "KeyValueLookup",
    "KeyValueProvider",
    "LogStream",
    "get_key_value",
]
