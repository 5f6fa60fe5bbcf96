"""Issue 16's side-by-side run: one job, Render's Terraform provider and pulumi-render-kv.

Each tool runs the same job against a fresh emulator (a ``python -m pulumi_render_kv.emulator``
process with create and restart delay D, Render's rate limits with the create limit raised for
the job's 11 creates): create 1 instance, destroy it, create 10, a no-op apply, a policy change
and a plan upgrade of one instance, a refresh, three changes that must be refused (a plan
downgrade, a bad CIDR, a policy typo), and destroy. Per operation it records the wall time,
the requests by method and path (the emulator's request log, ``GET /_emulator/requests``), the
status of every instance when the command returned, and the seconds from then until every
instance answers ``PING`` on its internal URL -- the emulator's data plane takes no connection
until an instance is ``available``, so that is when a user can use it.

What it needs, each found or the tool reported as not run:

- ``terraform`` and/or ``tofu`` on ``PATH``;
- Render's provider ``terraform-provider-render``: a filesystem mirror named by
  ``RENDER_TF_PROVIDER_MIRROR`` (a directory holding
  ``registry.terraform.io/render-oss/render/<version>/linux_amd64/terraform-provider-render_v<version>``)
  or the binary on ``PATH`` (then used as a dev override). The provider is not on the Go module
  proxy; build it yourself from its sources, out of this tree;
- for pulumi-render-kv, the ``pulumi`` CLI (with its ``pulumi-language-python``) on ``PATH``;
  the program runs in a temp dir with this checkout's ``.venv``, a file backend and a passphrase.

Without Terraform/OpenTofu or Render's provider it prints one line and exits 0. Otherwise it
prints the table and writes ``docs/COMPARISON.md`` (``--no-doc``: print only). Timings are from
one run on a shared machine: read them as orders of magnitude and ratios, not to the 0.1 s.

Run with ``make bench-vs-terraform`` or
``RENDER_TF_PROVIDER_MIRROR=/path/to/mirror .venv/bin/python benchmarks/bench_vs_terraform.py``.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

import httpx
from _comparison import (
    MEASUREMENT_HEADERS,
    Measurement,
    Operation,
    ToolRun,
    face_off_headers,
    face_off_rows,
    first_error,
    measurement_rows,
    render_document,
    summarise_requests,
    text_table,
)

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "COMPARISON.md"
MIRROR_VARIABLE = "RENDER_TF_PROVIDER_MIRROR"
PROVIDER_SOURCE = "registry.terraform.io/render-oss/render"
PROVIDER_BINARY = "terraform-provider-render"
API_KEY = "rnd_benchVsTerraform0123456789abcd"
PASSPHRASE = "bench-vs-terraform"
DEFAULT_DELAY = 10.0
# Render's documented limits, creates raised so that the job's 11 creates run in one go.
EMULATOR_LIMITS = (
    "--get-per-minute",
    "400",
    "--write-per-minute",
    "30",
    "--create-per-hour",
    "100",
)
PULUMI_CLIENT_LIMITS = "get=400/m,write=30/m,create=100/h"  # the client paces as for Render
COMMAND_TIMEOUT = 900.0
PING_POLL = 0.05


# --- the job ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Instance:
    """One instance of the job's configuration, in the terms both tools take."""

    key: str  # resource name in the program / HCL
    plan: str = "starter"
    policy: str = "allkeys_lru"
    allow: tuple[tuple[str, str], ...] = (("203.0.113.0/24", "office"),)

    @property
    def name(self) -> str:
        return f"bench-{self.key}"


@dataclass(frozen=True)
class Step:
    operation: Operation
    command: str  # "apply" | "refresh" | "destroy"
    spec: tuple[Instance, ...]


def job() -> list[Step]:
    one = (Instance("kv0"),)
    ten = tuple(Instance(f"kv{i}") for i in range(1, 11))
    first, rest = ten[0], ten[1:]
    policy = (replace(first, policy="noeviction"), *rest)
    upgraded = (replace(first, policy="noeviction", plan="standard"), *rest)
    return [
        Step(Operation("create 1"), "apply", one),
        Step(Operation("destroy 1", probes_ping=False), "destroy", one),
        Step(Operation("create 10"), "apply", ten),
        Step(Operation("no-op apply (10)"), "apply", ten),
        Step(Operation("policy change (1 of 10)"), "apply", policy),
        Step(Operation("plan upgrade (1 of 10)"), "apply", upgraded),
        Step(Operation("refresh (10)"), "refresh", upgraded),
        Step(
            Operation("refused downgrade", expect_success=False),
            "apply",
            (replace(upgraded[0], plan="starter"), *rest),
        ),
        Step(
            Operation("bad CIDR", expect_success=False),
            "apply",
            (replace(upgraded[0], allow=(("203.0.113.0/33", "office"),)), *rest),
        ),
        Step(
            Operation("policy typo", expect_success=False),
            "apply",
            (replace(upgraded[0], policy="allkeys_lruu"), *rest),
        ),
        Step(Operation("destroy (10)", probes_ping=False), "destroy", upgraded),
    ]


# --- the emulator ----------------------------------------------------------------------------


class EmulatorProcess:
    """A fresh ``python -m pulumi_render_kv.emulator`` with delay D; stopped by ``close()``."""

    def __init__(self, delay: float) -> None:
        command = [
            sys.executable,
            "-m",
            "pulumi_render_kv.emulator",
            "--api-key",
            API_KEY,
            "--create-delay",
            str(delay),
            "--restart-delay",
            str(delay),
            *EMULATOR_LIMITS,
        ]
        self.process = subprocess.Popen(
            command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, cwd=ROOT
        )
        assert self.process.stdout is not None
        line = self.process.stdout.readline().strip()
        if not line.startswith("RENDER_API_URL="):
            self.close()
            raise RuntimeError(f"the emulator did not start (said {line!r})")
        self.url = line.removeprefix("RENDER_API_URL=")  # http://127.0.0.1:PORT/v1
        self.control = self.url.removesuffix("/v1") + "/_emulator"
        self.http = httpx.Client(headers={"Authorization": f"Bearer {API_KEY}"}, timeout=30)
        self.owner_id = self.http.get(f"{self.url}/owners").json()[0]["owner"]["id"]
        self._connection: dict[str, tuple[str, int]] = {}

    def log_length(self) -> int:
        return len(self.requests())

    def requests(self) -> list[dict[str, Any]]:
        entries: list[dict[str, Any]] = self.http.get(f"{self.control}/requests").json()["requests"]
        return entries

    def instances(self) -> list[tuple[str, str]]:
        """(id, status) of every instance: the bench's own reads, after the tool's slice."""
        body = self.http.get(f"{self.url}/key-value", params={"limit": 100}).json()
        return [(row["keyValue"]["id"], row["keyValue"]["status"]) for row in body]

    def internal_address(self, instance_id: str) -> tuple[str, int]:
        if instance_id not in self._connection:
            info = self.http.get(f"{self.url}/key-value/{instance_id}/connection-info").json()
            host_port = info["internalConnectionString"].removeprefix("redis://")
            host, _, port = host_port.rpartition(":")
            self._connection[instance_id] = (host.strip("[]"), int(port))
        return self._connection[instance_id]

    def close(self) -> None:
        with contextlib.suppress(AttributeError):
            self.http.close()
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self.process.stdout is not None:
            self.process.stdout.close()


def answers_ping(address: tuple[str, int]) -> bool:
    """A new connection that gets ``+PONG``; a refused or dropped one is False."""
    try:
        with socket.create_connection(address, timeout=2) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(64).startswith(b"+PONG")
    except OSError:
        return False


def seconds_until_ping(
    emulator: EmulatorProcess, ids: Sequence[str], start: float, deadline_s: float
) -> float:
    """From ``start`` (monotonic) until every instance in ``ids`` has answered PING once."""
    waiting = {instance_id: emulator.internal_address(instance_id) for instance_id in ids}
    while waiting:
        for instance_id, address in list(waiting.items()):
            if answers_ping(address):
                del waiting[instance_id]
        if not waiting:
            break
        if time.monotonic() - start > deadline_s:
            raise RuntimeError(f"{sorted(waiting)} never answered PING in {deadline_s:.0f} s")
        time.sleep(PING_POLL)
    return time.monotonic() - start


# --- the tools -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Outcome:
    exit_code: int
    wall_s: float
    refused_at: str
    error: str  # the first error line, for a failed command


class Driver(Protocol):
    name: str
    version: str

    def prepare(self, emulator: EmulatorProcess) -> None: ...
    def run(self, step: Step) -> Outcome: ...


def _timed(command: Sequence[str], cwd: Path, env: dict[str, str]) -> tuple[int, float, str]:
    start = time.monotonic()
    done = subprocess.run(
        command,
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=COMMAND_TIMEOUT,
        check=False,
    )
    return done.returncode, time.monotonic() - start, done.stdout + done.stderr


def _clean_env() -> dict[str, str]:
    prefixes = ("RENDER_", "PULUMI_", "TF_")
    return {k: v for k, v in os.environ.items() if not k.startswith(prefixes)}


@dataclass(frozen=True)
class ProviderSource:
    """Where Render's provider comes from: a filesystem mirror, or a binary on PATH."""

    mirror: Path | None
    binary_dir: Path | None
    version: str

    def cli_config(self) -> str:
        if self.mirror is not None:
            return (
                "provider_installation {\n"
                f"  filesystem_mirror {{\n    path    = {json.dumps(str(self.mirror))}\n"
                f'    include = ["{PROVIDER_SOURCE}"]\n  }}\n}}\n'
            )
        return (
            "provider_installation {\n"
            f'  dev_overrides {{\n    "{PROVIDER_SOURCE}" = {json.dumps(str(self.binary_dir))}\n'
            "  }\n  direct {}\n}\n"
        )


def find_render_provider() -> ProviderSource | None:
    """The mirror named by ``RENDER_TF_PROVIDER_MIRROR`` (newest version), else the PATH binary."""
    mirror = os.environ.get(MIRROR_VARIABLE)
    if mirror:
        platform_dir = f"{platform.system().lower()}_{_arch()}"
        versions = Path(mirror) / PROVIDER_SOURCE
        found = sorted(
            (
                v.name
                for v in versions.glob("*")
                if (v / platform_dir / f"{PROVIDER_BINARY}_v{v.name}").is_file()
            ),
            key=_version_key,
        )
        if found:
            return ProviderSource(Path(mirror).resolve(), None, found[-1])
    binary = shutil.which(PROVIDER_BINARY)
    if binary:
        return ProviderSource(None, Path(binary).resolve().parent, "on PATH")
    return None


def _arch() -> str:
    machine = platform.machine().lower()
    return {"x86_64": "amd64", "aarch64": "arm64"}.get(machine, machine)


def _version_key(text: str) -> tuple[int, ...]:
    return tuple(int(part) for part in re.findall(r"\d+", text))


def hcl(spec: Sequence[Instance], version: str | None) -> str:
    """``main.tf`` for the job's instances (``render_keyvalue``, the provider's resource)."""
    constraint = f', version = "{version}"' if version and version[0].isdigit() else ""
    lines = [
        "terraform {",
        "  required_providers {",
        f'    render = {{ source = "render-oss/render"{constraint} }}',
        "  }",
        "}",
        "",
        'provider "render" {}',
    ]
    for instance in spec:
        allow = ", ".join(
            f"{{ cidr_block = {json.dumps(c)}, description = {json.dumps(d)} }}"
            for c, d in instance.allow
        )
        lines += [
            "",
            f'resource "render_keyvalue" "{instance.key}" {{',
            f"  name              = {json.dumps(instance.name)}",
            '  region            = "oregon"',
            f"  plan              = {json.dumps(instance.plan)}",
            f"  max_memory_policy = {json.dumps(instance.policy)}",
            f"  ip_allow_list     = [{allow}]",
            "}",
        ]
    return "\n".join(lines) + "\n"


class TerraformDriver:
    """``terraform``/``tofu`` with Render's provider; one working directory per run."""

    def __init__(self, binary: str, provider: ProviderSource, work: Path) -> None:
        self.binary = binary
        self.name = Path(binary).name
        self.provider = provider
        self.work = work
        self.version = _tool_version([binary, "version"])
        self.env: dict[str, str] = {}

    def prepare(self, emulator: EmulatorProcess) -> None:
        self.work.mkdir(parents=True, exist_ok=True)
        rc = self.work / "cli.tfrc"
        rc.write_text(self.provider.cli_config())
        self.env = {
            **_clean_env(),
            "TF_CLI_CONFIG_FILE": str(rc),
            "TF_IN_AUTOMATION": "1",
            "CHECKPOINT_DISABLE": "1",
            "RENDER_HOST": emulator.url,  # the provider's base URL, /v1 included
            "RENDER_API_KEY": API_KEY,
            "RENDER_OWNER_ID": emulator.owner_id,
        }
        (self.work / "main.tf").write_text(hcl((), self._pinned()))
        if self.provider.mirror is not None:  # dev overrides need (and want) no init
            code, _, output = _timed(
                [self.binary, "init", "-input=false", "-no-color"], self.work, self.env
            )
            if code != 0:
                raise RuntimeError(f"{self.name} init failed: {output[-2000:]}")

    def _pinned(self) -> str | None:
        return self.provider.version if self.provider.mirror is not None else None

    def run(self, step: Step) -> Outcome:
        flags = ["-auto-approve", "-input=false", "-no-color"]
        # Destroy and refresh validate the configuration too: each step writes its own.
        (self.work / "main.tf").write_text(hcl(step.spec, self._pinned()))
        if step.command == "destroy":
            args = ["destroy", *flags]
        elif step.command == "refresh":
            args = ["apply", "-refresh-only", *flags]
        else:
            args = ["apply", *flags]
        code, wall, output = _timed([self.binary, *args], self.work, self.env)
        # A plan that failed shows no "Plan:" line; a failed apply has made its plan first.
        refused_at = "" if code == 0 else ("apply" if "Plan:" in output else "plan")
        return Outcome(code, wall, refused_at, first_error(output) if code else "")


PULUMI_PROGRAM = '''"""The side-by-side job's program: the instances spec.json lists."""

import json
from pathlib import Path

import pulumi_render_kv as render_kv

for item in json.loads((Path(__file__).parent / "spec.json").read_text()):
    render_kv.KeyValue(
        item["key"],
        name=item["name"],
        region="oregon",
        plan=item["plan"],
        maxmemory_policy=item["policy"],
        ip_allow_list=[
            render_kv.IpAllowEntry(cidr_block=cidr, description=description)
            for cidr, description in item["allow"]
        ],
    )
'''


class PulumiDriver:
    """The real ``pulumi`` CLI running a Python program with this checkout's virtualenv."""

    name = "pulumi-render-kv"

    def __init__(self, binary: str, work: Path) -> None:
        self.binary = binary
        self.work = work
        self.version = f"pulumi {_tool_version([binary, 'version'])}"
        self.env: dict[str, str] = {}

    def prepare(self, emulator: EmulatorProcess) -> None:
        project = self.work / "project"
        backend = self.work / "backend"
        project.mkdir(parents=True, exist_ok=True)
        backend.mkdir(exist_ok=True)
        (project / "__main__.py").write_text(PULUMI_PROGRAM)
        (project / "spec.json").write_text("[]")
        (project / "Pulumi.yaml").write_text(
            "name: bench-vs-terraform\nruntime:\n  name: python\n  options:\n"
            f"    toolchain: pip\n    virtualenv: {json.dumps(str(ROOT / '.venv'))}\n"
        )
        self.env = {
            **_clean_env(),
            "PULUMI_BACKEND_URL": backend.as_uri(),
            "PULUMI_HOME": str(self.work / "pulumi-home"),
            "PULUMI_CONFIG_PASSPHRASE": PASSPHRASE,
            "PULUMI_SKIP_UPDATE_CHECK": "true",
            "PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION": "true",
            "RENDER_API_URL": emulator.url,
            "RENDER_API_KEY": API_KEY,
            "RENDER_OWNER_ID": emulator.owner_id,
            "RENDER_API_CLIENT_LIMITS": PULUMI_CLIENT_LIMITS,
        }
        code, _, output = self._pulumi("stack", "init", "bench")
        if code != 0:
            raise RuntimeError(f"pulumi stack init failed: {output[-2000:]}")

    def _pulumi(self, *args: str) -> tuple[int, float, str]:
        command = [self.binary, *args, "--non-interactive"]
        return _timed(command, self.work / "project", self.env)

    def run(self, step: Step) -> Outcome:
        if step.command == "destroy":
            code, wall, output = self._pulumi("destroy", "--yes")
        elif step.command == "refresh":
            # Without --skip-preview the CLI Reads every resource twice, once for the preview
            # and again for the refresh itself (6 requests an instance, not 3); Terraform's
            # `apply -refresh-only -auto-approve` reads once and saves what its plan read.
            code, wall, output = self._pulumi("refresh", "--yes", "--skip-preview")
        else:
            spec = [
                {"key": i.key, "name": i.name, "plan": i.plan, "policy": i.policy, "allow": i.allow}
                for i in step.spec
            ]
            (self.work / "project" / "spec.json").write_text(json.dumps(spec))
            code, wall, output = self._pulumi("up", "--yes")
        # `up` previews first; "Updating (" starts the update proper.
        refused_at = "" if code == 0 else ("update" if "Updating (" in output else "preview")
        return Outcome(code, wall, refused_at, first_error(output) if code else "")


def _tool_version(command: Sequence[str]) -> str:
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=60, check=False)
    except OSError:
        return "?"
    first = (done.stdout or done.stderr).strip().splitlines()
    return first[0] if first else "?"


def pulumi_problem(binary: str | None) -> str:
    """Why the Pulumi CLI cannot run the Python program (empty: it can)."""
    if binary is None:
        return "`pulumi` is not on PATH"
    beside = Path(binary).resolve().parent / "pulumi-language-python"
    if not beside.exists() and shutil.which("pulumi-language-python") is None:
        return "`pulumi` has no `pulumi-language-python` beside it or on PATH"
    if not (ROOT / ".venv" / "bin" / "python").exists():
        return "no .venv in this checkout (`make venv`)"
    return ""


# --- running ---------------------------------------------------------------------------------


def run_tool(driver: Driver, delay: float, log: Path) -> ToolRun:
    """Every step of the job with one tool, against its own fresh emulator."""
    run = ToolRun(driver.name, driver.version)
    emulator = EmulatorProcess(delay)
    try:
        driver.prepare(emulator)
        for step in job():
            _progress(f"{driver.name}: {step.operation.label}")
            before = emulator.log_length()
            outcome = driver.run(step)
            returned_at = time.monotonic()
            returned = emulator.requests()[before:]
            instances = emulator.instances()  # the bench's own reads, after the slice
            ping: float | None = None
            if step.operation.probes_ping and instances:
                ids = [instance_id for instance_id, _ in instances]
                ping = seconds_until_ping(emulator, ids, returned_at, 6 * delay + 120)
            note = outcome.error
            if outcome.exit_code != 0 and step.operation.expect_success:
                with log.open("a") as stream:
                    stream.write(f"{driver.name} {step.operation.label}: {outcome.error}\n")
            run.measurements.append(
                Measurement(
                    tool=driver.name,
                    operation=step.operation,
                    wall_s=outcome.wall_s,
                    exit_code=outcome.exit_code,
                    requests=summarise_requests(returned),
                    statuses=tuple(status for _, status in instances),
                    ping_s=ping,
                    refused_at=outcome.refused_at,
                    note=note,
                )
            )
    finally:
        emulator.close()
    return run


def _progress(message: str) -> None:
    print(f"[{datetime.now(UTC):%H:%M:%S}] {message}", flush=True)


@contextlib.contextmanager
def _scratch() -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix="bench-vs-terraform-") as directory:
        yield Path(directory)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--delay", type=float, default=DEFAULT_DELAY, help="create/restart delay D")
    parser.add_argument("--no-doc", action="store_true", help="print only; leave docs/ alone")
    args = parser.parse_args(argv)

    iac = [path for name in ("terraform", "tofu") if (path := shutil.which(name))]
    provider = find_render_provider()
    if not iac or provider is None:
        missing = (
            "terraform or tofu" if not iac else f"{PROVIDER_BINARY} (${MIRROR_VARIABLE} or PATH)"
        )
        print(f"bench_vs_terraform: skipped: no {missing} found")
        return 0

    pulumi = shutil.which("pulumi")
    started = time.monotonic()
    runs: list[ToolRun] = []
    with _scratch() as scratch:
        failures = scratch / "failures.log"
        for binary in iac:
            runs.append(
                run_tool(
                    TerraformDriver(binary, provider, scratch / Path(binary).name),
                    args.delay,
                    failures,
                )
            )
        if not shutil.which("tofu"):
            runs.append(ToolRun("tofu", "", skipped="`tofu` is not on PATH"))
        problem = pulumi_problem(pulumi)
        if problem:
            runs.append(ToolRun(PulumiDriver.name, "", skipped=problem))
        else:
            assert pulumi is not None
            runs.append(run_tool(PulumiDriver(pulumi, scratch / "pulumi"), args.delay, failures))
        failed = failures.read_text() if failures.exists() else ""
    total = time.monotonic() - started

    baseline = runs[0].tool
    challenger = (
        PulumiDriver.name
        if any(r.tool == PulumiDriver.name and not r.skipped for r in runs)
        else None
    )
    print()
    print(f"bench_vs_terraform: D = {args.delay:g} s; run took {total:.0f} s")
    ran = [r for r in runs if not r.skipped]
    print(text_table(MEASUREMENT_HEADERS, measurement_rows(ran)))
    if challenger:
        print()
        print(
            text_table(
                face_off_headers(baseline, challenger), face_off_rows(runs, baseline, challenger)
            )
        )
    for run in runs:
        if run.skipped:
            print(f"{run.tool}: not run: {run.skipped}")
    if failed:
        print(f"\nunexpected failures:\n{failed}", file=sys.stderr)
    if not args.no_doc:
        DOC.write_text(
            _document(
                runs,
                delay=args.delay,
                provider=provider,
                total=total,
                baseline=baseline,
                challenger=challenger,
            )
        )
        print(f"\nwrote {DOC.relative_to(ROOT)}")
    return 1 if failed else 0


def _document(
    runs: Sequence[ToolRun],
    *,
    delay: float,
    provider: ProviderSource,
    total: float,
    baseline: str,
    challenger: str | None,
) -> str:
    versions = [f"{run.tool}: {run.version}" for run in runs if not run.skipped]
    source = (
        f"Render's provider {provider.version} from a filesystem mirror (`${MIRROR_VARIABLE}`)"
        if provider.mirror is not None
        else "Render's provider from `terraform-provider-render` on PATH (a dev override)"
    )
    setup = [
        f"Create and restart delay D = {delay:g} s (`python -m pulumi_render_kv.emulator "
        f"--create-delay {delay:g} --restart-delay {delay:g} {' '.join(EMULATOR_LIMITS)}`), "
        "a fresh emulator per tool.",
        f"{source}; {'; '.join(versions)}.",
        "Render's rate limits (GET 400/min, writes 30/min), creates raised to 100/hour for the "
        f"job's 11 creates; pulumi-render-kv's client told the same (`{PULUMI_CLIENT_LIMITS}`).",
        "Terraform: `apply -auto-approve` (plan included), `apply -refresh-only`, `destroy`; "
        "pulumi-render-kv: `pulumi up --yes` (preview included), `refresh --yes --skip-preview` "
        "(without it the CLI reads every instance twice: once to preview, once to refresh), "
        "`destroy --yes`, a Python program in a temp dir with this checkout's `.venv` and a "
        "file backend.",
        f"One run on {platform.system()} {platform.machine()}, {os.cpu_count()} CPUs shared "
        f"with other work, on {datetime.now(UTC):%Y-%m-%d}; it took {total:.0f} s.",
    ]
    preamble = [
        "The same job, run by each tool against its own fresh emulator: create 1 instance, "
        "destroy it, create 10, a no-op apply, a policy change and a plan upgrade of one of "
        "them, a refresh, three changes that must be refused (plan downgrade, bad CIDR, "
        "policy typo), destroy. Regenerate with `make bench-vs-terraform` "
        f"(`{MIRROR_VARIABLE}` names the provider's mirror).",
    ]
    return render_document(
        runs, preamble=preamble, setup=setup, baseline=baseline, challenger=challenger
    )


if __name__ == "__main__":
    sys.exit(main())
