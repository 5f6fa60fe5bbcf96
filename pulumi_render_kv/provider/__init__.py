"""The Pulumi side: the ``KeyValue`` resource and the dynamic provider behind it."""

from pulumi_render_kv.provider._find import KeyValueLookup
from pulumi_render_kv.provider.provider import KeyValueProvider
from pulumi_render_kv.provider.resource import (
    TYPE_TOKEN,
    KeyValue,
    LogStream,
    get_key_value,
)
from pulumi_render_kv.spec import IpAllowEntry

__all__ = [
    "TYPE_TOKEN",
    "IpAllowEntry",
    "KeyValue",
    "KeyValueLookup",
    "KeyValueProvider",
    "LogStream",
    "get_key_value",
]
