"""Throughput of ``KeyValueProvider.check`` and ``.diff``, and proof that they call no API.

What is measured: ``KeyValueProvider().check({}, news)`` and ``.diff(id, olds, news)`` called
in this process (no gRPC, no provider server) on dicts shaped as the Pulumi engine sends them:
camelCase keys, numbers as floats, ``None`` values dropped and the ``__provider`` blob present
(a real one, pickled as the SDK pickles it). Four shapes:

* ``check: minimal cache``: ``KeyValue("cache", plan="starter", workload="cache")``;
* ``check: queue, 20-entry allow list``: a queue on ``standard`` with 20 unsorted CIDRs (IPv4
  hosts without a mask, ranges, IPv6) to parse, mask, deduplicate and sort;
* ``diff: plan upgrade``: old outputs of a ``starter`` cache against ``standard`` inputs;
* ``diff: no-op``: old outputs against the same checked inputs (every ``pulumi up`` does this).

How: each result is validated once; then each shape runs in batches long enough to time
(``time.perf_counter``, garbage collector left on), ``REPEATS`` times, and the table shows the
median ops/s and µs/op with the min-max spread. These are speeds to read, never assertions.

The correctness part: an emulator is started (no data plane) and ``RENDER_API_URL``,
``RENDER_API_KEY``, ``RENDER_OWNER_ID`` and ``RENDER_API_CLIENT_LIMITS=off`` point at it for the
whole run, so any request the provider made would reach it. The script prints the emulator's
request count after the run and exits 1 unless it is 0. A control request through a client built
from the same environment must then be counted, which shows the zero is not a wiring mistake.

Run it with ``make bench`` (with ``benchmarks/bench_lifecycle.py``), or alone with
``.venv/bin/python benchmarks/bench_planning.py``. Takes about 10 s.
"""

from __future__ import annotations

import os
import platform
import statistics
import sys
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from pulumi_render_kv.client import RenderClient, RenderSettings
from pulumi_render_kv.emulator import Emulator, EmulatorSettings, RateLimitSettings
from pulumi_render_kv.provider import KeyValueProvider
from pulumi_render_kv.testing import serialize_provider

REPEATS = 7
MIN_BATCH_SECONDS = 0.2
API_KEY = "rnd_benchmarkKey0123456789abcdef"
KV_ID = "red-d1benchmark0000000000"
METHODS = ("GET", "POST", "PATCH", "DELETE")

# 20 distinct networks, in no particular order, written as people write them.
ALLOW_LIST: tuple[tuple[str, str], ...] = (
    ("203.0.113.10", "office NAT"),
    ("198.51.100.0/24", "worker pool"),
    ("192.0.2.44", "bastion"),
    ("2001:db8::/48", "ipv6 office"),
    ("10.20.0.0/16", "vpc peering"),
    ("203.0.113.128/25", "ci runners"),
    ("100.64.0.0/10", "carrier NAT"),
    ("172.16.5.0/24", "staging"),
    ("192.0.2.45", "bastion standby"),
    ("2001:db8:1::1", "ipv6 host"),
    ("198.18.0.0/15", "load test"),
    ("203.0.113.11", "office NAT 2"),
    ("10.30.1.0/24", "batch jobs"),
    ("192.168.100.0/22", "vpn"),
    ("2001:db8:2::/64", "ipv6 workers"),
    ("172.31.255.7", "monitoring"),
    ("198.51.100.250/32", "partner"),
    ("10.40.0.0/20", "analytics"),
    ("192.0.2.128/26", "cdn edge"),
    ("2001:db8:ffff::/56", "ipv6 dr site"),
)


@dataclass(frozen=True)
class Case:
    """One shape to time: the call, and a check of its result (``None`` when correct)."""

    name: str
    call: Callable[[], Any]
    validate: Callable[[Any], str | None]


@dataclass(frozen=True)
class Timing:
    name: str
    per_op: list[float]  # seconds per operation, one value per repeat
    batch: int

    @property
    def median(self) -> float:
        return statistics.median(self.per_op)


@contextmanager
def environment(values: Mapping[str, str]) -> Iterator[None]:
    """Set environment variables for the block and restore the previous values after it."""
    saved = {key: os.environ.get(key) for key in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, old in saved.items():
            if old is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = old


def engine_news(blob: str, **props: Any) -> dict[str, Any]:
    """Inputs as the engine sends them: ``None`` dropped, ints as floats, ``__provider`` set."""
    news: dict[str, Any] = {"__provider": blob, "ipAllowList": []}
    for key, value in props.items():
        if value is None:
            continue
        is_int = isinstance(value, int) and not isinstance(value, bool)
        news[key] = float(value) if is_int else value
    return news


def engine_outputs(blob: str, checked: Mapping[str, Any], owner_id: str) -> dict[str, Any]:
    """State after a create: checked inputs plus Render's values, as the engine stores them."""
    host = KV_ID
    return {
        **checked,
        "__provider": blob,
        "ownerId": owner_id,
        "status": "available",
        "version": "8.1.4",
        "dashboardUrl": f"https://dashboard.render.com/r/{KV_ID}",
        "internalConnectionString": f"redis://{host}:6379",
        "externalConnectionString": f"rediss://{KV_ID}:pw@oregon-keyvalue.render.com:6379",
        "cliCommand": f"redis-cli --user {KV_ID} -h oregon-keyvalue.render.com --tls",
        "host": host,
        "port": 6379.0,
    }


def build_cases(provider: KeyValueProvider, owner_id: str) -> list[Case]:
    blob = serialize_provider(provider)
    minimal = engine_news(blob, name="cache", plan="starter", workload="cache")
    queue = engine_news(
        blob,
        name="jobs",
        plan="standard",
        region="frankfurt",
        workload="queue",
        deletionProtection=True,
        waitTimeout=1200,
    )
    queue["ipAllowList"] = [{"cidrBlock": c, "description": d} for c, d in ALLOW_LIST]

    def checked_news(news: dict[str, Any]) -> dict[str, Any]:
        # What Diff receives as news: Check's canonical inputs, with __provider put back.
        result = provider.check({}, news)
        if result.failures:
            raise SystemExit(f"setup: check failed: {result.failures}")
        return {**result.inputs, "__provider": blob}

    current = checked_news(minimal)
    olds = engine_outputs(blob, current, owner_id)
    upgraded = checked_news({**minimal, "plan": "standard"})

    def check_ok(expected_entries: int) -> Callable[[Any], str | None]:
        def validate(result: Any) -> str | None:
            if result.failures:
                return f"unexpected failures {result.failures}"
            entries = len(result.inputs.get("ipAllowList", []))
            if entries != expected_entries:
                return f"ipAllowList has {entries} entries, expected {expected_entries}"
            return None

        return validate

    def diff_ok(*, changes: bool) -> Callable[[Any], str | None]:
        def validate(result: Any) -> str | None:
            if result.changes is not changes or result.replaces:
                return f"changes={result.changes} replaces={result.replaces}, expected {changes}"
            return None

        return validate

    return [
        Case("check: minimal cache", lambda: provider.check({}, minimal), check_ok(0)),
        Case(
            "check: queue, 20-entry allow list",
            lambda: provider.check({}, queue),
            check_ok(len(ALLOW_LIST)),
        ),
        Case(
            "diff: plan upgrade starter -> standard",
            lambda: provider.diff(KV_ID, olds, upgraded),
            diff_ok(changes=True),
        ),
        Case("diff: no-op", lambda: provider.diff(KV_ID, olds, current), diff_ok(changes=False)),
    ]


def run_batch(call: Callable[[], Any], number: int) -> float:
    start = time.perf_counter()
    for _ in range(number):
        call()
    return time.perf_counter() - start


def measure(case: Case) -> Timing:
    """Grow the batch until it lasts ``MIN_BATCH_SECONDS``, then time ``REPEATS`` batches."""
    number = 1
    while True:
        elapsed = run_batch(case.call, number)
        if elapsed >= MIN_BATCH_SECONDS:
            break
        # Aim a little past the target so the loop usually ends on the next round.
        scale = 1.2 * MIN_BATCH_SECONDS / elapsed if elapsed > 0 else 10.0
        number = max(number * 2, int(number * min(scale, 100.0)))
    samples = [run_batch(case.call, number) / number for _ in range(REPEATS)]
    return Timing(case.name, samples, number)


def render_table(headers: list[str], rows: list[list[str]], right: set[int]) -> str:
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(headers)]

    def line(cells: list[str]) -> str:
        return " | ".join(
            c.rjust(widths[i]) if i in right else c.ljust(widths[i]) for i, c in enumerate(cells)
        )

    return "\n".join([line(headers), "-+-".join("-" * w for w in widths), *map(line, rows)])


def format_counts(counts: Mapping[str, int]) -> str:
    total = sum(counts.values())
    detail = ", ".join(f"{m} {counts.get(m, 0)}" for m in METHODS)
    others = {m: n for m, n in counts.items() if m not in METHODS}
    extra = "".join(f", {m} {n}" for m, n in sorted(others.items()))
    return f"{total} ({detail}{extra})"


def main() -> int:
    print("bench_planning: KeyValueProvider.check/diff in process, engine-shaped inputs")
    print(
        f"environment: Python {platform.python_version()} ({platform.python_implementation()}), "
        f"{platform.system()} {platform.machine()}, {os.cpu_count()} CPUs"
    )
    settings = EmulatorSettings(port=0, rate_limits=RateLimitSettings.unlimited(), data_plane=False)
    with Emulator(settings) as emu:
        env = {
            "RENDER_API_URL": emu.url,
            "RENDER_API_KEY": API_KEY,
            "RENDER_OWNER_ID": emu.owner_id,
            "RENDER_API_CLIENT_LIMITS": "off",
        }
        with environment(env):
            print(f"emulator: {emu.url} (RENDER_API_URL points here for the whole run)")
            emu.clear_requests()
            provider = KeyValueProvider()
            cases = build_cases(provider, emu.owner_id)
            problems = [
                f"{case.name}: {error}"
                for case in cases
                if (error := case.validate(case.call())) is not None
            ]
            if problems:
                print("FAIL: wrong results:\n  " + "\n  ".join(problems), file=sys.stderr)
                return 1
            timings = [measure(case) for case in cases]
            during_run = emu.request_counts()

            # Control: the same environment does reach the emulator, and is counted.
            emu.clear_requests()
            with RenderClient(RenderSettings.resolve()) as client:
                client.list_key_value()
            control = emu.request_counts()

    rows = [
        [
            t.name,
            f"{1 / t.median:,.0f}",
            f"{t.median * 1e6:.1f}",
            f"{min(t.per_op) * 1e6:.1f}-{max(t.per_op) * 1e6:.1f}",
            f"{REPEATS} x {t.batch:,}",
        ]
        for t in timings
    ]
    print()
    print(f"median of {REPEATS} batches, each >= {MIN_BATCH_SECONDS:g} s")
    print(
        render_table(
            ["case", "ops/s", "µs/op", "µs/op min-max", "batches x ops"],
            rows,
            right={1, 2, 3, 4},
        )
    )
    print()
    print(f"API requests seen by the emulator during the run: {format_counts(during_run)}")
    print(f"control (one list call via RENDER_API_URL): {format_counts(control)}")
    if sum(during_run.values()) != 0:
        print("FAIL: check/diff must not call the Render API", file=sys.stderr)
        return 1
    if control.get("GET") != 1:
        print("FAIL: the control request was not counted; the zero proves nothing", file=sys.stderr)
        return 1
    print("OK: zero API requests from check/diff")
    return 0


if __name__ == "__main__":
    sys.exit(main())
