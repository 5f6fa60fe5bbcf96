"""Times as inputs: ISO-8601 with an offset, one canonical spelling in state. Pure, no clock."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any


def parse_time(value: Any) -> tuple[datetime | None, str | None]:
    """An ISO-8601 time with an offset → an aware datetime in UTC, or why it is not one."""
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, str) and value.strip():
        text = value.strip()
        try:
            moment = datetime.fromisoformat(text[:-1] + "+00:00" if text[-1:] in "zZ" else text)
        except ValueError:
            return None, "must be an ISO-8601 date and time, such as 2026-12-10T03:00:00Z"
    else:
        return None, "must be an ISO-8601 date and time string, such as 2026-12-10T03:00:00Z"
    if moment.tzinfo is None or moment.utcoffset() is None:
        return None, (
            "has no UTC offset: add one (2026-12-10T03:00:00Z, or +01:00), so the time is "
            "the one you mean and not Render's guess"
        )
    return moment.astimezone(UTC), None


def canonical_time(moment: datetime) -> str:
    """The one spelling of a time in state: UTC, seconds, ``Z`` (so formats never diff)."""
    return moment.astimezone(UTC).replace(microsecond=0).strftime("%Y-%m-%dT%H:%M:%SZ")


def normalize_scheduled_at(value: Any) -> tuple[Any, str | None]:
    """The input's normaliser (``spec``): None stays None; a time becomes canonical."""
    if value is None:  # normalize_inputs passes unknown values by
        return value, None
    moment, reason = parse_time(value)
    if moment is None:
        return value, reason
    return canonical_time(moment), None
