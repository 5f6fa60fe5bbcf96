"""Wall time and Render API requests of each lifecycle operation, over gRPC, on 5 instances.

What is measured: a stack of ``N`` = 5 ``KeyValue`` resources (``plan="starter"``,
``workload="cache"``), driven by the test harness's :class:`Engine` through the SDK's own
``python -m pulumi.dynamic`` provider server (:class:`ProviderServer`), against the local
emulator with its data plane on, so a create starts a real redis-server/valkey-server process,
as it costs in the demo and the tests. Per round, on a fresh stack:

preview (new) -> create (up) -> no-op up -> in-place update (maxmemory policy
``allkeys-lru`` -> ``allkeys-lfu``, which restarts the instance) -> refresh -> destroy.

Each operation covers the whole stack (all ``N`` instances), as one CLI command would. The table
shows its wall time (``time.perf_counter`` around the harness call: program run, RPCs, provider,
HTTP, emulator, data plane), the median over ``ROUNDS`` rounds after one warm-up round that is
not counted, and the API requests it made per HTTP method (``Emulator.request_counts()`` after
minus before; one number when every round agrees, else ``min-max``, and the 4xx/5xx responses
that made a client retry are listed under the table). Every operation's result is checked (each
resource created/same/updated/deleted as expected), and any surprise stops the run with exit
status 1. Speeds are printed, never asserted.

Not included: the time Render takes to create or restart an instance (minutes; the emulator's
``create_delay``/``restart_delay`` are 0, so the provider's wait returns on its first poll) and
the plugin start the CLI pays on every command (one provider server serves all operations here;
its start-up time is printed once).

Everything started here (emulator, its server processes, the provider server) is stopped at the
end, on error, on Ctrl-C and on SIGTERM.

Run it with ``make bench`` (after ``benchmarks/bench_planning.py``), or alone with
``.venv/bin/python benchmarks/bench_lifecycle.py``. Takes about 10 s.
"""

from __future__ import annotations

import contextlib
import os
import platform
import re
import signal
import statistics
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from importlib.metadata import version
from pathlib import Path
from types import FrameType
from typing import Any

import pulumi_render_kv as render_kv
from pulumi_render_kv.emulator import Emulator, EmulatorSettings, RateLimitSettings
from pulumi_render_kv.emulator.dataplane import find_server_binary
from pulumi_render_kv.testing import Engine, EngineError, OperationResult, ProviderServer

ROOT = Path(__file__).resolve().parents[1]
PROJECT = "render-kv-bench"
API_KEY = "rnd_benchmarkKey0123456789abcdef"
N = 5
ROUNDS = 9
METHODS = ("GET", "POST", "PATCH", "DELETE")
NAMES = tuple(f"kv-{i}" for i in range(N))


def stack_program(maxmemory_policy: str | None = None) -> Callable[[], None]:
    """A program with ``N`` cache instances (the workload's policy unless one is given)."""

    def program() -> None:
        for name in NAMES:
            render_kv.KeyValue(
                name, plan="starter", workload="cache", maxmemory_policy=maxmemory_policy
            )

    return program


@dataclass(frozen=True)
class Operation:
    label: str
    run: Callable[[Engine], OperationResult]
    expected_op: str  # what every resource's step must be


OPERATIONS: tuple[Operation, ...] = (
    Operation("preview (new)", lambda e: e.preview(stack_program()), "create"),
    Operation("create (up)", lambda e: e.up(stack_program()), "create"),
    Operation("no-op up", lambda e: e.up(stack_program()), "same"),
    Operation(
        "update in place (policy, restart)",
        lambda e: e.up(stack_program("allkeys-lfu")),
        "update",
    ),
    Operation("refresh", lambda e: e.refresh(), "same"),
    Operation("destroy", lambda e: e.destroy(), "delete"),
)


class BenchmarkError(Exception):
    """An operation did not do what it should: the numbers would be meaningless."""


@dataclass
class Sample:
    seconds: float
    requests: dict[str, int]


def request_delta(before: Mapping[str, int], after: Mapping[str, int]) -> dict[str, int]:
    methods = set(before) | set(after)
    delta = {m: after.get(m, 0) - before.get(m, 0) for m in methods}
    return {m: n for m, n in delta.items() if n}


def verify(op: Operation, plan: OperationResult, engine: Engine) -> None:
    if not plan.ok:
        raise BenchmarkError(f"{op.label}: {plan.error}")
    expected = dict.fromkeys(NAMES, op.expected_op)
    if plan.ops != expected:
        raise BenchmarkError(f"{op.label}: steps {plan.ops}, expected {expected}")
    if op.label.startswith("update"):
        policies = {engine.resource(n).outputs["maxmemoryPolicy"] for n in NAMES}
        if policies != {"allkeys_lfu"}:
            raise BenchmarkError(f"{op.label}: maxmemoryPolicy in state is {policies}")
    if op.label == "destroy" and engine.resources:
        raise BenchmarkError(f"destroy left {[r.name for r in engine.resources]} in state")


def run_round(server: ProviderServer, emu: Emulator, stack: str) -> list[Sample]:
    """One full lifecycle on a fresh stack; one sample per operation."""
    engine = Engine(server, stack=stack)
    samples: list[Sample] = []
    for op in OPERATIONS:
        before = emu.request_counts()
        start = time.perf_counter()
        plan = op.run(engine)
        seconds = time.perf_counter() - start
        after = emu.request_counts()
        verify(op, plan, engine)
        samples.append(Sample(seconds, request_delta(before, after)))
    return samples


def error_responses(entries: list[dict[str, Any]]) -> str:
    """``METHOD path -> status (xN)`` for each kind of 4xx/5xx or injected-fault response."""
    kinds = Counter(
        f"{e['method']} {re.sub(r'/red-[a-z0-9]+', '/{id}', e['path'])} -> {e['status']}"
        for e in entries
        if e["status"] >= 400 or e["fault"]
    )
    return ", ".join(f"{kind} (x{n})" for kind, n in sorted(kinds.items()))


def server_version() -> str:
    binary = find_server_binary()
    result = subprocess.run(  # fixed argv: the binary the emulator will run
        [binary, "--version"], capture_output=True, text=True, check=True, timeout=10
    )
    return f"{binary}: {result.stdout.strip()}"


def count_cell(values: list[int]) -> str:
    low, high = min(values), max(values)
    return str(low) if low == high else f"{low}-{high}"


def render_table(headers: list[str], rows: list[list[str]]) -> str:
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(headers)]

    def line(cells: list[str]) -> str:
        return " | ".join(
            c.ljust(widths[i]) if i == 0 else c.rjust(widths[i]) for i, c in enumerate(cells)
        )

    return "\n".join([line(headers), "-+-".join("-" * w for w in widths), *map(line, rows)])


def results_table(rounds: list[list[Sample]]) -> str:
    rows = []
    for index, op in enumerate(OPERATIONS):
        samples = [r[index] for r in rounds]
        median_ms = statistics.median(s.seconds for s in samples) * 1000
        counts = [count_cell([s.requests.get(m, 0) for s in samples]) for m in METHODS]
        rows.append([op.label, f"{median_ms:.1f}", *counts])
    others = sorted({m for r in rounds for s in r for m in s.requests} - set(METHODS))
    table = render_table(["operation", "wall time median (ms)", *METHODS], rows)
    if others:
        table += f"\nother methods seen (not in the table): {', '.join(others)}"
    return table


@contextlib.contextmanager
def sigterm_as_exit() -> Iterator[None]:
    """Turn SIGTERM into SystemExit so the ``with`` blocks below still stop what they started."""

    def handler(signum: int, _frame: FrameType | None) -> None:
        raise SystemExit(128 + signum)

    previous = signal.signal(signal.SIGTERM, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def main() -> int:
    print(f"bench_lifecycle: {N} KeyValue instances per operation, over gRPC, data plane on")
    print(
        f"environment: Python {platform.python_version()} ({platform.python_implementation()}), "
        f"{platform.system()} {platform.machine()}, {os.cpu_count()} CPUs, "
        f"pulumi {version('pulumi')}, grpcio {version('grpcio')}"
    )
    print(f"server: {server_version()}")
    settings = EmulatorSettings(
        port=0,
        rate_limits=RateLimitSettings.unlimited(),
        data_plane=True,
        create_delay=0.0,
        restart_delay=0.0,
    )
    with sigterm_as_exit(), contextlib.ExitStack() as stack:
        emu = stack.enter_context(Emulator(settings))
        env = {
            "RENDER_API_URL": emu.url,
            "RENDER_API_KEY": API_KEY,
            "RENDER_OWNER_ID": emu.owner_id,
            "RENDER_API_CLIENT_LIMITS": "off",
        }
        start = time.perf_counter()
        server = stack.enter_context(ProviderServer(cwd=ROOT, project=PROJECT, env=env))
        started_ms = (time.perf_counter() - start) * 1000
        print(f"provider server (python -m pulumi.dynamic) started in {started_ms:.0f} ms")
        try:
            warmup = run_round(server, emu, "warmup")
            logged = len(emu.requests())
            rounds = [run_round(server, emu, f"round-{i}") for i in range(ROUNDS)]
        except (BenchmarkError, EngineError) as err:
            print(f"FAIL: {err}", file=sys.stderr)
            print(f"provider stderr (last lines):\n{server.stderr_text()[-2000:]}", file=sys.stderr)
            return 1
        refused = error_responses(emu.requests()[logged:])
    warm = ", ".join(
        f"{op.label} {s.seconds * 1000:.0f} ms" for op, s in zip(OPERATIONS, warmup, strict=True)
    )
    print(f"warm-up round (not in the table): {warm}")
    print()
    print(
        f"per operation on the whole stack of {N} instances; wall time = median of {ROUNDS} "
        "rounds; GET..DELETE = API requests the operation made"
    )
    print(results_table(rounds))
    # A retried request (say, a POST answered 500 because a server process could not start)
    # shows as a range above; this says which responses caused it.
    print(f"error responses during the measured rounds: {refused or 'none'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
