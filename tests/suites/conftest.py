"""Fixtures for the reliability suites (issue 9): fault matrix, bad input, secrets.

They reuse the acceptance fixtures (``emu``, ``dashboard``, ``provider_env``) and differ in two
ways, both for speed: the emulator runs no data plane (no server processes; these suites look
at the API, not at connections), and one provider process serves a whole module (the
acceptance ``engine`` starts one per operation).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from acceptance.conftest import (
    PROJECT,
    ROOT,
    dashboard,
    emu,
    provider_env,
)

from pulumi_render_kv.emulator import Emulator, EmulatorSettings, RateLimitSettings
from pulumi_render_kv.testing import Engine, ProviderServer

__all__ = ["dashboard", "emu"]


@pytest.fixture(scope="module")
def emulator() -> Iterator[Emulator]:
    settings = EmulatorSettings(port=0, rate_limits=RateLimitSettings.unlimited(), data_plane=False)
    with Emulator(settings) as emulator:
        yield emulator


@pytest.fixture(scope="module")
def server_env(emulator: Emulator) -> dict[str, str]:
    """The provider's environment; a module overrides this fixture to add to it."""
    return provider_env(emulator)


@pytest.fixture(scope="module")
def server(
    server_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ProviderServer]:
    stderr = tmp_path_factory.mktemp("provider") / "stderr.log"
    with ProviderServer(cwd=ROOT, project=PROJECT, env=server_env, stderr_path=stderr) as srv:
        yield srv


@pytest.fixture
def engine(server: ProviderServer, emu: Emulator) -> Iterator[Engine]:
    # A fresh provider process per operation, as the CLI starts one per command: what one
    # command's provider learnt (the instances its deployment holds) must not reach the next.
    eng = Engine(server, stack="dev")
    yield eng
    emu.reset()
