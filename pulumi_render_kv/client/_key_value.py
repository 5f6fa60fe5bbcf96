"""The Key Value endpoints of :class:`~._client.RenderClient`: list, create, read, change."""

from __future__ import annotations

from collections.abc import Sequence

from . import _create
from ._calls import Endpoints, Op
from ._models import (
    KeyValueConnectionInfo,
    KeyValueDetail,
    KeyValuePATCHInput,
    KeyValuePOSTInput,
    KeyValueSummary,
    KeyValueWithCursor,
    request_json,
)
from ._pagination import MAX_PAGE_SIZE, iterate_pages
from ._parsing import page_of, parse, parse_page
from ._query import csv, segment
from ._retry import RetryPolicy


class KeyValueEndpoints(Endpoints):
    """``/key-value`` and its sub-resources."""

    def _list_key_value(
        self,
        params: dict[str, str | None],
        limit: int,
        *,
        deadline: float | None,
        policy: RetryPolicy | None = None,
    ) -> list[KeyValueSummary]:
        """All pages; each page retried on its own, or sent once if ``deadline`` is given."""
        op = Op("GET", "/key-value", "/key-value")
        if not 1 <= limit <= MAX_PAGE_SIZE:
            raise ValueError(f"limit must be between 1 and {MAX_PAGE_SIZE}, got {limit}")

        def fetch(cursor: str | None) -> list[tuple[KeyValueSummary, str | None]]:
            query = {**params, "limit": str(limit), "cursor": cursor}
            if deadline is None:
                response = self._caller.call(op, params=query, policy=policy)
            else:
                response = self._caller.send(op, deadline=deadline, params=query)
            page = parse_page(op, response, page_of(KeyValueWithCursor))
            return [(entry.key_value, entry.cursor) for entry in page]

        return list(iterate_pages(fetch, limit=limit, method=op.method, path=op.path))

    def list_key_value(
        self,
        *,
        name: str | Sequence[str] | None = None,
        region: str | Sequence[str] | None = None,
        owner_id: str | Sequence[str] | None = None,
        environment_id: str | Sequence[str] | None = None,
        limit: int = MAX_PAGE_SIZE,
    ) -> list[KeyValueSummary]:
        """``GET /key-value``: every instance matching the filters, following cursors to the end.

        Filters take one value or several (OR within a filter, AND across filters).
        """
        params = {
            "name": csv(name, "name"),
            "region": csv(region, "region"),
            "ownerId": csv(owner_id, "owner_id"),
            "environmentId": csv(environment_id, "environment_id"),
        }
        return self._list_key_value(params, limit, deadline=None)

    def list_key_value_named(
        self, name: str, *, owner_id: str, region: str | None = None
    ) -> list[KeyValueSummary]:
        """Every instance called exactly ``name`` in the workspace (and region, if given).

        Render's ``name`` filter is a comma-separated list, so a name holding a comma cannot
        be expressed in it: such a name is looked up without the filter and matched here. The
        filter's matching rules are not documented either, so a near-namesake is never
        returned.
        """
        return self._named(name, owner_id=owner_id, region=region)

    def _named(
        self,
        name: str,
        *,
        owner_id: str,
        region: str | None = None,
        policy: RetryPolicy | None = None,
    ) -> list[KeyValueSummary]:
        """:meth:`list_key_value_named`, its retries bounded by ``policy`` (a create's)."""
        params = {
            "name": None if "," in name else name,
            "ownerId": csv(owner_id, "owner_id"),
            "region": None if region is None else csv(region, "region"),
        }
        found = self._list_key_value(params, MAX_PAGE_SIZE, deadline=None, policy=policy)
        return [
            kv
            for kv in found
            if kv.name == name and kv.owner.id == owner_id and region in (None, kv.region)
        ]

    def create_key_value(
        self,
        body: KeyValuePOSTInput,
        *,
        timeout: float | None = None,
        existing: Sequence[str] | None = None,
        take_over: bool = False,
    ) -> KeyValueDetail:
        """``POST /key-value``, never posting twice after an uncertain failure (:mod:`._create`).

        ``timeout`` bounds the whole call, the lookup after an uncertain failure included.
        ``existing`` are the ids of the instances with the body's name, workspace and region
        that the caller already listed (the client lists them itself when not given); none of
        them is ever taken for the one this call makes. ``take_over``: after an uncertain
        failure, return the one new instance that matches what was sent, instead of raising
        :class:`AmbiguousCreateError` for it (for a caller that would adopt a same-named
        instance anyway).
        """
        return _create.create_key_value(
            self._caller,
            body,
            named=self._named,
            retrieve=self.retrieve_key_value,
            timeout=timeout,
            existing=existing,
            take_over=take_over,
        )

    def retrieve_key_value(
        self, key_value_id: str, *, timeout: float | None = None
    ) -> KeyValueDetail:
        """``GET /key-value/{keyValueId}``. Raises :class:`NotFoundError` if it does not exist."""
        path = f"/key-value/{segment(key_value_id, 'key_value_id')}"
        op = Op("GET", "/key-value/{keyValueId}", path)
        policy = self._caller.policy(timeout)
        return parse(op, self._caller.call(op, policy=policy), KeyValueDetail)

    def update_key_value(self, key_value_id: str, body: KeyValuePATCHInput) -> KeyValueDetail:
        """``PATCH /key-value/{keyValueId}`` with only the fields set in ``body``."""
        path = f"/key-value/{segment(key_value_id, 'key_value_id')}"
        op = Op("PATCH", "/key-value/{keyValueId}", path)
        return parse(op, self._caller.call(op, body=request_json(body)), KeyValueDetail)

    def delete_key_value(self, key_value_id: str) -> None:
        """``DELETE /key-value/{keyValueId}``.

        A 404 on the first attempt raises :class:`NotFoundError`. A 404 after an attempt that
        may have reached Render (5xx, or a connection lost after sending) means that attempt
        deleted it, and counts as done.
        """
        path = f"/key-value/{segment(key_value_id, 'key_value_id')}"
        self._caller.delete(Op("DELETE", "/key-value/{keyValueId}", path))

    def retrieve_key_value_connection_info(self, key_value_id: str) -> KeyValueConnectionInfo:
        """``GET /key-value/{keyValueId}/connection-info`` (secret strings)."""
        path = f"/key-value/{segment(key_value_id, 'key_value_id')}/connection-info"
        op = Op("GET", "/key-value/{keyValueId}/connection-info", path)
        return parse(op, self._caller.call(op), KeyValueConnectionInfo)

    def suspend_key_value(self, key_value_id: str) -> None:
        """``POST /key-value/{keyValueId}/suspend`` (202, no body)."""
        path = f"/key-value/{segment(key_value_id, 'key_value_id')}/suspend"
        self._caller.call(Op("POST", "/key-value/{keyValueId}/suspend", path))

    def resume_key_value(self, key_value_id: str) -> None:
        """``POST /key-value/{keyValueId}/resume`` (202, no body)."""
        path = f"/key-value/{segment(key_value_id, 'key_value_id')}/resume"
        self._caller.call(Op("POST", "/key-value/{keyValueId}/resume", path))
