"""The plan as the engine's detailed diff: one entry per property, update or replace.

The allow list is compared as a set by the plan (a reorder is no change); when it changes,
the entries added are named at their place in the user's new list and the entries removed
at their place in the old one, so ``pulumi preview --diff`` shows just those.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pulumi.provider.experimental.provider import PropertyDiff, PropertyDiffKind

from pulumi_render_kv.catalog import ChangeKind
from pulumi_render_kv.planning import Change, PlannedChanges
from pulumi_render_kv.spec import allow_list_entries

_KINDS = {
    # (replaces, old is absent, new is absent) → kind
    (False, False, False): PropertyDiffKind.UPDATE,
    (False, True, False): PropertyDiffKind.ADD,
    (False, False, True): PropertyDiffKind.DELETE,
    (True, False, False): PropertyDiffKind.UPDATE_REPLACE,
    (True, True, False): PropertyDiffKind.ADD_REPLACE,
    (True, False, True): PropertyDiffKind.DELETE_REPLACE,
}


def _entry_key(entry: Any) -> Any:
    found = allow_list_entries([entry])
    return next(iter(found)) if found else repr(entry)


def _allow_list(old: Any, new: Any) -> dict[str, PropertyDiff] | None:
    if not isinstance(old, list) or not isinstance(new, list):
        return None
    old_keys = [_entry_key(e) for e in old]
    new_keys = [_entry_key(e) for e in new]
    diffs = {
        f"ipAllowList[{i}]": PropertyDiff(PropertyDiffKind.ADD, True)
        for i, key in enumerate(new_keys)
        if key not in old_keys
    }
    for i, key in enumerate(old_keys):
        if key in new_keys:
            continue
        path = f"ipAllowList[{i}]"
        # Removed here and another entry added at the same place: that place was changed.
        kind = PropertyDiffKind.UPDATE if path in diffs else PropertyDiffKind.DELETE
        diffs[path] = PropertyDiff(kind, True)
    return diffs or None


def _one(change: Change, olds: Mapping[str, Any], news: Mapping[str, Any]) -> PropertyDiff:
    kind = _KINDS[
        (
            change.kind is ChangeKind.REPLACE,
            olds.get(change.property) is None,
            news.get(change.property) is None,
        )
    ]
    return PropertyDiff(kind, True)


def detailed_diff(
    planned: PlannedChanges, olds: Mapping[str, Any], news: Mapping[str, Any]
) -> dict[str, PropertyDiff]:
    result: dict[str, PropertyDiff] = {}
    for change in planned.changes:
        if change.property == "ipAllowList":
            entries = _allow_list(olds.get("ipAllowList"), news.get("ipAllowList"))
            if entries is not None:
                result.update(entries)
                continue
        result[change.property] = _one(change, olds, news)
    return result
