"""``suspended``: suspend and resume through the provider, against real emulated servers.

A suspended instance's server is stopped (every connection refused) and started again on
resume with its data; a suspension made in the Dashboard shows on refresh; PATCHes Render
would refuse while suspended are ordered after the resume, or refused at preview.
"""

from __future__ import annotations

from dataclasses import replace

import pytest
import redis

import pulumi_render_kv as render_kv
from pulumi_render_kv.client import RenderClient
from pulumi_render_kv.emulator import Emulator
from pulumi_render_kv.testing import Engine, EngineError

from .conftest import key_value_program, made_outside, writes

pytestmark = [pytest.mark.grpc, pytest.mark.dataplane]

# A queue persists (journal_snapshot), so its data survives the server's stop and start.
QUEUE = {"plan": "starter", "workload": "queue"}


def _connect(url: str) -> redis.Redis:
    return redis.Redis.from_url(url, socket_connect_timeout=2, socket_timeout=2)


def _api_calls(emu: Emulator) -> list[str]:
    """``METHOD last-path-segment`` of every request since the log was cleared."""
    return [f"{r['method']} {r['path'].rsplit('/', 1)[-1]}" for r in emu.requests()]


def test_suspend_refuses_connections_keeps_data_and_resume_brings_it_back(
    engine: Engine, emu: Emulator, dashboard: RenderClient
) -> None:
    engine.up(key_value_program(**QUEUE))
    kv_id = engine.resource("cache").id
    client = _connect(engine.resource("cache").outputs["internalConnectionString"])
    client.set("job:1", "payload")
    client.close()

    emu.clear_requests()
    preview = engine.preview(key_value_program(**QUEUE, suspended=True))
    assert preview.ops == {"cache": "update"}
    assert emu.request_counts() == {}
    assert any("refuses every connection" in line for line in preview.stderr)

    engine.up(key_value_program(**QUEUE, suspended=True))
    state = engine.resource("cache")
    assert (state.outputs["status"], state.inputs["suspended"]) == ("suspended", True)
    assert dashboard.retrieve_key_value(kv_id).status == "suspended"
    with pytest.raises(redis.ConnectionError):
        _connect(state.outputs["internalConnectionString"]).ping()
    assert engine.preview(key_value_program(**QUEUE, suspended=True)).ops == {"cache": "same"}

    emu.clear_requests()
    engine.up(key_value_program(**QUEUE))
    state = engine.resource("cache")
    assert (state.outputs["status"], state.inputs["suspended"]) == ("available", False)
    assert "POST resume" in _api_calls(emu)
    client = _connect(state.outputs["internalConnectionString"])
    try:
        assert client.get("job:1") == b"payload"
    finally:
        client.close()
    assert engine.preview(key_value_program(**QUEUE)).ops == {"cache": "same"}


def test_create_suspended_creates_then_suspends(engine: Engine, emu: Emulator) -> None:
    preview = engine.preview(key_value_program(**QUEUE, suspended=True))
    assert any("refuses every connection" in line for line in preview.stderr)
    emu.clear_requests()
    engine.up(key_value_program(**QUEUE, suspended=True))
    calls = _api_calls(emu)
    assert calls.index("POST key-value") < calls.index("POST suspend")
    assert engine.resource("cache").outputs["status"] == "suspended"
    assert engine.preview(key_value_program(**QUEUE, suspended=True)).ops == {"cache": "same"}


def test_a_dashboard_suspension_shows_on_refresh_and_up_resumes(
    engine: Engine, dashboard: RenderClient
) -> None:
    engine.up(key_value_program(**QUEUE))
    kv_id = engine.resource("cache").id
    dashboard.suspend_key_value(kv_id)
    refresh = engine.refresh()
    assert refresh.ops == {"cache": "update"}
    assert engine.resource("cache").inputs["suspended"] is True
    assert engine.resource("cache").outputs["status"] == "suspended"
    assert engine.preview(key_value_program(**QUEUE)).ops == {"cache": "update"}
    engine.up(key_value_program(**QUEUE))
    assert dashboard.retrieve_key_value(kv_id).status == "available"
    assert engine.preview(key_value_program(**QUEUE)).ops == {"cache": "same"}


def test_as_is_leaves_a_dashboard_suspension_alone_until_a_value_is_set(
    engine: Engine, emu: Emulator, dashboard: RenderClient
) -> None:
    """suspended=AS_IS: no drift, no resume; suspended=False later starts managing it."""
    as_is = key_value_program(**QUEUE, suspended=render_kv.AS_IS)
    engine.up(as_is)
    kv_id = engine.resource("cache").id
    assert dashboard.retrieve_key_value(kv_id).status == "available"
    dashboard.suspend_key_value(kv_id)
    assert engine.refresh().ops == {"cache": "same"}
    emu.clear_requests()
    assert engine.up(as_is).ops == {"cache": "same"}
    assert writes(emu) == 0
    assert dashboard.retrieve_key_value(kv_id).status == "suspended"
    # Managing it from here: the prior status says it is suspended, so False resumes it.
    assert engine.preview(key_value_program(**QUEUE, suspended=False)).ops == {"cache": "update"}
    engine.up(key_value_program(**QUEUE, suspended=False))
    assert dashboard.retrieve_key_value(kv_id).status == "available"
    assert engine.preview(key_value_program(**QUEUE)).ops == {"cache": "same"}


def test_a_change_while_staying_suspended_is_refused_at_preview(
    engine: Engine, emu: Emulator
) -> None:
    engine.up(key_value_program(**QUEUE, suspended=True))
    emu.clear_requests()
    changed = key_value_program(**{**QUEUE, "plan": "standard"}, suspended=True)
    [failure] = engine.preview(changed).failures
    # On the property that changed (it was reported on `suspended`, which did not change).
    assert failure.property == "plan"
    assert "Set suspended=False in this update to resume it first" in failure.reason
    with pytest.raises(EngineError):
        engine.up(changed)
    assert writes(emu) == 0


def test_resume_goes_before_the_patch_of_the_same_update(
    engine: Engine, emu: Emulator, dashboard: RenderClient
) -> None:
    engine.up(key_value_program(**QUEUE, suspended=True))
    emu.clear_requests()
    engine.up(key_value_program(**{**QUEUE, "plan": "standard"}))
    calls = [c for c in _api_calls(emu) if not c.startswith("GET")]
    assert calls == ["POST resume", f"PATCH {engine.resource('cache').id}"]
    live = dashboard.retrieve_key_value(engine.resource("cache").id)
    assert (live.plan, live.status) == ("standard", "available")


def test_a_restarting_change_and_a_suspension_patch_first(
    engine: Engine, emu: Emulator, dashboard: RenderClient
) -> None:
    engine.up(key_value_program(**QUEUE))
    emu.clear_requests()
    engine.up(key_value_program(**{**QUEUE, "plan": "standard"}, suspended=True))
    calls = [c for c in _api_calls(emu) if not c.startswith("GET")]
    assert calls == [f"PATCH {engine.resource('cache').id}", "POST suspend"]
    live = dashboard.retrieve_key_value(engine.resource("cache").id)
    assert (live.plan, live.status) == ("standard", "suspended")


def test_a_change_to_an_instance_suspended_outside_pulumi_says_refresh(
    engine: Engine, dashboard: RenderClient
) -> None:
    """Suspended in the Dashboard, no refresh: Render's 409 becomes the way out."""
    engine.up(key_value_program(**QUEUE))
    dashboard.suspend_key_value(engine.resource("cache").id)
    with pytest.raises(EngineError) as caught:
        engine.up(key_value_program(**QUEUE, name="renamed"))
    message = str(caught.value)
    assert "suspended outside Pulumi" in message
    assert "Run `pulumi refresh`" in message


def test_adopting_a_suspended_instance_resumes_it(
    engine: Engine, emu: Emulator, dashboard: RenderClient
) -> None:
    existing = made_outside(dashboard, emu, "legacy-queue", maxmemory_policy="noeviction")
    dashboard.suspend_key_value(existing.id)
    engine.up(key_value_program("legacy-queue", **QUEUE, adopt_existing=True))
    assert engine.resource("legacy-queue").id == existing.id
    assert dashboard.retrieve_key_value(existing.id).status == "available"


def test_a_suspended_instance_can_be_destroyed(engine: Engine, dashboard: RenderClient) -> None:
    engine.up(key_value_program(**QUEUE, suspended=True))
    engine.destroy()
    assert dashboard.list_key_value() == []


def test_a_resume_timeout_names_the_instance_once(engine: Engine, emu: Emulator) -> None:
    """`Key Value 'cache' (red-…) was still 'suspended'…`, not `Key Value red-… (red-…)`."""
    saved = emu.backend._lifecycle
    # An instance keeps the settings it was created with: this one's resume takes a minute.
    emu.backend._lifecycle = replace(saved, resume_delay=60.0)
    try:
        engine.up(key_value_program(**QUEUE, suspended=True))
    finally:
        emu.backend._lifecycle = saved
    kv_id = engine.resource("cache").id
    with pytest.raises(EngineError) as caught:
        engine.up(key_value_program(**QUEUE, wait_timeout=1))
    message = str(caught.value)
    assert f"Key Value 'cache' ({kv_id}) was still 'suspended' after 1 s" in message
    assert message.count(kv_id) == 2  # the instance once, and its dashboard URL
