"""The harness's public surface and its import boundaries."""

from __future__ import annotations

import ast
import types
from pathlib import Path

import pulumi_render_kv.testing as harness

PACKAGE = Path(harness.__file__).resolve().parents[1]
HARNESS = PACKAGE / "testing"


def _imported_modules(path: Path) -> set[str]:
    """Absolute names of the modules ``path`` imports, relative imports resolved."""
    parts = ["pulumi_render_kv", *path.relative_to(PACKAGE).with_suffix("").parts]
    package = parts[:-1]  # for __init__.py, the package itself
    tree = ast.parse(path.read_text(), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = package[: len(package) - (node.level - 1)] if node.level else []
            module = [*base, *(node.module.split(".") if node.module else [])]
            names.add(".".join(module))
            names.update(".".join([*module, alias.name]) for alias in node.names)
    return names


def test_all_lists_exactly_the_public_names() -> None:
    """__all__ names exist, and every public non-module attribute is listed in __all__."""
    assert all(hasattr(harness, name) for name in harness.__all__)
    public = {
        name
        for name, value in vars(harness).items()
        if not name.startswith("_") and not isinstance(value, types.ModuleType)
    }
    assert public == set(harness.__all__)


def test_harness_imports_nothing_else_from_the_package() -> None:
    """The harness is generic over dynamic providers: no import of the rest of the package."""
    for path in HARNESS.rglob("*.py"):
        foreign = {
            m
            for m in _imported_modules(path)
            if m.startswith("pulumi_render_kv") and not m.startswith("pulumi_render_kv.testing")
        }
        assert not foreign, f"{path.name} imports {foreign}"


def test_only_the_demo_imports_the_harness() -> None:
    """No module on the provider's runtime path imports pulumi_render_kv.testing."""
    for path in PACKAGE.rglob("*.py"):
        relative = path.relative_to(PACKAGE)
        if relative.parts[0] in ("testing", "demo", "demo.py"):
            continue
        imports = _imported_modules(path)
        assert not any(m.startswith("pulumi_render_kv.testing") for m in imports), relative
