"""Resume is asynchronous on Render: right after the resume's 202 a status read may still say
``suspended``. With the emulator's ``resume_delay`` on, the provider waits through it (until
``wait_timeout``) instead of failing at once, and a change in the same update is sent only
once the instance is up (Render refuses a PATCH to an instance that still reads suspended).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace

import pytest
import redis

from pulumi_render_kv.client import RenderClient
from pulumi_render_kv.emulator import Emulator, EmulatorSettings, RateLimitSettings
from pulumi_render_kv.testing import Engine, EngineError

from .conftest import key_value_program

pytestmark = [pytest.mark.grpc, pytest.mark.dataplane]

QUEUE = {"plan": "starter", "workload": "queue"}
# Long enough for the provider's first reads after the 202 (at once, then 0.75 s later) to see
# `suspended`; short enough to keep the test quick.
RESUME_DELAY = 1.5


@pytest.fixture(scope="module")
def emulator() -> Iterator[Emulator]:
    """The acceptance emulator, with resume taking RESUME_DELAY seconds to start."""
    settings = EmulatorSettings(
        port=0, rate_limits=RateLimitSettings.unlimited(), resume_delay=RESUME_DELAY
    )
    with Emulator(settings) as emu:
        yield emu


def _calls(emu: Emulator) -> list[str]:
    """``METHOD last-path-segment status`` of every request since the log was cleared."""
    return [f"{r['method']} {r['path'].rsplit('/', 1)[-1]} {r['status']}" for r in emu.requests()]


def test_resume_waits_while_reads_still_say_suspended(
    engine: Engine, emu: Emulator, dashboard: RenderClient
) -> None:
    engine.up(key_value_program(**QUEUE))
    kv_id = engine.resource("cache").id
    with redis.Redis.from_url(engine.resource("cache").outputs["internalConnectionString"]) as c:
        c.set("job:1", "payload")
    engine.up(key_value_program(**QUEUE, suspended=True))
    assert dashboard.retrieve_key_value(kv_id).status == "suspended"

    emu.clear_requests()
    result = engine.up(key_value_program(**QUEUE))
    assert result.ops == {"cache": "update"}
    state = engine.resource("cache")
    assert (state.outputs["status"], state.inputs["suspended"]) == ("available", False)
    calls = _calls(emu)
    after_resume = calls[calls.index("POST resume 202") + 1 :]
    # Polled through `suspended` (the first reads came within RESUME_DELAY) to `available`.
    assert after_resume.count(f"GET {kv_id} 200") >= 2
    assert any("is 'suspended'; waiting for 'available'" in line for line in result.stderr)
    with redis.Redis.from_url(state.outputs["internalConnectionString"]) as c:
        assert c.get("job:1") == b"payload"
    assert engine.preview(key_value_program(**QUEUE)).ops == {"cache": "same"}


def test_a_change_in_the_resuming_update_is_sent_once_the_instance_is_up(
    engine: Engine, emu: Emulator, dashboard: RenderClient
) -> None:
    """The PATCH comes after the wait, so it is accepted rather than refused with a 409."""
    engine.up(key_value_program(**QUEUE, suspended=True))
    kv_id = engine.resource("cache").id
    emu.clear_requests()
    engine.up(key_value_program(**{**QUEUE, "plan": "standard"}))
    writes = [c for c in _calls(emu) if not c.startswith("GET")]
    assert writes == ["POST resume 202", f"PATCH {kv_id} 200"]
    live = dashboard.retrieve_key_value(kv_id)
    assert (live.plan, live.status) == ("standard", "available")


def test_a_resume_slower_than_wait_timeout_times_out_naming_the_status(
    engine: Engine, emu: Emulator
) -> None:
    """Waiting through `suspended` ends at the deadline like any wait, with the usual advice."""
    saved = emu.backend._lifecycle
    # An instance keeps the settings it was created with: this one's resume takes a minute.
    emu.backend._lifecycle = replace(saved, resume_delay=60.0)
    try:
        engine.up(key_value_program(**QUEUE, suspended=True))
    finally:
        emu.backend._lifecycle = saved
    with pytest.raises(EngineError) as caught:
        engine.up(key_value_program(**QUEUE, wait_timeout=1))
    message = str(caught.value)
    assert "still 'suspended' after 1 s (wait_timeout)" in message
    assert "will not become available by waiting" not in message
