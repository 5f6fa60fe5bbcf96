"""Fixtures that run the KeyValue provider as the Pulumi CLI would, against the emulator.

The provider runs inside the SDK's own ``python -m pulumi.dynamic`` server, started by
``pulumi_render_kv.testing.ProviderServer``; ``Engine`` drives it with engine-shaped
requests. The provider reaches the emulator only over HTTP, by URL, as it reaches Render.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pulumi
import pytest

import pulumi_render_kv as render_kv
from pulumi_render_kv.client import (
    ClientLimits,
    KeyValueDetail,
    KeyValuePOSTInput,
    RenderClient,
    RenderSettings,
)
from pulumi_render_kv.emulator import Emulator, EmulatorSettings, RateLimitSettings
from pulumi_render_kv.testing import Engine, ProviderServer

ROOT = Path(__file__).resolve().parents[2]
PROJECT = "render-kv-test"
API_KEY = "rnd_acceptanceTestKey0123456789"


@pytest.fixture(scope="module")
def emulator() -> Iterator[Emulator]:
    settings = EmulatorSettings(port=0, rate_limits=RateLimitSettings.unlimited())
    with Emulator(settings) as emu:
        yield emu


@pytest.fixture
def emu(emulator: Emulator) -> Emulator:
    """The module's emulator, emptied: no instances, no faults, an empty request log."""
    emulator.reset()
    return emulator


def provider_env(emu: Emulator) -> dict[str, str]:
    return {
        "RENDER_API_URL": emu.url,
        "RENDER_API_KEY": API_KEY,
        "RENDER_OWNER_ID": emu.owner_id,
        "RENDER_API_CLIENT_LIMITS": "off",
    }


@pytest.fixture(scope="module")
def server(
    emulator: Emulator, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ProviderServer]:
    stderr = tmp_path_factory.mktemp("provider") / "stderr.log"
    with ProviderServer(
        cwd=ROOT, project=PROJECT, env=provider_env(emulator), stderr_path=stderr
    ) as srv:
        yield srv


@pytest.fixture
def engine(server: ProviderServer, emu: Emulator) -> Iterator[Engine]:
    # A fresh provider process per operation, as the CLI starts one per command: process-wide
    # caches (the shared client, its limiter, a resolved workspace) meet tests as users meet
    # them, never carried over from an earlier command (the harness default).
    eng = Engine(server, stack="dev")
    yield eng
    # Leave nothing behind in the emulator for the next test.
    emu.reset()


@pytest.fixture
def dashboard(emu: Emulator) -> Iterator[RenderClient]:
    """A second API client: what a person changing things in Render's Dashboard would do."""
    settings = RenderSettings.resolve(
        api_key=API_KEY, owner_id=emu.owner_id, base_url=emu.url, limits=ClientLimits.off()
    )
    client = RenderClient(settings)
    yield client
    client.close()


Program = Callable[[], None]


def key_value_program(resource_name: str = "cache", **kwargs: Any) -> Program:
    """A program with one KeyValue that exports its connection string."""

    def program() -> None:
        kv = render_kv.KeyValue(resource_name, **kwargs)
        pulumi.export("url", kv.internal_connection_string)

    return program


def made_outside(
    dashboard: RenderClient, emu: Emulator, name: str, **fields: Any
) -> KeyValueDetail:
    """An instance created in Render directly (the Dashboard), not by the program."""
    fields.setdefault("plan", "starter")
    fields.setdefault("ip_allow_list", [])
    return dashboard.create_key_value(KeyValuePOSTInput(name=name, owner_id=emu.owner_id, **fields))


def writes(emu: Emulator) -> int:
    counts = emu.request_counts()
    return sum(counts.get(method, 0) for method in ("POST", "PATCH", "DELETE"))
