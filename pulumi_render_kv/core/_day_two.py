"""Internal authentication switched in the Dashboard: what refresh records, what preview says.

Render's API cannot set internal authentication and has no field for it: the internal
connection string says it (``redis://default:<password>@red-…`` once it is on). A refresh
records the new string (a secret) and ``internalAuthEnabled``, and keeps
``deployedInternalAuthEnabled`` as the last create or update saw it. While the two differ,
each preview and `up` warns; the update that `up` then makes (no API call) records the
switch as deployed, and the warning stops. Pure: reads and returns dicts.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pulumi_render_kv.core._convert import (
    DEPLOYED_INTERNAL_AUTH,
    INTERNAL_AUTH,
    forget_finished_move,
    has_credentials,
)
from pulumi_render_kv.maintenance_plan import MOVED


def refreshed(prior: Mapping[str, Any], outs: dict[str, Any]) -> dict[str, Any]:
    """A refresh's outputs: the deployed internal-auth setting and a maintenance move kept.

    State written before ``deployedInternalAuthEnabled`` existed says it through the internal
    string it recorded (credentials or none); state without that either cannot tell, and
    takes what is live now (no warning it cannot back up).
    """
    if isinstance(prior.get(DEPLOYED_INTERNAL_AUTH), bool):
        outs[DEPLOYED_INTERNAL_AUTH] = prior[DEPLOYED_INTERNAL_AUTH]
    elif isinstance(prior.get("internalConnectionString"), str):
        outs[DEPLOYED_INTERNAL_AUTH] = has_credentials(prior["internalConnectionString"])
    else:
        outs[DEPLOYED_INTERNAL_AUTH] = outs.get(INTERNAL_AUTH)
    if isinstance(prior.get(MOVED), Mapping):
        outs[MOVED] = dict(prior[MOVED])
    return forget_finished_move(outs)


def internal_auth_warning(olds: Mapping[str, Any]) -> str | None:
    """The preview's warning when refresh saw internal authentication switched, else None."""
    now, deployed = olds.get(INTERNAL_AUTH), olds.get(DEPLOYED_INTERNAL_AUTH)
    if not isinstance(now, bool) or not isinstance(deployed, bool) or now == deployed:
        return None
    if now:
        return (
            "internal authentication was turned on (in Render's Dashboard) since the last "
            "deployment: clients connecting with the old internal URL, without the password, "
            "now fail with NOAUTH. internalConnectionString (a secret) now carries the "
            "credentials: `pulumi up` this stack, then redeploy the apps and stacks that read "
            "it so they use the new URL"
        )
    return (
        "internal authentication was turned off (in Render's Dashboard) since the last "
        "deployment: internalConnectionString no longer carries the password. `pulumi up` "
        "records it; clients that still send the password keep working"
    )
