"""The emulator's control plane: fault injection, the request log, reset and seeding.

Served under ``/_emulator/`` (outside ``/v1``, no auth, no rate limits) and mirrored by methods
on ``Emulator`` for in-process tests:

- ``POST /_emulator/reset`` → 204: delete every instance (and its server) and environment,
  clear faults, the request log and rate-limit counters.
- ``POST /_emulator/faults`` → 201: ``{"method": "POST", "path": "/v1/key-value", "count": 1,
  "status": 503, "retryAfter": 7, "delay": 0.0, "dropConnection": false}``. The next ``count``
  requests whose method (``*`` = any) and path (``fnmatch`` pattern, ``*`` also crosses ``/``)
  match are delayed by ``delay`` seconds, then either answered with ``status`` (the request is
  not acted on) or acted on normally and their connection dropped without an answer
  (``dropConnection``: the create-then-timeout case; on a real socket the client sees the
  connection close, in-process the WSGI app raises ``ConnectionAbortedError``). ``delay`` is
  0..3600 seconds; stopping the emulator cuts a delay short and the request answers 503.
  ``GET`` lists pending faults, ``DELETE`` clears them.
- ``GET /_emulator/requests`` → ``{"requests": [{method, path, query, status, fault,
  requestId}], "counts": {"GET": n, …}}`` (``/v1`` requests only; the Authorization header is
  never recorded); ``DELETE`` clears the log and the counts.
- ``POST /_emulator/environments`` → 201 ``environment``: ``{"name": "production",
  "ownerId": "tea-…", "projectId": "prj-…", "protectedStatus": "unprotected",
  "networkIsolationEnabled": false}`` (all but ``name`` optional; ``ownerId`` defaults to the
  emulator's workspace, ``projectId`` to a new id: pass one to put environments in one project).
- ``POST /_emulator/key-value/{instanceId}/internal-auth`` → 204: ``{"enabled": true}``
  switches Render's internal authentication on (``false``: off) as its Dashboard does -- the
  instance restarts (``config_restart`` for the restart delay, the server process really
  restarts), then the internal URL needs the password and connection info's internal URL is
  ``redis://default:<password>@…``. Before it is on, ``default`` accepts any password.
  ``GET`` → 200 ``{"enabled": bool}``. 404 for an unknown instance, 409 while suspended.
- ``POST /_emulator/key-value/{instanceId}/rotate-password`` → 204: a new password, applied
  live; the old one gets ``WRONGPASS`` (connection info shows the new one).
- ``POST /_emulator/maintenance`` → 201 maintenance run (Render's shape): ``{"resourceId":
  "red-…", "scheduledAt": "2026-12-10T04:00:00Z", "pendingMaintenanceBy": "…", "type":
  "software_upgrade"}`` (``pendingMaintenanceBy`` and ``type`` optional) schedules a run as
  Render does by itself; the instance then reads ``maintenance_scheduled`` with its
  ``maintenance`` object, and ``/v1/maintenance`` serves it. It runs (a real restart of the
  server) when triggered, or at the first API request once ``scheduledAt`` has come on the
  emulator's clock. One open run per instance (400 for a second).
- ``GET /_emulator/health`` → 200 ``{"ok": true}``.
"""

from __future__ import annotations

import fnmatch
import itertools
import json
import logging
import re
import threading
from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

from werkzeug.wrappers import Request, Response

from . import errors, ids, shapes
from .backend import Backend
from .maintenance import DEFAULT_TYPE

logger = logging.getLogger("pulumi_render_kv.emulator.control")

# An hour: longer than any client's timeout, so every delay a test needs fits.
MAX_FAULT_DELAY = 3600.0

_INSTANCE = r"/key-value/(?P<instance_id>[^/]+)"
_INTERNAL_AUTH = re.compile(_INSTANCE + "/internal-auth")
_ROTATE_PASSWORD = re.compile(_INSTANCE + "/rotate-password")


@dataclass(frozen=True)
class Fault:
    """One pending fault; ``remaining`` requests will still meet it."""

    id: int
    method: str
    path: str
    remaining: int
    status: int | None = None
    retry_after: int | None = None
    delay: float = 0.0
    drop_connection: bool = False

    @property
    def mode(self) -> str:
        """``status``, ``drop`` or ``delay``: what the request meets."""
        if self.status is not None:
            return "status"
        return "drop" if self.drop_connection else "delay"

    def matches(self, method: str, path: str) -> bool:
        """Whether a request with ``method`` and ``path`` meets this fault."""
        return self.method in ("*", method.upper()) and fnmatch.fnmatchcase(path, self.path)

    def to_json(self) -> dict[str, Any]:
        """The control plane's JSON spelling."""
        return {
            "id": self.id,
            "method": self.method,
            "path": self.path,
            "count": self.remaining,
            "status": self.status,
            "retryAfter": self.retry_after,
            "delay": self.delay,
            "dropConnection": self.drop_connection,
        }


class FaultInjector:
    """Pending faults, consumed first-come first-served by matching requests."""

    def __init__(self) -> None:
        self._faults: list[Fault] = []
        self._ids = itertools.count(1)
        self._lock = threading.Lock()

    def add(
        self,
        *,
        method: str,
        path: str,
        status: int | None = None,
        count: int = 1,
        retry_after: int | None = None,
        delay: float = 0.0,
        drop_connection: bool = False,
    ) -> Fault:
        """Queue a fault; ``ValueError`` for a combination that means nothing."""
        if count < 1:
            raise ValueError("count must be >= 1")
        # `not <=` also catches NaN, for which every comparison is false; the upper bound keeps
        # 1e308 or Infinity from reaching time.sleep (OverflowError) or hanging a thread.
        if not 0 <= delay <= MAX_FAULT_DELAY:
            raise ValueError(
                f"delay must be a number of seconds from 0 to {MAX_FAULT_DELAY:g}, got {delay!r}"
            )
        if status is not None and not 400 <= status <= 599:
            raise ValueError("status must be an HTTP error status (400-599)")
        if status is not None and drop_connection:
            raise ValueError("choose either status or drop_connection, not both")
        if status is None and not drop_connection and delay == 0:
            raise ValueError("a fault needs a status, a delay or drop_connection")
        if retry_after is not None and status is None:
            raise ValueError("retry_after only goes with status")
        if not path.startswith("/"):
            raise ValueError("path must start with / (e.g. /v1/key-value or /v1/key-value/*)")
        with self._lock:
            fault = Fault(
                id=next(self._ids),
                method=method.upper(),
                path=path,
                remaining=count,
                status=status,
                retry_after=retry_after,
                delay=delay,
                drop_connection=drop_connection,
            )
            self._faults.append(fault)
            return fault

    def take(self, method: str, path: str) -> Fault | None:
        """The first pending fault matching the request, counted as used."""
        with self._lock:
            for index, fault in enumerate(self._faults):
                if fault.matches(method, path):
                    if fault.remaining == 1:
                        del self._faults[index]
                    else:
                        self._faults[index] = Fault(
                            **{**asdict(fault), "remaining": fault.remaining - 1}
                        )
                    return fault
            return None

    def pending(self) -> list[Fault]:
        """Faults not used up yet."""
        with self._lock:
            return list(self._faults)

    def clear(self) -> None:
        """Drop every pending fault."""
        with self._lock:
            self._faults.clear()


@dataclass(frozen=True)
class RequestRecord:
    """One ``/v1`` request as the log keeps it (never its headers)."""

    method: str
    path: str
    query: str
    status: int
    fault: str | None
    request_id: str

    def to_json(self) -> dict[str, Any]:
        """The control plane's JSON spelling."""
        return {
            "method": self.method,
            "path": self.path,
            "query": self.query,
            "status": self.status,
            "fault": self.fault,
            "requestId": self.request_id,
        }


class RequestLog:
    """Every ``/v1`` request the emulator answered (or dropped), in order."""

    def __init__(self) -> None:
        self._records: list[RequestRecord] = []
        self._counts: Counter[str] = Counter()
        self._lock = threading.Lock()

    def record(self, entry: RequestRecord) -> None:
        """Append one request."""
        with self._lock:
            self._records.append(entry)
            self._counts[entry.method] += 1

    def entries(self) -> list[RequestRecord]:
        """The log, oldest first."""
        with self._lock:
            return list(self._records)

    def counts(self) -> dict[str, int]:
        """Requests per method since the last clear."""
        with self._lock:
            return dict(self._counts)

    def clear(self) -> None:
        """Forget every request."""
        with self._lock:
            self._records.clear()
            self._counts.clear()


def _json(status: int, body: Any = None) -> Response:
    if body is None:
        return Response(status=status)
    return Response(json.dumps(body), status=status, content_type="application/json; charset=utf-8")


def _timestamp(value: Any, key: str) -> int:
    if not isinstance(value, str):
        raise ValueError(f"{key} (an RFC 3339 date-time, e.g. 2026-12-10T04:00:00Z) is required")
    try:
        return ids.parse_timestamp(value)
    except ValueError:
        raise ValueError(f"{key} {value!r} is not an RFC 3339 date-time") from None


def _optional_int(body: dict[str, Any], key: str) -> int | None:
    value = body.get(key)
    if value is None:
        return None
    if not isinstance(value, int) or isinstance(value, bool):
        raise ValueError(f"{key} must be an integer")
    return value


class ControlPlane:
    """Handles ``/_emulator/…`` requests; ``reset`` is supplied by the emulator."""

    PREFIX = "/_emulator"

    def __init__(
        self,
        *,
        backend: Backend,
        faults: FaultInjector,
        log: RequestLog,
        reset: Callable[[], None],
    ) -> None:
        self._backend = backend
        self._faults = faults
        self._log = log
        self._reset = reset

    def handle(self, request: Request) -> Response:
        """Answer one control request; bad input → 400 ``{"message": …}``."""
        route = (request.method, request.path.removeprefix(self.PREFIX).rstrip("/"))
        try:
            return self._dispatch(route, request)
        except (ValueError, errors.ApiError) as exc:
            status = exc.status if isinstance(exc, errors.ApiError) else 400
            return _json(status, {"message": str(exc)})
        except Exception as exc:
            # A bug: answered in the API's error shape, not werkzeug's HTML page.
            logger.exception("%s %s failed unexpectedly", request.method, request.path)
            return _json(500, {"message": f"an unexpected server error has occurred: {exc!r}"})

    def _dispatch(self, route: tuple[str, str], request: Request) -> Response:
        handlers: dict[tuple[str, str], Callable[[Request], Response]] = {
            ("GET", "/health"): lambda _: _json(200, {"ok": True}),
            ("POST", "/reset"): self._do_reset,
            ("GET", "/faults"): lambda _: _json(
                200, [fault.to_json() for fault in self._faults.pending()]
            ),
            ("POST", "/faults"): lambda r: _json(201, self._add_fault(self._body(r)).to_json()),
            ("DELETE", "/faults"): self._clear_faults,
            ("GET", "/requests"): lambda _: _json(
                200,
                {
                    "requests": [entry.to_json() for entry in self._log.entries()],
                    "counts": self._log.counts(),
                },
            ),
            ("DELETE", "/requests"): self._clear_requests,
            ("POST", "/environments"): self._add_environment,
            ("POST", "/maintenance"): self._schedule_maintenance,
        }
        handler = handlers.get(route)
        if handler is not None:
            return handler(request)
        method, path = route
        for pattern, methods in self._instance_routes().items():
            found = pattern.fullmatch(path)
            if found is not None and method in methods:
                return methods[method](request, found["instance_id"])
        return _json(404, {"message": f"not found: {request.path}"})

    def _instance_routes(
        self,
    ) -> dict[re.Pattern[str], dict[str, Callable[[Request, str], Response]]]:
        return {
            _INTERNAL_AUTH: {"GET": self._get_internal_auth, "POST": self._set_internal_auth},
            _ROTATE_PASSWORD: {"POST": self._rotate_password},
        }

    def _schedule_maintenance(self, request: Request) -> Response:
        body = self._body(request)
        known = {"resourceId", "scheduledAt", "pendingMaintenanceBy", "type"}
        if unknown := sorted(set(body) - known):
            raise ValueError(f"unknown maintenance fields: {', '.join(unknown)}")
        resource_id = body.get("resourceId")
        if not isinstance(resource_id, str) or not resource_id:
            raise ValueError("resourceId (a red-… id) is required")
        run_type = body.get("type", DEFAULT_TYPE)
        if not isinstance(run_type, str):
            raise ValueError("type must be a string")
        pending = body.get("pendingMaintenanceBy")
        view = self._backend.schedule_maintenance(
            resource_id,
            scheduled_ns=_timestamp(body.get("scheduledAt"), "scheduledAt"),
            pending_by_ns=None if pending is None else _timestamp(pending, "pendingMaintenanceBy"),
            run_type=run_type,
        )
        return _json(201, shapes.render_maintenance(view))

    def _get_internal_auth(self, _: Request, instance_id: str) -> Response:
        return _json(200, {"enabled": self._backend.internal_auth_enabled(instance_id)})

    def _set_internal_auth(self, request: Request, instance_id: str) -> Response:
        body = self._body(request)
        if unknown := sorted(set(body) - {"enabled"}):
            raise ValueError(f"unknown internal-auth fields: {', '.join(unknown)}")
        enabled = body.get("enabled")
        if not isinstance(enabled, bool):
            raise ValueError('enabled (true or false) is required, e.g. {"enabled": true}')
        self._backend.set_internal_auth(instance_id, enabled)
        return _json(204)

    def _rotate_password(self, _: Request, instance_id: str) -> Response:
        self._backend.rotate_password(instance_id)
        return _json(204)

    def _do_reset(self, _: Request) -> Response:
        self._reset()
        return _json(204)

    def _clear_faults(self, _: Request) -> Response:
        self._faults.clear()
        return _json(204)

    def _clear_requests(self, _: Request) -> Response:
        self._log.clear()
        return _json(204)

    def _add_environment(self, request: Request) -> Response:
        body = self._body(request)
        known = {"name", "ownerId", "projectId", "protectedStatus", "networkIsolationEnabled"}
        if unknown := sorted(set(body) - known):
            raise ValueError(f"unknown environment fields: {', '.join(unknown)}")
        name = body.get("name")
        owner_id = body.get("ownerId")
        protected = body.get("protectedStatus", "unprotected")
        isolated = body.get("networkIsolationEnabled", False)
        if not isinstance(name, str) or not name:
            raise ValueError("name (a non-empty string) is required")
        if owner_id is not None and not isinstance(owner_id, str):
            raise ValueError("ownerId must be a string")
        project_id = body.get("projectId")
        if project_id is not None and (not isinstance(project_id, str) or not project_id):
            raise ValueError("projectId must be a non-empty string (e.g. prj-…)")
        if not isinstance(protected, str):
            raise ValueError("protectedStatus must be 'protected' or 'unprotected'")
        if not isinstance(isolated, bool):
            raise ValueError("networkIsolationEnabled must be a boolean")
        environment = self._backend.add_environment(
            name,
            owner_id=owner_id,
            project_id=project_id,
            protected_status=protected,
            network_isolation_enabled=isolated,
        )
        return _json(201, shapes.render_environment(environment))

    @staticmethod
    def _body(request: Request) -> dict[str, Any]:
        try:
            body = json.loads(shapes.read_body(request) or b"{}")
        except ValueError as exc:
            raise ValueError(f"request body is not valid JSON: {exc}") from None
        except RecursionError:
            raise ValueError("request body is nested too deeply") from None
        if not isinstance(body, dict):
            raise ValueError("request body must be a JSON object")
        return body

    def _add_fault(self, body: dict[str, Any]) -> Fault:
        known = {"method", "path", "count", "status", "retryAfter", "delay", "dropConnection"}
        if unknown := sorted(set(body) - known):
            raise ValueError(f"unknown fault fields: {', '.join(unknown)}")
        method, path = body.get("method", "*"), body.get("path")
        if not isinstance(method, str) or not isinstance(path, str):
            raise ValueError("method and path must be strings (path is required)")
        delay = body.get("delay", 0.0)
        if not isinstance(delay, int | float) or isinstance(delay, bool):
            raise ValueError("delay must be a number of seconds")
        drop = body.get("dropConnection", False)
        if not isinstance(drop, bool):
            raise ValueError("dropConnection must be a boolean")
        count = _optional_int(body, "count")
        return self._faults.add(
            method=method,
            path=path,
            status=_optional_int(body, "status"),
            count=1 if count is None else count,
            retry_after=_optional_int(body, "retryAfter"),
            delay=float(delay),
            drop_connection=drop,
        )
