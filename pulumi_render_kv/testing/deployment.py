"""One ``preview`` or ``up`` in progress: the engine's step generation for each registration.

For each registration the :class:`Deployment` decides and executes the steps as the engine's
step generator (``pkg/resource/deploy/step_generator.go``) and step executor do, through its
:class:`~.operation.Operation`: the RPCs of that operation's conversation and the methods of
its state.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Mapping
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from . import _values
from .model import (
    CREATE,
    DELETE,
    DISCARD,
    IMPORT,
    READ,
    READ_REPLACEMENT,
    REPLACE,
    SAME,
    UPDATE,
    DiffOutcome,
    EngineError,
    Goal,
    OperationResult,
    ReadGoal,
    ResourceState,
    StepResult,
    display_changes,
)

if TYPE_CHECKING:
    from .operation import Operation


def delete_step(
    op: Operation, config: Mapping[str, Any], old: ResourceState, *, op_name: str = DELETE
) -> StepResult:
    """Delete ``old`` (an external one is only dropped from state) and report the step.

    A protected resource is refused before the provider hears of it, as the engine does.
    """
    if not old.external:
        # The engine loads and configures the provider for the deployment either way.
        op.conversation.configure(config)
        if old.protect:
            raise EngineError.protected(old)
        op.conversation.delete(old)
    op.state.remove(old)
    return StepResult.removal(op_name, old, show_changes=True)


class Deployment:
    """One ``preview`` or ``up`` in progress: registrations in, steps and state changes out.

    :meth:`apply` takes each registration as the program makes it and returns what the engine
    returns to the program: the id and the outputs (in a preview, the planned outputs, with
    unknowns for what the provider would compute). :meth:`finish` deletes what was not
    registered (``up``) or plans it (``preview``) and returns the :class:`OperationResult`.
    Registrations may come from several threads; they are handled one at a time.
    Whoever creates a deployment runs it inside :meth:`scope`, so that an exception of any kind
    ends the engine's operation.
    """

    def __init__(
        self, op: Operation, config: Mapping[str, Any], *, preview: bool, prune: bool = True
    ) -> None:
        self._op = op
        self.config = config
        self.rpc = op.conversation
        self.state = op.state
        self.preview = preview
        self.prune = prune
        self.steps: list[StepResult] = []
        self.error: EngineError | None = None
        self._seen: set[str] = set()
        self._deferred: list[ResourceState] = []
        self._replaced_external: list[ResourceState] = []
        self._lock = threading.Lock()

    def apply(self, goal: Goal | ReadGoal) -> tuple[str, dict[str, Any]]:
        """Handle one registration; returns ``(id, outputs)`` in wire form."""
        with self._lock:
            if self.error is not None:
                raise EngineError(
                    f"the deployment already failed: {self.error}",
                    step="register",
                    resource=goal.name,
                    type=goal.type,
                )
            try:
                if isinstance(goal, ReadGoal):
                    return self._read(goal)
                return self._register(goal)
            except EngineError as err:
                self.error = err
                raise

    def _start(self, goal: Goal | ReadGoal) -> tuple[str, dict[str, Any]]:
        urn = goal.urn or self.state.urn(goal.type, goal.name)
        if urn in self._seen:
            raise EngineError(
                f"Duplicate resource URN '{urn}'; try giving it a unique name",
                step="register",
                resource=goal.name,
                type=goal.type,
                urn=urn,
            )
        self._seen.add(urn)
        inputs = _values.normalize_bag(goal.inputs)
        if not self.preview and _values.contains_unknown(inputs):
            raise ValueError(f"{goal.name}: unknown input values are only possible in a preview")
        self.rpc.configure(self.config, program=True, preview=self.preview)
        return urn, inputs

    def _register(self, goal: Goal) -> tuple[str, dict[str, Any]]:
        urn, inputs = self._start(goal)
        old = self.state.find_live(urn)
        was_external = old is not None and old.external
        has_old = old is not None and not was_external
        if goal.import_id and not has_old:
            return self._import(goal, urn, inputs, goal.import_id)
        checked, failures = self.rpc.check(
            goal, urn, old.wire_inputs if has_old and old else {}, inputs, preview=self.preview
        )
        base: dict[str, Any] = {"type": goal.type, "name": goal.name, "urn": urn}
        if failures:
            self.steps.append(
                StepResult(
                    op=UPDATE if has_old else CREATE,
                    **base,
                    old_inputs=old.wire_inputs if has_old and old else None,
                    new_inputs=inputs,
                    failures=failures,
                )
            )
            raise EngineError.check_failed(failures, resource=goal.name, type=goal.type, urn=urn)
        if not has_old or old is None:
            return self._create(goal, urn, checked, external_old=old if was_external else None)

        diff = self.rpc.diff(
            old, old_inputs=old.wire_inputs, old_outputs=old.wire_outputs, news=checked
        )
        detail: dict[str, Any] = {
            "id": old.id,
            "old_inputs": old.wire_inputs,
            "old_outputs": old.wire_outputs,
            "diff_result": diff.result,
            "diff_keys": diff.keys,
            "replace_keys": diff.replaces,
            "changes": display_changes(old.wire_inputs, checked),
        }
        if not diff.some:
            outputs = _values.mark_secret(old.wire_outputs, goal.additional_secret_outputs)
            if not self.preview:
                self._keep(old, goal, checked, outputs)
            self.steps.append(
                StepResult(op=SAME, **base, **detail, new_inputs=checked, new_outputs=outputs)
            )
            return old.id, outputs
        if diff.replaces:
            return self._replace(goal, urn=urn, old=old, inputs=inputs, diff=diff, detail=detail)
        if self.preview:
            planned = _values.mark_secret(checked, goal.additional_secret_outputs)
            self.steps.append(
                StepResult(op=UPDATE, **base, **detail, new_inputs=checked, new_outputs=planned)
            )
            return old.id, planned
        outputs = self.rpc.update(old, goal, checked)
        self._keep(old, goal, checked, outputs)
        self.steps.append(
            StepResult(op=UPDATE, **base, **detail, new_inputs=checked, new_outputs=outputs)
        )
        return old.id, outputs

    def _keep(
        self, old: ResourceState, goal: Goal, inputs: Mapping[str, Any], outputs: Mapping[str, Any]
    ) -> None:
        """Record ``old`` (same id, same place in the state) with new inputs and outputs."""
        self.state.put(
            replace(
                old,
                wire_inputs=inputs,
                wire_outputs=outputs,
                additional_secret_outputs=goal.additional_secret_outputs,
                protect=goal.protect,
            ),
            replacing=old,
        )

    def _create(
        self,
        goal: Goal,
        urn: str,
        checked: dict[str, Any],
        *,
        external_old: ResourceState | None,
    ) -> tuple[str, dict[str, Any]]:
        base: dict[str, Any] = {"type": goal.type, "name": goal.name, "urn": urn}
        changes = display_changes(None, checked)
        if self.preview:
            planned = _values.mark_secret(checked, goal.additional_secret_outputs)
            self.steps.append(
                StepResult(
                    op=CREATE, **base, new_inputs=checked, new_outputs=planned, changes=changes
                )
            )
            return "", planned
        id_, outputs = self.rpc.create(goal, urn, checked)
        state = ResourceState(
            urn,
            goal.type,
            goal.name,
            id_,
            checked,
            outputs,
            additional_secret_outputs=goal.additional_secret_outputs,
            protect=goal.protect,
        )
        # Taking over a formerly external resource: the read one is dropped, never deleted.
        self.state.put(state, replacing=external_old)
        self.steps.append(
            StepResult(
                op=CREATE,
                **base,
                id=id_,
                new_inputs=checked,
                new_outputs=outputs,
                changes=changes,
            )
        )
        return id_, outputs

    def _replace(
        self,
        goal: Goal,
        *,
        urn: str,
        old: ResourceState,
        inputs: dict[str, Any],
        diff: DiffOutcome,
        detail: dict[str, Any],
    ) -> tuple[str, dict[str, Any]]:
        base: dict[str, Any] = {"type": goal.type, "name": goal.name, "urn": urn}
        # The replacement is a new resource: check again, with no old inputs.
        checked, failures = self.rpc.check(goal, urn, {}, inputs, preview=self.preview)
        dbr = diff.delete_before_replace
        if goal.delete_before_replace is not None:
            dbr = goal.delete_before_replace
        detail = {**detail, "delete_before_replace": dbr}
        if failures:
            self.steps.append(
                StepResult(op=REPLACE, **base, **detail, new_inputs=inputs, failures=failures)
            )
            raise EngineError.check_failed(failures, resource=goal.name, type=goal.type, urn=urn)
        if self.preview:
            planned = _values.mark_secret(checked, goal.additional_secret_outputs)
            self.steps.append(
                StepResult(op=REPLACE, **base, **detail, new_inputs=checked, new_outputs=planned)
            )
            return "", planned
        if dbr:
            delete_step(self._op, self.config, old)
            id_, outputs = self.rpc.create(goal, urn, checked)
            new = ResourceState(
                urn, goal.type, goal.name, id_, checked, outputs,
                additional_secret_outputs=goal.additional_secret_outputs, protect=goal.protect,
            )  # fmt: skip
            self.state.put(new)
        else:
            id_, outputs = self.rpc.create(goal, urn, checked)
            new = ResourceState(
                urn, goal.type, goal.name, id_, checked, outputs,
                additional_secret_outputs=goal.additional_secret_outputs, protect=goal.protect,
            )  # fmt: skip
            pending = self.state.mark_pending_delete(old)
            self.state.insert_after(pending, new)
            self._deferred.append(pending)
        self.steps.append(
            StepResult(op=REPLACE, **base, **detail, new_inputs=checked, new_outputs=outputs)
        )
        return id_, outputs

    def _import(
        self, goal: Goal, urn: str, inputs: dict[str, Any], import_id: str
    ) -> tuple[str, dict[str, Any]]:
        # ImportStep.Apply: Read with the id only, then Check and Diff against what was read.
        where: dict[str, Any] = {
            "step": "import",
            "resource": goal.name,
            "type": goal.type,
            "urn": urn,
        }
        response = self.rpc.read("import", type_=goal.type, name=goal.name, urn=urn, id_=import_id)
        if not response.id:
            raise EngineError(f"resource '{import_id}' does not exist", **where)
        if not response.HasField("inputs"):
            raise EngineError(
                "provider does not support importing resources; please try updating the "
                "'pulumi-python' plugin",
                **where,
            )
        read_inputs = _values.from_struct(response.inputs)
        outputs = _values.from_struct(response.properties)
        checked, failures = self.rpc.check(goal, urn, read_inputs, inputs, preview=self.preview)
        if failures:
            raise EngineError("one or more inputs failed to validate", failures=failures, **where)
        read_state = ResourceState(urn, goal.type, goal.name, response.id, read_inputs, outputs)
        diff = self.rpc.diff(
            read_state, old_inputs=read_inputs, old_outputs=outputs, news=checked, step="import"
        )
        warnings: tuple[str, ...] = ()
        if diff.some:
            message = f"inputs to import do not match the existing resource: {list(diff.keys)}"
            if not self.preview:
                raise EngineError(message, **where)
            warnings = (message + "; importing this resource will fail",)
        outputs = _values.mark_secret(outputs, goal.additional_secret_outputs)
        if not self.preview:
            self.state.put(replace(read_state, wire_inputs=checked, wire_outputs=outputs))
        self.steps.append(
            StepResult(
                op=IMPORT,
                type=goal.type,
                name=goal.name,
                urn=urn,
                id=response.id,
                new_inputs=checked,
                new_outputs=outputs,
                diff_result=diff.result,
                diff_keys=diff.keys,
                warnings=warnings,
            )
        )
        return response.id, outputs

    def _read(self, goal: ReadGoal) -> tuple[str, dict[str, Any]]:
        urn, inputs = self._start(goal)
        old = self.state.find_live(urn)
        response = self.rpc.read(
            "read",
            type_=goal.type,
            name=goal.name,
            urn=urn,
            id_=goal.id,
            properties=inputs,
            inputs=inputs,
        )
        if not response.id:
            raise EngineError(
                f"resource '{goal.id}' does not exist",
                step="read",
                resource=goal.name,
                type=goal.type,
                urn=urn,
            )
        outputs = _values.annotate_secrets(_values.from_struct(response.properties), inputs)
        outputs = _values.mark_secret(outputs, goal.additional_secret_outputs)
        replacing = old is not None and not old.external
        new = ResourceState(
            urn,
            goal.type,
            goal.name,
            response.id,
            inputs,
            outputs,
            external=True,
            additional_secret_outputs=goal.additional_secret_outputs,
        )
        if not self.preview:
            if old is not None and replacing:
                pending = self.state.mark_pending_delete(old)
                self.state.insert_after(pending, new)
                self._deferred.append(pending)
            else:
                self.state.put(new, replacing=old)
        self.steps.append(
            StepResult(
                op=READ_REPLACEMENT if replacing else READ,
                type=goal.type,
                name=goal.name,
                urn=urn,
                id=response.id,
                old_outputs=old.wire_outputs if old else None,
                new_inputs=inputs,
                new_outputs=outputs,
            )
        )
        return response.id, outputs

    def scope(self) -> contextlib.AbstractContextManager[object]:
        """Wraps everything done with this deployment: any exception escaping it aborts it."""
        return self._op.scope()

    def abort(self) -> None:
        """End the operation after a failure without the final deletes (state stays as is)."""
        self._op.abort()

    def finish(self) -> OperationResult:
        """Delete (or plan deleting) what the program no longer registers; return the plan."""
        if self.error is not None:
            if not self.preview:
                self.abort()
                raise self.error
            return self._op.end(self.steps, self.error)
        try:
            if self.prune:
                self._prune()
        except EngineError as err:
            self.abort()
            if self.preview:
                return self._op.end(self.steps, err)
            raise
        return self._op.end(self.steps)

    def _prune(self) -> None:
        if self.preview:
            for old in reversed(self.state.resources):
                if old.urn in self._seen:
                    continue
                self.steps.append(
                    StepResult.removal(DISCARD if old.external else DELETE, old, show_changes=True)
                )
                if old.protect and not old.external:
                    # The engine checks protect as it plans the delete, in a preview too.
                    raise EngineError.protected(old)
            return
        # Old halves of create-before-delete replacements (this run's, then any left pending
        # by an earlier failure), then what the program no longer registers, newest first.
        for pending in reversed(self.state.pending_deletes):
            delete_step(self._op, self.config, pending)
        for old in reversed(self.state.resources):
            if old.urn in self._seen:
                continue
            op_name = DISCARD if old.external else DELETE
            self.steps.append(delete_step(self._op, self.config, old, op_name=op_name))
