"""Fixtures for the harness tests: one provider server per session, a store per test.

The provider under test is :mod:`testing.memprovider` (this package), pickled by reference.
The server runs with cwd = the project root and ``tests/`` on PYTHONPATH, so it can import
that module just as the test process does.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from pulumi_render_kv.testing import Engine, Goal, ProviderServer, dynamic_goal

from .memprovider import MemProvider, Store

PROJECT_ROOT = Path(__file__).resolve().parents[2]
TESTS_DIR = PROJECT_ROOT / "tests"
PROJECT = "harness"
MEM_TYPE = "pulumi-python:dynamic/memprov:MemResource"


def start_server(**kwargs: Any) -> ProviderServer:
    """A provider server that can import this test package."""
    options: dict[str, Any] = {"cwd": PROJECT_ROOT, "project": PROJECT, "pythonpath": [TESTS_DIR]}
    options.update(kwargs)
    return ProviderServer(**options)


@pytest.fixture(scope="session", autouse=True)
def _no_provider_process_left() -> Iterator[None]:
    """After the whole session, no provider server process may still be running."""
    yield
    leftover = ProviderServer.open_servers()
    pids = [s.pid for s in leftover]
    for server in leftover:
        server.cleanup()
    assert not leftover, f"provider server processes left running: {pids}"


@pytest.fixture(scope="session")
def server() -> Iterator[ProviderServer]:
    """The session's provider server (tests use distinct stores, hence distinct providers)."""
    with start_server() as srv:
        yield srv
    assert not srv.is_running()


@pytest.fixture
def store(tmp_path: Path) -> Store:
    return Store(tmp_path / "store.json")


@pytest.fixture
def engine(server: ProviderServer) -> Engine:
    return Engine(server, stack="test", config={"defaultRegion": "frankfurt"})


@pytest.fixture
def make_goal(store: Store) -> Callable[..., Goal]:
    """``make_goal(name, props, **provider_options)``: a MemResource goal on this test's store."""

    def make(
        name: str,
        props: dict[str, Any],
        *,
        delete_before_replace: bool | None = None,
        additional_secret_outputs: tuple[str, ...] = (),
        **provider_options: Any,
    ) -> Goal:
        provider = MemProvider(str(store.path), **provider_options)
        return dynamic_goal(
            provider,
            name,
            props,
            module="memprov",
            type_name="MemResource",
            delete_before_replace=delete_before_replace,
            additional_secret_outputs=additional_secret_outputs,
        )

    return make
