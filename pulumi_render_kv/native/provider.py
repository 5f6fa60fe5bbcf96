"""``KeyValueNativeProvider``: the core behind the SDK's real-provider interface.

Every method converts the engine's ``PropertyValue`` maps to the core's plain dicts, runs
the core's synchronous method in this provider's own thread pool, and converts the answer
back. Nothing here validates, plans, reconciles or waits: :class:`KeyValueCore` does,
exactly as for the dynamic resource. What only this face adds is what the protocol lets it
say: a diff per property, warnings on the resource, a partial create, import, invokes.

The pool is sized for ``pulumi up --parallel 50`` (64 workers by default,
``RENDER_KV_PROVIDER_WORKERS`` to change it): a create holds its worker for its whole wait,
so the event loop's default executor (a few workers per core) would serialise them again.
"""

from __future__ import annotations

import asyncio
import contextvars
import os
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict
from typing import Any, TypeVar

from pulumi.provider.experimental import provider as sdk
from pulumi.provider.experimental.property_value import PropertyValue

from pulumi_render_kv.catalog import CHANGE_RULES
from pulumi_render_kv.client import RenderClient
from pulumi_render_kv.core._config import ProviderConfig
from pulumi_render_kv.core._convert import COMPUTED_OUTPUTS
from pulumi_render_kv.core._find import find_by_id, find_by_name
from pulumi_render_kv.core._report import reporting_to
from pulumi_render_kv.core.reconcile import KeyValueCore
from pulumi_render_kv.errors import CreateIncomplete, LookupFailed, WaitTimedOut
from pulumi_render_kv.native import schema
from pulumi_render_kv.native._diff import detailed_diff
from pulumi_render_kv.native._engine_log import EngineLog
from pulumi_render_kv.native._values import plain_map, property_map, secret_keys
from pulumi_render_kv.spec import UNKNOWN

_T = TypeVar("_T")
DEFAULT_WORKERS = 64
ENV_WORKERS = "RENDER_KV_PROVIDER_WORKERS"
# Computed outputs: present once a create has finished (missing after a partial create).
_FINISHED_MARK = "internalConnectionString"


class PartialCreate(Exception):
    """A create that made an instance which is not ready: the engine records it anyway."""

    def __init__(self, instance_id: str, properties: dict[str, PropertyValue], reason: str):
        super().__init__(reason)
        self.instance_id = instance_id
        self.properties = properties
        self.reason = reason


def _workers() -> int:
    raw = os.environ.get(ENV_WORKERS, "")
    return int(raw) if raw.isdigit() and int(raw) > 0 else DEFAULT_WORKERS


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)


def _text(args: Mapping[str, Any], key: str) -> str | None:
    value = args.get(key)
    return value if isinstance(value, str) and value else None


class KeyValueNativeProvider(sdk.Provider):
    """``render-kv:index:KeyValue`` and ``render-kv:index:getKeyValue``."""

    def __init__(self, engine_log: EngineLog | None = None, *, workers: int | None = None):
        self._core = KeyValueCore()
        self._config = ProviderConfig()
        self._log = engine_log or EngineLog(None)
        self._pool = ThreadPoolExecutor(
            max_workers=workers or _workers(), thread_name_prefix="render-kv"
        )

    async def _run(self, urn: str, fn: Callable[[], _T]) -> _T:
        """``fn`` in the pool, its warnings and progress attached to ``urn``."""
        report = self._log.report_for(urn)

        def reported() -> _T:
            with reporting_to(report):
                return fn()

        context = contextvars.copy_context()
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._pool, context.run, reported)

    # --- the package --------------------------------------------------------------------

    async def get_schema(self, request: sdk.GetSchemaRequest) -> sdk.GetSchemaResponse:
        return sdk.GetSchemaResponse(schema=schema.schema_json())

    async def check_config(self, request: sdk.CheckRequest) -> sdk.CheckResponse:
        failures = [
            sdk.CheckFailure(key, "must be a string")
            for key in schema.CONFIG_ENV
            if key in request.new_inputs
            and not isinstance(request.new_inputs[key].value, str | type(None))
        ]
        inputs = dict(request.new_inputs)
        if "apiKey" in inputs:  # secret in state even when set as plain config
            inputs["apiKey"] = inputs["apiKey"].with_secret(True)
        return sdk.CheckResponse(inputs=inputs, failures=failures)

    async def configure(self, request: sdk.ConfigureRequest) -> sdk.ConfigureResponse:
        args = plain_map(request.args)
        # Unset values fall back to RENDER_API_KEY / RENDER_API_URL / RENDER_OWNER_ID when the
        # client is built (RenderSettings.resolve), as for the dynamic resource.
        self._config = ProviderConfig(
            api_key=_text(args, "apiKey"),
            owner_id=_text(args, "ownerId"),
            api_url=_text(args, "apiUrl"),
        )
        self._core.use_config(self._config)
        # Previews: Create and Update are called with preview=True (the engine assumes it of
        # a provider that handshakes) and answer without calling Render.
        return sdk.ConfigureResponse(accept_secrets=True, supports_preview=True)

    # --- check / diff: pure ---------------------------------------------------------------

    async def check(self, request: sdk.CheckRequest) -> sdk.CheckResponse:
        olds, news = plain_map(request.old_inputs), plain_map(request.new_inputs)
        if news.get("name") is None:
            # What the dynamic KeyValue does in the program: the resource's name by default.
            news["name"] = request.name
        result = await self._run(request.urn, lambda: self._core.check(olds, news))
        return sdk.CheckResponse(
            inputs=property_map(result.inputs or {}, secret_keys(request.new_inputs)),
            failures=[sdk.CheckFailure(f.property, f.reason) for f in result.failures or ()],
        )

    async def diff(self, request: sdk.DiffRequest) -> sdk.DiffResponse:
        olds, news = plain_map(request.old_state), plain_map(request.new_inputs)
        plan = await self._run(
            request.urn, lambda: self._core.plan_diff(request.resource_id, olds, news)
        )
        planned = plan.planned
        return sdk.DiffResponse(
            changes=plan.changes,
            replaces=planned.replaces,
            stables=[p for p in CHANGE_RULES if p not in planned.changed],
            delete_before_replace=planned.delete_before_replace,
            diffs=planned.changed,
            detailed_diff=detailed_diff(planned, olds, news),
        )

    # --- create / read / update / delete ------------------------------------------------

    async def create(self, request: sdk.CreateRequest) -> sdk.CreateResponse:
        props = plain_map(request.properties)
        secret = secret_keys(request.properties)
        if request.preview:
            # The engine asks a provider that handshakes for its planned outputs: the checked
            # inputs, and what only Render can say unknown. Not one API call.
            planned = {**{k: UNKNOWN for k in COMPUTED_OUTPUTS}, **props}
            return sdk.CreateResponse(resource_id="", properties=property_map(planned, secret))
        try:
            result = await self._run(request.urn, lambda: self._core.create(props))
        except CreateIncomplete as err:
            if err.instance_id is None or err.outputs is None:
                raise  # nothing exists that state could hold
            raise PartialCreate(
                err.instance_id, property_map(err.outputs, secret), str(err)
            ) from err
        return sdk.CreateResponse(
            resource_id=result.id, properties=property_map(result.outs or {}, secret)
        )

    async def read(self, request: sdk.ReadRequest) -> sdk.ReadResponse:
        # `pulumi import` sends neither state nor inputs: the id alone is read back.
        prior = request.properties or request.inputs
        props = plain_map(prior)
        secret = secret_keys(prior)
        result = await self._run(request.urn, lambda: self._core.read(request.resource_id, props))
        if not result.id:
            return sdk.ReadResponse(resource_id="")
        return sdk.ReadResponse(
            resource_id=result.id,
            properties=property_map(result.outs or {}, secret),
            inputs=property_map(result.inputs or {}, secret),
        )

    async def update(self, request: sdk.UpdateRequest) -> sdk.UpdateResponse:
        olds, news = plain_map(request.olds), plain_map(request.news)
        secret = secret_keys(request.news)
        if request.preview:  # the new inputs, and what Render computed as it was
            computed = {k: olds[k] for k in COMPUTED_OUTPUTS if k in olds}
            return sdk.UpdateResponse(properties=property_map({**news, **computed}, secret))
        if _FINISHED_MARK not in olds:
            # A create recorded before it was ready (the engine sends this Update because of
            # its init error): finish it first, then apply what changed since.
            # The wait is the one the program asks for now (raised, say, after the timeout).
            waited = {**olds, "waitTimeout": news.get("waitTimeout", olds.get("waitTimeout"))}
            try:
                finished = await self._run(
                    request.urn, lambda: self._core.finish_create(request.resource_id, waited)
                )
            except WaitTimedOut as err:
                raise PartialCreate(
                    request.resource_id, property_map(olds, secret_keys(request.olds)), str(err)
                ) from err
            olds = {**olds, **finished}
        result = await self._run(
            request.urn, lambda: self._core.update(request.resource_id, olds, news)
        )
        return sdk.UpdateResponse(properties=property_map(result.outs or {}, secret))

    async def delete(self, request: sdk.DeleteRequest) -> None:
        props = plain_map(request.properties)

        def delete() -> None:
            # The core names the resource's URN in a refused delete: it finds it as the
            # `request` of a frame up this thread's stack, as under the SDK's dynamic server.
            _in_request_frame(request, lambda: self._core.delete(request.resource_id, props))

        await self._run(request.urn, delete)

    async def cancel(self) -> None:
        """Nothing to stop: each wait ends by its own deadline, and no call is half-sent."""

    # --- functions ----------------------------------------------------------------------

    async def invoke(self, request: sdk.InvokeRequest) -> sdk.InvokeResponse:
        if request.tok != schema.GET_KEY_VALUE:
            raise LookupFailed(f"render-kv has no function {request.tok!r}")
        args = plain_map(request.args)
        instance_id, name = _text(args, "id"), _text(args, "name")
        if (instance_id is None) == (name is None):
            failure = sdk.CheckFailure("", "give exactly one of id, name")
            return sdk.InvokeResponse(failures=[failure])
        client = RenderClient.shared(self._config.settings())
        if instance_id is not None:
            found = await self._run("", lambda: find_by_id(client, instance_id))
        else:
            assert name is not None
            owner = _text(args, "ownerId") or self._config.settings().owner_id
            region = _text(args, "region")
            found = await self._run(
                "", lambda: find_by_name(client, name, owner_id=owner, region=region)
            )
        values = {_camel(k): v for k, v in asdict(found).items()}
        return sdk.InvokeResponse(return_value=property_map(values))


def _in_request_frame(request: Any, fn: Callable[[], None]) -> None:
    """Run ``fn`` with ``request`` a local of this frame (see KeyValueNativeProvider.delete)."""
    fn()
