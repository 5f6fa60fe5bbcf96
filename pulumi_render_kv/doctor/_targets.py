"""What to diagnose: URLs and instances, from ``--url``, ``--id``/``--name`` or ``--stack``.

The pure parts (which stack outputs are connection strings, which kind a URL is, which of an
instance's URLs to try from here) are separate from the one I/O call here, ``pulumi stack
output``, so they can be tested without a CLI.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from ._api import TargetError
from ._facts import InstanceFacts
from ._urls import RedisUrl, UrlError, is_external_host, is_internal_host, parse_url

_PULUMI_TIMEOUT = 120.0


@dataclass(frozen=True)
class Target:
    """One thing to diagnose: a URL, an instance, or both."""

    label: str
    url: RedisUrl | None = None
    instance_id: str | None = None


def urls_in_outputs(outputs: Mapping[str, object]) -> list[tuple[str, RedisUrl]]:
    """The stack outputs that are connection strings, by output name (nested ones too)."""
    found: list[tuple[str, RedisUrl]] = []

    def visit(name: str, value: object) -> None:
        if isinstance(value, str) and value.strip().startswith(("redis://", "rediss://")):
            try:
                found.append((name, parse_url(value)))
            except UrlError:
                return
        elif isinstance(value, Mapping):
            for key, inner in value.items():
                visit(f"{name}.{key}" if name else str(key), inner)

    visit("", outputs)
    return found


def stack_outputs(
    stack: str | None,
    *,
    cwd: Path | None = None,
    which: Callable[[str], str | None] = shutil.which,
) -> dict[str, object]:
    """``pulumi stack output --json --show-secrets``: the stack's outputs, secrets revealed.

    :class:`TargetError` when there is no ``pulumi`` on PATH or the command fails; its output
    (which holds secrets) is never quoted, only its error stream's last line.
    """
    pulumi = which("pulumi")
    if pulumi is None:
        raise TargetError(
            "--stack needs the Pulumi CLI, and there is no `pulumi` on PATH: install it "
            "(https://www.pulumi.com/docs/install/), or pass the URL with --url"
        )
    command = [pulumi, "stack", "output", "--json", "--show-secrets", "--non-interactive"]
    if stack:
        command += ["--stack", stack]
    try:
        done = subprocess.run(  # noqa: S603 - a fixed command line, the binary found on PATH
            command,
            cwd=cwd,
            capture_output=True,
            text=True,
            timeout=_PULUMI_TIMEOUT,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as error:
        raise TargetError(f"`pulumi stack output` did not run: {error}") from None
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["(no message)"])[-1]
        raise TargetError(
            f"`pulumi stack output` failed (exit status {done.returncode}): {last}; run the "
            "doctor in the project's directory (or pass -C DIR) with the stack selected or named"
        )
    try:
        outputs = json.loads(done.stdout or "{}")
    except ValueError:
        raise TargetError("`pulumi stack output --json` printed no JSON") from None
    if not isinstance(outputs, dict):
        raise TargetError("`pulumi stack output --json` printed no JSON object")
    return outputs


def url_kind(url: RedisUrl, instance: InstanceFacts | None) -> str:
    """``internal``, ``external`` or ``unknown``: by the instance's URLs, else by its shape."""
    if instance is not None:
        if instance.internal_url is not None and instance.internal_url.same_endpoint(url):
            return "internal"
        if instance.external_url is not None and instance.external_url.same_endpoint(url):
            return "external"
    if is_internal_host(url.host):
        return "internal"
    if is_external_host(url.host) or url.tls:
        return "external"
    return "unknown"


def choose_url(
    instance: InstanceFacts, endpoint: str, resolves: Callable[[str], bool]
) -> tuple[RedisUrl | None, str]:
    """The URL to try from here, and why: ``endpoint`` is ``auto``, ``internal`` or ``external``.

    ``auto`` takes the internal URL where its host resolves (inside Render's private network,
    or an emulator's loopback), else the external one.
    """
    internal, external = instance.internal_url, instance.external_url
    if endpoint == "internal":
        return internal, "the internal URL (--endpoint internal)"
    if endpoint == "external":
        return external, "the external URL (--endpoint external)"
    if internal is not None and resolves(internal.host):
        where = " (inside Render's private network)" if is_internal_host(internal.host) else ""
        return internal, f"the internal URL: its host resolves here{where}"
    if internal is not None and is_internal_host(internal.host):
        return external, (
            f"the external URL: {internal.host} does not resolve, so this machine is outside "
            "Render's private network"
        )
    return external, "the external URL"
