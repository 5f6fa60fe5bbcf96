"""test_dataplane.py's end-of-module leak check must not turn a partial run into an error.

Run in a child pytest: the check lives in a module-scoped fixture, which only a separate
session can observe finishing.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    ("args", "path"),
    [
        pytest.param(["-k", "allow_list_admits"], None, id="a -k subset without servers"),
        pytest.param([], "", id="no redis-server on PATH: every server test skips"),
    ],
)
def test_a_run_that_starts_no_server_passes(args: list[str], path: str | None) -> None:
    env = dict(os.environ)
    if path is not None:
        env["PATH"] = path
    pytest_args = ["-q", "-p", "no:cacheprovider", "tests/emulator/test_dataplane.py", *args]
    result = subprocess.run(
        [sys.executable, "-m", "pytest", *pytest_args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert " error" not in result.stdout.splitlines()[-1], result.stdout
