"""Configuration sources, waiting for readiness, and lookups by name."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

import pulumi_render_kv as render_kv
from pulumi_render_kv.client import KeyValuePOSTInput, RenderClient
from pulumi_render_kv.emulator import Emulator, EmulatorSettings, RateLimitSettings
from pulumi_render_kv.testing import Engine, EngineError, ProviderServer, run_program, secret

from .conftest import API_KEY, PROJECT, ROOT, key_value_program, provider_env

pytestmark = pytest.mark.grpc

CACHE = {"plan": "starter", "workload": "cache"}
RENDER_ENV = ("RENDER_API_KEY", "RENDER_API_URL", "RENDER_OWNER_ID")


@pytest.fixture
def bare_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """No RENDER_* variables: configuration must come from the stack."""
    for name in RENDER_ENV:
        monkeypatch.delenv(name, raising=False)


def test_credentials_from_pulumi_config(
    bare_env: None, emu: Emulator, dashboard: RenderClient, tmp_path: Path
) -> None:
    """render:apiKey (secret), render:apiUrl and render:ownerId configure the provider."""
    env = {"RENDER_API_CLIENT_LIMITS": "off"}
    with ProviderServer(cwd=ROOT, project=PROJECT, env=env, stderr_path=tmp_path / "err") as srv:
        engine = Engine(
            srv,
            config={
                "render:apiKey": secret(API_KEY),
                "render:apiUrl": emu.url,
                "render:ownerId": emu.owner_id,
            },
        )
        engine.up(key_value_program(**CACHE))
        assert [kv.id for kv in dashboard.list_key_value()] == [engine.resource("cache").id]
        assert API_KEY not in engine.state_json()
        engine.destroy()


def test_missing_api_key_says_where_to_set_it(
    bare_env: None, emu: Emulator, tmp_path: Path
) -> None:
    """Without any key, create fails naming both places to put one; nothing is created."""
    env = {"RENDER_API_URL": emu.url, "RENDER_API_CLIENT_LIMITS": "off"}
    with ProviderServer(cwd=ROOT, project=PROJECT, env=env, stderr_path=tmp_path / "err") as srv:
        engine = Engine(srv)
        assert engine.preview(key_value_program(**CACHE)).ok  # preview needs no key
        with pytest.raises(EngineError) as caught:
            engine.up(key_value_program(**CACHE))
    assert "RENDER_API_KEY" in str(caught.value)
    assert "render:apiKey" in str(caught.value)
    assert emu.request_counts() == {}


@contextmanager
def engine_with_delay(create_delay: float, stderr: Path) -> Iterator[tuple[Engine, Emulator]]:
    """An emulator whose instances take ``create_delay`` s to become available."""
    settings = EmulatorSettings(
        port=0,
        data_plane=False,
        create_delay=create_delay,
        rate_limits=RateLimitSettings.unlimited(),
    )
    with (
        Emulator(settings) as emu,
        ProviderServer(cwd=ROOT, project=PROJECT, env=provider_env(emu), stderr_path=stderr) as srv,
    ):
        yield Engine(srv), emu


@pytest.fixture(scope="module")
def slow(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Engine, Emulator]]:
    """Instances take a second to become available (Render's take minutes)."""
    with engine_with_delay(1.0, tmp_path_factory.mktemp("slow") / "stderr.log") as pair:
        yield pair


def test_create_waits_until_available(slow: tuple[Engine, Emulator]) -> None:
    """create polls through `creating` and reports progress on stderr."""
    slow_engine, slow_emulator = slow
    plan = slow_engine.up(key_value_program("waited", **CACHE))
    assert slow_engine.resource("waited").outputs["status"] == "available"
    assert any("waiting for 'available'" in line for line in plan.stderr)
    gets = slow_emulator.request_counts().get("GET", 0)
    assert 2 <= gets <= 8  # backoff, not a busy loop
    slow_engine.destroy()


def test_wait_timeout_names_status_and_dashboard(tmp_path: Path) -> None:
    """A create that outlasts wait_timeout fails with the last status and where to look."""
    with (
        engine_with_delay(60.0, tmp_path / "stderr.log") as (engine, _),
        pytest.raises(EngineError) as caught,
    ):
        engine.up(key_value_program("stuck", **CACHE, wait_timeout=1))
    message = str(caught.value)
    assert "still 'creating' after 1 s" in message
    assert "https://dashboard.render.com/r/red-" in message


def test_get_key_value_finds_exactly_one(
    engine: Engine, emu: Emulator, dashboard: RenderClient
) -> None:
    """The lookup by name returns the instance, and fails clearly on none or several."""
    one = dashboard.create_key_value(
        KeyValuePOSTInput(
            name="solo", owner_id=emu.owner_id, plan="starter", region="ohio", ip_allow_list=[]
        )
    )
    for region in ("oregon", "virginia"):
        dashboard.create_key_value(
            KeyValuePOSTInput(
                name="twin", owner_id=emu.owner_id, plan="starter", region=region, ip_allow_list=[]
            )
        )
    config = {
        "render:apiKey": secret(API_KEY),
        "render:apiUrl": emu.url,
        "render:ownerId": emu.owner_id,
    }
    found: dict[str, object] = {}

    def program() -> None:
        found["solo"] = render_kv.get_key_value(name="solo")
        found["twin-oregon"] = render_kv.get_key_value(name="twin", region="oregon")
        for name in ("nobody", "twin"):
            try:
                render_kv.get_key_value(name=name)
            except render_kv.LookupFailed as err:
                found[name] = str(err)

    run_program(program, engine, preview=True, config=config)
    assert found["solo"].id == one.id  # type: ignore[attr-defined]
    assert found["twin-oregon"].region == "oregon"  # type: ignore[attr-defined]
    assert "no Key Value named 'nobody'" in found["nobody"]  # type: ignore[operator]
    assert "2 Key Value instances are named 'twin'" in found["twin"]  # type: ignore[operator]
    assert "pass region=" in found["twin"]  # type: ignore[operator]


def test_workspace_resolved_at_create_is_still_protected(
    bare_env: None, emu: Emulator, tmp_path: Path
) -> None:
    """With the owner found through the API, an owner change is refused at preview too."""
    env = {"RENDER_API_URL": emu.url, "RENDER_API_KEY": API_KEY, "RENDER_API_CLIENT_LIMITS": "off"}
    with ProviderServer(cwd=ROOT, project=PROJECT, env=env, stderr_path=tmp_path / "err") as srv:
        engine = Engine(srv)
        engine.up(key_value_program(**CACHE))
        assert "ownerId" not in engine.resource("cache").inputs
        assert engine.resource("cache").outputs["ownerId"] == emu.owner_id
        plan = engine.preview(key_value_program(**CACHE, owner_id="tea-someoneelse000000000"))
        assert plan.error is not None
        assert "allow_data_loss=True" in str(plan.error)
        assert engine.preview(key_value_program(**CACHE)).ops == {"cache": "same"}
        engine.destroy()


def test_update_waits_through_the_restart(tmp_path: Path) -> None:
    """A plan upgrade restarts the instance: up polls until it is available again."""
    settings = EmulatorSettings(
        port=0, data_plane=False, restart_delay=1.0, rate_limits=RateLimitSettings.unlimited()
    )
    with (
        Emulator(settings) as emu,
        ProviderServer(
            cwd=ROOT, project=PROJECT, env=provider_env(emu), stderr_path=tmp_path / "err"
        ) as srv,
    ):
        engine = Engine(srv)
        engine.up(key_value_program(**CACHE))
        emu.clear_requests()
        plan = engine.up(key_value_program(plan="standard", workload="cache"))
        assert plan.ops == {"cache": "update"}
        assert engine.resource("cache").outputs["status"] == "available"
        assert any("'updating_instance'; waiting for 'available'" in line for line in plan.stderr)
        gets = [r for r in emu.requests() if r["method"] == "GET" and "connection" not in r["path"]]
        assert 2 <= len(gets) <= 8  # polled through the restart, with backoff
        engine.destroy()


def test_refresh_with_the_key_resolved_workspace_leaves_no_diff(
    bare_env: None, emu: Emulator, tmp_path: Path
) -> None:
    """No workspace configured: refresh must not put ownerId into the inputs (a `- ownerId`)."""
    env = {"RENDER_API_URL": emu.url, "RENDER_API_KEY": API_KEY, "RENDER_API_CLIENT_LIMITS": "off"}
    with ProviderServer(cwd=ROOT, project=PROJECT, env=env, stderr_path=tmp_path / "err") as srv:
        engine = Engine(srv)
        engine.up(key_value_program(**CACHE))
        assert engine.refresh().ops == {"cache": "same"}
        assert "ownerId" not in engine.resource("cache").inputs
        assert engine.resource("cache").outputs["ownerId"] == emu.owner_id
        preview = engine.preview(key_value_program(**CACHE))
        assert preview.ops == {"cache": "same"}
        assert preview.steps[0].changed_keys == ()
        engine.destroy()


def test_refresh_confirms_a_404_before_dropping(emu: Emulator, tmp_path: Path) -> None:
    """One 404 is read again; the resource stays in state while the instance exists."""
    with ProviderServer(
        cwd=ROOT, project=PROJECT, env=provider_env(emu), stderr_path=tmp_path / "err"
    ) as srv:
        engine = Engine(srv)
        engine.up(key_value_program(**CACHE))
        kv_id = engine.resource("cache").id
        emu.inject_fault("GET", f"/v1/key-value/{kv_id}", status=404, count=1)
        assert engine.refresh().ops == {"cache": "same"}
        assert engine.resource("cache").id == kv_id
        engine.destroy()


def test_refresh_with_a_key_that_cannot_see_the_workspace_fails_instead_of_dropping(
    emu: Emulator, tmp_path: Path
) -> None:
    """A key of another account answers 404 for everything: say so, keep the state."""
    other_settings = EmulatorSettings(
        port=0,
        data_plane=False,
        owner_id="tea-otheraccount000000000",
        rate_limits=RateLimitSettings.unlimited(),
    )
    with (
        Emulator(other_settings) as other,
        ProviderServer(
            cwd=ROOT, project=PROJECT, env=provider_env(emu), stderr_path=tmp_path / "err"
        ) as srv,
    ):
        engine = Engine(srv)
        engine.up(key_value_program(**CACHE))
        kv_id = engine.resource("cache").id
        # `export RENDER_API_KEY=…` of another account (and its API) before `pulumi refresh`:
        # the environment is read afresh by each command's provider process. (A key changed
        # with `pulumi config set` would not be: refresh uses the config of the last up.)
        srv.restart(
            env={
                "RENDER_API_KEY": "rnd_anotherAccountsKey",
                "RENDER_API_URL": other.url,
                "RENDER_OWNER_ID": other.owner_id,
            }
        )
        with pytest.raises(EngineError) as caught:
            engine.refresh()
        message = str(caught.value)
        assert f"cannot see workspace {emu.owner_id}" in message
        assert "rnd_anotherAccountsKey" not in message
        assert engine.resource("cache").id == kv_id
        srv.restart(env=provider_env(emu))
        engine.destroy()
