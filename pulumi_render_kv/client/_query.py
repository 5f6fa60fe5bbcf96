"""Path segments and query parameters, encoded as Render's spec asks; bad values refused."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from urllib.parse import quote


def segment(value: str, what: str) -> str:
    """One path segment (an id), percent-encoded; an empty or non-string value is refused."""
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"{what} must be a non-empty string, got {value!r}")
    return quote(value, safe="")


def csv(value: str | Sequence[str] | None, what: str) -> str | None:
    """Encode an array filter the way the spec asks (``style: form, explode: false``)."""
    if value is None:
        return None
    values = [value] if isinstance(value, str) else list(value)
    if not values or not all(isinstance(v, str) and v for v in values):
        raise ValueError(f"{what} filter must be None or non-empty strings, got {value!r}")
    return ",".join(values)


def timestamp(value: datetime | None, what: str) -> str | None:
    """A query timestamp in RFC 3339 UTC (``…Z``); naive datetimes are refused, not guessed."""
    if value is None:
        return None
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{what} must be timezone-aware (e.g. datetime.now(UTC)), got {value!r}")
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")
