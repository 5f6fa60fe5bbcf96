"""``render-kv-provider``: the provider folder a user points Pulumi at, with its virtualenv."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from pulumi_render_kv.native.plugin import PTH_NAME, main, prepare, shipped_folder


def test_the_folder_has_the_plugin_file_and_a_venv_that_imports_this_package(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    main([str(tmp_path / "provider")])
    folder = Path(capsys.readouterr().out.strip())
    assert folder == (tmp_path / "provider").resolve()
    assert (folder / "PulumiPlugin.yaml").read_text().strip().endswith("runtime: python")
    python = folder / "venv" / "bin" / "python"  # what the engine runs
    done = subprocess.run(
        [str(python), "-c", "import pulumi_render_kv.native.server, sys; print(sys.prefix)"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert done.stdout.strip() == str(folder / "venv")  # its own venv, not this one
    assert sys.prefix != str(folder / "venv")


def test_the_folder_starts_the_provider_as_the_engine_runs_it(tmp_path: Path) -> None:
    folder = prepare(tmp_path / "provider")
    plugin = subprocess.Popen(
        [str(folder / "venv" / "bin" / "python"), str(folder), "127.0.0.1:1"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
    )
    assert plugin.stdout is not None
    assert plugin.stdin is not None
    try:
        assert plugin.stdout.readline().strip().isdigit()  # its port, as a plugin prints it
    finally:
        plugin.stdin.close()  # the engine's end
        assert plugin.wait(timeout=15) == 1
        plugin.stdout.close()


def test_running_it_again_refreshes_the_folder_and_refuses_a_foreign_venv(tmp_path: Path) -> None:
    folder = prepare(tmp_path / "provider")
    (folder / "__main__.py").write_text("broken")
    prepare(folder)
    assert (folder / "__main__.py").read_bytes() == (shipped_folder() / "__main__.py").read_bytes()
    pth = next((folder / "venv").rglob(PTH_NAME))
    assert "site.addsitedir" in pth.read_text()
    other = tmp_path / "other"
    (other / "venv").mkdir(parents=True)
    with pytest.raises(SystemExit, match="is not a virtualenv"):
        prepare(other)
