"""Bad input (issue 9): each case is caught in preview, on its property, with one message that
names the fix, and not one request reaches the API. Plus Hypothesis: check never raises, and
the client's wire models parse any JSON or reject it with one clear error type.

``CASES`` is also the bad-input table of ``docs/RELIABILITY.md``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pydantic
import pytest
from acceptance.conftest import key_value_program
from acceptance.test_keyvalue import CACHE
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from pulumi_render_kv import client as wire
from pulumi_render_kv.emulator import Emulator
from pulumi_render_kv.provider import KeyValueProvider
from pulumi_render_kv.testing import Engine

pytestmark = [pytest.mark.grpc]

OTHER_OWNER = "tea-other0000000000000000"
POLICIES = "must be one of noeviction, allkeys_lfu, allkeys_lru"


@dataclass(frozen=True)
class Case:
    id: str
    inputs: dict[str, Any]
    prop: str
    fix: str  # a part of the one message, naming what to do
    existing: dict[str, Any] | None = None  # inputs of an earlier `up`, for changes
    stage: str = "check"
    drop: tuple[str, ...] = field(default=())  # CACHE keys the case leaves out
    # A maintenance run the emulator schedules after the `up` of `existing` (refresh records
    # it): (days until scheduledAt, days until pendingMaintenanceBy).
    maintenance: tuple[float, float] | None = None


CASES = (
    # plan
    Case("plan-missing", {}, "plan", "choose one of free, starter", drop=("plan",)),
    Case("plan-empty", {"plan": ""}, "plan", "choose one of free, starter"),
    Case("plan-unknown", {"plan": "enterprise"}, "plan", "must be one of free, starter"),
    Case("plan-typo", {"plan": "startr"}, "plan", "did you mean 'starter'?"),
    Case("plan-number", {"plan": 1}, "plan", "must be a plan name, one of free"),
    Case("plan-list", {"plan": ["starter"]}, "plan", "must be a plan name, one of free"),
    Case("plan-bool", {"plan": True}, "plan", "must be a plan name, one of free"),
    Case("plan-downgrade", {"plan": "starter"}, "plan", "Keep 'pro'", existing={"plan": "pro"}),
    Case("plan-free-to-paid", {}, "plan", "set allow_data_loss=True", existing={"plan": "free"}),
    # name
    Case("name-empty", {"name": ""}, "name", "must be a non-empty string"),
    Case("name-blank", {"name": "   "}, "name", "must be a non-empty string"),
    Case("name-number", {"name": 42}, "name", "must be a non-empty string"),
    Case("name-list", {"name": ["a"]}, "name", "must be a non-empty string"),
    Case("name-too-long", {"name": "n" * 256}, "name", "at most 255 characters, not 256"),
    Case("name-newline", {"name": "cache\nprod"}, "name", "no control characters"),
    Case("name-tab", {"name": "cache\tprod"}, "name", "no control characters"),
    # region
    Case("region-unknown", {"region": "mars"}, "region", "must be one of frankfurt, oregon"),
    Case("region-typo", {"region": "oregn"}, "region", "did you mean 'oregon'?"),
    Case("region-empty", {"region": ""}, "region", "must be one of frankfurt, oregon"),
    Case("region-number", {"region": 5}, "region", "must be one of frankfurt, oregon"),
    Case("region-aws-style", {"region": "us-west-2"}, "region", "must be one of frankfurt"),
    Case(
        "region-change-no-consent",
        {"region": "ohio"},
        "region",
        "set allow_data_loss=True",
        existing={},
    ),
    # workload
    Case("workload-unknown", {"workload": "database"}, "workload", "must be one of cache, queue"),
    Case("workload-typo", {"workload": "cahce"}, "workload", "did you mean 'cache'?"),
    Case("workload-empty", {"workload": ""}, "workload", "must be one of cache, queue"),
    Case("workload-number", {"workload": 3}, "workload", "must be one of cache, queue"),
    Case("workload-missing", {}, "maxmemoryPolicy", "set either workload", drop=("workload",)),
    Case(
        "queue-that-evicts",
        {"workload": "queue", "maxmemory_policy": "allkeys_lru"},
        "maxmemoryPolicy",
        "use 'noeviction'",
    ),
    Case(
        "cache-that-cannot-evict",
        {"maxmemory_policy": "noeviction"},
        "maxmemoryPolicy",
        "use 'allkeys_lru'",
    ),
    Case(
        "queue-without-persistence",
        {"workload": "queue", "persistence_mode": "off"},
        "persistenceMode",
        "use 'journal_snapshot'",
    ),
    Case(
        "queue-on-free",  # persistence is not given: it comes from the workload
        {"workload": "queue", "plan": "free"},
        "workload",
        "choose plan 'starter' or larger",
    ),
    # maxmemory_policy
    Case("policy-unknown", {"maxmemory_policy": "lru"}, "maxmemoryPolicy", POLICIES),
    Case(
        "policy-typo",
        {"maxmemory_policy": "allkeys_lur"},
        "maxmemoryPolicy",
        "did you mean 'allkeys_lru'?",
    ),
    Case(
        "policy-dashboard-typo",
        {"maxmemory_policy": "allkeys-lruu"},
        "maxmemoryPolicy",
        "did you mean 'allkeys_lru'?",
    ),
    Case("policy-empty", {"maxmemory_policy": ""}, "maxmemoryPolicy", POLICIES),
    Case("policy-number", {"maxmemory_policy": 7}, "maxmemoryPolicy", POLICIES),
    # persistence_mode
    Case(
        "persistence-unknown",
        {"persistence_mode": "aof"},
        "persistenceMode",
        "must be one of journal_snapshot, snapshot, off",
    ),
    Case(
        "persistence-typo",
        {"persistence_mode": "snapshots"},
        "persistenceMode",
        "did you mean 'snapshot'?",
    ),
    Case(
        "persistence-empty",
        {"persistence_mode": ""},
        "persistenceMode",
        "must be one of journal_snapshot, snapshot, off",
    ),
    Case(
        "persistence-bool",
        {"persistence_mode": True},
        "persistenceMode",
        "must be one of journal_snapshot, snapshot, off",
    ),
    Case(
        "persistence-on-free",
        {"plan": "free", "persistence_mode": "snapshot"},
        "persistenceMode",
        "choose plan 'starter' or larger, or 'off'",
    ),
    # ip_allow_list
    Case(
        "cidr-garbage",
        {"ip_allow_list": ["not-an-ip"]},
        "ipAllowList[0]",
        "(example: 203.0.113.0/24)",
    ),
    Case(
        "cidr-host-bits",
        {"ip_allow_list": ["10.0.0.1/8"]},
        "ipAllowList[0]",
        "did you mean 10.0.0.0/8?",
    ),
    Case(
        "cidr-ipv6-host-bits",
        {"ip_allow_list": ["2001:db8::1/32"]},
        "ipAllowList[0]",
        "did you mean 2001:db8::/32?",
    ),
    Case(
        "cidr-prefix-too-long",
        {"ip_allow_list": ["10.0.0.0/33"]},
        "ipAllowList[0]",
        "(example: 203.0.113.0/24)",
    ),
    Case(
        "cidr-bad-octet",
        {"ip_allow_list": ["256.0.0.1"]},
        "ipAllowList[0]",
        "(example: 203.0.113.0/24)",
    ),
    Case(
        "cidr-bare-any",
        {"ip_allow_list": ["0.0.0.0"]},
        "ipAllowList[0]",
        "write 0.0.0.0/0 to admit every address",
    ),
    Case(
        "cidr-ipv6-bare-any",
        {"ip_allow_list": ["::"]},
        "ipAllowList[0]",
        "write ::/0 to admit every address",
    ),
    Case(
        "cidr-ipv6-garbage",
        {"ip_allow_list": ["2001:db8:::1"]},
        "ipAllowList[0]",
        "(example: 203.0.113.0/24)",
    ),
    Case("cidr-empty-string", {"ip_allow_list": [""]}, "ipAllowList[0]", "such as 203.0.113.0/24"),
    Case(
        "cidr-number", {"ip_allow_list": [10]}, "ipAllowList[0]", "must be {cidrBlock, description}"
    ),
    Case(
        "cidr-not-a-list",
        {"ip_allow_list": "10.0.0.0/8"},
        "ipAllowList",
        "must be a list of {cidrBlock, description}",
    ),
    Case(
        "cidr-dict-without-block",
        {"ip_allow_list": [{"description": "office"}]},
        "ipAllowList[0].cidrBlock",
        "such as 203.0.113.0/24",
    ),
    Case(
        "cidr-duplicate-descriptions",
        {
            "ip_allow_list": [
                {"cidr_block": "10.0.0.0/8", "description": "a"},
                {"cidr_block": "10.0.0.0/8", "description": "b"},
            ]
        },
        "ipAllowList[1].cidrBlock",
        "keep one entry",
    ),
    Case(
        "cidr-duplicate-spellings",
        {
            "ip_allow_list": [
                {"cidr_block": "10.0.0.1", "description": "a"},
                {"cidr_block": "10.0.0.1/32", "description": "b"},
            ]
        },
        "ipAllowList[1].cidrBlock",
        "keep one entry",
    ),
    Case(
        "cidr-description-number",
        {"ip_allow_list": [{"cidr_block": "10.0.0.0/8", "description": 5}]},
        "ipAllowList[0].description",
        "must be a string of at most 255 characters",
    ),
    Case(
        "cidr-description-newline",
        {"ip_allow_list": [{"cidr_block": "10.0.0.0/8", "description": "office\nvpn"}]},
        "ipAllowList[0].description",
        "no control characters",
    ),
    Case(
        "cidr-description-too-long",
        {"ip_allow_list": [{"cidr_block": "10.0.0.0/8", "description": "d" * 256}]},
        "ipAllowList[0].description",
        "must be a string of at most 255 characters",
    ),
    # environment_id, owner_id
    Case(
        "environment-wrong-prefix",
        {"environment_id": "env-123"},
        "environmentId",
        "starting with 'evm-'",
    ),
    Case("environment-empty", {"environment_id": ""}, "environmentId", "starting with 'evm-'"),
    Case("environment-number", {"environment_id": 12}, "environmentId", "starting with 'evm-'"),
    Case("owner-empty", {"owner_id": ""}, "ownerId", "a workspace id such as tea-"),
    Case(
        "owner-change-no-consent",
        {"owner_id": OTHER_OWNER},
        "ownerId",
        "set allow_data_loss=True",
        existing={},
        stage="diff",
    ),
    # flags and the wait
    Case(
        "deletion-protection-string",
        {"deletion_protection": "yes"},
        "deletionProtection",
        "must be true or false",
    ),
    Case(
        "allow-data-loss-number", {"allow_data_loss": 2}, "allowDataLoss", "must be true or false"
    ),
    Case(
        "adopt-existing-string",
        {"adopt_existing": "true"},
        "adoptExisting",
        "must be true or false",
    ),
    Case(
        "wait-timeout-negative",
        {"wait_timeout": -1},
        "waitTimeout",
        "must be between 1 and 21600 seconds",
    ),
    Case(
        "wait-timeout-zero",
        {"wait_timeout": 0},
        "waitTimeout",
        "must be between 1 and 21600 seconds",
    ),
    Case(
        "wait-timeout-huge",
        {"wait_timeout": 10**9},
        "waitTimeout",
        "must be between 1 and 21600 seconds",
    ),
    Case(
        "wait-timeout-string", {"wait_timeout": "10m"}, "waitTimeout", "must be a number of seconds"
    ),
    # typos and refused changes on an existing stack
    Case(
        "existing-policy-typo",
        {"maxmemory_policy": "allkeys_lfuu"},
        "maxmemoryPolicy",
        "did you mean 'allkeys_lfu'?",
        existing={},
    ),
    Case("existing-region-typo", {"region": "ohoi"}, "region", "did you mean 'ohio'?", existing={}),
    Case(
        "existing-plan-typo", {"plan": "standrd"}, "plan", "did you mean 'standard'?", existing={}
    ),
    Case(
        "existing-workload-typo",
        {"workload": "cahce"},
        "workload",
        "did you mean 'cache'?",
        existing={},
    ),
    # suspended
    Case(
        "suspended-string",
        {"suspended": "yes"},
        "suspended",
        "must be true, false or render_kv.AS_IS",
    ),
    Case(
        "patch-while-staying-suspended",
        {"suspended": True, "plan": "standard"},
        "plan",
        "Set suspended=False in this update to resume it first",
        existing={"suspended": True},
    ),
    Case(
        "derived-change-while-staying-suspended",  # the policy comes from the workload
        {"suspended": True, "workload": "queue"},
        "workload",
        "Set suspended=False in this update to resume it first",
        existing={"suspended": True},
    ),
    # logStream
    Case(
        "log-stream-send-without-endpoint",
        {"log_stream": {"setting": "send"}},
        "logStream.endpoint",
        "is required with setting 'send'",
    ),
    Case(
        "log-stream-endpoint-as-url",
        {"log_stream": {"setting": "send", "endpoint": "https://logs.example.com:6514"}},
        "logStream.endpoint",
        "drop the scheme",
    ),
    Case(
        "log-stream-endpoint-without-port",
        {"log_stream": {"setting": "send", "endpoint": "logs.example.com"}},
        "logStream.endpoint",
        "must be host:port, such as logs.example.com:6514",
    ),
    Case(
        "log-stream-port-out-of-range",
        {"log_stream": {"setting": "send", "endpoint": "logs.example.com:70000"}},
        "logStream.endpoint",
        "must be host:port",
    ),
    Case(
        "log-stream-drop-with-endpoint",
        {"log_stream": {"setting": "drop", "endpoint": "logs.example.com:6514"}},
        "logStream.endpoint",
        "goes only with setting 'send'",
    ),
    Case(
        "log-stream-drop-with-token",
        {"log_stream": {"setting": "drop", "token": "tok-1"}},
        "logStream.token",
        "goes only with setting 'send'",
    ),
    Case(
        "log-stream-setting-typo",
        {"log_stream": {"setting": "sned", "endpoint": "logs.example.com:6514"}},
        "logStream.setting",
        "did you mean 'send'?",
    ),
    Case(
        "log-stream-setting-missing",
        {"log_stream": {"endpoint": "logs.example.com:6514"}},
        "logStream.setting",
        "is required: 'send' (to endpoint) or 'drop'",
    ),
    Case(
        "log-stream-unknown-field",
        {"log_stream": {"setting": "drop", "target": "x"}},
        "logStream.target",
        "is not a log-stream field",
    ),
    Case(
        "log-stream-not-an-object",
        {"log_stream": "send"},
        "logStream",
        "must be {setting, endpoint, token}, render_kv.AS_IS or None",
    ),
    Case(
        "protected-replacement",
        {"region": "ohio", "allow_data_loss": True, "deletion_protection": True},
        "region",
        "set deletion_protection=False in one `pulumi up` first",
        existing={"deletion_protection": True},
    ),
    # maintenance_scheduled_at
    Case(
        "maintenance-time-unparseable",
        {"maintenance_scheduled_at": "next tuesday"},
        "maintenanceScheduledAt",
        "must be an ISO-8601 date and time, such as 2026-12-10T03:00:00Z",
    ),
    Case(
        "maintenance-time-without-offset",
        {"maintenance_scheduled_at": "2099-01-01T03:00:00"},
        "maintenanceScheduledAt",
        "has no UTC offset: add one",
    ),
    Case(
        "maintenance-time-past",
        {"maintenance_scheduled_at": "2020-01-01T00:00:00Z"},
        "maintenanceScheduledAt",
        "is not in the future",
    ),
    Case(
        "maintenance-past-its-window",
        {"maintenance_scheduled_at": "2099-01-01T00:00:00Z"},
        "maintenanceScheduledAt",
        "the latest Render allows for maintenance",
        existing={},
        stage="diff",
        maintenance=(1, 2),
    ),
)


def doc_rows() -> list[tuple[str, str, str]]:
    """(case, input, outcome) for docs/RELIABILITY.md."""
    rows = []
    for case in CASES:
        shown = {k: v for k, v in case.inputs.items()}
        for key in case.drop:
            shown[key] = "(missing)"
        what = ", ".join(f"{k}={v!r}"[:60] for k, v in shown.items())
        if case.existing is not None:
            what += " (on an existing stack)"
        if case.maintenance is not None:
            what += " (maintenance pending, movable until the next day)"
        rows.append((case.id, what, f"caught at {case.stage} on `{case.prop}`: …{case.fix}…"))
    return rows


def _inputs(case: Case, extra: dict[str, Any]) -> dict[str, Any]:
    base = {k: v for k, v in CACHE.items() if k not in case.drop}
    return {**base, **extra}


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_bad_input_is_caught_in_preview(engine: Engine, emu: Emulator, case: Case) -> None:
    if case.existing is not None:
        existing = {**CACHE, **case.existing}
        engine.up(key_value_program(**existing))
        if case.maintenance is not None:
            soon, latest = (datetime.now(UTC) + timedelta(days=d) for d in case.maintenance)
            emu.schedule_maintenance(
                engine.resource("cache").id, scheduled_at=soon, pending_maintenance_by=latest
            )
            engine.refresh()
        emu.clear_requests()
    inputs = _inputs(case, case.inputs)
    if case.existing is not None and case.existing.get("plan") == "free" and "plan" not in inputs:
        inputs["plan"] = "starter"
    plan = engine.preview(key_value_program(**inputs))
    assert plan.error is not None
    assert emu.request_counts() == {}, "a request reached the API"
    if case.stage == "check":
        [failure] = plan.failures  # one message, no second misleading one
        # The engine prints `property <p> value <v>` with <v> looked up as one top-level key of
        # the program's inputs: a nested path (ipAllowList[1].cidrBlock) printed `value
        # {<nil>}`. Those go on the resource, the path leading the reason.
        nested = "[" in case.prop or "." in case.prop
        assert failure.property == ("" if nested else case.prop)
        assert case.fix in failure.reason
        assert case.prop in failure.message
        assert "<nil>" not in failure.message or not nested
    else:  # refused by Diff, in the same preview
        assert plan.failures == ()
        message = plan.error.provider_message or ""
        assert f"{case.prop}: " in message
        assert case.fix in message
        assert message.count("allow_data_loss") == ("allow_data_loss" in case.fix)


def test_table_has_at_least_sixty_cases() -> None:
    assert len(CASES) >= 60
    assert len({c.id for c in CASES}) == len(CASES)
    covered = {k for c in CASES for k in (*c.inputs, *c.drop)}
    assert covered >= {
        "plan",
        "name",
        "region",
        "workload",
        "maxmemory_policy",
        "persistence_mode",
        "ip_allow_list",
        "environment_id",
        "owner_id",
        "deletion_protection",
        "allow_data_loss",
        "adopt_existing",
        "wait_timeout",
    }


# -- Hypothesis ---------------------------------------------------------------------------------

JSON = st.recursive(
    st.none() | st.booleans() | st.floats(allow_nan=False) | st.integers() | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)
INPUT_KEYS = st.sampled_from(
    [
        "plan",
        "name",
        "region",
        "workload",
        "maxmemoryPolicy",
        "persistenceMode",
        "ipAllowList",
        "logStream",
        "suspended",
        "environmentId",
        "ownerId",
        "deletionProtection",
        "allowDataLoss",
        "adoptExisting",
        "waitTimeout",
        "maintenanceScheduledAt",
        "__provider",
        "unknownKey",
    ]
)
FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FUZZ
@given(
    olds=st.dictionaries(INPUT_KEYS, JSON, max_size=6),
    news=st.dictionaries(INPUT_KEYS, JSON, max_size=8),
)
# Found by this test: a list workload (unhashable) raised TypeError in check.
@example(olds={}, news={"workload": [], "maxmemoryPolicy": [], "ipAllowList": "0.0.0.0/0"})
@example(olds={}, news={"logStream": {"setting": {}, "endpoint": ["x"], "token": 3}})
@example(olds={}, news={"logStream": {"setting": "send", "endpoint": ["x"], "token": 3}})
def test_check_never_raises(olds: dict[str, Any], news: dict[str, Any]) -> None:
    result = KeyValueProvider().check(olds, news)
    for failure in result.failures or ():
        # A nested problem goes on the resource (property ""), its path leading the reason.
        assert failure.property or failure.reason.split(":", 1)[0].startswith(
            ("ipAllowList", "logStream")
        )
        assert failure.reason


WIRE_MODELS = [
    getattr(wire, name)
    for name in sorted(wire.__all__)
    if isinstance(getattr(wire, name), type) and issubclass(getattr(wire, name), pydantic.BaseModel)
]


@FUZZ
@given(model=st.sampled_from(WIRE_MODELS), doc=JSON)
def test_wire_models_parse_or_reject_clearly(model: type[pydantic.BaseModel], doc: Any) -> None:
    text = json.dumps(doc)
    error: pydantic.ValidationError | None = None
    try:
        model.model_validate_json(text)
    except pydantic.ValidationError as exc:  # the one clear error; anything else fails the test
        error = exc
    if error is not None:
        assert error.error_count() >= 1
        assert model.__name__ in str(error)
