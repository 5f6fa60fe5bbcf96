"""The harness against the real engine: replay the recorded scenario and compare every request.

``tests/engine_traces/recorded/`` holds what the real Pulumi engine sent to our dynamic
provider (recorded by ``tests/engine_traces/record.py`` under the CLI); here the same steps
run through ``pulumi_render_kv.testing`` against the emulator, and the harness must send the
same calls, in the same order, with the same fields — only ids, timestamps, ports, passwords,
random seeds and the pickled provider's bytes are ignored. This keeps the harness honest where
no CLI runs (CI).
"""

from __future__ import annotations

import runpy
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from engine_traces import scenario  # tests/ is on sys.path (tests/conftest.py)

from pulumi_render_kv.emulator import Emulator, EmulatorSettings, RateLimitSettings
from pulumi_render_kv.testing import Engine, EngineError, ProviderServer, run_program

ROOT = Path(__file__).resolve().parents[2]

pytestmark = [pytest.mark.grpc, pytest.mark.dataplane]


def _program() -> None:
    runpy.run_path(str(scenario.PROGRAM_DIR / "__main__.py"), run_name="__main__")


def _run(engine: Engine, step: scenario.Step, cache_id: str | None) -> None:
    if step.command == "preview":
        run_program(_program, engine, preview=True)
    elif step.command == "up":
        run_program(_program, engine, preview=False)
    elif step.command == "refresh":
        engine.refresh()
    elif step.command == "destroy":
        engine.destroy()
    elif step.command == "import":
        engine.import_("imported", scenario.KEYVALUE_TYPE, str(cache_id))
    else:
        raise ValueError(f"unknown command {step.command!r}")


@pytest.fixture(scope="module")
def replayed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, list[Any]]]:
    """Every step of the scenario, run through the harness: ``{label: normalised calls}``."""
    settings = EmulatorSettings(port=0, rate_limits=RateLimitSettings.unlimited())
    stderr = tmp_path_factory.mktemp("traces") / "provider.log"
    calls: dict[str, list[Any]] = {}
    with (
        Emulator(settings) as emu,
        ProviderServer(
            cwd=ROOT,
            project=scenario.PROJECT,
            env={
                "RENDER_API_URL": emu.url,
                "RENDER_API_KEY": "rnd_engineTraceReplayKey",
                "RENDER_OWNER_ID": emu.owner_id,
                "RENDER_API_CLIENT_LIMITS": "off",
            },
            stderr_path=stderr,
        ) as server,
    ):
        # The CLI starts a fresh provider plugin for every command.
        engine = Engine(server, stack=scenario.STACK)
        environment = emu.add_environment("production")
        try:
            for step in scenario.STEPS:
                cache_id = engine.resource("cache").id if engine.has("cache") else None
                ids = {scenario.CACHE_ID: cache_id, scenario.ENVIRONMENT_ID: environment}
                engine.set_config(scenario.resolve_config(step.config, ids))
                first = len(engine.calls)
                try:
                    _run(engine, step, cache_id)
                except EngineError:
                    if not step.expect_failure:
                        raise
                calls[step.label] = [
                    scenario.normalize(call.method, call.message) for call in engine.calls[first:]
                ]
            yield calls
        finally:
            if engine.resources:
                engine.destroy()


@pytest.mark.parametrize("step", scenario.STEPS, ids=lambda s: s.label)
def test_harness_sends_what_the_engine_sent(
    step: scenario.Step, replayed: dict[str, list[Any]]
) -> None:
    recorded = _conversations(scenario.load_recording(step)["calls"])
    sent = _conversations(replayed[step.label])
    assert sent.keys() == recorded.keys(), "the harness and the engine talked about other URNs"
    for urn, theirs in recorded.items():
        ours = sent[urn]
        assert [c["method"] for c in ours] == [c["method"] for c in theirs], urn or "plugin"
        for index, (mine, engine) in enumerate(zip(ours, theirs, strict=True)):
            differences = _differences(mine["request"], engine["request"])
            assert differences == [], f"{urn or 'plugin'}: call {index} ({engine['method']})"


def _conversations(calls: list[Any]) -> dict[str, list[Any]]:
    """The calls per URN, each in order ("" for the plugin's own: Handshake, Cancel, ...).

    The engine runs the steps of different resources in parallel (here a Read of one resource
    starts between the Check and the Diff of another), so only each resource's own sequence
    is an order both sides must keep.
    """
    groups: dict[str, list[Any]] = {}
    for call in calls:
        groups.setdefault(call["request"].get("urn", ""), []).append(call)
    return groups


def _differences(ours: Any, theirs: Any, path: str = "") -> list[str]:
    """Every path where two requests differ, with both values (readable where == is not)."""
    if isinstance(ours, dict) and isinstance(theirs, dict):
        found: list[str] = []
        for key in sorted(ours.keys() | theirs.keys()):
            where = f"{path}.{key}" if path else key
            if key not in theirs:
                found.append(f"{where}: only the harness sends it ({ours[key]!r})")
            elif key not in ours:
                found.append(f"{where}: only the engine sends it ({theirs[key]!r})")
            else:
                found += _differences(ours[key], theirs[key], where)
        return found
    return [] if ours == theirs else [f"{path}: harness {ours!r}, engine {theirs!r}"]


def test_every_step_has_a_recording() -> None:
    """A scenario step without a recording would compare nothing: record it (record.py)."""
    missing = [s.label for s in scenario.STEPS if not scenario.recording_path(s).is_file()]
    assert missing == []
    for step in scenario.STEPS:
        recording = scenario.load_recording(step)
        assert recording["config"] == dict(step.config), f"{step.label}: re-record"
        assert (recording["exit_code"] != 0) == step.expect_failure
