"""What a fresh clone and an install meet: `make dist`'s wheel, and `make test` without ../shared.

pulumi-render-kv is on no package index: users install the wheel `make dist` builds (or a
checkout, or a git URL, which pip turns into the same wheel). The wheel is built here as
`make dist` builds it (``python -m build --no-isolation``, with the dev environment's pinned
setuptools) and installed into a fresh virtualenv without its dependencies; that virtualenv
reads the dependencies from this run's site-packages as a plain path entry, so its
``pulumi_render_kv`` can only come from the wheel. `.ci/run` (`make dist-check`) also
installs the wheel with its dependencies from PyPI.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import sysconfig
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class Installed:
    """A virtualenv holding only the wheel (its dependencies come from this run's)."""

    venv: Path
    purelib: Path

    @property
    def python(self) -> Path:
        return self.venv / "bin" / "python"

    def run(self, *args: str) -> subprocess.CompletedProcess[str]:
        env = {k: v for k, v in os.environ.items() if k not in {"PYTHONPATH", "VIRTUAL_ENV"}}
        return subprocess.run(
            args, cwd=self.venv, env=env, capture_output=True, text=True, timeout=120, check=False
        )


@pytest.fixture(scope="module")
def dist(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    # What `make dist` runs: the sdist, then the wheel built from the unpacked sdist (so a file
    # missing from the sdist shows up as one missing from the wheel).
    done = subprocess.run(
        [sys.executable, "-m", "build", "--no-isolation", "--outdir", str(out), str(ROOT)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return out


@pytest.fixture(scope="module")
def installed(dist: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Installed]:
    venv = tmp_path_factory.mktemp("wheel-venv") / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    [wheel] = dist.glob("*.whl")
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "--python",
            str(venv / "bin" / "python"),
            "install",
            "--quiet",
            "--no-deps",
            "--no-index",
            str(wheel),
        ],
        check=True,
    )
    purelib = Path(
        subprocess.run(
            [
                str(venv / "bin" / "python"),
                "-c",
                "import sysconfig; print(sysconfig.get_path('purelib'))",
            ],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    )
    # A plain path line: this run's site-packages is searched after the wheel's, and its own
    # .pth files (the editable install's finder among them) are not processed.
    (purelib / "zz-project-dependencies.pth").write_text(sysconfig.get_path("purelib") + "\n")
    yield Installed(venv=venv, purelib=purelib)
    shutil.rmtree(venv)


def test_make_dist_builds_an_sdist_and_a_wheel(dist: Path) -> None:
    assert sorted(p.name for p in dist.iterdir()) == [
        "pulumi_render_kv-0.1.0-py3-none-any.whl",
        "pulumi_render_kv-0.1.0.tar.gz",
    ]


IMPORT_EVERYTHING = """
import importlib, json, pkgutil
import pulumi_render_kv
files = {}
for module in pkgutil.walk_packages(pulumi_render_kv.__path__, "pulumi_render_kv."):
    if not module.name.endswith("__main__"):
        files[module.name] = importlib.import_module(module.name).__file__
files["pulumi_render_kv"] = pulumi_render_kv.__file__
print(json.dumps(files))
"""


def test_every_module_imports_from_the_wheel(installed: Installed) -> None:
    done = installed.run(str(installed.python), "-c", IMPORT_EVERYTHING)
    assert done.returncode == 0, done.stderr
    files = json.loads(done.stdout)
    expected = {
        "pulumi_render_kv."
        + ".".join(path.relative_to(ROOT / "pulumi_render_kv").with_suffix("").parts)
        for path in (ROOT / "pulumi_render_kv").rglob("*.py")
        if path.name not in {"__init__.py", "__main__.py"}
    }
    assert expected <= set(files), "every module of the checkout is in the wheel"
    outside = {name: f for name, f in files.items() if not f.startswith(str(installed.purelib))}
    assert not outside, f"imported from outside the wheel: {outside}"
    assert (installed.purelib / "pulumi_render_kv" / "py.typed").is_file()


def test_the_wheel_tells_the_pulumi_cli_it_needs_no_plugin(installed: Installed) -> None:
    """The Python host takes a `pulumi-*` package for a provider plugin to download (here
    `render-kv`, which does not exist, so `pulumi install` failed) unless the package's
    pulumi-plugin.json says `resource: false`."""
    plugin = installed.purelib / "pulumi_render_kv" / "pulumi-plugin.json"
    assert json.loads(plugin.read_text()) == {"resource": False}


@pytest.mark.parametrize("script", ["render-kv-import", "render-kv-emulator", "render-kv"])
def test_the_console_scripts_run(installed: Installed, script: str) -> None:
    done = installed.run(str(installed.venv / "bin" / script), "--help")
    assert done.returncode == 0, done.stderr
    assert "usage:" in done.stdout


# The tests that read Render's spec and recorded traffic from ../shared.
SHARED_DATA_TESTS = [
    "tests/test_openapi_contract.py",
    "tests/client/test_contract.py",
    "tests/emulator/test_contract.py",
    "tests/emulator/test_recorded_traffic.py",
]


def test_a_plain_clone_says_which_tests_it_skips_and_why(tmp_path: Path) -> None:
    """Without ../shared (a plain clone) the run names the missing folders, once."""
    clone = tmp_path / "pulumi-render-kv"
    clone.mkdir()
    shutil.copy(ROOT / "pyproject.toml", clone / "pyproject.toml")
    shutil.copytree(ROOT / "tests", clone / "tests", ignore=shutil.ignore_patterns("__pycache__"))
    env = {
        k: v for k, v in os.environ.items() if k not in {"RENDER_OPENAPI_DIR", "RENDER_TRAFFIC_DIR"}
    }
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", *SHARED_DATA_TESTS],
        cwd=clone,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    [skipped] = re.findall(r"(\d+) skipped", done.stdout.splitlines()[-1])
    lines = [line for line in done.stdout.splitlines() if line.startswith("SKIPPED")]
    assert lines == [
        f"SKIPPED {skipped} test(s): ../shared/render-openapi and ../shared/render-traffic are "
        "absent (Render's OpenAPI spec and recorded API traffic, which the project's CI keeps "
        "beside the checkout; README.md, Testing, says where to get them)"
    ]
