"""Property values as the engine keeps them, and their trip through protobuf.

The harness keeps every property bag in one "wire" form: plain JSON-like Python values in
which a secret is the SDK's wrapper dict ``{SECRET_SIG_KEY: SECRET_SIG, "value": ...}`` and an
unknown (preview only) is the string :data:`UNKNOWN`. These helpers convert to and from the
protobuf ``Struct`` the provider server speaks, strip and re-apply secrets the way the engine
does, and compare bags the way the CLI's display does.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterable, Mapping
from typing import Any

from google.protobuf import json_format, struct_pb2
from pulumi.output import Unknown
from pulumi.runtime import rpc

SECRET_SIG_KEY = "4dabf18193072939515e22adb298388d"  # noqa: S105 -- a public protocol constant
"""The key that marks a special value in a property bag (secrets, assets, resource refs)."""

SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270"  # noqa: S105 -- a public protocol constant
"""The signature value that marks a secret."""

UNKNOWN: str = rpc.UNKNOWN
"""The sentinel string that stands for an unknown value on the wire (preview only)."""

PROVIDER_KEY = "__provider"
"""The reserved input that carries the pickled dynamic provider."""


def secret(value: Any) -> dict[str, Any]:
    """Wrap ``value`` as a secret, in the form the SDK and the engine put on the wire."""
    if is_secret(value):
        return dict(value)
    return {SECRET_SIG_KEY: SECRET_SIG, "value": value}


def is_secret(value: Any) -> bool:
    """Whether ``value`` is a secret wrapper."""
    return isinstance(value, Mapping) and value.get(SECRET_SIG_KEY) == SECRET_SIG


class _Masked:
    """Stands for a secret in a repr: prints as ``[secret]``."""

    def __repr__(self) -> str:
        return "[secret]"


_MASKED = _Masked()


def mask(value: Any) -> Any:
    """``value`` with every secret wrapper replaced by a ``[secret]`` placeholder, for reprs."""
    if is_secret(value):
        return _MASKED
    if isinstance(value, Mapping):
        return {k: mask(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(mask(v) for v in value)
    return value


def masked_repr(obj: Any, *, keys_only: Iterable[str] = ()) -> str:
    """A dataclass's repr with secrets masked; ``keys_only`` fields show just their keys.

    Reprs end up in assertion messages, logs and tracebacks, so they hide secrets like
    ``render_plan`` and ``state_json`` do.
    """
    hidden = set(keys_only)
    parts = []
    for f in dataclasses.fields(obj):
        if not f.repr:
            continue
        value = getattr(obj, f.name)
        if f.name in hidden and isinstance(value, Mapping):
            parts.append(f"{f.name}=<{', '.join(map(str, value))}>")
        else:
            parts.append(f"{f.name}={mask(value)!r}")
    return f"{type(obj).__name__}({', '.join(parts)})"


def reveal(value: Any) -> Any:
    """Remove every secret wrapper, at any depth (what the engine does for acceptSecrets=False)."""
    if is_secret(value):
        return reveal(value.get("value"))
    if isinstance(value, Mapping):
        return {k: reveal(v) for k, v in value.items()}
    if isinstance(value, list):
        return [reveal(v) for v in value]
    return value


def contains_secret(value: Any) -> bool:
    """Whether ``value`` is, or contains at any depth, a secret."""
    if is_secret(value):
        return True
    if isinstance(value, Mapping):
        return any(contains_secret(v) for v in value.values())
    if isinstance(value, list):
        return any(contains_secret(v) for v in value)
    return False


def contains_unknown(value: Any) -> bool:
    """Whether ``value`` is, or contains at any depth, an unknown."""
    if value == UNKNOWN or isinstance(value, Unknown):
        return True
    if isinstance(value, Mapping):
        return any(contains_unknown(v) for v in value.values())
    if isinstance(value, list):
        return any(contains_unknown(v) for v in value)
    return False


def normalize(value: Any) -> Any:
    """Bring a Python value into wire form, as a trip through the SDK and protobuf would.

    Numbers become floats (protobuf has only doubles), ``None`` values inside objects are
    dropped (the SDK drops them and the engine skips nulls), tuples become lists and the SDK's
    ``Unknown()`` objects become the :data:`UNKNOWN` string. Secret wrappers are kept.
    """
    if isinstance(value, Unknown):
        return UNKNOWN
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, (int, float)):
        number = float(value)
        if math.isnan(number) or math.isinf(number):
            raise ValueError(f"{value!r} cannot be sent as a property value (not finite)")
        return number
    if isinstance(value, Mapping):
        out: dict[str, Any] = {}
        for key, item in value.items():
            if not isinstance(key, str):
                raise TypeError(f"property keys must be strings, got {key!r}")
            if item is None:
                continue
            out[key] = normalize(item)
        return out
    if isinstance(value, (list, tuple)):
        return [normalize(v) for v in value]
    raise TypeError(
        f"{type(value).__name__} values cannot be sent as properties; use str, float, bool, "
        "dict or list"
    )


def normalize_bag(props: Mapping[str, Any]) -> dict[str, Any]:
    """:func:`normalize` for a top-level property bag."""
    bag = normalize(props)
    assert isinstance(bag, dict)
    return bag


def to_struct(props: Mapping[str, Any], *, keep_secrets: bool = False) -> struct_pb2.Struct:
    """Marshal a wire-form bag into a ``Struct``; secrets are stripped unless ``keep_secrets``."""
    bag = normalize_bag(props)
    struct = struct_pb2.Struct()
    struct.update(bag if keep_secrets else reveal(bag))
    return struct


def _drop_nulls(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _drop_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_drop_nulls(v) for v in value]
    return value


def from_struct(struct: struct_pb2.Struct) -> dict[str, Any]:
    """Unmarshal a ``Struct`` into a wire-form bag: floats for numbers, nulls in objects skipped."""
    bag = _drop_nulls(json_format.MessageToDict(struct))
    assert isinstance(bag, dict)
    return bag


def annotate_secrets(outs: Mapping[str, Any], ins: Mapping[str, Any]) -> dict[str, Any]:
    """Make an output secret when the input of the same name contains a secret.

    This is the engine's ``annotateSecrets`` (``provider_plugin.go``), which it applies to what
    Check, Create, Update and Read return because the provider cannot send secrets back: when
    both values are objects it recurses into them; otherwise an output that is not yet secret
    becomes secret as a whole if the input *contains* a secret at any depth -- so a list with
    one secret element makes the whole output list secret (elements may have moved).
    """
    result = dict(outs)
    for key, in_value in ins.items():
        if key not in result:
            continue
        out_value = result[key]
        if _is_object(out_value) and _is_object(in_value):
            result[key] = annotate_secrets(out_value, in_value)
        elif not is_secret(out_value) and contains_secret(in_value):
            result[key] = secret(out_value)
    return result


def _is_object(value: Any) -> bool:
    """A plain object: a mapping that is no special value (a secret, an asset, ...)."""
    return isinstance(value, Mapping) and SECRET_SIG_KEY not in value


def mark_secret(outs: Mapping[str, Any], keys: Iterable[str]) -> dict[str, Any]:
    """Wrap the named top-level outputs as secrets (``additional_secret_outputs``)."""
    result = dict(outs)
    for key in keys:
        if key in result:
            result[key] = secret(result[key])
    return result


def secret_keys(bag: Mapping[str, Any]) -> frozenset[str]:
    """The top-level keys whose value is, or contains, a secret."""
    return frozenset(k for k, v in bag.items() if contains_secret(v))


def same_value(old: Any, new: Any) -> bool:
    """Whether two wire values are equal for diffing (secrets by content; unknowns never)."""
    if contains_unknown(new) or contains_unknown(old):
        return False
    return bool(reveal(old) == reveal(new))


def changed_keys(old: Mapping[str, Any], new: Mapping[str, Any]) -> list[tuple[str, str]]:
    """``(key, kind)`` per differing top-level key; kind is ``add``, ``delete`` or ``update``."""
    changes: list[tuple[str, str]] = []
    for key in sorted(set(old) | set(new)):
        if key not in old:
            changes.append((key, "add"))
        elif key not in new:
            changes.append((key, "delete"))
        elif not same_value(old[key], new[key]):
            changes.append((key, "update"))
    return changes


def format_number(value: float) -> str:
    """A property number as the engine's messages and the CLI's display show it.

    Numbers travel as doubles: integral values print without a fraction (``3``, not ``3.0``),
    others in their shortest form (``2.5``). The one number formatter of the harness, used by
    :func:`go_format` and ``render.format_value``.
    """
    return str(int(value)) if value.is_integer() and abs(value) < 1e21 else repr(value)


def go_format(value: Any) -> str:  # noqa: PLR0911 -- one return per value kind
    """Format a value like Go's ``%v`` of the engine's property value (used in check messages)."""
    if is_secret(value):
        return "[secret]"
    if value is None:
        return "<nil>"
    if value == UNKNOWN:
        return "output<string>"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return format_number(value)
    if isinstance(value, Mapping):
        items = " ".join(f"{k}:{{{go_format(value[k])}}}" for k in sorted(value))
        return f"map[{items}]"
    if isinstance(value, list):
        return "[" + " ".join(f"{{{go_format(v)}}}" for v in value) + "]"
    return str(value)
