"""Property: walking the list page by page yields exactly the filtered list, newest first."""

from __future__ import annotations

from dataclasses import replace

from hypothesis import given, settings
from hypothesis import strategies as st

from pulumi_render_kv.emulator.backend import Backend
from pulumi_render_kv.emulator.lifecycle import LifecycleSettings
from pulumi_render_kv.emulator.records import CreateInput, ListFilters, Workspace

from .fakes import FakeClock

REGIONS = ("oregon", "ohio", "frankfurt")


@settings(max_examples=40, deadline=None)
@given(
    regions=st.lists(st.sampled_from(REGIONS), max_size=25),
    wanted=st.sets(st.sampled_from(REGIONS), min_size=1),
    limit=st.integers(min_value=1, max_value=7),
    deleted=st.sets(st.integers(min_value=0, max_value=24), max_size=5),
)
def test_page_walk_returns_every_match_once_in_order(
    regions: list[str], wanted: set[str], limit: int, deleted: set[int]
) -> None:
    """Cursor pagination never skips or repeats, even when items were deleted meanwhile."""
    clock = FakeClock()
    owner = Workspace(id="tea-aaaaaaaaaaaaaaaaaaaa", name="w", email="w@example.com")
    backend = Backend(
        owner=owner,
        lifecycle=LifecycleSettings(),
        clock=clock,
        wall_clock_ns=lambda: int(clock() * 1e9),
    )
    created = []
    for index, region in enumerate(regions):
        clock.advance(0.001)
        view = backend.create_key_value(
            CreateInput(name=f"kv{index}", owner_id=owner.id, plan="starter", region=region)
        )
        created.append((view.id, region))
    expected = [i for i, region in reversed(created) if region in wanted]

    seen: list[str] = []
    cursor = None
    filters = ListFilters(regions=tuple(sorted(wanted)), limit=limit)
    gone: set[str] = set()
    while True:
        page = backend.list_key_value(replace(filters, cursor=cursor))
        if not page:
            break
        assert len(page) <= limit
        seen.extend(view.id for view, _ in page)
        cursor = page[-1][1]
        # Delete some not-yet-listed instances between pages: they must simply not appear.
        for index in sorted(deleted):
            if index < len(created) and created[index][0] not in seen + list(gone):
                backend.delete_key_value(created[index][0])
                gone.add(created[index][0])
                break
    assert seen == [i for i in expected if i not in gone]
    assert len(seen) == len(set(seen))
