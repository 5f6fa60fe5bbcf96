"""Parity: the same inputs through both faces give the same check failures, the same plan,
the same warnings and the same API calls.

The dynamic face runs as the CLI runs it (a program through the SDK's mock monitor, the
SDK's ``python -m pulumi.dynamic`` server, ``pulumi_render_kv.testing.Engine``); the real
provider gets exactly the inputs that engine sent to the dynamic provider's Check (so the
program-side translation is not under test twice). Cases: the bad-input table of
``tests/suites/test_bad_input.py`` (every one of them) and a change-kind table like the CLI
suite's, each applied to an existing instance.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from acceptance.conftest import PROJECT, ROOT, key_value_program, provider_env
from pulumi.runtime.proto import engine_pb2
from suites.test_bad_input import CASES, Case, _inputs

from pulumi_render_kv.emulator import Emulator
from pulumi_render_kv.testing import Engine, OperationResult, ProviderServer

from .harness import NativeEngine, Plugins, ProviderError, reveal

pytestmark = [pytest.mark.grpc]

_IDS = re.compile(r"\b(red|evm|tea|mrn)-[a-z0-9]+")
_PREFIX = re.compile(r"^warning: KeyValue '[^']*': ")


@pytest.fixture(scope="module")
def server(
    emulator: Emulator, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ProviderServer]:
    stderr = tmp_path_factory.mktemp("dynamic") / "stderr.log"
    with ProviderServer(
        cwd=ROOT, project=PROJECT, env=provider_env(emulator), stderr_path=stderr
    ) as srv:
        yield srv


@pytest.fixture
def dynamic(server: ProviderServer, emu: Emulator) -> Engine:
    return Engine(server, stack="dev")


def _news(result: OperationResult) -> dict[str, Any]:
    """What the dynamic face's engine sent to Check, as the program's inputs."""
    [check] = [c for c in result.calls if c.method == "Check"][-1:]
    return {k: v for k, v in reveal(dict(check.request["news"])).items() if not k.startswith("__")}


def _dynamic_warnings(result: OperationResult) -> list[str]:
    return [_PREFIX.sub("", line) for line in result.stderr if _PREFIX.match(line)]


def _schedule_maintenance(emu: Emulator, instance_id: str, case: Case) -> bool:
    """The run a case needs pending (refresh records it); whether there is one."""
    if case.maintenance is None:
        return False
    soon, latest = (datetime.now(UTC) + timedelta(days=d) for d in case.maintenance)
    emu.schedule_maintenance(instance_id, scheduled_at=soon, pending_maintenance_by=latest)
    return True


def _calls(emu: Emulator) -> list[str]:
    return [r["method"] + " " + _IDS.sub(r"\1-*", r["path"]) for r in emu.requests()]


@dataclass
class Seen:
    """What one face did with one case."""

    failures: list[tuple[str, str]] = field(default_factory=list)
    error: str = ""
    op: str = ""
    replaces: list[str] = field(default_factory=list)
    delete_before_replace: bool = False
    warnings: list[str] = field(default_factory=list)
    calls: list[str] = field(default_factory=list)


def _dynamic_bad_input(
    dynamic: Engine, emu: Emulator, case: Case
) -> tuple[Seen, dict[str, Any], dict[str, Any] | None]:
    existing_news = None
    if case.existing is not None:
        up = dynamic.up(key_value_program(**{**CACHE, **case.existing}))
        existing_news = _news(up)
        if _schedule_maintenance(emu, dynamic.resource("cache").id, case):
            dynamic.refresh()
    emu.clear_requests()
    inputs = _inputs(case, case.inputs)
    if case.existing is not None and case.existing.get("plan") == "free" and "plan" not in inputs:
        inputs["plan"] = "starter"
    plan = dynamic.preview(key_value_program(**inputs))
    seen = Seen(
        failures=[(f.property, f.reason) for f in plan.failures],
        error=plan.error.provider_message if plan.error and not plan.failures else "",
        calls=_calls(emu),
    )
    return seen, _news(plan), existing_news


CACHE = {"plan": "starter", "workload": "cache"}


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_bad_input_fails_the_same_through_both_faces(
    dynamic: Engine, emu: Emulator, tmp_path: Path, case: Case
) -> None:
    expected, news, existing = _dynamic_bad_input(dynamic, emu, case)
    emu.reset()
    with Plugins(provider_env(emu), tmp_path / "native.log") as plugins:
        native = NativeEngine(plugins)
        if existing is not None:
            assert native.up("cache", existing).op == "create"
            if _schedule_maintenance(emu, native.state["cache"].id, case):
                native.refresh("cache")
        emu.clear_requests()
        seen = Seen()
        try:
            step = native.preview("cache", news)
            seen.failures = [(f.property, f.reason) for f in step.failures]
        except ProviderError as error:
            seen.error = error.message
        seen.calls = _calls(emu)
    assert seen.failures == expected.failures
    assert seen.calls == expected.calls == []
    if expected.error:
        assert seen.error
        # The dynamic face prefixes the error's class; each face made its own instance.
        assert _IDS.sub(r"\1-*", seen.error) in _IDS.sub(r"\1-*", expected.error)
    assert expected.failures or expected.error


@dataclass(frozen=True)
class Change:
    id: str
    edit: dict[str, Any]
    base: dict[str, Any] = field(default_factory=dict)


OFFICE = {"cidr_block": "203.0.113.0/24", "description": "office"}
HOME = {"cidr_block": "198.51.100.7/32", "description": "home"}
CHANGES = (
    Change("policy", {"maxmemory_policy": "allkeys_lfu"}),
    Change("plan-upgrade", {"plan": "standard"}),
    Change("allow-list-add", {"ip_allow_list": [OFFICE, HOME]}, {"ip_allow_list": [OFFICE]}),
    Change(
        "allow-list-reorder", {"ip_allow_list": [HOME, OFFICE]}, {"ip_allow_list": [OFFICE, HOME]}
    ),
    Change("name", {"name": "cache-v2"}),
    Change("suspend", {"suspended": True}),
    Change("resume", {"suspended": False}, {"suspended": True}),
    Change("log-stream", {"log_stream": {"setting": "drop"}}),
    Change("region-with-consent", {"region": "frankfurt", "allow_data_loss": True}),
    Change(
        "free-region-with-consent",
        {"plan": "free", "region": "ohio", "allow_data_loss": True},
        {"plan": "free"},
    ),
    Change("protection", {"deletion_protection": True}),
    Change("wait-timeout", {"wait_timeout": 120}),
    Change("nothing", {}),
)


@pytest.mark.parametrize("change", CHANGES, ids=lambda c: c.id)
def test_each_change_kind_plans_warns_and_calls_the_same_through_both_faces(
    dynamic: Engine, emu: Emulator, tmp_path: Path, change: Change
) -> None:
    base = {**CACHE, **change.base}
    first = dynamic.up(key_value_program(**base))
    base_news = _news(first)
    emu.clear_requests()
    edited = {**base, **change.edit}
    preview = dynamic.preview(key_value_program(**edited))
    up = dynamic.up(key_value_program(**edited))
    [step] = [s for s in up.steps if s.name == "cache"]
    expected = Seen(
        op=step.op,
        replaces=sorted(step.replace_keys),
        delete_before_replace=step.delete_before_replace,
        warnings=_dynamic_warnings(preview),
        calls=_calls(emu),
    )
    news = _news(up)
    emu.reset()
    with Plugins(provider_env(emu), tmp_path / "native.log") as plugins:
        native = NativeEngine(plugins)
        native.up("cache", base_news)
        emu.clear_requests()
        before = len(plugins.engine.logs)
        native.preview("cache", news)
        warnings = [
            log.message
            for log in plugins.engine.logs[before:]
            if log.severity == engine_pb2.WARNING
        ]
        applied = native.up("cache", news)
        assert applied.diff is not None
        seen = Seen(
            op=applied.op,
            replaces=sorted(applied.diff.replaces),
            delete_before_replace=applied.diff.deleteBeforeReplace,
            warnings=warnings,
            calls=_calls(emu),
        )
    assert seen == expected
    if change.id == "allow-list-reorder" or change.id == "nothing":
        assert seen.op == "same"
