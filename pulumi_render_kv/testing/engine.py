"""An emulator of the Pulumi engine's commands for dynamic providers: the harness's front door.

:class:`Engine` runs each command as the engine does (``pkg/resource/deploy/step_generator.go``,
``step.go``): preview and up through a :class:`~.deployment.Deployment` (the step generation
for each registration), refresh, destroy and import here. The RPCs themselves are a
:class:`~.conversation.ProviderConversation`'s, and what is kept between commands a
:class:`~.state.StackState`'s; imports run one way: engine → program → deployment →
operation → conversation → state → model.
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Iterable, Mapping
from dataclasses import replace
from typing import Any

from pulumi.dynamic import ResourceProvider
from pulumi.dynamic.dynamic import serialize_provider as _sdk_serialize_provider
from pulumi.runtime._serialization import _serialize

from . import _values
from .conversation import ProviderConversation
from .deployment import Deployment, delete_step
from .model import (
    DELETE,
    DISCARD,
    IMPORT,
    SAME,
    UPDATE,
    DiffOutcome,
    EngineError,
    Goal,
    OperationResult,
    ReadGoal,
    ResourceState,
    RpcCall,
    StepResult,
    display_changes,
)
from .operation import Operation
from .program import run_program
from .server import ProviderServer, namespaced_config
from .state import StackState

Program = Callable[[], None]
GoalsOrProgram = Iterable[Goal | ReadGoal] | Program


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
    protect: bool = False,
) -> Goal:
    """A :class:`Goal` for a dynamic resource, with ``__provider`` secret as the SDK sends it."""
    if _values.PROVIDER_KEY in props:
        raise ValueError("A dynamic resource must not define the __provider key")
    inputs = dict(props)
    inputs[_values.PROVIDER_KEY] = _values.secret(serialize_provider(provider))
    return Goal(
        type=dynamic_type(module, type_name),
        name=name,
        inputs=inputs,
        delete_before_replace=delete_before_replace,
        additional_secret_outputs=tuple(additional_secret_outputs),
        protect=protect,
    )


def decode_provider(blob: str | Mapping[str, Any]) -> Any:
    """Unpickle a ``__provider`` blob (plain or secret-wrapped) in this process."""
    import dill  # noqa: PLC0415 -- only needed here
    from pulumi.runtime._serialization import _deserialize  # noqa: PLC0415

    raw = _values.reveal(blob)
    return _deserialize(lambda: dill.loads(base64.b64decode(raw)))  # noqa: S301 -- our own blob


# -- the emulator ---------------------------------------------------------------------------


class Engine:
    """Drives a dynamic provider server through the engine's RPC sequences; keeps the state.

    One :class:`Engine` is one stack (``project``/``stack``) with its stack ``config`` (keys
    ``key`` for the project's namespace or ``ns:key``; values plain or :func:`secret`).
    ``preview``/``up`` take goals (:class:`Goal`/:class:`ReadGoal`, in registration order) or a
    Pulumi program (a callable, run through :func:`run_program`). Every RPC is recorded in
    :attr:`calls` and, per operation, in the returned :class:`OperationResult`.

    By default the server process is restarted before each operation (unless nothing has
    used it yet), as each CLI command starts a new plugin: a provider may rely on that (ours
    remembers which instances the deployment's resources hold). The next process is started
    ahead while the current one serves, so this costs little. With
    ``fresh_provider_per_operation=False`` one process, and its cache of configured
    providers, serves all operations: faster, but not what the CLI does.
    """

    def __init__(
        self,
        server: ProviderServer,
        *,
        project: str | None = None,
        stack: str = "dev",
        config: Mapping[str, Any] | None = None,
        fresh_provider_per_operation: bool = True,
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
        self.state = StackState(self.project, stack)
        self.conversation = ProviderConversation(server, self.state)
        self._op: Operation | None = None

    # -- state -----------------------------------------------------------------------------

    @property
    def resources(self) -> tuple[ResourceState, ...]:
        """Live resources in state order (without those pending deletion)."""
        return self.state.resources

    @property
    def pending_deletes(self) -> tuple[ResourceState, ...]:
        """Old resources whose deletion is pending (``delete: true`` in a checkpoint)."""
        return self.state.pending_deletes

    def resource(self, name: str) -> ResourceState:
        """The live resource called ``name``; KeyError when absent."""
        return self.state.resource(name)

    def has(self, name: str) -> bool:
        """Whether a live resource called ``name`` is in state."""
        return self.state.has(name)

    @property
    def calls(self) -> tuple[RpcCall, ...]:
        """Every RPC made so far."""
        return tuple(self.conversation.calls)

    @property
    def stack_outputs(self) -> dict[str, Any]:
        """The stack outputs saved by the last program ``up``, wire form (secrets wrapped)."""
        return self.state.stack_outputs

    def urn(self, type_: str, name: str) -> str:
        """The URN the engine gives a top-level resource of this stack."""
        return self.state.urn(type_, name)

    @property
    def stack_urn(self) -> str:
        """The URN of the root stack resource."""
        return self.state.stack_urn

    @property
    def provider_urn(self) -> str:
        """The URN of the stack's default ``pulumi-python`` provider."""
        return self.state.provider_urn

    def set_config(self, config: Mapping[str, Any]) -> None:
        """Replace the stack config, like ``pulumi config set`` before the next command."""
        self.config = namespaced_config(config, self.project)

    def set_stack_outputs(self, outputs: Mapping[str, Any]) -> None:
        """Record stack outputs (wire form), as an ``up`` of a program does."""
        self.state.set_stack_outputs(outputs)

    def checkpoint(self) -> dict[str, Any]:
        """The state as a ``pulumi stack export``-style deployment, secrets encrypted."""
        return self.state.checkpoint()

    def state_json(self) -> str:
        """:meth:`checkpoint` as JSON text; no secret appears in plaintext."""
        return self.state.state_json()

    # -- operations ------------------------------------------------------------------------

    def begin(self, name: str) -> Operation:
        """Start the command ``name``; one at a time. End it with the operation's ``end``."""
        if self._op is not None:
            raise RuntimeError(f"operation {self._op.name!r} is still running on this engine")
        if self.fresh_provider_per_operation and self.server.used:
            self.server.restart()
        self._op = Operation(name, self.conversation, on_finish=self._finished)
        return self._op

    def _finished(self, op: Operation) -> None:
        if self._op is op:
            self._op = None

    def deployment(self, *, preview: bool, prune: bool = True) -> Deployment:
        """A preview or up in progress, registrations to be applied one by one."""
        name = "read" if not prune else ("preview" if preview else "up")
        return Deployment(self.begin(name), self.config, preview=preview, prune=prune)

    def preview(self, goals_or_program: GoalsOrProgram) -> OperationResult:
        """``pulumi preview``: Configure, Check (unknowns allowed) and Diff; nothing changes.

        Problems the CLI would report as errors (check failures, provider exceptions) end the
        preview and are returned in ``plan.error`` instead of being raised.
        """
        if callable(goals_or_program):
            return self._run(goals_or_program, preview=True)
        deployment = self.deployment(preview=True)
        with deployment.scope():
            for goal in goals_or_program:
                try:
                    deployment.apply(goal)
                except EngineError:
                    break
            return deployment.finish()

    def up(self, goals_or_program: GoalsOrProgram) -> OperationResult:
        """``pulumi up``: create, update, replace or leave each goal; delete what is gone.

        Raises :class:`EngineError` at the first failure, with the state as the engine would
        leave it (steps already done are kept; a failed create leaves nothing).
        """
        if callable(goals_or_program):
            return self._run(goals_or_program, preview=False)
        deployment = self.deployment(preview=False)
        with deployment.scope():
            for goal in goals_or_program:
                deployment.apply(goal)
            return deployment.finish()

    def _run(self, program: Program, *, preview: bool) -> OperationResult:
        return run_program(program, self, preview=preview).plan

    def refresh(self, *, preview: bool = False) -> OperationResult:
        """``pulumi refresh``: Read each resource; update or drop it; report drift.

        After each Read the provider's Diff is called with old and new swapped (refreshed
        inputs/outputs as olds, old inputs as news) and the result inverted, as the engine
        does for non-external resources; external ones compare outputs only.
        """
        op = self.begin("refresh")
        with op.scope():
            steps: list[StepResult] = []
            for old in self.state.entries:
                if old.delete:
                    continue
                steps.append(self._refresh_one(old, preview=preview))
            return op.end(steps)

    def _refresh_one(self, old: ResourceState, *, preview: bool) -> StepResult:
        self.conversation.configure(self.config)
        response = self.conversation.read(
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
                self.state.remove(old)
            return StepResult.removal(DELETE, old)
        outputs = _values.annotate_secrets(
            _values.from_struct(response.properties), old.wire_outputs
        )
        outputs = _values.mark_secret(outputs, old.additional_secret_outputs)
        inputs = old.wire_inputs
        if response.HasField("inputs"):
            inputs = _values.annotate_secrets(_values.from_struct(response.inputs), old.wire_inputs)
        new = replace(old, id=response.id, wire_inputs=inputs, wire_outputs=outputs)
        diff: DiffOutcome | None = None
        if old.external:
            drift = bool(_values.changed_keys(old.wire_outputs, outputs))
        else:
            diff = self.conversation.diff(
                new, old_inputs=inputs, old_outputs=outputs, news=old.wire_inputs, step="refresh"
            )
            drift = diff.some
        if not preview:
            self.state.put(new, replacing=old)
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

    def destroy(self) -> OperationResult:
        """``pulumi destroy --skip-preview``: Delete each resource, newest first.

        External resources are only dropped from state. A protected resource is refused (the
        engine's error, raised after the other deletes are done, as the engine goes on past
        it; ``pulumi destroy`` with its preview would refuse before deleting anything).
        """
        op = self.begin("destroy")
        with op.scope():
            steps: list[StepResult] = []
            refused: list[EngineError] = []
            for old in reversed(self.state.entries):
                try:
                    step = delete_step(
                        op, self.config, old, op_name=DISCARD if old.external else DELETE
                    )
                except EngineError as err:
                    if not old.protect:
                        raise
                    refused.append(err)  # the engine goes on with the other deletes
                    continue
                steps.append(step)
            if refused:
                raise refused[0]
            self.state.clear()
            return op.end(steps)

    def read_existing(
        self,
        name: str,
        type_: str,
        id_: str,
        props: Mapping[str, Any],
        *,
        additional_secret_outputs: Iterable[str] = (),
    ) -> OperationResult:
        """The ReadStep ``ResourceOptions(id=...)`` triggers, on its own (other state untouched).

        ``props`` are the program's props including ``__provider`` (see :func:`dynamic_goal`);
        Read gets them as both ``inputs`` and ``properties``. The resource is marked external.
        """
        deployment = self.deployment(preview=False, prune=False)
        with deployment.scope():
            deployment.apply(
                ReadGoal(type_, name, id_, props, tuple(additional_secret_outputs)),
            )
            return deployment.finish()

    def import_(self, name: str, type_: str, id_: str) -> OperationResult:
        """The ImportStep of ``pulumi import``: Read with the id only (no inputs, no state).

        The Python provider server cannot find ``__provider`` then, so this fails with
        ``KeyError: '__provider'`` for every dynamic provider, exactly as with the CLI
        (pulumi/pulumi#16175).
        """
        op = self.begin("import")
        with op.scope():
            urn = self.urn(type_, name)
            self.conversation.configure(self.config)
            response = self.conversation.read("import", type_=type_, name=name, urn=urn, id_=id_)
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
            inputs = _values.from_struct(response.inputs)
            outputs = _values.from_struct(response.properties)
            checked, failures = self.conversation.check(
                Goal(type_, name, inputs), urn, inputs, inputs, preview=False
            )
            state = ResourceState(urn, type_, name, response.id, checked, outputs)
            self.state.put(state)
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
            return op.end([step])
