"""Cursor pagination over Render's list endpoints.

A list answer is a bare JSON array of ``{"<resource>": {...}, "cursor": "..."}``. The next page
is requested with ``?cursor=<cursor of the last element>``. There is no "has more" flag, so
iteration ends on an empty page or on a page shorter than ``limit`` (Render's own clients use
both rules). A cursor seen twice, or a full page whose last element has no cursor, is a
:class:`RenderResponseError` rather than an endless or silently truncated loop.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import TypeVar

from ._errors import RenderResponseError

__all__ = ["MAX_PAGE_SIZE", "iterate_pages"]

MAX_PAGE_SIZE = 100
"""The spec's maximum ``limit``."""

T = TypeVar("T")


def iterate_pages(
    fetch: Callable[[str | None], Sequence[tuple[T, str | None]]],
    *,
    limit: int,
    method: str,
    path: str,
) -> Iterator[T]:
    """Yield every item, fetching pages with ``fetch(cursor)`` until the list is exhausted.

    ``fetch`` returns the page's ``(item, cursor)`` pairs; ``cursor`` is None for the first page.
    """
    cursor: str | None = None
    seen: set[str] = set()
    while True:
        page = fetch(cursor)
        yield from (item for item, _ in page)
        if not page or len(page) < limit:
            return
        cursor = page[-1][1]
        if not cursor:
            raise RenderResponseError(
                method=method,
                path=path,
                detail=f"a full page of {len(page)} items ended without a cursor",
            )
        if cursor in seen:
            raise RenderResponseError(
                method=method, path=path, detail="the API repeated a page cursor"
            )
        seen.add(cursor)
