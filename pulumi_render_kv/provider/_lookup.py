"""Finding Key Value instances by name: Render's list filter, then an exact match.

Used by ``adopt_existing`` and the create's same-name check (in the provider) and by
``get_key_value`` (in the program).
"""

from __future__ import annotations

from pulumi_render_kv.client import KeyValueSummary, RenderClient


def find_by_name(
    client: RenderClient, name: str, *, owner_id: str, region: str | None = None
) -> list[KeyValueSummary]:
    """Every instance called exactly ``name`` in the workspace (and region, if given).

    A name holding a comma cannot go into Render's comma-separated filter; the client
    lists without it then and matches exactly.
    """
    return client.list_key_value_named(name, owner_id=owner_id, region=region)
