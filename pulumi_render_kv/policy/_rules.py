"""The policy rules as pure functions: (canonical inputs, rule config, stack) → violations.

A policy pack sees a resource's inputs as the program wrote them, before the provider's
``check`` has run: ``allkeys-lru`` rather than ``allkeys_lru``, ``10.0.0.1`` rather than
``10.0.0.1/32``, no ``maxmemoryPolicy`` at all when ``workload`` implies it. So every rule
reads the inputs through ``spec.normalize_inputs``, the same canonicalisation the provider
applies, and judges what the provider would actually send to Render. No Pulumi here: the
adapter in ``_pack`` turns these into CrossGuard policies.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from pulumi_render_kv import catalog, spec
from pulumi_render_kv.catalog import MaxmemoryPolicy, PersistenceMode, Plan, Workload

DEFAULT_PRODUCTION_PATTERN = "^prod"
OPEN_CIDRS = ("0.0.0.0/0", "::/0")
_UNKNOWN = spec.UNKNOWN


@dataclass(frozen=True)
class Resource:
    """What a rule judges: the Pulumi resource name and its canonical inputs."""

    name: str
    inputs: Mapping[str, Any]  # as returned by spec.normalize_inputs; values may be UNKNOWN

    @classmethod
    def from_raw(cls, name: str, raw: Mapping[str, Any]) -> Resource:
        """Canonicalise raw program inputs; problems are the provider's to report, not ours."""
        inputs, _problems = spec.normalize_inputs(raw)
        return cls(name, inputs)

    def get(self, key: str) -> Any:
        return self.inputs.get(key)


Check = Callable[[Resource, Mapping[str, Any], str], list[str]]


@dataclass(frozen=True)
class Rule:
    """One rule: its id, what it checks, its default enforcement and config schema."""

    name: str
    description: str
    enforcement: str  # "advisory" | "mandatory" | "disabled", as --policy-pack-config spells it
    config_schema: Mapping[str, Mapping[str, Any]]
    check: Check

    def violations(self, resource: Resource, config: Mapping[str, Any], stack: str) -> list[str]:
        """Messages naming the resource, the rule, the value and the fix."""
        settings = {key: schema.get("default") for key, schema in self.config_schema.items()}
        settings.update({k: v for k, v in config.items() if k in self.config_schema})
        try:
            problems = self.check(resource, settings, stack)
        except re.error as err:
            # A broken pattern must not let everything through: fail closed, saying why.
            problems = [
                f"the policy config holds a pattern that is not a regular expression "
                f"({err.pattern!r}: {err}); fix it in the --policy-pack-config file"
            ]
        return [f"KeyValue {resource.name!r} breaks {self.name}: {problem}" for problem in problems]


def is_production(stack: str, config: Mapping[str, Any]) -> bool:
    pattern = config.get("productionStackPattern") or DEFAULT_PRODUCTION_PATTERN
    return re.search(pattern, stack) is not None


_PRODUCTION_SCHEMA: dict[str, dict[str, Any]] = {
    "productionStackPattern": {
        "type": "string",
        "default": DEFAULT_PRODUCTION_PATTERN,
        "description": "a regular expression (re.search) for the stack names this rule guards",
    }
}


# --- a queue never evicts and persists ------------------------------------------------------


def _is_queue(resource: Resource, config: Mapping[str, Any]) -> bool:
    if resource.get("workload") == Workload.QUEUE.value:
        return True
    pattern, name = config.get("queueNamePattern"), resource.get("name")
    if not isinstance(pattern, str) or not pattern or not isinstance(name, str):
        return False
    return re.search(pattern, name) is not None


def _queue_durable(resource: Resource, config: Mapping[str, Any], _stack: str) -> list[str]:
    if not _is_queue(resource, config):
        return []
    found = []
    policy, persistence, plan = (
        resource.get("maxmemoryPolicy"),
        resource.get("persistenceMode"),
        resource.get("plan"),
    )
    if policy is not _UNKNOWN and policy != MaxmemoryPolicy.NOEVICTION.value:
        found.append(
            f"maxmemoryPolicy is {policy!r}, so a full queue silently drops jobs; "
            "set maxmemory_policy='noeviction' (or drop it and set workload='queue')"
        )
    allowed = config.get("allowedPersistenceModes") or []
    if plan == Plan.FREE.value:
        found.append(
            "plan is 'free', which has no persistence, so a restart loses every job; "
            "choose plan 'starter' or larger"
        )
    elif persistence is not _UNKNOWN and persistence not in allowed:
        loses = (
            "every queued job"
            if persistence == PersistenceMode.OFF.value
            else "the jobs queued since the last snapshot"
        )
        found.append(
            f"persistenceMode is {persistence!r}, so a restart loses {loses}; "
            f"set persistence_mode to one of {', '.join(map(repr, allowed))}"
        )
    return found


# --- production stacks ----------------------------------------------------------------------


def _no_open_allow_list(resource: Resource, config: Mapping[str, Any], stack: str) -> list[str]:
    if not is_production(stack, config):
        return []
    entries = resource.get("ipAllowList")
    if not isinstance(entries, list):  # unknown in a preview: `up` checks again
        return []
    forbidden, broken = _forbidden_networks(config.get("forbiddenCidrs") or OPEN_CIDRS)
    if broken:
        return broken  # fail closed, as for a broken pattern
    # What the list admits, not how it is written: 0.0.0.0/1 + 128.0.0.0/1 is 0.0.0.0/0.
    networks = spec.allow_list_networks(entries)
    found = []
    for target in forbidden:
        covering = spec.cover(networks, target)
        if not covering:
            continue
        why = "the whole internet" if target.prefixlen == 0 else "forbidden by forbiddenCidrs"
        several = len(covering) > 1 or covering[0] != target
        found.append(
            f"ipAllowList admits {spec.describe_cover(target, covering)} ({why})"
            f"{',' if several else ''} on production stack {stack!r}; list your offices' or "
            "CI's CIDR blocks instead, or use [] for internal connections only"
        )
    return found


def _forbidden_networks(cidrs: Any) -> tuple[list[spec.IpNetwork], list[str]]:
    """The configured networks, and a problem for each entry that names none."""
    networks: list[spec.IpNetwork] = []
    broken = []
    for cidr in cidrs:
        network, reason = spec.parse_network(cidr)
        if network is None:
            broken.append(
                f"the policy config forbiddenCidrs holds {cidr!r}, which {reason}; fix it in "
                "the --policy-pack-config file"
            )
        elif network not in networks:
            networks.append(network)
    return networks, broken


def _deletion_protection(resource: Resource, config: Mapping[str, Any], stack: str) -> list[str]:
    if not is_production(stack, config):
        return []
    protected = resource.get("deletionProtection")
    if protected is _UNKNOWN or protected is True:
        return []
    return [
        f"deletionProtection is {protected!r} on production stack {stack!r}, so a destroy or a "
        "replacement deletes the instance and its data; set deletion_protection=True"
    ]


def _no_free_plan(resource: Resource, config: Mapping[str, Any], stack: str) -> list[str]:
    if not is_production(stack, config) or resource.get("plan") != Plan.FREE.value:
        return []
    return [
        f"plan is 'free' on production stack {stack!r}: it has no persistence, so its data is "
        "lost whenever the instance restarts; choose plan 'starter' or larger (with "
        "allow_data_loss=True for an existing instance: the free → paid move wipes its data)"
    ]


# --- optional limits ------------------------------------------------------------------------


def _plan_ceiling(resource: Resource, config: Mapping[str, Any], _stack: str) -> list[str]:
    ceiling, plan = config.get("maxPlan"), resource.get("plan")
    if not ceiling or not isinstance(plan, str):  # unknown in a preview: `up` checks again
        return []
    if catalog.plan_rank(plan) <= catalog.plan_rank(ceiling):
        return []
    return [
        f"plan is {plan!r}, above this organisation's ceiling {ceiling!r}; choose {ceiling!r} "
        "or smaller, or ask for the ceiling (policy config maxPlan) to be raised"
    ]


def _region_allowed(resource: Resource, config: Mapping[str, Any], _stack: str) -> list[str]:
    allowed, region = config.get("allowedRegions"), resource.get("region")
    if not allowed or region is _UNKNOWN or region in allowed:
        return []
    return [
        f"region is {region!r}, not one of the allowed regions {', '.join(map(repr, allowed))}; "
        "set region to one of them (a region change replaces the instance)"
    ]


_PLANS = list(catalog.PLAN_RANK)
_REGIONS = [r.value for r in catalog.Region]

RULES: tuple[Rule, ...] = (
    Rule(
        name="render-kv-queue-durable",
        description="A job queue never evicts (noeviction) and persists its data.",
        enforcement="mandatory",
        config_schema={
            "queueNamePattern": {
                "type": "string",
                "default": "",
                "description": "also treat instances whose name matches this regex as queues",
            },
            "allowedPersistenceModes": {
                "type": "array",
                "items": {"type": "string", "enum": [m.value for m in PersistenceMode]},
                "default": [PersistenceMode.JOURNAL_SNAPSHOT.value, PersistenceMode.SNAPSHOT.value],
                "description": "persistence modes a queue may use",
            },
        },
        check=_queue_durable,
    ),
    Rule(
        name="render-kv-no-open-allow-list",
        description="Production instances do not admit the whole internet (0.0.0.0/0, ::/0).",
        enforcement="mandatory",
        config_schema={
            **_PRODUCTION_SCHEMA,
            "forbiddenCidrs": {
                "type": "array",
                "items": {"type": "string"},
                "default": list(OPEN_CIDRS),
                "description": (
                    "networks a production allow list may not cover, in one entry or together"
                ),
            },
        },
        check=_no_open_allow_list,
    ),
    Rule(
        name="render-kv-deletion-protection",
        description="Production instances have deletion protection on.",
        enforcement="mandatory",
        config_schema=_PRODUCTION_SCHEMA,
        check=_deletion_protection,
    ),
    Rule(
        name="render-kv-no-free-plan",
        description="Production instances are not on the free plan.",
        enforcement="mandatory",
        config_schema=_PRODUCTION_SCHEMA,
        check=_no_free_plan,
    ),
    Rule(
        name="render-kv-plan-ceiling",
        description="No instance is on a plan above a configured ceiling (off unless maxPlan).",
        enforcement="advisory",
        config_schema={
            "maxPlan": {
                "type": "string",
                "enum": ["", *_PLANS],
                "default": "",
                "description": "the largest plan allowed; empty: no ceiling",
            }
        },
        check=_plan_ceiling,
    ),
    Rule(
        name="render-kv-allowed-regions",
        description="Instances live only in configured regions (off unless allowedRegions).",
        enforcement="mandatory",
        config_schema={
            "allowedRegions": {
                "type": "array",
                "items": {"type": "string", "enum": _REGIONS},
                "default": [],
                "description": "regions instances may use; empty: any region",
            }
        },
        check=_region_allowed,
    ),
)
