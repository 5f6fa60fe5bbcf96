"""The real provider (``python -m pulumi_render_kv.native``) driven as the engine drives it.

A stub of the engine's own gRPC service (``Log`` recorded, the rest unimplemented) is
started first, its address passed to the plugin as the engine passes it; the plugin prints
its port, and :class:`NativeEngine` sends it the requests the engine's step generator sends
(Check, Diff, Create, Update, Read, Delete, with Diff/Update/Delete given the old outputs),
keeping a state of its own. Secrets go over the wire wrapped, as they do to a provider that
accepts them; :func:`reveal` and :func:`secret_paths` read what comes back.
"""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
import threading
import uuid
from collections.abc import Mapping
from concurrent import futures
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import grpc
from google.protobuf import empty_pb2, json_format, struct_pb2
from pulumi.runtime.proto import (
    engine_pb2,
    engine_pb2_grpc,
    provider_pb2,
    provider_pb2_grpc,
    status_pb2,
)

PROVIDER_TYPE = "pulumi:providers:render-kv"
SECRET_SIG_KEY = "4dabf18193072939515e22adb298388d"
SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270"
TYPE = "render-kv:index:KeyValue"
PROJECT = "native-test"
STACK = "dev"


def secret(value: Any) -> dict[str, Any]:
    return {SECRET_SIG_KEY: SECRET_SIG, "value": value}


def is_secret(value: Any) -> bool:
    return isinstance(value, Mapping) and value.get(SECRET_SIG_KEY) == SECRET_SIG


def reveal(value: Any) -> Any:
    if is_secret(value):
        return reveal(value["value"])
    if isinstance(value, Mapping):
        return {k: reveal(v) for k, v in value.items()}
    if isinstance(value, list):
        return [reveal(v) for v in value]
    return value


def secret_paths(value: Any, prefix: str = "") -> set[str]:
    if is_secret(value):
        return {prefix}
    if isinstance(value, Mapping):
        return {
            p for k, v in value.items() for p in secret_paths(v, f"{prefix}.{k}" if prefix else k)
        }
    if isinstance(value, list):
        return {p for i, v in enumerate(value) for p in secret_paths(v, f"{prefix}[{i}]")}
    return set()


def struct(values: Mapping[str, Any]) -> struct_pb2.Struct:
    out = struct_pb2.Struct()
    out.update({k: v for k, v in values.items() if v is not None})
    return out


def plain(message: struct_pb2.Struct) -> dict[str, Any]:
    return json_format.MessageToDict(message)


def urn(name: str) -> str:
    return f"urn:pulumi:{STACK}::{PROJECT}::{TYPE}::{name}"


PROVIDER_URN = f"urn:pulumi:{STACK}::{PROJECT}::{PROVIDER_TYPE}::default"


class StubEngine(engine_pb2_grpc.EngineServicer):
    """The engine's ``Log`` service: every message kept, with its URN and severity."""

    def __init__(self) -> None:
        self.logs: list[engine_pb2.LogRequest] = []
        self._lock = threading.Lock()
        self._server = grpc.server(futures.ThreadPoolExecutor(max_workers=8))
        engine_pb2_grpc.add_EngineServicer_to_server(self, self._server)
        self.port = self._server.add_insecure_port("127.0.0.1:0")
        self._server.start()

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def Log(self, request: engine_pb2.LogRequest, context: Any) -> empty_pb2.Empty:
        with self._lock:
            self.logs.append(request)
        return empty_pb2.Empty()

    def warnings(self, name: str | None = None) -> list[str]:
        with self._lock:
            return [
                log.message
                for log in self.logs
                if log.severity == engine_pb2.WARNING and (name is None or log.urn == urn(name))
            ]

    def stop(self) -> None:
        self._server.stop(None)


@dataclass
class ProviderError(Exception):
    """A failed call: its code, message and, for a partial create, the init-failure details."""

    code: grpc.StatusCode
    message: str
    init_failed: provider_pb2.ErrorResourceInitFailed | None = None

    def __str__(self) -> str:
        return f"{self.code.name}: {self.message}"


def _init_failed(error: grpc.RpcError) -> provider_pb2.ErrorResourceInitFailed | None:
    for key, value in error.trailing_metadata() or ():  # type: ignore[attr-defined]
        if key == "grpc-status-details-bin":
            status = status_pb2.Status.FromString(value)
            for detail in status.details:
                found = provider_pb2.ErrorResourceInitFailed()
                if detail.Unpack(found):
                    return found
    return None


class NativePlugin:
    """The plugin process, started with the engine's address; ``call`` reaches it."""

    def __init__(self, engine: StubEngine, env: Mapping[str, str], stderr_path: Path) -> None:
        self.engine = engine
        self._stderr = stderr_path.open("ab")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "pulumi_render_kv.native", engine.address],
            stdin=subprocess.PIPE,  # held open, as the engine does; EOF ends the plugin
            stdout=subprocess.PIPE,
            stderr=self._stderr,
            env={**os.environ, **env},
        )
        assert self.process.stdout is not None
        line = self.process.stdout.readline().decode().strip()
        if not line.isdigit():
            self.close()
            raise RuntimeError(f"the plugin printed {line!r} instead of its port")
        self.channel = grpc.insecure_channel(f"127.0.0.1:{line}")
        grpc.channel_ready_future(self.channel).result(timeout=15)
        self.stub = provider_pb2_grpc.ResourceProviderStub(self.channel)

    def call(self, method: str, request: Any) -> Any:
        try:
            return getattr(self.stub, method)(request, timeout=120)
        except grpc.RpcError as error:
            raise ProviderError(error.code(), error.details() or "", _init_failed(error)) from None

    def close(self) -> None:
        if hasattr(self, "channel"):
            self.channel.close()
        if self.process.poll() is None:
            assert self.process.stdin is not None
            self.process.stdin.close()  # the engine's end: the plugin exits on EOF
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self.process.stdout is not None:
            self.process.stdout.close()
        self._stderr.close()


class Plugins:
    """Starts a plugin per command, as the CLI does, all logging to one stub engine."""

    def __init__(self, env: Mapping[str, str], stderr_path: Path) -> None:
        self.engine = StubEngine()
        self._env = dict(env)
        self._stderr_path = stderr_path
        self._live: list[NativePlugin] = []

    def start(self) -> NativePlugin:
        plugin = NativePlugin(self.engine, self._env, self._stderr_path)
        self._live.append(plugin)
        return plugin

    def stderr(self) -> str:
        return self._stderr_path.read_text() if self._stderr_path.exists() else ""

    def close(self) -> None:
        for plugin in self._live:
            plugin.close()
        self.engine.stop()

    def __enter__(self) -> Plugins:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


@dataclass
class Resource:
    id: str
    inputs: dict[str, Any]
    outputs: dict[str, Any]
    init_errors: list[str] = field(default_factory=list)


@dataclass
class Step:
    op: str  # create, same, update, replace, delete, read, import, refresh-delete
    name: str
    diff: provider_pb2.DiffResponse | None = None
    failures: list[provider_pb2.CheckFailure] = field(default_factory=list)


class NativeEngine:
    """The engine's steps for one resource type, with its own state.

    Each operation (preview, up, refresh, import, destroy) is one CLI command: a fresh
    plugin process, handshaken and configured, as the CLI starts one per command.
    """

    def __init__(self, plugins: Plugins, config: Mapping[str, Any] | None = None) -> None:
        self.plugins = plugins
        self.config = dict(config or {})
        self.state: dict[str, Resource] = {}
        self.calls: list[str] = []
        #: Every request sent, with its method, in order (compared with the real engine's).
        self.sent: list[tuple[str, Any]] = []
        self.plugin: NativePlugin | None = None
        self.provider_id = str(uuid.uuid4())  # the default provider's id, kept in state
        self._provider_in_state = False

    @classmethod
    def on(cls, plugins: Plugins, plugin: NativePlugin) -> NativeEngine:
        """An engine whose steps all go to ``plugin``, configured once (one long command)."""
        engine = cls(plugins)
        engine.plugin = plugin
        engine._configure(engine.config)
        return engine

    def create(self, name: str, inputs: Mapping[str, Any]) -> Resource:
        """Check, then Create: the step for a new resource, without starting a command."""
        checked = self.check(name, {}, inputs)
        assert not checked.failures, checked.failures
        self._create(name, plain(checked.inputs))
        return self.state[name]

    def command(self, *, runs_program: bool = True) -> NativePlugin:
        """A new command: the last one's plugin ends, a new one starts and is configured.

        A command that runs the program (preview, up) checks the provider's config, and
        diffs it against the config in state once there is one; refresh, import and destroy
        configure the provider straight from state, as the engine does.
        """
        self.end_command()
        self.plugin = self.plugins.start()
        self._configure(self.config, check=runs_program or not self._provider_in_state)
        return self.plugin

    def end_command(self) -> None:
        """The command's end: the engine cancels the plugin, then closes it."""
        if self.plugin is not None:
            self._call("Cancel", empty_pb2.Empty())
            self.plugin.close()
            self.plugin = None

    def _call(self, method: str, request: Any) -> Any:
        if self.plugin is None:
            self.command()
        assert self.plugin is not None
        self.calls.append(method)
        self.sent.append((method, request))
        return self.plugin.call(method, request)

    def _configure(self, config: Mapping[str, Any], check: bool = True) -> None:
        assert self.plugin is not None
        self._call(
            "Handshake",
            provider_pb2.ProviderHandshakeRequest(
                engine_address=self.plugin.engine.address,
                # What the engine (CLI v3.259) tells every provider it supports.
                configure_with_urn=True,
                supports_views=True,
                supports_refresh_before_update=True,
                invoke_with_preview=True,
                accepts_byte_string=True,
            ),
        )
        self._call("GetPluginInfo", empty_pb2.Empty())
        args = struct(config)
        if check:
            checked = self._call(
                "CheckConfig",
                provider_pb2.CheckRequest(
                    olds=struct({}),
                    news=struct(config),
                    urn=PROVIDER_URN,
                    name="default",
                    type=PROVIDER_TYPE,
                ),
            )
            assert not checked.failures, checked.failures
            args = checked.inputs
            if self._provider_in_state:
                self._call(
                    "DiffConfig",
                    provider_pb2.DiffRequest(
                        olds=struct(config),
                        old_inputs=struct(config),
                        news=args,
                        urn=PROVIDER_URN,
                        name="default",
                        type=PROVIDER_TYPE,
                    ),
                )
        self.configured = self._call(
            "Configure",
            provider_pb2.ConfigureRequest(
                args=args,
                acceptSecrets=True,
                acceptResources=True,
                sends_old_inputs=True,
                sends_old_inputs_to_delete=True,
                id=self.provider_id,
                urn=PROVIDER_URN,
                name="default",
                type=PROVIDER_TYPE,
            ),
        )

    def check(
        self, name: str, olds: Mapping[str, Any], news: Mapping[str, Any]
    ) -> provider_pb2.CheckResponse:
        return self._call(
            "Check",
            provider_pb2.CheckRequest(
                urn=urn(name),
                olds=struct(olds),
                news=struct(news),
                randomSeed=secrets.token_bytes(32),
                name=name,
                type=TYPE,
            ),
        )

    def diff(self, name: str, news: Mapping[str, Any]) -> provider_pb2.DiffResponse:
        old = self.state[name]
        return self._call(
            "Diff",
            provider_pb2.DiffRequest(
                id=old.id,
                urn=urn(name),
                name=name,
                type=TYPE,
                olds=struct(old.outputs),
                old_inputs=struct(old.inputs),
                news=struct(news),
            ),
        )

    def preview(self, name: str, inputs: Mapping[str, Any]) -> Step:
        self.command()
        old = self.state.get(name)
        checked = self.check(name, old.inputs if old else {}, inputs)
        if checked.failures:
            return Step("failed", name, failures=list(checked.failures))
        if old is None:
            # The engine previews a create with the provider: Create with preview set.
            self._call(
                "Create",
                provider_pb2.CreateRequest(
                    urn=urn(name), name=name, type=TYPE, properties=checked.inputs, preview=True
                ),
            )
            return Step("create", name)
        diff = self.diff(name, plain(checked.inputs))
        return Step(_op(diff, old), name, diff=diff)

    def up(self, name: str, inputs: Mapping[str, Any]) -> Step:
        self.command()
        old = self.state.get(name)
        checked = self.check(name, old.inputs if old else {}, inputs)
        if checked.failures:
            return Step("failed", name, failures=list(checked.failures))
        news = plain(checked.inputs)
        if old is None:
            self._create(name, news)
            return Step("create", name)
        diff = self.diff(name, news)
        op = _op(diff, old)
        if op == "same":  # the engine records the program's inputs of an unchanged resource
            old.inputs = news
        if op == "update":
            self._update(name, news)
        elif op == "replace":
            again = plain(self.check(name, {}, inputs).inputs)  # the engine's second Check
            if diff.deleteBeforeReplace:
                self._delete(name, self.state.pop(name))
                self._create(name, again)
            else:
                self._create(name, again, replacing=old)
                self._delete(name, old)
        return Step(op, name, diff=diff)

    def _create(self, name: str, news: dict[str, Any], replacing: Resource | None = None) -> None:
        try:
            done = self._call(
                "Create",
                provider_pb2.CreateRequest(
                    urn=urn(name), name=name, type=TYPE, properties=struct(news)
                ),
            )
        except ProviderError as error:
            if error.init_failed is None:
                raise
            failed = error.init_failed
            self.state[name] = Resource(
                failed.id, news, plain(failed.properties), list(failed.reasons)
            )
            raise
        self.state[name] = Resource(done.id, news, plain(done.properties))
        self._provider_in_state = True

    def _update(self, name: str, news: dict[str, Any]) -> None:
        old = self.state[name]
        try:
            done = self._call(
                "Update",
                provider_pb2.UpdateRequest(
                    id=old.id,
                    urn=urn(name),
                    name=name,
                    type=TYPE,
                    olds=struct(old.outputs),
                    old_inputs=struct(old.inputs),
                    news=struct(news),
                ),
            )
        except ProviderError as error:
            if error.init_failed is not None:
                old.init_errors = list(error.init_failed.reasons)
            raise
        self.state[name] = Resource(old.id, news, plain(done.properties))

    def continue_init(self, name: str, inputs: Mapping[str, Any]) -> Step:
        """The engine's empty Update for a resource recorded with init errors."""
        self.command()
        checked = self.check(name, self.state[name].inputs, inputs)
        news = plain(checked.inputs)
        diff = self.diff(name, news)
        self._update(name, news)
        return Step("update", name, diff=diff)

    def refresh(self, name: str) -> Step:
        """Read, then (the engine shows what a refresh changed) Diff of the state's inputs
        against what was read."""
        self.command(runs_program=False)
        old = self.state[name]
        read = self._call(
            "Read",
            provider_pb2.ReadRequest(
                id=old.id,
                urn=urn(name),
                name=name,
                type=TYPE,
                properties=struct(old.outputs),
                inputs=struct(old.inputs),
            ),
        )
        if not read.id:
            del self.state[name]
            return Step("refresh-delete", name)
        diff = self._call(
            "Diff",
            provider_pb2.DiffRequest(
                id=read.id,
                urn=urn(name),
                name=name,
                type=TYPE,
                olds=read.properties,
                old_inputs=read.inputs,
                news=struct(old.inputs),
            ),
        )
        self.state[name] = Resource(read.id, plain(read.inputs), plain(read.properties))
        return Step("refresh", name, diff=diff)

    def import_(self, name: str, instance_id: str) -> Step:
        """``pulumi import``: Read with the id alone, then Check of what it read."""
        self.command(runs_program=False)
        read = self._call(
            "Read", provider_pb2.ReadRequest(id=instance_id, urn=urn(name), name=name, type=TYPE)
        )
        if not read.id:  # the engine's own words
            raise ProviderError(
                grpc.StatusCode.NOT_FOUND, f"resource '{instance_id}' does not exist"
            )
        inputs = plain(read.inputs)
        checked = self.check(name, inputs, inputs)  # the engine's olds: the read inputs too
        if checked.failures:
            return Step("failed", name, failures=list(checked.failures))
        self.state[name] = Resource(read.id, plain(checked.inputs), plain(read.properties))
        return Step("import", name)

    def delete(self, name: str) -> None:
        """``pulumi up`` of a program that no longer declares ``name``."""
        self.command()
        self._delete(name, self.state.pop(name))

    def _delete(self, name: str, old: Resource) -> None:
        self._call(
            "Delete",
            provider_pb2.DeleteRequest(
                id=old.id,
                urn=urn(name),
                name=name,
                type=TYPE,
                properties=struct(old.outputs),
                old_inputs=struct(old.inputs),
            ),
        )

    def destroy(self) -> None:
        self.command(runs_program=False)
        for name in reversed(list(self.state)):
            self._delete(name, self.state.pop(name))
        self._provider_in_state = False  # the engine deletes the default provider last

    def invoke(self, args: Mapping[str, Any]) -> provider_pb2.InvokeResponse:
        return self._call(
            "Invoke",
            provider_pb2.InvokeRequest(tok="render-kv:index:getKeyValue", args=struct(args)),
        )


def _op(diff: provider_pb2.DiffResponse, old: Resource) -> str:
    if diff.changes == provider_pb2.DiffResponse.DIFF_SOME:
        return "replace" if diff.replaces else "update"
    return "update" if old.init_errors else "same"


def detailed(diff: provider_pb2.DiffResponse) -> dict[str, str]:
    return {k: provider_pb2.PropertyDiff.Kind.Name(v.kind) for k, v in diff.detailedDiff.items()}
