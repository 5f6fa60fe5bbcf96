"""Fixtures: the emulator (no data plane: these tests look at the API) and a fresh plugin
per test, started as the engine starts it, with a stub engine to log to."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from acceptance.conftest import dashboard, emu, provider_env

from pulumi_render_kv.emulator import Emulator, EmulatorSettings, RateLimitSettings

from .harness import NativeEngine, NativePlugin, Plugins

__all__ = ["dashboard", "emu"]


@pytest.fixture(scope="module")
def emulator() -> Iterator[Emulator]:
    settings = EmulatorSettings(port=0, rate_limits=RateLimitSettings.unlimited(), data_plane=False)
    with Emulator(settings) as emulator:
        yield emulator


@pytest.fixture
def plugins(emu: Emulator, tmp_path: Path) -> Iterator[Plugins]:
    with Plugins(provider_env(emu), tmp_path / "provider-stderr.log") as started:
        yield started


@pytest.fixture
def plugin(plugins: Plugins) -> NativePlugin:
    """One plugin process, for tests of single calls."""
    return plugins.start()


@pytest.fixture
def engine(plugins: Plugins) -> NativeEngine:
    return NativeEngine(plugins)
