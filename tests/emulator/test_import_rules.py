"""The emulator and the rest of pulumi_render_kv never import each other (checked on the AST)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import pulumi_render_kv
from pulumi_render_kv import emulator

PACKAGE_DIR = Path(pulumi_render_kv.__file__).parent
EMULATOR_DIR = Path(emulator.__file__).parent


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE_DIR.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _imports_of(source: str, module: str, *, is_package: bool = False) -> set[str]:
    """Absolute names of every module ``source`` (the code of ``module``) imports.

    Relative imports are resolved; ``from x import y`` yields both ``x`` and ``x.y``;
    ``importlib.import_module("literal")`` counts as an import too.
    """
    package = module if is_package else module.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                target = ".".join([*base, node.module] if node.module else base)
            else:
                target = node.module or ""
            found.add(target)
            found.update(f"{target}.{alias.name}" for alias in node.names)
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr == "import_module"
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
        ):
            found.add(node.args[0].value)
    return found


def _imported_modules(path: Path) -> set[str]:
    return _imports_of(path.read_text(), _module_name(path), is_package=path.name == "__init__.py")


def _escapes_emulator(names: set[str]) -> set[str]:
    return {
        name
        for name in names
        if _inside(name, "pulumi_render_kv") and not _inside(name, "pulumi_render_kv.emulator")
    }


def _inside(module: str, package: str) -> bool:
    return module == package or module.startswith(package + ".")


EMULATOR_FILES = sorted(EMULATOR_DIR.rglob("*.py"))
OTHER_FILES = sorted(p for p in PACKAGE_DIR.rglob("*.py") if EMULATOR_DIR not in p.parents)


@pytest.mark.parametrize("path", EMULATOR_FILES, ids=lambda p: p.name)
def test_emulator_modules_import_nothing_else_from_the_package(path: Path) -> None:
    """pulumi_render_kv.emulator keeps its own wire shapes: no imports from the rest."""
    assert _escapes_emulator(_imported_modules(path)) == set()


@pytest.mark.parametrize("path", OTHER_FILES, ids=lambda p: str(p.relative_to(PACKAGE_DIR)))
def test_the_rest_of_the_package_never_imports_the_emulator(path: Path) -> None:
    """Only tests, the demo and benchmarks may import the emulator."""
    offending = {
        name for name in _imported_modules(path) if _inside(name, "pulumi_render_kv.emulator")
    }
    allowed_demo = "demo" in path.relative_to(PACKAGE_DIR).parts or path.stem == "demo"
    assert allowed_demo or offending == set()


def test_the_checker_catches_relative_absolute_and_dynamic_imports() -> None:
    """`from ..client import x`, `import pulumi_render_kv.errors` and import_module are seen."""
    source = (
        "from ..client import RenderClient\n"
        "import pulumi_render_kv.errors\n"
        "from . import backend\n"
        "importlib.import_module('pulumi_render_kv.planning')\n"
    )
    names = _imports_of(source, "pulumi_render_kv.emulator.routes")
    assert _escapes_emulator(names) == {
        "pulumi_render_kv.client",
        "pulumi_render_kv.client.RenderClient",
        "pulumi_render_kv.errors",
        "pulumi_render_kv.planning",
    }
    assert "pulumi_render_kv.emulator.backend" in names
    package_names = _imports_of(
        "from .app import Emulator\n", "pulumi_render_kv.emulator", is_package=True
    )
    assert "pulumi_render_kv.emulator.app" in package_names
