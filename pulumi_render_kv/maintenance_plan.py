"""Pure planning for Render's scheduled maintenance: the warning, and the reschedule input.

Render schedules maintenance runs itself (``KeyValueDetail.maintenance``); a run may be moved
(``PATCH /maintenance/{id}``) to any time before its ``pendingMaintenanceBy``. The state's
``maintenance`` output is the run as the last create, update or refresh saw it, so preview
judges from it without an API call. ``now`` is always passed in: no clock is read here.

``maintenanceScheduledAt`` (the input) asks for *the pending run* to start at that time. It
is satisfied when the run already starts then, or when this provider moved that run there
before (``maintenanceMoved``: its id and the time, so a PATCH Render applies later than its
202, or a read that still shows the old time, does not plan a second PATCH). With no pending
run, it is moot: nothing to move, no diff. A new run Render schedules later is moved to the
input's time if that time is still ahead; a time already past is left alone, with a warning.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from pulumi_render_kv.spec import UNKNOWN, Problem
from pulumi_render_kv.times import canonical_time, parse_time

INPUT = "maintenanceScheduledAt"
OUTPUT = "maintenance"
MOVED = "maintenanceMoved"

# Maintenance within a week warns at every preview and `up`: Render announces runs days
# ahead and the window to move one (`pendingMaintenanceBy`) is of that order, so a week is
# when there is still time to move it and it is worth saying each time. Further out it would
# be noise on every preview.
WARN_WITHIN = timedelta(days=7)

_OPEN_STATES = ("scheduled", "in_progress")


def shown(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


@dataclass(frozen=True)
class Run:
    """The pending run as the state's ``maintenance`` output records it."""

    id: str
    type: str | None
    state: str | None
    scheduled_at: datetime | None
    pending_by: datetime | None

    @classmethod
    def from_output(cls, value: Any) -> Run | None:
        if not isinstance(value, Mapping) or not isinstance(value.get("id"), str):
            return None
        return cls(
            id=value["id"],
            type=value.get("type") if isinstance(value.get("type"), str) else None,
            state=value.get("state") if isinstance(value.get("state"), str) else None,
            scheduled_at=parse_time(value.get("scheduledAt"))[0],
            pending_by=parse_time(value.get("pendingMaintenanceBy"))[0],
        )

    @property
    def movable(self) -> bool:
        return self.state == "scheduled"


def output(
    run_id: str,
    run_type: str | None,
    state: str | None,
    scheduled_at: datetime | None,
    pending_by: datetime | None,
) -> dict[str, Any] | None:
    """The ``maintenance`` output of an open run (None for a finished one: nothing pending)."""
    if state not in _OPEN_STATES:
        return None
    return {
        "id": run_id,
        "type": run_type,
        "state": state,
        "scheduledAt": None if scheduled_at is None else canonical_time(scheduled_at),
        "pendingMaintenanceBy": None if pending_by is None else canonical_time(pending_by),
    }


@dataclass
class MaintenancePlan:
    """What a preview or update does about maintenance: a move, refusals, warnings."""

    move_to: datetime | None = None
    run_id: str | None = None
    rejections: list[Problem] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def plan_maintenance(
    prior: Mapping[str, Any], desired: Mapping[str, Any], now: datetime
) -> MaintenancePlan:
    """Compare the state's pending run with ``maintenanceScheduledAt``; judge it at ``now``.

    ``prior`` are the old outputs (they hold ``maintenance`` and ``maintenanceMoved``).
    """
    result = MaintenancePlan()
    run = Run.from_output(prior.get(OUTPUT))
    wanted_value = desired.get(INPUT)
    wanted = None if wanted_value is UNKNOWN else parse_time(wanted_value)[0]
    if run is not None and run.movable and wanted is not None:
        _plan_move(run, wanted, prior.get(MOVED), now, result)
    if run is not None:
        soon = soon_warning(run, now, moving_to=result.move_to)
        if soon:
            result.warnings.append(soon)
    return result


def _plan_move(
    run: Run, wanted: datetime, moved: Any, now: datetime, result: MaintenancePlan
) -> None:
    if run.scheduled_at == wanted:
        return  # satisfied: the run starts then
    if isinstance(moved, Mapping) and moved.get("id") == run.id:
        return  # moved there already: Render's answer decides now, not a second PATCH
    if wanted <= now:
        result.warnings.append(
            f"maintenance_scheduled_at {shown(wanted)} is past, so pending maintenance "
            f"{run.id} is left at {_when(run)}; set a future time to move it, or remove the "
            "input"
        )
        return
    if run.pending_by is not None and wanted > run.pending_by:
        result.rejections.append(
            Problem(
                INPUT,
                f"{shown(wanted)} is after {shown(run.pending_by)}, the latest Render allows "
                f"for maintenance {run.id} (pendingMaintenanceBy); choose a time before it",
            )
        )
        return
    result.move_to, result.run_id = wanted, run.id


def _when(run: Run) -> str:
    return shown(run.scheduled_at) if run.scheduled_at is not None else "Render's time"


def soon_warning(run: Run, now: datetime, *, moving_to: datetime | None = None) -> str | None:
    """The warning for a run within ``WARN_WITHIN`` (or running), naming its date."""
    kind = f" ({run.type})" if run.type else ""
    if run.state == "in_progress":
        return (
            f"maintenance {run.id}{kind} is in progress: the instance restarts, and clients "
            "are refused until it is available again"
        )
    if not run.movable or run.scheduled_at is None:
        return None
    starts = moving_to or run.scheduled_at
    if starts - now > WARN_WITHIN:
        return None
    moved = f" (this update moves it from {shown(run.scheduled_at)})" if moving_to else ""
    by = (
        f" Render allows moving it until {shown(run.pending_by)}"
        if run.pending_by is not None
        else " It can be moved"
    )
    return (
        f"maintenance {run.id}{kind} is scheduled for {shown(starts)}{moved}: the instance "
        f"restarts then and is briefly unavailable.{by} with maintenance_scheduled_at"
    )


def input_problems(
    old_inputs: Mapping[str, Any], canonical: Mapping[str, Any], now: datetime
) -> list[Problem]:
    """``check``'s part: a newly written time must be ahead of ``now``.

    Only a new value: one kept from an earlier `up` may have passed since, and is then
    satisfied or moot (see ``plan_maintenance``), not wrong. Whether it is before the run's
    ``pendingMaintenanceBy`` needs the old outputs, which only ``diff`` has.
    """
    value = canonical.get(INPUT)
    if not isinstance(value, str) or value == old_inputs.get(INPUT):
        return []
    wanted = parse_time(value)[0]
    if wanted is None or wanted > now:
        return []
    return [
        Problem(
            INPUT,
            f"{value!r} is not in the future (now is {shown(now)}): Render cannot move "
            "maintenance into the past; choose a later time, or remove the input",
        )
    ]
