"""Finding Key Value instances by name: Render's list filter, then an exact match.

Used by ``adopt_existing`` (in the provider) and ``get_key_value`` (in the program).
"""

from __future__ import annotations

from pulumi_render_kv.client import KeyValueSummary, RenderClient


def find_by_name(
    client: RenderClient, name: str, *, owner_id: str, region: str | None = None
) -> list[KeyValueSummary]:
    """Every instance called exactly ``name`` in the workspace (and region, if given)."""
    found = client.list_key_value(
        name=[name], owner_id=[owner_id], region=[region] if region else None
    )
    # The filter's matching rules are not documented; never adopt a near-namesake.
    return [kv for kv in found if kv.name == name]
