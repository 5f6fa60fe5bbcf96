"""What the generated ``requirements.txt`` installs pulumi-render-kv from.

By default, from where this copy was installed: pip records it (PEP 610) in the
distribution's ``direct_url.json``: a checkout (``pip install -e .`` or ``pip install .``), a
wheel file, a VCS URL. With nothing recorded it came from an index, and the name is enough.
``--requirement`` says it explicitly; local paths are made absolute, since pip reads a
relative path from the directory ``pulumi`` runs it in, not from the requirements file.
"""

from __future__ import annotations

import importlib.metadata
import json
import re
from pathlib import Path
from urllib.parse import urlsplit
from urllib.request import url2pathname

DISTRIBUTION = "pulumi-render-kv"
_URL = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://")
_PULUMI = re.compile(r"\s*pulumi\s*(?=[<>=!~(\[]|$)", re.IGNORECASE)


class RequirementError(ValueError):
    """``--requirement`` names nothing pip could install."""


def requirement_from_direct_url(text: str | None) -> tuple[str, str | None]:
    """The requirement line for an installation recorded as ``text``, and a note or None."""
    if text is None:
        return DISTRIBUTION, None
    try:
        info = json.loads(text)
        url = str(info["url"])
    except (ValueError, KeyError, TypeError):
        return DISTRIBUTION, None
    vcs = info.get("vcs_info")
    if isinstance(vcs, dict) and "vcs" in vcs:
        ref = vcs.get("commit_id") or vcs.get("requested_revision")
        line = f"{DISTRIBUTION} @ {vcs['vcs']}+{url}" + (f"@{ref}" if ref else "")
        if info.get("subdirectory"):
            line += f"#subdirectory={info['subdirectory']}"
        return line, None
    if url.startswith("file:"):
        path = Path(url2pathname(urlsplit(url).path))
        if not path.exists():
            return DISTRIBUTION, (
                f"this copy of pulumi-render-kv was installed from {path}, which is gone, so "
                f"requirements.txt says just {DISTRIBUTION}; pass --requirement with the wheel "
                "or checkout to install it from"
            )
        dir_info = info.get("dir_info")
        if isinstance(dir_info, dict) and dir_info.get("editable"):
            return f"-e {path}", None
    return f"{DISTRIBUTION} @ {url}", None


def installed_requirement() -> tuple[str, str | None]:
    """Where this copy of pulumi-render-kv was installed from, as a requirement line."""
    # Several distributions of the name can be on sys.path (a checkout's egg-info when run
    # from it): the installed one is the one pip recorded a direct_url.json for.
    for dist in importlib.metadata.distributions(name=DISTRIBUTION):
        text = dist.read_text("direct_url.json")
        if text is not None:
            return requirement_from_direct_url(text)
    return requirement_from_direct_url(None)


def pulumi_requirement() -> str:
    """The Pulumi SDK requirement this package declares (``pulumi<4,>=3.200``)."""
    try:
        requires = importlib.metadata.requires(DISTRIBUTION) or []
    except importlib.metadata.PackageNotFoundError:
        requires = []
    for line in requires:
        if _PULUMI.match(line) and ";" not in line:
            return line.strip()
    return "pulumi>=3,<4"


def given_requirement(spec: str) -> str:
    """``--requirement``: a wheel or checkout path, ``-e DIR``, a URL or a pip requirement."""
    if "\n" in spec or "\r" in spec:
        raise RequirementError(f"--requirement must be one line, a pip requirement: {spec!r}")
    spec = spec.strip()
    if spec.startswith(("-e ", "--editable ")):
        target = spec.split(None, 1)[1].strip()
        if _URL.match(target):
            return f"-e {target}"
        path = Path(target).expanduser()
        if not path.is_dir():
            raise RequirementError(f"--requirement {spec!r}: {target} is no directory")
        return f"-e {path.resolve()}"
    path = Path(spec).expanduser()
    if spec and path.exists():
        return f"{DISTRIBUTION} @ {path.resolve().as_uri()}"
    if _URL.match(spec):  # https://…/x.whl, git+https://…
        return f"{DISTRIBUTION} @ {spec}"
    if not spec:
        raise RequirementError("--requirement is empty")
    return spec
