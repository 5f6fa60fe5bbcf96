"""A CrossGuard policy pack for Render Key Value: ``pulumi preview --policy-pack …``.

``policies()`` returns the rules as ``pulumi_policy`` policies; ``serve()`` runs them as a
pack (the ``__main__`` of a policy-pack folder, such as ``examples/policy-pack``). Needs the
``[policy]`` extra (``pulumi-policy``).
"""

from pulumi_render_kv.policy._pack import PACK_NAME, current_stack, plain_inputs, policies, serve
from pulumi_render_kv.policy._rules import DEFAULT_PRODUCTION_PATTERN, RULES, Resource, Rule

__all__ = [
    "DEFAULT_PRODUCTION_PATTERN",
    "PACK_NAME",
    "RULES",
    "Resource",
    "Rule",
    "current_stack",
    "plain_inputs",
    "policies",
    "serve",
]
