"""``log_stream``: the instance's log-stream override, through the provider and the emulator.

Render's ``/logs/streams/resource/{id}`` never returns the token; the provider keeps the one
it sent (a secret) and diffs setting and endpoint against what Render reports.
"""

from __future__ import annotations

import pulumi
import pytest

import pulumi_render_kv as render_kv
from pulumi_render_kv.client import RenderClient, ResourceLogStreamPUTInput
from pulumi_render_kv.emulator import Emulator
from pulumi_render_kv.testing import Engine, EngineError

from .conftest import key_value_program, made_outside

pytestmark = [pytest.mark.grpc, pytest.mark.dataplane]

CACHE = {"plan": "starter", "workload": "cache"}
ENDPOINT = "logs.example.com:6514"
TOKEN = "lst-token-0123456789abcdef"
SEND = render_kv.LogStream(setting="send", endpoint=ENDPOINT, token=TOKEN)


def _log_calls(emu: Emulator) -> list[str]:
    return [r["method"] for r in emu.requests() if r["path"].startswith("/v1/logs/streams/")]


def _override(dashboard: RenderClient, kv_id: str) -> tuple[str, str | None] | None:
    live = dashboard.get_resource_log_stream(kv_id)
    return None if live is None else (live.setting, live.endpoint)


def test_send_drop_and_back_to_the_workspace_default(
    engine: Engine, emu: Emulator, dashboard: RenderClient
) -> None:
    emu.clear_requests()
    preview = engine.preview(key_value_program(**CACHE, log_stream=SEND))
    assert preview.ops == {"cache": "create"}
    assert emu.request_counts() == {}

    engine.up(key_value_program(**CACHE, log_stream=SEND))
    kv_id = engine.resource("cache").id
    assert _override(dashboard, kv_id) == ("send", ENDPOINT)
    assert emu.backend.log_stream_token(kv_id) == TOKEN
    state = engine.resource("cache")
    assert state.inputs["logStream"] == {"setting": "send", "endpoint": ENDPOINT, "token": TOKEN}
    assert TOKEN not in engine.state_json()
    assert engine.preview(key_value_program(**CACHE, log_stream=SEND)).ops == {"cache": "same"}
    assert engine.refresh().ops == {"cache": "same"}
    assert engine.resource("cache").inputs["logStream"]["token"] == TOKEN
    assert TOKEN not in engine.state_json()

    emu.clear_requests()
    drop = render_kv.LogStream(setting="drop")
    assert engine.up(key_value_program(**CACHE, log_stream=drop)).ops == {"cache": "update"}
    assert emu.request_counts() == {"PUT": 1}  # the override alone: no read, no PATCH
    assert _override(dashboard, kv_id) == ("drop", None)

    emu.clear_requests()
    assert engine.up(key_value_program(**CACHE)).ops == {"cache": "update"}
    assert emu.request_counts() == {"DELETE": 1}
    assert _override(dashboard, kv_id) is None
    assert "logStream" not in engine.resource("cache").inputs
    assert engine.preview(key_value_program(**CACHE)).ops == {"cache": "same"}


def test_a_new_token_is_sent_and_stays_secret(engine: Engine, emu: Emulator) -> None:
    engine.up(key_value_program(**CACHE, log_stream=SEND))
    rotated = render_kv.LogStream(setting="send", endpoint=ENDPOINT, token="lst-rotated-token")
    preview = engine.preview(key_value_program(**CACHE, log_stream=rotated))
    assert preview.ops == {"cache": "update"}
    engine.up(key_value_program(**CACHE, log_stream=rotated))
    assert emu.backend.log_stream_token(engine.resource("cache").id) == "lst-rotated-token"
    assert "lst-rotated-token" not in engine.state_json()


def test_dashboard_changes_show_on_refresh_and_up_puts_the_override_back(
    engine: Engine, emu: Emulator, dashboard: RenderClient
) -> None:
    engine.up(key_value_program(**CACHE, log_stream=SEND))
    kv_id = engine.resource("cache").id
    dashboard.update_resource_log_stream(
        kv_id, ResourceLogStreamPUTInput(setting="send", endpoint="other.example.com:514")
    )
    assert engine.refresh().ops == {"cache": "update"}
    # Render returns no token: once the endpoint differs, the recorded one no longer applies.
    assert engine.resource("cache").inputs["logStream"] == {
        "setting": "send",
        "endpoint": "other.example.com:514",
    }
    assert engine.preview(key_value_program(**CACHE, log_stream=SEND)).ops == {"cache": "update"}
    engine.up(key_value_program(**CACHE, log_stream=SEND))
    assert _override(dashboard, kv_id) == ("send", ENDPOINT)
    assert emu.backend.log_stream_token(kv_id) == TOKEN

    dashboard.delete_resource_log_stream(kv_id)
    assert engine.refresh().ops == {"cache": "update"}
    assert "logStream" not in engine.resource("cache").inputs
    engine.up(key_value_program(**CACHE, log_stream=SEND))
    assert _override(dashboard, kv_id) == ("send", ENDPOINT)


def test_an_override_made_outside_pulumi_is_removed_by_a_program_without_one(
    engine: Engine, emu: Emulator, dashboard: RenderClient
) -> None:
    engine.up(key_value_program(**CACHE))
    kv_id = engine.resource("cache").id
    dashboard.update_resource_log_stream(kv_id, ResourceLogStreamPUTInput(setting="drop"))
    engine.refresh()
    assert engine.resource("cache").inputs["logStream"] == {"setting": "drop"}
    emu.clear_requests()
    engine.up(key_value_program(**CACHE))
    assert _log_calls(emu) == ["DELETE"]
    assert _override(dashboard, kv_id) is None


def test_adoption_reconciles_the_override(
    engine: Engine, emu: Emulator, dashboard: RenderClient
) -> None:
    existing = made_outside(dashboard, emu, "legacy", maxmemory_policy="allkeys_lru")
    dashboard.update_resource_log_stream(existing.id, ResourceLogStreamPUTInput(setting="drop"))
    emu.clear_requests()
    drop = render_kv.LogStream(setting="drop")
    engine.up(key_value_program("legacy", **CACHE, log_stream=drop, adopt_existing=True))
    assert _log_calls(emu) == ["GET"]  # already as wanted: read, nothing sent
    engine.destroy()

    existing = made_outside(dashboard, emu, "legacy")
    dashboard.update_resource_log_stream(
        existing.id, ResourceLogStreamPUTInput(setting="send", endpoint=ENDPOINT)
    )
    emu.clear_requests()
    # Render hides the token, so adoption cannot tell whether it matches: it is sent.
    engine.up(key_value_program("legacy", **CACHE, log_stream=SEND, adopt_existing=True))
    assert _log_calls(emu) == ["GET", "PUT"]
    assert emu.backend.log_stream_token(existing.id) == TOKEN


def test_key_value_get_reads_the_override(
    engine: Engine, emu: Emulator, dashboard: RenderClient
) -> None:
    existing = made_outside(dashboard, emu, "shared")
    dashboard.update_resource_log_stream(
        existing.id, ResourceLogStreamPUTInput(setting="send", endpoint=ENDPOINT)
    )

    def program() -> None:
        kv = render_kv.KeyValue.get("shared", existing.id)
        pulumi.export("logStream", kv.log_stream)

    engine.up(program)
    assert engine.resource("shared").outputs["logStream"] == {
        "setting": "send",
        "endpoint": ENDPOINT,
    }


def test_destroy_takes_the_override_with_the_instance(
    engine: Engine, dashboard: RenderClient
) -> None:
    engine.up(key_value_program(**CACHE, log_stream=SEND))
    kv_id = engine.resource("cache").id
    engine.destroy()
    assert dashboard.list_key_value() == []
    assert dashboard.get_resource_log_stream(kv_id) is None


def test_a_refused_override_on_create_says_how_to_adopt_and_hides_the_token(
    engine: Engine, emu: Emulator
) -> None:
    emu.inject_fault("PUT", "/v1/logs/streams/resource/*", status=400, count=1)
    with pytest.raises(EngineError) as caught:
        engine.up(key_value_program(**CACHE, log_stream=SEND))
    message = str(caught.value)
    assert "log-stream override" in message
    assert "set adopt_existing=True" in message
    assert TOKEN not in message
    assert not engine.resources
