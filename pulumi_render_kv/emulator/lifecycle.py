"""Status progressions of a Key Value instance, derived when read from an injected clock.

No background timers: each instance keeps the instants of the events that matter (creation,
the last restart, suspension, resumption) in the emulator's monotonic clock, and
:meth:`InstanceLifecycle.status` works the status out from them at read time.

Progressions (each marked observed, documented or inferred):

- create response: ``unknown`` (observed in 4 of 5 creates; ``creating`` is selectable);
- reads until ``create_delay`` seconds have passed: ``creating``; then ``available``;
- a PATCH that changes the plan, the maxmemory policy or the persistence mode restarts the
  instance (spec-new: "changing your plan, max memory policy, or persistence mode will restart
  your Key Value instance"). Which status Render shows meanwhile is not documented; we infer
  ``updating_instance`` when the plan changes (a new instance type is provisioned) and
  ``config_restart`` when only the configuration changes, then ``available`` after
  ``restart_delay`` seconds. A change made while the instance is still ``creating`` is
  absorbed by the creation (observed: the status stayed ``creating``);
- suspend: ``suspended`` until resumed. Resume is asynchronous: its 202 comes before the
  instance moves, so reads still say ``suspended`` for ``resume_delay`` seconds (a status read
  right after the resume's 202 may say ``suspended`` on Render); then ``unavailable`` for
  ``restart_delay`` seconds (inferred; Render's SDK waiter treats it as transient), then
  ``available``. The server process itself starts at the resume request.

The data plane follows the status (:meth:`InstanceLifecycle.serving`): its endpoints take
connections only while the instance reads ``available``, so seconds-until-``PING`` measures
readiness as on Render, where a ``creating`` or restarting instance does not answer yet.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

CREATE_RESPONSE_STATUSES = ("unknown", "creating")


class RestartKind(StrEnum):
    """Why an instance restarts, and the status it shows meanwhile."""

    PLAN = "updating_instance"
    CONFIG = "config_restart"  # also internal authentication switched on or off
    MAINTENANCE = "maintenance_in_progress"


@dataclass(frozen=True)
class LifecycleSettings:
    """Durations (seconds) and the status the create response reports.

    ``resume_delay``: how long reads still say ``suspended`` after a resume was accepted.
    """

    create_delay: float = 0.0
    restart_delay: float = 0.0
    status_on_create: str = "unknown"
    resume_delay: float = 0.0

    def __post_init__(self) -> None:
        if min(self.create_delay, self.restart_delay, self.resume_delay) < 0:
            raise ValueError("create_delay, restart_delay and resume_delay must be >= 0")
        if self.status_on_create not in CREATE_RESPONSE_STATUSES:
            raise ValueError(
                f"status_on_create must be one of {CREATE_RESPONSE_STATUSES}, "
                f"got {self.status_on_create!r}"
            )


class InstanceLifecycle:
    """The status timeline of one instance; every method takes ``now`` from the caller's clock."""

    def __init__(self, settings: LifecycleSettings, created_at: float) -> None:
        self._settings = settings
        self._created_at = created_at
        self._restart: tuple[RestartKind, float] | None = None
        self._suspended = False
        self._resumed_at: float | None = None

    @property
    def create_response_status(self) -> str:
        """The status of the 201 answer to the create request."""
        return self._settings.status_on_create

    @property
    def suspended(self) -> bool:
        """True between suspend and the resume request (see :meth:`resuming` for after it)."""
        return self._suspended

    def resuming(self, now: float) -> bool:
        """True while a resume was accepted but reads still say ``suspended``."""
        return self._resumed_at is not None and now < self._resumed_at + self._settings.resume_delay

    def _creating(self, now: float) -> bool:
        return now < self._created_at + self._settings.create_delay

    def status(self, now: float) -> str:
        """The status a read at ``now`` reports."""
        if self._suspended:
            return "suspended"
        if self._creating(now):
            return "creating"
        if self.resuming(now):
            return "suspended"
        if self._resumed_at is not None and now < (
            self._resumed_at + self._settings.resume_delay + self._settings.restart_delay
        ):
            return "unavailable"
        if self._restart is not None:
            kind, started = self._restart
            if now < started + self._settings.restart_delay:
                return kind.value
        return "available"

    def serving(self, now: float) -> bool:
        """Whether the instance's server takes connections at ``now``: only while ``available``.

        Every other status refuses them -- ``creating``, a restart of any cause (whatever calls
        :meth:`restart`), ``suspended`` and ``unavailable`` -- as Render's instance does not
        answer before it is up. Safe to call without the backend's lock (the data plane's gate
        threads do, at each connection): it only reads attributes that are replaced whole.
        """
        return self.status(now) == "available"

    def restart(self, kind: RestartKind, now: float) -> None:
        """A restarting change was applied at ``now`` (absorbed while still creating)."""
        if self._creating(now):
            return
        if self._restart is not None:
            current, started = self._restart
            still_running = now < started + self._settings.restart_delay
            if still_running and current is RestartKind.PLAN:
                kind = RestartKind.PLAN  # a plan change in progress outranks a config restart
        self._restart = (kind, now)

    def suspend(self) -> None:
        """The instance is suspended from now on."""
        self._suspended = True

    def resume(self, now: float) -> None:
        """The instance starts again at ``now`` (no-op when not suspended)."""
        if self._suspended:
            self._suspended = False
            self._resumed_at = now
