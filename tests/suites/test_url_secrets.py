"""A Render API key pasted where the API URL goes (issue 13): refused, and never echoed.

Both ways the provider gets a URL: ``RENDER_API_URL`` in its environment, and the stack config
``render:apiUrl`` that the engine hands to the provider's ``configure``.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from acceptance.conftest import PROJECT, ROOT, key_value_program
from acceptance.test_keyvalue import CACHE

from pulumi_render_kv.testing import Engine, EngineError, ProviderServer, secret

pytestmark = [pytest.mark.grpc]

KEY = "rnd_SECRETurlKEY7c2e9a41b5d3f680"


@pytest.mark.parametrize("source", ["RENDER_API_URL", "render:apiUrl"])
def test_an_api_key_in_the_api_url_is_refused_and_never_echoed(
    source: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("RENDER_API_KEY", "RENDER_API_URL", "RENDER_OWNER_ID"):
        monkeypatch.delenv(name, raising=False)
    env = {"RENDER_API_CLIENT_LIMITS": "off", "RENDER_OWNER_ID": "tea-d3p7t7buibrs738ekqeg"}
    config: dict[str, object] = {}
    if source == "RENDER_API_URL":
        env |= {"RENDER_API_KEY": KEY, "RENDER_API_URL": KEY}
    else:
        config = {"render:apiKey": secret(KEY), "render:apiUrl": KEY}
    with ProviderServer(cwd=ROOT, project=PROJECT, env=env, stderr_path=tmp_path / "err") as srv:
        engine = Engine(srv, config=config)
        with pytest.raises(EngineError) as caught:
            engine.up(key_value_program(**CACHE))
        stderr = srv.stderr_text()
    err = caught.value
    message = err.provider_message or str(err)
    assert "RenderConfigError" in message
    assert source in message
    assert "must not contain credentials ('***')" in message
    for text in (str(err), err.details or "", repr(err), message, stderr, engine.state_json()):
        assert KEY not in text
