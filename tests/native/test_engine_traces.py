"""The native harness against the real engine: replay the recorded scenario, compare requests.

``tests/native/traces/recorded/`` holds what the real Pulumi engine sent to the render-kv
provider while a Pulumi YAML program ran under the CLI (recorded by
``tests/native/traces/record.py``); here the same steps run through :class:`NativeEngine`
against the emulator, and the harness must send the same calls, in the same order, with the
same fields: only ids, ports, passwords, timestamps, random seeds, the provider's uuid and the
engine's own service addresses are ignored, and the differences in :data:`KNOWN` are allowed,
each for the reason given. This keeps the harness honest where no CLI runs (CI).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import pytest
from acceptance.conftest import provider_env
from google.protobuf import json_format

from pulumi_render_kv.emulator import Emulator, EmulatorSettings, RateLimitSettings

from . import harness
from .harness import NativeEngine, Plugins
from .traces import scenario

pytestmark = [pytest.mark.grpc, pytest.mark.dataplane]

#: The calls the YAML language host makes through the engine's loader before the program
#: runs: a second plugin process that only serves the schema (and is cancelled at the end).
#: The harness has no language host, so it sends none of them; they are cut from the
#: recording here, by exact shape, so that a change in them still fails the test.
SCHEMA_LOADER = ["Handshake", "GetPluginInfo", "GetSchema", "GetPluginInfo"]

#: Differences allowed between the harness and the engine, as (method, field path): why each.
KNOWN: dict[tuple[str, str], str] = {
    # The engine's loader, mapper and resolver services run inside the CLI; the harness runs
    # only a stub of its Log service, whose address (engineAddress) is already ignored.
    ("Handshake", "loaderTarget"): "an engine service the harness does not run",
    ("Handshake", "mapperTarget"): "an engine service the harness does not run",
    ("Handshake", "resolverTarget"): "an engine service the harness does not run",
}


def _run(engine: NativeEngine, step: scenario.Step) -> None:
    if step.forget:  # `pulumi state delete`: no call to the provider
        del engine.state[scenario.NAME]
    if step.command == "preview":
        engine.preview(scenario.NAME, scenario.inputs(step.config))
    elif step.command == "up":
        engine.up(scenario.NAME, scenario.inputs(step.config))
    elif step.command == "refresh":
        engine.refresh(scenario.NAME)
    elif step.command == "import":
        engine.import_(scenario.NAME, engine.cache_id)  # type: ignore[attr-defined]
    elif step.command == "destroy":
        engine.destroy()
    else:
        raise ValueError(f"unknown command {step.command!r}")


def _normalize(method: str, request: Any) -> dict[str, Any]:
    as_json = json_format.MessageToDict(request)
    call = scenario.normalize(method, as_json)
    # The harness's URNs name its own project; the recording's, the traced program's.
    text = json.dumps(call).replace(f"::{harness.PROJECT}::", f"::{scenario.PROJECT}::")
    result: dict[str, Any] = json.loads(text)
    return result


@pytest.fixture(scope="module")
def replayed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, list[Any]]]:
    """Every step of the scenario, run through the harness: ``{label: normalised calls}``."""
    settings = EmulatorSettings(port=0, rate_limits=RateLimitSettings.unlimited())
    stderr = tmp_path_factory.mktemp("native-traces") / "provider.log"
    calls: dict[str, list[Any]] = {}
    with Emulator(settings) as emu, Plugins(provider_env(emu), stderr) as plugins:
        engine = NativeEngine(plugins)
        try:
            for step in scenario.STEPS:
                if scenario.NAME in engine.state:
                    engine.cache_id = engine.state[scenario.NAME].id  # type: ignore[attr-defined]
                first = len(engine.sent)
                _run(engine, step)
                engine.end_command()
                calls[step.label] = [_normalize(m, r) for m, r in engine.sent[first:]]
            yield calls
        finally:
            if engine.state:
                engine.destroy()
                engine.end_command()


def _engine_calls(step: scenario.Step) -> list[Any]:
    calls: list[Any] = list(scenario.load_recording(step)["calls"])
    methods = [c["method"] for c in calls]
    if "GetSchema" in methods:
        assert methods[: len(SCHEMA_LOADER)] == SCHEMA_LOADER, methods
        assert methods[-2:] == ["Cancel", "Cancel"], methods
        calls = calls[len(SCHEMA_LOADER) : -1]
    return calls


@pytest.mark.parametrize("step", scenario.STEPS, ids=lambda s: s.label)
def test_the_harness_sends_what_the_engine_sent(
    step: scenario.Step, replayed: dict[str, list[Any]]
) -> None:
    theirs = _engine_calls(step)
    ours = replayed[step.label]
    assert [c["method"] for c in ours] == [c["method"] for c in theirs]
    found = []
    for index, (mine, engine) in enumerate(zip(ours, theirs, strict=True)):
        method = engine["method"]
        for where, what in _differences(mine["request"], engine["request"]):
            if (method, where) not in KNOWN:
                found.append(f"call {index} ({method}) {where}: {what}")
    assert found == []


def _differences(ours: Any, theirs: Any, path: str = "") -> list[tuple[str, str]]:
    """Every path where two requests differ, with both values (readable where == is not)."""
    if isinstance(ours, dict) and isinstance(theirs, dict):
        found: list[tuple[str, str]] = []
        for key in sorted(ours.keys() | theirs.keys()):
            where = f"{path}.{key}" if path else key
            if key not in theirs:
                found.append((where, f"only the harness sends it ({ours[key]!r})"))
            elif key not in ours:
                found.append((where, f"only the engine sends it ({theirs[key]!r})"))
            else:
                found += _differences(ours[key], theirs[key], where)
        return found
    return [] if ours == theirs else [(path, f"harness {ours!r}, engine {theirs!r}")]


def test_every_step_has_a_recording_without_secrets() -> None:
    """A step without a recording would compare nothing; a recording is committed, so no
    password, API key or log token may be in it (record.py scrubs them)."""
    missing = [s.label for s in scenario.STEPS if not scenario.recording_path(s).is_file()]
    assert missing == []
    for step in scenario.STEPS:
        recording = scenario.load_recording(step)
        assert recording["config"] == dict(step.config), f"{step.label}: re-record"
        assert recording["exit_code"] == 0
        text = scenario.recording_path(step).read_text()
        assert "rnd_" not in text
        assert "REDISCLI_AUTH=PASSWORD" in text or "cliCommand" not in text
        passwords = set(re.findall(r"rediss?://[^:@/\"]+:([^@/\"]*)@", text))
        assert passwords <= {"PASSWORD"}, step.label
