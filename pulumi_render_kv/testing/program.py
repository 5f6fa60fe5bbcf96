"""Run a real Pulumi program against the engine emulator.

The program runs through the SDK exactly as under ``pulumi up``: ``run_in_stack`` creates the
root ``Stack``, resource constructors serialize their inputs and register them with the
"monitor". Here the monitor is the SDK's mock monitor (``pulumi.runtime.set_mocks``), whose
``Mocks.new_resource`` forwards each registration to a :class:`~.deployment.Deployment`, and so to
the real provider server, and hands the program the real ids and outputs.

The program runs in a thread of its own, with its own event loop and context; the SDK's
process-wide settings are restored afterwards, so nothing leaks from one run to the next.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import json
import threading
import warnings
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar, cast

from pulumi.runtime import settings as _settings
from pulumi.runtime.config import set_all_config
from pulumi.runtime.mocks import MockCallArgs, MockMonitor, MockResourceArgs, Mocks, set_mocks
from pulumi.runtime.stack import run_in_stack

from . import _values
from ._stack import ProgramStack
from .model import STACK_TYPE, EngineError, Goal, OperationResult, ReadGoal

if TYPE_CHECKING:
    from .deployment import Deployment

STACK_REFERENCE_TYPE = "pulumi:pulumi:StackReference"

_T = TypeVar("_T")
_RUN_LOCK = threading.Lock()


@dataclass(frozen=True)
class ProgramResult:
    """The plan of a program run and its stack outputs (``pulumi.export``).

    ``wire_outputs`` keeps secrets wrapped (pass it to another run's ``stack_references``);
    ``outputs`` reveals them; ``secret_outputs`` names the secret ones. In a preview, values
    not known yet are :data:`UNKNOWN`.
    """

    plan: OperationResult
    wire_outputs: Mapping[str, Any] = field(default_factory=dict)

    def __repr__(self) -> str:
        return _values.masked_repr(self)

    @property
    def outputs(self) -> dict[str, Any]:
        """Stack outputs, secrets revealed."""
        return _values.reveal(dict(self.wire_outputs))  # type: ignore[no-any-return]

    @property
    def secret_outputs(self) -> frozenset[str]:
        """Names of the stack outputs that are secret."""
        return _values.secret_keys(self.wire_outputs)


@dataclass(frozen=True)
class _Registration:
    kind: str
    urn: str
    additional_secret_outputs: tuple[str, ...]
    delete_before_replace: bool | None
    protect: bool = False


class _Monitor(MockMonitor):
    """The mock monitor, plus what its ``Mocks`` interface hides.

    It passes each request's options (additional secret outputs, delete-before-replace,
    read vs. register vs. import) to ``new_resource`` through a thread-local, gives URNs the
    engine's shape (the root stack is not part of a child's type) and captures the stack's
    outputs from ``RegisterResourceOutputs``.
    """

    def __init__(self, mocks: Mocks, stack_urn: str) -> None:
        super().__init__(mocks)
        self.stack_urn = stack_urn
        self.stack_outputs: dict[str, Any] | None = None
        self.stacks_registered = 0
        self.local = threading.local()
        self._loops: list[asyncio.AbstractEventLoop] = []
        self._loops_lock = threading.Lock()

    def make_urn(self, parent: str, type_: str, name: str) -> str:
        if parent and parent.split("::")[2] == STACK_TYPE:
            parent = ""
        return super().make_urn(parent, type_, name)

    def _ensure_loop(self) -> None:
        # The mock monitor needs an event loop in the executor thread that calls it; create it
        # here (rather than letting the SDK do so) so that it can be closed after the run.
        if getattr(self.local, "loop", None) is None:
            loop = asyncio.new_event_loop()
            asyncio.set_event_loop(loop)
            self.local.loop = loop
            with self._loops_lock:
                self._loops.append(loop)

    def close_loops(self) -> None:
        with self._loops_lock:
            for loop in self._loops:
                loop.close()
            self._loops.clear()

    def RegisterResource(self, request: Any) -> Any:
        self._ensure_loop()
        if request.type == STACK_TYPE:
            self.stacks_registered += 1
        self.local.registration = _Registration(
            kind="import" if request.importId else "register",
            urn=self.make_urn(request.parent, request.type, request.name),
            additional_secret_outputs=tuple(request.additionalSecretOutputs),
            delete_before_replace=(
                request.deleteBeforeReplace if request.deleteBeforeReplaceDefined else None
            ),
            protect=bool(request.protect),
        )
        try:
            return super().RegisterResource(request)  # type: ignore[no-untyped-call]  # SDK code is unannotated
        finally:
            self.local.registration = None

    def ReadResource(self, request: Any) -> Any:
        self._ensure_loop()
        self.local.registration = _Registration(
            kind="read",
            urn=self.make_urn(request.parent, request.type, request.name),
            additional_secret_outputs=tuple(request.additionalSecretOutputs),
            delete_before_replace=None,
        )
        try:
            return super().ReadResource(request)  # type: ignore[no-untyped-call]  # SDK code is unannotated
        finally:
            self.local.registration = None

    def Invoke(self, request: Any) -> Any:
        self._ensure_loop()
        return super().Invoke(request)  # type: ignore[no-untyped-call]  # SDK code is unannotated

    def RegisterResourceOutputs(self, request: Any) -> Any:
        if request.urn == self.stack_urn:
            self.stack_outputs = _values.from_struct(request.outputs)
        return super().RegisterResourceOutputs(request)  # type: ignore[no-untyped-call]  # SDK code is unannotated


class _EngineMocks(Mocks):
    """``Mocks`` whose ``new_resource`` is the engine: each registration becomes real steps."""

    def __init__(
        self, deployment: Deployment, stack_references: Mapping[str, Mapping[str, Any]]
    ) -> None:
        self.deployment = deployment
        self.stack_references = stack_references
        self.monitor: _Monitor | None = None
        self.first_error: EngineError | None = None

    def call(self, args: MockCallArgs) -> tuple[dict[Any, Any], list[tuple[str, str]] | None]:
        raise NotImplementedError(
            f"invoke {args.token!r}: the engine emulator runs dynamic resources only; "
            "provider functions are not available"
        )

    def new_resource(self, args: MockResourceArgs) -> tuple[str | None, dict[Any, Any]]:
        try:
            return self._new_resource(args)
        except EngineError as err:
            if self.first_error is None:
                self.first_error = err
            raise

    def _new_resource(self, args: MockResourceArgs) -> tuple[str | None, dict[Any, Any]]:
        assert self.monitor is not None
        registration: _Registration | None = getattr(self.monitor.local, "registration", None)
        if registration is None:
            raise RuntimeError("new_resource was called outside a monitor request")
        if args.typ == STACK_REFERENCE_TYPE:
            return self._stack_reference(args)
        if registration.kind != "read" and not args.custom:
            return "", {}  # a component: the engine has nothing to do for it
        if not args.typ.startswith("pulumi-python:"):
            raise EngineError(
                f"{args.typ} resource '{args.name}': the engine emulator only runs Python "
                "dynamic resources (pulumi-python:dynamic...)",
                step="register",
                resource=args.name,
                type=args.typ,
            )
        inputs = _values.normalize_bag(args.inputs)
        goal: Goal | ReadGoal
        if registration.kind == "read":
            goal = ReadGoal(
                type=args.typ,
                name=args.name,
                id=str(args.resource_id),
                inputs=inputs,
                additional_secret_outputs=registration.additional_secret_outputs,
                urn=registration.urn,
            )
        else:
            goal = Goal(
                type=args.typ,
                name=args.name,
                inputs=inputs,
                delete_before_replace=registration.delete_before_replace,
                additional_secret_outputs=registration.additional_secret_outputs,
                urn=registration.urn,
                import_id=args.resource_id if registration.kind == "import" else None,
                protect=registration.protect,
            )
        return self.deployment.apply(goal)

    def _stack_reference(self, args: MockResourceArgs) -> tuple[str, dict[Any, Any]]:
        name = str(args.inputs.get("name") or args.resource_id)
        if name not in self.stack_references:
            raise EngineError(
                f"unknown stack {name!r}: pass its outputs to run_program(stack_references=...)",
                step="read",
                resource=args.name,
                type=STACK_REFERENCE_TYPE,
            )
        outputs = dict(self.stack_references[name])
        return name, {
            "name": name,
            "outputs": outputs,
            "secretOutputNames": sorted(_values.secret_keys(outputs)),
        }


def _program_config(config: Mapping[str, Any]) -> tuple[dict[str, str], list[str]]:
    values: dict[str, str] = {}
    secret_keys: list[str] = []
    for key, value in config.items():
        plain = _values.reveal(value)
        values[key] = plain if isinstance(plain, str) else json.dumps(plain)
        if _values.contains_secret(value):
            secret_keys.append(key)
    return values, secret_keys


def _close_loop(loop: asyncio.AbstractEventLoop) -> None:
    pending = [task for task in asyncio.all_tasks(loop) if not task.done()]
    for task in pending:
        task.cancel()
    if pending:
        loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
    loop.run_until_complete(loop.shutdown_asyncgens())
    loop.run_until_complete(loop.shutdown_default_executor())
    asyncio.set_event_loop(None)
    loop.close()


def _missing_reference_output(
    error: BaseException, references: Mapping[str, Mapping[str, Any]]
) -> EngineError | None:
    """The SDK's bare ``KeyError`` for an output no referenced stack has, as a clear error."""
    if not isinstance(error, KeyError) or len(error.args) != 1 or not references:
        return None
    name = error.args[0]
    if not isinstance(name, str) or any(name in outputs for outputs in references.values()):
        return None
    exported = "; ".join(
        f"{stack!r} exports {', '.join(sorted(outputs)) or 'nothing'}"
        for stack, outputs in references.items()
    )
    return EngineError(
        f"the program asked a StackReference for output {name!r}, which no referenced stack "
        f"exports ({exported}); export it from that stack, or use get_output() for an "
        "optional value",
        step="program",
    )


@contextlib.contextmanager
def _quiet_abandoned_coroutines() -> Iterator[None]:
    # A failed program leaves SDK coroutines that were never awaited (Output.future(), ...);
    # they warn when finalized. The failure itself is raised to the caller: silence just these.
    with warnings.catch_warnings():
        warnings.filterwarnings(
            "ignore", message=r"coroutine .* was never awaited", category=RuntimeWarning
        )
        yield
        gc.collect()


def _run_isolated(fn: Callable[[asyncio.AbstractEventLoop], _T]) -> _T:
    """Run ``fn`` in a new thread (fresh context, own event loop); restore the SDK settings."""
    box: dict[str, Any] = {}
    # After a failure the SDK's abandoned futures report "exception was never retrieved". The
    # failure itself is raised to the caller, so these are only reported for runs that pass.
    reports: list[dict[str, Any]] = []

    def on_loop_error(_loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
        reports.append(context)

    def target() -> None:
        saved = dict(_settings.SETTINGS.__dict__)
        loop = asyncio.new_event_loop()
        loop.set_exception_handler(on_loop_error)
        asyncio.set_event_loop(loop)
        try:
            box["value"] = fn(loop)
        except BaseException as exc:
            box["error"] = exc
        finally:
            try:
                if "error" in box:
                    with _quiet_abandoned_coroutines():
                        _close_loop(loop)
                else:
                    _close_loop(loop)
            finally:
                _settings.SETTINGS.__dict__.clear()
                _settings.SETTINGS.__dict__.update(saved)
                if "error" not in box:
                    for context in reports:
                        loop.default_exception_handler(context)
                reports.clear()

    with _RUN_LOCK:
        thread = threading.Thread(target=target, name="pulumi-program")
        thread.start()
        thread.join()
    if "error" in box:
        raise box["error"]
    return cast(_T, box["value"])


def run_program(
    program: Callable[[], None],
    engine: ProgramStack,
    *,
    preview: bool,
    project: str | None = None,
    stack: str | None = None,
    config: Mapping[str, Any] | None = None,
    stack_references: Mapping[str, Mapping[str, Any] | ProgramResult] | None = None,
    organization: str = "organization",
) -> ProgramResult:
    """Run ``program`` as ``pulumi preview`` (``preview=True``) or ``pulumi up`` would.

    Every dynamic resource the program creates is registered with ``engine``, which makes the
    engine's RPCs to its provider server and returns the real id and outputs to the program
    (in a preview: the checked inputs as planned outputs, unknown for everything else).
    ``ResourceOptions(id=...)`` becomes a read of an existing resource. After the program
    ends, an ``up`` deletes the resources it no longer registers and saves the stack outputs.

    ``config`` replaces the engine's stack config first (like ``pulumi config set``); keys
    are ``key`` or ``ns:key``, values plain or :func:`secret`. ``project``/``stack``, when
    given, must match the engine's. ``stack_references`` maps ``org/project/stack`` names to
    the outputs that ``pulumi.StackReference`` should see (a mapping, possibly with secret
    wrappers, or another run's :class:`ProgramResult`).

    Raises :class:`EngineError` when a step fails during an ``up`` (in a preview the error is
    in ``result.plan.error``), and whatever the program itself raises.
    """
    if project is not None and project != engine.project:
        raise ValueError(f"project {project!r} does not match the engine's {engine.project!r}")
    if stack is not None and stack != engine.stack:
        raise ValueError(f"stack {stack!r} does not match the engine's {engine.stack!r}")
    if config is not None:
        engine.set_config(config)
    references = {
        name: _values.normalize_bag(
            value.wire_outputs if isinstance(value, ProgramResult) else value
        )
        for name, value in (stack_references or {}).items()
    }
    deployment = engine.deployment(preview=preview)
    with deployment.scope():
        mocks = _EngineMocks(deployment, references)
        monitor = _Monitor(mocks, engine.stack_urn)
        mocks.monitor = monitor
        config_values, secret_keys = _program_config(engine.config)

        def body(loop: asyncio.AbstractEventLoop) -> None:
            # Fresh runtime values (rpc manager, outputs, lock) in this thread's context.
            _settings.reset_options(
                project=engine.project,
                stack=engine.stack,
                preview=preview,
                organization=organization,
            )
            # set_mocks creates a root Stack only when there is none. The real entrypoint creates
            # it in run_in_stack (and registers the exports on it), so keep set_mocks from doing so.
            _settings.ROOT.set(cast(Any, object()))
            set_mocks(
                mocks,
                project=engine.project,
                stack=engine.stack,
                preview=preview,
                monitor=monitor,
                organization=organization,
            )
            _settings.ROOT.set(None)
            set_all_config(config_values, secret_keys)
            loop.run_until_complete(run_in_stack(program))

        program_error: BaseException | None = None
        try:
            _run_isolated(body)
        except BaseException as exc:
            program_error = exc
        finally:
            monitor.close_loops()

        error = deployment.error or mocks.first_error
        if error is not None:
            # The error travelled through the SDK's coroutines; its traceback keeps them (and the
            # coroutines they never awaited) alive. Drop it and collect them quietly now.
            with _quiet_abandoned_coroutines():
                error.__traceback__ = None
                program_error = None
            if preview and deployment.error is not None:
                return ProgramResult(deployment.finish(), monitor.stack_outputs or {})
            raise error  # deployment.scope() aborts the deployment
        if program_error is not None:
            missing = _missing_reference_output(program_error, references)
            if missing is not None:
                with _quiet_abandoned_coroutines():
                    program_error.__traceback__ = None
                    program_error = None
                raise missing
            raise program_error
        outputs = monitor.stack_outputs or {}
        plan = deployment.finish()
        if not preview:
            engine.set_stack_outputs(outputs)
        return ProgramResult(plan, outputs)
