"""Issue 16 target 6: what the ``pulumi`` CLI costs with our program, against its own floor.

Two projects on one file backend, each with N resources: ours (``KeyValue`` against a fresh
emulator with zero delays) and a trivial dynamic-provider program (a ``ResourceProvider``
defined in the program itself, as a user would write one: Check echoes, Create returns its
inputs, Diff compares them). Both are created once; then, paired and alternating (A B, B A,
...), it times

* a no-op ``pulumi up --yes`` (nothing changed: every resource is Checked and Diffed), and
* a refused ``pulumi preview``: the program, told so by ``BENCH_REFUSE=1``, gives one
  resource a bad CIDR, which Check refuses (ours: the allow-list validation; trivial: the
  same refusal spelled in its Check).

and prints the median, min and max of each, and the ratio ours / trivial pair by pair (the
median of the per-pair ratios, so a drift of the machine's speed cancels). Target:
ratio <= 1.2. The floor -- the trivial program's time -- is the CLI's own: engine start,
language host, program, one dynamic-provider process per command. docs/CLI_OVERHEAD.md says
where the time goes, and why a refusal sometimes waits 5 s more (the CLI's plugin kill).

Skips with one line when ``pulumi`` is not on ``PATH``. Run with ``make bench-cli`` or
``.venv/bin/python benchmarks/bench_cli.py [--runs 7] [--resources 10]``.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_vs_terraform import API_KEY, EmulatorProcess  # noqa: E402  (a sibling script's module)

PASSPHRASE = "bench-cli"
TARGET_RATIO = 1.2
COMMAND_TIMEOUT = 300.0
BAD_CIDR = "203.0.113.0/33"
REFUSE_VARIABLE = "BENCH_REFUSE"

KEY_VALUE_PROGRAM = f'''"""N KeyValue instances; BENCH_REFUSE=1 gives the first a bad CIDR."""

import os

import pulumi_render_kv as render_kv

COUNT = int(os.environ["BENCH_RESOURCES"])
REFUSE = os.environ.get("{REFUSE_VARIABLE}") == "1"

for i in range(COUNT):
    cidr = "{BAD_CIDR}" if REFUSE and i == 0 else "203.0.113.0/24"
    render_kv.KeyValue(
        f"kv{{i}}",
        name=f"bench-cli-{{i}}",
        region="oregon",
        plan="starter",
        maxmemory_policy="allkeys_lru",
        ip_allow_list=[render_kv.IpAllowEntry(cidr_block=cidr, description="office")],
    )
'''

TRIVIAL_PROGRAM = f'''"""N trivial dynamic resources, the same inputs; BENCH_REFUSE=1 as above."""

import os

from pulumi.dynamic import (
    CheckFailure,
    CheckResult,
    CreateResult,
    DiffResult,
    Resource,
    ResourceProvider,
)

COUNT = int(os.environ["BENCH_RESOURCES"])
REFUSE = os.environ.get("{REFUSE_VARIABLE}") == "1"


class TrivialProvider(ResourceProvider):
    def check(self, olds, news):
        bad = [
            CheckFailure("ipAllowList", f"{{e['cidrBlock']}} is not a CIDR block")
            for e in news.get("ipAllowList", [])
            if e["cidrBlock"].endswith("/33")
        ]
        return CheckResult(news, bad)

    def create(self, props):
        return CreateResult(props["name"], props)

    def diff(self, id, olds, news):
        keys = ("name", "region", "plan", "maxmemoryPolicy", "ipAllowList")
        return DiffResult(changes=any(olds.get(k) != news.get(k) for k in keys))


class Trivial(Resource):
    def __init__(self, name, props):
        super().__init__(TrivialProvider(), name, props)


for i in range(COUNT):
    cidr = "{BAD_CIDR}" if REFUSE and i == 0 else "203.0.113.0/24"
    Trivial(
        f"kv{{i}}",
        {{
            "name": f"bench-cli-{{i}}",
            "region": "oregon",
            "plan": "starter",
            "maxmemoryPolicy": "allkeys_lru",
            "ipAllowList": [{{"cidrBlock": cidr, "description": "office"}}],
        }},
    )
'''


@dataclass(frozen=True)
class Project:
    label: str
    directory: Path
    env: dict[str, str]

    def pulumi(self, *args: str, refuse: bool = False) -> tuple[int, float, str]:
        env = dict(self.env)
        if refuse:
            env[REFUSE_VARIABLE] = "1"
        start = time.monotonic()
        done = subprocess.run(
            ["pulumi", *args, "--non-interactive"],
            cwd=self.directory,
            env=env,
            capture_output=True,
            text=True,
            timeout=COMMAND_TIMEOUT,
            check=False,
        )
        return done.returncode, time.monotonic() - start, done.stdout + done.stderr


def make_project(
    label: str, program: str, work: Path, base_env: dict[str, str], resources: int
) -> Project:
    directory = work / label
    directory.mkdir(parents=True)
    (directory / "__main__.py").write_text(program)
    (directory / "Pulumi.yaml").write_text(
        f"name: bench-cli-{label}\nruntime:\n  name: python\n  options:\n"
        f"    toolchain: pip\n    virtualenv: {json.dumps(str(ROOT / '.venv'))}\n"
    )
    env = {**base_env, "BENCH_RESOURCES": str(resources)}
    project = Project(label, directory, env)
    for args in (("stack", "init", "bench"), ("up", "--yes", "--skip-preview")):
        code, _, output = project.pulumi(*args)
        if code != 0:
            raise RuntimeError(f"{label}: pulumi {' '.join(args)} failed:\n{output[-3000:]}")
    return project


@dataclass(frozen=True)
class Case:
    name: str
    expect_exit: int  # 0 for the no-op up, nonzero for the refusal
    run: Callable[[Project], tuple[int, float, str]]


CASES = (
    Case("no-op up", 0, lambda p: p.pulumi("up", "--yes")),
    Case("refused preview", 1, lambda p: p.pulumi("preview", refuse=True)),
)


def _checked(case: Case, project: Project) -> float:
    code, wall, output = case.run(project)
    if (code == 0) != (case.expect_exit == 0):
        raise RuntimeError(f"{project.label}, {case.name}: exit {code}:\n{output[-3000:]}")
    if case.expect_exit and "/33" not in output:
        raise RuntimeError(f"{project.label}, {case.name}: refused for another reason:\n{output}")
    return wall


def measure(
    case: Case, ours: Project, trivial: Project, runs: int
) -> tuple[list[float], list[float]]:
    """``runs`` pairs after one warm-up of each, the order alternating pair by pair."""
    _checked(case, ours)
    _checked(case, trivial)
    mine: list[float] = []
    floor: list[float] = []
    for i in range(runs):
        if i % 2 == 0:
            mine.append(_checked(case, ours))
            floor.append(_checked(case, trivial))
        else:
            floor.append(_checked(case, trivial))
            mine.append(_checked(case, ours))
    return mine, floor


def _spread(values: Sequence[float]) -> str:
    return f"{statistics.median(values):.2f} ({min(values):.2f}-{max(values):.2f})"


def table(rows: Sequence[tuple[str, list[float], list[float]]], runs: int, resources: int) -> str:
    lines = [
        f"pulumi CLI, {resources} resources, median (min-max) of {runs} alternating pairs, s",
        "",
        "| command | pulumi-render-kv | trivial dynamic provider | ratio (median of pairs) |"
        " target |",
        "|---|---|---|---|---|",
    ]
    for name, mine, floor in rows:
        ratio = statistics.median(m / f for m, f in zip(mine, floor, strict=True))
        verdict = "ok" if ratio <= TARGET_RATIO else "MISS"
        lines.append(
            f"| {name} | {_spread(mine)} | {_spread(floor)} | {ratio:.2f} |"
            f" <= {TARGET_RATIO} {verdict} |"
        )
    return "\n".join(lines)


def refresh_requests(emulator: EmulatorProcess, ours: Project, resources: int) -> str:
    """Requests per instance of a refresh, with and without the CLI's refresh preview."""
    lines = ["", "| refresh of our program | requests | per instance |", "|---|---|---|"]
    for args in (("refresh", "--yes"), ("refresh", "--yes", "--skip-preview")):
        start = emulator.log_length()
        code, _, output = ours.pulumi(*args)
        if code != 0:
            raise RuntimeError(f"pulumi {' '.join(args)} failed:\n{output[-3000:]}")
        count = emulator.log_length() - start
        lines.append(f"| `pulumi {' '.join(args)}` | {count} | {count / resources:g} |")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7, help="pairs per command (default 7)")
    parser.add_argument("--resources", type=int, default=10, help="resources per program")
    args = parser.parse_args(argv)
    if shutil.which("pulumi") is None:
        print("bench-cli: skipped, no `pulumi` on PATH")
        return 0
    emulator = EmulatorProcess(0.0)
    try:
        with tempfile.TemporaryDirectory(prefix="bench-cli-") as scratch:
            work = Path(scratch)
            (work / "backend").mkdir()
            base_env = {
                **{k: v for k, v in os.environ.items() if not k.startswith(("RENDER_", "PULUMI_"))},
                "PULUMI_BACKEND_URL": (work / "backend").as_uri(),
                "PULUMI_HOME": str(work / "pulumi-home"),
                "PULUMI_CONFIG_PASSPHRASE": PASSPHRASE,
                "PULUMI_SKIP_UPDATE_CHECK": "true",
                "PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION": "true",
                "RENDER_API_URL": emulator.url,
                "RENDER_API_KEY": API_KEY,
                "RENDER_OWNER_ID": emulator.owner_id,
                "RENDER_API_CLIENT_LIMITS": "off",
            }
            ours = make_project("render-kv", KEY_VALUE_PROGRAM, work, base_env, args.resources)
            trivial = make_project("trivial", TRIVIAL_PROGRAM, work, base_env, args.resources)
            rows = [(case.name, *measure(case, ours, trivial, args.runs)) for case in CASES]
            refreshes = refresh_requests(emulator, ours, args.resources)
    finally:
        emulator.close()
    print(table(rows, args.runs, args.resources))
    print(refreshes)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
