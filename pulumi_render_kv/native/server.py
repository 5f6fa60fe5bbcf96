"""The gRPC servicer the engine talks to, and the server that runs it.

It extends the SDK's ``ProviderServicer`` (``pulumi.provider.experimental.server``) where
that one cannot say what this provider must:

* ``Handshake``, so the engine learns at once that secrets are accepted;
* a create that made an instance which did not become ready: the SDK's server turns every
  exception into a plain error, and the engine would drop the instance from its plan. The
  protocol's answer is the error with ``ErrorResourceInitFailed`` details (id, outputs,
  reasons): the engine records the resource with an init error, and the next ``up`` sends
  an Update, which finishes the create;
* our errors as their one sentence (already scrubbed of secrets), not with a traceback
  appended; other exceptions keep theirs, as the SDK prints them.

The server is ``grpc.aio``: requests are not serialised by it; each one's blocking work runs
in the provider's own thread pool.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import stat
import sys
import threading
import traceback
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import grpc
import grpc.aio
from google.protobuf import empty_pb2
from pulumi.provider.experimental import provider as sdk
from pulumi.provider.experimental.property_value import PropertyValue
from pulumi.provider.experimental.server import ProviderServicer
from pulumi.runtime._grpc_settings import _GRPC_CHANNEL_OPTIONS
from pulumi.runtime.proto import provider_pb2, provider_pb2_grpc, status_pb2

from pulumi_render_kv.errors import KeyValueError, RenderError
from pulumi_render_kv.native import schema
from pulumi_render_kv.native._engine_log import EngineLog
from pulumi_render_kv.native.provider import KeyValueNativeProvider, PartialCreate

_T = TypeVar("_T")

_KINDS = {
    sdk.PropertyDiffKind.ADD: provider_pb2.PropertyDiff.ADD,
    sdk.PropertyDiffKind.ADD_REPLACE: provider_pb2.PropertyDiff.ADD_REPLACE,
    sdk.PropertyDiffKind.DELETE: provider_pb2.PropertyDiff.DELETE,
    sdk.PropertyDiffKind.DELETE_REPLACE: provider_pb2.PropertyDiff.DELETE_REPLACE,
    sdk.PropertyDiffKind.UPDATE: provider_pb2.PropertyDiff.UPDATE,
    sdk.PropertyDiffKind.UPDATE_REPLACE: provider_pb2.PropertyDiff.UPDATE_REPLACE,
}


def error_message(error: BaseException) -> str:
    """Ours as their sentence; anything else with its traceback, to find the bug."""
    if isinstance(error, KeyValueError | RenderError):
        return str(error)
    stack = "".join(traceback.format_exception(error))
    return f"{error}\n{stack}"


def _struct(values: dict[str, PropertyValue]) -> Any:
    return PropertyValue.marshal_map(values)


def _unmarshal(struct: Any) -> dict[str, PropertyValue]:
    return PropertyValue.unmarshal_map(struct)


def init_failed_status(error: PartialCreate, inputs: Any) -> grpc.Status:
    """The partial-failure answer the engine's ``parseError`` reads from the details."""
    detail = provider_pb2.ErrorResourceInitFailed(
        id=error.instance_id,
        properties=_struct(error.properties),
        reasons=[error.reason],
        inputs=inputs,
    )
    rpc_status = status_pb2.Status(code=grpc.StatusCode.UNKNOWN.value[0], message=error.reason)
    rpc_status.details.add().Pack(detail)
    status = grpc.Status()
    status.code = grpc.StatusCode.UNKNOWN
    status.details = error.reason
    status.trailing_metadata = (("grpc-status-details-bin", rpc_status.SerializeToString()),)
    return status


class KeyValueServicer(ProviderServicer):
    """The SDK's servicer, with Handshake, partial creates and one-line errors."""

    _provider: KeyValueNativeProvider

    async def _answer(self, context: Any, call: Callable[[], Awaitable[_T]]) -> _T:
        try:
            return await call()
        except PartialCreate:
            raise
        except Exception as err:
            await context.abort(grpc.StatusCode.UNKNOWN, error_message(err))
            raise  # abort raised already; for the type checker

    async def Handshake(self, request: Any, context: Any) -> Any:
        return provider_pb2.ProviderHandshakeResponse(
            accept_secrets=True, accept_resources=False, accept_outputs=False
        )

    async def Check(self, request: Any, context: Any) -> Any:
        resp = await self._answer(
            context,
            lambda: self._provider.check(
                sdk.CheckRequest(
                    request.urn,
                    _unmarshal(request.olds),
                    _unmarshal(request.news),
                    request.randomSeed,
                )
            ),
        )
        return provider_pb2.CheckResponse(
            inputs=_struct(resp.inputs or {}),
            failures=[
                provider_pb2.CheckFailure(property=f.property, reason=f.reason)
                for f in resp.failures or ()
            ],
        )

    async def Diff(self, request: Any, context: Any) -> Any:
        resp = await self._answer(
            context,
            lambda: self._provider.diff(
                sdk.DiffRequest(
                    request.urn,
                    request.id,
                    _unmarshal(request.olds),
                    _unmarshal(request.news),
                    list(request.ignoreChanges),
                )
            ),
        )
        changes = provider_pb2.DiffResponse.DIFF_NONE
        if resp.changes:
            changes = provider_pb2.DiffResponse.DIFF_SOME
        return provider_pb2.DiffResponse(
            replaces=resp.replaces,
            stables=resp.stables,
            deleteBeforeReplace=resp.delete_before_replace,
            changes=changes,
            diffs=resp.diffs,
            detailedDiff={
                k: provider_pb2.PropertyDiff(kind=_KINDS[v.kind], inputDiff=v.input_diff)
                for k, v in resp.detailed_diff.items()
            },
            hasDetailedDiff=True,
        )

    async def Create(self, request: Any, context: Any) -> Any:
        try:
            resp = await self._answer(
                context,
                lambda: self._provider.create(
                    sdk.CreateRequest(
                        request.urn,
                        _unmarshal(request.properties),
                        request.timeout,
                        request.preview,
                    )
                ),
            )
        except PartialCreate as partial:
            await context.abort_with_status(init_failed_status(partial, request.properties))
            raise
        return provider_pb2.CreateResponse(
            id=resp.resource_id or "", properties=_struct(resp.properties)
        )

    async def Read(self, request: Any, context: Any) -> Any:
        resp = await self._answer(
            context,
            lambda: self._provider.read(
                sdk.ReadRequest(
                    request.urn,
                    request.id,
                    _unmarshal(request.properties),
                    _unmarshal(request.inputs),
                )
            ),
        )
        if not resp.resource_id:
            return provider_pb2.ReadResponse(id="")
        return provider_pb2.ReadResponse(
            id=resp.resource_id,
            properties=_struct(resp.properties),
            inputs=_struct(resp.inputs),
        )

    async def Update(self, request: Any, context: Any) -> Any:
        try:
            resp = await self._answer(
                context,
                lambda: self._provider.update(
                    sdk.UpdateRequest(
                        request.urn,
                        request.id,
                        _unmarshal(request.olds),
                        _unmarshal(request.news),
                        timeout=request.timeout,
                        ignore_changes=list(request.ignoreChanges),
                        preview=request.preview,
                    )
                ),
            )
        except PartialCreate as partial:
            await context.abort_with_status(init_failed_status(partial, request.news))
            raise
        return provider_pb2.UpdateResponse(properties=_struct(resp.properties))

    async def Delete(self, request: Any, context: Any) -> Any:
        await self._answer(
            context,
            lambda: self._provider.delete(
                sdk.DeleteRequest(
                    request.urn, request.id, _unmarshal(request.properties), request.timeout
                )
            ),
        )
        return empty_pb2.Empty()

    async def Invoke(self, request: Any, context: Any) -> Any:
        resp = await self._answer(
            context,
            lambda: self._provider.invoke(sdk.InvokeRequest(request.tok, _unmarshal(request.args))),
        )
        fields: dict[str, Any] = {
            "return": _struct(resp.return_value) if resp.return_value else None,
            "failures": [
                provider_pb2.CheckFailure(property=f.property, reason=f.reason)
                for f in resp.failures
            ],
        }
        return provider_pb2.InvokeResponse(**fields)


def _exit_when_stdin_closes() -> None:
    """The engine holds a plugin's stdin pipe open while it lives: EOF means it is gone."""
    try:
        if not stat.S_ISFIFO(os.fstat(sys.stdin.fileno()).st_mode):
            return
    except (OSError, ValueError):
        return

    def watch() -> None:
        while sys.stdin.buffer.read(65536):
            pass
        os._exit(1)

    threading.Thread(target=watch, name="render-kv-stdin-watch", daemon=True).start()


async def serve(engine_address: str | None, args: list[str]) -> None:
    engine_log = EngineLog(engine_address)
    provider = KeyValueNativeProvider(engine_log)
    server = grpc.aio.server(options=_GRPC_CHANNEL_OPTIONS)
    servicer = KeyValueServicer(args, schema.VERSION, provider, engine_address or "")
    provider_pb2_grpc.add_ResourceProviderServicer_to_server(servicer, server)
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    sys.stdout.write(f"{port}\n")
    sys.stdout.flush()
    try:
        await server.wait_for_termination()
    finally:
        engine_log.close()


def main(argv: list[str] | None = None) -> None:
    """``python -m pulumi_render_kv.native <engine address> [--logtostderr] [-v=N] …``."""
    args = list(sys.argv[1:] if argv is None else argv)
    parser = argparse.ArgumentParser(prog="pulumi-resource-render-kv")
    parser.add_argument("engine", nargs="?", help="the Pulumi engine's gRPC address")
    known, _ = parser.parse_known_args(args)
    _exit_when_stdin_closes()
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve(known.engine, args))
