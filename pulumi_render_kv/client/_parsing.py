"""Answers into wire models: the validators built once, bodies parsed, problems told safely."""

from __future__ import annotations

import functools
import threading
from typing import TYPE_CHECKING, TypeVar

from pydantic import BaseModel, TypeAdapter, ValidationError

from ._errors import RenderResponseError
from ._models import (
    KeyValueWithCursor,
    MaintenanceRun,
    OwnerWithCursor,
    TimeSeries,
    _Request,
    _Response,
)

if TYPE_CHECKING:
    import httpx

    from ._calls import Op

M = TypeVar("M", bound=BaseModel)
T = TypeVar("T")


@functools.cache
def page_of(model: type[M]) -> TypeAdapter[list[M]]:
    """The validator of a bare JSON array of ``model`` (one per model, made once)."""
    # Made by the first client, not at import: a TypeAdapter builds its validator when made,
    # and most processes that import the client (each preview's) never read a page.
    return TypeAdapter(list[model])  # type: ignore[valid-type]


_BUILD_LOCK = threading.Lock()


def build_validators() -> None:
    """Build every wire model's validator (deferred at import), once, before any request.

    The SDK's provider server runs four calls at once, and pydantic's own build on first use
    was not thread-safe until recent releases (pydantic#13419: a model racing its first
    validation in two threads could use its parent's validator); this package accepts older
    ones. Under one lock, the first client builds them all.
    """
    with _BUILD_LOCK:
        pending: list[type[BaseModel]] = [_Request, _Response]
        while pending:
            model = pending.pop()
            pending.extend(model.__subclasses__())
            if not model.__pydantic_complete__:
                model.model_rebuild()
        for listed in (KeyValueWithCursor, OwnerWithCursor, MaintenanceRun, TimeSeries):
            page_of(listed)


def describe(error: ValidationError) -> str:
    """Validation problems without the input values (they may hold connection strings)."""
    problems = [
        f"{'.'.join(str(part) for part in item['loc']) or '<body>'}: {item['msg']}"
        for item in error.errors(include_input=False, include_url=False)
    ]
    more = f" (and {len(problems) - 5} more)" if len(problems) > 5 else ""
    return "; ".join(problems[:5]) + more


def parse(op: Op, response: httpx.Response, model: type[M]) -> M:
    """The body as ``model``; a body that is not one is a :class:`RenderResponseError`."""
    try:
        return model.model_validate_json(response.content)
    except ValidationError as exc:
        raise RenderResponseError(method=op.method, path=op.path, detail=describe(exc)) from None


def parse_page(op: Op, response: httpx.Response, adapter: TypeAdapter[T]) -> T:
    """The body through ``adapter`` (a :func:`page_of`); errors as :func:`parse`'s."""
    try:
        return adapter.validate_json(response.content)
    except ValidationError as exc:
        raise RenderResponseError(method=op.method, path=op.path, detail=describe(exc)) from None
