"""The engine-trace scenario: CLI steps, their stack config, and how a recorded call is compared.

The same steps run twice: once under the real Pulumi CLI (``record.py``, with the engine's
``PULUMI_DEBUG_GRPC`` log of every gRPC call) and once through ``pulumi_render_kv.testing``
(``tests/testing/test_engine_traces.py``). A recording keeps only the calls the engine makes
to the dynamic-provider plugin, normalised by :func:`normalize` so that what differs from run
to run (instance ids, ports, passwords, timestamps, the pickled provider's bytes, random
seeds, the default provider's uuid) does not count; everything else must be equal.
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
PROJECT = "render-kv-traces"
STACK = "dev"
KEYVALUE_TYPE = "pulumi-python:dynamic/render-kv:KeyValue"
PROVIDER_SERVICE = "/pulumirpc.ResourceProvider/"

#: Stack config values replaced, at run time, by the id of the ``cache`` resource in state and
#: by the id of an environment the emulator holds.
CACHE_ID = "{cache.id}"
ENVIRONMENT_ID = "{environment.id}"


@dataclass(frozen=True)
class Step:
    """One CLI command of the scenario, run with ``config`` as the whole stack config."""

    label: str
    command: str  # preview | up | refresh | destroy | import
    config: Mapping[str, str] = field(default_factory=dict)
    expect_failure: bool = False


_BASE: dict[str, str] = {}
_LFU = {"policy": "allkeys_lfu"}
_OPEN = {**_LFU, "allowList": "203.0.113.0/24"}
_STANDARD = {**_OPEN, "plan": "standard"}
_RENAMED = {**_STANDARD, "name": "cache-v2"}
# The token is plain config: KeyValue makes it a secret input whatever the program passes.
_LOGGED = {
    **_RENAMED,
    "logSetting": "send",
    "logEndpoint": "logs.example.com:6514",
    "logToken": "trace-log-token",
}
_SUSPENDED = {**_LOGGED, "suspended": "true"}
_MOVED = {**_LOGGED, "environmentId": ENVIRONMENT_ID}
_PROTECTED = {**_MOVED, "deletionProtection": "true"}
_UNPROTECTED = {**_MOVED, "deletionProtection": "false"}
_FRANKFURT = {**_UNPROTECTED, "region": "frankfurt", "allowDataLoss": "true"}

STEPS: tuple[Step, ...] = (
    Step("preview-create", "preview", _BASE),
    Step("create", "up", _BASE),
    Step("no-op", "up", _BASE),
    Step("update-policy", "up", _LFU),
    Step("update-allow-list", "up", _OPEN),
    Step("update-plan", "up", _STANDARD),
    Step("update-name", "up", _RENAMED),
    Step("log-stream", "up", _LOGGED),
    Step("suspend", "up", _SUSPENDED),
    Step("preview-patch-suspended", "preview", {**_SUSPENDED, "plan": "pro"}, expect_failure=True),
    Step("resume", "up", _LOGGED),
    Step("move-environment", "up", _MOVED),
    Step("preview-downgrade", "preview", {**_MOVED, "plan": "starter"}, expect_failure=True),
    Step("protect", "up", _PROTECTED),
    Step("destroy-protected", "destroy", _PROTECTED, expect_failure=True),
    Step(
        "preview-replace-protected",
        "preview",
        {**_PROTECTED, "region": "frankfurt", "allowDataLoss": "true"},
        expect_failure=True,
    ),
    Step("unprotect", "up", _UNPROTECTED),
    Step("preview-replace", "preview", _FRANKFURT),
    Step("replace-region", "up", _FRANKFURT),
    Step("refresh", "refresh", _FRANKFURT),
    Step("read", "up", {**_FRANKFURT, "readId": CACHE_ID}),
    Step("import", "import", _FRANKFURT, expect_failure=True),
    Step("destroy", "destroy", _FRANKFURT),
)

_SUBSTITUTIONS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"red-[a-z0-9]{6,}"), "red-ID"),
    (re.compile(r"evm-[a-z0-9]{6,}"), "evm-ID"),
    (re.compile(r"://([^:@/]+):[^@/]+@"), r"://\1:PASSWORD@"),
    (re.compile(r"REDISCLI_AUTH=\S+"), "REDISCLI_AUTH=PASSWORD"),
    (re.compile(r"(127\.0\.0\.1|localhost):\d+"), r"\1:PORT"),
    (re.compile(r" -p \d+"), " -p PORT"),
    (re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)"), "TIME"),
    (re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"), "UUID"),
)
#: Fields whose value is random per run or per process (the value is replaced, the key kept).
_OPAQUE_KEYS = {"__provider": "PROVIDER", "randomSeed": "SEED", "port": "PORT"}
#: Fields that point at services of the engine the harness does not run (its monitor, loader,
#: mapper, resolver and resource-status servers) or at the CLI's plugin directory; the SDK's
#: dynamic-provider server reads none of them. Dropped from both sides.
ENGINE_SERVICE_FIELDS = frozenset(
    {
        "engineAddress",
        "loaderTarget",
        "mapperTarget",
        "resolverTarget",
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


def resolve_config(config: Mapping[str, str], ids: Mapping[str, str | None]) -> dict[str, str]:
    """The step's config with :data:`CACHE_ID`/:data:`ENVIRONMENT_ID` replaced by ``ids``."""
    resolved = dict(config)
    for key, value in resolved.items():
        if value in ids:
            found = ids[value]
            if found is None:
                raise ValueError(f"config {key!r} needs {value}, which does not exist yet")
            resolved[key] = found
    return resolved
