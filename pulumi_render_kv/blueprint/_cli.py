"""``render-kv-import render.yaml``: a Blueprint's Key Value services → a Pulumi program.

A Python program by default; with ``--yaml``, a Pulumi YAML project (``Pulumi.yaml``) for
the ``render-kv`` provider.

Everything is read and checked before anything is written: on a bad option (exit status 2)
or a bad Blueprint, a file that exists without ``--force`` (exit status 1), nothing is
written.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

from pulumi_render_kv.blueprint._read import BlueprintError, read_blueprint
from pulumi_render_kv.blueprint._requirements import (
    RequirementError,
    given_requirement,
    installed_requirement,
    pulumi_requirement,
)
from pulumi_render_kv.blueprint._write import (
    DEFAULT_VIRTUALENV,
    project_name_problem,
    render_program,
    render_project,
    render_requirements,
)
from pulumi_render_kv.blueprint._write_yaml import DEFAULT_PROVIDER_PATH, render_yaml_program


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="render-kv-import",
        description="Write a Pulumi program that adopts a Render Blueprint's Key Value services.",
    )
    parser.add_argument("blueprint", type=Path, help="the Blueprint, usually render.yaml")
    parser.add_argument(
        "-o", "--out", type=Path, default=Path(), help="where to write __main__.py (default: .)"
    )
    parser.add_argument(
        "--project",
        help="also write Pulumi.yaml and requirements.txt for a Python project with this name "
        "(letters, digits, -, _ and .)",
    )
    parser.add_argument(
        "--virtualenv",
        help="with --project: the virtualenv Pulumi.yaml names; `pulumi up` creates it and "
        f"installs requirements.txt in it when it does not exist (default: {DEFAULT_VIRTUALENV})",
    )
    parser.add_argument(
        "--requirement",
        metavar="SPEC",
        help="with --project: what requirements.txt installs pulumi-render-kv from: a wheel, a "
        "checkout (DIR, or '-e DIR'), a URL or a pip requirement (default: where this copy was "
        "installed from, when pip recorded it, else pulumi-render-kv)",
    )
    parser.add_argument(
        "--protect",
        action="store_true",
        help="set deletion_protection=True on every instance, as the policy pack requires on "
        "production stacks",
    )
    parser.add_argument(
        "--yaml",
        action="store_true",
        help="write a Pulumi YAML project (Pulumi.yaml) for the render-kv provider instead of a "
        "Python program; its name is --project (default: the output directory's name)",
    )
    parser.add_argument(
        "--provider-path",
        metavar="DIR",
        help="with --yaml: the render-kv provider folder Pulumi.yaml names, relative to it "
        f"(default: {DEFAULT_PROVIDER_PATH}); `render-kv-provider DIR` prepares it",
    )
    parser.add_argument("--force", action="store_true", help="overwrite files that exist")
    return parser


def _write_atomically(path: Path, text: str) -> None:
    # A crash mid-write must not leave half a program behind.
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


class _Refused(Exception):
    """A bad option: exit status 2, nothing written."""


def _yaml_project(args: argparse.Namespace) -> str | None:
    """With --yaml, the project's name (refused as the CLI would refuse it); else None."""
    if not args.yaml:
        if args.provider_path is not None:
            raise _Refused("--provider-path needs --yaml")
        return None
    for option in ("virtualenv", "requirement"):
        if getattr(args, option) is not None:
            raise _Refused(f"--{option} is for the Python program, not --yaml")
    if args.provider_path is not None and (
        not args.provider_path.strip() or any(c in args.provider_path for c in "\r\n")
    ):
        raise _Refused(f"--provider-path {args.provider_path!r}: must be one line, a folder")
    name = args.project if args.project is not None else args.out.resolve().name
    reason = project_name_problem(name)
    if reason:
        given = "--project" if args.project is not None else "the output directory's name"
        raise _Refused(f"{given} {name!r}: {reason}, and the Pulumi CLI refuses any other name")
    return str(name)


def _requirement(args: argparse.Namespace, notes: list[str]) -> str | None:
    """The requirements.txt line for pulumi-render-kv, or None without --project."""
    for option in ("virtualenv", "requirement"):
        if getattr(args, option) is not None and args.project is None:
            raise _Refused(f"--{option} needs --project")
    if args.project is None:
        return None
    reason = project_name_problem(args.project)
    if reason:
        raise _Refused(
            f"--project {args.project!r}: {reason}, and the Pulumi CLI refuses any other name"
        )
    if args.requirement is not None:
        try:
            return given_requirement(args.requirement)
        except RequirementError as err:
            raise _Refused(str(err)) from None
    requirement, note = installed_requirement()
    notes.extend([note] if note else [])
    return requirement


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    notes: list[str] = []
    try:
        yaml_project = _yaml_project(args)
        requirement = None if args.yaml else _requirement(args, notes)
    except _Refused as err:
        print(f"render-kv-import: {err}; nothing was written", file=sys.stderr)
        return 2
    try:
        text = args.blueprint.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        print(f"render-kv-import: cannot read {args.blueprint}: {err}", file=sys.stderr)
        return 1
    try:
        blueprint = read_blueprint(text, str(args.blueprint))
    except BlueprintError as err:
        print(f"render-kv-import: {args.blueprint} cannot be imported:", file=sys.stderr)
        for problem in err.problems:
            print(f"  {problem.format(str(args.blueprint))}", file=sys.stderr)
        print("nothing was written", file=sys.stderr)
        return 1
    provider_path = args.provider_path or DEFAULT_PROVIDER_PATH
    if yaml_project is not None:
        files = {
            args.out / "Pulumi.yaml": render_yaml_program(
                blueprint,
                args.blueprint.name,
                yaml_project,
                protect=args.protect,
                provider_path=provider_path,
            )
        }
    else:
        files = {
            args.out / "__main__.py": render_program(
                blueprint, args.blueprint.name, protect=args.protect
            )
        }
    if requirement is not None:
        files[args.out / "Pulumi.yaml"] = render_project(
            args.project, args.virtualenv or DEFAULT_VIRTUALENV
        )
        files[args.out / "requirements.txt"] = render_requirements(
            requirement, pulumi_requirement()
        )
    existing = [str(path) for path in files if path.exists()]
    if existing and not args.force:
        print(
            f"render-kv-import: {', '.join(existing)} exists; pass --force to overwrite "
            "(nothing was written)",
            file=sys.stderr,
        )
        return 1
    for note in [*blueprint.notes, *notes]:
        print(f"note: {note}", file=sys.stderr)
    args.out.mkdir(parents=True, exist_ok=True)
    for path, content in files.items():
        _write_atomically(path, content)
        print(f"wrote {path}")
    names = ", ".join(s.resource_name for s in blueprint.services)
    print(f"{len(blueprint.services)} Key Value service(s) to adopt: {names}")
    if yaml_project is not None:
        folder = args.out / provider_path
        print(
            f"the render-kv provider folder: `render-kv-provider {folder}` prepares it; then "
            f"`cd {args.out} && pulumi stack init <stack> && pulumi up` (the API key from "
            "RENDER_API_KEY, or `pulumi config set --secret render-kv:apiKey …`)"
        )
    return 0
