"""Engine: the engine's RPC sequences, step by step, against the real provider server."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import replace

import pytest

from pulumi_render_kv.testing import (
    UNKNOWN,
    Engine,
    EngineError,
    Goal,
    ProviderServer,
    decode_provider,
    dynamic_goal,
    secret,
)

from .conftest import MEM_TYPE, start_server
from .memprovider import MemProvider, Store

pytestmark = pytest.mark.grpc

MakeGoal = Callable[..., Goal]


def methods(engine: Engine, since: int = 0) -> list[tuple[str, str | None]]:
    return [(c.method, c.name) for c in engine.calls[since:]]


def test_preview_sends_unknowns_to_check_and_changes_nothing(
    engine: Engine, make_goal: MakeGoal, store: Store
) -> None:
    """Preview: the plugin's start-up, Check only; the provider sees Unknown(); nothing changes.

    The start-up is the real engine's (recorded in tests/engine_traces): Handshake and
    GetPluginInfo as the plugin loads, CheckConfig of the default provider (DiffConfig only
    once a config is in state), Configure; Cancel as the command ends.
    """
    plan = engine.preview([make_goal("a", {"name": "alpha", "size": UNKNOWN})])
    assert plan.ok
    assert plan.ops == {"a": "create"}
    assert [c.method for c in plan.calls] == [
        "Handshake",
        "GetPluginInfo",
        "CheckConfig",
        "Configure",
        "Check",
        "Cancel",
    ]
    assert store.log("check")[0]["news_types"]["size"] == "Unknown"
    planned = plan.step("a").new_outputs
    assert planned is not None
    assert planned["size"] == UNKNOWN
    assert store.objects == {}
    assert engine.resources == ()


def test_up_creates_with_check_then_create(
    engine: Engine, make_goal: MakeGoal, store: Store
) -> None:
    """A new resource is Check then Create; numbers arrive as floats and None values vanish."""
    plan = engine.up([make_goal("a", {"name": "alpha", "size": 3, "note": None})])
    assert plan.ops == {"a": "create"}
    assert plan.calls_for("a") == ["Check", "Create"]
    state = engine.resource("a")
    assert state.id == "obj-1"
    assert state.outputs["endpoint"] == "mem://obj-1"
    assert state.outputs["size"] == 3.0
    assert isinstance(state.outputs["size"], float)
    check = store.log("check")[0]
    assert check["news_types"]["size"] == "float"
    assert "note" not in check["news"]
    assert state.inputs["region"] == "frankfurt"  # check() defaulted it from the stack config


def test_up_without_changes_is_same_and_never_updates(
    engine: Engine, make_goal: MakeGoal, store: Store
) -> None:
    """Diff runs on every up; DIFF_NONE makes a same step and no Update call."""
    goal = make_goal("a", {"name": "alpha", "size": 1})
    engine.up([goal])
    plan = engine.up([goal])
    assert plan.ops == {"a": "same"}
    assert not plan.has_changes
    assert plan.calls_for("a") == ["Check", "Diff"]
    assert store.log("update") == []


def test_changed_input_updates_in_place_with_old_outputs_as_olds(
    engine: Engine, make_goal: MakeGoal
) -> None:
    """An in-place change is Check, Diff, Update; Diff and Update get the old outputs."""
    engine.up([make_goal("a", {"name": "alpha", "size": 1})])
    plan = engine.up([make_goal("a", {"name": "alpha", "size": 2})])
    assert plan.ops == {"a": "update"}
    assert plan.calls_for("a") == ["Check", "Diff", "Update"]
    diff = next(c for c in plan.calls if c.method == "Diff")
    assert diff.request["olds"]["endpoint"] == "mem://obj-1"  # an output, not an input
    assert "endpoint" not in diff.request["old_inputs"]
    assert plan.step("a").changed_keys == ("size",)
    assert engine.resource("a").id == "obj-1"
    assert engine.resource("a").outputs["size"] == 2.0


def test_replace_checks_again_with_empty_olds_and_creates_before_deleting(
    engine: Engine, make_goal: MakeGoal, store: Store
) -> None:
    """A replacement re-Checks with olds={} and deletes the old one after the rest of the run."""
    engine.up([make_goal("a", {"name": "a", "size": 1}), make_goal("b", {"name": "b", "size": 1})])
    since = len(engine.calls)
    plan = engine.up(
        [
            make_goal("a", {"name": "a", "size": 1, "region": "virginia"}),
            make_goal("b", {"name": "b", "size": 2}),
        ]
    )
    assert plan.ops == {"a": "replace", "b": "update"}
    assert methods(engine, since) == [
        ("Handshake", None),
        ("GetPluginInfo", None),
        ("CheckConfig", None),
        ("DiffConfig", None),
        ("Configure", None),
        ("Check", "a"),
        ("Diff", "a"),
        ("Check", "a"),
        ("Create", "a"),
        ("Check", "b"),
        ("Diff", "b"),
        ("Update", "b"),
        ("Delete", "a"),
        ("Cancel", None),
    ]
    checks = [c for c in plan.calls if c.method == "Check" and c.name == "a"]
    assert checks[0].request["olds"] != {}
    assert checks[1].request["olds"] == {}
    assert plan.step("a").replace_keys == ("region",)
    assert engine.resource("a").id == "obj-3"
    assert sorted(store.objects) == ["obj-2", "obj-3"]
    assert engine.pending_deletes == ()


@pytest.mark.parametrize(
    ("provider_dbr", "option", "expected"),
    [
        (True, None, ["Check", "Diff", "Check", "Delete", "Create"]),
        (False, True, ["Check", "Diff", "Check", "Delete", "Create"]),
        (True, False, ["Check", "Diff", "Check", "Create", "Delete"]),
    ],
)
def test_delete_before_replace_comes_from_provider_or_option(
    engine: Engine,
    make_goal: MakeGoal,
    provider_dbr: bool,
    option: bool | None,
    expected: list[str],
) -> None:
    """DiffResponse.deleteBeforeReplace picks the order; ResourceOptions overrides it."""
    opts = {"ask_delete_before_replace": provider_dbr}
    engine.up([make_goal("a", {"name": "a", "size": 1}, **opts)])
    goal = make_goal(
        "a", {"name": "a", "size": 1, "region": "virginia"}, delete_before_replace=option, **opts
    )
    plan = engine.up([goal])
    assert plan.calls_for("a") == expected
    assert plan.step("a").delete_before_replace is (expected[3] == "Delete")
    assert [s.name for s in engine.resources] == ["a"]


def test_resource_left_out_of_the_program_is_deleted(
    engine: Engine, make_goal: MakeGoal, store: Store
) -> None:
    """What the program no longer registers is deleted at the end of the up."""
    engine.up([make_goal("a", {"name": "a", "size": 1}), make_goal("b", {"name": "b", "size": 1})])
    preview = engine.preview([make_goal("a", {"name": "a", "size": 1})])
    assert preview.ops == {"a": "same", "b": "delete"}
    assert "Delete" not in preview.calls_for("b")
    plan = engine.up([make_goal("a", {"name": "a", "size": 1})])
    assert plan.ops == {"a": "same", "b": "delete"}
    assert plan.calls_for("b") == ["Delete"]
    assert list(store.objects) == ["obj-1"]
    assert not engine.has("b")


def test_check_failure_is_reported_like_the_cli_and_nothing_is_created(
    engine: Engine, make_goal: MakeGoal, store: Store
) -> None:
    """Check failures carry property and reason, print as the CLI does, and stop before Create."""
    goal = make_goal("a", {"name": "a", "size": -1})
    preview = engine.preview([goal])
    assert not preview.ok
    assert preview.ops == {"a": "create"}
    failure = preview.failures[0]
    assert (failure.property, failure.reason) == ("size", "size must be a positive number")
    assert failure.message == (
        f"{MEM_TYPE} resource 'a': property size value {{-1}} has a problem: "
        "size must be a positive number"
    )
    with pytest.raises(EngineError) as info:
        engine.up([goal])
    assert info.value.step == "check"
    assert info.value.resource == "a"
    assert info.value.failures[0].property == "size"
    assert store.log("create") == []
    assert engine.resources == ()


def test_failed_create_raises_with_provider_message_and_leaves_no_state(
    engine: Engine, make_goal: MakeGoal
) -> None:
    """An exception in create() is an EngineError with the message and the full traceback."""
    with pytest.raises(EngineError) as info:
        engine.up([make_goal("boom", {"name": "explode", "size": 1})])
    err = info.value
    assert (err.step, err.resource) == ("create", "boom")
    assert err.provider_message == (
        "ValueError: cannot create 'explode': quota exceeded\nfix: ask for more quota"
    )
    assert "fix: ask for more quota" in str(err)
    assert "Traceback" in err.details
    assert "memprovider.py" in err.details
    assert not engine.has("boom")
    engine.up([make_goal("ok", {"name": "ok", "size": 1})])  # the engine is usable again
    assert engine.has("ok")


def test_unknown_diff_falls_back_to_the_engines_input_diff_including_provider(
    engine: Engine, make_goal: MakeGoal
) -> None:
    """With DIFF_UNKNOWN, a changed __provider alone makes an update the display cannot explain."""
    engine.up([make_goal("a", {"name": "a", "size": 1}, unknown_diff=True)])
    same = engine.up([make_goal("a", {"name": "a", "size": 1}, unknown_diff=True)])
    assert same.ops == {"a": "same"}
    assert same.step("a").diff_result == "DIFF_UNKNOWN"
    changed = make_goal("a", {"name": "a", "size": 1}, unknown_diff=True, replace_on=("name",))
    plan = engine.up([changed])
    step = plan.step("a")
    assert plan.ops == {"a": "update"}
    assert step.diff_keys == ("__provider",)
    assert step.changes == ()


def test_refresh_reports_drift_after_an_out_of_band_edit(
    engine: Engine, make_goal: MakeGoal, store: Store
) -> None:
    """Refresh reads, takes the provider's inputs, and reports drift via the swapped Diff."""
    goal = make_goal("a", {"name": "a", "size": 1})
    engine.up([goal])
    store.edit("obj-1", size=5.0)
    plan = engine.refresh()
    assert plan.ops == {"a": "update"}
    assert plan.calls_for("a") == ["Read", "Diff"]
    diff = next(c for c in plan.calls if c.method == "Diff")
    assert diff.request["olds"]["size"] == 5.0
    assert diff.request["news"]["size"] == 1.0
    (change,) = plan.step("a").changes
    assert (change.key, change.old, change.new) == ("size", 1.0, 5.0)
    assert engine.resource("a").inputs["size"] == 5.0
    assert engine.preview([goal]).step("a").changed_keys == ("size",)


def test_refresh_without_read_inputs_keeps_stale_inputs(
    engine: Engine, make_goal: MakeGoal, store: Store
) -> None:
    """If read() returns no inputs, drift still shows but state keeps the old inputs (#13839)."""
    goal = make_goal("a", {"name": "a", "size": 1}, return_inputs_on_read=False)
    engine.up([goal])
    store.edit("obj-1", size=5.0)
    plan = engine.refresh()
    assert plan.ops == {"a": "update"}
    state = engine.resource("a")
    assert state.outputs["size"] == 5.0
    assert state.inputs["size"] == 1.0


def test_refresh_without_drift_is_same(engine: Engine, make_goal: MakeGoal) -> None:
    """Refresh of an untouched resource reports no change."""
    engine.up([make_goal("a", {"name": "a", "size": 1})])
    plan = engine.refresh()
    assert plan.ops == {"a": "same"}
    assert not plan.has_changes


def test_refresh_drops_a_resource_deleted_out_of_band(
    engine: Engine, make_goal: MakeGoal, store: Store
) -> None:
    """An empty id from Read removes the resource from state; the next up creates it again."""
    goal = make_goal("a", {"name": "a", "size": 1})
    engine.up([goal])
    store.remove("obj-1")
    plan = engine.refresh()
    assert plan.ops == {"a": "delete"}
    assert plan.calls_for("a") == ["Read"]
    assert not engine.has("a")
    assert engine.up([goal]).ops == {"a": "create"}


def test_destroy_deletes_in_reverse_order_and_empties_state(
    engine: Engine, make_goal: MakeGoal, store: Store
) -> None:
    """Destroy deletes newest first, with old outputs as properties, and leaves no state."""
    engine.up([make_goal("a", {"name": "a", "size": 1}), make_goal("b", {"name": "b", "size": 1})])
    plan = engine.destroy()
    deletes = [c for c in plan.calls if c.name is not None]
    assert [(c.method, c.name) for c in deletes] == [("Delete", "b"), ("Delete", "a")]
    assert deletes[0].request["properties"]["endpoint"] == "mem://obj-2"
    # No program runs: the provider comes from state, so its config is not checked again.
    assert "CheckConfig" not in [c.method for c in plan.calls]
    assert engine.resources == ()
    assert store.objects == {}
    assert '"resources": []' in engine.state_json()


def test_read_existing_is_external_and_survives_destroy(
    server: ProviderServer, engine: Engine, make_goal: MakeGoal, store: Store
) -> None:
    """opts.id reads with the program's props as inputs and state; destroy does not delete it."""
    engine.up([make_goal("a", {"name": "a", "size": 1})])
    other = Engine(server, stack="other")
    goal = make_goal("ignored", {"name": "a", "size": 1})
    plan = other.read_existing("ext", MEM_TYPE, "obj-1", goal.inputs)
    read = next(c for c in plan.calls if c.method == "Read")
    assert read.request["inputs"] == read.request["properties"]
    assert "__provider" in read.request["inputs"]
    assert plan.ops == {"ext": "read"}
    state = other.resource("ext")
    assert state.external
    assert state.outputs["endpoint"] == "mem://obj-1"
    destroyed = other.destroy()
    assert destroyed.ops == {"ext": "discard"}
    assert "Delete" not in destroyed.calls_for("ext")
    assert "obj-1" in store.objects


def test_import_fails_for_dynamic_resources_as_with_the_cli(
    engine: Engine, make_goal: MakeGoal
) -> None:
    """Import reads with no inputs and no state, so the server cannot find __provider."""
    engine.up([make_goal("a", {"name": "a", "size": 1})])
    with pytest.raises(EngineError) as info:
        engine.import_("imported", MEM_TYPE, "obj-1")
    assert info.value.step == "import"
    assert info.value.provider_message == "KeyError: '__provider'"
    read = engine.calls[-2]
    assert (read.method, engine.calls[-1].method) == ("Read", "Cancel")
    assert set(read.request) == {"id"}
    assert not engine.has("imported")


def test_secrets_are_stripped_on_the_wire_annotated_back_and_encrypted_in_state(
    engine: Engine, make_goal: MakeGoal
) -> None:
    """Secret inputs reach the provider in plaintext, come back secret, never hit state bare."""
    goal = make_goal(
        "a",
        {"name": "a", "size": 1, "token": secret("tok-123")},
        additional_secret_outputs=("endpoint",),
    )
    plan = engine.up([goal])
    check = next(c for c in plan.calls if c.method == "Check")
    assert check.request["news"]["token"] == "tok-123"
    assert isinstance(check.request["news"]["__provider"], str)
    state = engine.resource("a")
    # token: annotateSecrets; endpoint: additional_secret_outputs; password: provider-wrapped.
    assert {"token", "endpoint", "password", "__provider"} <= state.secret_outputs
    assert "name" not in state.secret_outputs
    assert state.secret_inputs == {"token", "__provider"}
    text = engine.state_json()
    blob = goal.inputs["__provider"]["value"]
    for plaintext in ("tok-123", "pw-obj-1", "mem://obj-1", blob):
        assert plaintext not in text
    assert '"ciphertext"' in text
    # A repr lands in assertion messages, logs and tracebacks: it masks secrets as
    # render_plan and state_json do (RpcCall payloads are plaintext on the wire: keys only).
    later = engine.up([goal])
    for shown in (repr(plan), repr(later), repr(state), repr(engine.resources), repr(goal)):
        for plaintext in ("tok-123", "pw-obj-1", "mem://obj-1"):
            assert plaintext not in shown
    assert "[secret]" in repr(state)


def test_stack_config_reaches_configure_with_namespaces(
    server: ProviderServer, make_goal: MakeGoal, store: Store
) -> None:
    """Configure carries the whole stack config; configure() reads own and other namespaces."""
    engine = Engine(
        server,
        stack="cfg",
        config={"defaultRegion": "sydney", "token": secret("t"), "other:flag": "yes"},
    )
    plan = engine.up([make_goal("a", {"name": "a", "size": 1})])
    configure = next(c for c in plan.calls if c.method == "Configure")
    assert configure.request["args"]["harness:defaultRegion"] == "sydney"
    # The legacy map files every key under the provider's own package, as the engine does.
    assert configure.message["variables"]["pulumi-python:config:harness:defaultRegion"] == (
        "sydney"
    )
    logged = store.log("configure")[0]
    assert logged["default_region"] == "sydney"
    assert logged["has_token"] is True
    assert logged["other_namespace"] == "yes"
    assert engine.resource("a").inputs["region"] == "sydney"


def test_configure_runs_once_per_process_unless_fresh_per_operation(
    store: Store, make_goal: MakeGoal
) -> None:
    """A config change reaches configure() only in a new provider process, as per CLI command."""
    with start_server() as srv:
        reused = Engine(
            srv,
            stack="reused",
            config={"defaultRegion": "sydney"},
            fresh_provider_per_operation=False,
        )
        reused.up([make_goal("a", {"name": "a", "size": 1})])
        reused.set_config({"defaultRegion": "tokyo"})
        reused.up(
            [make_goal("a", {"name": "a", "size": 1}), make_goal("b", {"name": "b", "size": 1})]
        )
        assert reused.resource("b").inputs["region"] == "sydney"  # cached, configured provider

        fresh = Engine(srv, stack="fresh")  # the default: one process per command
        fresh.set_config({"defaultRegion": "tokyo"})
        first_pid = srv.pid
        fresh.up([make_goal("c", {"name": "c", "size": 1})])
        assert srv.pid != first_pid
        assert fresh.resource("c").inputs["region"] == "tokyo"
        reused.destroy()


def test_goals_for_dynamic_resources_match_the_sdk(store: Store) -> None:
    """dynamic_goal builds the type token and a secret __provider as Resource.__init__ does."""
    goal = dynamic_goal(
        MemProvider(str(store.path)), "a", {"x": 1}, module="memprov", type_name="MemResource"
    )
    assert goal.type == MEM_TYPE
    decoded = decode_provider(goal.inputs["__provider"])
    assert isinstance(decoded, MemProvider)
    assert decoded.store == str(store.path)
    assert goal.inputs["__provider"]["4dabf18193072939515e22adb298388d"] == (
        "1b47061264138c4ac30d75fd1eb44270"
    )
    with pytest.raises(ValueError, match="__provider"):
        dynamic_goal(MemProvider(str(store.path)), "a", {"__provider": "x"})


# -- an operation always ends -------------------------------------------------------------------


def test_a_non_engine_error_ends_the_up_and_the_next_up_works(
    engine: Engine, make_goal: MakeGoal
) -> None:
    """The harness's own ValueError (an unknown outside a preview) does not leave 'up' running."""
    with pytest.raises(ValueError, match="unknown input values"):
        engine.up([make_goal("a", {"name": "alpha", "size": UNKNOWN})])
    plan = engine.up([make_goal("a", {"name": "alpha", "size": 1})])
    assert plan.ops == {"a": "create"}


Operation = Callable[[Engine, Goal], object]
OPERATIONS: dict[str, Operation] = {
    "preview": lambda engine, goal: engine.preview([goal]),
    "up": lambda engine, goal: engine.up([goal]),
    "refresh": lambda engine, goal: engine.refresh(),
    "destroy": lambda engine, goal: engine.destroy(),
    "read_existing": lambda engine, goal: engine.read_existing(
        "ext", MEM_TYPE, "obj-1", goal.inputs
    ),
    "import": lambda engine, goal: engine.import_("imported", MEM_TYPE, "obj-1"),
}


@pytest.mark.parametrize("operation", OPERATIONS.values(), ids=OPERATIONS.keys())
def test_any_exception_inside_an_operation_ends_it(
    engine: Engine, make_goal: MakeGoal, monkeypatch: pytest.MonkeyPatch, operation: Operation
) -> None:
    """Whatever escapes preview/up/refresh/destroy/read_existing/import_, the engine is free."""
    goal = make_goal("a", {"name": "alpha", "size": 1})
    engine.up([goal])

    def broken(*args: object, **kwargs: object) -> None:
        raise ValueError("a bug inside the harness")

    with monkeypatch.context() as patch:
        patch.setattr(engine.conversation, "configure", broken)
        with pytest.raises(ValueError, match="a bug inside the harness"):
            operation(engine, goal)
    assert engine.up([goal]).ops == {"a": "same"}


def test_goals_that_fail_to_iterate_end_the_preview(engine: Engine, make_goal: MakeGoal) -> None:
    """An exception raised by the goals iterable itself ends the operation too."""

    def goals() -> Iterator[Goal]:
        yield make_goal("a", {"name": "alpha", "size": 1})
        raise KeyError("no more goals")

    with pytest.raises(KeyError, match="no more goals"):
        engine.preview(goals())
    assert engine.preview([make_goal("a", {"name": "alpha", "size": 1})]).ok


def test_refresh_and_destroy_configure_with_the_config_in_state(
    server: ProviderServer, make_goal: MakeGoal, store: Store
) -> None:
    """Without a program, the engine takes the provider (and its config) from state."""
    engine = Engine(server, stack="state-config", config={"defaultRegion": "sydney"})
    engine.up([make_goal("a", {"name": "a", "size": 1})])
    engine.set_config({"defaultRegion": "oslo"})
    for plan in (engine.refresh(), engine.destroy()):
        configure = next(c for c in plan.calls if c.method == "Configure")
        assert configure.request["args"] == {"harness:defaultRegion": "sydney"}
    # With nothing left in state, the next up registers the provider anew: no DiffConfig.
    plan = engine.up([make_goal("a", {"name": "a", "size": 1})])
    methods = [c.method for c in plan.calls]
    assert "CheckConfig" in methods
    assert "DiffConfig" not in methods
    engine.destroy()


def test_protect_refuses_deletes_as_the_engine_does(
    engine: Engine, make_goal: MakeGoal, store: Store
) -> None:
    """Recorded under the CLI: no Delete reaches the provider; destroy goes on past it."""
    guarded = replace(make_goal("a", {"name": "a", "size": 1}), protect=True)
    plain = make_goal("b", {"name": "b", "size": 1})
    engine.up([guarded, plain])

    preview = engine.preview([plain])  # the program no longer declares the protected one
    assert preview.error is not None
    assert "cannot be deleted\nbecause it is protected" in str(preview.error)

    with pytest.raises(EngineError) as refused:
        engine.destroy()
    assert refused.value.resource == "a"
    assert [c.name for c in engine.calls if c.method == "Delete"] == ["b"]
    assert [s.name for s in engine.resources] == ["a"]

    engine.up([replace(guarded, protect=False)])
    engine.destroy()
    assert store.objects == {}
