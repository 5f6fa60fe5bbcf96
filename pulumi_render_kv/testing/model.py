"""What the engine emulator keeps and reports: goals, resource states, steps, plans, errors."""

from __future__ import annotations

import builtins
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from . import _values

PROVIDER_TYPE = "pulumi:providers:pulumi-python"
"""The type of the default provider that serves every ``pulumi-python:*`` resource."""
STACK_TYPE = "pulumi:pulumi:Stack"
"""The type of the root stack resource."""

CREATE = "create"
SAME = "same"
UPDATE = "update"
REPLACE = "replace"
DELETE = "delete"
READ = "read"
READ_REPLACEMENT = "read-replacement"
DISCARD = "discard"
IMPORT = "import"

CHANGE_OPS = frozenset({CREATE, UPDATE, REPLACE, DELETE, READ_REPLACEMENT, DISCARD, IMPORT})
"""Step operations that change something (``same`` and ``read`` do not)."""


@dataclass(frozen=True)
class Goal:
    """A resource registration, as the program sends it: type, name and inputs.

    ``inputs`` are in wire form: secrets as secret wrappers (see :func:`secret`), unknowns (only
    in a preview) as :data:`UNKNOWN` or ``pulumi.output.Unknown()``. A dynamic resource's inputs
    include ``__provider`` (see :func:`dynamic_goal`). ``import_id`` is
    ``ResourceOptions(import_=...)``: with no old state, the resource is imported (ImportStep).
    ``urn`` defaults to a top-level resource's URN; :func:`run_program` passes the URN with
    the component parents' types, as the engine builds it. ``protect`` is
    ``ResourceOptions(protect=True)``: the engine refuses to delete the resource.
    """

    def __repr__(self) -> str:
        return _values.masked_repr(self)

    type: str
    name: str
    inputs: Mapping[str, Any]
    delete_before_replace: bool | None = None
    additional_secret_outputs: tuple[str, ...] = ()
    urn: str | None = None
    import_id: str | None = None
    protect: bool = False


@dataclass(frozen=True)
class ReadGoal:
    """A read of an existing resource (``ResourceOptions(id=...)``), which becomes external."""

    def __repr__(self) -> str:
        return _values.masked_repr(self)

    type: str
    name: str
    id: str
    inputs: Mapping[str, Any]
    additional_secret_outputs: tuple[str, ...] = ()
    urn: str | None = None


@dataclass(frozen=True)
class ResourceState:
    """One resource in the emulated state, with inputs and outputs as the engine stores them.

    ``wire_inputs``/``wire_outputs`` keep secrets wrapped; ``inputs``/``outputs`` are the same
    values revealed, for assertions. ``delete`` marks an old resource whose deletion is pending
    (a create-before-delete replacement whose Delete has not happened or failed); ``protect``
    is the resource's ``protect`` option at its last registration.
    """

    def __repr__(self) -> str:
        return _values.masked_repr(self)

    urn: str
    type: str
    name: str
    id: str
    wire_inputs: Mapping[str, Any]
    wire_outputs: Mapping[str, Any]
    external: bool = False
    delete: bool = False
    additional_secret_outputs: tuple[str, ...] = ()
    protect: bool = False

    @property
    def inputs(self) -> dict[str, Any]:
        """The inputs with secrets revealed."""
        return _values.reveal(dict(self.wire_inputs))  # type: ignore[no-any-return]

    @property
    def outputs(self) -> dict[str, Any]:
        """The outputs with secrets revealed."""
        return _values.reveal(dict(self.wire_outputs))  # type: ignore[no-any-return]

    @property
    def secret_outputs(self) -> frozenset[str]:
        """Top-level output names whose value is (or contains) a secret."""
        return _values.secret_keys(self.wire_outputs)

    @property
    def secret_inputs(self) -> frozenset[str]:
        """Top-level input names whose value is (or contains) a secret."""
        return _values.secret_keys(self.wire_inputs)


@dataclass(frozen=True)
class RpcCall:
    """One gRPC call the emulator made: method, resource name/URN and the payload it sent.

    ``request`` holds the decoded payload fields (``olds``, ``news``, ``properties``, ...) as
    sent, i.e. with secrets already stripped.
    """

    def __repr__(self) -> str:
        return _values.masked_repr(self, keys_only=("request",))

    method: str
    name: str | None = None
    urn: str | None = None
    request: Mapping[str, Any] = field(default_factory=dict)
    #: The whole request message as protojson (the form of the engine's ``PULUMI_DEBUG_GRPC``
    #: log), ``__provider`` and secrets as they went over the wire.
    message: Mapping[str, Any] = field(default_factory=dict, repr=False)


@dataclass(frozen=True)
class CheckFailure:
    """A ``CheckFailure`` returned by the provider, with the goal value it refers to."""

    def __repr__(self) -> str:
        return _values.masked_repr(self)

    type: str
    name: str
    property: str
    reason: str
    value: Any = None

    @builtins.property  # the field `property` shadows the builtin in this class body
    def message(self) -> str:
        """The text the CLI prints for this failure (``sdk/go/common/diag/errors.go``)."""
        if self.property:
            return (
                f"{self.type} resource '{self.name}': property {self.property} value "
                f"{{{_values.go_format(self.value)}}} has a problem: {self.reason}"
            )
        return f"{self.type} resource '{self.name}' has a problem: {self.reason}"


@dataclass(frozen=True)
class PropertyChange:
    """One top-level property that differs between old and new (``add``/``delete``/``update``)."""

    def __repr__(self) -> str:
        return _values.masked_repr(self)

    key: str
    kind: str
    old: Any = None
    new: Any = None


class EngineError(Exception):
    """A step failed, as the CLI would report it; state is left as the engine would leave it.

    ``step`` is what failed (``check``, ``diff``, ``create``, ``update``, ``delete``, ``read``,
    ``import``, ``configure``, ``register``, ``program``); ``resource`` is the resource name
    (None for Configure and the program). ``provider_message`` is the last line of the
    provider's error (for a Python exception, ``ExceptionType: message``) and ``details`` the
    whole text the provider sent (the server sends the full traceback). ``failures`` holds
    check failures, if that is what failed.
    """

    def __init__(
        self,
        message: str,
        *,
        step: str,
        resource: str | None = None,
        type: str | None = None,
        urn: str | None = None,
        provider_message: str = "",
        details: str = "",
        failures: tuple[CheckFailure, ...] = (),
    ) -> None:
        super().__init__(message)
        self.step = step
        self.resource = resource
        self.type = type
        self.urn = urn
        self.provider_message = provider_message
        self.details = details
        self.failures = failures

    @classmethod
    def protected(cls, state: ResourceState) -> EngineError:
        """The engine's refusal to delete a protected resource (``step.go``)."""
        return cls(
            f'resource "{state.urn}" cannot be deleted\nbecause it is protected. To unprotect '
            "the resource, either remove the `protect` flag from the resource in your Pulumi "
            "program and run `pulumi up`, or use the command:\n"
            f"`pulumi state unprotect '{state.urn}'`",
            step="delete",
            resource=state.name,
            type=state.type,
            urn=state.urn,
        )

    @classmethod
    def check_failed(
        cls, failures: tuple[CheckFailure, ...], *, resource: str, type: str, urn: str
    ) -> EngineError:
        """The error the CLI reports when Check returns failures: one line per failure."""
        return cls(
            "\n".join(f.message for f in failures),
            step="check",
            resource=resource,
            type=type,
            urn=urn,
            provider_message=failures[0].reason,
            failures=failures,
        )


@dataclass(frozen=True)
class StepResult:
    """What happened (or, in a preview, would happen) to one resource.

    ``diff_keys`` are the keys the engine records for the step: the provider's ``diffs`` (the
    Python server never sends them) or, when the provider answered DIFF_UNKNOWN, the engine's
    own old-vs-new input comparison (``__provider`` included). ``changes`` is what
    ``pulumi preview --diff`` prints: the old-vs-new input comparison without ``__`` keys (for
    a refresh, the old-vs-new output comparison).
    """

    def __repr__(self) -> str:
        return _values.masked_repr(self)

    op: str
    type: str
    name: str
    urn: str
    id: str | None = None
    old_inputs: Mapping[str, Any] | None = None
    new_inputs: Mapping[str, Any] | None = None
    old_outputs: Mapping[str, Any] | None = None
    new_outputs: Mapping[str, Any] | None = None
    diff_result: str | None = None
    diff_keys: tuple[str, ...] = ()
    replace_keys: tuple[str, ...] = ()
    delete_before_replace: bool = False
    changes: tuple[PropertyChange, ...] = ()
    failures: tuple[CheckFailure, ...] = ()
    warnings: tuple[str, ...] = ()

    @property
    def changed_keys(self) -> tuple[str, ...]:
        """The property names ``--diff`` shows as changed."""
        return tuple(c.key for c in self.changes)

    @classmethod
    def removal(cls, op: str, old: ResourceState, *, show_changes: bool = False) -> StepResult:
        """The step that takes ``old`` out of the state (delete, discard, gone on refresh)."""
        return cls(
            op=op,
            type=old.type,
            name=old.name,
            urn=old.urn,
            id=old.id,
            old_inputs=old.wire_inputs,
            old_outputs=old.wire_outputs,
            changes=display_changes(old.wire_inputs, None) if show_changes else (),
        )


@dataclass(frozen=True)
class OperationResult:
    """The result of one operation: its steps in order, the RPCs made and the provider's stderr.

    For a preview, ``error`` holds what stopped it (check failures, a provider exception),
    where the CLI would have exited non-zero; the other operations raise :class:`EngineError`.
    """

    operation: str
    project: str
    stack: str
    steps: tuple[StepResult, ...] = ()
    calls: tuple[RpcCall, ...] = ()
    stderr: tuple[str, ...] = ()
    error: EngineError | None = None

    @property
    def ok(self) -> bool:
        """True when nothing failed."""
        return self.error is None

    def step(self, name: str) -> StepResult:
        """The (last) step for the resource called ``name``."""
        for result in reversed(self.steps):
            if result.name == name:
                return result
        raise KeyError(f"no step for a resource named {name!r}; steps: {self.ops}")

    @property
    def ops(self) -> dict[str, str]:
        """``{resource name: op}``."""
        return {s.name: s.op for s in self.steps}

    @property
    def counts(self) -> dict[str, int]:
        """How many steps of each op."""
        return dict(Counter(s.op for s in self.steps))

    @property
    def has_changes(self) -> bool:
        """Whether any step changes something (anything but ``same`` and ``read``)."""
        return any(s.op in CHANGE_OPS for s in self.steps)

    @property
    def failures(self) -> tuple[CheckFailure, ...]:
        """All check failures, in order."""
        return tuple(f for s in self.steps for f in s.failures)

    @property
    def diagnostics(self) -> tuple[str, ...]:
        """Error lines as the CLI prints them (check failures, then the stopping error)."""
        lines = [f.message for f in self.failures]
        if self.error is not None and not self.error.failures:
            lines.append(str(self.error))
        return tuple(lines)

    def calls_for(self, name: str) -> list[str]:
        """The RPC method names made for the resource called ``name``, in order."""
        return [c.method for c in self.calls if c.name == name]

    def raise_for_error(self) -> OperationResult:
        """Raise :attr:`error` if set; return the plan otherwise (for chaining)."""
        if self.error is not None:
            raise self.error
        return self


@dataclass(frozen=True)
class DiffOutcome:
    """A provider Diff as the engine reads it (after the DIFF_UNKNOWN fallback)."""

    result: str
    some: bool
    replaces: tuple[str, ...]
    delete_before_replace: bool
    keys: tuple[str, ...]


def display_changes(
    old: Mapping[str, Any] | None, new: Mapping[str, Any] | None
) -> tuple[PropertyChange, ...]:
    """The old-vs-new comparison the CLI's display prints, without ``__`` keys."""
    before = {k: v for k, v in (old or {}).items() if not k.startswith("__")}
    after = {k: v for k, v in (new or {}).items() if not k.startswith("__")}
    return tuple(
        PropertyChange(key, kind, before.get(key), after.get(key))
        for key, kind in _values.changed_keys(before, after)
    )
