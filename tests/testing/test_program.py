"""run_program: real Pulumi programs through the SDK's mock monitor into the engine emulator."""

from __future__ import annotations

import threading
from collections.abc import Callable

import pulumi
import pytest
from pulumi.runtime import settings as pulumi_settings
from pulumi.runtime.config import CONFIG

from pulumi_render_kv.testing import (
    UNKNOWN,
    Engine,
    EngineError,
    ProviderServer,
    run_program,
    secret,
)

from .memprovider import MemProvider, MemResource, Store

pytestmark = pytest.mark.grpc


def infra_program(store: Store, *, with_b: bool = True, size: int = 1) -> Callable[[], None]:
    """Resource a (secret token, endpoint made secret), b fed by a's endpoint; exports."""

    def program() -> None:
        provider = MemProvider(str(store.path))
        a = MemResource(
            "a",
            {"name": "alpha", "size": size, "token": pulumi.Output.secret("tok-1")},
            provider,
            pulumi.ResourceOptions(additional_secret_outputs=["endpoint"]),
        )
        pulumi.export("endpoint", a.endpoint)
        pulumi.export("password", a.password)
        pulumi.export("region", pulumi.Config().require("defaultRegion"))
        if with_b:
            b = MemResource("b", {"name": a.endpoint, "size": 2}, provider)
            pulumi.export("b_id", b.id)

    return program


def test_preview_then_up_returns_real_ids_outputs_and_stack_outputs(
    engine: Engine, store: Store
) -> None:
    """Preview plans creates with unknown outputs; up feeds real outputs between resources."""
    program = infra_program(store)
    preview = run_program(program, engine, preview=True)
    assert preview.plan.ops == {"a": "create", "b": "create"}
    assert preview.outputs["endpoint"] == UNKNOWN
    assert preview.outputs["region"] == "frankfurt"
    assert store.objects == {}
    assert engine.resources == ()

    result = run_program(program, engine, preview=False)
    assert result.plan.ops == {"a": "create", "b": "create"}
    assert result.outputs == {
        "endpoint": "mem://obj-1",
        "password": "pw-obj-1",
        "region": "frankfurt",
        "b_id": "obj-2",
    }
    assert result.secret_outputs == {"endpoint", "password"}
    assert store.objects["obj-2"]["name"] == "mem://obj-1"
    assert engine.resource("a").secret_outputs >= {"token", "endpoint", "password"}
    assert engine.stack_outputs == dict(result.wire_outputs)
    assert "pw-obj-1" not in engine.state_json()
    assert "tok-1" not in engine.state_json()


def test_second_up_is_same_and_a_dropped_resource_is_deleted(engine: Engine, store: Store) -> None:
    """Re-running the program changes nothing; removing b from it deletes b."""
    run_program(infra_program(store), engine, preview=False)
    again = run_program(infra_program(store), engine, preview=False)
    assert again.plan.ops == {"a": "same", "b": "same"}
    assert "Update" not in [c.method for c in again.plan.calls]
    shrunk = run_program(infra_program(store, with_b=False), engine, preview=False)
    assert shrunk.plan.ops == {"a": "same", "b": "delete"}
    assert list(store.objects) == ["obj-1"]
    assert "b_id" not in engine.stack_outputs


def test_program_update_preview_shows_the_changed_input(engine: Engine, store: Store) -> None:
    """A changed input previews as an update of that key and applies in place."""
    run_program(infra_program(store), engine, preview=False)
    preview = run_program(infra_program(store, size=4), engine, preview=True)
    assert preview.plan.ops["a"] == "update"
    assert preview.plan.step("a").changed_keys == ("size",)
    run_program(infra_program(store, size=4), engine, preview=False)
    assert engine.resource("a").outputs["size"] == 4.0


def test_stack_reference_reads_another_stacks_outputs(server: ProviderServer, store: Store) -> None:
    """pulumi.StackReference resolves to the outputs given, keeping their secretness."""
    infra = Engine(server, stack="infra", config={"defaultRegion": "frankfurt"})
    infra_result = run_program(infra_program(store, with_b=False), infra, preview=False)

    def app() -> None:
        ref = pulumi.StackReference("org/harness/infra")
        MemResource(
            "app", {"name": ref.get_output("endpoint"), "size": 1}, MemProvider(str(store.path))
        )
        pulumi.export("copied_password", ref.get_output("password"))
        pulumi.export("region", ref.get_output("region"))

    app_engine = Engine(server, stack="app")
    result = run_program(
        app, app_engine, preview=False, stack_references={"org/harness/infra": infra_result}
    )
    assert app_engine.resource("app").outputs["name"] == "mem://obj-1"
    assert result.outputs["copied_password"] == "pw-obj-1"
    assert result.secret_outputs == {"copied_password"}
    assert result.outputs["region"] == "frankfurt"

    with pytest.raises(EngineError, match="unknown stack 'org/harness/infra'"):
        run_program(app, Engine(server, stack="nowhere"), preview=False)


def test_resource_options_id_reads_an_existing_resource(
    server: ProviderServer, engine: Engine, store: Store
) -> None:
    """ResourceOptions(id=...) becomes a Read of that id; the resource is external."""
    run_program(infra_program(store, with_b=False), engine, preview=False)

    def reader() -> None:
        existing = MemResource(
            "existing",
            {"name": "alpha", "size": 1},
            MemProvider(str(store.path)),
            pulumi.ResourceOptions(id="obj-1"),
        )
        pulumi.export("endpoint", existing.endpoint)

    other = Engine(server, stack="reader")
    result = run_program(reader, other, preview=False)
    assert result.plan.ops == {"existing": "read"}
    assert result.plan.calls_for("existing") == ["Read"]
    assert result.outputs["endpoint"] == "mem://obj-1"
    assert other.resource("existing").external
    assert "Delete" not in [c.method for c in other.destroy().calls]
    assert "obj-1" in store.objects


def test_import_option_fails_for_dynamic_resources(engine: Engine, store: Store) -> None:
    """ResourceOptions(import_=...) fails with KeyError '__provider', as with the real CLI."""

    def importer() -> None:
        MemResource(
            "imported",
            {"name": "x", "size": 1},
            MemProvider(str(store.path)),
            pulumi.ResourceOptions(import_="obj-9"),
        )

    with pytest.raises(EngineError) as info:
        run_program(importer, engine, preview=False)
    assert info.value.step == "import"
    assert info.value.provider_message == "KeyError: '__provider'"
    assert not engine.has("imported")


def test_check_failure_in_a_program(engine: Engine, store: Store) -> None:
    """A check failure is in the preview's plan and makes up raise, with nothing created."""

    def bad() -> None:
        MemResource("bad", {"name": "bad", "size": -2}, MemProvider(str(store.path)))

    preview = run_program(bad, engine, preview=True)
    assert preview.plan.error is not None
    assert preview.plan.failures[0].property == "size"
    with pytest.raises(EngineError, match="has a problem: size must be a positive number"):
        run_program(bad, engine, preview=False)
    assert store.log("create") == []
    assert engine.resources == ()


def test_config_and_secrets_reach_the_program(engine: Engine, store: Store) -> None:
    """Stack config (including secrets) is readable with pulumi.Config in the program."""

    def program() -> None:
        config = pulumi.Config()
        pulumi.export("token", config.require_secret("token"))
        pulumi.export("other", pulumi.Config("other").get("flag"))

    result = run_program(
        program,
        engine,
        preview=False,
        config={"token": secret("s3"), "other:flag": "on", "defaultRegion": "x"},
    )
    assert result.outputs == {"token": "s3", "other": "on"}
    assert result.secret_outputs == {"token"}


def _threads_a_run_could_leave() -> set[threading.Thread]:
    """Live threads, less the provider server's, which come and go on their own schedule.

    Each run restarts the server: its processes' stdout readers and its gRPC channel's threads
    are the harness's, and an earlier test's may still be ending (a thread count took that for
    one fewer left behind). The program's side of a run uses no gRPC.
    """
    return {
        thread
        for thread in threading.enumerate()
        if not thread.name.startswith("provider-stdout-")
        and not getattr(getattr(thread, "_target", None), "__module__", "").startswith("grpc.")
    }


def test_runs_leave_no_pulumi_runtime_state_or_threads_behind(engine: Engine, store: Store) -> None:
    """After a run the SDK's settings, root resource and config are as before, and no thread
    it started is left running."""
    before_threads = _threads_a_run_could_leave()
    monitor_before = pulumi_settings.SETTINGS.monitor
    run_program(infra_program(store), engine, preview=True)
    run_program(infra_program(store), engine, preview=False)
    assert pulumi_settings.SETTINGS.monitor is monitor_before
    assert pulumi_settings.get_root_resource() is None
    assert pulumi_settings.is_dry_run() is False
    assert "harness:defaultRegion" not in CONFIG.get()
    assert _threads_a_run_could_leave() - before_threads == set()


def test_program_exception_propagates_and_nothing_is_deleted(engine: Engine, store: Store) -> None:
    """An exception in the program itself is raised as is, and the up deletes nothing."""
    run_program(infra_program(store), engine, preview=False)

    def broken() -> None:
        MemResource("a", {"name": "alpha", "size": 1}, MemProvider(str(store.path)))
        raise RuntimeError("bug in the program")

    with pytest.raises(RuntimeError, match="bug in the program"):
        run_program(broken, engine, preview=False)
    assert engine.has("b")
    assert "obj-2" in store.objects


def test_component_children_get_the_parents_type_in_their_urn(engine: Engine, store: Store) -> None:
    """Components need no provider; a child's URN carries the component's type, as in Pulumi."""

    class Pair(pulumi.ComponentResource):
        def __init__(self, name: str) -> None:
            super().__init__("harness:index:Pair", name)
            child_opts = pulumi.ResourceOptions(parent=self)
            MemResource(
                f"{name}-x", {"name": "x", "size": 1}, MemProvider(str(store.path)), child_opts
            )
            self.register_outputs({})

    def program() -> None:
        Pair("pair")

    result = run_program(program, engine, preview=False)
    assert result.plan.ops == {"pair-x": "create"}
    assert engine.resource("pair-x").urn == (
        "urn:pulumi:test::harness::harness:index:Pair$"
        "pulumi-python:dynamic/memprov:MemResource::pair-x"
    )


def test_a_missing_stack_reference_output_is_a_clear_error(
    server: ProviderServer, store: Store
) -> None:
    """An output the other stack does not export: one error naming it and the ones there."""

    def app() -> None:
        ref = pulumi.StackReference("org/harness/infra")
        MemResource(
            "app", {"name": ref.require_output("nope"), "size": 1}, MemProvider(str(store.path))
        )

    with pytest.raises(EngineError) as caught:
        run_program(
            app,
            Engine(server, stack="app"),
            preview=False,
            stack_references={"org/harness/infra": {"endpoint": "mem://x"}},
        )
    message = str(caught.value)
    assert "'nope'" in message
    assert "org/harness/infra" in message
    assert "endpoint" in message
