"""The maintenance endpoints of :class:`~._client.RenderClient`: list, read, move, trigger runs."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime

from ._calls import Endpoints, Op
from ._errors import InvalidRequestError
from ._models import MaintenancePATCHInput, MaintenanceRun, request_json
from ._parsing import page_of, parse, parse_page
from ._query import csv, segment
from ._retry import AttemptInfo, maybe_acted

logger = logging.getLogger("pulumi_render_kv.client")

# What a triggered run moves on to: a retried trigger that meets one of these was ours.
_TRIGGERED_STATES = frozenset({"in_progress", "succeeded", "failed", "user_fix_required"})


def _maintenance_op(method: str, maintenance_id: str, suffix: str = "") -> Op:
    path = f"/maintenance/{segment(maintenance_id, 'maintenance_id')}{suffix}"
    return Op(method, "/maintenance/{maintenanceRunParam}" + suffix, path)


class MaintenanceEndpoints(Endpoints):
    """``/maintenance`` and ``/maintenance/{maintenanceRunParam}``."""

    def list_maintenance(
        self,
        *,
        resource_id: str | Sequence[str] | None = None,
        owner_id: str | Sequence[str] | None = None,
        state: str | Sequence[str] | None = None,
    ) -> list[MaintenanceRun]:
        """``GET /maintenance``: scheduled and recent runs of the resources (one bare array).

        Filters take one value or several, as :meth:`list_key_value`'s do.
        """
        op = Op("GET", "/maintenance", "/maintenance")
        params = {
            "resourceId": csv(resource_id, "resource_id"),
            "ownerId": csv(owner_id, "owner_id"),
            "state": csv(state, "state"),
        }
        return parse_page(op, self._caller.call(op, params=params), page_of(MaintenanceRun))

    def retrieve_maintenance(self, maintenance_id: str) -> MaintenanceRun:
        """``GET /maintenance/{maintenanceRunParam}`` (an ``mrn-…`` id)."""
        op = _maintenance_op("GET", maintenance_id)
        return parse(op, self._caller.call(op), MaintenanceRun)

    def update_maintenance(self, maintenance_id: str, scheduled_at: datetime) -> None:
        """``PATCH /maintenance/{maintenanceRunParam}`` (202): move the run to ``scheduled_at``.

        Render refuses (400) a time after the run's ``pendingMaintenanceBy``. Setting a time is
        a replacement, so repeating it after an uncertain failure is harmless. Asynchronous on
        Render: read the run back to see the new time.
        """
        op = _maintenance_op("PATCH", maintenance_id)
        body = MaintenancePATCHInput(scheduled_at=scheduled_at)
        self._caller.call(op, body=request_json(body))

    def trigger_maintenance(self, maintenance_id: str) -> None:
        """``POST /maintenance/{maintenanceRunParam}/trigger`` (202): start the run now.

        A retry after an attempt that may have reached Render can meet a run that attempt
        already started; Render then refuses the trigger (400), and the run's state (no longer
        ``scheduled``) shows it was done, so that counts as success.
        """
        op = _maintenance_op("POST", maintenance_id, "/trigger")

        def attempt(info: AttemptInfo) -> None:
            try:
                self._caller.send(op, deadline=info.deadline)
            except InvalidRequestError:
                if not any(maybe_acted(error) for error in info.previous_errors):
                    raise
                if self.retrieve_maintenance(maintenance_id).state not in _TRIGGERED_STATES:
                    raise
                logger.info("Render API POST %s: started by an uncertain attempt; done", op.path)

        self._caller.retrying(op, attempt)
