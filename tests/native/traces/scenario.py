"""The render-kv provider's engine-trace scenario: CLI steps, their config, how a call compares.

The same steps run twice: once under the real Pulumi CLI (``record.py``: a Pulumi YAML
program, ``program/Pulumi.yaml``, whose provider folder ``render-kv-provider`` prepares, with
the engine's ``PULUMI_DEBUG_GRPC`` log of every gRPC call) and once through
``tests/native/harness.py`` (``tests/native/test_engine_traces.py``). A recording keeps the
calls the engine made to the ``render-kv`` plugin, normalised by :func:`normalize` so that
what differs from run to run (instance ids, the scratch folder, ports, passwords, timestamps,
random seeds, the provider's uuid) does not count.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
PROGRAM_DIR = HERE / "program"
RECORDINGS = HERE / "recorded"
PROJECT = "render-kv-native-traces"
STACK = "dev"
KEYVALUE_TYPE = "render-kv:index:KeyValue"
PROVIDER_SERVICE = "/pulumirpc.ResourceProvider/"
#: The program's one resource.
NAME = "cache"


@dataclass(frozen=True)
class Step:
    """One CLI command, run with ``config`` as the whole stack config (the program's keys).

    ``forget`` first removes the resource from state (``pulumi state delete``), so that
    ``import`` brings the live instance back under the program's name.
    """

    label: str
    command: str  # preview | up | refresh | import | destroy
    config: Mapping[str, str] = field(default_factory=dict)
    forget: bool = False


DEFAULTS: dict[str, str] = {
    "policy": "allkeys_lru",
    "firstCidr": "203.0.113.0/24",
    "firstLabel": "office",
    "secondCidr": "198.51.100.7/32",
    "secondLabel": "home",
}
_LFU = {"policy": "allkeys_lfu"}  # a restart: the provider's warning, attached to the resource
# The same two entries, the other way round: a set, so no change.
_REORDERED = {
    **_LFU,
    "firstCidr": DEFAULTS["secondCidr"],
    "firstLabel": DEFAULTS["secondLabel"],
    "secondCidr": DEFAULTS["firstCidr"],
    "secondLabel": DEFAULTS["firstLabel"],
}

STEPS: tuple[Step, ...] = (
    Step("preview-create", "preview"),
    Step("create", "up"),
    Step("no-op", "up"),
    Step("update-policy", "up", _LFU),
    Step("reorder-allow-list", "up", _REORDERED),
    Step("refresh", "refresh", _REORDERED),
    Step("import", "import", _REORDERED, forget=True),
    Step("destroy", "destroy", _REORDERED),
)


def inputs(config: Mapping[str, str]) -> dict[str, Any]:
    """The inputs ``program/Pulumi.yaml`` registers for ``cache`` under ``config``."""
    c = {**DEFAULTS, **config}
    return {
        "name": NAME,
        "plan": "starter",
        "region": "oregon",
        "maxmemoryPolicy": c["policy"],
        "ipAllowList": [
            {"cidrBlock": c["firstCidr"], "description": c["firstLabel"]},
            {"cidrBlock": c["secondCidr"], "description": c["secondLabel"]},
        ],
    }


_SUBSTITUTIONS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"red-[a-z0-9]{6,}"), "red-ID"),
    (re.compile(r"tea-[a-z0-9]{6,}"), "tea-ID"),
    (re.compile(r"://([^:@/]+):[^@/]+@"), r"://\1:PASSWORD@"),
    (re.compile(r"REDISCLI_AUTH=\S+"), "REDISCLI_AUTH=PASSWORD"),
    (re.compile(r"(127\.0\.0\.1|localhost):\d+"), r"\1:PORT"),
    (re.compile(r" -p \d+"), " -p PORT"),
    (re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)"), "TIME"),
    (re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"), "UUID"),
)
#: Fields whose value is random per run or per process (the value is replaced, the key kept).
_OPAQUE_KEYS = {"randomSeed": "SEED", "port": "PORT"}
#: Fields that point at services of the engine the harness does not run (its monitor, loader,
#: resource-status servers) or at the scratch folders the CLI ran in. Dropped from both sides.
ENGINE_SERVICE_FIELDS = frozenset(
    {
        "engineAddress",
        "engine_address",
        "programDirectory",
        "rootDirectory",
        "resourceStatusAddress",
        "resourceStatusToken",
    }
)


def _scrub(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {
            k: _OPAQUE_KEYS.get(k) or _scrub(v)
            for k, v in sorted(value.items())
            if k not in ENGINE_SERVICE_FIELDS
        }
    if isinstance(value, list):
        return [_scrub(v) for v in value]
    if isinstance(value, str):
        for pattern, replacement in _SUBSTITUTIONS:
            value = pattern.sub(replacement, value)
    return value


def normalize(method: str, request: Mapping[str, Any]) -> dict[str, Any]:
    """A provider call as compared: the method's short name and the scrubbed request."""
    return {"method": method.rsplit("/", 1)[-1], "request": _scrub(dict(request))}


def recording_path(step: Step) -> Path:
    return RECORDINGS / f"{step.label}.json"


def load_recording(step: Step) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(recording_path(step).read_text())
    return data
