"""The client's public surface: __all__, the names the provider relies on, import isolation."""

from __future__ import annotations

import ast
from pathlib import Path

import pulumi_render_kv.client as client_pkg

CLIENT_DIR = Path(client_pkg.__file__).parent

PROMISED = {
    "RenderClient", "RenderSettings", "ClientLimits",
    "KeyValueSummary", "KeyValueDetail", "KeyValueOptions", "KeyValueConnectionInfo",
    "CidrBlockAndDescription", "KeyValuePOSTInput", "KeyValuePATCHInput", "Owner", "Environment",
    "RenderError", "RenderAPIError", "InvalidRequestError", "UnauthorizedError", "ForbiddenError",
    "NotFoundError", "ConflictError", "RateLimitedError", "ServerError", "RenderTransportError",
    "RenderTimeoutError",
}  # fmt: skip


def test_all_matches_public_names() -> None:
    """__all__ lists exactly the public names the package defines, and each exists."""
    public = {name for name in vars(client_pkg) if not name.startswith("_")}
    assert set(client_pkg.__all__) == public
    assert sorted(client_pkg.__all__) == sorted(set(client_pkg.__all__))


def test_promised_names_are_exported() -> None:
    """Every name the provider was promised is importable from pulumi_render_kv.client."""
    assert set(client_pkg.__all__) >= PROMISED


def test_client_imports_nothing_else_from_the_package() -> None:
    """client/ uses only relative imports of itself: no pulumi, no emulator, no other module."""
    for source in CLIENT_DIR.glob("*.py"):
        tree = ast.parse(source.read_text(), filename=str(source))
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom):
                module = node.module or ""
                assert node.level <= 1, f"{source.name} reaches outside client/"
                assert not module.startswith(("pulumi", "pulumi_render_kv")), (source.name, module)
            elif isinstance(node, ast.Import):
                for alias in node.names:
                    assert not alias.name.startswith("pulumi"), (source.name, alias.name)


def test_error_tree_shape() -> None:
    """The documented hierarchy holds."""
    c = client_pkg
    assert issubclass(c.RenderAPIError, c.RenderError)
    for cls in (
        c.InvalidRequestError,
        c.UnauthorizedError,
        c.ForbiddenError,
        c.NotFoundError,
        c.ConflictError,
        c.RateLimitedError,
        c.ServerError,
    ):
        assert issubclass(cls, c.RenderAPIError)
    assert issubclass(c.ClientRateLimitedError, c.RateLimitedError)
    assert issubclass(c.RenderTimeoutError, c.RenderTransportError)
    assert issubclass(c.RenderTransportError, c.RenderError)
    assert not issubclass(c.RenderTransportError, c.RenderAPIError)
    assert issubclass(c.RenderConfigError, ValueError)
