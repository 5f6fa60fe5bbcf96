"""Throughput of the external TLS gate, next to the plain internal port it fronts.

What is measured, on one instance of a fresh local data plane (a real redis-server/valkey-server):

- ``ping x1000``: 1,000 PINGs, one after the other, over one authenticated connection
  (redis-py, RESP2), so each one pays a full round trip through the gate;
- ``50 x 100 SET``: 50 threads, each with its own connection, each doing 100 SETs one after
  the other; wall time from the moment every connection is authenticated until the last SET;
- ``pipeline 10k``: 10,000 SETs in one pipeline over one connection (bulk bytes, back-pressure).

Each is run ``ROUNDS`` times after one warm-up round, once through the external endpoint (TLS +
gate) and once on the internal port (no gate), and the median is printed with the rate. The
internal numbers are the floor the gate adds its cost to. Speeds are printed, never asserted.

Run it with ``.venv/bin/python benchmarks/bench_gate.py``; takes about 10-30 s.

Measured when the gate moved from a hand-written ``selectors`` loop to asyncio streams (issue 8;
2 shared cores, so runs of the two gates were interleaved, old/new/old/new, medians of 5):

=====================  ===============  ===============
external endpoint       selector loop    asyncio streams
=====================  ===============  ===============
ping x1000              0.171 / 0.194 s  0.185 / 0.179 s
50 x 100 SET            1.072 / 1.126 s  1.045 / 1.183 s
pipeline 10k SET        0.134 / 0.134 s  0.133 / 0.143 s
=====================  ===============  ===============

The difference is within the run-to-run noise, so the selector loop bought nothing measurable.
"""

from __future__ import annotations

import statistics
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

import redis

from pulumi_render_kv.emulator.dataplane import DataPlane, Endpoints, InstanceConfig

ROUNDS = 5
CLIENTS = 50
SETS_PER_CLIENT = 100
PINGS = 1000
PIPELINED = 10_000


def _client(
    plane: DataPlane, endpoints: Endpoints, config: InstanceConfig, external: bool
) -> redis.Redis:
    if not external:
        return redis.Redis(endpoints.host, endpoints.internal_port, socket_timeout=30)
    return redis.Redis(
        endpoints.host,
        endpoints.external_port,
        username=config.instance_id,
        password=config.password,
        ssl=True,
        ssl_ca_certs=str(plane.ca_cert_path),
        socket_timeout=30,
    )


def _pings(connect: Callable[[], redis.Redis]) -> float:
    with connect() as client:
        client.ping()  # connect and authenticate outside the timing
        start = time.perf_counter()
        for _ in range(PINGS):
            client.ping()
        return time.perf_counter() - start


def _concurrent_sets(connect: Callable[[], redis.Redis]) -> float:
    clients = [connect() for _ in range(CLIENTS)]
    try:
        for client in clients:
            client.ping()
        barrier = threading.Barrier(CLIENTS + 1)
        errors: list[BaseException] = []

        def work(index: int, client: redis.Redis) -> None:
            barrier.wait()
            try:
                for n in range(SETS_PER_CLIENT):
                    client.set(f"c{index}:{n}", n)
            except BaseException as error:  # reported below: the run is then invalid
                errors.append(error)

        threads = [threading.Thread(target=work, args=pair) for pair in enumerate(clients)]
        for thread in threads:
            thread.start()
        barrier.wait()
        start = time.perf_counter()
        for thread in threads:
            thread.join()
        elapsed = time.perf_counter() - start
        if errors:
            raise RuntimeError(f"{len(errors)} clients failed: {errors[0]!r}")
        return elapsed
    finally:
        for client in clients:
            client.close()


def _pipeline(connect: Callable[[], redis.Redis]) -> float:
    with connect() as client:
        client.ping()
        start = time.perf_counter()
        with client.pipeline(transaction=False) as pipe:
            for n in range(PIPELINED):
                pipe.set(f"p:{n}", b"x" * 100)
            pipe.execute()
        return time.perf_counter() - start


def main() -> None:
    cases: list[tuple[str, Callable[[Callable[[], redis.Redis]], float], int]] = [
        (f"ping x{PINGS}", _pings, PINGS),
        (f"{CLIENTS} x {SETS_PER_CLIENT} SET", _concurrent_sets, CLIENTS * SETS_PER_CLIENT),
        (f"pipeline {PIPELINED // 1000}k SET", _pipeline, PIPELINED),
    ]
    with tempfile.TemporaryDirectory() as directory, DataPlane(Path(directory)) as plane:
        config = InstanceConfig(
            instance_id="red-benchbenchbenchbench",
            password="bench-password-bench-password-00",
            maxmemory_bytes=256 * 1024 * 1024,
            maxmemory_policy="allkeys-lru",
            persistence="off",
            allow_list=("127.0.0.1/32",),
        )
        endpoints = plane.start(config)
        print(f"{'case':<22} {'endpoint':<9} {'median s':>9} {'ops/s':>9}")
        for name, run, ops in cases:
            for external in (True, False):

                def connect(external: bool = external) -> redis.Redis:
                    return _client(plane, endpoints, config, external)

                run(connect)  # warm-up
                median = statistics.median(run(connect) for _ in range(ROUNDS))
                label = "external" if external else "internal"
                print(f"{name:<22} {label:<9} {median:>9.3f} {ops / median:>9.0f}")


if __name__ == "__main__":
    main()
