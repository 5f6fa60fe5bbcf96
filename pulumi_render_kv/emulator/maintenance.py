"""Maintenance runs of Key Value instances: Render's ``/maintenance`` rules, without HTTP.

A run is scheduled (through the control plane: Render schedules them itself), may be moved
(``PATCH``: not after its ``pendingMaintenanceBy``, not into the past) and runs when triggered
or when its ``scheduledAt`` is due. Running it is a real restart of the server, done by the
backend; this module keeps the runs, checks the rules and works out each run's ``state`` at
read time from the emulator's clock, as ``lifecycle`` does for statuses:

- ``scheduled`` until it runs;
- ``in_progress`` for ``restart_delay`` seconds after it started (the instance reads
  ``maintenance_in_progress`` meanwhile), then ``succeeded``; ``failed`` when its restart failed.

Render's run types are not documented; the emulator's default is ``software_upgrade`` (ours).
Errors are ``errors.ApiError`` subclasses (400, 404), worded as ours.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable
from dataclasses import dataclass

from . import errors, ids

MAINTENANCE_STATES = (
    "scheduled",
    "in_progress",
    "user_fix_required",
    "cancelled",
    "succeeded",
    "failed",
)
DEFAULT_TYPE = "software_upgrade"


@dataclass
class MaintenanceRun:
    """One run as the emulator keeps it; ``state`` is the stored one (see :meth:`state_at`)."""

    id: str
    sequence: int
    resource_id: str
    type: str
    scheduled_ns: int
    pending_by_ns: int | None
    state: str = "scheduled"
    started_at: float | None = None  # the emulator's monotonic clock, when it began

    def state_at(self, now: float, restart_delay: float) -> str:
        """The state a read at ``now`` reports."""
        if self.state == "in_progress" and (
            self.started_at is None or now >= self.started_at + restart_delay
        ):
            return "succeeded"
        return self.state


@dataclass(frozen=True)
class MaintenanceView:
    """A run as one read sees it."""

    id: str
    resource_id: str
    type: str
    scheduled_ns: int
    pending_by_ns: int | None
    state: str

    @property
    def open(self) -> bool:
        """Scheduled or running: what ``keyValueDetail.maintenance`` shows."""
        return self.state in ("scheduled", "in_progress")


class MaintenanceBook:
    """Every run of one emulated account; not thread-safe (the backend's lock guards it)."""

    def __init__(self, restart_delay: float) -> None:
        self._restart_delay = restart_delay
        self._runs: dict[str, MaintenanceRun] = {}
        self._sequence = itertools.count(1)

    # -- reading --

    def get(self, run_id: str) -> MaintenanceRun:
        try:
            return self._runs[run_id]
        except KeyError:
            raise errors.NotFound(run_id) from None

    def view(self, run: MaintenanceRun, now: float) -> MaintenanceView:
        return MaintenanceView(
            id=run.id,
            resource_id=run.resource_id,
            type=run.type,
            scheduled_ns=run.scheduled_ns,
            pending_by_ns=run.pending_by_ns,
            state=run.state_at(now, self._restart_delay),
        )

    def runs(self) -> list[MaintenanceRun]:
        """Every run, by ``scheduledAt`` then creation."""
        return sorted(self._runs.values(), key=lambda run: (run.scheduled_ns, run.sequence))

    def open_run(self, resource_id: str, now: float) -> MaintenanceRun | None:
        """The instance's scheduled or running run, if any (there is at most one)."""
        return next(
            (
                run
                for run in self.runs()
                if run.resource_id == resource_id
                and run.state_at(now, self._restart_delay) in ("scheduled", "in_progress")
            ),
            None,
        )

    def due(self, now_ns: int) -> list[MaintenanceRun]:
        """Scheduled runs whose ``scheduledAt`` has come."""
        return [
            run for run in self.runs() if run.state == "scheduled" and run.scheduled_ns <= now_ns
        ]

    # -- changing --

    def schedule(
        self,
        resource_id: str,
        *,
        scheduled_ns: int,
        pending_by_ns: int | None,
        run_type: str,
        now: float,
    ) -> MaintenanceRun:
        """A new scheduled run (not stored yet: :meth:`add` after the state file took it)."""
        if not run_type.strip():
            raise errors.InvalidFieldValue("type", "must not be empty")
        if pending_by_ns is not None and scheduled_ns > pending_by_ns:
            raise errors.InvalidFieldValue("scheduledAt", "must not be after pendingMaintenanceBy")
        if (current := self.open_run(resource_id, now)) is not None:
            raise errors.BadRequest(
                f"Key Value instance {resource_id} already has maintenance {current.id} "
                f"({current.state_at(now, self._restart_delay)}); trigger or finish it first"
            )
        return MaintenanceRun(
            id=self._unused_id(),
            sequence=next(self._sequence),
            resource_id=resource_id,
            type=run_type,
            scheduled_ns=scheduled_ns,
            pending_by_ns=pending_by_ns,
        )

    def add(self, run: MaintenanceRun) -> None:
        self._runs[run.id] = run

    def check_reschedule(
        self, run: MaintenanceRun, scheduled_ns: int, *, now_ns: int, now: float
    ) -> None:
        """Render's rule for ``PATCH``: a scheduled run, moved to a time within its window."""
        self._check_scheduled(run, now, "rescheduled")
        when = ids.format_timestamp(scheduled_ns, nanoseconds=False)
        if run.pending_by_ns is not None and scheduled_ns > run.pending_by_ns:
            limit = ids.format_timestamp(run.pending_by_ns, nanoseconds=False)
            raise errors.InvalidFieldValue(
                "scheduledAt",
                f"{when} is after the run's pendingMaintenanceBy ({limit}); choose a time "
                "before it",
            )
        if scheduled_ns < now_ns:
            raise errors.InvalidFieldValue(
                "scheduledAt", f"{when} is in the past; choose a time from now on"
            )

    def check_trigger(self, run: MaintenanceRun, now: float) -> None:
        self._check_scheduled(run, now, "triggered")

    def _check_scheduled(self, run: MaintenanceRun, now: float, what: str) -> None:
        state = run.state_at(now, self._restart_delay)
        if state != "scheduled":
            raise errors.BadRequest(
                f"maintenance run {run.id} is {state}; only a scheduled run can be {what}"
            )

    def drop_resource(self, resource_id: str) -> None:
        """Forget the runs of a deleted instance."""
        for run_id in [r.id for r in self._runs.values() if r.resource_id == resource_id]:
            del self._runs[run_id]

    def clear(self) -> None:
        self._runs.clear()

    def restore(self, runs: Iterable[MaintenanceRun]) -> None:
        """Runs from the state file: one that was running when the emulator stopped is done."""
        for run in runs:
            if run.state == "in_progress":
                run.state = "succeeded"
            self.add(run)
        last = max((run.sequence for run in self._runs.values()), default=0)
        self._sequence = itertools.count(last + 1)

    def _unused_id(self) -> str:
        while (candidate := ids.new_maintenance_id()) in self._runs:
            pass  # pragma: no cover - 36**20 ids
        return candidate
