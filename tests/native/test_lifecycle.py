"""Every lifecycle of ``render-kv:index:KeyValue`` through the plugin's gRPC server, as the
engine drives it, against the emulator: what the dynamic resource does, and what only a real
provider can (detailed diffs, warnings on the resource, import, a partial create)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from acceptance.conftest import API_KEY, made_outside, provider_env
from google.protobuf import empty_pb2
from pulumi.runtime.proto import provider_pb2

from pulumi_render_kv.client import (
    CidrBlockAndDescription,
    ClientLimits,
    KeyValuePATCHInput,
    KeyValueSummary,
    RenderClient,
    RenderSettings,
)
from pulumi_render_kv.emulator import Emulator, EmulatorSettings, RateLimitSettings

from .harness import (
    NativeEngine,
    NativePlugin,
    Plugins,
    ProviderError,
    detailed,
    is_secret,
    plain,
    reveal,
    secret,
    secret_paths,
    struct,
    urn,
)

UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"

CACHE = {"name": "cache", "plan": "starter", "workload": "cache"}
SECRETS = {"internalConnectionString", "externalConnectionString", "cliCommand"}


def test_the_plugin_answers_the_engines_first_calls(plugin: NativePlugin) -> None:
    hand = plugin.call("Handshake", provider_pb2.ProviderHandshakeRequest(engine_address="x"))
    assert hand.accept_secrets
    assert plugin.call("GetPluginInfo", empty_pb2.Empty()).version == "0.1.0"
    schema = json.loads(plugin.call("GetSchema", provider_pb2.GetSchemaRequest()).schema)
    assert schema["name"] == "render-kv"
    assert set(schema["resources"]) == {"render-kv:index:KeyValue"}
    configured = plugin.call(
        "Configure",
        provider_pb2.ConfigureRequest(args=struct({"apiKey": secret("k")}), acceptSecrets=True),
    )
    assert configured.acceptSecrets
    assert configured.supportsPreview
    plugin.call("Cancel", empty_pb2.Empty())


def test_check_config_keeps_the_api_key_secret(plugin: NativePlugin) -> None:
    checked = plugin.call(
        "CheckConfig",
        provider_pb2.CheckRequest(urn="urn:x", olds=struct({}), news=struct({"apiKey": "k"})),
    )
    assert secret_paths(plain(checked.inputs)) == {"apiKey"}


def test_preview_calls_no_api(engine: NativeEngine, emu: Emulator) -> None:
    step = engine.preview("cache", CACHE)
    assert step.op == "create"
    assert emu.request_counts() == {}


def test_preview_creates_and_updates_answer_planned_outputs_without_a_call(
    engine: NativeEngine, emu: Emulator
) -> None:
    """The engine calls Create/Update with preview=True on a provider that handshakes."""
    engine.command()
    checked = plain(engine.check("cache", {}, CACHE).inputs)
    planned = engine.plugin.call(  # type: ignore[union-attr]
        "Create",
        provider_pb2.CreateRequest(urn=urn("cache"), properties=struct(checked), preview=True),
    )
    outputs = plain(planned.properties)
    assert planned.id == ""
    assert reveal(outputs)["plan"] == "starter"
    assert reveal(outputs)["internalConnectionString"] == UNKNOWN
    assert "internalConnectionString" in secret_paths(outputs)
    assert emu.request_counts() == {}
    engine.up("cache", CACHE)
    old = engine.state["cache"]
    emu.clear_requests()
    engine.command()
    news = {**old.inputs, "maxmemoryPolicy": "allkeys_lfu"}
    planned = engine.plugin.call(  # type: ignore[union-attr]
        "Update",
        provider_pb2.UpdateRequest(
            id=old.id, urn=urn("cache"), olds=struct(old.outputs), news=struct(news), preview=True
        ),
    )
    assert reveal(plain(planned.properties))["maxmemoryPolicy"] == "allkeys_lfu"
    assert reveal(plain(planned.properties))["host"] == reveal(old.outputs)["host"]
    assert emu.request_counts() == {}


def test_create_then_a_no_op_diff(engine: NativeEngine, emu: Emulator) -> None:
    assert engine.up("cache", CACHE).op == "create"
    state = engine.state["cache"]
    assert state.id.startswith("red-")
    assert secret_paths(state.outputs) >= SECRETS
    assert reveal(state.outputs)["status"] == "available"
    assert isinstance(reveal(state.outputs)["port"], float)
    emu.clear_requests()
    again = engine.up("cache", CACHE)
    assert again.op == "same"
    assert again.diff is not None
    assert not again.diff.detailedDiff
    assert emu.request_counts() == {}


def test_a_restarting_change_is_an_update_with_its_warning_on_the_resource(
    engine: NativeEngine, plugins: Plugins
) -> None:
    engine.up("cache", CACHE)
    step = engine.preview("cache", {**CACHE, "maxmemoryPolicy": "allkeys_lfu"})
    assert step.op == "update"
    assert step.diff is not None
    assert detailed(step.diff) == {"maxmemoryPolicy": "UPDATE"}
    assert list(step.diff.diffs) == ["maxmemoryPolicy"]
    [warning] = [w for w in plugins.engine.warnings("cache") if "restarts" in w]
    assert "maxmemoryPolicy 'allkeys_lru' → 'allkeys_lfu' restarts the instance" in warning
    assert not warning.startswith("warning: KeyValue")  # the engine names the resource itself
    engine.up("cache", {**CACHE, "maxmemoryPolicy": "allkeys_lfu"})
    assert reveal(engine.state["cache"].outputs)["maxmemoryPolicy"] == "allkeys_lfu"


def test_the_allow_list_compares_as_a_set_and_names_the_added_entry(engine: NativeEngine) -> None:
    office = {"cidrBlock": "203.0.113.0/24", "description": "office"}
    home = {"cidrBlock": "198.51.100.7/32", "description": "home"}
    vpn = {"cidrBlock": "192.0.2.0/24", "description": "vpn"}
    engine.up("cache", {**CACHE, "ipAllowList": [office, home]})
    assert engine.preview("cache", {**CACHE, "ipAllowList": [home, office]}).op == "same"
    step = engine.preview("cache", {**CACHE, "ipAllowList": [home, vpn, office]})
    assert step.diff is not None
    assert detailed(step.diff) == {"ipAllowList[1]": "ADD"}
    step = engine.preview("cache", {**CACHE, "ipAllowList": [office]})
    assert step.diff is not None
    assert detailed(step.diff) == {"ipAllowList[1]": "DELETE"}


def test_a_region_change_needs_consent_then_replaces(engine: NativeEngine, emu: Emulator) -> None:
    engine.up("cache", CACHE)
    old_id = engine.state["cache"].id
    refused = engine.preview("cache", {**CACHE, "region": "frankfurt"})
    assert refused.op == "failed"
    [failure] = refused.failures
    assert failure.property == "region"
    assert "allow_data_loss=True" in failure.reason
    step = engine.up("cache", {**CACHE, "region": "frankfurt", "allowDataLoss": True})
    assert step.op == "replace"
    assert step.diff is not None
    assert detailed(step.diff)["region"] == "UPDATE_REPLACE"
    assert list(step.diff.replaces) == ["region"]
    assert engine.state["cache"].id != old_id
    assert [kv.id for kv in live_instances(emu)] == [engine.state["cache"].id]


def live_instances(emu: Emulator) -> list[KeyValueSummary]:
    settings = RenderSettings.resolve(
        api_key=API_KEY, owner_id=emu.owner_id, base_url=emu.url, limits=ClientLimits.off()
    )
    with RenderClient(settings) as client:
        return list(client.list_key_value(owner_id=emu.owner_id))


def test_an_open_allow_list_and_a_suspension_warn_on_the_resource(
    engine: NativeEngine, plugins: Plugins
) -> None:
    engine.preview("cache", {**CACHE, "ipAllowList": [{"cidrBlock": "0.0.0.0/0"}]})
    assert any("admits the whole internet" in w for w in plugins.engine.warnings("cache"))
    engine.preview("other", {**CACHE, "name": "other", "suspended": True})
    assert any("refuses every connection" in w for w in plugins.engine.warnings("other"))
    assert not any("refuses every connection" in w for w in plugins.engine.warnings("cache"))


def test_refresh_records_drift_then_preview_shows_it(
    engine: NativeEngine, dashboard: RenderClient
) -> None:
    engine.up("cache", CACHE)
    instance_id = engine.state["cache"].id
    dashboard.update_key_value(instance_id, KeyValuePATCHInput(maxmemory_policy="allkeys_lfu"))
    engine.refresh("cache")
    assert engine.state["cache"].inputs["maxmemoryPolicy"] == "allkeys_lfu"
    step = engine.preview("cache", CACHE)
    assert step.diff is not None
    assert detailed(step.diff) == {"maxmemoryPolicy": "UPDATE"}


def test_refresh_of_an_instance_deleted_outside_drops_it(
    engine: NativeEngine, dashboard: RenderClient
) -> None:
    engine.up("cache", CACHE)
    dashboard.delete_key_value(engine.state["cache"].id)
    assert engine.refresh("cache").op == "refresh-delete"
    assert "cache" not in engine.state


def test_import_reads_the_instance_back_as_inputs_and_the_next_preview_is_a_no_op(
    engine: NativeEngine, dashboard: RenderClient, emu: Emulator
) -> None:
    made = made_outside(dashboard, emu, "legacy", maxmemory_policy="allkeys_lru")
    step = engine.import_("legacy", made.id)
    assert step.op == "import", step.failures
    inputs = engine.state["legacy"].inputs
    assert (inputs["name"], inputs["plan"], inputs["maxmemoryPolicy"]) == (
        "legacy",
        "starter",
        "allkeys_lru",
    )
    # The program `pulumi import` prints declares what was read: nothing to change.
    program = {k: v for k, v in reveal(inputs).items() if v not in (False, [], None)}
    emu.clear_requests()
    assert engine.preview("legacy", program).op == "same"
    assert emu.request_counts() == {}


def test_import_refuses_an_instance_the_resource_would_never_accept(
    engine: NativeEngine, dashboard: RenderClient, emu: Emulator
) -> None:
    # Host bits set in the Dashboard: Render keeps 10.0.0.1/8, the resource never would.
    odd = CidrBlockAndDescription(cidr_block="10.0.0.1/8", description="set by hand")
    made = made_outside(dashboard, emu, "odd", ip_allow_list=[odd])
    step = engine.import_("odd", made.id)
    assert step.op == "failed"
    [failure] = step.failures
    assert "did you mean 10.0.0.0/8?" in failure.reason
    assert "odd" not in engine.state
    with pytest.raises(ProviderError) as raised:
        engine.import_("missing", "red-doesnotexist00000000")
    assert "does not exist" in raised.value.message


def test_delete_removes_the_instance_and_a_protected_one_is_refused_in_one_line(
    engine: NativeEngine, emu: Emulator
) -> None:
    engine.up("cache", CACHE)
    engine.up("kept", {**CACHE, "name": "kept", "deletionProtection": True})
    engine.delete("cache")
    with pytest.raises(ProviderError) as raised:
        engine.delete("kept")
    message = raised.value.message
    assert "deletion_protection=True" in message
    assert (
        "pulumi state delete 'urn:pulumi:dev::native-test::render-kv:index:KeyValue::kept'"
        in message
    )
    assert "Traceback" not in message
    assert len(live_instances(emu)) == 1


def test_a_create_that_is_not_ready_in_time_is_recorded_and_the_next_up_finishes_it(
    tmp_path: Path,
) -> None:
    settings = EmulatorSettings(
        port=0, data_plane=False, create_delay=2.5, rate_limits=RateLimitSettings.unlimited()
    )
    with Emulator(settings) as emu, Plugins(provider_env(emu), tmp_path / "e.log") as plugins:
        engine = NativeEngine(plugins)
        with pytest.raises(ProviderError) as raised:
            engine.up("cache", {**CACHE, "waitTimeout": 1})
        failed = raised.value.init_failed
        assert failed is not None, raised.value
        assert failed.id.startswith("red-")
        assert "wait_timeout" in failed.reasons[0]
        assert "Traceback" not in failed.reasons[0]
        recorded = engine.state["cache"]
        assert recorded.id == failed.id
        assert recorded.init_errors
        assert "internalConnectionString" not in recorded.outputs
        # The engine's next `up` sends an Update for the init error: it waits, then records
        # everything; the instance is the same one, never a second.
        engine.continue_init("cache", {**CACHE, "waitTimeout": 60})
        outputs = reveal(engine.state["cache"].outputs)
        assert outputs["status"] == "available"
        assert outputs["internalConnectionString"].startswith("redis://")
        assert [kv.id for kv in live_instances(emu)] == [failed.id]


def test_get_key_value_finds_by_name_and_by_id(engine: NativeEngine) -> None:
    engine.up("cache", CACHE)
    instance_id = engine.state["cache"].id
    by_name = plain(getattr(engine.invoke({"name": "cache"}), "return"))
    by_id = plain(getattr(engine.invoke({"id": instance_id}), "return"))
    assert by_name == by_id
    assert by_name["id"] == instance_id
    assert by_name["plan"] == "starter"
    assert not secret_paths(by_name)
    both = engine.invoke({"name": "cache", "id": instance_id})
    assert [f.reason for f in both.failures] == ["give exactly one of id, name"]
    with pytest.raises(ProviderError) as raised:
        engine.invoke({"name": "nothing-here"})
    assert "no Key Value named 'nothing-here'" in raised.value.message


def test_the_log_stream_token_is_a_secret_output(engine: NativeEngine) -> None:
    stream = {"setting": "send", "endpoint": "logs.example.com:6514", "token": secret("tok-123")}
    engine.up("cache", {**CACHE, "logStream": stream})
    outputs = engine.state["cache"].outputs
    assert "logStream.token" in secret_paths(outputs)
    assert reveal(outputs)["logStream"]["token"] == "tok-123"
    assert not is_secret(outputs["logStream"])
