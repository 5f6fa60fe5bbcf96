"""Issue 15, provider side: internal authentication switched in the Dashboard, and maintenance.

Through the gRPC harness against the emulator's real servers: the emulator's control plane
switches internal auth on and schedules maintenance runs, as Render does by itself.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import redis

from pulumi_render_kv.client import RenderClient
from pulumi_render_kv.emulator import Emulator
from pulumi_render_kv.testing import Engine, OperationResult

from .conftest import key_value_program

pytestmark = [pytest.mark.grpc, pytest.mark.dataplane]

CACHE = {"plan": "starter", "workload": "cache"}
AUTH_WARNING = "internal authentication was turned on"
DAY = timedelta(days=1)


def warnings(result: OperationResult, text: str) -> list[str]:
    return [line for line in result.stderr if "warning: KeyValue 'cache'" in line and text in line]


def test_refresh_records_internal_auth_and_preview_warns_until_the_next_up(
    engine: Engine, emu: Emulator
) -> None:
    engine.up(key_value_program(**CACHE))
    before = engine.resource("cache")
    assert before.outputs["internalAuthEnabled"] is False
    assert before.outputs["deployedInternalAuthEnabled"] is False
    old_url = before.outputs["internalConnectionString"]
    assert warnings(engine.preview(key_value_program(**CACHE)), AUTH_WARNING) == []

    emu.set_internal_auth(before.id, True)  # as the Dashboard does: a restart, then AUTH
    emu.clear_requests()
    engine.refresh()
    after = engine.resource("cache")
    new_url = after.outputs["internalConnectionString"]
    assert new_url != old_url
    assert new_url.startswith("redis://default:")
    assert "internalConnectionString" in after.secret_outputs
    assert new_url not in engine.state_json()
    assert after.outputs["internalAuthEnabled"] is True
    assert after.outputs["deployedInternalAuthEnabled"] is False  # the last up's view
    # The credentials are real: the old URL is refused, the new one logs in.
    with redis.Redis.from_url(old_url) as old, pytest.raises(redis.AuthenticationError):
        old.ping()
    with redis.Redis.from_url(new_url) as new:
        assert new.ping() is True

    emu.clear_requests()
    preview = engine.preview(key_value_program(**CACHE))
    (warning,) = warnings(preview, AUTH_WARNING)
    assert "NOAUTH" in warning
    assert "`pulumi up`" in warning
    assert new_url not in "\n".join(preview.stderr)
    assert preview.ops == {"cache": "update"}
    assert emu.request_counts() == {}  # preview calls nothing

    up = engine.up(key_value_program(**CACHE))
    assert up.ops == {"cache": "update"}
    assert emu.request_counts() == {}  # recording it calls nothing either
    assert engine.resource("cache").outputs["deployedInternalAuthEnabled"] is True
    quiet = engine.preview(key_value_program(**CACHE))
    assert warnings(quiet, AUTH_WARNING) == []
    assert quiet.ops == {"cache": "same"}


def _schedule(emu: Emulator, instance_id: str, at: datetime, by: datetime) -> str:
    return emu.schedule_maintenance(instance_id, scheduled_at=at, pending_maintenance_by=by)


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def test_scheduled_maintenance_is_an_output_and_warns_naming_its_date(
    engine: Engine, emu: Emulator
) -> None:
    engine.up(key_value_program(**CACHE))
    kv = engine.resource("cache")
    at = (datetime.now(UTC) + 2 * DAY).replace(microsecond=0)
    by = at + 3 * DAY
    run_id = _schedule(emu, kv.id, at, by)
    refresh = engine.refresh()
    assert warnings(refresh, f"maintenance {run_id}")  # refresh says so too
    run = engine.resource("cache").outputs["maintenance"]
    assert run == {
        "id": run_id,
        "type": "software_upgrade",
        "state": "scheduled",
        "scheduledAt": _iso(at),
        "pendingMaintenanceBy": _iso(by),
    }
    emu.clear_requests()
    preview = engine.preview(key_value_program(**CACHE))
    (warning,) = warnings(preview, "maintenance")
    assert f"is scheduled for {at:%Y-%m-%d %H:%M} UTC" in warning
    assert f"until {by:%Y-%m-%d %H:%M} UTC" in warning
    assert preview.ops == {"cache": "same"}
    assert emu.request_counts() == {}
    assert warnings(engine.up(key_value_program(**CACHE)), "maintenance") == [warning]


def test_maintenance_far_ahead_does_not_warn(engine: Engine, emu: Emulator) -> None:
    engine.up(key_value_program(**CACHE))
    at = datetime.now(UTC) + 20 * DAY
    _schedule(emu, engine.resource("cache").id, at, at + DAY)
    engine.refresh()
    assert engine.resource("cache").outputs["maintenance"]["state"] == "scheduled"
    assert warnings(engine.preview(key_value_program(**CACHE)), "maintenance") == []


def test_reschedule_input_patches_once_then_no_diff(
    engine: Engine, emu: Emulator, dashboard: RenderClient
) -> None:
    engine.up(key_value_program(**CACHE))
    kv = engine.resource("cache")
    at = (datetime.now(UTC) + 2 * DAY).replace(microsecond=0)
    run_id = _schedule(emu, kv.id, at, at + 5 * DAY)
    engine.refresh()
    wanted = at + 3 * DAY
    program = key_value_program(**CACHE, maintenance_scheduled_at=wanted)
    preview = engine.preview(program)
    assert preview.ops == {"cache": "update"}
    emu.clear_requests()
    engine.up(program)
    patches = [r for r in emu.requests() if r["method"] == "PATCH"]
    assert [r["path"] for r in patches] == [f"/v1/maintenance/{run_id}"]
    # The move and one read of the run back: nothing else (the input is provider-only).
    assert emu.request_counts() == {"PATCH": 1, "GET": 1}
    assert dashboard.retrieve_maintenance(run_id).scheduled_at == wanted
    outs = engine.resource("cache").outputs
    assert outs["maintenance"]["scheduledAt"] == _iso(wanted)
    assert outs["maintenanceScheduledAt"] == _iso(wanted)
    assert outs["maintenanceMoved"] == {"id": run_id, "scheduledAt": _iso(wanted)}
    # Satisfied: no diff, no second PATCH, in preview, up and after a refresh.
    assert engine.preview(program).ops == {"cache": "same"}
    assert engine.refresh().ops == {"cache": "same"}
    emu.clear_requests()
    assert engine.up(program).ops == {"cache": "same"}
    assert emu.request_counts().get("PATCH", 0) == 0


def test_reschedule_without_pending_maintenance_is_moot(engine: Engine, emu: Emulator) -> None:
    later = datetime.now(UTC) + 3 * DAY
    program = key_value_program(**CACHE, maintenance_scheduled_at=_iso(later))
    engine.up(program)
    assert engine.resource("cache").outputs.get("maintenance") is None
    emu.clear_requests()
    assert engine.preview(program).ops == {"cache": "same"}
    assert engine.up(program).ops == {"cache": "same"}
    assert emu.request_counts().get("PATCH", 0) == 0


def test_reschedule_past_the_window_is_refused_at_preview(engine: Engine, emu: Emulator) -> None:
    engine.up(key_value_program(**CACHE))
    at = (datetime.now(UTC) + DAY).replace(microsecond=0)
    by = at + DAY
    _schedule(emu, engine.resource("cache").id, at, by)
    engine.refresh()
    emu.clear_requests()
    plan = engine.preview(key_value_program(**CACHE, maintenance_scheduled_at=by + DAY))
    assert plan.error is not None
    message = plan.error.provider_message or ""
    assert "maintenanceScheduledAt: " in message
    assert "the latest Render allows" in message
    assert f"{by:%Y-%m-%d %H:%M} UTC" in message
    assert emu.request_counts() == {}
