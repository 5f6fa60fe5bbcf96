"""What a refresh costs in requests under the real CLI: one Read, three GETs, per instance.

docs/COMPARISON.md once counted 6 requests an instance for ``pulumi refresh --yes``. The
provider's Read makes three (the instance, its connection info, its log-stream override);
the other three are the CLI's: without ``--skip-preview`` it runs a refresh *preview* first,
which calls Read on every resource too, in its own provider process, and then the refresh
calls Read again. These tests pin both halves, so a fourth request in Read, or a preview
that stops reading, shows here.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from pulumi_render_kv import TYPE_TOKEN

from .conftest import PULUMI, ROOT, Cli, project

if PULUMI is None:
    pytest.skip(
        "no `pulumi` CLI on PATH: tests/cli runs where the Pulumi CLI is installed",
        allow_module_level=True,
    )

TRACE_PROGRAM = ROOT / "tests" / "engine_traces" / "program" / "__main__.py"
ONE_READ = Counter(
    {
        "GET /v1/key-value/{id}": 1,
        "GET /v1/key-value/{id}/connection-info": 1,
        "GET /v1/logs/streams/resource/{id}": 1,
    }
)


def _requests(cli: Cli, instance_id: str) -> Counter[str]:
    return Counter(
        f"{entry['method']} {entry['path'].replace(instance_id, '{id}')}"
        for entry in cli.emu.requests()
    )


@pytest.fixture
def one_cache(cli: Cli) -> tuple[Path, str]:
    where = project(cli.scratch / "traces", "render-kv-traces", TRACE_PROGRAM)
    cli.run("stack", "init", "dev", cwd=where)
    cli.run("up", "--yes", "--skip-preview", cwd=where)
    resources = cli.export(where, "dev")["deployment"]["resources"]
    [instance_id] = [r["id"] for r in resources if r["type"] == TYPE_TOKEN]
    return where, instance_id


def test_a_refresh_without_its_preview_reads_each_instance_once(
    cli: Cli, one_cache: tuple[Path, str]
) -> None:
    where, instance_id = one_cache
    cli.emu.clear_requests()
    cli.run("refresh", "--yes", "--skip-preview", "--expect-no-changes", cwd=where)
    assert _requests(cli, instance_id) == ONE_READ


def test_the_cli_refresh_preview_reads_again(cli: Cli, one_cache: tuple[Path, str]) -> None:
    where, instance_id = one_cache
    cli.emu.clear_requests()
    cli.run("refresh", "--yes", "--expect-no-changes", cwd=where)
    assert _requests(cli, instance_id) == ONE_READ + ONE_READ  # preview's Read, then refresh's
