"""`make demo` without the CLI: the harness branch creates, then destroys, what it made."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

pytestmark = [pytest.mark.grpc, pytest.mark.dataplane]


def test_the_demo_deletes_every_instance_it_created() -> None:
    """Each step runs in a fresh provider process, as each CLI command does: the destroy's
    provider must not think the up's instances are still held, and must DELETE them."""
    pulumi = shutil.which("pulumi")
    path = os.pathsep.join(
        p
        for p in os.environ.get("PATH", "").split(os.pathsep)
        if not pulumi or p != str(Path(pulumi).parent)
    )
    done = subprocess.run(  # this interpreter, the package's own module
        [sys.executable, "-m", "pulumi_render_kv.demo"],
        cwd=ROOT,
        env={**os.environ, "PATH": path},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "driving the SDK's provider server" in done.stdout
    served = re.search(r"the emulator served \d+ API requests (\{.*\})", done.stdout)
    assert served, done.stdout
    assert "'POST': 2" in served.group(1)
    assert "'DELETE': 2" in served.group(1)
    assert "leaves this stack's state but is not deleted" not in done.stdout + done.stderr
