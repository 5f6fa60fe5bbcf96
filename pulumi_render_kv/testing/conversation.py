"""The engine's conversation with the dynamic-provider plugin: every RPC, as the engine sends it.

A :class:`ProviderConversation` builds each request as the engine's ``provider_plugin.go``
does (secrets stripped, the old *outputs* as ``olds``, the plugin's start-up and Cancel), sends
it to the :class:`~.server.ProviderServer`, records it in :attr:`calls` and decodes the answer.
It decides nothing: the step generation lives in :mod:`.deployment` and the operations in
:mod:`.engine`; what it reads of the state (the provider's id and saved config) comes from a
:class:`~.state.StackState`.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Mapping
from typing import Any, TypedDict

import grpc
from google.protobuf import empty_pb2, json_format
from pulumi.runtime.proto import provider_pb2

from . import _values
from .model import (
    PROVIDER_TYPE,
    CheckFailure,
    DiffOutcome,
    EngineError,
    Goal,
    ResourceState,
    RpcCall,
)
from .server import ProviderServer
from .state import StackState


def _exception_text(details: str) -> str:
    """The exception text at the end of a Python traceback (all of it, if it spans lines).

    The SDK's server aborts with the whole ``traceback.format_exc()``; what the user wrote is
    what follows the innermost frame of the last traceback: ``ExceptionType: message``.
    """
    lines = details.strip().splitlines()
    last_frame = max((i for i, line in enumerate(lines) if line.startswith("  File ")), default=-1)
    start = last_frame + 1
    while start < len(lines) and lines[start].startswith("    "):
        start += 1  # the frame's source line and its ^^^ markers
    return "\n".join(lines[start:]).strip() if start < len(lines) else details.strip()


def _message(request: Any) -> dict[str, Any]:
    """A request as the engine's gRPC debug log shows it (protojson: camelCase, no defaults)."""
    message: dict[str, Any] = json_format.MessageToDict(request)
    return message


class _ProviderFields(TypedDict):
    """How the engine names the default provider in the requests about the provider itself."""

    urn: str
    name: str
    type: str


class ProviderConversation:
    """The RPCs of one stack's commands with one provider server; every call is recorded."""

    def __init__(self, server: ProviderServer, state: StackState) -> None:
        self.server = server
        self.state = state
        self.calls: list[RpcCall] = []
        self._plugin_loaded = False
        self._configured = False

    def _provider_fields(self) -> _ProviderFields:
        return {"urn": self.state.provider_urn, "name": "default", "type": PROVIDER_TYPE}

    def _load_plugin(self) -> None:
        """What the engine sends when it loads the plugin: Handshake, then GetPluginInfo.

        The SDK's server implements neither Handshake (the engine then falls back to the
        older protocol) nor anything that depends on it, so an UNIMPLEMENTED answer is fine.
        The engine's own service addresses are left out: the harness runs none of them.
        """
        if self._plugin_loaded:
            return
        self._plugin_loaded = True
        handshake = provider_pb2.ProviderHandshakeRequest(
            accepts_byte_string=True,
            configure_with_urn=True,
            invoke_with_preview=True,
            supports_refresh_before_update=True,
            supports_views=True,
        )
        self._call("Handshake", handshake, unimplemented_ok=True)
        self._call("GetPluginInfo", empty_pb2.Empty())

    def end(self) -> None:
        """The command ends: the engine cancels the plugin if it loaded it, failed or not."""
        if self._plugin_loaded:
            self._plugin_loaded = False
            with contextlib.suppress(grpc.RpcError):
                self._call("Cancel", empty_pb2.Empty())
        self._configured = False

    def _check_provider_config(self, config: Mapping[str, Any], *, preview: bool) -> None:
        """CheckConfig, and DiffConfig against the config in state, for the default provider.

        The engine sends both before a program's first resource (the SDK's server answers
        UNIMPLEMENTED, so the engine keeps the config as it is); an up then saves the config
        as the provider's inputs.
        """
        olds = self.state.provider_inputs
        plain_news = _values.reveal(dict(config))
        plain_olds = _values.reveal(dict(olds or {}))
        check = provider_pb2.CheckRequest(
            **self._provider_fields(),
            olds=_values.to_struct(plain_olds),
            news=_values.to_struct(plain_news),
        )
        self._call("CheckConfig", check, unimplemented_ok=True)
        if olds is not None:
            diff = provider_pb2.DiffRequest(
                **self._provider_fields(),
                olds=_values.to_struct(plain_olds),
                old_inputs=_values.to_struct(plain_olds),
                news=_values.to_struct(plain_news),
            )
            self._call("DiffConfig", diff, unimplemented_ok=True)
        if not preview:
            self.state.provider_inputs = dict(config)

    def configure(
        self, config: Mapping[str, Any], *, program: bool = False, preview: bool = False
    ) -> None:
        """Load the plugin and configure it with the stack ``config``, once per command.

        ``program``: the operation runs a program, which registers the default provider (so
        its config is checked and diffed first); refresh, destroy and import take the
        provider from state.
        """
        if self._configured:
            return
        self._load_plugin()
        if program:
            self._check_provider_config(config, preview=preview)
        # A program registers the default provider with the current config; refresh, destroy
        # and import take the provider, and its config, from state.
        if not program and self.state.provider_inputs is not None:
            config = self.state.provider_inputs
        request = self.server.configure_request(
            config, provider_id=self.state.provider_id, **self._provider_fields()
        )
        self.calls.append(
            RpcCall("Configure", request={"args": dict(config)}, message=_message(request))
        )
        try:
            response = self.server.send_configure(request)
        except grpc.RpcError as err:
            raise self.rpc_error(err, step="configure", name=None, type_=None, urn=None) from None
        if response.acceptSecrets:
            raise EngineError(
                "the provider server accepted secrets; this emulator strips them as for "
                "acceptSecrets=False, so its results would be wrong",
                step="configure",
            )
        self._configured = True

    def _call(
        self,
        method: str,
        request: Any,
        *,
        step: str | None = None,
        name: str | None = None,
        type_: str | None = None,
        urn: str | None = None,
        payload: Mapping[str, Any] | None = None,
        unimplemented_ok: bool = False,
    ) -> Any:
        """Record and send one RPC; a failure becomes the :class:`EngineError` the CLI shows.

        ``unimplemented_ok``: the SDK's server does not implement it and the engine goes on
        (Handshake, CheckConfig, DiffConfig), so UNIMPLEMENTED answers ``None``.
        """
        self.calls.append(RpcCall(method, name, urn, dict(payload or {}), _message(request)))
        try:
            return getattr(self.server.stub, method)(request)
        except grpc.RpcError as err:
            if unimplemented_ok and err.code() == grpc.StatusCode.UNIMPLEMENTED:
                return None
            raise self.rpc_error(
                err, step=step or method, name=name, type_=type_, urn=urn
            ) from None

    def rpc_error(
        self, err: grpc.RpcError, *, step: str, name: str | None, type_: str | None, urn: str | None
    ) -> EngineError:
        details = str(err.details() or "") if hasattr(err, "details") else str(err)
        code = err.code() if hasattr(err, "code") else None
        provider_message = _exception_text(details) or str(code)
        where = f" of {type_} resource '{name}'" if name else ""
        return EngineError(
            f"{step}{where} failed: {provider_message}",
            step=step,
            resource=name,
            type=type_,
            urn=urn,
            provider_message=provider_message,
            details=details,
        )

    def check(
        self,
        goal: Goal,
        urn: str,
        olds: Mapping[str, Any],
        news: Mapping[str, Any],
        *,
        preview: bool,
    ) -> tuple[dict[str, Any], tuple[CheckFailure, ...]]:
        sent_olds, sent_news = _values.reveal(dict(olds)), _values.reveal(dict(news))
        request = provider_pb2.CheckRequest(
            urn=urn,
            name=goal.name,
            type=goal.type,
            olds=_values.to_struct(olds),
            news=_values.to_struct(news),
            randomSeed=os.urandom(32),
        )
        response = self._call(
            "Check",
            request,
            step="check",
            name=goal.name,
            type_=goal.type,
            urn=urn,
            payload={"olds": sent_olds, "news": sent_news},
        )
        checked = _values.annotate_secrets(_values.from_struct(response.inputs), news)
        if not preview and _values.contains_unknown(checked):
            raise EngineError(
                "Check returned unknown values outside a preview",
                step="check",
                resource=goal.name,
                type=goal.type,
                urn=urn,
            )
        failures = tuple(
            CheckFailure(goal.type, goal.name, f.property, f.reason, news.get(f.property))
            for f in response.failures
        )
        return checked, failures

    def diff(
        self,
        state: ResourceState,
        *,
        old_inputs: Mapping[str, Any],
        old_outputs: Mapping[str, Any],
        news: Mapping[str, Any],
        step: str = "diff",
    ) -> DiffOutcome:
        request = provider_pb2.DiffRequest(
            id=state.id,
            urn=state.urn,
            name=state.name,
            type=state.type,
            olds=_values.to_struct(old_outputs),
            old_inputs=_values.to_struct(old_inputs),
            news=_values.to_struct(news),
        )
        response = self._call(
            "Diff",
            request,
            step=step,
            name=state.name,
            type_=state.type,
            urn=state.urn,
            payload={
                "id": state.id,
                "olds": _values.reveal(dict(old_outputs)),
                "old_inputs": _values.reveal(dict(old_inputs)),
                "news": _values.reveal(dict(news)),
            },
        )
        result = provider_pb2.DiffResponse.DiffChanges.Name(response.changes)
        keys: tuple[str, ...] = tuple(response.diffs)
        if response.changes == provider_pb2.DiffResponse.DIFF_UNKNOWN:
            # diffResource: fall back to the engine's own diff of all the inputs.
            fallback = _values.changed_keys(old_inputs, news)
            some = bool(fallback)
            keys = tuple(k for k, _ in fallback)
        else:
            some = response.changes == provider_pb2.DiffResponse.DIFF_SOME
        return DiffOutcome(
            result=result,
            some=some,
            replaces=tuple(response.replaces),
            delete_before_replace=bool(response.deleteBeforeReplace),
            keys=keys,
        )

    def create(
        self, goal: Goal, urn: str, checked: Mapping[str, Any]
    ) -> tuple[str, dict[str, Any]]:
        request = provider_pb2.CreateRequest(
            urn=urn, name=goal.name, type=goal.type, properties=_values.to_struct(checked)
        )
        response = self._call(
            "Create",
            request,
            step="create",
            name=goal.name,
            type_=goal.type,
            urn=urn,
            payload={"properties": _values.reveal(dict(checked))},
        )
        if not response.id:
            raise EngineError(
                f"create of {goal.type} resource '{goal.name}' failed: provider returned an "
                "empty ID",
                step="create",
                resource=goal.name,
                type=goal.type,
                urn=urn,
            )
        outputs = _values.annotate_secrets(_values.from_struct(response.properties), checked)
        return response.id, _values.mark_secret(outputs, goal.additional_secret_outputs)

    def update(self, old: ResourceState, goal: Goal, checked: Mapping[str, Any]) -> dict[str, Any]:
        request = provider_pb2.UpdateRequest(
            id=old.id,
            urn=old.urn,
            name=old.name,
            type=old.type,
            olds=_values.to_struct(old.wire_outputs),
            news=_values.to_struct(checked),
            old_inputs=_values.to_struct(old.wire_inputs),
        )
        response = self._call(
            "Update",
            request,
            step="update",
            name=old.name,
            type_=old.type,
            urn=old.urn,
            payload={
                "id": old.id,
                "olds": _values.reveal(dict(old.wire_outputs)),
                "news": _values.reveal(dict(checked)),
                "old_inputs": _values.reveal(dict(old.wire_inputs)),
            },
        )
        outputs = _values.annotate_secrets(_values.from_struct(response.properties), checked)
        return _values.mark_secret(outputs, goal.additional_secret_outputs)

    def read(
        self,
        step: str,
        *,
        type_: str,
        name: str,
        urn: str,
        id_: str,
        properties: Mapping[str, Any] | None = None,
        inputs: Mapping[str, Any] | None = None,
    ) -> Any:
        # properties/inputs None: an import's Read, which sends neither.
        fields: dict[str, Any] = {"id": id_, "urn": urn, "name": name, "type": type_}
        payload: dict[str, Any] = {"id": id_}
        if properties is not None and inputs is not None:
            fields["properties"] = _values.to_struct(properties)
            fields["inputs"] = _values.to_struct(inputs)
            payload["properties"] = _values.reveal(dict(properties))
            payload["inputs"] = _values.reveal(dict(inputs))
        request = provider_pb2.ReadRequest(**fields)
        return self._call(
            "Read", request, step=step, name=name, type_=type_, urn=urn, payload=payload
        )

    def delete(self, old: ResourceState) -> None:
        """Delete ``old`` (Delete gets its old outputs as ``properties``)."""
        request = provider_pb2.DeleteRequest(
            id=old.id,
            urn=old.urn,
            name=old.name,
            type=old.type,
            properties=_values.to_struct(old.wire_outputs),
            old_inputs=_values.to_struct(old.wire_inputs),
        )
        self._call(
            "Delete",
            request,
            step="delete",
            name=old.name,
            type_=old.type,
            urn=old.urn,
            payload={
                "id": old.id,
                "properties": _values.reveal(dict(old.wire_outputs)),
                "old_inputs": _values.reveal(dict(old.wire_inputs)),
            },
        )
