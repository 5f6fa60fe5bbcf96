"""``render-kv doctor``: why a Key Value instance cannot be reached, and what to change.

Resolves the targets (``_targets``, ``_api``), probes each URL (``_probe``), diagnoses
(``_checks``) and prints (``_report``); ``--watch`` then samples (``_watch``). Exit status: 0
when every target connects and nothing is at risk, 1 when something is broken, 3 when it
connects but something is at risk, 2 for bad options or a target that cannot be resolved.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path

from pulumi_render_kv.client import RenderClient

from . import _api, _probe, _report, _targets
from ._checks import diagnose
from ._facts import Context, InstanceFacts, Observation
from ._urls import UrlError, instance_id_of, parse_url
from ._watch import sample_line, watch

DEFAULT_TIMEOUT = 5.0


def _parser() -> tuple[argparse.ArgumentParser, argparse.ArgumentParser]:
    """``render-kv`` and its ``doctor`` command (whose errors name it)."""
    parser = argparse.ArgumentParser(
        prog="render-kv", description="Tools for Render Key Value instances."
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    doctor = commands.add_parser(
        "doctor",
        help="tell why a Key Value instance cannot be reached, and what to change",
        description="Diagnose connections to a Render Key Value instance: status, DNS, TCP, "
        "TLS, allow list, authentication, the server's memory and policy, maintenance and "
        "metrics. Reads RENDER_API_KEY (and RENDER_API_URL) for what only Render's API knows.",
        epilog="exit status: 0 connects and nothing is at risk, 1 something is broken, "
        "2 bad options or no such target, 3 connects but something is at risk",
    )
    target = doctor.add_argument_group(
        "target (one of --url, --id, --name, --stack; --url with --id: that instance's URL)"
    )
    target.add_argument("--url", help="a redis:// or rediss:// connection string")
    target.add_argument("--id", dest="instance_id", metavar="ID", help="an instance id, red-…")
    target.add_argument("--name", help="an instance name (needs RENDER_API_KEY)")
    target.add_argument(
        "--stack",
        nargs="?",
        const="",
        metavar="NAME",
        help="the connection strings a Pulumi stack exports (the selected stack without NAME; "
        "needs `pulumi` on PATH)",
    )
    doctor.add_argument(
        "-C", "--cwd", type=Path, help="with --stack: the Pulumi project's directory"
    )
    doctor.add_argument(
        "--endpoint",
        choices=("auto", "internal", "external"),
        default="auto",
        help="with --id/--name: which URL to try (auto: internal where its host resolves)",
    )
    doctor.add_argument(
        "--workload",
        choices=("queue", "cache", "session"),
        help="what the instance is for (default: inferred from its policy)",
    )
    doctor.add_argument(
        "--ca-cert",
        default=os.environ.get("RENDER_KV_CA_CERT"),
        metavar="FILE",
        help="the CA that signs the TLS endpoint (the emulator's RENDER_KV_CA_CERT, the "
        "default; Render's endpoints need none)",
    )
    doctor.add_argument(
        "--timeout",
        type=float,
        default=DEFAULT_TIMEOUT,
        help=f"seconds each network step may take (default {DEFAULT_TIMEOUT:g})",
    )
    doctor.add_argument("--json", action="store_true", help="print JSON instead of text")
    doctor.add_argument(
        "--watch",
        type=float,
        metavar="SECONDS",
        help="after the checks, re-read INFO and Render's metrics every SECONDS",
    )
    doctor.add_argument(
        "--count", type=int, default=0, help="with --watch: stop after this many samples"
    )
    return parser, doctor


def _resolves(host: str) -> bool:
    try:
        _probe.resolve(host, 6379, DEFAULT_TIMEOUT)
    except OSError:
        return False
    return True


@dataclass
class Runtime:
    """The doctor's contact with the world, replaceable in tests."""

    environ: Mapping[str, str] = field(default_factory=lambda: dict(os.environ))
    now: Callable[[], datetime] = lambda: datetime.now(UTC)
    clock: Callable[[], float] = time.monotonic
    sleep: Callable[[float], None] = time.sleep
    write: Callable[[str], None] = lambda text: print(text, end="", flush=True)
    resolves: Callable[[str], bool] = _resolves


@dataclass
class _Item:
    """One target being diagnosed: its facts so far."""

    target: _targets.Target
    instance: InstanceFacts | None = None
    api_error: str | None = None
    note: str = ""


def _resolve_targets(
    args: argparse.Namespace, client: RenderClient | None
) -> list[_targets.Target]:
    given = [
        opt
        for opt, value in (("--url", args.url), ("--stack", args.stack), ("--name", args.name))
        if value is not None
    ]
    if args.instance_id is not None and args.name is not None:
        raise _api.TargetError("give --id or --name, not both")
    if len(given) > 1:
        raise _api.TargetError(f"give one target, not {' and '.join(given)}")
    instance_id = args.instance_id
    if args.name is not None:
        if client is None:
            raise _api.TargetError("--name needs RENDER_API_KEY (Render's API finds the name)")
        instance_id = _api.find_by_name(client, args.name, args.environ.get("RENDER_OWNER_ID"))
    if args.url is not None:
        try:
            url = parse_url(args.url)
        except UrlError as error:
            raise _api.TargetError(f"--url: {error}") from None
        return [_targets.Target("--url", url, instance_id or instance_id_of(url))]
    if args.stack is not None:
        outputs = _targets.stack_outputs(args.stack or None, cwd=args.cwd)
        found = _targets.urls_in_outputs(outputs)
        if not found:
            raise _api.TargetError(
                "the stack exports no redis:// or rediss:// URL: export the KeyValue's "
                "internal_connection_string (or external_connection_string)"
            )
        return [_targets.Target(name, url, instance_id_of(url)) for name, url in found]
    if instance_id is None:
        raise _api.TargetError("give a target: --url URL, --id red-…, --name NAME or --stack")
    if client is None:
        raise _api.TargetError("--id needs RENDER_API_KEY (and RENDER_API_URL for an emulator)")
    return [_targets.Target(args.name or instance_id, None, instance_id)]


def _observe(
    item: _Item, args: argparse.Namespace, client: RenderClient | None, runtime: Runtime
) -> Observation:
    target = item.target
    if client is not None:
        instance_id = target.instance_id
        if instance_id is None and target.url is not None:
            instance_id = _api.find_by_url(client, target.url)
            # Found once: --watch samples do not search again.
            item.target = target = replace(target, instance_id=instance_id)
        if instance_id is not None:
            try:
                item.instance = _api.read_instance(client, instance_id, now=runtime.now())
            except _api.TargetError as error:
                item.api_error = str(error)
    url = target.url
    if url is None and item.instance is not None:
        url, item.note = _targets.choose_url(item.instance, args.endpoint, runtime.resolves)
    probe = _probe.probe(url, timeout=args.timeout, ca_cert=args.ca_cert) if url else None
    context = Context(
        workload=args.workload,
        inside_render=runtime.environ.get("RENDER", "").lower() == "true",
        label=target.label,
        timeout=args.timeout,
        api_key_given=client is not None,
    )
    return Observation(
        context=context,
        instance=item.instance,
        api_error=item.api_error,
        probe=probe,
        url_kind=_targets.url_kind(url, item.instance) if url else "unknown",
    )


def _secrets(observations: Sequence[Observation], environ: Mapping[str, str]) -> list[str]:
    found = [environ.get("RENDER_API_KEY", "")]
    for obs in observations:
        urls = [obs.probe.url if obs.probe else None]
        if obs.instance is not None:
            urls += [obs.instance.internal_url, obs.instance.external_url]
        found += [u.password for u in urls if u is not None and u.password]
    return [s for s in found if s]


def _report_of(obs: Observation, note: str, now: datetime) -> _report.TargetReport:
    verdicts = tuple(diagnose(obs, now))
    return _report.TargetReport(
        label=obs.context.label,
        url=obs.probe.url.masked() if obs.probe else None,
        url_kind=obs.url_kind,
        instance_id=obs.instance.id if obs.instance else None,
        note=note,
        verdicts=verdicts,
        connected=obs.probe is not None and obs.probe.connected,
    )


def run(argv: Sequence[str] | None = None, runtime: Runtime | None = None) -> int:
    """The console script, with its world injectable."""
    runtime = runtime or Runtime()
    parser, doctor = _parser()
    args = parser.parse_args(argv)
    args.environ = runtime.environ
    if not 0 < args.timeout <= 120:
        doctor.error("--timeout must be more than 0 and at most 120 seconds")
    if args.watch is not None and args.watch <= 0:
        doctor.error("--watch needs a positive number of seconds")
    if args.watch is not None and args.json:
        # Its samples are text lines: after a JSON document they would break a JSON reader.
        doctor.error("--watch prints text lines; leave out --json")
    try:
        client = _api.make_client(runtime.environ, args.timeout)
    except _api.TargetError as error:
        print(f"render-kv doctor: {error}", file=sys.stderr)
        return _report.EXIT_USAGE
    try:
        try:
            targets = _resolve_targets(args, client)
        except _api.TargetError as error:
            print(f"render-kv doctor: {error}", file=sys.stderr)
            return _report.EXIT_USAGE
        items = [_Item(target) for target in targets]
        observations = [_observe(item, args, client, runtime) for item in items]
        now = runtime.now()
        reports = [
            _report_of(obs, item.note, now) for obs, item in zip(observations, items, strict=True)
        ]
        secrets = _secrets(observations, runtime.environ)
        render = _report.render_json if args.json else _report.render_text
        runtime.write(render(reports, secrets))
        status = _report.exit_status(reports)
        if args.watch is not None:
            _watch_targets(items, args, client, runtime, secrets)
        return status
    finally:
        if client is not None:
            client.close()


def _watch_targets(
    items: list[_Item],
    args: argparse.Namespace,
    client: RenderClient | None,
    runtime: Runtime,
    secrets: list[str],
) -> None:
    from pulumi_render_kv.client import redact  # noqa: PLC0415 - only --watch needs it

    def sample() -> list[str]:
        lines = []
        for item in items:
            obs = _observe(item, args, client, runtime)
            lines.append(redact(sample_line(obs, runtime.now()), secrets))
        return lines

    runtime.write(f"watching every {args.watch:g} s (Ctrl-C stops)\n")
    watch(
        sample,
        interval=args.watch,
        count=args.count,
        clock=runtime.clock,
        sleep=runtime.sleep,
        write=lambda line: runtime.write(line + "\n"),
    )


def main(argv: Sequence[str] | None = None) -> int:
    return run(argv)


__all__ = ["Runtime", "main", "run"]
