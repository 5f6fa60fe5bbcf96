"""The examples as programs: the quickstart under the engine harness, then the app stack.

The program runs through the SDK with mocks that forward each resource to the harness, so
the real provider creates real instances in the emulator; the app stack then reads the
quickstart's outputs through a StackReference. Also here: what the examples install (their
Pulumi.yaml and requirements.txt), the playground users edit instead of examples/, and
``make demo`` without the CLI.
"""

from __future__ import annotations

import os
import re
import runpy
import subprocess
import sys
from collections.abc import Callable, Iterator
from importlib.metadata import version
from pathlib import Path

import pytest
import redis
import yaml
from packaging.requirements import Requirement

from pulumi_render_kv.emulator import Emulator
from pulumi_render_kv.testing import Engine, ProviderServer, run_program

from .conftest import ROOT, provider_env

pytestmark = [pytest.mark.grpc, pytest.mark.dataplane]

EXAMPLES = ROOT / "examples"
QUICKSTART = EXAMPLES / "quickstart" / "__main__.py"
APP_STACK = EXAMPLES / "app-stack" / "__main__.py"
QUICKSTART_CONFIG = {"extraAllowedCidr": "127.0.0.1/32"}


def program_of(path: Path):  # type: ignore[no-untyped-def]
    return lambda: runpy.run_path(str(path), run_name="__main__")


def live_names(emu: Emulator) -> list[str]:
    return sorted(emu.backend.retrieve_key_value(i).name for i in emu.backend.instance_ids())


@pytest.fixture
def quickstart_server(emu: Emulator, tmp_path: Path) -> Iterator[ProviderServer]:
    with ProviderServer(
        cwd=ROOT,
        project="render-kv-quickstart",
        env=provider_env(emu),
        stderr_path=tmp_path / "stderr.log",
    ) as srv:
        yield srv


@pytest.fixture
def quickstart_stack(quickstart_server: ProviderServer) -> Iterator[Callable[[str], Engine]]:
    """Engines for stacks of the quickstart, all destroyed at the end."""
    engines: list[Engine] = []

    def stack(name: str) -> Engine:
        engine = Engine(quickstart_server, stack=name, config=QUICKSTART_CONFIG)
        engines.append(engine)
        return engine

    yield stack
    for engine in engines:
        engine.destroy()


@pytest.fixture
def quickstart_engine(quickstart_stack: Callable[[str], Engine]) -> Engine:
    return quickstart_stack("dev")


def test_quickstart_preview_then_up_then_no_diff(quickstart_engine: Engine, emu: Emulator) -> None:
    """Preview plans two creates; up exports secret URLs that connect; a re-run is a no-op."""
    preview = run_program(program_of(QUICKSTART), quickstart_engine, preview=True)
    assert preview.plan.ops == {"cache": "create", "jobs": "create"}
    assert emu.request_counts() == {}

    result = run_program(program_of(QUICKSTART), quickstart_engine, preview=False)
    # Named after the stack, as the README asks of instances that share a workspace.
    assert live_names(emu) == ["dev-cache", "dev-jobs"]
    outputs = result.outputs
    assert {"REDIS_URL", "QUEUE_URL", "QUEUE_EXTERNAL_URL"} <= result.secret_outputs
    assert "REDIS_HOST" not in result.secret_outputs
    with redis.Redis.from_url(outputs["REDIS_URL"]) as cache:
        assert cache.ping()
        assert cache.config_get("maxmemory-policy")["maxmemory-policy"] == "allkeys-lru"
    with redis.Redis.from_url(outputs["QUEUE_URL"]) as queue:
        assert queue.config_get("maxmemory-policy")["maxmemory-policy"] == "noeviction"
        assert queue.config_get("appendonly")["appendonly"] == "yes"
    # The queue's external TLS endpoint admits this machine through the extra CIDR.
    with redis.Redis.from_url(
        outputs["QUEUE_EXTERNAL_URL"], ssl_ca_certs=str(emu.ca_cert_path)
    ) as ext:
        assert ext.ping()

    again = run_program(program_of(QUICKSTART), quickstart_engine, preview=False)
    assert again.plan.ops == {"cache": "same", "jobs": "same"}


def test_two_stacks_of_the_quickstart_share_a_workspace(
    quickstart_stack: Callable[[str], Engine], emu: Emulator
) -> None:
    """A second stack's create finds no instance of its names: no NameTaken, no twin."""
    dev = run_program(program_of(QUICKSTART), quickstart_stack("dev"), preview=False)
    staging = run_program(program_of(QUICKSTART), quickstart_stack("staging"), preview=False)
    assert live_names(emu) == ["dev-cache", "dev-jobs", "staging-cache", "staging-jobs"]
    assert dev.outputs["REDIS_URL"] != staging.outputs["REDIS_URL"]


def test_app_stack_reads_outputs_through_a_stack_reference(
    quickstart_stack: Callable[[str], Engine], server: ProviderServer
) -> None:
    """The app stack sees its own stack's quickstart URLs, and they stay secret there too."""
    infra = run_program(program_of(QUICKSTART), quickstart_stack("staging"), preview=False)
    app_engine = Engine(server, stack="staging")
    app = run_program(
        program_of(APP_STACK),
        app_engine,
        preview=False,
        project=server.project,
        # No infraStack config: the app stack reads the quickstart stack of its own name.
        stack_references={"organization/render-kv-quickstart/staging": infra},
    )
    assert app.outputs["app_environment"] == {
        "REDIS_URL": infra.outputs["REDIS_URL"],
        "CELERY_BROKER_URL": infra.outputs["QUEUE_URL"],
    }
    assert "app_environment" in app.secret_outputs
    host, port = infra.outputs["REDIS_HOST"], infra.outputs["REDIS_PORT"]
    assert port == int(port)
    assert app.outputs["cache_endpoint"] == f"{host}:{int(port)}"
    with redis.Redis.from_url(f"redis://{app.outputs['cache_endpoint']}") as direct:
        assert direct.ping()


def test_app_stack_without_infra_outputs_says_which_stack_and_what_to_run(
    server: ProviderServer,
) -> None:
    """No bare KeyError: the error names the stack, the output and the command."""
    app_engine = Engine(server, stack="staging")
    with pytest.raises(RuntimeError) as caught:  # the program's own error
        run_program(
            program_of(APP_STACK),
            app_engine,
            preview=True,
            project=server.project,
            stack_references={"organization/render-kv-quickstart/staging": {}},
        )
    message = str(caught.value)
    assert "stack 'organization/render-kv-quickstart/staging' has no output" in message
    assert "run `pulumi up` in the quickstart project on stack 'staging' first" in message


def test_the_readme_harness_example_runs_as_written(monkeypatch: pytest.MonkeyPatch) -> None:
    """The README's `pulumi_render_kv.testing` example is runnable, not a sketch."""
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## Testing with and without the Pulumi CLI", 1)[1]
    code = section.split("```python\n", 1)[1].split("```", 1)[0]
    monkeypatch.chdir(ROOT)
    exec(compile(code, "README.md", "exec"), {"__name__": "readme_example"})


def requirements(folder: Path) -> list[Requirement | Path]:
    """requirements.txt as pip reads it from ``folder`` (where the Pulumi CLI runs pip)."""
    found: list[Requirement | Path] = []
    for raw in (folder / "requirements.txt").read_text().splitlines():
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        if line.startswith((".", "/")):
            found.append((folder / line).resolve())
        else:
            found.append(Requirement(line))
    return found


@pytest.mark.parametrize("example", ["quickstart", "app-stack"])
def test_each_example_names_its_virtualenv_and_what_goes_in_it(example: str) -> None:
    """The Pulumi CLI creates the virtualenv Pulumi.yaml names and fills it from
    requirements.txt; the program must find everything it imports there."""
    folder = EXAMPLES / example
    options = yaml.safe_load((folder / "Pulumi.yaml").read_text())["runtime"]["options"]
    assert options["toolchain"] == "pip"
    # Its own virtualenv, inside the project: what a copy of the folder keeps working with.
    venv = (folder / options["virtualenv"]).resolve()
    assert venv.parent == folder.resolve()
    wanted = requirements(folder)
    [pulumi_req] = [r for r in wanted if isinstance(r, Requirement) and r.name == "pulumi"]
    assert pulumi_req.specifier.contains(version("pulumi"))
    imports = set(re.findall(r"^import (\w+)", (folder / "__main__.py").read_text(), re.M))
    if "pulumi_render_kv" in imports:
        # pulumi-render-kv is on no index: the example installs it from this checkout.
        assert ROOT.resolve() in wanted
    assert imports <= {"pulumi", "pulumi_render_kv"}


def test_the_playground_is_a_copy_users_edit_instead_of_examples(tmp_path: Path) -> None:
    """`make playground`: the examples in a folder of the user's own, with a Pulumi.yaml that
    runs them in this checkout's virtualenv; an existing folder is never overwritten."""
    where = tmp_path / "play"
    done = subprocess.run(
        [sys.executable, "-m", "pulumi_render_kv.demo", "playground", str(where)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    for example, name in (
        ("quickstart", "render-kv-quickstart"),
        ("app-stack", "render-kv-app-stack"),
    ):
        project = yaml.safe_load((where / example / "Pulumi.yaml").read_text())
        assert project["name"] == name
        assert Path(project["runtime"]["options"]["virtualenv"]) == Path(sys.prefix)
        assert (where / example / "__main__.py").read_text() == (
            EXAMPLES / example / "__main__.py"
        ).read_text()
    assert (where / ".pulumi-state").is_dir()
    assert f"cd {where / 'quickstart'}" in done.stdout, "it says what to run next"

    (where / "quickstart" / "__main__.py").write_text("# my edit\n")
    again = subprocess.run(
        [sys.executable, "-m", "pulumi_render_kv.demo", "playground", str(where)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert again.returncode != 0
    assert str(where) in again.stderr
    assert (where / "quickstart" / "__main__.py").read_text() == "# my edit\n"


def sections(output: str) -> dict[str, str]:
    """The demo's output, by its `=== ...` headers."""
    parts = re.split(r"^=== (.*)$", output, flags=re.M)
    return {header: body.strip() for header, body in zip(parts[1::2], parts[2::2], strict=True)}


def run_demo(path: str, tmp_path: Path) -> dict[str, str]:
    done = subprocess.run(
        [sys.executable, "-m", "pulumi_render_kv.demo"],
        cwd=tmp_path,
        env={**os.environ, "PATH": path},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,  # the CLI says some things on stderr: as a terminal shows it
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stdout
    assert "redis://" not in done.stdout, "no connection string (a secret) is printed"
    assert "rediss://" not in done.stdout
    shown = sections(done.stdout)
    empty = [header for header, body in shown.items() if not body]
    assert not empty, f"headers with nothing under them: {empty}\n{done.stdout}"
    return shown


def test_the_demo_without_the_cli_shows_what_each_step_did(tmp_path: Path) -> None:
    """`make demo` on a machine with no `pulumi`: the harness branch."""
    without_cli = os.pathsep.join(
        d for d in os.environ["PATH"].split(os.pathsep) if not (Path(d) / "pulumi").exists()
    )
    shown = run_demo(without_cli, tmp_path)
    [outputs] = [body for header, body in shown.items() if header.startswith("pulumi stack output")]
    assert "REDIS_HOST" in outputs
    assert "[secret]" in outputs
    [destroy] = [body for header, body in shown.items() if header.startswith("pulumi destroy")]
    assert "not deleted" not in destroy
    [done] = [header for header in shown if header.startswith("done:")]
    assert "'DELETE': 2" in done, "the destroy deleted both instances"
