"""The examples under the real Pulumi CLI, as a user runs them, against the local emulator.

Each test has its own file backend, ``PULUMI_HOME``, emulator and stack (``conftest.py``);
every command and its output is kept in the test's ``commands.log``.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
import redis

from .conftest import API_KEY, PULUMI, ROOT, Cli, project

if PULUMI is None:
    pytest.skip(
        "no `pulumi` CLI on PATH: tests/cli runs where the Pulumi CLI is installed",
        allow_module_level=True,
    )

QUICKSTART = ROOT / "examples" / "quickstart" / "__main__.py"
APP_STACK = ROOT / "examples" / "app-stack" / "__main__.py"
TRACE_PROGRAM = ROOT / "tests" / "engine_traces" / "program" / "__main__.py"


def quickstart(cli: Cli) -> Path:
    where = project(cli.scratch / "quickstart", "render-kv-quickstart", QUICKSTART)
    cli.run("stack", "init", "dev", cwd=where)
    return where


def test_quickstart_preview_up_no_changes_then_destroy(cli: Cli) -> None:
    """preview, up, a no-op preview and refresh (--expect-no-changes), outputs, destroy."""
    where = quickstart(cli)
    preview = cli.run("preview", cwd=where)
    assert "+ 3 to create" in preview.stdout
    assert cli.emu.request_counts() == {}, "a preview of new resources calls no API"

    cli.run("up", "--yes", cwd=where)
    cli.run("preview", "--expect-no-changes", cwd=where)
    cli.run("refresh", "--yes", "--expect-no-changes", cwd=where)
    cli.run("preview", "--expect-no-changes", "--diff", cwd=where)

    outputs = cli.outputs(where, "dev")
    with redis.Redis.from_url(outputs["REDIS_URL"]) as cache:
        assert cache.config_get("maxmemory-policy")["maxmemory-policy"] == "allkeys-lru"
    with redis.Redis.from_url(outputs["QUEUE_URL"]) as queue:
        assert queue.config_get("maxmemory-policy")["maxmemory-policy"] == "noeviction"
    shown = cli.run("stack", "output", "--json", cwd=where).stdout
    assert json.loads(shown)["REDIS_URL"] == "[secret]"

    cli.run("destroy", "--yes", cwd=where)
    assert live_names(cli) == []


def live_names(cli: Cli) -> list[str]:
    """The names of the instances the emulator holds, as Render's API lists them."""
    listed = httpx.get(
        f"{cli.emu.url}/key-value", headers={"Authorization": f"Bearer {API_KEY}"}
    ).json()
    return sorted(item["keyValue"]["name"] for item in listed)


def test_stack_export_holds_no_key_and_no_plaintext_secret(cli: Cli) -> None:
    where = quickstart(cli)
    cli.run("up", "--yes", cwd=where)
    outputs = cli.outputs(where, "dev")
    exported = json.dumps(cli.export(where, "dev"))
    assert API_KEY not in exported
    for name in ("REDIS_URL", "QUEUE_URL", "QUEUE_EXTERNAL_URL"):
        assert outputs[name] not in exported, f"{name} in plaintext in the state"
    password = outputs["QUEUE_EXTERNAL_URL"].split(":")[2].split("@")[0]
    assert password not in exported
    assert '"ciphertext"' in exported
    cli.run("destroy", "--yes", cwd=where)


def playground(cli: Cli) -> Path:
    """`make playground`: the README's copy of the examples, run in this checkout's venv."""
    where = cli.scratch / "playground"
    subprocess.run(
        [sys.executable, "-m", "pulumi_render_kv.demo", "playground", str(where)],
        check=True,
        capture_output=True,
    )
    return where


def test_the_readme_walkthrough_in_the_playground(cli: Cli) -> None:
    """The quickstart and the app stack as the README runs them: in `make playground`'s copy,
    stacks `dev`, the app stack reading the quickstart stack of its own name."""
    where = playground(cli)
    quickstart_dir, app = where / "quickstart", where / "app-stack"
    cli.run("stack", "init", "dev", cwd=quickstart_dir)
    cli.run("up", "--yes", cwd=quickstart_dir)
    assert live_names(cli) == ["dev-cache", "dev-jobs"]
    infra = cli.outputs(quickstart_dir, "dev")
    cli.run("stack", "init", "dev", cwd=app)
    cli.run("up", "--yes", cwd=app)
    assert (
        json.loads(cli.run("stack", "output", "--json", cwd=app).stdout)["app_environment"]
        == "[secret]"
    )
    seen = cli.outputs(app, "dev")
    assert seen["app_environment"]["REDIS_URL"] == infra["REDIS_URL"]
    assert seen["cache_endpoint"] == f"{infra['REDIS_HOST']}:{int(infra['REDIS_PORT'])}"
    assert infra["REDIS_URL"] not in json.dumps(cli.export(app, "dev"))
    cli.run("destroy", "--yes", cwd=app)
    cli.run("destroy", "--yes", cwd=quickstart_dir)


def test_two_quickstart_stacks_share_a_workspace(cli: Cli) -> None:
    """Stack-prefixed names: a second stack's create meets no NameTaken and makes no twin."""
    where = quickstart(cli)
    cli.run("up", "--yes", cwd=where)
    cli.run("stack", "init", "staging", cwd=where)
    cli.run("up", "--yes", "--stack", "staging", cwd=where)
    assert live_names(cli) == ["dev-cache", "dev-jobs", "staging-cache", "staging-jobs"]
    cli.run("destroy", "--yes", "--stack", "staging", cwd=where)
    cli.run("destroy", "--yes", "--stack", "dev", cwd=where)
    assert live_names(cli) == []


def shipped_checkout(cli: Cli) -> Path:
    """The package and the examples as a clone has them, in a folder of their own."""
    clone = cli.scratch / "clone"
    ignore = shutil.ignore_patterns("__pycache__", "venv", "Pulumi.*.yaml", "*.egg-info")
    clone.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, clone / name)
    shutil.copytree(ROOT / "pulumi_render_kv", clone / "pulumi_render_kv", ignore=ignore)
    shutil.copytree(ROOT / "examples", clone / "examples", ignore=ignore)
    return clone


def test_the_examples_as_shipped_install_their_own_virtualenv(cli: Cli) -> None:
    """Pulumi.yaml names a virtualenv; `pulumi install` creates it from requirements.txt
    (pulumi-render-kv from the checkout, and pulumi), with no plugin to fetch, and the
    program runs in it."""
    clone = shipped_checkout(cli)
    quickstart_dir, app = clone / "examples" / "quickstart", clone / "examples" / "app-stack"
    # As a user's machine has it: automatic plugin acquisition on, the CLI's default.
    defaults = {"PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION": None}
    for folder in (quickstart_dir, app):
        cli.run("install", cwd=folder, env=defaults)
    venv_python = quickstart_dir / "venv" / "bin" / "python"
    where = subprocess.run(
        [str(venv_python), "-c", "import pulumi_render_kv; print(pulumi_render_kv.__file__)"],
        cwd=quickstart_dir,  # not the checkout, whose source tree `python -c` would import
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert where.startswith(str(quickstart_dir / "venv")), where
    cli.run("stack", "init", "dev", cwd=quickstart_dir)
    cli.run("up", "--yes", cwd=quickstart_dir, env=defaults)
    cli.run("stack", "init", "dev", cwd=app)
    cli.run("up", "--yes", cwd=app, env=defaults)
    assert "cache_endpoint" in cli.outputs(app, "dev")
    cli.run("destroy", "--yes", cwd=app)
    cli.run("destroy", "--yes", cwd=quickstart_dir)


def test_make_demo_with_the_cli_shows_what_each_step_did(tmp_path: Path) -> None:
    """`make demo` where `pulumi` is on PATH: every `=== pulumi ...` header has the command's
    output under it (the stack output too), and no secret is printed."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("RENDER_", "PULUMI_"))
    }
    env.update(PULUMI_HOME=str(tmp_path / "pulumi-home"), PULUMI_SKIP_UPDATE_CHECK="true")
    done = subprocess.run(
        [sys.executable, "-m", "pulumi_render_kv.demo"],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,  # the CLI says some things on stderr: as a terminal shows it
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stdout
    assert "redis://" not in done.stdout, "no connection string (a secret) is printed"
    assert "rediss://" not in done.stdout
    parts = re.split(r"^=== (.*)$", done.stdout, flags=re.M)
    shown = {header: body.strip() for header, body in zip(parts[1::2], parts[2::2], strict=True)}
    empty = [header for header, body in shown.items() if not body]
    assert not empty, f"headers with nothing under them: {empty}\n{done.stdout}"
    [outputs] = [body for header, body in shown.items() if header.startswith("pulumi stack output")]
    assert "REDIS_HOST" in outputs
    assert "[secret]" in outputs
    [done_header] = [header for header in shown if header.startswith("done:")]
    assert "'DELETE': 2" in done_header, "the destroy deleted both instances"
    assert not list(ROOT.glob("examples/*/Pulumi.*.yaml")), "the demo leaves the checkout alone"


def test_api_key_from_secret_stack_config_alone(cli: Cli) -> None:
    """``pulumi config set --secret render:apiKey`` with no RENDER_API_KEY in the environment."""
    where = quickstart(cli)
    no_key = {"RENDER_API_KEY": None}
    cli.run("config", "set", "--secret", "render:apiKey", API_KEY, cwd=where, env=no_key)
    cli.run("up", "--yes", cwd=where, env=no_key)
    cli.run("refresh", "--yes", "--expect-no-changes", cwd=where, env=no_key)
    exported = cli.export(where, "dev")
    # The engine keeps the whole stack config as the default provider's inputs: the key is
    # in the state, but only as ciphertext.
    assert API_KEY not in json.dumps(exported)
    cli.run("destroy", "--yes", cwd=where, env=no_key)


def test_a_missing_api_key_fails_with_both_places_named(cli: Cli) -> None:
    where = quickstart(cli)
    done = cli.run("up", "--yes", cwd=where, env={"RENDER_API_KEY": None}, check=False)
    assert done.returncode != 0
    assert "RENDER_API_KEY" in done.stdout
    assert "pulumi config set --secret render:apiKey" in done.stdout
    assert cli.emu.request_counts() == {}


@pytest.fixture
def one_cache(cli: Cli) -> Path:
    where = project(cli.scratch / "traces", "render-kv-traces", TRACE_PROGRAM)
    cli.run("stack", "init", "dev", cwd=where)
    cli.run("up", "--yes", cwd=where)
    return where


NEW_ENVIRONMENT = "<a new environment's id>"

# config to set → what `pulumi preview` must print
EDITS = {
    "policy": ({"policy": "allkeys_lfu"}, ["restarts the instance", "[diff: ~maxmemoryPolicy]"]),
    "plan-upgrade": ({"plan": "standard"}, ["restarts the instance", "[diff: ~plan]"]),
    "allow-list": ({"allowList": "203.0.113.0/24"}, ["[diff: ~ipAllowList]"]),
    "name": ({"name": "cache-v2"}, ["[diff: ~name]"]),
    "environment": ({"environmentId": NEW_ENVIRONMENT}, ["[diff: +environmentId]"]),
    "suspend": ({"suspended": "true"}, ["refuses every connection", "[diff: ~suspended]"]),
    "log-stream": (
        {"logSetting": "drop"},
        ["[diff: +logStream]"],
    ),
    "region-with-consent": (
        {"region": "frankfurt", "allowDataLoss": "true"},
        ["replaces the instance", "+-1 to replace"],
    ),
}
REFUSED = {
    "region-without-consent": ({"region": "frankfurt"}, "set allow_data_loss=True"),
    "log-stream-url": (
        {"logSetting": "send", "logEndpoint": "https://logs.example.com"},
        "drop the scheme",
    ),
    "downgrade": ({"plan": "free"}, "Render plans can only be upgraded"),
    # The engine prints `value {<nil>}` for a nested path: the path leads the reason instead.
    "allow-list-host-bits": (
        {"allowList": "203.0.113.0/24,10.0.0.1/8"},
        "has a problem: ipAllowList[1]: '10.0.0.1/8' has host bits set; did you mean 10.0.0.0/8?",
    ),
    # Render refuses it at `up`: caught at preview.
    "name-with-a-newline": ({"name": "cache\nv2"}, "no control characters"),
}


@pytest.mark.parametrize("kind", EDITS)
def test_each_change_kind_previews_then_applies_exactly(
    cli: Cli, one_cache: Path, kind: str
) -> None:
    config, shown = EDITS[kind]
    for key, value in config.items():
        setting = cli.emu.add_environment("production") if value == NEW_ENVIRONMENT else value
        cli.run("config", "set", key, setting, cwd=one_cache)
    preview = cli.run("preview", cwd=one_cache)
    for text in shown:
        assert text in preview.stdout, f"{text!r} not in the preview:\n{preview.stdout}"
    cli.run("up", "--yes", cwd=one_cache)
    cli.run("preview", "--expect-no-changes", cwd=one_cache)
    cli.run("destroy", "--yes", cwd=one_cache)


@pytest.mark.parametrize("kind", REFUSED)
def test_refused_changes_fail_at_preview_and_change_nothing(
    cli: Cli, one_cache: Path, kind: str
) -> None:
    config, reason = REFUSED[kind]
    for key, value in config.items():
        cli.run("config", "set", key, value, cwd=one_cache)
    cli.emu.clear_requests()
    preview = cli.run("preview", cwd=one_cache, check=False)
    assert preview.returncode != 0
    assert reason in preview.stdout
    assert "<nil>" not in preview.stdout
    up = cli.run("up", "--yes", cwd=one_cache, check=False)
    assert up.returncode != 0
    assert reason in up.stdout
    assert cli.emu.request_counts() == {}, "a refused change calls no API"
    assert live_names(cli) == ["cache"]
    for key in config:
        cli.run("config", "rm", key, cwd=one_cache)
    cli.run("destroy", "--yes", cwd=one_cache)


def test_deletion_protection_refuses_destroy(cli: Cli, one_cache: Path) -> None:
    cli.run("config", "set", "deletionProtection", "true", cwd=one_cache)
    cli.run("up", "--yes", cwd=one_cache)
    # deletion_protection sets Pulumi's protect: the engine refuses at destroy's preview.
    refused = cli.run("destroy", "--yes", cwd=one_cache, check=False)
    assert refused.returncode != 0
    assert "because it is protected" in refused.stdout
    assert live_names(cli) == ["cache"]
    cli.run("config", "set", "deletionProtection", "false", cwd=one_cache)
    cli.run("up", "--yes", cwd=one_cache)
    cli.run("destroy", "--yes", cwd=one_cache)


def test_adopt_existing_takes_over_an_instance_instead_of_import(cli: Cli) -> None:
    """The README's way in for an existing instance: no second instance, no import."""
    created = httpx.post(
        f"{cli.emu.url}/key-value",
        headers={"Authorization": f"Bearer {API_KEY}"},
        json={
            "name": "cache",
            "plan": "starter",
            "region": "oregon",
            "ownerId": cli.emu.owner_id,
            "maxmemoryPolicy": "allkeys_lru",
        },
    ).json()
    where = project(cli.scratch / "adopt", "render-kv-traces", TRACE_PROGRAM)
    cli.run("stack", "init", "dev", cwd=where)
    cli.run("config", "set", "adoptExisting", "true", cwd=where)
    cli.emu.clear_requests()
    cli.run("up", "--yes", cwd=where)
    assert "POST" not in cli.emu.request_counts()
    state = cli.export(where, "dev")["deployment"]["resources"]
    assert [r["id"] for r in state if r["urn"].endswith("::cache")] == [created["id"]]
    assert live_names(cli) == ["cache"]
    cli.run("preview", "--expect-no-changes", cwd=where)
    cli.run("destroy", "--yes", cwd=where)
    assert live_names(cli) == []


def test_log_stream_token_is_a_secret_and_refresh_sees_no_drift(cli: Cli, one_cache: Path) -> None:
    """A token from plain config is still a secret in the resource's state, `--diff` and
    outputs; set with `config set --secret`, it is in plaintext nowhere in the state."""
    token = "cli-log-token-5b1f0c"
    for key, value in {"logSetting": "send", "logEndpoint": "logs.example.com:6514"}.items():
        cli.run("config", "set", key, value, cwd=one_cache)
    # --plaintext: the CLI itself refuses a plain value for a key named like a secret.
    cli.run("config", "set", "--plaintext", "logToken", token, cwd=one_cache)
    preview = cli.run("preview", "--diff", cwd=one_cache)
    assert "[secret]" in preview.stdout
    assert token not in preview.stdout
    cli.run("up", "--yes", cwd=one_cache)
    resources = cli.export(one_cache, "dev")["deployment"]["resources"]
    [cache] = [r for r in resources if r["urn"].endswith("::cache")]
    assert token not in json.dumps(cache)
    assert "ciphertext" in json.dumps(cache["inputs"]["logStream"])
    # The engine keeps the stack config as the default provider's inputs: a plaintext config
    # value is plaintext there. `--secret` is the way to set it.
    [kv_id] = cli.emu.backend.instance_ids()
    assert cli.emu.backend.log_stream_token(kv_id) == token
    cli.run("config", "set", "--secret", "logToken", token, cwd=one_cache)
    cli.run("up", "--yes", cwd=one_cache)
    assert token not in json.dumps(cli.export(one_cache, "dev"))
    cli.run("refresh", "--yes", "--expect-no-changes", cwd=one_cache)
    cli.run("preview", "--expect-no-changes", cwd=one_cache)
    for key in ("logSetting", "logEndpoint", "logToken"):
        cli.run("config", "rm", key, cwd=one_cache)
    cli.run("up", "--yes", cwd=one_cache)
    assert cli.emu.backend.log_stream_token(kv_id) is None
    cli.run("destroy", "--yes", cwd=one_cache)


def test_a_dashboard_suspension_shows_on_refresh_and_up_resumes(cli: Cli, one_cache: Path) -> None:
    [kv_id] = cli.emu.backend.instance_ids()
    httpx.post(
        f"{cli.emu.url}/key-value/{kv_id}/suspend",
        headers={"Authorization": f"Bearer {API_KEY}"},
    ).raise_for_status()
    refreshed = cli.run("refresh", "--yes", "--diff", cwd=one_cache)
    assert "suspended" in refreshed.stdout
    cli.run("up", "--yes", cwd=one_cache)
    assert cli.emu.backend.retrieve_key_value(kv_id).status == "available"
    cli.run("preview", "--expect-no-changes", cwd=one_cache)
    cli.run("destroy", "--yes", cwd=one_cache)


def test_an_added_allow_list_entry_previews_as_added_and_a_reorder_as_no_change(
    cli: Cli, one_cache: Path
) -> None:
    """`preview --diff` after adding one entry to a one-entry list: `+` for the new entry and
    nothing on the old one (while check sorted the list, the office entry showed as replaced,
    `~ [0]: cidrBlock "203.0.113.0/24" => "198.51.100.7/32"`). A reordering changes nothing."""
    cli.run("config", "set", "allowList", "203.0.113.0/24", cwd=one_cache)
    cli.run("up", "--yes", cwd=one_cache)
    cli.run("config", "set", "allowList", "203.0.113.0/24,198.51.100.7/32", cwd=one_cache)
    preview = cli.run("preview", "--diff", cwd=one_cache).stdout
    entry_lines = [line.strip() for line in preview.splitlines() if "[0]" in line or "[1]" in line]
    assert any(line.startswith("+ [1]") for line in entry_lines), preview
    assert not any(line.startswith("~") for line in entry_lines), preview
    cli.run("up", "--yes", cwd=one_cache)
    cli.run("config", "set", "allowList", "198.51.100.7/32,203.0.113.0/24", cwd=one_cache)
    cli.run("preview", "--expect-no-changes", "--diff", cwd=one_cache)
    cli.run("up", "--yes", "--expect-no-changes", cwd=one_cache)
    cli.run("refresh", "--yes", "--expect-no-changes", cwd=one_cache)
    cli.run("preview", "--expect-no-changes", cwd=one_cache)
    cli.run("destroy", "--yes", cwd=one_cache)


PROTECTED_PROGRAM = '''\
"""One cache the config can protect, override Pulumi's protect for, or remove."""

import pulumi

import pulumi_render_kv as render_kv

config = pulumi.Config()
if not config.get_bool("removed"):
    render_kv.KeyValue(
        "cache",
        plan="starter",
        workload="cache",
        deletion_protection=config.get_bool("deletionProtection"),
        # protect=False: the provider's own refusal is then the only guard.
        opts=pulumi.ResourceOptions(protect=False) if config.get_bool("noProtect") else None,
    )
'''


def protected_cache(cli: Cli, **config: str) -> Path:
    program = cli.scratch / "protected.py"
    program.write_text(PROTECTED_PROGRAM)
    where = project(cli.scratch / "protected", "render-kv-protected", program)
    cli.run("stack", "init", "dev", cwd=where)
    for key, value in {"deletionProtection": "true", **config}.items():
        cli.run("config", "set", key, value, cwd=where)
    cli.run("up", "--yes", cwd=where)
    return where


def command_in(output: str, command: str) -> list[str]:
    """The `pulumi <command> '<urn>'` a message tells the user to run, as arguments."""
    match = re.search(rf"`pulumi {command} '([^']+)'`", output)
    assert match is not None, f"no `pulumi {command} '<urn>'` in:\n{output}"
    return [*command.split(), match[1]]


def test_a_removed_protected_instance_is_deleted_after_the_engines_state_unprotect(
    cli: Cli,
) -> None:
    """Follow the engine's message as written: `pulumi state unprotect '<urn>'`, then `up`
    deletes the instance (it failed with DeletionProtected, pointing back at removed code)."""
    where = protected_cache(cli)
    cli.run("config", "set", "removed", "true", cwd=where)
    refused = cli.run("up", "--yes", cwd=where, check=False)
    assert refused.returncode != 0
    assert "because it is protected" in refused.stdout
    cli.run(*command_in(refused.stdout, "state unprotect"), "--yes", cwd=where)
    assert "- 1 to delete" in cli.run("preview", cwd=where).stdout
    up = cli.run("up", "--yes", cwd=where)
    assert "DeletionProtected" not in up.stdout
    assert live_names(cli) == []
    cli.run("preview", "--expect-no-changes", cwd=where)


def test_a_refused_delete_keeps_the_instance_with_the_state_delete_it_names(cli: Cli) -> None:
    """Without Pulumi's protect the provider refuses; its first way out, as written."""
    where = protected_cache(cli, noProtect="true")
    cli.run("config", "set", "removed", "true", cwd=where)
    refused = cli.run("up", "--yes", cwd=where, check=False)
    assert refused.returncode != 0
    assert "DeletionProtected: Key Value 'cache'" in refused.stdout
    assert "provider.py" not in refused.stdout  # one line, not the provider's traceback
    cli.run(*command_in(refused.stdout, "state delete"), "--yes", cwd=where)
    cli.run("up", "--yes", "--expect-no-changes", cwd=where)
    assert live_names(cli) == ["cache"]  # kept on Render, no longer in the stack


def test_a_refused_delete_deletes_once_declared_again_unprotected(cli: Cli) -> None:
    """The refusal's second way out, as written: back with deletion_protection=False, `up`,
    then remove it."""
    where = protected_cache(cli, noProtect="true")
    cli.run("config", "set", "removed", "true", cwd=where)
    refused = cli.run("up", "--yes", cwd=where, check=False)
    assert "deletion_protection=False, run `pulumi up`, then remove it" in refused.stdout
    cli.run("config", "rm", "removed", cwd=where)
    cli.run("config", "set", "deletionProtection", "false", cwd=where)
    cli.run("up", "--yes", cwd=where)
    cli.run("config", "set", "removed", "true", cwd=where)
    cli.run("up", "--yes", cwd=where)
    assert live_names(cli) == []
