"""An emulator of the Pulumi engine's step generation and execution, for dynamic providers.

Each operation strings RPCs to a :class:`~.server.ProviderServer` together as the engine's
step generator and step executor do (``pkg/resource/deploy/step_generator.go``, ``step.go``,
``sdk/go/common/resource/plugin/provider_plugin.go``), and keeps a state like a checkpoint.
"""

from __future__ import annotations

import base64
import contextlib
import datetime
import json
import os
import secrets
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, replace
from typing import Any, TypedDict

import grpc
from google.protobuf import empty_pb2, json_format
from pulumi.dynamic import ResourceProvider
from pulumi.dynamic.dynamic import serialize_provider as _sdk_serialize_provider
from pulumi.runtime._serialization import _serialize
from pulumi.runtime.proto import provider_pb2

from . import _wire
from .deployment import Deployment
from .model import (
    DELETE,
    DISCARD,
    IMPORT,
    SAME,
    UPDATE,
    CheckFailure,
    DiffOutcome,
    EngineError,
    Goal,
    Plan,
    ReadGoal,
    ResourceState,
    RpcCall,
    StepResult,
    display_changes,
)
from .server import ProviderServer, namespaced_config

Program = Callable[[], None]
GoalsOrProgram = Iterable[Goal | ReadGoal] | Program

PROVIDER_TYPE = "pulumi:providers:pulumi-python"
STACK_TYPE = "pulumi:pulumi:Stack"


# -- building goals for dynamic resources ---------------------------------------------------


def dynamic_type(module: str = "", name: str = "Resource") -> str:
    """The type token of a ``pulumi.dynamic.Resource`` subclass (``module=``/``name=``)."""
    return f"pulumi-python:dynamic{'/' + module if module else ''}:{name}"


def serialize_provider(provider: ResourceProvider) -> str:
    """The ``__provider`` blob, built exactly as ``pulumi.dynamic.Resource.__init__`` builds it."""
    blob, _contains_secrets = _serialize(True, _sdk_serialize_provider, provider)
    return str(blob)


def dynamic_goal(
    provider: ResourceProvider,
    name: str,
    props: Mapping[str, Any],
    *,
    module: str = "",
    type_name: str = "Resource",
    delete_before_replace: bool | None = None,
    additional_secret_outputs: Iterable[str] = (),
) -> Goal:
    """A :class:`Goal` for a dynamic resource, with ``__provider`` secret as the SDK sends it."""
    if _wire.PROVIDER_KEY in props:
        raise ValueError("A dynamic resource must not define the __provider key")
    inputs = dict(props)
    inputs[_wire.PROVIDER_KEY] = _wire.secret(serialize_provider(provider))
    return Goal(
        type=dynamic_type(module, type_name),
        name=name,
        inputs=inputs,
        delete_before_replace=delete_before_replace,
        additional_secret_outputs=tuple(additional_secret_outputs),
    )


def decode_provider(blob: str | Mapping[str, Any]) -> Any:
    """Unpickle a ``__provider`` blob (plain or secret-wrapped) in this process."""
    import dill  # noqa: PLC0415 -- only needed here
    from pulumi.runtime._serialization import _deserialize  # noqa: PLC0415

    raw = _wire.reveal(blob)
    return _deserialize(lambda: dill.loads(base64.b64decode(raw)))  # noqa: S301 -- our own blob


# -- the emulator ---------------------------------------------------------------------------


class _ProviderFields(TypedDict):
    """How the engine names the default provider in the requests about the provider itself."""

    urn: str
    name: str
    type: str


@dataclass
class _Operation:
    name: str
    first_call: int
    stderr_from: int
    plugin_loaded: bool = False
    configured: bool = False


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


def _checkpoint_value(value: Any) -> Any:
    if _wire.is_secret(value):
        return {
            _wire.SECRET_SIG_KEY: _wire.SECRET_SIG,
            "ciphertext": "v1:" + secrets.token_urlsafe(18),
        }
    if isinstance(value, Mapping):
        return {k: _checkpoint_value(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_checkpoint_value(v) for v in value]
    if isinstance(value, float) and value.is_integer() and abs(value) < 2**53:
        return int(value)
    return value


class Engine:
    """Drives a dynamic provider server through the engine's RPC sequences; keeps the state.

    One :class:`Engine` is one stack (``project``/``stack``) with its stack ``config`` (keys
    ``key`` for the project's namespace or ``ns:key``; values plain or :func:`secret`).
    ``preview``/``up`` take goals (:class:`Goal`/:class:`ReadGoal`, in registration order) or a
    Pulumi program (a callable, run through :func:`run_program`). Every RPC is recorded in
    :attr:`calls` and, per operation, in the returned :class:`Plan`.

    With ``fresh_provider_per_operation=True`` the server process is restarted before each
    operation (unless nothing has used it yet), as each CLI command starts a new plugin;
    otherwise one process, and its cache of configured providers, serves all operations.
    """

    def __init__(
        self,
        server: ProviderServer,
        *,
        project: str | None = None,
        stack: str = "dev",
        config: Mapping[str, Any] | None = None,
        fresh_provider_per_operation: bool = False,
    ) -> None:
        self.server = server
        self.project = project or server.project
        if self.project != server.project:
            raise ValueError(
                f"the server runs with PULUMI_PROJECT={server.project!r} but the engine's project "
                f"is {self.project!r}; give both the same project"
            )
        self.stack = stack
        self.config: dict[str, Any] = namespaced_config(config or {}, self.project)
        self.fresh_provider_per_operation = fresh_provider_per_operation
        self._state: list[ResourceState] = []
        self._calls: list[RpcCall] = []
        self._stack_outputs: dict[str, Any] = {}
        self._provider_id = str(uuid.uuid4())
        # The default provider's inputs in state (its config at the last up), None before the
        # first up and after a destroy: CheckConfig/DiffConfig compare against them.
        self._provider_inputs: dict[str, Any] | None = None
        self._op: _Operation | None = None

    # -- state -----------------------------------------------------------------------------

    @property
    def resources(self) -> tuple[ResourceState, ...]:
        """Live resources in state order (without those pending deletion)."""
        return tuple(s for s in self._state if not s.delete)

    @property
    def pending_deletes(self) -> tuple[ResourceState, ...]:
        """Old resources whose deletion is pending (``delete: true`` in a checkpoint)."""
        return tuple(s for s in self._state if s.delete)

    def resource(self, name: str) -> ResourceState:
        """The live resource called ``name``; KeyError when absent."""
        for state in self._state:
            if state.name == name and not state.delete:
                return state
        raise KeyError(f"no resource named {name!r} in state; have {[s.name for s in self._state]}")

    def has(self, name: str) -> bool:
        """Whether a live resource called ``name`` is in state."""
        return any(s.name == name and not s.delete for s in self._state)

    @property
    def calls(self) -> tuple[RpcCall, ...]:
        """Every RPC made so far."""
        return tuple(self._calls)

    @property
    def stack_outputs(self) -> dict[str, Any]:
        """The stack outputs saved by the last program ``up``, wire form (secrets wrapped)."""
        return dict(self._stack_outputs)

    def urn(self, type_: str, name: str) -> str:
        """The URN the engine gives a top-level resource of this stack."""
        return f"urn:pulumi:{self.stack}::{self.project}::{type_}::{name}"

    @property
    def stack_urn(self) -> str:
        """The URN of the root stack resource."""
        return self.urn(STACK_TYPE, f"{self.project}-{self.stack}")

    def set_config(self, config: Mapping[str, Any]) -> None:
        """Replace the stack config, like ``pulumi config set`` before the next command."""
        self.config = namespaced_config(config, self.project)

    def _find_live(self, urn: str) -> ResourceState | None:
        for state in self._state:
            if state.urn == urn and not state.delete:
                return state
        return None

    def _put(self, new: ResourceState, *, replacing: ResourceState | None = None) -> None:
        if replacing is not None:
            for i, state in enumerate(self._state):
                if state is replacing:
                    self._state[i] = new
                    return
        self._state.append(new)

    def _remove(self, old: ResourceState) -> None:
        self._state = [s for s in self._state if s is not old]

    def _mark_pending_delete(self, old: ResourceState) -> ResourceState:
        pending = replace(old, delete=True)
        for i, state in enumerate(self._state):
            if state is old:
                self._state[i] = pending
        return pending

    def set_stack_outputs(self, outputs: Mapping[str, Any]) -> None:
        """Record stack outputs (wire form), as an ``up`` of a program does."""
        self._stack_outputs = _wire.normalize_bag(outputs)

    # -- operations ------------------------------------------------------------------------

    @contextlib.contextmanager
    def _operation_scope(self, op: _Operation) -> Iterator[_Operation]:
        """The body of operation ``op``: whatever escapes it ends ``op``.

        An :class:`EngineError`, a harness ``ValueError``, a provider bug or Ctrl-C: the
        operation is over either way (state stays as the steps done so far left it), so the
        next one may begin instead of finding "operation ... is still running".
        """
        try:
            yield op
        except BaseException:
            self._abort(op)
            raise

    def _abort(self, op: _Operation) -> None:
        """End ``op`` without a plan, if it is still the current operation."""
        if self._op is op:
            self._unload_plugin(op)
            self._op = None

    def _begin(self, name: str) -> _Operation:
        if self._op is not None:
            raise RuntimeError(f"operation {self._op.name!r} is still running on this engine")
        if self.fresh_provider_per_operation and self.server.used:
            self.server.restart()
        self._op = _Operation(name, len(self._calls), self.server.stderr_size())
        return self._op

    def _end(
        self, op: _Operation, steps: list[StepResult], error: EngineError | None = None
    ) -> Plan:
        self._unload_plugin(op)
        self._op = None
        stderr = self.server.stderr_text(op.stderr_from)
        return Plan(
            operation=op.name,
            project=self.project,
            stack=self.stack,
            steps=tuple(steps),
            calls=tuple(self._calls[op.first_call :]),
            stderr=tuple(stderr.splitlines()),
            error=error,
        )

    def preview(self, goals_or_program: GoalsOrProgram) -> Plan:
        """``pulumi preview``: Configure, Check (unknowns allowed) and Diff; nothing changes.

        Problems the CLI would report as errors (check failures, provider exceptions) end the
        preview and are returned in ``plan.error`` instead of being raised.
        """
        if callable(goals_or_program):
            return self._run(goals_or_program, preview=True)
        deployment = Deployment(self, preview=True)
        with deployment.scope():
            for goal in goals_or_program:
                try:
                    deployment.apply(goal)
                except EngineError:
                    break
            return deployment.finish()

    def up(self, goals_or_program: GoalsOrProgram) -> Plan:
        """``pulumi up``: create, update, replace or leave each goal; delete what is gone.

        Raises :class:`EngineError` at the first failure, with the state as the engine would
        leave it (steps already done are kept; a failed create leaves nothing).
        """
        if callable(goals_or_program):
            return self._run(goals_or_program, preview=False)
        deployment = Deployment(self, preview=False)
        with deployment.scope():
            for goal in goals_or_program:
                deployment.apply(goal)
            return deployment.finish()

    def _run(self, program: Program, *, preview: bool) -> Plan:
        from .program import run_program  # noqa: PLC0415 -- program imports engine

        return run_program(program, self, preview=preview).plan

    def refresh(self, *, preview: bool = False) -> Plan:
        """``pulumi refresh``: Read each resource; update or drop it; report drift.

        After each Read the provider's Diff is called with old and new swapped (refreshed
        inputs/outputs as olds, old inputs as news) and the result inverted, as the engine
        does for non-external resources; external ones compare outputs only.
        """
        with self._operation_scope(self._begin("refresh")) as op:
            steps: list[StepResult] = []
            for old in list(self._state):
                if old.delete:
                    continue
                steps.append(self._refresh_one(old, preview=preview))
            return self._end(op, steps)

    def _refresh_one(self, old: ResourceState, *, preview: bool) -> StepResult:
        self._configure()
        response = self._read(
            "refresh",
            type_=old.type,
            name=old.name,
            urn=old.urn,
            id_=old.id,
            properties=old.wire_outputs,
            inputs=old.wire_inputs,
        )
        if not response.id:
            if not preview:
                self._remove(old)
            return StepResult.removal(DELETE, old)
        outputs = _wire.annotate_secrets(_wire.from_struct(response.properties), old.wire_outputs)
        outputs = _wire.mark_secret(outputs, old.additional_secret_outputs)
        inputs = old.wire_inputs
        if response.HasField("inputs"):
            inputs = _wire.annotate_secrets(_wire.from_struct(response.inputs), old.wire_inputs)
        new = replace(old, id=response.id, wire_inputs=inputs, wire_outputs=outputs)
        diff: DiffOutcome | None = None
        if old.external:
            drift = bool(_wire.changed_keys(old.wire_outputs, outputs))
        else:
            diff = self._diff(
                new, old_inputs=inputs, old_outputs=outputs, news=old.wire_inputs, step="refresh"
            )
            drift = diff.some
        if not preview:
            self._put(new, replacing=old)
        return StepResult(
            op=UPDATE if drift else SAME,
            type=old.type,
            name=old.name,
            urn=old.urn,
            id=new.id,
            old_inputs=old.wire_inputs,
            new_inputs=inputs,
            old_outputs=old.wire_outputs,
            new_outputs=outputs,
            diff_result=diff.result if diff else None,
            diff_keys=diff.keys if diff else (),
            replace_keys=diff.replaces if diff else (),
            changes=display_changes(old.wire_outputs, outputs),
        )

    def destroy(self) -> Plan:
        """``pulumi destroy``: Delete each resource in reverse order; external ones are dropped."""
        with self._operation_scope(self._begin("destroy")) as op:
            steps: list[StepResult] = []
            for old in reversed(list(self._state)):
                steps.append(self._delete(old, op_name=DISCARD if old.external else DELETE))
            self._stack_outputs = {}
            self._provider_inputs = None
            return self._end(op, steps)

    def read_existing(
        self,
        name: str,
        type_: str,
        id_: str,
        props: Mapping[str, Any],
        *,
        additional_secret_outputs: Iterable[str] = (),
    ) -> Plan:
        """The ReadStep ``ResourceOptions(id=...)`` triggers, on its own (other state untouched).

        ``props`` are the program's props including ``__provider`` (see :func:`dynamic_goal`);
        Read gets them as both ``inputs`` and ``properties``. The resource is marked external.
        """
        deployment = Deployment(self, preview=False, prune=False)
        with deployment.scope():
            deployment.apply(
                ReadGoal(type_, name, id_, props, tuple(additional_secret_outputs)),
            )
            return deployment.finish()

    def import_(self, name: str, type_: str, id_: str) -> Plan:
        """The ImportStep of ``pulumi import``: Read with the id only (no inputs, no state).

        The Python provider server cannot find ``__provider`` then, so this fails with
        ``KeyError: '__provider'`` for every dynamic provider, exactly as with the CLI
        (pulumi/pulumi#16175).
        """
        with self._operation_scope(self._begin("import")) as op:
            urn = self.urn(type_, name)
            self._configure()
            response = self._read("import", type_=type_, name=name, urn=urn, id_=id_)
            if not response.id:
                raise EngineError(
                    f"resource '{id_}' does not exist",
                    step="import",
                    resource=name,
                    type=type_,
                    urn=urn,
                )
            if not response.HasField("inputs"):
                raise EngineError(
                    "provider does not support importing resources; please try updating the "
                    "'pulumi-python' plugin",
                    step="import",
                    resource=name,
                    type=type_,
                    urn=urn,
                )
            inputs = _wire.from_struct(response.inputs)
            outputs = _wire.from_struct(response.properties)
            checked, failures = self._check(
                Goal(type_, name, inputs), urn, inputs, inputs, preview=False
            )
            state = ResourceState(urn, type_, name, response.id, checked, outputs)
            self._put(state)
            step = StepResult(
                op=IMPORT,
                type=type_,
                name=name,
                urn=urn,
                id=response.id,
                new_inputs=checked,
                new_outputs=outputs,
                warnings=tuple(f.message for f in failures),
            )
            return self._end(op, [step])

    # -- RPCs ------------------------------------------------------------------------------

    @property
    def provider_urn(self) -> str:
        """The URN of the stack's default ``pulumi-python`` provider."""
        return self.urn(PROVIDER_TYPE, "default")

    def _provider_fields(self) -> _ProviderFields:
        return {"urn": self.provider_urn, "name": "default", "type": PROVIDER_TYPE}

    def _load_plugin(self, op: _Operation) -> None:
        """What the engine sends when it loads the plugin: Handshake, then GetPluginInfo.

        The SDK's server implements neither Handshake (the engine then falls back to the
        older protocol) nor anything that depends on it, so an UNIMPLEMENTED answer is fine.
        The engine's own service addresses are left out: the harness runs none of them.
        """
        if op.plugin_loaded:
            return
        op.plugin_loaded = True
        handshake = provider_pb2.ProviderHandshakeRequest(
            accepts_byte_string=True,
            configure_with_urn=True,
            invoke_with_preview=True,
            supports_refresh_before_update=True,
            supports_views=True,
        )
        self._plain_call("Handshake", handshake, unimplemented_ok=True)
        self._plain_call("GetPluginInfo", empty_pb2.Empty())

    def _unload_plugin(self, op: _Operation) -> None:
        """The engine cancels every plugin it loaded as the command ends, failed or not."""
        if op.plugin_loaded:
            op.plugin_loaded = False
            with contextlib.suppress(grpc.RpcError):
                self._plain_call("Cancel", empty_pb2.Empty())

    def _plain_call(self, method: str, request: Any, *, unimplemented_ok: bool = False) -> Any:
        self._calls.append(RpcCall(method, message=_message(request)))
        try:
            return getattr(self.server.stub, method)(request)
        except grpc.RpcError as err:
            if unimplemented_ok and err.code() == grpc.StatusCode.UNIMPLEMENTED:
                return None
            raise self._rpc_error(err, step=method, name=None, type_=None, urn=None) from None

    def _check_provider_config(self, *, preview: bool) -> None:
        """CheckConfig, and DiffConfig against the config in state, for the default provider.

        The engine sends both before a program's first resource (the SDK's server answers
        UNIMPLEMENTED, so the engine keeps the config as it is); an up then saves the config
        as the provider's inputs.
        """
        olds = self._provider_inputs
        plain_news = _wire.reveal(dict(self.config))
        plain_olds = _wire.reveal(dict(olds or {}))
        check = provider_pb2.CheckRequest(
            **self._provider_fields(),
            olds=_wire.to_struct(plain_olds),
            news=_wire.to_struct(plain_news),
        )
        self._plain_call("CheckConfig", check, unimplemented_ok=True)
        if olds is not None:
            diff = provider_pb2.DiffRequest(
                **self._provider_fields(),
                olds=_wire.to_struct(plain_olds),
                old_inputs=_wire.to_struct(plain_olds),
                news=_wire.to_struct(plain_news),
            )
            self._plain_call("DiffConfig", diff, unimplemented_ok=True)
        if not preview:
            self._provider_inputs = dict(self.config)

    def _configure(self, *, program: bool = False, preview: bool = False) -> None:
        """Load the plugin and configure it, once per operation.

        ``program``: the operation runs a program, which registers the default provider (so
        its config is checked and diffed first); refresh, destroy and import take the
        provider from state.
        """
        op = self._op
        assert op is not None, "RPCs are only made inside an operation"
        if op.configured:
            return
        self._load_plugin(op)
        if program:
            self._check_provider_config(preview=preview)
        # A program registers the default provider with the current config; refresh, destroy
        # and import take the provider, and its config, from state.
        config = self.config
        if not program and self._provider_inputs is not None:
            config = self._provider_inputs
        request = self.server.configure_request(
            config, provider_id=self._provider_id, **self._provider_fields()
        )
        self._calls.append(
            RpcCall("Configure", request={"args": dict(config)}, message=_message(request))
        )
        try:
            response = self.server.send_configure(request)
        except grpc.RpcError as err:
            raise self._rpc_error(err, step="configure", name=None, type_=None, urn=None) from None
        if response.acceptSecrets:
            raise EngineError(
                "the provider server accepted secrets; this emulator strips them as for "
                "acceptSecrets=False, so its results would be wrong",
                step="configure",
            )
        op.configured = True

    def _call(
        self,
        method: str,
        request: Any,
        *,
        step: str,
        name: str,
        type_: str,
        urn: str,
        payload: Mapping[str, Any],
    ) -> Any:
        self._calls.append(RpcCall(method, name, urn, dict(payload), _message(request)))
        try:
            return getattr(self.server.stub, method)(request)
        except grpc.RpcError as err:
            raise self._rpc_error(err, step=step, name=name, type_=type_, urn=urn) from None

    def _rpc_error(
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

    def _check(
        self,
        goal: Goal,
        urn: str,
        olds: Mapping[str, Any],
        news: Mapping[str, Any],
        *,
        preview: bool,
    ) -> tuple[dict[str, Any], tuple[CheckFailure, ...]]:
        sent_olds, sent_news = _wire.reveal(dict(olds)), _wire.reveal(dict(news))
        request = provider_pb2.CheckRequest(
            urn=urn,
            name=goal.name,
            type=goal.type,
            olds=_wire.to_struct(olds),
            news=_wire.to_struct(news),
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
        checked = _wire.annotate_secrets(_wire.from_struct(response.inputs), news)
        if not preview and _wire.contains_unknown(checked):
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

    def _diff(
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
            olds=_wire.to_struct(old_outputs),
            old_inputs=_wire.to_struct(old_inputs),
            news=_wire.to_struct(news),
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
                "olds": _wire.reveal(dict(old_outputs)),
                "old_inputs": _wire.reveal(dict(old_inputs)),
                "news": _wire.reveal(dict(news)),
            },
        )
        result = provider_pb2.DiffResponse.DiffChanges.Name(response.changes)
        keys: tuple[str, ...] = tuple(response.diffs)
        if response.changes == provider_pb2.DiffResponse.DIFF_UNKNOWN:
            # diffResource: fall back to the engine's own diff of all the inputs.
            fallback = _wire.changed_keys(old_inputs, news)
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

    def _create(
        self, goal: Goal, urn: str, checked: Mapping[str, Any]
    ) -> tuple[str, dict[str, Any]]:
        request = provider_pb2.CreateRequest(
            urn=urn, name=goal.name, type=goal.type, properties=_wire.to_struct(checked)
        )
        response = self._call(
            "Create",
            request,
            step="create",
            name=goal.name,
            type_=goal.type,
            urn=urn,
            payload={"properties": _wire.reveal(dict(checked))},
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
        outputs = _wire.annotate_secrets(_wire.from_struct(response.properties), checked)
        return response.id, _wire.mark_secret(outputs, goal.additional_secret_outputs)

    def _update(self, old: ResourceState, goal: Goal, checked: Mapping[str, Any]) -> dict[str, Any]:
        request = provider_pb2.UpdateRequest(
            id=old.id,
            urn=old.urn,
            name=old.name,
            type=old.type,
            olds=_wire.to_struct(old.wire_outputs),
            news=_wire.to_struct(checked),
            old_inputs=_wire.to_struct(old.wire_inputs),
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
                "olds": _wire.reveal(dict(old.wire_outputs)),
                "news": _wire.reveal(dict(checked)),
                "old_inputs": _wire.reveal(dict(old.wire_inputs)),
            },
        )
        outputs = _wire.annotate_secrets(_wire.from_struct(response.properties), checked)
        return _wire.mark_secret(outputs, goal.additional_secret_outputs)

    def _read(
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
            fields["properties"] = _wire.to_struct(properties)
            fields["inputs"] = _wire.to_struct(inputs)
            payload["properties"] = _wire.reveal(dict(properties))
            payload["inputs"] = _wire.reveal(dict(inputs))
        request = provider_pb2.ReadRequest(**fields)
        return self._call(
            "Read", request, step=step, name=name, type_=type_, urn=urn, payload=payload
        )

    def _delete(self, old: ResourceState, *, op_name: str = DELETE) -> StepResult:
        if not old.external:
            self._configure()
            request = provider_pb2.DeleteRequest(
                id=old.id,
                urn=old.urn,
                name=old.name,
                type=old.type,
                properties=_wire.to_struct(old.wire_outputs),
                old_inputs=_wire.to_struct(old.wire_inputs),
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
                    "properties": _wire.reveal(dict(old.wire_outputs)),
                    "old_inputs": _wire.reveal(dict(old.wire_inputs)),
                },
            )
        self._remove(old)
        return StepResult.removal(op_name, old, show_changes=True)

    # -- checkpoint ------------------------------------------------------------------------

    def checkpoint(self) -> dict[str, Any]:
        """The state as a ``pulumi stack export``-style deployment, secrets encrypted."""
        resources: list[dict[str, Any]] = []
        if self._state or self._stack_outputs:
            resources.append(
                {
                    "urn": self.stack_urn,
                    "custom": False,
                    "type": STACK_TYPE,
                    "outputs": _checkpoint_value(self._stack_outputs),
                }
            )
        if self._state:
            provider_urn = self.provider_urn
            resources.append(
                {
                    "urn": provider_urn,
                    "custom": True,
                    "id": self._provider_id,
                    "type": PROVIDER_TYPE,
                    # The engine keeps the stack config as the default provider's inputs and
                    # outputs (secrets encrypted); refresh and destroy configure from them.
                    "inputs": _checkpoint_value(self._provider_inputs or {}),
                    "outputs": _checkpoint_value(self._provider_inputs or {}),
                }
            )
            for state in self._state:
                entry: dict[str, Any] = {
                    "urn": state.urn,
                    "custom": True,
                    "id": state.id,
                    "type": state.type,
                    "inputs": _checkpoint_value(state.wire_inputs),
                    "outputs": _checkpoint_value(state.wire_outputs),
                    "parent": self.stack_urn,
                    "provider": f"{provider_urn}::{self._provider_id}",
                }
                if state.external:
                    entry["external"] = True
                if state.delete:
                    entry["delete"] = True
                if state.additional_secret_outputs:
                    entry["additionalSecretOutputs"] = list(state.additional_secret_outputs)
                resources.append(entry)
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

    def state_json(self) -> str:
        """:meth:`checkpoint` as JSON text; no secret appears in plaintext."""
        return json.dumps(self.checkpoint(), indent=4, sort_keys=False)
