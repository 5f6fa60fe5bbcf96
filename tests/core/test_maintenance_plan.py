"""Pure planning for maintenance and internal authentication (issue 15): no I/O, no clock."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from pulumi_render_kv import maintenance_plan as mp
from pulumi_render_kv.core import _convert, _day_two
from pulumi_render_kv.spec import UNKNOWN, normalize_inputs
from pulumi_render_kv.times import normalize_scheduled_at, parse_time

NOW = datetime(2026, 12, 4, 12, 0, tzinfo=UTC)
DAY = timedelta(days=1)


def run(at: datetime, by: datetime | None = None, state: str = "scheduled") -> dict[str, Any]:
    out = mp.output("mrn-1", "software_upgrade", state, at, by)
    assert out is not None
    return out


@pytest.mark.parametrize(
    ("value", "canonical"),
    [
        ("2026-12-10T03:00:00Z", "2026-12-10T03:00:00Z"),
        ("2026-12-10T04:00:00+01:00", "2026-12-10T03:00:00Z"),
        ("2026-12-10T03:00:00.750z", "2026-12-10T03:00:00Z"),
        (datetime(2026, 12, 10, 3, tzinfo=UTC), "2026-12-10T03:00:00Z"),
    ],
)
def test_times_have_one_spelling(value: Any, canonical: str) -> None:
    assert normalize_scheduled_at(value) == (canonical, None)


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("2026-12-10T03:00:00", "has no UTC offset"),
        ("next tuesday", "must be an ISO-8601 date and time"),
        ("", "must be an ISO-8601 date and time string"),
        (1765335600, "must be an ISO-8601 date and time string"),
    ],
)
def test_bad_times_say_what_is_wanted(value: Any, reason: str) -> None:
    kept, why = normalize_scheduled_at(value)
    assert kept == value
    assert why is not None
    assert reason in why


def test_normalize_inputs_knows_the_input_and_passes_unknown() -> None:
    canonical, problems = normalize_inputs(
        {"name": "c", "plan": "starter", "workload": "cache", "maintenanceScheduledAt": UNKNOWN}
    )
    assert problems == []
    assert canonical["maintenanceScheduledAt"] is UNKNOWN


def test_a_new_time_must_be_ahead_but_a_kept_one_may_have_passed() -> None:
    past = {"maintenanceScheduledAt": "2026-12-01T00:00:00Z"}
    (problem,) = mp.input_problems({}, past, NOW)
    assert problem.property == "maintenanceScheduledAt"
    assert "not in the future (now is 2026-12-04 12:00 UTC)" in problem.reason
    assert mp.input_problems(past, past, NOW) == []
    assert mp.input_problems({}, {"maintenanceScheduledAt": "2026-12-05T00:00:00Z"}, NOW) == []


def test_a_move_is_planned_for_a_scheduled_run_within_its_window() -> None:
    prior = {"maintenance": run(NOW + DAY, NOW + 3 * DAY)}
    planned = mp.plan_maintenance(prior, {"maintenanceScheduledAt": "2026-12-07T00:00:00Z"}, NOW)
    assert (planned.run_id, planned.move_to) == ("mrn-1", datetime(2026, 12, 7, tzinfo=UTC))
    assert planned.rejections == []
    (warning,) = planned.warnings  # still within the week: named at its new date
    assert "scheduled for 2026-12-07 00:00 UTC (this update moves it from 2026-12-05" in warning


def test_past_the_window_is_refused_naming_both_times() -> None:
    prior = {"maintenance": run(NOW + DAY, NOW + 2 * DAY)}
    planned = mp.plan_maintenance(prior, {"maintenanceScheduledAt": "2026-12-09T00:00:00Z"}, NOW)
    assert planned.move_to is None
    (problem,) = planned.rejections
    assert "2026-12-09 00:00 UTC is after 2026-12-06 12:00 UTC" in problem.reason


@pytest.mark.parametrize(
    "prior",
    [
        {},  # no run pending: moot
        {"maintenance": run(NOW + DAY, state="in_progress")},  # running: cannot move
        {"maintenance": run(datetime(2026, 12, 7, tzinfo=UTC))},  # already then: satisfied
        {  # moved there already; Render's read may lag its 202
            "maintenance": run(NOW + DAY),
            "maintenanceMoved": {"id": "mrn-1", "scheduledAt": "2026-12-07T00:00:00Z"},
        },
    ],
)
def test_no_move_when_satisfied_or_moot(prior: dict[str, Any]) -> None:
    planned = mp.plan_maintenance(prior, {"maintenanceScheduledAt": "2026-12-07T00:00:00Z"}, NOW)
    assert planned.move_to is None
    assert planned.rejections == []


def test_a_past_time_for_a_new_run_is_left_alone_with_a_warning() -> None:
    prior = {"maintenance": run(NOW + 10 * DAY)}
    planned = mp.plan_maintenance(prior, {"maintenanceScheduledAt": "2026-12-01T00:00:00Z"}, NOW)
    assert planned.move_to is None
    assert planned.rejections == []
    (warning,) = planned.warnings
    assert "2026-12-01 00:00 UTC is past" in warning


def test_an_unknown_time_plans_nothing_yet() -> None:
    prior = {"maintenance": run(NOW + 10 * DAY)}
    planned = mp.plan_maintenance(prior, {"maintenanceScheduledAt": UNKNOWN}, NOW)
    assert (planned.move_to, planned.rejections, planned.warnings) == (None, [], [])


@pytest.mark.parametrize(
    ("at", "warns"),
    [(NOW + 6 * DAY, True), (NOW + 7 * DAY, True), (NOW + 7 * DAY + timedelta(seconds=1), False)],
)
def test_the_warning_covers_a_week(at: datetime, warns: bool) -> None:
    planned = mp.plan_maintenance({"maintenance": run(at)}, {}, NOW)
    assert bool(planned.warnings) is warns


def test_finished_runs_are_not_pending() -> None:
    assert mp.output("mrn-1", None, "succeeded", NOW, None) is None
    assert mp.Run.from_output(None) is None


def test_parse_time_keeps_the_instant() -> None:
    assert parse_time("2026-12-10T04:00:00+01:00")[0] == datetime(2026, 12, 10, 3, tzinfo=UTC)


# -- internal authentication -------------------------------------------------------------------


def test_credentials_in_the_url_are_internal_auth() -> None:
    assert _convert.has_credentials("redis://default:pw@red-x:6379") is True
    assert _convert.has_credentials("redis://red-x:6379") is False
    assert _convert.has_credentials(None) is False


def test_refresh_keeps_what_the_last_deployment_saw() -> None:
    outs = {"internalAuthEnabled": True}
    assert (
        _day_two.refreshed({"deployedInternalAuthEnabled": False}, dict(outs))[
            "deployedInternalAuthEnabled"
        ]
        is False
    )
    # State from before the output: the recorded internal URL says it.
    old = {"internalConnectionString": "redis://red-x:6379"}
    assert _day_two.refreshed(old, dict(outs))["deployedInternalAuthEnabled"] is False
    # Nothing to go by: no warning it cannot back up.
    assert _day_two.refreshed({}, dict(outs))["deployedInternalAuthEnabled"] is True


def test_the_warning_comes_only_while_the_two_differ() -> None:
    on = _day_two.internal_auth_warning(
        {"internalAuthEnabled": True, "deployedInternalAuthEnabled": False}
    )
    assert on is not None
    assert "NOAUTH" in on
    off = _day_two.internal_auth_warning(
        {"internalAuthEnabled": False, "deployedInternalAuthEnabled": True}
    )
    assert off is not None
    assert "turned off" in off
    same = {"internalAuthEnabled": True, "deployedInternalAuthEnabled": True}
    assert _day_two.internal_auth_warning(same) is None
    assert _day_two.internal_auth_warning({"internalAuthEnabled": True}) is None


def test_a_move_is_forgotten_once_its_run_is_done() -> None:
    moved = {"id": "mrn-1", "scheduledAt": "2026-12-07T00:00:00Z"}
    kept = _convert.deployed({"maintenance": run(NOW), "maintenanceMoved": moved})
    assert kept["maintenanceMoved"] == moved
    assert "maintenanceMoved" not in _convert.deployed({"maintenanceMoved": moved})
