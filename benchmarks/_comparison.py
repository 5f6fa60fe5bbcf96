"""The side-by-side benchmark's pure parts: what one operation measured, and how it is shown.

No processes, sockets or clocks here (``bench_vs_terraform.py`` runs the tools): the request
log is summarised by method and path, statuses are counted, and the results become the
console table and ``docs/COMPARISON.md``. Unit-tested in ``tests/bench/test_comparison.py``.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

_INSTANCE_ID = re.compile(r"/red-[a-z0-9]+")
_ENVIRONMENT_ID = re.compile(r"/evm-[a-z0-9]+")


def generic_path(path: str) -> str:
    """``/v1/key-value/red-abc/connection-info`` → ``/key-value/{id}/connection-info``."""
    path = path.removeprefix("/v1")
    path = _INSTANCE_ID.sub("/{id}", path)
    return _ENVIRONMENT_ID.sub("/{env}", path)


@dataclass(frozen=True)
class RequestSummary:
    """The ``/v1`` requests one operation made, by method and generic path."""

    by_route: tuple[tuple[str, int], ...]  # ("GET /key-value/{id}", 3), most frequent first
    errors: int  # answered 4xx/5xx: refusals, 404 probes, and any 429 (a rate limit met)

    @property
    def total(self) -> int:
        return sum(count for _, count in self.by_route)

    def describe(self) -> str:
        """``3 GET /key-value/{id}, 1 PATCH /key-value/{id}`` (``-`` for none)."""
        if not self.by_route:
            return "-"
        return ", ".join(f"{count} {route}" for route, count in self.by_route)


def summarise_requests(entries: Iterable[Mapping[str, Any]]) -> RequestSummary:
    """Entries of the emulator's ``GET /_emulator/requests`` (``method``, ``path``, ``status``)."""
    routes: Counter[str] = Counter()
    errors = 0
    for entry in entries:
        routes[f"{entry['method']} {generic_path(str(entry['path']))}"] += 1
        if int(entry.get("status", 200)) >= 400:
            errors += 1
    ordered = sorted(routes.items(), key=lambda item: (-item[1], item[0]))
    return RequestSummary(by_route=tuple(ordered), errors=errors)


def status_summary(statuses: Sequence[str]) -> str:
    """``creating`` for one, ``10 creating`` or ``9 available, 1 config_restart`` for many."""
    if not statuses:
        return "-"
    counts = Counter(statuses)
    if len(statuses) == 1:
        return statuses[0]
    return ", ".join(f"{n} {status}" for status, n in sorted(counts.items(), key=_by_count))


def _by_count(item: tuple[str, int]) -> tuple[int, str]:
    return -item[1], item[0]


def first_error(output: str) -> str:
    """The first error line; for Terraform's diagnostics (``-no-color``), with their detail.

    Terraform prints ``Error: <summary>``, a blank line, the indented ``with``/``on`` lines and
    the source line, then the detail (the API's message) as an unindented paragraph.
    """
    lines = output.splitlines()
    for index, line in enumerate(lines):
        text = line.strip()
        if not text.startswith(("Error:", "error:")) or len(text) <= len("error: "):
            continue
        if text.startswith("Error:"):
            detail: list[str] = []
            for later in lines[index + 1 :]:
                if later.startswith("Error:"):
                    break
                if not later.strip():
                    if detail:
                        break
                    continue
                if later.startswith(" "):
                    continue  # the with/on/source lines
                detail.append(later.strip())
            text = f"{text}: {' '.join(detail)}" if detail else text
        return text if len(text) <= 400 else text[:399] + "…"
    return ""


@dataclass(frozen=True)
class Operation:
    """One step of the job every tool runs: its label, and what a correct tool does."""

    label: str
    expect_success: bool = True  # False: a refusal is the right answer (downgrade, typos)
    probes_ping: bool = True  # whether the instances exist afterwards to PING


@dataclass(frozen=True)
class Measurement:
    """What one tool's run of one operation measured."""

    tool: str
    operation: Operation
    wall_s: float
    exit_code: int
    requests: RequestSummary
    statuses: tuple[str, ...] = ()  # of the job's instances, read right after the tool returned
    ping_s: float | None = None  # from the tool's return until every instance answers PING
    refused_at: str = ""  # "plan", "apply", "preview"... for a failed command, where it stopped
    note: str = ""

    @property
    def succeeded(self) -> bool:
        return self.exit_code == 0

    @property
    def usable_s(self) -> float | None:
        """From the command's start until every instance answers: what a user waits."""
        return None if self.ping_s is None else self.wall_s + self.ping_s

    @property
    def outcome(self) -> str:
        if self.succeeded:
            return "ok" if self.operation.expect_success else "ok (accepted!)"
        where = f" at {self.refused_at}" if self.refused_at else ""
        verdict = "refused" if not self.operation.expect_success else "FAILED"
        return f"{verdict}{where} (exit {self.exit_code})"


@dataclass
class ToolRun:
    """Every operation one tool ran, or why it could not run."""

    tool: str
    version: str
    measurements: list[Measurement] = field(default_factory=list)
    skipped: str = ""  # why the tool did not run (empty: it ran)


def _seconds(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}"


MEASUREMENT_HEADERS = (
    "operation",
    "tool",
    "wall s",
    "outcome",
    "requests",
    "by method and path",
    "status at return",
    "PING after s",
    "usable at s",
)


def measurement_cells(measurement: Measurement) -> list[str]:
    requests = str(measurement.requests.total)
    if measurement.requests.errors:
        requests += f" ({measurement.requests.errors} non-2xx)"
    return [
        measurement.operation.label,
        measurement.tool,
        f"{measurement.wall_s:.1f}",
        measurement.outcome,
        requests,
        measurement.requests.describe(),
        status_summary(measurement.statuses),
        _seconds(measurement.ping_s),
        _seconds(measurement.usable_s),
    ]


def _by_operation(runs: Sequence[ToolRun]) -> list[Measurement]:
    """Every measurement, grouped by operation in the job's order, tools in the runs' order."""
    order: list[str] = []
    for run in runs:
        for measurement in run.measurements:
            if measurement.operation.label not in order:
                order.append(measurement.operation.label)
    return [
        measurement
        for label in order
        for run in runs
        for measurement in run.measurements
        if measurement.operation.label == label
    ]


def text_table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """Columns padded to width, as ``bench_targets`` prints its table."""
    widths = [max(len(h), *(len(row[i]) for row in rows)) for i, h in enumerate(headers)]

    def line(values: Sequence[str]) -> str:
        return " | ".join(v.ljust(widths[i]) for i, v in enumerate(values)).rstrip()

    return "\n".join([line(headers), "-+-".join("-" * w for w in widths), *map(line, rows)])


def markdown_table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    def line(values: Sequence[str]) -> str:
        return "| " + " | ".join(v.replace("|", "\\|") for v in values) + " |"

    return "\n".join([line(headers), "|" + "---|" * len(headers), *map(line, rows)])


def measurement_rows(runs: Sequence[ToolRun]) -> list[list[str]]:
    return [measurement_cells(m) for m in _by_operation(runs)]


def face_off_figure(measurement: Measurement) -> tuple[str, float] | None:
    """What a user of the operation waits for: ("usable", s) when it leaves instances that must
    answer, else ("wall", s) -- a refusal or a destroy is done when the command returns."""
    operation = measurement.operation
    if operation.expect_success and operation.probes_ping:
        usable = measurement.usable_s
        return None if usable is None else ("usable", usable)
    return "wall", measurement.wall_s


def face_off_rows(runs: Sequence[ToolRun], baseline: str, challenger: str) -> list[list[str]]:
    """Per operation both tools ran: each one's figure (see :func:`face_off_figure`), the ratio."""
    by_tool = {run.tool: {m.operation.label: m for m in run.measurements} for run in runs}
    base, other = by_tool.get(baseline, {}), by_tool.get(challenger, {})
    rows: list[list[str]] = []
    for label, theirs in base.items():
        mine = other.get(label)
        if mine is None:
            continue
        theirs_figure, mine_figure = face_off_figure(theirs), face_off_figure(mine)
        if theirs_figure is None or mine_figure is None:
            continue
        (measure, theirs_s), (_, mine_s) = theirs_figure, mine_figure
        ratio = f"{mine_s / theirs_s:.2f}" if theirs_s > 0 else "-"
        rows.append([label, measure, _detail(theirs, measure), _detail(mine, measure), ratio])
    return rows


def _detail(measurement: Measurement, measure: str) -> str:
    if measure == "wall":
        return f"{measurement.wall_s:.1f} ({measurement.outcome})"
    return f"{measurement.wall_s:.1f} + {_seconds(measurement.ping_s)} = {measurement.usable_s:.1f}"


FACE_OFF_HEADERS = ("operation", "measure", "{baseline} s", "{challenger} s", "ratio")


def face_off_headers(baseline: str, challenger: str) -> list[str]:
    return [h.format(baseline=baseline, challenger=challenger) for h in FACE_OFF_HEADERS]


def render_document(
    runs: Sequence[ToolRun],
    *,
    preamble: Sequence[str],
    setup: Sequence[str],
    baseline: str | None,
    challenger: str | None,
) -> str:
    """``docs/COMPARISON.md``: the setup, the time-to-usable face-off, every measurement."""
    lines = [
        "# Side by side: pulumi-render-kv and Render's Terraform provider",
        "",
        "<!-- written by make bench-vs-terraform (benchmarks/bench_vs_terraform.py), "
        "do not edit -->",
        "",
        *preamble,
        "",
        "## Setup",
        "",
        *(f"- {line}" for line in setup),
        "",
    ]
    for run in runs:
        if run.skipped:
            lines.append(f"- **{run.tool}** did not run: {run.skipped}")
    if any(run.skipped for run in runs):
        lines.append("")
    if baseline and challenger:
        rows = face_off_rows(runs, baseline, challenger)
        if rows:
            lines += [
                "## Time to usable",
                "",
                "*usable*: from the command's start until every instance answers `PING` on its "
                "internal URL (wall + PING after return; the emulator's data plane refuses "
                "connections until an instance is `available`, as Render's does). For a "
                "refusal or a destroy, the wall time. Ratio: "
                f"{challenger} / {baseline}.",
                "",
                markdown_table(face_off_headers(baseline, challenger), rows),
                "",
            ]
    ran = [run for run in runs if not run.skipped]
    if ran:
        lines += [
            "## Every operation",
            "",
            "Requests are the emulator's request log for the command alone (`GET "
            "/_emulator/requests`; *non-2xx* are 404s of reads that find nothing, such as "
            "Render's provider reading each instance's log-stream override, and refusals); "
            "*status at return* is read right after the command returned; *PING after* "
            "counts from then.",
            "",
            markdown_table(MEASUREMENT_HEADERS, measurement_rows(ran)),
            "",
        ]
        notes = [
            f"- {m.tool}, {m.operation.label}: {m.note}"
            for r in ran
            for m in r.measurements
            if m.note
        ]
        if notes:
            lines += ["## Notes", "", *notes, ""]
    return "\n".join(lines)
