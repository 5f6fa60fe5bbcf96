"""No program edit, interruption or second writer loses, duplicates or orphans an instance.

Each test drives the provider as the engine does (a fresh provider process per command)
against the emulator, and counts what reached the API: POSTs (a twin is billed) and
DELETEs (data is gone).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import redis

import pulumi_render_kv as render_kv
from pulumi_render_kv.client import ClientLimits, RenderClient, RenderSettings
from pulumi_render_kv.emulator import Emulator
from pulumi_render_kv.testing import Engine, EngineError, ProviderServer

from .conftest import API_KEY, key_value_program, made_outside
from .test_config_and_waits import engine_with_delay

CACHE = {"plan": "starter", "workload": "cache"}


def sent(emu: Emulator, method: str) -> list[int]:
    """Statuses of the requests with ``method`` to /v1/key-value[/…] (not the log streams)."""
    return [
        r["status"]
        for r in emu.requests()
        if r["method"] == method and r["path"].startswith("/v1/key-value")
    ]


@pytest.fixture
def adopt(server: ProviderServer) -> Iterator[Callable[[str | None], None]]:
    """Set ``RENDER_KV_ADOPT`` for the next commands, as `RENDER_KV_ADOPT=… pulumi up` does."""

    def set_ids(ids: str | None) -> None:
        server.restart(env={"RENDER_KV_ADOPT": ids})

    yield set_ids
    server.restart(env={"RENDER_KV_ADOPT": None})


def two_program(first: str, second: str, **kwargs: object) -> Callable[[], None]:
    def program() -> None:
        render_kv.KeyValue(first, **kwargs)  # type: ignore[arg-type]
        render_kv.KeyValue(second, **kwargs)  # type: ignore[arg-type]

    return program


# -- 1. renames and duplicates ----------------------------------------------------------------


def test_renaming_an_adopting_resource_keeps_the_instance_and_its_data(
    engine: Engine, emu: Emulator, dashboard: RenderClient
) -> None:
    """Rename without an alias while adopt_existing=True: the old record goes, the data stays."""
    engine.up(key_value_program("cache", name="cache", **CACHE, adopt_existing=True))
    kv_id = engine.resource("cache").id
    with redis.Redis.from_url(engine.resource("cache").outputs["internalConnectionString"]) as c:
        c.set("k", "v")
    emu.clear_requests()
    result = engine.up(key_value_program("cache-v2", name="cache", **CACHE, adopt_existing=True))
    assert engine.resource("cache-v2").id == kv_id
    assert not engine.has("cache")
    assert sent(emu, "DELETE") == []  # the engine's delete of the old resource sent nothing
    assert sent(emu, "POST") == []
    assert dashboard.retrieve_key_value(kv_id).status == "available"
    url = engine.resource("cache-v2").outputs["internalConnectionString"]
    with redis.Redis.from_url(url) as client:
        assert client.get("k") == b"v"
    assert any("leaves this stack's state but is not deleted" in line for line in result.stderr)
    # The new resource owns it now: removing it deletes the instance, as it should.
    engine.up(lambda: None)
    assert dashboard.list_key_value() == []


def test_two_resources_adopting_one_instance_is_refused(
    engine: Engine, emu: Emulator, dashboard: RenderClient
) -> None:
    """Two resources with one name and adopt_existing=True: the second is refused, not a twin."""
    existing = made_outside(dashboard, emu, "shared", maxmemory_policy="allkeys_lru")
    with pytest.raises(EngineError) as caught:
        engine.up(two_program("a", "b", name="shared", **CACHE, adopt_existing=True))
    assert "InstanceHeld" in str(caught.value)
    assert "two resources must not manage one instance" in str(caught.value)
    # Whichever registered first holds it (the program's registrations are concurrent).
    [holder] = [name for name in ("a", "b") if engine.has(name)]
    assert engine.resource(holder).id == existing.id
    # Removing the refused one from the program deletes nothing; the instance stays held.
    emu.clear_requests()
    engine.up(key_value_program(holder, name="shared", **CACHE, adopt_existing=True))
    assert sent(emu, "DELETE") == []
    assert [kv.id for kv in dashboard.list_key_value()] == [existing.id]


def test_a_second_resource_adopting_an_instance_the_stack_holds_is_refused(
    engine: Engine, emu: Emulator, dashboard: RenderClient
) -> None:
    """A later deployment adds a second holder: refused, and neither delete can follow."""
    engine.up(key_value_program("a", name="shared", **CACHE))
    kv_id = engine.resource("a").id
    emu.clear_requests()
    with pytest.raises(EngineError) as caught:
        engine.up(two_program("a", "b", name="shared", **CACHE, adopt_existing=True))
    assert "InstanceHeld" in str(caught.value)
    # The engine runs a's diff and b's create concurrently: whichever reaches the instance
    # first holds it and the other is refused. Either way nothing is created or deleted.
    assert [kv.id for kv in dashboard.list_key_value()] == [kv_id]
    assert sent(emu, "POST") == []
    assert sent(emu, "DELETE") == []


def test_two_resources_with_one_name_do_not_make_twins(
    engine: Engine, emu: Emulator, dashboard: RenderClient
) -> None:
    """Without adoption the second create finds the first's instance and stops before its POST."""
    with pytest.raises(EngineError) as caught:
        engine.up(two_program("a", "b", name="same", **CACHE))
    message = str(caught.value)
    assert "NameTaken" in message
    # Their creates are concurrent: whichever lists the name first creates it.
    [created] = [name for name in ("a", "b") if engine.has(name)]
    assert engine.resource(created).id in message
    assert "allow_duplicate_name=True" in message
    assert sent(emu, "POST") == [201]
    assert len(dashboard.list_key_value()) == 1


def test_allow_duplicate_name_creates_a_second_instance_on_purpose(
    engine: Engine, emu: Emulator, dashboard: RenderClient
) -> None:
    engine.up(two_program("a", "b", name="same", **CACHE, allow_duplicate_name=True))
    assert engine.resource("a").id != engine.resource("b").id
    assert len(dashboard.list_key_value(name="same")) == 2
    assert engine.preview(
        two_program("a", "b", name="same", **CACHE, allow_duplicate_name=True)
    ).ops == {"a": "same", "b": "same"}


def test_an_instance_another_stack_holds_is_not_twinned(
    engine: Engine, emu: Emulator, dashboard: RenderClient
) -> None:
    """Another stack (or the Dashboard) has the name: one message, its id, no POST."""
    theirs = made_outside(dashboard, emu, "cache")
    emu.clear_requests()
    with pytest.raises(EngineError) as caught:
        engine.up(key_value_program("cache", **CACHE))
    message = str(caught.value)
    assert theirs.id in message
    assert "Nothing was created" in message
    # One line on the resource, not the SDK's traceback around it.
    details = caught.value.details or ""
    assert details.startswith("pulumi_render_kv.errors.NameTaken: Could not create")
    assert "Traceback" not in details
    assert "\n" not in details.strip()
    assert "prefix it with the stack name" in message
    assert sent(emu, "POST") == []


# -- 2. interrupted and failed creates --------------------------------------------------------


def test_a_create_whose_wait_failed_is_not_created_again(
    engine: Engine, emu: Emulator, dashboard: RenderClient, adopt: Callable[[str | None], None]
) -> None:
    """A key revoked during the wait (401): the next up names the orphan and one command."""
    emu.inject_fault("GET", "/v1/key-value/*", status=401, count=1)
    with pytest.raises(EngineError) as caught:
        engine.up(key_value_program(**CACHE))
    [orphan] = dashboard.list_key_value()
    assert f"RENDER_KV_ADOPT={orphan.id} pulumi up" in str(caught.value)
    # The next up does not POST a twin: it stops and says the same command.
    emu.clear_requests()
    with pytest.raises(EngineError) as caught:
        engine.up(key_value_program(**CACHE))
    assert "NameTaken" in str(caught.value)
    assert f"RENDER_KV_ADOPT={orphan.id} pulumi up" in str(caught.value)
    assert sent(emu, "POST") == []
    # That command converges: the instance is taken over, nothing else is created.
    adopt(orphan.id)
    engine.up(key_value_program(**CACHE))
    assert engine.resource("cache").id == orphan.id
    assert [kv.id for kv in dashboard.list_key_value()] == [orphan.id]
    assert engine.preview(key_value_program(**CACHE)).ops == {"cache": "same"}


def test_a_create_past_its_wait_timeout_is_not_created_again(tmp_path: Path) -> None:
    """wait_timeout ran out: the instance exists, not in state; the next up makes no twin."""
    with engine_with_delay(2.0, tmp_path / "stderr.log") as (engine, emu):
        with pytest.raises(EngineError) as caught:
            engine.up(key_value_program(**CACHE, wait_timeout=1))
        assert "WaitTimedOut" in str(caught.value) or "still 'creating'" in str(caught.value)
        with pytest.raises(EngineError) as caught:
            engine.up(key_value_program(**CACHE, wait_timeout=1))
        assert "NameTaken" in str(caught.value)
        assert emu.request_counts().get("POST") == 1
        with outside(emu) as client:
            ids = ",".join(kv.id for kv in client.list_key_value())
        engine.server.restart(env={"RENDER_KV_ADOPT": ids})
        engine.up(key_value_program(**CACHE, wait_timeout=30))
        assert emu.request_counts().get("POST") == 1
        assert engine.resource("cache").outputs["status"] == "available"


def outside(emu: Emulator) -> RenderClient:
    settings = RenderSettings.resolve(
        api_key=API_KEY, owner_id=emu.owner_id, base_url=emu.url, limits=ClientLimits.off()
    )
    return RenderClient(settings)


# -- 10. names Render's filter cannot express ----------------------------------------------------


def test_adopting_a_name_with_a_comma_finds_it(
    engine: Engine, emu: Emulator, dashboard: RenderClient
) -> None:
    """`?name=` is comma-separated: a name holding a comma is matched exactly, not missed."""
    existing = made_outside(dashboard, emu, "cache,eu", maxmemory_policy="allkeys_lru")
    made_outside(dashboard, emu, "cache", maxmemory_policy="allkeys_lru")
    engine.up(key_value_program("cache", name="cache,eu", **CACHE, adopt_existing=True))
    assert engine.resource("cache").id == existing.id
    assert sent(emu, "POST") == [201, 201]  # the two made outside; none by the program


def test_get_key_value_finds_a_name_with_a_comma(emu: Emulator, dashboard: RenderClient) -> None:
    """get_key_value's lookup matches the comma name exactly, not a namesake."""
    existing = made_outside(dashboard, emu, "a,b")
    made_outside(dashboard, emu, "a")
    found = dashboard.list_key_value_named("a,b", owner_id=emu.owner_id)
    assert [kv.id for kv in found] == [existing.id]
