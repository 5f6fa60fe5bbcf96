"""The real provider (``render-kv``) under the real Pulumi CLI: the YAML and TypeScript
examples preview, up, ``preview --expect-no-changes``, refresh, import and destroy against
the emulator, with per-property diffs and warnings shown on the resource.

Each project gets a provider folder prepared by ``render-kv-provider`` (as a user makes it),
so the CLI launches ``<folder>/venv/bin/python <folder>`` through its Python language host.
The TypeScript test needs ``npm`` and the npm registry (``@pulumi/pulumi``).
"""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path

import httpx
import pytest

from pulumi_render_kv.emulator import Emulator, EmulatorSettings, RateLimitSettings
from pulumi_render_kv.native.plugin import prepare

from .conftest import PULUMI, ROOT, Cli

if PULUMI is None:
    pytest.skip(
        "no `pulumi` CLI on PATH: tests/cli runs where the Pulumi CLI is installed",
        allow_module_level=True,
    )

EXAMPLES = ROOT / "examples"
KV = "render-kv:index:KeyValue"


def _copy(example: str, cli: Cli) -> Path:
    where = cli.scratch / example
    ignore = shutil.ignore_patterns("provider", "node_modules", "sdks", "bin", "package-lock.json")
    shutil.copytree(EXAMPLES / example, where, ignore=ignore)
    prepare(where / "provider")
    cli.run("stack", "init", "dev", cwd=where)
    return where


def _instances(emu: Emulator) -> dict[str, str]:
    with httpx.Client() as http:
        listed = http.get(
            f"{emu.url}/key-value", headers={"Authorization": "Bearer rnd_any"}
        ).json()
    return {item["keyValue"]["name"]: item["keyValue"]["id"] for item in listed}


def _urn(project: str, name: str) -> str:
    return f"urn:pulumi:dev::{project}::{KV}::{name}"


def _lifecycle(cli: Cli, where: Path, project: str, import_out: str) -> str:
    """preview, up, no-op preview, refresh, import, destroy; the import's printed code."""
    preview = cli.run("preview", cwd=where)
    assert "+ 3 to create" in preview.stdout, preview.stdout
    assert cli.emu.request_counts() == {}, "a preview called Render"
    cli.run("up", "--yes", cwd=where)
    made = _instances(cli.emu)
    assert set(made) == {"cache", "jobs"}
    outputs = cli.outputs(where, "dev")
    assert outputs["cacheUrl"].startswith("redis://")
    cli.run("preview", "--expect-no-changes", cwd=where)
    cli.run("refresh", "--yes", cwd=where)
    cli.run("preview", "--expect-no-changes", cwd=where)
    # Out of state, then back with `pulumi import`: what it prints previews as no change.
    cli.run("state", "delete", _urn(project, "cache"), "--yes", cwd=where)
    out = where / import_out
    cli.run("import", KV, "cache", made["cache"], "--yes", "--out", str(out), cwd=where)
    imported = json.dumps(cli.export(where, "dev"))
    assert made["cache"] in imported
    cli.run("state", "unprotect", "--all", "--yes", cwd=where)
    cli.run("up", "--yes", cwd=where)  # the program's own declaration again
    cli.run("preview", "--expect-no-changes", cwd=where)
    assert _instances(cli.emu) == made, "import or up created or lost an instance"
    cli.run("destroy", "--yes", cwd=where)
    assert _instances(cli.emu) == {}
    return out.read_text()


def test_the_yaml_example_through_every_lifecycle(cli: Cli) -> None:
    where = _copy("native-yaml", cli)
    code = _lifecycle(cli, where, "render-kv-blueprint", "imported.yaml")
    assert "maxmemoryPolicy: allkeys_lru" in code
    assert "cidrBlock: 203.0.113.0/24" in code


def test_yaml_diffs_per_property_with_the_warnings_on_the_resource(cli: Cli) -> None:
    where = _copy("native-yaml", cli)
    cli.run("up", "--yes", cwd=where)
    program = where / "Pulumi.yaml"
    text = program.read_text()
    edited = text.replace("maxmemoryPolicy: allkeys_lru", "maxmemoryPolicy: allkeys_lfu").replace(
        "- cidrBlock: ${officeCidr}\n          description: office",
        "- cidrBlock: ${officeCidr}\n          description: office\n"
        "        - cidrBlock: 0.0.0.0/0\n          description: everyone",
    )
    program.write_text(edited)
    preview = cli.run("preview", cwd=where).stdout
    assert "[diff: ~ipAllowList,maxmemoryPolicy]" in preview, preview
    attached = preview.split(f"{KV} (cache):", 1)[1]
    assert (
        "warning: maxmemoryPolicy 'allkeys_lru' → 'allkeys_lfu' restarts the instance" in attached
    )
    assert "warning: ipAllowList admits the whole internet (0.0.0.0/0)" in attached
    # The allow list is a set: the same entries in another order are no change.
    reordered = text.replace(
        "- cidrBlock: ${officeCidr}\n          description: office",
        "- cidrBlock: 198.51.100.7/32\n          description: home\n"
        "        - cidrBlock: ${officeCidr}\n          description: office",
    )
    program.write_text(reordered)
    cli.run("up", "--yes", cwd=where)
    program.write_text(
        text.replace(
            "- cidrBlock: ${officeCidr}\n          description: office",
            "- cidrBlock: ${officeCidr}\n          description: office\n"
            "        - cidrBlock: 198.51.100.7/32\n          description: home",
        )
    )
    cli.run("preview", "--expect-no-changes", cwd=where)
    cli.run("destroy", "--yes", cwd=where)


def test_the_cli_loads_the_providers_schema(cli: Cli) -> None:
    folder = prepare(cli.scratch / "provider")
    done = cli.run("package", "get-schema", str(folder), cwd=cli.scratch)
    loaded = json.loads(done.stdout)
    assert loaded["name"] == "render-kv"
    assert KV in loaded["resources"]
    assert "render-kv:index:getKeyValue" in loaded["functions"]


@pytest.mark.skipif(shutil.which("npm") is None, reason="no npm on PATH for @pulumi/pulumi")
def test_the_typescript_example_through_every_lifecycle(cli: Cli) -> None:
    where = _copy("native-typescript", cli)
    cli.run("install", cwd=where)  # the SDK generated from the provider, @pulumi/pulumi
    code = _lifecycle(cli, where, "render-kv-typescript", "imported.ts")
    assert 'maxmemoryPolicy: "allkeys_lru"' in code


def _many(where: Path, count: int) -> Path:
    where.mkdir()
    prepare(where / "provider")
    resources = "".join(
        f"  kv{i:02d}:\n    type: {KV}\n    properties: {{plan: starter, workload: cache}}\n"
        for i in range(count)
    )
    (where / "Pulumi.yaml").write_text(
        f"name: many-{count}\nruntime: yaml\nplugins:\n  providers:\n    - name: render-kv\n"
        f"      path: ./provider\nresources:\n{resources}"
    )
    return where


def test_fifty_creates_under_pulumi_up_parallel_are_not_serialised(cli: Cli) -> None:
    """``pulumi up --parallel 50`` of 50 instances that take seconds to become available
    takes about as long as one: four at a time (the dynamic provider) would be 13 rounds."""
    settings = EmulatorSettings(
        port=0, data_plane=False, create_delay=5.0, rate_limits=RateLimitSettings.unlimited()
    )
    with Emulator(settings) as slow:
        env = {"RENDER_API_URL": slow.url, "RENDER_OWNER_ID": slow.owner_id}
        timings = {}
        for count in (1, 50):
            where = _many(cli.scratch / f"many-{count}", count)
            cli.run("stack", "init", "dev", cwd=where, env=env)
            started = time.monotonic()
            cli.run("up", "--yes", "--parallel", "50", "--skip-preview", cwd=where, env=env)
            timings[count] = time.monotonic() - started
            cli.run("destroy", "--yes", "--parallel", "50", "--skip-preview", cwd=where, env=env)
        assert _instances(slow) == {}
    (cli.scratch / "timings.json").write_text(json.dumps(timings))
    assert timings[50] < 2 * timings[1], timings


def test_a_create_not_ready_in_time_is_kept_in_state_and_the_next_up_finishes_it(
    cli: Cli,
) -> None:
    """The engine records the partial create (ErrorResourceInitFailed): no orphan, no twin."""
    settings = EmulatorSettings(
        port=0, data_plane=False, create_delay=4.0, rate_limits=RateLimitSettings.unlimited()
    )
    with Emulator(settings) as slow:
        env = {"RENDER_API_URL": slow.url, "RENDER_OWNER_ID": slow.owner_id}
        where = cli.scratch / "slow"
        where.mkdir()
        prepare(where / "provider")
        program = (
            "name: slow\nruntime: yaml\nplugins:\n  providers:\n    - name: render-kv\n"
            "      path: ./provider\nresources:\n  cache:\n    type: render-kv:index:KeyValue\n"
            "    properties: {plan: starter, workload: cache, waitTimeout: WAIT}\n"
            "outputs:\n  url: ${cache.internalConnectionString}\n"
        )
        (where / "Pulumi.yaml").write_text(program.replace("WAIT", "1"))
        cli.run("stack", "init", "dev", cwd=where, env=env)
        failed = cli.run("up", "--yes", "--skip-preview", cwd=where, env=env, check=False)
        assert failed.returncode != 0
        assert "wait_timeout" in failed.stdout
        [made] = _instances(slow).values()
        [recorded] = [
            r for r in cli.export(where, "dev")["deployment"]["resources"] if r["type"] == KV
        ]
        assert recorded["id"] == made
        assert recorded.get("initErrors"), recorded
        (where / "Pulumi.yaml").write_text(program.replace("WAIT", "60"))
        cli.run("up", "--yes", "--skip-preview", cwd=where, env=env)
        assert list(_instances(slow).values()) == [made]
        assert cli.outputs(where, "dev")["url"].startswith("redis://")
        cli.run("preview", "--expect-no-changes", cwd=where, env=env)
        cli.run("destroy", "--yes", cwd=where, env=env)
        assert _instances(slow) == {}
