"""The rules as CrossGuard policies (``pulumi_policy``), and the pack that serves them."""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import pulumi
from pulumi_policy import (
    EnforcementLevel,
    PolicyConfigSchema,
    PolicyPack,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
)
from pulumi_policy.proxy import UnknownValueError

from pulumi_render_kv import spec
from pulumi_render_kv.policy._rules import RULES, Resource, Rule
from pulumi_render_kv.provider.resource import TYPE_TOKEN

PACK_NAME = "render-kv"

_LEVELS = {
    "advisory": EnforcementLevel.ADVISORY,
    "mandatory": EnforcementLevel.MANDATORY,
    "disabled": EnforcementLevel.DISABLED,
}

StackName = Callable[[], str]


def current_stack() -> str:
    """The stack being previewed or updated.

    The policy SDK configures Pulumi's runtime settings from ``PULUMI_STACK`` (which the CLI
    sets for the analyzer) before each validation; the variable itself is the fallback.
    """
    return pulumi.get_stack() or os.environ.get("PULUMI_STACK", "")


def plain_inputs(props: Mapping[str, Any]) -> dict[str, Any]:
    """The SDK's props proxy as plain values, with ``spec.UNKNOWN`` for preview unknowns.

    The proxy raises on reading an unknown; reading each value once here lets a rule that
    needs only known properties run during a preview instead of being skipped whole.
    """
    return {key: _plain(props, key) for key in props}


def _plain(container: Any, key: Any) -> Any:
    try:
        value = container[key]
    except UnknownValueError:
        return spec.UNKNOWN
    if isinstance(value, Mapping):
        return {k: _plain(value, k) for k in value}
    # The SDK's list proxy is a Sequence, not a list.
    if isinstance(value, Sequence) and not isinstance(value, str | bytes):
        return [_plain(value, i) for i in range(len(value))]
    return value


def _validator(
    rule: Rule, stack_name: StackName
) -> Callable[[ResourceValidationArgs, ReportViolation], None]:
    def validate(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
        if args.resource_type != TYPE_TOKEN:
            return
        resource = Resource.from_raw(args.name, plain_inputs(args.props))
        for message in rule.violations(resource, args.get_config(), stack_name()):
            report_violation(message, None)

    return validate


def policies(*, stack_name: StackName = current_stack) -> list[ResourceValidationPolicy]:
    """Every rule as a ``ResourceValidationPolicy``, with its own level and config schema.

    ``stack_name`` says which stack is being deployed (tests pass their own).
    """
    return [
        ResourceValidationPolicy(
            name=rule.name,
            description=rule.description,
            enforcement_level=_LEVELS[rule.enforcement],
            config_schema=PolicyConfigSchema(
                properties={k: dict(v) for k, v in rule.config_schema.items()}
            ),
            validate=_validator(rule, stack_name),
        )
        for rule in RULES
    ]


def serve(
    name: str = PACK_NAME,
    *,
    initial_config: dict[str, EnforcementLevel | dict[str, Any]] | None = None,
) -> None:
    """Serve the pack to the Pulumi CLI (blocks: this is the pack's ``__main__``)."""
    PolicyPack(name=name, policies=list(policies()), initial_config=initial_config)
