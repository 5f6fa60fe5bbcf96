"""Between the SDK's ``PropertyValue`` maps and the plain dicts the core speaks.

The engine sends secrets wrapped (this provider accepts them) and unknowns as the wire's
unknown string; the core wants plain values and unknown strings (``_convert.from_pulumi``
reads them). Going back, every number is a float (the SDK's ``PropertyValue`` has no
integers), and what is secret is said here, in one place: the connection strings, the
log-stream token, and whatever the program sent as a secret.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Any

from pulumi.provider.experimental.property_value import Computed, PropertyValue
from pulumi.runtime import rpc

from pulumi_render_kv.core._convert import SECRET_OUTPUTS
from pulumi_render_kv.spec import UNKNOWN

PropertyMap = dict[str, PropertyValue]
ALWAYS_SECRET = frozenset(SECRET_OUTPUTS)


def plain(value: PropertyValue) -> Any:
    """The value without its secret and dependency marks; unknown as the wire's string."""
    inner = value.value
    if isinstance(inner, Computed):
        return rpc.UNKNOWN
    if isinstance(inner, Mapping):
        return {k: plain(v) for k, v in inner.items()}
    if isinstance(inner, tuple | list):
        return [plain(v) for v in inner]
    return inner


def plain_map(values: Mapping[str, PropertyValue]) -> dict[str, Any]:
    return {k: plain(v) for k, v in values.items()}


def secret_keys(values: Mapping[str, PropertyValue]) -> frozenset[str]:
    """The top-level properties that hold a secret anywhere inside."""
    return frozenset(k for k, v in values.items() if v.contains_secret())


def _value(value: Any) -> PropertyValue:
    if value is UNKNOWN:
        return PropertyValue(rpc.UNKNOWN)
    if isinstance(value, bool) or value is None or isinstance(value, str | float):
        return PropertyValue(value)
    if isinstance(value, int):
        return PropertyValue(float(value))
    if isinstance(value, Mapping):
        return PropertyValue({k: _value(v) for k, v in value.items() if v is not None})
    if isinstance(value, list | tuple):
        return PropertyValue([_value(v) for v in value])
    raise TypeError(f"cannot send a {type(value).__name__} to the engine")


def _log_stream(value: Any) -> PropertyValue:
    """The token alone is secret: setting and endpoint stay readable in diffs."""
    if not isinstance(value, Mapping):
        return _value(value)
    fields = {k: _value(v) for k, v in value.items() if v is not None}
    if "token" in fields:
        fields["token"] = fields["token"].with_secret(True)
    return PropertyValue(fields)


def property_map(values: Mapping[str, Any], secret: Collection[str] = ()) -> PropertyMap:
    """``values`` for the engine; ``secret`` names more properties to keep secret."""
    out: PropertyMap = {}
    for key, value in values.items():
        if value is None:
            continue  # the SDK's own servers leave None out, as the dynamic face does
        converted = _log_stream(value) if key == "logStream" else _value(value)
        # logStream's secret is its token, marked above: the rest stays readable in diffs.
        if key in ALWAYS_SECRET or (key in secret and key != "logStream"):
            converted = converted.with_secret(True)
        out[key] = converted
    return out
