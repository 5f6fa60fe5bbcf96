"""``render-kv-import render.yaml``: a Blueprint's Key Value services → a Pulumi program.

Everything is read and checked before anything is written: on any problem (a bad Blueprint,
a file that exists without ``--force``) nothing is written and the exit status is 1.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

from pulumi_render_kv.blueprint._read import BlueprintError, read_blueprint
from pulumi_render_kv.blueprint._write import render_program, render_project


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
        "--project", help="also write Pulumi.yaml for a Python project with this name"
    )
    parser.add_argument(
        "--virtualenv", help="with --project: the virtualenv Pulumi.yaml points the runtime at"
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


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.virtualenv and not args.project:
        print("render-kv-import: --virtualenv needs --project", file=sys.stderr)
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
    files = {args.out / "__main__.py": render_program(blueprint, args.blueprint.name)}
    if args.project:
        files[args.out / "Pulumi.yaml"] = render_project(args.project, args.virtualenv)
    existing = [str(path) for path in files if path.exists()]
    if existing and not args.force:
        print(
            f"render-kv-import: {', '.join(existing)} exists; pass --force to overwrite "
            "(nothing was written)",
            file=sys.stderr,
        )
        return 1
    for note in blueprint.notes:
        print(f"note: {note}", file=sys.stderr)
    args.out.mkdir(parents=True, exist_ok=True)
    for path, content in files.items():
        _write_atomically(path, content)
        print(f"wrote {path}")
    names = ", ".join(s.name for s in blueprint.services)
    print(f"{len(blueprint.services)} Key Value service(s) to adopt: {names}")
    return 0
