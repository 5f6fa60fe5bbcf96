"""The examples as programs: the quickstart under the engine harness, then the app stack.

The program runs through the SDK with mocks that forward each resource to the harness, so
the real provider creates real instances in the emulator; the app stack then reads the
quickstart's outputs through a StackReference.
"""

from __future__ import annotations

import runpy
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import redis

from pulumi_render_kv.emulator import Emulator
from pulumi_render_kv.testing import Engine, ProviderServer, run_program

from .conftest import ROOT, provider_env

pytestmark = [pytest.mark.grpc, pytest.mark.dataplane]

EXAMPLES = ROOT / "examples"
QUICKSTART = EXAMPLES / "quickstart" / "__main__.py"
APP_STACK = EXAMPLES / "app-stack" / "__main__.py"
QUICKSTART_CONFIG = {"extraAllowedCidr": "127.0.0.1/32"}


def program_of(path: Path):  # type: ignore[no-untyped-def]
    return lambda: runpy.run_path(str(path), run_name="__main__")


def live_names(emu: Emulator) -> list[str]:
    return sorted(emu.backend.retrieve_key_value(i).name for i in emu.backend.instance_ids())


@pytest.fixture
def quickstart_server(emu: Emulator, tmp_path: Path) -> Iterator[ProviderServer]:
    with ProviderServer(
        cwd=ROOT,
        project="render-kv-quickstart",
        env=provider_env(emu),
        stderr_path=tmp_path / "stderr.log",
    ) as srv:
        yield srv


@pytest.fixture
def quickstart_stack(quickstart_server: ProviderServer) -> Iterator[Callable[[str], Engine]]:
    """Engines for stacks of the quickstart, all destroyed at the end."""
    engines: list[Engine] = []

    def stack(name: str) -> Engine:
        engine = Engine(quickstart_server, stack=name, config=QUICKSTART_CONFIG)
        engines.append(engine)
        return engine

    yield stack
    for engine in engines:
        engine.destroy()


@pytest.fixture
def quickstart_engine(quickstart_stack: Callable[[str], Engine]) -> Engine:
    return quickstart_stack("dev")


def test_quickstart_preview_then_up_then_no_diff(quickstart_engine: Engine, emu: Emulator) -> None:
    """Preview plans two creates; up exports secret URLs that connect; a re-run is a no-op."""
    preview = run_program(program_of(QUICKSTART), quickstart_engine, preview=True)
    assert preview.plan.ops == {"cache": "create", "jobs": "create"}
    assert emu.request_counts() == {}

    result = run_program(program_of(QUICKSTART), quickstart_engine, preview=False)
    # Named after the stack, as the README asks of instances that share a workspace.
    assert live_names(emu) == ["dev-cache", "dev-jobs"]
    outputs = result.outputs
    assert {"REDIS_URL", "QUEUE_URL", "QUEUE_EXTERNAL_URL"} <= result.secret_outputs
    assert "REDIS_HOST" not in result.secret_outputs
    with redis.Redis.from_url(outputs["REDIS_URL"]) as cache:
        assert cache.ping()
        assert cache.config_get("maxmemory-policy")["maxmemory-policy"] == "allkeys-lru"
    with redis.Redis.from_url(outputs["QUEUE_URL"]) as queue:
        assert queue.config_get("maxmemory-policy")["maxmemory-policy"] == "noeviction"
        assert queue.config_get("appendonly")["appendonly"] == "yes"
    # The queue's external TLS endpoint admits this machine through the extra CIDR.
    with redis.Redis.from_url(
        outputs["QUEUE_EXTERNAL_URL"], ssl_ca_certs=str(emu.ca_cert_path)
    ) as ext:
        assert ext.ping()

    again = run_program(program_of(QUICKSTART), quickstart_engine, preview=False)
    assert again.plan.ops == {"cache": "same", "jobs": "same"}


def test_two_stacks_of_the_quickstart_share_a_workspace(
    quickstart_stack: Callable[[str], Engine], emu: Emulator
) -> None:
    """A second stack's create finds no instance of its names: no NameTaken, no twin."""
    dev = run_program(program_of(QUICKSTART), quickstart_stack("dev"), preview=False)
    staging = run_program(program_of(QUICKSTART), quickstart_stack("staging"), preview=False)
    assert live_names(emu) == ["dev-cache", "dev-jobs", "staging-cache", "staging-jobs"]
    assert dev.outputs["REDIS_URL"] != staging.outputs["REDIS_URL"]


def test_app_stack_reads_outputs_through_a_stack_reference(
    quickstart_stack: Callable[[str], Engine], server: ProviderServer
) -> None:
    """The app stack sees its own stack's quickstart URLs, and they stay secret there too."""
    infra = run_program(program_of(QUICKSTART), quickstart_stack("staging"), preview=False)
    app_engine = Engine(server, stack="staging")
    app = run_program(
        program_of(APP_STACK),
        app_engine,
        preview=False,
        project=server.project,
        # No infraStack config: the app stack reads the quickstart stack of its own name.
        stack_references={"organization/render-kv-quickstart/staging": infra},
    )
    assert app.outputs["app_environment"] == {
        "REDIS_URL": infra.outputs["REDIS_URL"],
        "CELERY_BROKER_URL": infra.outputs["QUEUE_URL"],
    }
    assert "app_environment" in app.secret_outputs
    host, port = infra.outputs["REDIS_HOST"], infra.outputs["REDIS_PORT"]
    assert port == int(port)
    assert app.outputs["cache_endpoint"] == f"{host}:{int(port)}"
    with redis.Redis.from_url(f"redis://{app.outputs['cache_endpoint']}") as direct:
        assert direct.ping()


def test_the_readme_harness_example_runs_as_written(monkeypatch: pytest.MonkeyPatch) -> None:
    """The README's `pulumi_render_kv.testing` example is runnable, not a sketch."""
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## Testing with and without the Pulumi CLI", 1)[1]
    code = section.split("```python\n", 1)[1].split("```", 1)[0]
    monkeypatch.chdir(ROOT)
    exec(compile(code, "README.md", "exec"), {"__name__": "readme_example"})
