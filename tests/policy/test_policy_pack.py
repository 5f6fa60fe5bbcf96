"""The policy pack's rules, called the way the policy SDK calls them, without the CLI.

Each resource's inputs go through what ``pulumi_policy``'s analyzer does with an
``AnalyzeRequest`` (a protobuf ``Struct`` → ``MessageToDict`` → ``deserialize_properties`` →
``unknown_checking_proxy``) into a real ``ResourceValidationArgs`` with the rule's config; the
last tests drive the SDK's analyzer servicer itself (``Configure`` + ``Analyze``).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
import yaml
from google.protobuf import json_format, struct_pb2
from pulumi.runtime.proto import analyzer_pb2
from pulumi_policy import (
    EnforcementLevel,
    PolicyCustomTimeouts,
    PolicyResourceOptions,
    ResourceValidationArgs,
    ResourceValidationPolicy,
)
from pulumi_policy.deserialize import deserialize_properties
from pulumi_policy.policy import _PolicyAnalyzerServicer
from pulumi_policy.proxy import UNKNOWN_STRING_VALUE, unknown_checking_proxy

from pulumi_render_kv import TYPE_TOKEN
from pulumi_render_kv.policy import PACK_NAME, RULES, policies

ROOT = Path(__file__).resolve().parents[2]
# What a dynamic resource's inputs always carry besides the program's: the pickled provider.
PROVIDER_INPUT = {"__provider": "gASVKAAAAAAAAACMHnB1bHVtaV9yZW5kZXJfa3YucHJvdmlkZXIucHJvdmlkZXI="}


def struct_of(props: Mapping[str, Any]) -> struct_pb2.Struct:
    struct = struct_pb2.Struct()
    struct.update(dict(props))
    return struct


def sdk_args(
    props: Mapping[str, Any],
    *,
    name: str = "jobs",
    config: Mapping[str, Any] | None = None,
    resource_type: str = TYPE_TOKEN,
) -> ResourceValidationArgs:
    """``ResourceValidationArgs`` exactly as ``_PolicyAnalyzerServicer.Analyze`` builds them."""
    wire = json_format.MessageToDict(struct_of({**PROVIDER_INPUT, **props}))
    return ResourceValidationArgs(
        resource_type,
        unknown_checking_proxy(deserialize_properties(wire)),
        f"urn:pulumi:prod::proj::{resource_type}::{name}",
        name,
        PolicyResourceOptions(False, [], None, [], PolicyCustomTimeouts(0, 0, 0), [], None),
        None,
        dict(config) if config is not None else None,
        {},
    )


def violations(
    rule: str,
    props: Mapping[str, Any],
    *,
    stack: str = "prod",
    config: Mapping[str, Any] | None = None,
    name: str = "jobs",
    resource_type: str = TYPE_TOKEN,
) -> list[str]:
    policy = {p.name: p for p in policies(stack_name=lambda: stack)}[rule]
    found: list[str] = []
    args = sdk_args(props, name=name, config=config, resource_type=resource_type)
    assert policy.validate(args, lambda message, urn=None: found.append(message)) is None
    return found


def only(messages: list[str]) -> str:
    assert len(messages) == 1, messages
    return messages[0]


# A program's inputs as the SDK sends them: camelCase, None dropped, numbers as doubles.
QUEUE = {"name": "jobs", "plan": "starter", "workload": "queue", "ipAllowList": []}
PROTECTED = {"name": "cache", "plan": "pro", "workload": "cache", "deletionProtection": True}


# --- render-kv-queue-durable -----------------------------------------------------------------


def test_queue_with_workload_defaults_passes() -> None:
    assert violations("render-kv-queue-durable", QUEUE) == []
    assert violations("render-kv-queue-durable", {**QUEUE, "maxmemoryPolicy": "noeviction"}) == []


def test_queue_that_evicts_fails_with_the_blueprint_spelling_mapped() -> None:
    message = only(
        violations("render-kv-queue-durable", {**QUEUE, "maxmemoryPolicy": "allkeys-lru"})
    )
    assert message.startswith("KeyValue 'jobs' breaks render-kv-queue-durable: ")
    assert "maxmemoryPolicy is 'allkeys_lru'" in message
    assert "maxmemory_policy='noeviction'" in message


def test_queue_without_persistence_fails() -> None:
    message = only(violations("render-kv-queue-durable", {**QUEUE, "persistenceMode": "off"}))
    assert "persistenceMode is 'off', so a restart loses every queued job" in message
    assert "'journal_snapshot', 'snapshot'" in message


def test_queue_on_the_free_plan_fails_for_lack_of_persistence() -> None:
    message = only(violations("render-kv-queue-durable", {**QUEUE, "plan": "free"}))
    assert "plan is 'free', which has no persistence" in message
    assert "'starter' or larger" in message


def test_queue_persistence_modes_are_configurable() -> None:
    props = {**QUEUE, "persistenceMode": "snapshot"}
    assert violations("render-kv-queue-durable", props) == []
    config = {"allowedPersistenceModes": ["journal_snapshot"]}
    message = only(violations("render-kv-queue-durable", props, config=config))
    assert "persistenceMode is 'snapshot', so a restart loses the jobs queued since" in message
    assert "set persistence_mode to one of 'journal_snapshot'" in message


def test_queue_name_pattern_catches_queues_declared_without_workload() -> None:
    props = {"name": "celery-jobs", "plan": "starter", "maxmemoryPolicy": "allkeys_lfu"}
    assert violations("render-kv-queue-durable", props) == []
    message = only(
        violations("render-kv-queue-durable", props, config={"queueNamePattern": "jobs$"})
    )
    assert "maxmemoryPolicy is 'allkeys_lfu'" in message


def test_a_cache_is_not_a_queue() -> None:
    assert violations("render-kv-queue-durable", PROTECTED, name="cache") == []


# --- render-kv-no-open-allow-list ------------------------------------------------------------


@pytest.mark.parametrize(
    ("entry", "shown"),
    [
        ({"cidrBlock": "0.0.0.0/0", "description": "anywhere"}, "0.0.0.0/0"),
        ({"cidrBlock": " 0.0.0.0/0", "description": ""}, "0.0.0.0/0"),
        ("::/0", "::/0"),
        ({"cidrBlock": "::0/0", "description": ""}, "::/0"),
    ],
)
def test_open_allow_list_fails_on_production(entry: Any, shown: str) -> None:
    props = {**PROTECTED, "ipAllowList": [{"cidrBlock": "203.0.113.0/24"}, entry]}
    message = only(violations("render-kv-no-open-allow-list", props, stack="prod-eu"))
    assert message.startswith("KeyValue 'jobs' breaks render-kv-no-open-allow-list: ")
    assert f"admits {shown} (the whole internet) on production stack 'prod-eu'" in message
    assert "use [] for internal connections only" in message


EIGHTS = [f"{i}.0.0.0/8" for i in range(256)]  # every IPv4 address, in 256 entries


@pytest.mark.parametrize(
    ("entries", "shown"),
    [
        (["0.0.0.0/1", "128.0.0.0/1"], "0.0.0.0/1 and 128.0.0.0/1, which together cover 0.0.0.0/0"),
        (["8000::/1", "::/1"], "::/1 and 8000::/1, which together cover ::/0"),
        # Overlaps and extra entries change nothing: only what the entries admit counts.
        (
            ["203.0.113.0/24", "0.0.0.0/2", "64.0.0.0/2", "10.0.0.0/8", "128.0.0.0/1"],
            "0.0.0.0/2, 64.0.0.0/2 and 128.0.0.0/1, which together cover 0.0.0.0/0",
        ),
        (EIGHTS, "0.0.0.0/8, 1.0.0.0/8, 2.0.0.0/8, 3.0.0.0/8, 4.0.0.0/8 and 251 more"),
        (["10.0.0.0/8", *EIGHTS], "0.0.0.0/8, 1.0.0.0/8, 2.0.0.0/8, 3.0.0.0/8, 4.0.0.0/8 and 251"),
    ],
)
def test_a_split_open_allow_list_fails_on_production(entries: list[str], shown: str) -> None:
    """Judged by what the entries cover together, not by how they are written."""
    props = {**PROTECTED, "ipAllowList": entries}
    message = only(violations("render-kv-no-open-allow-list", props, stack="prod-eu"))
    assert f"ipAllowList admits {shown}" in message
    assert "(the whole internet), on production stack 'prod-eu'" in message
    assert "use [] for internal connections only" in message


def test_both_families_split_open_give_one_violation_each() -> None:
    props = {**PROTECTED, "ipAllowList": ["0.0.0.0/1", "128.0.0.0/1", "::/1", "8000::/1"]}
    ipv4, ipv6 = violations("render-kv-no-open-allow-list", props)
    assert "together cover 0.0.0.0/0" in ipv4
    assert "together cover ::/0" in ipv6


@pytest.mark.parametrize(
    "entries",
    [
        EIGHTS[:-1],  # all but 255.0.0.0/8: almost open is not open
        ["0.0.0.0/1"],
        ["0.0.0.0/1", "8000::/1"],  # half of each family is neither family whole
        ["::/1", "128.0.0.0/1"],
        ["0.0.0.0/1", "128.0.0.0/2", "192.0.0.0/3", "224.0.0.0/4"],
    ],
)
def test_a_list_that_leaves_addresses_out_passes(entries: list[str]) -> None:
    props = {**PROTECTED, "ipAllowList": entries}
    assert violations("render-kv-no-open-allow-list", props) == []


def test_forbidden_cidrs_are_judged_by_coverage_too() -> None:
    strict = {"forbiddenCidrs": ["10.0.0.0/8"]}
    halves = {**PROTECTED, "ipAllowList": ["10.0.0.0/9", "10.128.0.0/9"]}
    message = only(violations("render-kv-no-open-allow-list", halves, config=strict))
    assert "admits 10.0.0.0/9 and 10.128.0.0/9, which together cover 10.0.0.0/8" in message
    assert "the whole internet" not in message
    wider = {**PROTECTED, "ipAllowList": ["10.0.0.0/7"]}
    message = only(violations("render-kv-no-open-allow-list", wider, config=strict))
    assert "admits 10.0.0.0/7, which covers 10.0.0.0/8" in message
    part = {**PROTECTED, "ipAllowList": ["10.0.0.0/9"]}
    assert violations("render-kv-no-open-allow-list", part, config=strict) == []


def test_a_forbidden_cidr_that_is_no_cidr_fails_closed() -> None:
    props = {**PROTECTED, "ipAllowList": ["203.0.113.0/24"]}
    config = {"forbiddenCidrs": ["0.0.0.0/0", "everything"]}
    message = only(violations("render-kv-no-open-allow-list", props, config=config))
    assert "forbiddenCidrs holds 'everything', which is not an IP address or CIDR" in message
    assert "fix it in the --policy-pack-config file" in message


def test_office_ranges_and_bare_addresses_pass_on_production() -> None:
    # 0.0.0.0 without a prefix is the single address 0.0.0.0/32, as the provider reads it.
    props = {**PROTECTED, "ipAllowList": ["203.0.113.0/24", "0.0.0.0", "2001:db8::/32"]}
    assert violations("render-kv-no-open-allow-list", props) == []


def test_open_allow_list_passes_outside_production() -> None:
    props = {**PROTECTED, "ipAllowList": ["0.0.0.0/0"]}
    assert violations("render-kv-no-open-allow-list", props, stack="dev") == []
    assert violations("render-kv-no-open-allow-list", props, stack="staging-prod") == []


def test_production_pattern_and_forbidden_cidrs_are_configurable() -> None:
    props = {**PROTECTED, "ipAllowList": ["0.0.0.0/0", "10.0.0.0/8"]}
    live = {"productionStackPattern": "^live"}
    assert violations("render-kv-no-open-allow-list", props, stack="prod", config=live) == []
    assert violations("render-kv-no-open-allow-list", props, stack="live", config=live)
    strict = {"forbiddenCidrs": ["10.0.0.0/8"]}
    message = only(violations("render-kv-no-open-allow-list", props, config=strict))
    assert "admits 10.0.0.0/8" in message


def test_a_broken_pattern_fails_closed() -> None:
    broken = {"productionStackPattern": "prod("}
    message = only(violations("render-kv-deletion-protection", QUEUE, config=broken))
    assert "pattern that is not a regular expression ('prod('" in message
    assert "fix it in the --policy-pack-config file" in message


# --- render-kv-deletion-protection -----------------------------------------------------------


def test_deletion_protection_required_on_production() -> None:
    message = only(violations("render-kv-deletion-protection", QUEUE, stack="production"))
    assert message.startswith("KeyValue 'jobs' breaks render-kv-deletion-protection: ")
    assert "deletionProtection is False on production stack 'production'" in message
    assert "set deletion_protection=True" in message
    assert violations("render-kv-deletion-protection", PROTECTED) == []
    assert violations("render-kv-deletion-protection", QUEUE, stack="dev") == []


# --- render-kv-no-free-plan ------------------------------------------------------------------


def test_free_plan_refused_on_production_only() -> None:
    props = {"name": "c", "plan": " Free ", "workload": "cache"}
    message = only(violations("render-kv-no-free-plan", props, name="c"))
    assert message.startswith("KeyValue 'c' breaks render-kv-no-free-plan: plan is 'free'")
    assert "choose plan 'starter' or larger" in message
    assert violations("render-kv-no-free-plan", props, stack="dev") == []
    assert violations("render-kv-no-free-plan", QUEUE) == []


# --- render-kv-plan-ceiling ------------------------------------------------------------------


def test_plan_ceiling_is_off_unless_configured() -> None:
    assert violations("render-kv-plan-ceiling", {**QUEUE, "plan": "pro_plus"}) == []


@pytest.mark.parametrize(
    ("plan", "allowed"),
    [("pro", True), ("standard", True), ("pro_plus", False), ("custom-64gb", False)],
)
def test_plan_ceiling(plan: str, allowed: bool) -> None:
    found = violations("render-kv-plan-ceiling", {**QUEUE, "plan": plan}, config={"maxPlan": "pro"})
    if allowed:
        assert found == []
    else:
        message = only(found)
        assert f"plan is {plan!r}, above this organisation's ceiling 'pro'" in message
        assert "choose 'pro' or smaller" in message


# --- render-kv-allowed-regions ---------------------------------------------------------------


def test_regions_are_free_unless_configured() -> None:
    assert violations("render-kv-allowed-regions", {**QUEUE, "region": "singapore"}) == []


def test_region_allow_list_reads_the_default_region_too() -> None:
    config = {"allowedRegions": ["frankfurt"]}
    assert (
        violations("render-kv-allowed-regions", {**QUEUE, "region": "Frankfurt"}, config=config)
        == []
    )
    # No region: the provider creates it in oregon, so that is what the rule judges.
    message = only(violations("render-kv-allowed-regions", QUEUE, config=config))
    assert "region is 'oregon', not one of the allowed regions 'frankfurt'" in message


# --- preview unknowns, other types -----------------------------------------------------------


def test_unknown_values_skip_only_the_rules_that_need_them() -> None:
    props = {**QUEUE, "plan": UNKNOWN_STRING_VALUE, "ipAllowList": ["0.0.0.0/0"]}
    assert violations("render-kv-no-free-plan", props) == []
    assert violations("render-kv-plan-ceiling", props, config={"maxPlan": "free"}) == []
    assert violations("render-kv-no-open-allow-list", props)  # still judged in the preview
    unknown_list = {**QUEUE, "ipAllowList": UNKNOWN_STRING_VALUE}
    assert violations("render-kv-no-open-allow-list", unknown_list) == []


def test_other_resource_types_are_ignored() -> None:
    props = {"plan": "free", "ipAllowList": ["0.0.0.0/0"]}
    for rule in RULES:
        assert violations(rule.name, props, resource_type="aws:s3/bucket:Bucket") == []


# --- the pack as the policy SDK serves it ----------------------------------------------------


def test_each_rule_has_its_own_level_and_config_schema() -> None:
    built = policies(stack_name=lambda: "prod")
    assert all(isinstance(p, ResourceValidationPolicy) for p in built)
    assert [p.name for p in built] == [r.name for r in RULES]
    assert {p.enforcement_level for p in built} == {
        EnforcementLevel.MANDATORY,
        EnforcementLevel.ADVISORY,
    }
    schemas = {p.name: p.config_schema.properties for p in built if p.config_schema}
    assert len(schemas) == len(RULES)
    assert schemas["render-kv-plan-ceiling"]["maxPlan"]["enum"][1:] == [
        "free", "starter", "standard", "pro", "pro_plus"
    ]  # fmt: skip
    for schema in schemas.values():
        assert all("default" in prop and "description" in prop for prop in schema.values())


def analyzer(config: Mapping[str, tuple[int, Mapping[str, Any]]]) -> _PolicyAnalyzerServicer:
    servicer = _PolicyAnalyzerServicer(
        PACK_NAME, "0.1.0", list(policies(stack_name=lambda: "prod")), EnforcementLevel.ADVISORY
    )
    request = analyzer_pb2.ConfigureAnalyzerRequest(
        policyConfig={
            name: analyzer_pb2.PolicyConfig(enforcementLevel=level, properties=struct_of(props))
            for name, (level, props) in config.items()
        }
    )
    servicer.Configure(request, None)
    return servicer


def test_the_sdk_analyzer_applies_levels_and_config() -> None:
    servicer = analyzer(
        {
            "render-kv-plan-ceiling": (analyzer_pb2.MANDATORY, {"maxPlan": "starter"}),
            "render-kv-deletion-protection": (analyzer_pb2.DISABLED, {}),
        }
    )
    props = {**PROVIDER_INPUT, **QUEUE, "plan": "free", "ipAllowList": ["0.0.0.0/0"]}
    request = analyzer_pb2.AnalyzeRequest(
        type=TYPE_TOKEN, properties=struct_of(props), urn="urn:pulumi:prod::p::t::jobs", name="jobs"
    )
    response = servicer.Analyze(request, None)
    found = {(d.policyName, d.enforcementLevel) for d in response.diagnostics}
    assert found == {
        ("render-kv-queue-durable", analyzer_pb2.MANDATORY),
        ("render-kv-no-open-allow-list", analyzer_pb2.MANDATORY),
        ("render-kv-no-free-plan", analyzer_pb2.MANDATORY),
    }  # deletion protection disabled; free is under the ceiling
    bigger = analyzer_pb2.AnalyzeRequest(
        type=TYPE_TOKEN,
        properties=struct_of({**PROVIDER_INPUT, **PROTECTED, "plan": "pro"}),
        urn="urn:pulumi:prod::p::t::cache",
        name="cache",
    )
    (ceiling,) = servicer.Analyze(bigger, None).diagnostics
    assert ceiling.policyName == "render-kv-plan-ceiling"
    assert "KeyValue 'cache' breaks render-kv-plan-ceiling: plan is 'pro'" in ceiling.message


def test_example_pack_folder_is_a_python_policy_pack() -> None:
    folder = ROOT / "examples" / "policy-pack"
    manifest = yaml.safe_load((folder / "PulumiPolicy.yaml").read_text())
    assert manifest["runtime"]["name"] == "python"
    venv = folder / manifest["runtime"]["options"]["virtualenv"]
    assert venv.resolve() == (ROOT / ".venv").resolve()
    assert "from pulumi_render_kv.policy import serve" in (folder / "__main__.py").read_text()
    requirements = (folder / "requirements.txt").read_text().splitlines()
    # The one requirement (not a comment): this checkout, with the policy SDK extra.
    assert [line for line in requirements if line and not line.startswith("#")] == [
        "-e ../..[policy]"
    ]
    example = json.loads((folder / "policy-config.example.json").read_text())
    assert set(example) == {r.name for r in RULES}
