"""The KeyValue resource's whole lifecycle, driven over gRPC as the CLI drives it.

Each test is a sequence of steps (up → checks → preview shows nothing → change → checks),
against the emulator, whose instances are real servers.
"""

from __future__ import annotations

import base64
import dataclasses
import json

import pulumi
import pytest
import redis

import pulumi_render_kv as render_kv
from pulumi_render_kv.client import KeyValuePATCHInput, KeyValuePOSTInput, RenderClient
from pulumi_render_kv.emulator import Emulator
from pulumi_render_kv.testing import (
    Engine,
    EngineError,
    ProviderServer,
    StepResult,
    run_program,
    secret,
)

from .conftest import API_KEY, key_value_program, writes

pytestmark = [pytest.mark.grpc, pytest.mark.dataplane]

CACHE = {"plan": "starter", "workload": "cache"}
SECRET_OUTPUTS = {"internalConnectionString", "externalConnectionString", "cliCommand"}


def test_preview_of_a_new_instance_calls_no_api(engine: Engine, emu: Emulator) -> None:
    """Preview: Check only, unknown outputs, not a single request to Render."""
    plan = engine.preview(key_value_program(**CACHE))
    assert plan.ok, plan.error
    assert plan.ops == {"cache": "create"}
    assert emu.request_counts() == {}
    assert not engine.resources


def test_preview_with_unknown_inputs(engine: Engine, emu: Emulator) -> None:
    """An input that depends on another resource's output is unknown in preview, and fine."""

    def program() -> None:
        primary = render_kv.KeyValue("primary", **CACHE)
        render_kv.KeyValue("replica", name=primary.id.apply(lambda i: f"{i}-replica"), **CACHE)

    plan = engine.preview(program)
    assert plan.ok, plan.error
    assert plan.ops == {"primary": "create", "replica": "create"}
    assert plan.failures == ()
    assert emu.request_counts() == {}


def test_create_connects_and_keeps_secrets_secret(engine: Engine, emu: Emulator) -> None:
    """Create waits for available; the exported URL really connects; secrets stay secret."""
    engine.up(key_value_program(**CACHE))
    state = engine.resource("cache")
    outs = state.outputs
    assert state.id.startswith("red-")
    assert outs["status"] == "available"
    assert outs["maxmemoryPolicy"] == "allkeys_lru"
    assert outs["ipAllowList"] == []
    assert outs["ownerId"] == emu.owner_id
    assert state.secret_outputs >= SECRET_OUTPUTS
    assert "url" in engine.stack_outputs
    client = redis.Redis.from_url(outs["internalConnectionString"])
    try:
        client.set("greeting", "hello")
        assert client.get("greeting") == b"hello"
        assert client.config_get("maxmemory-policy") == {"maxmemory-policy": "allkeys-lru"}
    finally:
        client.close()
    checkpoint = engine.state_json()
    assert outs["externalConnectionString"] not in checkpoint
    assert outs["internalConnectionString"] not in checkpoint
    assert API_KEY not in checkpoint


def test_no_op_up_makes_no_api_call(engine: Engine, emu: Emulator) -> None:
    """A second `pulumi up` with the same program: same, no Update, no request at all."""
    engine.up(key_value_program(**CACHE))
    emu.clear_requests()
    plan = engine.up(key_value_program(**CACHE))
    assert plan.ops == {"cache": "same"}
    assert "Update" not in plan.calls_for("cache")
    assert emu.request_counts() == {}


@pytest.mark.parametrize(
    ("change", "prop", "expected", "restart"),
    [
        ({"name": "cache-renamed"}, "name", "cache-renamed", False),
        (
            {
                "ip_allow_list": [
                    render_kv.IpAllowEntry(cidr_block="203.0.113.9", description="vpn")
                ]
            },
            "ipAllowList",
            [{"cidrBlock": "203.0.113.9/32", "description": "vpn"}],
            False,
        ),
        ({"plan": "standard"}, "plan", "standard", True),
        ({"maxmemory_policy": "allkeys-lfu"}, "maxmemoryPolicy", "allkeys_lfu", True),
        ({"persistence_mode": "snapshot"}, "persistenceMode", "snapshot", True),
    ],
)
def test_in_place_update(
    engine: Engine,
    emu: Emulator,
    dashboard: RenderClient,
    change: dict[str, object],
    prop: str,
    expected: object,
    restart: bool,
) -> None:
    """Each patchable property changes in place with one PATCH, and says if it restarts."""
    engine.up(key_value_program(**CACHE))
    before = engine.resource("cache").id
    emu.clear_requests()
    preview = engine.preview(key_value_program(**{**CACHE, **change}))
    assert preview.ops == {"cache": "update"}
    assert emu.request_counts() == {}
    assert any("restarts the instance" in line for line in preview.stderr) is restart
    plan = engine.up(key_value_program(**{**CACHE, **change}))
    assert plan.ops == {"cache": "update"}
    assert engine.resource("cache").id == before
    assert engine.resource("cache").outputs[prop] == expected
    assert emu.request_counts().get("PATCH") == 1
    assert emu.request_counts().get("POST") is None
    live = dashboard.retrieve_key_value(before)
    assert live.status == "available"
    assert engine.preview(key_value_program(**{**CACHE, **change})).ops == {"cache": "same"}


def test_environment_move(engine: Engine, emu: Emulator, dashboard: RenderClient) -> None:
    """environment_id moves the instance through the environments API, no PATCH."""
    env = emu.add_environment("production")
    engine.up(key_value_program(**CACHE))
    emu.clear_requests()
    engine.up(key_value_program(**CACHE, environment_id=env))
    kv_id = engine.resource("cache").id
    assert dashboard.retrieve_key_value(kv_id).environment_id == env
    assert emu.request_counts().get("PATCH") is None
    engine.up(key_value_program(**CACHE))
    assert dashboard.retrieve_key_value(kv_id).environment_id is None


def test_downgrade_is_refused_at_preview(engine: Engine, emu: Emulator) -> None:
    """pro → starter fails at check, naming both plans; nothing is sent to Render."""
    engine.up(key_value_program(plan="pro", workload="cache"))
    emu.clear_requests()
    plan = engine.preview(key_value_program(**CACHE))
    [failure] = plan.failures
    assert failure.property == "plan"
    assert "from 'pro' to 'starter'" in failure.reason
    with pytest.raises(EngineError):
        engine.up(key_value_program(**CACHE))
    assert writes(emu) == 0
    assert engine.resource("cache").outputs["plan"] == "pro"


def test_free_to_paid_needs_consent_and_loses_data(engine: Engine, emu: Emulator) -> None:
    """free → starter is refused without allow_data_loss, and wipes the data with it."""
    engine.up(key_value_program(plan="free", workload="cache"))
    url = engine.resource("cache").outputs["internalConnectionString"]
    with redis.Redis.from_url(url) as client:
        client.set("k", "v")
    refused = engine.preview(key_value_program(**CACHE))
    assert "deletes all data" in refused.failures[0].reason
    engine.up(key_value_program(**CACHE, allow_data_loss=True))
    outs = engine.resource("cache").outputs
    assert (outs["plan"], outs["persistenceMode"]) == ("starter", "journal_snapshot")
    with redis.Redis.from_url(outs["internalConnectionString"]) as client:
        assert client.get("k") is None


def test_free_to_paid_keeps_an_explicit_persistence_off(
    engine: Engine, dashboard: RenderClient
) -> None:
    """Render turns persistence on when an instance leaves free, unless the PATCH says 'off'.

    One up makes the change; refresh then finds Render and the state agreeing, and the next
    preview has nothing to do (no restart to put 'off' back).
    """
    engine.up(key_value_program(plan="free", workload="cache", persistence_mode="off"))
    paid = {"plan": "starter", "workload": "cache", "persistence_mode": "off"}
    assert engine.up(key_value_program(**paid, allow_data_loss=True)).ops == {"cache": "update"}
    assert engine.refresh().ops == {"cache": "same"}
    assert engine.preview(key_value_program(**paid, allow_data_loss=True)).ops == {"cache": "same"}
    live = dashboard.retrieve_key_value(engine.resource("cache").id)
    assert (live.plan, live.options.persistence_mode) == ("starter", "off")


def test_region_change_replaces_create_before_delete(
    engine: Engine, emu: Emulator, dashboard: RenderClient
) -> None:
    """A region change is refused without consent; with it, a new instance, then the old goes."""
    engine.up(key_value_program(**CACHE))
    old_id = engine.resource("cache").id
    reason = engine.preview(key_value_program(**CACHE, region="ohio")).failures[0].reason
    assert "allow_data_loss=True" in reason
    # Pulumi replaces it, not Render: Render has no region change at all.
    assert "Pulumi would replace it" in reason
    assert "Render would" not in reason
    plan = engine.up(key_value_program(**CACHE, region="ohio", allow_data_loss=True))
    assert plan.ops == {"cache": "replace"}
    calls = plan.calls_for("cache")
    assert calls.index("Create") < calls.index("Delete")
    new = engine.resource("cache")
    assert new.id != old_id
    assert new.outputs["region"] == "ohio"
    assert [kv.id for kv in dashboard.list_key_value()] == [new.id]


def test_refresh_shows_dashboard_drift_and_up_corrects_it(
    engine: Engine, dashboard: RenderClient
) -> None:
    """An out-of-band policy change shows on refresh; the next up puts it back."""
    engine.up(key_value_program(**CACHE))
    kv_id = engine.resource("cache").id
    dashboard.update_key_value(kv_id, KeyValuePATCHInput(maxmemory_policy="volatile_ttl"))
    refresh = engine.refresh()
    assert refresh.ops == {"cache": "update"}
    assert engine.resource("cache").outputs["maxmemoryPolicy"] == "volatile_ttl"
    assert engine.resource("cache").inputs["maxmemoryPolicy"] == "volatile_ttl"
    preview = engine.preview(key_value_program(**CACHE))
    assert preview.ops == {"cache": "update"}
    engine.up(key_value_program(**CACHE))
    assert dashboard.retrieve_key_value(kv_id).options.maxmemory_policy == "allkeys_lru"


def test_refresh_after_out_of_band_delete_drops_it(engine: Engine, dashboard: RenderClient) -> None:
    """Deleted in the Dashboard: refresh removes it from state without error; up recreates."""
    engine.up(key_value_program(**CACHE))
    old_id = engine.resource("cache").id
    dashboard.delete_key_value(old_id)
    plan = engine.refresh()
    assert plan.ok
    assert not engine.has("cache")
    engine.up(key_value_program(**CACHE))
    assert engine.resource("cache").id != old_id


def test_destroy_deletes_everything(engine: Engine, dashboard: RenderClient) -> None:
    """Destroy removes the instance from Render and from state."""
    engine.up(key_value_program(**CACHE))
    engine.destroy()
    assert dashboard.list_key_value() == []
    assert not engine.resources


def test_destroy_of_already_deleted_instance_succeeds(
    engine: Engine, dashboard: RenderClient
) -> None:
    """A 404 on delete counts as done."""
    engine.up(key_value_program(**CACHE))
    dashboard.delete_key_value(engine.resource("cache").id)
    engine.destroy()
    assert not engine.resources


def test_deletion_protection_refuses_destroy(engine: Engine, dashboard: RenderClient) -> None:
    """Protected instances survive destroy until protection is turned off."""
    engine.up(key_value_program(**CACHE, deletion_protection=True))
    # deletion_protection also sets Pulumi's protect: the engine refuses, as the real CLI does.
    with pytest.raises(EngineError, match="because it is protected"):
        engine.destroy()
    assert len(dashboard.list_key_value()) == 1
    plan = engine.up(key_value_program(**CACHE, deletion_protection=False))
    assert plan.ops == {"cache": "update"}
    engine.destroy()
    assert dashboard.list_key_value() == []


def test_adopt_existing_takes_over_without_creating(
    engine: Engine, emu: Emulator, dashboard: RenderClient
) -> None:
    """adopt_existing finds the instance by name, reconciles it, and creates nothing."""
    existing = dashboard.create_key_value(
        KeyValuePOSTInput(
            name="legacy-cache",
            owner_id=emu.owner_id,
            plan="starter",
            region="oregon",
            maxmemory_policy="noeviction",
            ip_allow_list=[],
        )
    )
    emu.clear_requests()
    engine.up(key_value_program("legacy-cache", **CACHE, adopt_existing=True))
    state = engine.resource("legacy-cache")
    assert state.id == existing.id
    assert state.outputs["maxmemoryPolicy"] == "allkeys_lru"
    assert emu.request_counts().get("POST") is None
    assert engine.preview(key_value_program("legacy-cache", **CACHE, adopt_existing=True)).ops == {
        "legacy-cache": "same"
    }


def test_adopt_existing_never_downgrades(
    engine: Engine, emu: Emulator, dashboard: RenderClient
) -> None:
    """Adopting a larger instance with a smaller plan fails and changes nothing."""
    existing = dashboard.create_key_value(
        KeyValuePOSTInput(name="big", owner_id=emu.owner_id, plan="pro", ip_allow_list=[])
    )
    with pytest.raises(EngineError, match="from 'pro' to 'starter'"):
        engine.up(key_value_program("big", **CACHE, adopt_existing=True))
    assert dashboard.retrieve_key_value(existing.id).plan == "pro"


def test_key_value_get_reads_without_managing(
    engine: Engine, dashboard: RenderClient, emu: Emulator
) -> None:
    """KeyValue.get reads an instance by id; destroy leaves it alone; its URL is secret."""
    existing = dashboard.create_key_value(
        KeyValuePOSTInput(name="shared", owner_id=emu.owner_id, plan="starter", ip_allow_list=[])
    )

    def program() -> None:
        kv = render_kv.KeyValue.get("shared", existing.id)
        pulumi.export("url", kv.internal_connection_string)
        pulumi.export("plan", kv.plan)

    engine.up(program)
    state = engine.resource("shared")
    assert state.external
    assert state.outputs["plan"] == "starter"
    assert "internalConnectionString" in state.secret_outputs
    engine.destroy()
    assert dashboard.retrieve_key_value(existing.id).id == existing.id


def test_import_is_not_supported_by_dynamic_resources(
    engine: Engine, dashboard: RenderClient, emu: Emulator
) -> None:
    """`pulumi import` fails for every dynamic resource; adopt_existing is the way in."""
    existing = dashboard.create_key_value(
        KeyValuePOSTInput(name="x", owner_id=emu.owner_id, plan="starter", ip_allow_list=[])
    )
    with pytest.raises(EngineError, match="KeyError: '__provider'"):
        engine.import_("x", render_kv.TYPE_TOKEN, existing.id)
    assert not engine.resources


def test_errors_carry_render_message_and_no_secret(engine: Engine, emu: Emulator) -> None:
    """A failing create ends in one sentence with Render's message and request id."""
    emu.inject_fault("POST", "/v1/key-value", status=400, count=1)
    with pytest.raises(EngineError) as caught:
        engine.up(key_value_program(**CACHE))
    message = str(caught.value)
    assert "Could not create Key Value 'cache'" in message
    assert "400" in message
    assert "(request id emulator/" in message
    assert API_KEY not in message
    assert not engine.resources


def test_the_pickled_provider_is_stable_and_credential_free(engine: Engine) -> None:
    """Two runs store the same __provider; it holds no key and no URL."""
    engine.up(key_value_program(**CACHE))
    first = engine.resource("cache").inputs["__provider"]
    engine.up(key_value_program(**CACHE))
    assert engine.resource("cache").inputs["__provider"] == first
    raw = base64.b64decode(first)
    assert API_KEY.encode() not in raw
    assert b"http" not in raw
    assert b"pulumi_render_kv.provider.provider" in raw
    assert "__provider" in engine.resource("cache").secret_inputs


def test_state_uses_camel_case_and_a_stable_type(engine: Engine) -> None:
    """Property names in state are camelCase; the type token is explicit."""
    engine.up(key_value_program(**CACHE))
    state = engine.resource("cache")
    assert state.type == "pulumi-python:dynamic/render-kv:KeyValue"
    assert {"maxmemoryPolicy", "persistenceMode", "ipAllowList", "dashboardUrl"} <= set(
        state.outputs
    )
    assert not any("_" in key.strip("_") for key in state.outputs)
    json.dumps(state.outputs)


def test_dropping_a_provider_setting_leaves_no_lingering_diff(
    engine: Engine, emu: Emulator
) -> None:
    """workload → the same explicit policy: one provider-only update, then nothing."""
    engine.up(key_value_program(**CACHE))
    emu.clear_requests()
    explicit = {"plan": "starter", "maxmemory_policy": "allkeys_lru"}
    assert engine.up(key_value_program(**explicit)).ops == {"cache": "update"}
    assert writes(emu) == 0
    assert "workload" not in engine.resource("cache").outputs
    assert engine.up(key_value_program(**explicit)).ops == {"cache": "same"}


def test_create_that_fails_after_the_post_says_how_to_adopt(
    engine: Engine, emu: Emulator, dashboard: RenderClient
) -> None:
    """The instance exists though the create failed: the error names it and the way in."""
    emu.inject_fault("GET", "/v1/key-value/*/connection-info", status=403, count=1)
    with pytest.raises(EngineError) as caught:
        engine.up(key_value_program(**CACHE))
    [orphan] = dashboard.list_key_value()
    assert f"{orphan.id} exists but is not in Pulumi's state" in str(caught.value)
    assert f".. {orphan.id}" not in str(caught.value)  # one full stop between sentences
    assert "adopt_existing=True" in str(caught.value)
    engine.up(key_value_program(**CACHE, adopt_existing=True))
    assert engine.resource("cache").id == orphan.id
    assert len(dashboard.list_key_value()) == 1


def test_an_ambiguous_create_hands_over_instead_of_posting_again(
    engine: Engine, emu: Emulator, dashboard: RenderClient
) -> None:
    """A proxy's 502 on POST cannot prove nothing was made: one POST, then CreateIncomplete."""
    emu.inject_fault("POST", "/v1/key-value", status=502, count=1)
    # wait_timeout bounds the lookup after the uncertain POST (90 s by default).
    with pytest.raises(EngineError) as caught:
        engine.up(key_value_program(**CACHE, wait_timeout=2))
    message = str(caught.value)
    assert "CreateIncomplete" in message
    assert "no new instance with that name appeared" in message
    assert "retry later.." not in message  # one full stop, not two
    assert sum(r["method"] == "POST" for r in emu.requests()) == 1
    assert dashboard.list_key_value() == []
    # The way out it names works: nothing exists, so the next up creates the instance.
    engine.up(key_value_program(**CACHE))
    assert len(dashboard.list_key_value()) == 1


def test_a_503_that_made_nothing_is_posted_again_and_the_up_succeeds(
    engine: Engine, emu: Emulator, dashboard: RenderClient
) -> None:
    """Render's own 503 decided before answering: a short look, a second POST, one instance."""
    emu.inject_fault("POST", "/v1/key-value", status=503, count=1)
    engine.up(key_value_program(**CACHE))
    assert [kv.id for kv in dashboard.list_key_value()] == [engine.resource("cache").id]
    assert [r["status"] for r in emu.requests() if r["method"] == "POST"] == [503, 201]


def test_adoption_that_finds_several_instances_names_them(
    engine: Engine, emu: Emulator, dashboard: RenderClient
) -> None:
    """Two instances with the adopted name: nothing is taken over, both ids are named."""
    twins = [
        dashboard.create_key_value(
            KeyValuePOSTInput(name="twin", owner_id=emu.owner_id, plan="starter", ip_allow_list=[])
        )
        for _ in range(2)
    ]
    with pytest.raises(EngineError) as caught:
        engine.up(key_value_program("twin", **CACHE, adopt_existing=True))
    message = str(caught.value)
    assert "found 2 Key Value instances named 'twin'" in message
    assert all(kv.id in message for kv in twins)
    assert not engine.has("twin")
    assert len(dashboard.list_key_value()) == 2


def test_failed_wait_after_adoption_does_not_ask_for_adopt_existing_again(
    engine: Engine, emu: Emulator, dashboard: RenderClient
) -> None:
    """adopt_existing is already set: the message says to run up again, not to set it."""
    existing = dashboard.create_key_value(
        KeyValuePOSTInput(name="legacy", owner_id=emu.owner_id, plan="starter", ip_allow_list=[])
    )
    emu.inject_fault("GET", "/v1/key-value/*/connection-info", status=403, count=1)
    with pytest.raises(EngineError) as caught:
        engine.up(key_value_program("legacy", **CACHE, adopt_existing=True))
    message = str(caught.value)
    assert f"{existing.id} exists but is not in Pulumi's state" in message
    assert "set adopt_existing=True" not in message
    assert "run `pulumi up` again" in message
    engine.up(key_value_program("legacy", **CACHE, adopt_existing=True))
    assert engine.resource("legacy").id == existing.id


@pytest.mark.parametrize(
    ("deletion_protection", "opts", "expected"),
    [
        (True, None, True),  # visible to the engine at preview, not only when delete runs
        (None, None, None),
        (False, None, None),
        (False, pulumi.ResourceOptions(protect=True), True),  # the user's own protect stays
        (True, pulumi.ResourceOptions(protect=False), False),  # an explicit choice wins
        (True, pulumi.ResourceOptions(ignore_changes=["name"]), True),  # merged, not replaced
    ],
)
def test_deletion_protection_sets_pulumi_protect(
    engine: Engine,
    deletion_protection: bool | None,
    opts: pulumi.ResourceOptions | None,
    expected: bool | None,
) -> None:
    """The harness does not model `protect`: check what the SDK would send the engine."""
    made: list[render_kv.KeyValue] = []

    def program() -> None:
        made.append(
            render_kv.KeyValue("cache", **CACHE, deletion_protection=deletion_protection, opts=opts)
        )

    assert engine.preview(program).ok
    assert made[0]._protect is expected  # RegisterResourceRequest.protect


def test_renaming_a_free_instances_resource_names_aliases(
    engine: Engine, emu: Emulator, dashboard: RenderClient
) -> None:
    """Rename = create new, then delete old: the same name is taken, and the message says alias."""
    free = {"plan": "free", "workload": "cache"}
    engine.up(key_value_program("cache", name="cache", **free))
    old_id = engine.resource("cache").id
    with pytest.raises(EngineError) as caught:
        engine.up(key_value_program("renamed", name="cache", **free))
    message = str(caught.value)
    assert "NameTaken" in message
    assert old_id in message
    assert "aliases" in message
    assert [kv.id for kv in dashboard.list_key_value()] == [old_id]
    # Renamed and given a new Render name: Render's one free instance per workspace refuses.
    with pytest.raises(EngineError) as caught:
        engine.up(key_value_program("renamed", name="cache-v2", **free))
    message = str(caught.value)
    assert "one free Key Value instance per workspace" in message
    assert old_id in message
    assert "aliases" in message
    assert "free instance.." not in message
    assert [kv.id for kv in dashboard.list_key_value()] == [old_id]


def test_a_dashboard_plan_upgrade_is_refused_not_put_back(
    engine: Engine, dashboard: RenderClient
) -> None:
    """Drift to a bigger plan cannot be undone (a downgrade): preview says so, as README does."""
    engine.up(key_value_program(**CACHE))
    dashboard.update_key_value(engine.resource("cache").id, KeyValuePATCHInput(plan="pro"))
    assert engine.refresh().ops == {"cache": "update"}
    preview = engine.preview(key_value_program(**CACHE))
    assert preview.error is not None
    assert "from 'pro' to 'starter'" in str(preview.error)
    assert engine.up(key_value_program(plan="pro", workload="cache")).ops == {"cache": "same"}


def test_each_operation_gets_a_fresh_provider_process(
    engine: Engine, server: ProviderServer
) -> None:
    """As under the CLI: nothing cached in the provider process survives to the next command."""
    engine.up(key_value_program(**CACHE))
    first_pid, starts = server.pid, server.starts
    assert engine.preview(key_value_program(**CACHE)).ops == {"cache": "same"}
    assert server.pid != first_pid
    assert server.starts == starts + 1


OFFICE = render_kv.IpAllowEntry(cidr_block="203.0.113.0/24", description="office")
HOME = render_kv.IpAllowEntry(cidr_block="198.51.100.7/32", description="home")
VPN = render_kv.IpAllowEntry(cidr_block="192.0.2.0/24", description="vpn")


def shown_allow_list_diff(step: StepResult) -> list[str]:
    """What `pulumi preview --diff` prints under `ipAllowList`: element by element, by index
    (the display's array diff), as ``~ [i]`` / ``+ [i]`` / ``- [i]``."""
    [change] = [c for c in step.changes if c.key == "ipAllowList"]
    old, new = list(change.old or []), list(change.new or [])
    marks = [f"~ [{i}]" for i in range(min(len(old), len(new))) if old[i] != new[i]]
    marks += [f"+ [{i}]" for i in range(len(old), len(new))]
    marks += [f"- [{i}]" for i in range(len(new), len(old))]
    return marks


def test_an_added_allow_list_entry_shows_as_added_and_a_reorder_as_nothing(
    engine: Engine, emu: Emulator, dashboard: RenderClient
) -> None:
    """Adding one entry to a one-entry list: `+ [1]`, the office entry untouched (it showed
    as `~ [0]` replaced while check sorted the list). Reordering is no change at all."""
    engine.up(key_value_program(**CACHE, ip_allow_list=[OFFICE]))
    preview = engine.preview(key_value_program(**CACHE, ip_allow_list=[OFFICE, HOME]))
    assert preview.ops == {"cache": "update"}
    assert shown_allow_list_diff(preview.step("cache")) == ["+ [1]"]
    engine.up(key_value_program(**CACHE, ip_allow_list=[OFFICE, HOME]))
    kv_id = engine.resource("cache").id
    assert {e.cidr_block for e in dashboard.retrieve_key_value(kv_id).ip_allow_list} == {
        OFFICE.cidr_block,
        HOME.cidr_block,
    }

    emu.clear_requests()
    reordered = engine.up(key_value_program(**CACHE, ip_allow_list=[HOME, OFFICE, HOME]))
    assert reordered.ops == {"cache": "same"}
    assert emu.request_counts() == {}
    assert engine.refresh().ops == {"cache": "same"}
    assert engine.preview(key_value_program(**CACHE, ip_allow_list=[HOME, OFFICE])).ops == {
        "cache": "same"
    }
    # A changed description is a change.
    relabelled = render_kv.IpAllowEntry(cidr_block=HOME.cidr_block, description="home office")
    preview = engine.preview(key_value_program(**CACHE, ip_allow_list=[OFFICE, relabelled]))
    assert preview.ops == {"cache": "update"}


def test_refresh_keeps_the_recorded_order_of_the_allow_list(
    engine: Engine, dashboard: RenderClient
) -> None:
    """Render lists the entries in its own order (here: reordered in the Dashboard). Refresh
    keeps the program's order for them, so the next added entry still shows as `+ [2]` alone,
    not as every entry changed."""
    engine.up(key_value_program(**CACHE, ip_allow_list=[OFFICE, HOME]))
    kv_id = engine.resource("cache").id
    reversed_entries = [
        {"cidrBlock": e.cidr_block, "description": e.description} for e in (HOME, OFFICE)
    ]
    dashboard.update_key_value(
        kv_id, KeyValuePATCHInput.model_validate({"ipAllowList": reversed_entries})
    )
    assert engine.refresh().ops == {"cache": "same"}
    preview = engine.preview(key_value_program(**CACHE, ip_allow_list=[OFFICE, HOME, VPN]))
    assert shown_allow_list_diff(preview.step("cache")) == ["+ [2]"]
    # An entry added in the Dashboard is drift; the recorded ones keep their places.
    dashboard.update_key_value(
        kv_id,
        KeyValuePATCHInput.model_validate(
            {
                "ipAllowList": [
                    {"cidrBlock": VPN.cidr_block, "description": "vpn"},
                    *reversed_entries,
                ]
            }
        ),
    )
    assert engine.refresh().ops == {"cache": "update"}
    preview = engine.preview(key_value_program(**CACHE, ip_allow_list=[OFFICE, HOME]))
    assert shown_allow_list_diff(preview.step("cache")) == ["- [2]"]


def test_get_key_value_suggests_region_only_when_it_would_help(
    engine: Engine, emu: Emulator, dashboard: RenderClient
) -> None:
    """Namesakes in one region: passing region= (again) cannot tell them apart; an id can."""
    for region in ("oregon", "oregon", "ohio"):
        dashboard.create_key_value(
            KeyValuePOSTInput(
                name="twin", owner_id=emu.owner_id, plan="starter", region=region, ip_allow_list=[]
            )
        )
    config = {
        "render:apiKey": secret(API_KEY),
        "render:apiUrl": emu.url,
        "render:ownerId": emu.owner_id,
    }
    messages: dict[str, str] = {}

    def program() -> None:
        for region in ("oregon", None):
            try:
                render_kv.get_key_value(name="twin", region=region)
            except render_kv.LookupFailed as err:
                messages[str(region)] = str(err)

    run_program(program, engine, preview=True, config=config)
    assert "2 Key Value instances are named 'twin'" in messages["oregon"]
    assert "pass region=" not in messages["oregon"]
    assert "KeyValue.get" in messages["oregon"]
    assert "3 Key Value instances are named 'twin'" in messages["None"]
    assert "pass region=" in messages["None"]


def state_unprotect(engine: Engine, name: str) -> None:
    """`pulumi state unprotect <urn>`: the engine's state only, no provider call."""
    old = engine.resource(name)
    engine.state.put(dataclasses.replace(old, protect=False), replacing=old)


def state_delete(engine: Engine, name: str) -> None:
    """`pulumi state delete <urn>`: the resource leaves the state; Render keeps the instance."""
    engine.state.remove(engine.resource(name))


def nothing() -> None:
    """A program that no longer declares the instance."""


def test_removing_a_protected_instance_deletes_it_after_state_unprotect(
    engine: Engine, dashboard: RenderClient
) -> None:
    """The engine's own way out, as written: `pulumi state unprotect '<urn>'`, then `up`.

    deletion_protection=True set Pulumi's protect, so the engine refused; taking protect off
    in the state is the user's consent, and the next up deletes the instance (it used to
    fail with DeletionProtected saying to set deletion_protection=False in code that was
    already removed).
    """
    engine.up(key_value_program(**CACHE, deletion_protection=True))
    urn = engine.resource("cache").urn
    with pytest.raises(EngineError) as refused:
        engine.up(nothing)
    assert f"`pulumi state unprotect '{urn}'`" in str(refused.value)
    assert len(dashboard.list_key_value()) == 1
    state_unprotect(engine, "cache")
    assert engine.preview(nothing).ops == {"cache": "delete"}
    assert engine.up(nothing).ops == {"cache": "delete"}
    assert dashboard.list_key_value() == []
    assert not engine.resources


def test_pulumi_destroy_after_state_unprotect_deletes_a_protected_instance(
    engine: Engine, dashboard: RenderClient
) -> None:
    engine.up(key_value_program(**CACHE, deletion_protection=True))
    with pytest.raises(EngineError, match="pulumi state unprotect"):
        engine.destroy()
    state_unprotect(engine, "cache")
    engine.destroy()
    assert dashboard.list_key_value() == []


# deletion_protection=True without Pulumi's protect: the provider's own refusal is the guard.
UNGUARDED = {**CACHE, "deletion_protection": True, "opts": pulumi.ResourceOptions(protect=False)}


@pytest.mark.parametrize("way_out", ["keep the instance", "delete it"])
def test_a_refused_delete_names_both_ways_out_and_each_works_as_written(
    engine: Engine, dashboard: RenderClient, way_out: str
) -> None:
    engine.up(key_value_program(**UNGUARDED))
    kv_id, urn = engine.resource("cache").id, engine.resource("cache").urn
    with pytest.raises(EngineError) as refused:
        engine.up(nothing)
    message = str(refused.value)
    assert "DeletionProtected" in message
    assert f"`pulumi state delete '{urn}'`" in message
    assert "deletion_protection=False" in message
    assert "Traceback" not in message
    assert [kv.id for kv in dashboard.list_key_value()] == [kv_id]
    if way_out == "keep the instance":
        state_delete(engine, "cache")
        assert engine.up(nothing).ops == {}
        assert [kv.id for kv in dashboard.list_key_value()] == [kv_id]
    else:
        # Declared again with deletion_protection=False: an update, then the removal deletes.
        back = {**UNGUARDED, "deletion_protection": False}
        assert engine.up(key_value_program(**back)).ops == {"cache": "update"}
        assert engine.up(nothing).ops == {"cache": "delete"}
        assert dashboard.list_key_value() == []


def test_protect_overridden_in_a_later_up_is_recorded(
    engine: Engine, dashboard: RenderClient
) -> None:
    """Whether KeyValue set protect is part of the state the next delete reads: an up that
    only drops protect (opts protect=False) records it, so the provider still refuses."""
    engine.up(key_value_program(**CACHE, deletion_protection=True))
    assert engine.up(key_value_program(**UNGUARDED)).ops == {"cache": "update"}
    with pytest.raises(EngineError, match="DeletionProtected"):
        engine.up(nothing)
    assert len(dashboard.list_key_value()) == 1
