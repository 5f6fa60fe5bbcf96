"""The real provider does not serialise operations: 50 creates at once (``pulumi up
--parallel 50``) take about as long as one, where the dynamic provider's server runs four at
a time. The emulator's limits are raised, its instances take seconds to become available."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from acceptance.conftest import provider_env

from pulumi_render_kv.emulator import Emulator, EmulatorSettings, RateLimitSettings

from .harness import NativeEngine, Plugins, reveal

CREATE_DELAY = 2.0
PARALLEL = 50


def _create(engine: NativeEngine, name: str) -> float:
    """The engine's step for a new resource; the seconds it took."""
    started = time.monotonic()
    created = engine.create(name, {"name": name, "plan": "starter", "workload": "cache"})
    assert reveal(created.outputs)["status"] == "available"
    return time.monotonic() - started


def test_fifty_creates_take_about_as_long_as_one(tmp_path: Path) -> None:
    settings = EmulatorSettings(
        port=0,
        data_plane=False,
        create_delay=CREATE_DELAY,
        rate_limits=RateLimitSettings.unlimited(),
    )
    with Emulator(settings) as emu, Plugins(provider_env(emu), tmp_path / "p.log") as plugins:
        engine = NativeEngine.on(plugins, plugins.start())
        one = _create(engine, "single")
        started = time.monotonic()
        with ThreadPoolExecutor(max_workers=PARALLEL) as pool:
            times = list(pool.map(lambda i: _create(engine, f"kv-{i:02d}"), range(PARALLEL)))
        wall = time.monotonic() - started
        assert len(emu.requests()) > PARALLEL
    # Four at a time would be 13 rounds of one create's wait; all at once is one round plus
    # the scheduling of 50 threads on a shared machine.
    assert wall < 2.0 * one, (wall, one, max(times))
    assert one >= CREATE_DELAY
