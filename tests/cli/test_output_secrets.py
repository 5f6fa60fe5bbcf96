"""Secrets in every form an input can take, under the real CLI's state (``pulumi stack export``)."""

from __future__ import annotations

import json

import pytest

from .conftest import PULUMI, Cli, project

if PULUMI is None:
    pytest.skip(
        "no `pulumi` CLI on PATH: tests/cli runs where the Pulumi CLI is installed",
        allow_module_level=True,
    )

TOKEN = "tok-cli-output-form-0123456789"  # a test value, looked for in state
FORMS = {
    "output-of-a-dict": (
        'log_stream=endpoint.apply(lambda ep: {"setting": "send", "endpoint": ep, "token": TOKEN})'
    ),
    "output-in-a-dict": 'log_stream={"setting": "send", "endpoint": endpoint, "token": TOKEN}',
    "output-of-a-logstream": (
        "log_stream=endpoint.apply(lambda ep: render_kv.LogStream("
        'setting="send", endpoint=ep, token=TOKEN))'
    ),
}
PROGRAM = """\
import pulumi
import pulumi_render_kv as render_kv

TOKEN = {token!r}
endpoint = pulumi.Output.from_input("logs.example.com:6514")
render_kv.KeyValue("cache", plan="starter", workload="cache", {form})
"""


@pytest.mark.parametrize("form", FORMS)
def test_the_log_stream_token_is_never_plaintext_in_state(cli: Cli, form: str) -> None:
    source = cli.scratch / "program.py"
    source.write_text(PROGRAM.format(token=TOKEN, form=FORMS[form]))
    where = project(cli.scratch / "secrets", "secrets", source)
    cli.run("stack", "init", "dev", cwd=where)
    cli.run("up", "--yes", cwd=where)
    exported = json.dumps(cli.export(where, "dev"))
    assert TOKEN not in exported
    override = [r for r in cli.emu.requests() if r["method"] == "PUT"]
    assert len(override) == 1  # the token did reach Render
    cli.run("preview", "--expect-no-changes", cwd=where)
    cli.run("destroy", "--yes", cwd=where)
