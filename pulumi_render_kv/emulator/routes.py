"""The HTTP layer: routing table, bearer auth, JSON in/out, errors → status + body, headers.

No Render rules live here: handlers read parameters with ``shapes``, call the ``Backend`` method
named after the operation, and serialise the result. Order of checks for a ``/v1`` request:
fault injection → rate limit → auth (401) → Accept (406) → body size (413, ``shapes.
MAX_BODY_BYTES``) → route (404/405) → handler.

Every ``/v1`` response carries the headers Render sends: ``Content-Type: application/json;
charset=utf-8`` (when there is a body), ``Render-Request-Id``, ``Ratelimit-Limit/Remaining/
Reset`` and the security headers; a 429 also carries ``Retry-After``. That includes a 500 for an
unexpected exception (a bug, a data-plane failure the backend did not translate, or one raised
while serving a fault): it is
answered as ``{"message": ...}`` like any Render error, logged with its traceback, and recorded
in the request log, instead of becoming werkzeug's bare HTML page.
"""

from __future__ import annotations

import contextlib
import hmac
import json
import logging
import re
import socket
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from werkzeug.wrappers import Request, Response

from . import errors, ids, shapes
from .backend import Backend
from .control import ControlPlane, Fault, FaultInjector, RequestLog, RequestRecord
from .metrics import Metric
from .ratelimit import Decision, RateLimitWindows
from .shapes import Flavor

logger = logging.getLogger("pulumi_render_kv.emulator.routes")

JSON_CONTENT_TYPE = "application/json; charset=utf-8"
STATIC_HEADERS = {
    "Referrer-Policy": "same-origin",
    "Vary": "Origin",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "X-Xss-Protection": "1; mode=block",
}
ACCEPTABLE_MEDIA_TYPES = frozenset({"*/*", "application/*", "application/json"})


@dataclass(frozen=True)
class Reply:
    """A handler's result: status and JSON body (``None`` = empty body)."""

    status: int
    body: Any = None


@dataclass(frozen=True)
class Call:
    """What a handler gets: the request, the path parameters and the API flavour."""

    request: Request
    params: dict[str, str]
    flavor: Flavor


Handler = Callable[["Api", Call], Reply]


@dataclass(frozen=True)
class Route:
    """One row of the routing table."""

    method: str
    pattern: re.Pattern[str]
    handler: Handler
    flavor: Flavor = Flavor.KEY_VALUE


def _path(template: str) -> re.Pattern[str]:
    return re.compile("^" + re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", template) + "$")


class Api:
    """The ``/v1`` WSGI application plus the ``/_emulator`` control plane."""

    def __init__(
        self,
        *,
        backend: Backend,
        limiter: RateLimitWindows,
        faults: FaultInjector,
        log: RequestLog,
        control: ControlPlane,
        api_key: str | None = None,
        null_empty_allow_list: bool = True,
        sleep: Callable[[float], object] | None = None,
        stopping: threading.Event | None = None,
    ) -> None:
        """``stopping`` is set when the emulator stops; the default ``sleep`` (fault delays)
        waits on it, so a stop interrupts every delayed request instead of waiting it out."""
        self.backend = backend
        self._limiter = limiter
        self._faults = faults
        self._log = log
        self._control = control
        self._api_key = api_key
        self._null_empty = null_empty_allow_list
        self._stopping = stopping if stopping is not None else threading.Event()
        self._sleep = sleep if sleep is not None else self._stopping.wait
        self._request_numbers = iter(range(1, 1 << 62))
        self._number_lock = threading.Lock()

    # -- WSGI --

    def __call__(
        self, environ: dict[str, Any], start_response: Callable[..., Any]
    ) -> Iterable[bytes]:
        """The WSGI entry point."""
        request = Request(environ)
        if request.path == ControlPlane.PREFIX or request.path.startswith(
            ControlPlane.PREFIX + "/"
        ):
            response = self._control.handle(request)
        else:
            response = self._handle_api(request, environ)
        return response(environ, start_response)

    def _handle_api(self, request: Request, environ: dict[str, Any]) -> Response:
        with self._number_lock:
            request_id = ids.new_request_id(next(self._request_numbers))
        token = self._bearer_token(request)
        fault = self._faults.take(request.method, request.path)
        try:
            response = self._answer(request, token, fault)
        except Exception as exc:
            # Anything the inner layers did not turn into a ApiError (a bug, or an injected
            # delay the sleep refused): still a Render-shaped 500 with the usual headers, and
            # still in the request log, never werkzeug's HTML page.
            logger.exception("%s %s failed unexpectedly", request.method, request.path)
            response = self._error_response(
                errors.InternalError(f"an unexpected server error has occurred: {exc!r}")
            )
        response.headers["Render-Request-Id"] = request_id
        response.headers.update(STATIC_HEADERS)
        self._log.record(
            RequestRecord(
                method=request.method,
                path=request.path,
                query=request.query_string.decode("latin-1"),
                status=response.status_code,
                fault=fault.mode if fault is not None else None,
                request_id=request_id,
            )
        )
        if fault is not None and fault.drop_connection:
            self._drop(environ)
        return response

    def _answer(self, request: Request, token: str | None, fault: Fault | None) -> Response:
        """The response, with rate-limit headers, after the fault's delay and status if any."""
        if fault is not None and fault.delay:
            self._sleep(fault.delay)
            if self._stopping.is_set():
                return self._error_response(errors.Stopping())
        if fault is not None and fault.status is not None:
            decision = self._limiter.peek(token or "", request.method, request.path)
            error = errors.InjectedFault(
                fault.status, f"injected fault: {fault.status}", fault.retry_after
            )
            response = self._error_response(error)
            response.headers.update(decision.headers())
            response.headers.pop("Retry-After", None)
            if fault.retry_after is not None:
                response.headers["Retry-After"] = str(fault.retry_after)
            return response
        decision = self._limiter.hit(token or "", request.method, request.path)
        response = self._respond(request, token, decision)
        response.headers.update(decision.headers())
        return response

    @staticmethod
    def _drop(environ: dict[str, Any]) -> None:
        """Close the client's connection without answering (the server already acted)."""
        sock = environ.get("werkzeug.socket")
        if isinstance(sock, socket.socket):
            with contextlib.suppress(OSError):  # the client may already be gone
                sock.shutdown(socket.SHUT_RDWR)
        # werkzeug's server treats ConnectionError as "client went away" and sends nothing;
        # in-process (no socket) the exception reaches the caller, as a dropped connection would.
        raise ConnectionAbortedError("connection dropped by an injected fault")

    def _respond(self, request: Request, token: str | None, decision: Decision) -> Response:
        try:
            if not decision.allowed:
                raise errors.RateLimitExceeded(decision.reset)
            self._authenticate(token)
            self._check_accept(request)
            shapes.check_body_size(request)
            route, params = self._match(request)
            # Time moves with the emulator's clock, not timers: runs that came due since the
            # last request start now, so this request already sees them.
            self.backend.run_due_maintenance()
            reply = route.handler(self, Call(request, params, route.flavor))
        except errors.ApiError as error:
            return self._error_response(error)
        except Exception as exc:
            # Logged at ERROR with the traceback: the CLI logs to stderr, and without any
            # logging configuration Python's last-resort handler writes it to stderr too.
            logger.exception(
                "%s %s failed with an unexpected exception", request.method, request.path
            )
            return self._error_response(
                errors.InternalError(f"an unexpected server error has occurred: {exc!r}")
            )
        return self._reply_response(reply)

    # -- cross-cutting checks --

    @staticmethod
    def _bearer_token(request: Request) -> str | None:
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            return None
        return token

    def _authenticate(self, token: str | None) -> None:
        if token is None:
            raise errors.Unauthorized()
        if self._api_key is not None and not hmac.compare_digest(
            token.encode(), self._api_key.encode()
        ):
            raise errors.Unauthorized()

    @staticmethod
    def _check_accept(request: Request) -> None:
        accept = request.headers.get("Accept")
        if accept is None or not accept.strip():
            return
        media_types = {part.split(";", 1)[0].strip().lower() for part in accept.split(",")}
        if not media_types & ACCEPTABLE_MEDIA_TYPES:
            raise errors.NotAcceptable(accept)

    def _match(self, request: Request) -> tuple[Route, dict[str, str]]:
        path_matched = False
        for route in ROUTES:
            found = route.pattern.match(request.path)
            if found is None:
                continue
            path_matched = True
            if route.method == request.method:
                return route, found.groupdict()
        if path_matched:
            raise errors.MethodNotAllowed(request.method, request.path)
        raise errors.NotFound(request.path)

    # -- responses --

    @staticmethod
    def _error_response(error: errors.ApiError) -> Response:
        response = Response(
            json.dumps({"message": error.message}, separators=(",", ":")),
            status=error.status,
            content_type=JSON_CONTENT_TYPE,
        )
        if isinstance(error, errors.RateLimitExceeded):
            response.headers["Retry-After"] = str(error.retry_after)
        return response

    @staticmethod
    def _reply_response(reply: Reply) -> Response:
        if reply.body is None:
            response = Response(status=reply.status)
            if reply.status != 204:
                response.headers["Content-Type"] = JSON_CONTENT_TYPE
            else:
                del response.headers["Content-Type"]
            return response
        return Response(
            json.dumps(reply.body, separators=(",", ":")),
            status=reply.status,
            content_type=JSON_CONTENT_TYPE,
        )

    def _body(self, call: Call) -> Any:
        return shapes.parse_json_body(
            shapes.read_body(call.request), call.request.headers.get("Content-Type")
        )

    @staticmethod
    def _args(call: Call) -> dict[str, list[str]]:
        return call.request.args.to_dict(flat=False)

    # -- handlers, named after the spec's operationIds --

    def list_key_value(self, call: Call) -> Reply:
        """``list-key-value`` / ``list-redis``."""
        rows = self.backend.list_key_value(shapes.parse_list_query(self._args(call)))
        return Reply(
            200,
            shapes.render_instance_list(rows, call.flavor, null_empty_allow_list=self._null_empty),
        )

    def create_key_value(self, call: Call) -> Reply:
        """``create-key-value`` / ``create-redis``."""
        operation = "redisPOSTInput" if call.flavor is Flavor.REDIS else "keyValuePOSTInput"
        view = self.backend.create_key_value(shapes.parse_create_input(self._body(call), operation))
        return Reply(201, shapes.render_instance(view, null_empty_allow_list=self._null_empty))

    def retrieve_key_value(self, call: Call) -> Reply:
        """``retrieve-key-value`` / ``retrieve-redis``."""
        view = self.backend.retrieve_key_value(call.params["instance_id"])
        return Reply(200, shapes.render_instance(view, null_empty_allow_list=self._null_empty))

    def update_key_value(self, call: Call) -> Reply:
        """``update-key-value`` / ``update-redis``."""
        instance_id = call.params["instance_id"]
        self.backend.retrieve_key_value(instance_id)  # 404 before body errors, like a lookup
        operation = "redisPATCHInput" if call.flavor is Flavor.REDIS else "keyValuePATCHInput"
        change = shapes.parse_update_input(self._body(call), operation)
        view = self.backend.update_key_value(instance_id, change)
        return Reply(200, shapes.render_instance(view, null_empty_allow_list=self._null_empty))

    def delete_key_value(self, call: Call) -> Reply:
        """``delete-key-value`` / ``delete-redis``."""
        self.backend.delete_key_value(call.params["instance_id"])
        return Reply(204)

    def retrieve_key_value_connection_info(self, call: Call) -> Reply:
        """``retrieve-key-value-connection-info`` / ``retrieve-redis-connection-info``."""
        info = self.backend.retrieve_key_value_connection_info(call.params["instance_id"])
        return Reply(200, shapes.render_connection_info(info, call.flavor))

    def suspend_key_value(self, call: Call) -> Reply:
        """``suspend-key-value`` / ``suspend-redis``."""
        self.backend.suspend_key_value(call.params["instance_id"])
        return Reply(202)

    def resume_key_value(self, call: Call) -> Reply:
        """``resume-key-value`` / ``resume-redis``."""
        self.backend.resume_key_value(call.params["instance_id"])
        return Reply(202)

    def get_resource_log_stream(self, call: Call) -> Reply:
        """``get-resource-log-stream``."""
        resource_id = call.params["resource_id"]
        override = self.backend.get_resource_log_stream(resource_id)
        return Reply(200, shapes.render_log_stream(resource_id, override))

    def update_resource_log_stream(self, call: Call) -> Reply:
        """``update-resource-log-stream``."""
        resource_id = call.params["resource_id"]
        self.backend.retrieve_key_value(resource_id)  # 404 before body errors, like a lookup
        override = shapes.parse_log_stream_input(self._body(call))
        saved = self.backend.update_resource_log_stream(resource_id, override)
        return Reply(200, shapes.render_log_stream(resource_id, saved))

    def delete_resource_log_stream(self, call: Call) -> Reply:
        """``delete-resource-log-stream``."""
        self.backend.delete_resource_log_stream(call.params["resource_id"])
        return Reply(204)

    def list_maintenance(self, call: Call) -> Reply:
        """``list-maintenance``: a bare array of runs."""
        views = self.backend.list_maintenance(shapes.parse_maintenance_query(self._args(call)))
        return Reply(200, [shapes.render_maintenance(view) for view in views])

    def retrieve_maintenance(self, call: Call) -> Reply:
        """``retrieve-maintenance``."""
        view = self.backend.retrieve_maintenance(call.params["maintenance_id"])
        return Reply(200, shapes.render_maintenance(view))

    def update_maintenance(self, call: Call) -> Reply:
        """``update-maintenance``: 202, no body (Render applies it asynchronously)."""
        run_id = call.params["maintenance_id"]
        self.backend.retrieve_maintenance(run_id)  # 404 before body errors, like a lookup
        scheduled_ns = shapes.parse_maintenance_update(self._body(call))
        self.backend.update_maintenance(run_id, scheduled_ns)
        return Reply(202)

    def trigger_maintenance(self, call: Call) -> Reply:
        """``trigger-maintenance``: 202, no body."""
        self.backend.trigger_maintenance(call.params["maintenance_id"])
        return Reply(202)

    def _metrics(self, call: Call, metric: Metric) -> Reply:
        series = self.backend.get_metrics(metric, shapes.parse_metrics_query(self._args(call)))
        return Reply(200, shapes.render_time_series(series))

    def get_memory(self, call: Call) -> Reply:
        """``get-memory``."""
        return self._metrics(call, Metric.MEMORY)

    def get_active_connections(self, call: Call) -> Reply:
        """``get-active-connections``."""
        return self._metrics(call, Metric.ACTIVE_CONNECTIONS)

    def get_cpu(self, call: Call) -> Reply:
        """``get-cpu``."""
        return self._metrics(call, Metric.CPU)

    def list_owners(self, call: Call) -> Reply:
        """``list-owners``."""
        names, emails, cursor, limit = shapes.parse_owner_query(self._args(call))
        rows = self.backend.list_owners(names, emails, cursor, limit)
        return Reply(200, shapes.render_owner_list(rows))

    def retrieve_owner(self, call: Call) -> Reply:
        """``retrieve-owner``."""
        return Reply(200, shapes.render_owner(self.backend.retrieve_owner(call.params["owner_id"])))

    def retrieve_environment(self, call: Call) -> Reply:
        """``retrieve-environment``."""
        environment = self.backend.retrieve_environment(call.params["environment_id"])
        return Reply(200, shapes.render_environment(environment))

    def add_resources_to_environment(self, call: Call) -> Reply:
        """``add-resources-to-environment``: 201 as observed (spec: 200)."""
        resource_ids = shapes.parse_resource_ids_body(self._body(call))
        environment = self.backend.add_resources_to_environment(
            call.params["environment_id"], resource_ids
        )
        return Reply(201, shapes.render_environment(environment))

    def remove_resources_from_environment(self, call: Call) -> Reply:
        """``remove-resources-from-environment``."""
        resource_ids = shapes.parse_resource_ids_query(self._args(call))
        self.backend.remove_resources_from_environment(call.params["environment_id"], resource_ids)
        return Reply(204)


def _instance_routes(prefix: str, flavor: Flavor) -> list[Route]:
    item = prefix + "/{instance_id}"
    return [
        Route("GET", _path(prefix), Api.list_key_value, flavor),
        Route("POST", _path(prefix), Api.create_key_value, flavor),
        Route("GET", _path(item), Api.retrieve_key_value, flavor),
        Route("PATCH", _path(item), Api.update_key_value, flavor),
        Route("DELETE", _path(item), Api.delete_key_value, flavor),
        Route(
            "GET", _path(item + "/connection-info"), Api.retrieve_key_value_connection_info, flavor
        ),
        Route("POST", _path(item + "/suspend"), Api.suspend_key_value, flavor),
        Route("POST", _path(item + "/resume"), Api.resume_key_value, flavor),
    ]


ROUTES: tuple[Route, ...] = (
    *_instance_routes("/v1/key-value", Flavor.KEY_VALUE),
    *_instance_routes("/v1/redis", Flavor.REDIS),
    *(
        Route(method, _path("/v1/logs/streams/resource/{resource_id}"), handler)
        for method, handler in (
            ("GET", Api.get_resource_log_stream),
            ("PUT", Api.update_resource_log_stream),
            ("DELETE", Api.delete_resource_log_stream),
        )
    ),
    Route("GET", _path("/v1/maintenance"), Api.list_maintenance),
    Route("GET", _path("/v1/maintenance/{maintenance_id}"), Api.retrieve_maintenance),
    Route("PATCH", _path("/v1/maintenance/{maintenance_id}"), Api.update_maintenance),
    Route("POST", _path("/v1/maintenance/{maintenance_id}/trigger"), Api.trigger_maintenance),
    Route("GET", _path("/v1/metrics/memory"), Api.get_memory),
    Route("GET", _path("/v1/metrics/active-connections"), Api.get_active_connections),
    Route("GET", _path("/v1/metrics/cpu"), Api.get_cpu),
    Route("GET", _path("/v1/owners"), Api.list_owners),
    Route("GET", _path("/v1/owners/{owner_id}"), Api.retrieve_owner),
    Route("GET", _path("/v1/environments/{environment_id}"), Api.retrieve_environment),
    Route(
        "POST",
        _path("/v1/environments/{environment_id}/resources"),
        Api.add_resources_to_environment,
    ),
    Route(
        "DELETE",
        _path("/v1/environments/{environment_id}/resources"),
        Api.remove_resources_from_environment,
    ),
)
