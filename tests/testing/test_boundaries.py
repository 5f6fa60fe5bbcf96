"""The harness's public surface (its import boundaries are import-linter contracts)."""

from __future__ import annotations

import types

import pulumi_render_kv.testing as harness


def test_all_lists_exactly_the_public_names() -> None:
    """__all__ names exist, and every public non-module attribute is listed in __all__."""
    assert all(hasattr(harness, name) for name in harness.__all__)
    public = {
        name
        for name, value in vars(harness).items()
        if not name.startswith("_") and not isinstance(value, types.ModuleType)
    }
    assert public == set(harness.__all__)
