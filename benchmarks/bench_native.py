"""The real provider against the dynamic one: cold start, and 50 creates at once.

    .venv/bin/python benchmarks/bench_native.py [--delay 3] [--parallel 50] [--starts 7]

*Cold start*: from spawning the plugin to its first answered Check (the dynamic server loads
the pickled provider, and with it this package, on that first call), median of alternating
starts. *Parallel creates*: an emulator whose instances take ``--delay`` s to become
available, every rate limit raised and the client's own limiter off; one create, then
``--parallel`` creates sent at once to one plugin process, as ``pulumi up --parallel 50``
sends them. Prints one table; nothing is asserted (``tests/native/test_parallel.py`` is
the test).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import grpc
from google.protobuf import empty_pb2, struct_pb2
from pulumi.runtime.proto import provider_pb2, provider_pb2_grpc

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from acceptance.conftest import provider_env  # noqa: E402
from native.harness import NativeEngine, NativePlugin, Plugins, StubEngine  # noqa: E402

from pulumi_render_kv.emulator import Emulator, EmulatorSettings, RateLimitSettings  # noqa: E402
from pulumi_render_kv.provider import KeyValueProvider  # noqa: E402
from pulumi_render_kv.testing import serialize_provider  # noqa: E402

INPUTS = {"plan": "starter", "workload": "cache"}
DYNAMIC_TYPE = "pulumi-python:dynamic/render-kv:KeyValue"


def _struct(values: dict[str, object]) -> struct_pb2.Struct:
    out = struct_pb2.Struct()
    out.update(values)
    return out


class DynamicPlugin:
    """``python -u -m pulumi.dynamic``, as the CLI's shim starts it (4 worker threads)."""

    def __init__(self, env: dict[str, str]) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-u", "-m", "pulumi.dynamic", "127.0.0.1:1"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            cwd=ROOT,
            env={**os.environ, **env, "PULUMI_PROJECT": "bench"},
        )
        assert self.process.stdout is not None
        port = int(self.process.stdout.readline())
        self.channel = grpc.insecure_channel(f"127.0.0.1:{port}")
        self.stub = provider_pb2_grpc.ResourceProviderStub(self.channel)
        self.stub.Configure(provider_pb2.ConfigureRequest(args=_struct({}), acceptSecrets=True))
        self.blob = serialize_provider(KeyValueProvider())

    def check(self, name: str) -> struct_pb2.Struct:
        news = {**INPUTS, "name": name, "__provider": self.blob}
        urn = f"urn:pulumi:dev::bench::{DYNAMIC_TYPE}::{name}"
        done = self.stub.Check(
            provider_pb2.CheckRequest(urn=urn, olds=_struct({}), news=_struct(news))
        )
        return done.inputs

    def create(self, name: str) -> None:
        urn = f"urn:pulumi:dev::bench::{DYNAMIC_TYPE}::{name}"
        self.stub.Create(
            provider_pb2.CreateRequest(urn=urn, properties=self.check(name)), timeout=600
        )

    def close(self) -> None:
        self.channel.close()
        self.process.kill()
        self.process.wait()
        if self.process.stdout is not None:
            self.process.stdout.close()
        if self.process.stdin is not None:
            self.process.stdin.close()


def _timed(fn: Callable[[], object]) -> float:
    started = time.monotonic()
    fn()
    return time.monotonic() - started


def cold_starts(env: dict[str, str], starts: int, stderr: Path) -> tuple[float, float]:
    native: list[float] = []
    dynamic: list[float] = []
    engine = StubEngine()
    try:
        for _ in range(starts):

            def start_native() -> None:
                plugin = NativePlugin(engine, env, stderr)
                try:
                    run = NativeEngine.__new__(NativeEngine)
                    run.plugin, run.calls, run.config, run.state = plugin, [], {}, {}
                    run._configure({})
                    run.check("cold", {}, INPUTS)
                finally:
                    plugin.close()

            def start_dynamic() -> None:
                plugin = DynamicPlugin(env)
                try:
                    plugin.stub.GetPluginInfo(empty_pb2.Empty())
                    plugin.check("cold")
                finally:
                    plugin.close()

            native.append(_timed(start_native))
            dynamic.append(_timed(start_dynamic))
    finally:
        engine.stop()
    return statistics.median(native), statistics.median(dynamic)


def parallel_creates(delay: float, parallel: int, stderr: Path) -> dict[str, tuple[float, float]]:
    settings = EmulatorSettings(
        port=0, data_plane=False, create_delay=delay, rate_limits=RateLimitSettings.unlimited()
    )
    results: dict[str, tuple[float, float]] = {}
    with Emulator(settings) as emu:
        env = provider_env(emu)
        with Plugins(env, stderr) as plugins:
            native = NativeEngine.on(plugins, plugins.start())
            one = _timed(lambda: native.create("one", {**INPUTS, "name": "one"}))
            with ThreadPoolExecutor(max_workers=parallel) as pool:
                names = [f"n-{i:02d}" for i in range(parallel)]
                many = _timed(
                    lambda: list(pool.map(lambda n: native.create(n, {**INPUTS, "name": n}), names))
                )
            results["real provider (render-kv)"] = (one, many)
        emu.reset()
        dynamic = DynamicPlugin({**env})
        try:
            one = _timed(lambda: dynamic.create("one"))
            with ThreadPoolExecutor(max_workers=parallel) as pool:
                names = [f"d-{i:02d}" for i in range(parallel)]
                many = _timed(lambda: list(pool.map(dynamic.create, names)))
            results["dynamic provider"] = (one, many)
        finally:
            dynamic.close()
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--delay", type=float, default=3.0, help="emulator create delay (s)")
    parser.add_argument("--parallel", type=int, default=50)
    parser.add_argument("--starts", type=int, default=7)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        stderr = Path(scratch) / "stderr.log"
        settings = EmulatorSettings(
            port=0, data_plane=False, rate_limits=RateLimitSettings.unlimited()
        )
        with Emulator(settings) as emu:
            native_start, dynamic_start = cold_starts(provider_env(emu), args.starts, stderr)
        creates = parallel_creates(args.delay, args.parallel, stderr)
    print("| measure | real provider | dynamic provider |\n|---|---|---|")
    starts = f"cold start to first Check (median of {args.starts})"
    print(f"| {starts} | {native_start:.2f} s | {dynamic_start:.2f} s |")
    n_one, n_many = creates["real provider (render-kv)"]
    d_one, d_many = creates["dynamic provider"]
    print(f"| one create (emulator delay {args.delay:g} s) | {n_one:.2f} s | {d_one:.2f} s |")
    print(f"| {args.parallel} creates at once | {n_many:.2f} s | {d_many:.2f} s |")
    print(f"| {args.parallel} at once / one | {n_many / n_one:.2f} x | {d_many / d_one:.2f} x |")


if __name__ == "__main__":
    main()
