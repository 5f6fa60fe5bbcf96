"""A test harness that drives Python dynamic providers the way the Pulumi engine does.

**What it is.** A test tool, not a replacement for the Pulumi CLI. It runs the SDK's own
dynamic-provider server (``python -u -m pulumi.dynamic``, the process the CLI starts for every
``pulumi-python:*`` resource) and talks to it over gRPC with requests shaped as the engine
shapes them. Use it in this project's tests and demo, and in your own tests of programs that
use dynamic resources, on machines where the CLI is not available.

* :class:`ProviderServer` starts the server (with the ``cwd``/``PYTHONPATH`` from which your
  provider module imports and ``PULUMI_PROJECT`` set), reads its port, waits until it is
  ready and captures its stderr, where provider logs go. ``close()`` stops it.
* :class:`Engine` emulates the engine's step generator and executor over that server and
  keeps a state: ``preview`` (Configure, Check with unknowns allowed, Diff), ``up`` (create,
  same, update, replace with a second Check with empty olds and create-before-delete or
  delete-before-replace, deletes of what is gone), ``refresh`` (Read, then the swapped and
  inverted Diff), ``destroy``, ``read_existing`` (``ResourceOptions(id=...)``) and
  ``import_`` (which fails for dynamic resources exactly as the CLI does). Every RPC is
  recorded, and each operation returns an :class:`OperationResult` of :class:`StepResult` objects.
* :func:`run_program` runs a real Pulumi program (a callable that creates resources) under
  the SDK's mock monitor, whose ``new_resource`` forwards every registration to the
  :class:`Engine`, and returns its stack outputs; ``pulumi.StackReference`` reads are served
  from outputs you pass in.
* :func:`render_plan` prints a plan roughly as ``pulumi preview --diff`` does.

**What it reproduces**, from the engine's sources (``step_generator.go``, ``step.go``,
``provider_plugin.go``) and checked against recordings of the real engine
(``tests/engine_traces/``): the plugin's own conversation (Handshake and GetPluginInfo as it
loads, CheckConfig/DiffConfig of the default provider before a program's first resource,
Configure with the provider's URN and id, Cancel as the command ends; refresh, destroy and
import configure with the stack config saved at the last ``up``, as the engine does),
``protect`` (a protected resource's delete is refused before the provider hears of it; destroy
goes on past it, as ``pulumi destroy --skip-preview`` does), the RPC sequences and their fields
(Diff/Update/Delete get the old *outputs* as ``olds``); secrets stripped before every call (the
server answers ``acceptSecrets=False``) and re-applied to results with ``annotateSecrets`` and
``additional_secret_outputs``; unknowns only in a preview, only to Check and Diff; planned
outputs in a preview are the checked inputs; numbers as floats and ``None`` values dropped; the
DIFF_UNKNOWN fallback to the engine's own input diff (``__provider`` included); ``DIFF_NONE``
is "same" even with ``replaces``; an empty id from Read means the resource is gone; check
failures are reported as the CLI prints them and stop the operation before any Create (a
preview returns such errors in ``OperationResult.error``; the other operations raise
:class:`EngineError`, leaving the state as the engine would). :meth:`Engine.state_json` renders
the state like a checkpoint, with every secret as ciphertext.

**What it does not reproduce**: checkpoints on disk and their encryption (the ciphertext is
random filler), the display (colours, progress, exact layout), parallelism and dependency
ordering (steps run one at a time in registration order; deletes in reverse state order),
``ignore_changes``, ``replace_on_changes``, ``retain_on_delete``, aliases,
``depends_on``, partial failures (``initErrors``), unknown config, provider
functions (invokes), non-dynamic resources, and the CLI's own behaviours (policy packs,
``--target``, plans). Each operation gets a fresh server process, as each CLI command
does (the next one is started ahead, so this costs little); pass
``fresh_provider_per_operation=False`` to serve all operations from one process, whose
``configure()`` then runs once rather than once per command.

Example (pytest), for a provider class importable from the project root::

    from pathlib import Path

    import pulumi
    from pulumi_render_kv.testing import (
        Engine, ProviderServer, dynamic_goal, render_plan, run_program, secret,
    )

    from myproject.provider import MyProvider, MyResource

    ROOT = Path(__file__).resolve().parents[1]

    def test_create_then_no_diff() -> None:
        # create, then a second up changes nothing
        with ProviderServer(cwd=ROOT, project="demo") as server:
            engine = Engine(server, stack="test", config={"apiKey": secret("k")})
            goal = dynamic_goal(MyProvider(), "cache", {"plan": "starter"})
            assert engine.preview([goal]).ops == {"cache": "create"}
            engine.up([goal])
            assert engine.resource("cache").outputs["plan"] == "starter"
            again = engine.up([goal])
            assert again.ops == {"cache": "same"}
            assert "Update" not in again.calls_for("cache")
            engine.destroy()

or with a whole program (``engine.preview(program)``/``engine.up(program)`` work too)::

    def program() -> None:
        cache = MyResource("cache", plan="starter")
        pulumi.export("url", cache.url)

    result = run_program(program, engine, preview=False)
    assert "url" in result.secret_outputs
    print(render_plan(result.plan))
"""

from ._values import SECRET_SIG, SECRET_SIG_KEY, UNKNOWN, is_secret, reveal, secret
from .engine import (
    Engine,
    decode_provider,
    dynamic_goal,
    dynamic_type,
    serialize_provider,
)
from .model import (
    CheckFailure,
    EngineError,
    Goal,
    OperationResult,
    PropertyChange,
    ReadGoal,
    ResourceState,
    RpcCall,
    StepResult,
)
from .program import ProgramResult, run_program
from .render import format_value, render_plan
from .server import ProviderServer, ProviderServerError

__all__ = [
    "SECRET_SIG",
    "SECRET_SIG_KEY",
    "UNKNOWN",
    "CheckFailure",
    "Engine",
    "EngineError",
    "Goal",
    "OperationResult",
    "ProgramResult",
    "PropertyChange",
    "ProviderServer",
    "ProviderServerError",
    "ReadGoal",
    "ResourceState",
    "RpcCall",
    "StepResult",
    "decode_provider",
    "dynamic_goal",
    "dynamic_type",
    "format_value",
    "is_secret",
    "render_plan",
    "reveal",
    "run_program",
    "secret",
    "serialize_provider",
]
