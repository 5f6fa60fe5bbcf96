"""The spec's pydantic models: what create and update apply, built from canonical inputs.

Apart from ``spec`` (which names them lazily) so that a provider process importing ``spec``
for ``check`` and ``diff`` never imports pydantic (issue 16, target 3): only create, update
and a program constructing an ``IpAllowEntry`` pay for it. Each model defers building its
validator to its first use too.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict, SecretStr

from pulumi_render_kv.spec import (
    AS_IS,
    DEFAULT_WAIT_TIMEOUT,
    InputError,
    Problem,
    _has_unknown,
)


class IpAllowEntry(BaseModel):
    """One CIDR block allowed to reach the instance's external (TLS) endpoint."""

    model_config = ConfigDict(frozen=True, defer_build=True)

    cidr_block: str
    description: str = ""


class LogStreamSpec(BaseModel):
    """The instance's own log-stream override; the token stays a ``SecretStr`` (never in reprs)."""

    model_config = ConfigDict(frozen=True, defer_build=True)

    setting: str
    endpoint: str | None = None
    token: SecretStr | None = None


class KeyValueSpec(BaseModel):
    """Fully known, canonical inputs: what create and update apply."""

    model_config = ConfigDict(frozen=True, defer_build=True)

    name: str
    plan: str
    region: str
    maxmemory_policy: str
    persistence_mode: str
    ip_allow_list: tuple[IpAllowEntry, ...] = ()
    log_stream: LogStreamSpec | None = None
    """The override to set; None is the workspace default (or, with ``log_stream_as_is``,
    whatever Render has)."""
    log_stream_as_is: bool = False
    workload: str | None = None
    environment_id: str | None = None
    owner_id: str | None = None
    suspended: bool | None = False
    """None: as it is in Render (``AS_IS``), neither suspended nor resumed by Pulumi."""
    deletion_protection: bool = False
    allow_data_loss: bool = False
    adopt_existing: bool = False
    allow_duplicate_name: bool = False
    wait_timeout: float = DEFAULT_WAIT_TIMEOUT

    @classmethod
    def from_inputs(cls, inputs: Mapping[str, Any]) -> KeyValueSpec:
        """Build from canonical camelCase inputs (as returned by ``normalize_inputs``)."""
        unknown = sorted(k for k, v in inputs.items() if _has_unknown(v))
        if unknown:
            raise InputError([Problem(k, "is still unknown") for k in unknown])
        _build_models()
        return cls(
            name=inputs["name"],
            plan=inputs["plan"],
            region=inputs["region"],
            maxmemory_policy=inputs["maxmemoryPolicy"],
            persistence_mode=inputs["persistenceMode"],
            ip_allow_list=tuple(
                IpAllowEntry(cidr_block=e["cidrBlock"], description=e["description"])
                for e in inputs.get("ipAllowList", ())
            ),
            log_stream=LogStreamSpec.model_validate(inputs["logStream"])
            if inputs.get("logStream") not in (None, AS_IS)
            else None,
            log_stream_as_is=inputs.get("logStream") == AS_IS,
            workload=inputs.get("workload"),
            environment_id=inputs.get("environmentId"),
            owner_id=inputs.get("ownerId"),
            suspended=None if inputs.get("suspended") == AS_IS else inputs.get("suspended", False),
            deletion_protection=inputs.get("deletionProtection", False),
            allow_data_loss=inputs.get("allowDataLoss", False),
            adopt_existing=inputs.get("adoptExisting", False),
            allow_duplicate_name=inputs.get("allowDuplicateName", False),
            wait_timeout=inputs.get("waitTimeout", DEFAULT_WAIT_TIMEOUT),
        )


_BUILD_LOCK = threading.Lock()


def _build_models() -> None:
    """Build the models' deferred validators once, under a lock.

    Create and update run in the SDK server's four worker threads, and pydantic's own build
    on first use was not thread-safe until recent releases (pydantic#13419), which this
    package accepts.
    """
    models = (IpAllowEntry, LogStreamSpec, KeyValueSpec)
    if all(model.__pydantic_complete__ for model in models):
        return
    with _BUILD_LOCK:
        for model in models:
            if not model.__pydantic_complete__:
                model.model_rebuild()
