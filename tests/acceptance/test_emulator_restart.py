"""An emulator restarted on its ``--data-dir`` brings every instance back, and the stack's
outputs stay true: on the same ports when they are free (a Render instance's connection
strings never change), and when another program took a port meanwhile, a refresh records the
new one in every output that depends on it (port and connection strings).
"""

from __future__ import annotations

import socket
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pulumi
import pytest
import redis

import pulumi_render_kv as render_kv
from pulumi_render_kv.client import ClientLimits, RenderClient, RenderSettings
from pulumi_render_kv.emulator import Emulator, EmulatorSettings, RateLimitSettings
from pulumi_render_kv.testing import Engine, ProviderServer, reveal

from .conftest import API_KEY, PROJECT, ROOT, provider_env

pytestmark = [pytest.mark.grpc, pytest.mark.dataplane]

CONNECTION_OUTPUTS = ("internalConnectionString", "externalConnectionString", "cliCommand")


def program() -> None:
    cache = render_kv.KeyValue("cache", plan="starter", workload="queue")
    pulumi.export("REDIS_HOST", cache.host)
    pulumi.export("REDIS_PORT", cache.port)


class Restartable:
    """One data dir, one emulator at a time on it, and the provider pointed at the current one."""

    def __init__(self, data_dir: Path, server_factory: Callable[[Emulator], ProviderServer]):
        self.data_dir = data_dir
        self.emulator = self._start()
        self.server = server_factory(self.emulator)

    def _start(self) -> Emulator:
        settings = EmulatorSettings(
            data_dir=self.data_dir, rate_limits=RateLimitSettings.unlimited()
        )
        return Emulator(settings).start()

    def restart(self) -> None:
        """Stop the emulator and start another on the data dir, as after a reboot; the user
        exports the new RENDER_API_URL (the API's own port is a free one again)."""
        self.emulator.stop()
        self.emulator = self._start()
        self.server.restart(env=provider_env(self.emulator))

    def live_connection_info(self, instance_id: str) -> dict[str, Any]:
        settings = RenderSettings.resolve(
            api_key=API_KEY,
            owner_id=self.emulator.owner_id,
            base_url=self.emulator.url,
            limits=ClientLimits.off(),
        )
        with RenderClient(settings) as client:
            info = client.retrieve_key_value_connection_info(instance_id)
        return {
            "internalConnectionString": info.get_internal_connection_string(),
            "externalConnectionString": info.get_external_connection_string(),
            "cliCommand": info.get_cli_command(),
        }

    def close(self) -> None:
        self.server.close()
        self.emulator.stop()


@pytest.fixture
def world(tmp_path: Path) -> Iterator[Restartable]:
    def server_for(emu: Emulator) -> ProviderServer:
        return ProviderServer(
            cwd=ROOT,
            project=PROJECT,
            env=provider_env(emu),
            stderr_path=tmp_path / "provider.stderr",
        )

    world = Restartable(tmp_path / "data", server_for)
    try:
        yield world
    finally:
        world.close()


@pytest.fixture
def engine(world: Restartable) -> Engine:
    return Engine(world.server, stack="dev")


def _revealed(outputs: dict[str, Any]) -> dict[str, Any]:
    return {key: reveal(value) for key, value in outputs.items()}


def test_a_restart_keeps_the_ports_so_every_output_stays_valid(
    world: Restartable, engine: Engine
) -> None:
    engine.up(program)
    before = _revealed(engine.resource("cache").outputs)
    with redis.Redis.from_url(before["internalConnectionString"], socket_timeout=10) as client:
        client.set("job:1", "payload")

    world.restart()

    refresh = engine.refresh()
    assert refresh.ops == {"cache": "same"}
    [step] = refresh.steps
    assert step.changes == ()
    assert _revealed(engine.resource("cache").outputs) == before
    # The URL an app was given before the restart still reaches the same data.
    with redis.Redis.from_url(before["internalConnectionString"], socket_timeout=10) as client:
        assert client.get("job:1") == b"payload"
    stack_outputs = dict(engine.stack_outputs)
    engine.up(program)
    assert engine.stack_outputs == stack_outputs
    engine.destroy()


def test_refresh_records_a_new_port_in_every_output_that_holds_it(
    world: Restartable, engine: Engine
) -> None:
    """Both old ports are held by another program across the restart: the server and its TLS
    gate get free ones, and refresh brings back the port and all three connection strings."""
    engine.up(program)
    before = _revealed(engine.resource("cache").outputs)
    kv_id = engine.resource("cache").id
    old_port = int(before["port"])
    old_external_port = urlsplit(before["externalConnectionString"]).port

    world.emulator.stop()
    with socket.socket() as internal, socket.socket() as external:
        for squatter, port in ((internal, old_port), (external, old_external_port)):
            squatter.bind(("127.0.0.1", port))
            squatter.listen()
        world.emulator = world._start()
        world.server.restart(env=provider_env(world.emulator))
        live = world.live_connection_info(kv_id)
        assert live["internalConnectionString"] != before["internalConnectionString"]

        refresh = engine.refresh()
        after = _revealed(engine.resource("cache").outputs)
        assert {key: after[key] for key in CONNECTION_OUTPUTS} == live
        assert after["port"] != old_port
        assert f"127.0.0.1:{int(after['port'])}" in live["internalConnectionString"]
        # No input changed, so Pulumi reports the resource as the same (its Diff compares
        # inputs); the outputs in state are the new ones nonetheless.
        assert refresh.ops == {"cache": "same"}
        [step] = refresh.steps
        assert {change.key for change in step.changes} == {"port", *CONNECTION_OUTPUTS}
        # ...and the provider says so, naming what changed (never the values).
        [said] = [line for line in refresh.stderr if "refresh recorded the new values" in line]
        assert "port, internalConnectionString" in said
        assert str(int(after["port"])) not in said

        # The program's next run exports the port that refresh recorded.
        assert engine.preview(program).ops == {"cache": "same"}
        engine.up(program)
        assert engine.stack_outputs["REDIS_PORT"] == after["port"]
        engine.destroy()
