"""Test doubles for the client tests: a fake clock and an in-memory Render behind MockTransport."""

from __future__ import annotations

import itertools
import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs

import httpx

from pulumi_render_kv.client import ClientLimits, RenderClient, RenderSettings, RetryPolicy

API_KEY = "rnd_TestKey0123456789abcdefXYZ"
OWNER_ID = "tea-d3p7t7buibrs738ekqeg"
BASE_URL = "https://api.test.render.com/v1"
PASSWORD = "Pw0rdAbCdEfGhIjKlMnOpQrStUvWxYz1"  # 32 chars, like Render's
REQUEST_ID = "api-77b8955cbd-dgpw5/1xnsbqNRn3-000750"


class FakeClock:
    """A monotonic clock whose sleep() just moves time forward (thread-safe)."""

    def __init__(self, start: float = 1_000.0) -> None:
        self.now = start
        self.sleeps: list[float] = []
        self._lock = threading.Lock()

    def __call__(self) -> float:
        with self._lock:
            return self.now

    def sleep(self, seconds: float) -> None:
        with self._lock:
            self.sleeps.append(seconds)
            self.now += max(0.0, seconds)

    def advance(self, seconds: float) -> None:
        with self._lock:
            self.now += seconds


def settings(**overrides: Any) -> RenderSettings:
    values: dict[str, Any] = {
        "api_key": API_KEY,
        "owner_id": OWNER_ID,
        "base_url": BASE_URL,
        "limits": ClientLimits.off(),
        "environ": {},
    }
    values.update(overrides)
    return RenderSettings.resolve(**values)


def make_client(
    handler: Callable[[httpx.Request], httpx.Response],
    clock: FakeClock | None = None,
    **overrides: Any,
) -> RenderClient:
    clock = clock or FakeClock()
    return RenderClient(
        settings(**overrides),
        transport=httpx.MockTransport(handler),
        clock=clock,
        sleep=clock.sleep,
        rng=lambda: 0.5,
    )


def owner_json(owner_id: str = OWNER_ID, name: str = "My Workspace") -> dict[str, Any]:
    return {"id": owner_id, "name": name, "email": "email@example.com", "type": "team"}


def kv_json(
    kv_id: str = "red-d8k3stdodlmc73btr2q0",
    name: str = "cache",
    *,
    owner_id: str = OWNER_ID,
    region: str = "oregon",
    plan: str = "starter",
    status: str = "available",
    policy: str = "allkeys_lru",
    persistence: str = "journal_snapshot",
    ip_allow_list: list[dict[str, str]] | None = None,
    environment_id: str | None = None,
    list_item: bool = False,
    created_at: str = "2026-06-09T16:25:25.48944232Z",
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": kv_id,
        "name": name,
        "plan": plan,
        "region": region,
        "status": status,
        "owner": owner_json(owner_id),
        "options": {"maxmemoryPolicy": policy, "persistenceMode": persistence},
        "ipAllowList": ip_allow_list,
        "version": "8.1.4",
        "createdAt": created_at,
        "updatedAt": "2026-06-09T16:25:25.489442Z",
    }
    if environment_id is not None:
        body["environmentId"] = environment_id
    if list_item:
        body["dashboardUrl"] = f"https://dashboard.render.com/r/{kv_id}"
    return body


def rfc3339(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, tz=UTC).isoformat().replace("+00:00", "Z")


def connection_info_json(kv_id: str = "red-d8k3stdodlmc73btr2q0") -> dict[str, str]:
    host = "oregon-keyvalue.render.com"
    return {
        "internalConnectionString": f"redis://{kv_id}:6379",
        "externalConnectionString": f"rediss://{kv_id}:{PASSWORD}@{host}:6379",
        "cliCommand": (
            f" REDISCLI_AUTH={PASSWORD} valkey-cli --user {kv_id} -h {host} -p 6379 --tls"
        ),
    }


def json_response(
    status: int, body: Any = None, headers: dict[str, str] | None = None
) -> httpx.Response:
    all_headers = {"Render-Request-Id": REQUEST_ID, **(headers or {})}
    if body is None:
        return httpx.Response(status, headers=all_headers)
    return httpx.Response(status, json=body, headers=all_headers)


@dataclass
class Fault:
    """What the fake does to one matching request.

    ``act``: carry the request out first (then fail), or fail without acting.
    ``status``: answer with this status; ``error``: raise this httpx exception class instead;
    neither: let the request through untouched.
    """

    status: int | None = None
    error: type[httpx.TransportError] | None = None
    act: bool = False
    headers: dict[str, str] = field(default_factory=dict)


class FakeRender:
    """An in-memory Render Key Value API with scripted faults, for MockTransport."""

    def __init__(self) -> None:
        self.instances: dict[str, dict[str, Any]] = {}
        self.requests: list[httpx.Request] = []
        self.faults: dict[tuple[str, str], list[Fault]] = {}
        self._ids = (f"red-{n:020d}" for n in itertools.count(1))
        self.wall_clock: Callable[[], float] = time.time  # stamps createdAt of what POST makes

    def seed(self, **kwargs: Any) -> dict[str, Any]:
        kv = kv_json(next(self._ids), **kwargs)
        self.instances[kv["id"]] = kv
        return kv

    def fail(self, method: str, path: str, *faults: Fault) -> None:
        self.faults.setdefault((method, path), []).extend(faults)

    def calls(self, method: str, path: str | None = None) -> int:
        return sum(
            1
            for r in self.requests
            if r.method == method and (path is None or r.url.path == "/v1" + path)
        )

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        path = request.url.path.removeprefix("/v1")
        queue = self.faults.get((request.method, path))
        if queue:
            fault = queue.pop(0)
            if fault.status is None and fault.error is None:
                return self._handle(request, path)
            if fault.act:
                self._handle(request, path)
            if fault.error is not None:
                raise fault.error("scripted failure", request=request)
            assert fault.status is not None
            return json_response(
                fault.status, {"message": f"scripted {fault.status}"}, fault.headers
            )
        return self._handle(request, path)

    def _handle(self, request: httpx.Request, path: str) -> httpx.Response:
        parts = path.strip("/").split("/")
        if parts == ["key-value"] and request.method == "GET":
            return self._list(request)
        if parts == ["key-value"] and request.method == "POST":
            body = json.loads(request.content)
            kv = kv_json(
                next(self._ids),
                body["name"],
                owner_id=body["ownerId"],
                region=body.get("region", "oregon"),
                plan=body["plan"],
                status="creating",
                created_at=rfc3339(self.wall_clock()),
            )
            self.instances[kv["id"]] = kv
            return json_response(201, kv)
        if len(parts) == 2 and parts[0] == "key-value":
            kv = self.instances.get(parts[1])
            if kv is None:
                return json_response(404, {"message": f"not found: {parts[1]}"})
            if request.method == "GET":
                return json_response(200, kv)
            if request.method == "DELETE":
                del self.instances[parts[1]]
                return json_response(204)
            if request.method == "PATCH":
                kv.update(
                    {k: v for k, v in json.loads(request.content).items() if k in {"name", "plan"}}
                )
                return json_response(200, kv)
        return json_response(404, {"message": "no route"})

    def _list(self, request: httpx.Request) -> httpx.Response:
        query = parse_qs(request.url.query.decode())
        items = list(self.instances.values())
        for key, attr in (("name", "name"), ("region", "region")):
            if key in query:
                wanted = query[key][0].split(",")
                items = [kv for kv in items if kv[attr] in wanted]
        if "ownerId" in query:
            wanted = query["ownerId"][0].split(",")
            items = [kv for kv in items if kv["owner"]["id"] in wanted]
        if "cursor" in query:
            ids = [kv["id"] for kv in items]
            items = items[ids.index(query["cursor"][0]) + 1 :]
        limit = int(query.get("limit", ["20"])[0])
        page = [
            {
                "keyValue": {**kv, "dashboardUrl": f"https://dashboard.render.com/r/{kv['id']}"},
                "cursor": kv["id"],
            }
            for kv in items[:limit]
        ]
        return json_response(200, page)


NO_RETRY = RetryPolicy(max_attempts=1)
