"""The doctor's output: one line per check (✓ ✗ ! -), or JSON; and the exit status. Pure.

Every string goes through :func:`~pulumi_render_kv.client.redact` with the run's secrets
(passwords, the API key) on its way out, as a last guard: the checks already print only
masked URLs.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from pulumi_render_kv.client import redact

from ._checks import Level, Verdict

MARKS = {Level.OK: "✓", Level.WARN: "!", Level.FAIL: "✗", Level.SKIP: "-"}

EXIT_OK = 0
EXIT_PROBLEM = 1  # something is broken: cannot connect, or a queue losing jobs
EXIT_USAGE = 2  # bad options, or the target could not be resolved
EXIT_AT_RISK = 3  # connects, but something is at risk (a warning)


@dataclass(frozen=True)
class TargetReport:
    label: str
    url: str | None  # masked
    url_kind: str
    instance_id: str | None
    note: str
    verdicts: tuple[Verdict, ...]
    connected: bool


def exit_status(reports: Sequence[TargetReport]) -> int:
    """0 only when every target connects and nothing is at risk."""
    levels = {v.level for report in reports for v in report.verdicts}
    if Level.FAIL in levels or not reports or not all(r.connected for r in reports):
        return EXIT_PROBLEM
    if Level.WARN in levels:
        return EXIT_AT_RISK
    return EXIT_OK


def _summary(reports: Sequence[TargetReport]) -> str:
    fails = sum(v.level is Level.FAIL for r in reports for v in r.verdicts)
    warns = sum(v.level is Level.WARN for r in reports for v in r.verdicts)
    status = exit_status(reports)
    verdict = {
        EXIT_OK: "connects, nothing at risk",
        EXIT_AT_RISK: "connects, but something is at risk",
    }.get(status, "cannot connect" if not all(r.connected for r in reports) else "broken")
    return f"{fails} problem(s), {warns} warning(s): {verdict}"


def _grouped(verdicts: Sequence[Verdict]) -> list[list[Verdict]]:
    """Verdicts in order, neighbouring skips with one reason on one line."""
    groups: list[list[Verdict]] = []
    for verdict in verdicts:
        last = groups[-1][-1] if groups else None
        if (
            last is not None
            and verdict.level is Level.SKIP
            and last.level is Level.SKIP
            and last.summary == verdict.summary
        ):
            groups[-1].append(verdict)
        else:
            groups.append([verdict])
    return groups


def render_text(reports: Sequence[TargetReport], secrets: Iterable[str | None] = ()) -> str:
    secret_values = tuple(secrets)
    lines: list[str] = []
    for report in reports:
        head = f"{report.label}: {report.url or '(no URL)'}"
        if report.url_kind != "unknown":
            head += f" ({report.url_kind})"
        lines.append(head)
        if report.note:
            lines.append(f"  checking {report.note}")
        for group in _grouped(report.verdicts):
            verdict = group[0]
            names = ", ".join(v.check for v in group)
            lines.append(f"  {MARKS[verdict.level]} {names}: {verdict.summary}")
            if verdict.level in (Level.FAIL, Level.WARN):
                if verdict.cause:
                    lines.append(f"      cause: {verdict.cause}")
                if verdict.fix:
                    lines.append(f"      fix:   {verdict.fix}")
        lines.append("")
    lines.append(_summary(reports))
    return redact("\n".join(lines), secret_values) + "\n"


def render_json(reports: Sequence[TargetReport], secrets: Iterable[str | None] = ()) -> str:
    document = {
        "exitStatus": exit_status(reports),
        "ok": exit_status(reports) == EXIT_OK,
        "targets": [
            {
                "label": r.label,
                "url": r.url,
                "urlKind": r.url_kind,
                "instanceId": r.instance_id,
                "note": r.note,
                "connected": r.connected,
                "checks": [
                    {
                        "check": v.check,
                        "level": v.level.value,
                        "summary": v.summary,
                        "cause": v.cause,
                        "fix": v.fix,
                    }
                    for v in r.verdicts
                ],
            }
            for r in reports
        ],
    }
    return redact(json.dumps(document, indent=2, ensure_ascii=False), tuple(secrets)) + "\n"
