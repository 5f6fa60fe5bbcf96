"""Secrets (issue 9): a recognisable API key and the instances' passwords, through create,
update, refresh, a failing call, an ambiguous create and a check failure, never appear in the
harness state, the provider blob, the provider's stderr, error messages, the emulator's
request log, logs or reprs. (The CLI's ``stack export`` is covered where a CLI is present, in
``tests/cli``; this suite runs without one.)

``SCENARIOS`` is also the secrets table of ``docs/RELIABILITY.md``.
"""

from __future__ import annotations

import base64
import json
import logging
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import urlsplit

import pulumi
import pytest
from acceptance.conftest import key_value_program, provider_env
from acceptance.test_keyvalue import CACHE
from pulumi.runtime import rpc

import pulumi_render_kv as render_kv
from pulumi_render_kv.client import RenderClient
from pulumi_render_kv.emulator import Emulator
from pulumi_render_kv.provider import resource as resource_module
from pulumi_render_kv.testing import (
    Engine,
    EngineError,
    ProviderServer,
    decode_provider,
    is_secret,
    reveal,
    run_program,
)
from pulumi_render_kv.testing import _values as harness_values

pytestmark = [pytest.mark.grpc]

# Recognisable, and unlike anything else a run prints.
SECRET_KEY = "rnd_SECRETsuiteKEY9f3c1a7e5b2d4680"
LOG_TOKENS = ("lst_SECRETsuiteTOKEN7d2e91", "lst_SECRETsuiteTOKEN0b84c3")

SCENARIOS = (
    ("create", "up creates an instance (waits for available)"),
    ("no-op", "a second up with no change"),
    ("update", "up renames it and changes its allow list (PATCH)"),
    ("log-stream", "up sets a log-stream override with a token (PUT)"),
    ("log-stream-refused", "a new token Render rejects (injected 400 on PUT)"),
    ("refresh", "refresh reads it back"),
    ("failing-call", "an update Render rejects (injected 400 on PATCH)"),
    ("ambiguous-create", "a second resource whose POST meets a proxy's 502 (CreateIncomplete)"),
    ("check-failure", "a preview with a misspelt policy (check failure)"),
    (
        "internal-auth",
        "internal auth turned on in the Dashboard: refresh, the preview's warning, up",
    ),
    ("destroy", "destroy deletes everything"),
)


@pytest.fixture(scope="module")
def server_env(emulator: Emulator) -> dict[str, str]:
    return {**provider_env(emulator), "RENDER_API_KEY": SECRET_KEY}


@pytest.fixture
def key_dashboard(emu: Emulator) -> Iterator[RenderClient]:
    from pulumi_render_kv.client import ClientLimits, RenderSettings  # noqa: PLC0415

    settings = RenderSettings.resolve(
        api_key=SECRET_KEY, owner_id=emu.owner_id, base_url=emu.url, limits=ClientLimits.off()
    )
    with RenderClient(settings) as client:
        yield client


def _blob_texts(engine: Engine) -> list[str]:
    texts = []
    for res in engine.resources:
        blob = res.wire_inputs.get("__provider")
        if blob is None:
            continue
        raw = harness_values.reveal(blob)
        texts += [str(raw), base64.b64decode(raw).decode("latin-1"), repr(decode_provider(blob))]
    return texts


def _passwords(client: RenderClient, kv_id: str) -> list[str]:
    info = client.retrieve_key_value_connection_info(kv_id)
    found = []
    for secret in (info.internal_connection_string, info.external_connection_string):
        value = secret.get_secret_value()
        password = urlsplit(value).password
        found += [p for p in (password, value) if p]
    return found


def test_no_secret_leaks_anywhere(
    engine: Engine,
    emu: Emulator,
    server: ProviderServer,
    key_dashboard: RenderClient,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    seen: dict[str, list[str]] = {}
    secrets = [SECRET_KEY]

    def record(scenario: str, plan_or_err: Any = None) -> None:
        texts = [engine.state_json(), *_blob_texts(engine), json.dumps(emu.requests())]
        if isinstance(plan_or_err, EngineError):
            texts += [str(plan_or_err), plan_or_err.details or "", repr(plan_or_err)]
        elif plan_or_err is not None:
            texts += [*plan_or_err.stderr, str(plan_or_err.error or ""), repr(plan_or_err)]
        seen[scenario] = texts

    def expect_error(fn: Callable[[], Any]) -> EngineError:
        with pytest.raises(EngineError) as info:
            fn()
        return info.value

    record("create", engine.up(key_value_program(**CACHE)))
    kv_id = engine.resource("cache").id
    secrets += _passwords(key_dashboard, kv_id)
    seen["create"].append(repr(key_dashboard.retrieve_key_value_connection_info(kv_id)))
    record("no-op", engine.up(key_value_program(**CACHE)))
    changed = {**CACHE, "name": "renamed", "ip_allow_list": ["203.0.113.0/24"]}
    record("update", engine.up(key_value_program(**changed)))
    secrets += LOG_TOKENS
    first, rotated = (
        {
            **changed,
            "log_stream": {"setting": "send", "endpoint": "logs.example.com:6514", "token": t},
        }
        for t in LOG_TOKENS
    )
    record("log-stream", engine.up(key_value_program(**first)))
    emu.inject_fault("PUT", "/v1/logs/streams/resource/*", status=400)
    refused = expect_error(lambda: engine.up(key_value_program(**rotated)))
    assert "400 Bad Request" in str(refused)
    record("log-stream-refused", refused)
    record("refresh", engine.refresh())
    emu.inject_fault("PATCH", "/v1/key-value/*", status=400)
    failed = expect_error(lambda: engine.up(key_value_program(**CACHE)))
    assert "400 Bad Request" in str(failed)
    record("failing-call", failed)

    def two() -> None:
        key_value_program(**changed)()
        key_value_program("second", **CACHE, wait_timeout=1)()

    emu.inject_fault("POST", "/v1/key-value", status=502)  # a proxy's: Render may still act
    ambiguous = expect_error(lambda: engine.up(two))
    assert "CreateIncomplete" in str(ambiguous)
    record("ambiguous-create", ambiguous)
    bad = {**changed, "maxmemory_policy": "allkeys_lur"}
    preview = engine.preview(key_value_program(**bad))
    assert [f.property for f in preview.failures] == ["maxmemoryPolicy"]
    record("check-failure", preview)
    emu.set_internal_auth(kv_id, True)
    credentialed = key_dashboard.retrieve_key_value_connection_info(kv_id)
    internal_url = credentialed.get_internal_connection_string()
    internal_password = urlsplit(internal_url).password
    assert internal_password  # the internal URL carries the password now
    secrets += [internal_url, internal_password]
    refreshed = engine.refresh()
    state = engine.resource("cache")
    assert state.outputs["internalConnectionString"] == internal_url
    assert "internalConnectionString" in state.secret_outputs
    warned = engine.preview(key_value_program(**changed))
    assert any("internal authentication was turned on" in line for line in warned.stderr)
    applied = engine.up(key_value_program(**changed))
    assert is_secret(engine.stack_outputs["url"])  # the app stack's export stays a secret
    assert reveal(engine.stack_outputs["url"]) == internal_url
    record("internal-auth", applied)
    seen["internal-auth"] += [*refreshed.stderr, repr(refreshed), *warned.stderr, repr(warned)]
    record("destroy", engine.destroy())

    # And everywhere else: the provider's whole stderr, this process's logs, the reprs.
    seen["destroy"] += [
        server.stderr_text(),
        caplog.text,
        repr(key_dashboard),
        str(key_dashboard.settings),
    ]
    assert {name for name, _ in SCENARIOS} == set(seen)
    assert len(secrets) >= 3  # the key, and at least a password with its connection string
    for scenario, texts in seen.items():
        for text in texts:
            for secret in secrets:
                assert secret not in text, f"{scenario}: a secret leaked"


# --- the log-stream token, whatever form the program gives log_stream in (issue 13) -----------

FORM_TOKEN = "lst_SECRETformTOKEN5a9c0e"
FORM_ENDPOINT = "logs.example.com:6514"


def _known(value: str) -> pulumi.Output[str]:
    """An Output, as another resource's output or a config value would be."""
    return pulumi.Output.from_input(value)


def _send_dict(endpoint: str) -> dict[str, str]:
    return {"setting": "send", "endpoint": endpoint, "token": FORM_TOKEN}


LOG_STREAM_FORMS: dict[str, Callable[[], Any]] = {
    "dataclass": lambda: render_kv.LogStream("send", FORM_ENDPOINT, FORM_TOKEN),
    "dict": lambda: _send_dict(FORM_ENDPOINT),
    "output-of-dict": lambda: _known(FORM_ENDPOINT).apply(_send_dict),
    "output-of-dataclass": lambda: _known(FORM_ENDPOINT).apply(
        lambda ep: render_kv.LogStream("send", ep, FORM_TOKEN)
    ),
    "output-of-dict-with-output-token": lambda: _known(FORM_ENDPOINT).apply(
        lambda ep: {"setting": "send", "endpoint": ep, "token": _known(FORM_TOKEN)}
    ),
    "dict-with-output-endpoint": lambda: {
        "setting": "send",
        "endpoint": _known(FORM_ENDPOINT),
        "token": FORM_TOKEN,
    },
    "dict-with-output-token": lambda: {
        "setting": "send",
        "endpoint": FORM_ENDPOINT,
        "token": _known(FORM_TOKEN),
    },
    "dataclass-with-outputs": lambda: render_kv.LogStream(
        _known("send"), _known(FORM_ENDPOINT), _known(FORM_TOKEN)
    ),
}


def _log_stream_program(form: Callable[[], Any] | None) -> Callable[[], None]:
    def program() -> None:
        kv = render_kv.KeyValue("cache", **CACHE, log_stream=None if form is None else form())
        # What a program exports is in the state too (the stack's outputs).
        pulumi.export("logStream", kv.log_stream)

    return program


@pytest.mark.parametrize("form", list(LOG_STREAM_FORMS))
def test_the_log_stream_token_is_secret_in_every_form(
    engine: Engine, emu: Emulator, form: str
) -> None:
    program = _log_stream_program(LOG_STREAM_FORMS[form])
    assert engine.preview(program).ops == {"cache": "create"}
    engine.up(program)
    kv_id = engine.resource("cache").id
    assert emu.backend.log_stream_token(kv_id) == FORM_TOKEN  # it was sent
    wanted = {"setting": "send", "endpoint": FORM_ENDPOINT, "token": FORM_TOKEN}
    state = engine.resource("cache")
    assert state.inputs["logStream"] == wanted
    assert state.outputs["logStream"] == wanted
    assert FORM_TOKEN not in engine.state_json(), f"{form}: the token is plain in the state"
    assert engine.up(program).ops == {"cache": "same"}
    assert engine.refresh().ops == {"cache": "same"}
    assert FORM_TOKEN not in engine.state_json(), f"{form}: plain after a refresh"
    engine.destroy()


def test_no_log_stream_leaves_it_out(engine: Engine) -> None:
    engine.up(_log_stream_program(None))
    assert "logStream" not in engine.resource("cache").inputs
    engine.up(_log_stream_program(lambda: _known("drop").apply(lambda s: {"setting": s})))
    assert engine.resource("cache").inputs["logStream"] == {"setting": "drop"}
    engine.destroy()


# Where the secret sits in what the SDK sends the engine. (The harness's state cannot show
# it: the SDK's mock monitor lifts a nested secret to the whole dict as it deserializes.)
WHOLE_VALUE_SECRET = {"output-of-dict", "output-of-dataclass", "output-of-dict-with-output-token"}


def _registered_log_stream(engine: Engine, form: Callable[[], Any]) -> Any:
    """``logStream`` serialized by the SDK as for RegisterResource, in a real program run."""
    captured: dict[str, Any] = {}

    async def serialize() -> str:
        value = resource_module._log_stream(form())
        captured["wire"] = await rpc.serialize_property(value, [], "logStream", None)
        return "done"

    def program() -> None:
        pulumi.export("serialized", pulumi.Output.from_input(serialize()))

    run_program(program, engine, preview=False)
    return captured["wire"]


@pytest.mark.parametrize("form", list(LOG_STREAM_FORMS))
def test_only_the_token_is_secret_unless_the_whole_value_is_an_output(
    engine: Engine, form: str
) -> None:
    wire = _registered_log_stream(engine, LOG_STREAM_FORMS[form])
    if form in WHOLE_VALUE_SECRET:
        # Its fields are not known when the resource registers: the value is secret whole.
        assert is_secret(wire)
        assert reveal(wire)["token"] == FORM_TOKEN
    else:
        assert wire["setting"] == "send"
        assert wire["endpoint"] == FORM_ENDPOINT
        assert is_secret(wire["token"])
        assert reveal(wire["token"]) == FORM_TOKEN


def test_a_log_stream_without_a_token_stays_readable(engine: Engine) -> None:
    drop = _registered_log_stream(engine, lambda: _known("drop").apply(lambda s: {"setting": s}))
    assert drop == {"setting": "drop"}
    send = _registered_log_stream(engine, lambda: {"setting": "send", "endpoint": FORM_ENDPOINT})
    assert send == {"setting": "send", "endpoint": FORM_ENDPOINT}
