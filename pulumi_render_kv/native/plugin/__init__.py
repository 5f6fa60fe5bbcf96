"""The provider folder the engine runs, and ``render-kv-provider``, which prepares one.

Pulumi runs a Python provider from a folder with ``PulumiPlugin.yaml`` (``runtime: python``)
as ``<folder>/venv/bin/python <folder>``; without ``venv/`` it fails with ``fork/exec
…/venv/bin/python: no such file or directory``. The folder ships in this package
(``folder/``), but an installed package should not grow files in ``site-packages``, and
``pulumi package add`` re-runs ``python -m venv`` and pip on the folder's ``venv/``, which
must not touch the user's own environment. So ``render-kv-provider [DIR]`` copies the folder
to ``DIR`` (default: ``~/.local/share/pulumi-render-kv/provider``) and gives it a virtualenv
of its own that *sees* the environment this package is installed in (a ``.pth`` file adds
that environment's site-packages, ``.pth`` hooks of editable installs included), then
prints the folder's path::

    pulumi package add "$(render-kv-provider)"

Running it again refreshes the folder (after an upgrade, say); it never installs anything.
"""

from __future__ import annotations

import argparse
import os
import site
import sys
import sysconfig
import venv
from importlib import resources
from pathlib import Path

FOLDER_FILES = ("PulumiPlugin.yaml", "__main__.py")
PTH_NAME = "_render_kv_parent_environment.pth"


def default_dir() -> Path:
    data = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(data) / "pulumi-render-kv" / "provider"


def _parent_site_dirs() -> list[str]:
    """Where this interpreter finds its packages, this one among them."""
    dirs = [*site.getsitepackages()]
    if site.ENABLE_USER_SITE and site.getusersitepackages():
        dirs.append(site.getusersitepackages())
    purelib = sysconfig.get_path("purelib")
    if purelib not in dirs:
        dirs.append(purelib)
    return [d for d in dirs if Path(d).is_dir()]


def _venv_site_packages(env_dir: Path) -> Path:
    version = f"python{sys.version_info.major}.{sys.version_info.minor}"
    return env_dir / "lib" / version / "site-packages"


def prepare(directory: Path) -> Path:
    """``directory`` as a provider folder whose ``venv/`` imports this package."""
    directory = directory.expanduser().resolve()
    directory.mkdir(parents=True, exist_ok=True)
    shipped = resources.files("pulumi_render_kv.native.plugin").joinpath("folder")
    for name in FOLDER_FILES:
        (directory / name).write_bytes(shipped.joinpath(name).read_bytes())
    env_dir = directory / "venv"
    if env_dir.is_symlink() or (env_dir.exists() and not (env_dir / "pyvenv.cfg").exists()):
        raise SystemExit(f"render-kv-provider: {env_dir} exists and is not a virtualenv")
    # Based on this interpreter's own base Python (the venv module does that), no pip: the
    # packages come from the parent environment through the .pth file below.
    venv.EnvBuilder(with_pip=False, symlinks=True).create(env_dir)
    lines = [f"import site; site.addsitedir({d!r})" for d in _parent_site_dirs()]
    _venv_site_packages(env_dir).joinpath(PTH_NAME).write_text("\n".join(lines) + "\n")
    return directory


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="render-kv-provider",
        description="Prepare the render-kv Pulumi provider folder and print its path "
        '(pulumi package add "$(render-kv-provider)").',
    )
    parser.add_argument(
        "directory", nargs="?", type=Path, default=None, help=f"default: {default_dir()}"
    )
    args = parser.parse_args(argv)
    folder = prepare(args.directory or default_dir())
    print(folder)


def shipped_folder() -> Path:
    """The folder as shipped (no venv): for a checkout, or to copy by hand."""
    return Path(str(resources.files("pulumi_render_kv.native.plugin").joinpath("folder")))


__all__ = ["default_dir", "main", "prepare", "shipped_folder"]
