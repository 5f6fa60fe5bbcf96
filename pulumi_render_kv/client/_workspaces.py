"""The workspace endpoints of :class:`~._client.RenderClient`: owners and environments."""

from __future__ import annotations

import threading
from collections.abc import Sequence

from pydantic import Field

from ._calls import Endpoints, Op
from ._errors import RenderConfigError
from ._models import Environment, Owner, OwnerWithCursor, _Request, request_json
from ._pagination import MAX_PAGE_SIZE, iterate_pages
from ._parsing import page_of, parse, parse_page
from ._query import csv, segment
from ._settings import ENV_OWNER_ID


class _EnvironmentResourcesPOSTInput(_Request):
    resource_ids: list[str] = Field(min_length=1)


class WorkspaceEndpoints(Endpoints):
    """``/owners`` (and the workspace to create in), ``/environments/{environmentId}``.

    ``_owner_id`` is the configured workspace, or the one :meth:`resolve_owner_id` found,
    under ``_owner_lock``.
    """

    _owner_id: str | None
    _owner_lock: threading.Lock

    def list_owners(self, *, limit: int = MAX_PAGE_SIZE) -> list[Owner]:
        """``GET /owners``: every workspace the API key can use."""
        op = Op("GET", "/owners", "/owners")
        if not 1 <= limit <= MAX_PAGE_SIZE:
            raise ValueError(f"limit must be between 1 and {MAX_PAGE_SIZE}, got {limit}")

        def fetch(cursor: str | None) -> list[tuple[Owner, str | None]]:
            response = self._caller.call(op, params={"limit": str(limit), "cursor": cursor})
            page = parse_page(op, response, page_of(OwnerWithCursor))
            return [(entry.owner, entry.cursor) for entry in page]

        return list(iterate_pages(fetch, limit=limit, method=op.method, path=op.path))

    def resolve_owner_id(self) -> str:
        """The workspace to create in: the configured one, else the key's only workspace."""
        with self._owner_lock:
            if self._owner_id:
                return self._owner_id
        owners = self.list_owners()
        if len(owners) == 1:
            with self._owner_lock:
                self._owner_id = owners[0].id
            return owners[0].id
        how = f"set {ENV_OWNER_ID}=<id> or run `pulumi config set render:ownerId <id>`"
        if not owners:
            raise RenderConfigError(
                "The Render API key has access to no workspace, so there is nowhere to create "
                f"Key Value instances. Check that the key is the right one, or {how}."
            )
        listing = ", ".join(f"{owner.name!r} ({owner.id})" for owner in owners)
        raise RenderConfigError(
            f"The Render API key can use {len(owners)} workspaces: {listing}. Choose one: {how}."
        )

    def retrieve_environment(self, environment_id: str) -> Environment:
        """``GET /environments/{environmentId}``."""
        path = f"/environments/{segment(environment_id, 'environment_id')}"
        op = Op("GET", "/environments/{environmentId}", path)
        return parse(op, self._caller.call(op), Environment)

    def add_resources_to_environment(
        self, environment_id: str, resource_ids: Sequence[str]
    ) -> None:
        """``POST /environments/{environmentId}/resources`` (moves resources into it).

        Adding is a set operation, so repeating it after an uncertain failure is harmless.
        """
        path = f"/environments/{segment(environment_id, 'environment_id')}/resources"
        op = Op("POST", "/environments/{environmentId}/resources", path)
        body = _EnvironmentResourcesPOSTInput(resource_ids=list(resource_ids))
        self._caller.call(op, body=request_json(body))

    def remove_resources_from_environment(
        self, environment_id: str, resource_ids: Sequence[str]
    ) -> None:
        """``DELETE /environments/{environmentId}/resources?resourceIds=a,b``."""
        path = f"/environments/{segment(environment_id, 'environment_id')}/resources"
        op = Op("DELETE", "/environments/{environmentId}/resources", path)
        ids = list(resource_ids)
        if not ids:
            raise ValueError("resource_ids must not be empty")
        self._caller.call(op, params={"resourceIds": csv(ids, "resource_ids")})
