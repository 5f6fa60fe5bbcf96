"""What the engine keeps between commands: the stack's resources, outputs and provider config.

A :class:`StackState` is the harness's checkpoint: resources in state order (with the old
halves of create-before-delete replacements marked ``delete``), the stack outputs of the last
program ``up``, and the default ``pulumi-python`` provider — its id and the stack config it
was registered with, which refresh, destroy and import configure from, as the engine does.
"""

from __future__ import annotations

import datetime
import json
import secrets
import uuid
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from . import _values
from .model import PROVIDER_TYPE, STACK_TYPE, ResourceState


def _checkpoint_value(value: Any) -> Any:
    if _values.is_secret(value):
        return {
            _values.SECRET_SIG_KEY: _values.SECRET_SIG,
            "ciphertext": "v1:" + secrets.token_urlsafe(18),
        }
    if isinstance(value, Mapping):
        return {k: _checkpoint_value(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_checkpoint_value(v) for v in value]
    if isinstance(value, float) and value.is_integer() and abs(value) < 2**53:
        return int(value)
    return value


class StackState:
    """The state of one stack (``project``/``stack``); changed only through its methods."""

    def __init__(self, project: str, stack: str) -> None:
        self.project = project
        self.stack = stack
        self.provider_id = str(uuid.uuid4())
        #: The default provider's inputs (the stack config at the last up); None before the
        #: first up and after a destroy, when no provider is in state.
        self.provider_inputs: dict[str, Any] | None = None
        self._entries: list[ResourceState] = []
        self._stack_outputs: dict[str, Any] = {}

    # -- names -----------------------------------------------------------------------------

    def urn(self, type_: str, name: str) -> str:
        """The URN the engine gives a top-level resource of this stack."""
        return f"urn:pulumi:{self.stack}::{self.project}::{type_}::{name}"

    @property
    def stack_urn(self) -> str:
        """The URN of the root stack resource."""
        return self.urn(STACK_TYPE, f"{self.project}-{self.stack}")

    @property
    def provider_urn(self) -> str:
        """The URN of the stack's default ``pulumi-python`` provider."""
        return self.urn(PROVIDER_TYPE, "default")

    # -- reading ---------------------------------------------------------------------------

    @property
    def entries(self) -> tuple[ResourceState, ...]:
        """Every resource in state order, pending deletions included."""
        return tuple(self._entries)

    @property
    def resources(self) -> tuple[ResourceState, ...]:
        """Live resources in state order (without those pending deletion)."""
        return tuple(s for s in self._entries if not s.delete)

    @property
    def pending_deletes(self) -> tuple[ResourceState, ...]:
        """Old resources whose deletion is pending (``delete: true`` in a checkpoint)."""
        return tuple(s for s in self._entries if s.delete)

    def resource(self, name: str) -> ResourceState:
        """The live resource called ``name``; KeyError when absent."""
        for state in self._entries:
            if state.name == name and not state.delete:
                return state
        raise KeyError(
            f"no resource named {name!r} in state; have {[s.name for s in self._entries]}"
        )

    def has(self, name: str) -> bool:
        """Whether a live resource called ``name`` is in state."""
        return any(s.name == name and not s.delete for s in self._entries)

    def find_live(self, urn: str) -> ResourceState | None:
        """The live resource with this URN, if any."""
        for state in self._entries:
            if state.urn == urn and not state.delete:
                return state
        return None

    @property
    def stack_outputs(self) -> dict[str, Any]:
        """The stack outputs saved by the last program ``up``, wire form (secrets wrapped)."""
        return dict(self._stack_outputs)

    # -- changing --------------------------------------------------------------------------

    def put(self, new: ResourceState, *, replacing: ResourceState | None = None) -> None:
        """Record ``new`` in the place of ``replacing`` (same position), or at the end."""
        if replacing is not None:
            for i, state in enumerate(self._entries):
                if state is replacing:
                    self._entries[i] = new
                    return
        self._entries.append(new)

    def insert_after(self, anchor: ResourceState, new: ResourceState) -> None:
        """Record ``new`` right after ``anchor`` (a replacement next to its old half)."""
        index = next(i for i, s in enumerate(self._entries) if s is anchor)
        self._entries.insert(index + 1, new)

    def remove(self, old: ResourceState) -> None:
        self._entries = [s for s in self._entries if s is not old]

    def mark_pending_delete(self, old: ResourceState) -> ResourceState:
        """Mark ``old`` as the old half of a replacement; returns the marked state."""
        pending = replace(old, delete=True)
        for i, state in enumerate(self._entries):
            if state is old:
                self._entries[i] = pending
        return pending

    def set_stack_outputs(self, outputs: Mapping[str, Any]) -> None:
        self._stack_outputs = _values.normalize_bag(outputs)

    def clear(self) -> None:
        """What a destroy leaves: no resources, no outputs, no provider."""
        self._entries = []
        self._stack_outputs = {}
        self.provider_inputs = None

    # -- checkpoint ------------------------------------------------------------------------

    def checkpoint(self) -> dict[str, Any]:
        """The state as a ``pulumi stack export``-style deployment, secrets encrypted."""
        resources: list[dict[str, Any]] = []
        if self._entries or self._stack_outputs:
            resources.append(
                {
                    "urn": self.stack_urn,
                    "custom": False,
                    "type": STACK_TYPE,
                    "outputs": _checkpoint_value(self._stack_outputs),
                }
            )
        if self._entries:
            provider_config = _checkpoint_value(self.provider_inputs or {})
            resources.append(
                {
                    "urn": self.provider_urn,
                    "custom": True,
                    "id": self.provider_id,
                    "type": PROVIDER_TYPE,
                    # The engine keeps the stack config as the default provider's inputs and
                    # outputs (secrets encrypted); refresh and destroy configure from them.
                    "inputs": provider_config,
                    "outputs": provider_config,
                }
            )
            for state in self._entries:
                resources.append(self._checkpoint_entry(state))
        return {
            "version": 3,
            "deployment": {
                "manifest": {
                    "time": datetime.datetime.now(datetime.UTC).isoformat(),
                    "magic": "",
                    "version": "pulumi_render_kv.testing",
                },
                "secrets_providers": {
                    "type": "passphrase",
                    "state": {"salt": "v1:" + secrets.token_urlsafe(12)},
                },
                "resources": resources,
            },
        }

    def _checkpoint_entry(self, state: ResourceState) -> dict[str, Any]:
        entry: dict[str, Any] = {
            "urn": state.urn,
            "custom": True,
            "id": state.id,
            "type": state.type,
            "inputs": _checkpoint_value(state.wire_inputs),
            "outputs": _checkpoint_value(state.wire_outputs),
            "parent": self.stack_urn,
            "provider": f"{self.provider_urn}::{self.provider_id}",
        }
        if state.external:
            entry["external"] = True
        if state.delete:
            entry["delete"] = True
        if state.additional_secret_outputs:
            entry["additionalSecretOutputs"] = list(state.additional_secret_outputs)
        return entry

    def state_json(self) -> str:
        """:meth:`checkpoint` as JSON text; no secret appears in plaintext."""
        return json.dumps(self.checkpoint(), indent=4, sort_keys=False)
