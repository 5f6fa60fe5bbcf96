"""_settings and ClientLimits: precedence, safety checks, secrecy, limit parsing."""

from __future__ import annotations

import copy
import pickle
import re

import pytest
from pydantic import SecretStr

from pulumi_render_kv.client import (
    DEFAULT_BASE_URL,
    ClientLimits,
    Rate,
    RenderConfigError,
    RenderSettings,
    Timeouts,
)

from ._fakes import API_KEY


def test_explicit_arguments_win_over_environment() -> None:
    """Explicit values beat RENDER_* variables."""
    env = {
        "RENDER_API_KEY": "rnd_fromEnvironment000",
        "RENDER_OWNER_ID": "tea-env",
        "RENDER_API_URL": "https://env.example.com/v1",
        "RENDER_API_CLIENT_LIMITS": "off",
    }
    s = RenderSettings.resolve(
        api_key=API_KEY,
        owner_id="tea-arg",
        base_url="https://arg.example.com/v1/",
        limits=ClientLimits(),
        environ=env,
    )
    assert s.api_key.get_secret_value() == API_KEY
    assert s.owner_id == "tea-arg"
    assert s.base_url == "https://arg.example.com/v1"
    assert s.limits == ClientLimits()


def test_environment_fills_what_is_not_given() -> None:
    """Without arguments, the RENDER_* variables supply key, owner, URL and limits."""
    env = {
        "RENDER_API_KEY": f"  {API_KEY}\n",
        "RENDER_OWNER_ID": "tea-env",
        "RENDER_API_URL": "http://127.0.0.1:8081/v1",
        "RENDER_API_CLIENT_LIMITS": "get=10/s",
    }
    s = RenderSettings.resolve(environ=env)
    assert s.api_key.get_secret_value() == API_KEY
    assert s.owner_id == "tea-env"
    assert s.base_url == "http://127.0.0.1:8081/v1"
    assert s.limits == ClientLimits(get=Rate(10, 1.0))


def test_defaults() -> None:
    """Base URL, owner, limits, timeouts and retry policy default to Render's documented values."""
    s = RenderSettings.resolve(api_key=SecretStr(API_KEY), environ={})
    assert s.base_url == DEFAULT_BASE_URL == "https://api.render.com/v1"
    assert s.owner_id is None
    assert s.limits == ClientLimits(get=Rate(400, 60), write=Rate(30, 60), create=Rate(20, 3600))
    assert (s.timeouts.connect, s.timeouts.read) == (10.0, 60.0)
    assert (s.retry.deadline, s.retry.max_retry_after) == (300.0, 120.0)
    assert s.retry.max_attempts >= 1000  # only a safety cap: the deadline bounds retries


@pytest.mark.parametrize("key", [None, "", "   "])
def test_missing_api_key_is_a_clear_error(key: str | None) -> None:
    """No key anywhere → RenderConfigError naming RENDER_API_KEY and render:apiKey."""
    with pytest.raises(RenderConfigError) as info:
        RenderSettings.resolve(api_key=key, environ={})
    assert str(info.value).startswith(
        "No Render API key: set the environment variable RENDER_API_KEY or the Pulumi secret "
        "config `render:apiKey`"
    )
    assert isinstance(info.value, ValueError)


@pytest.mark.parametrize(
    "url",
    [
        "http://api.render.com/v1",
        "http://10.0.0.5:8080/v1",
        "http://localhost.evil.com/v1",
        "http://[2001:db8::1]/v1",
    ],
)
def test_plain_http_to_non_loopback_is_refused(url: str) -> None:
    """Plain http:// is refused for any host that is not loopback, saying why."""
    with pytest.raises(
        RenderConfigError,
        match=r"^Refusing plain http:// to .*: the API key would travel unencrypted",
    ):
        RenderSettings.resolve(api_key=API_KEY, base_url=url, environ={})


@pytest.mark.parametrize(
    "url",
    [
        "http://localhost:8080/v1",
        "http://127.0.0.1:1/v1",
        "http://127.9.8.7/v1",
        "http://[::1]:9/v1",
    ],
)
def test_plain_http_to_loopback_is_allowed(url: str) -> None:
    """http:// to localhost, 127.0.0.0/8 and ::1 is allowed (the local emulator)."""
    assert RenderSettings.resolve(api_key=API_KEY, base_url=url, environ={}).base_url == url


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("ftp://api.render.com/v1", "must be an absolute https:// URL"),
        ("api.render.com/v1", "must be an absolute https:// URL"),
        ("https://user:pw@api.render.com/v1", "must not contain credentials"),
    ],
)
def test_bad_base_urls(url: str, message: str) -> None:
    """Other schemes, relative URLs and URLs with credentials are refused."""
    with pytest.raises(RenderConfigError, match=message) as info:
        RenderSettings.resolve(api_key=API_KEY, base_url=url, environ={})
    assert "pw" not in str(info.value)


OTHER_KEY = "rnd_AnotherKeyNotTheConfiguredOne42"


@pytest.mark.parametrize(
    ("key", "url"),
    [
        (API_KEY, API_KEY),  # the key pasted into the URL's place
        (API_KEY, f"  {API_KEY}  "),
        (API_KEY, f"https://api.render.com/v1?key={API_KEY}"),
        (API_KEY, f"https://api.render.com/v1/{API_KEY}"),
        (API_KEY, f"http://{API_KEY}/v1"),
        (API_KEY, f"https://{API_KEY}.example.com/v1"),
        (API_KEY, OTHER_KEY),  # someone's key, not the configured one: rnd_… is a key
        ("my-own-key-8d2f", "https://api.render.com/v1/my-own-key-8d2f"),  # any shape, exactly
        ("k7", "k7"),  # a short key, pasted as the whole URL
    ],
)
@pytest.mark.parametrize("source", ["environment", "argument"])
def test_an_api_key_in_the_url_is_refused_without_echoing_it(
    key: str, url: str, source: str
) -> None:
    """RENDER_API_URL (environment) or base_url (render:apiUrl) holding a key: refused, and the
    error shows neither the configured key nor any rnd_ key."""
    environ = {"RENDER_API_KEY": key}
    if source == "environment":
        environ["RENDER_API_URL"] = url
        call = lambda: RenderSettings.resolve(environ=environ)  # noqa: E731
    else:
        call = lambda: RenderSettings.resolve(base_url=url, environ=environ)  # noqa: E731
    with pytest.raises(RenderConfigError, match="must not contain credentials") as info:
        call()
    text = str(info.value) + repr(info.value)
    # A key of 4+ characters nowhere; a shorter one nowhere as a word of its own.
    assert re.search(rf"(?<![A-Za-z0-9]){re.escape(key)}(?![A-Za-z0-9])", text) is None
    assert key not in text or len(key) < 4
    assert OTHER_KEY not in text
    assert re.search(r"rnd_(?!\*\*\*)", text) is None
    assert "RENDER_API_KEY" in text
    assert "render:apiKey" in text
    where = "RENDER_API_URL" if source == "environment" else "render:apiUrl"
    assert where in text


def test_a_short_key_is_never_shown_but_refuses_only_a_url_that_is_the_key() -> None:
    """A 1-3 character key is masked where it stands alone in a URL error, and does not make a
    good URL that merely contains the same word ("v1") a refused one."""
    assert RenderSettings.resolve(api_key="v1", environ={}).base_url == DEFAULT_BASE_URL
    with pytest.raises(RenderConfigError) as info:
        RenderSettings.resolve(api_key="k7", base_url="ftp://k7.example.com/v1", environ={})
    assert str(info.value).startswith(
        "The Render API URL (`render:apiUrl`) 'ftp://***.example.com/v1' must be an absolute"
    )


def test_an_unparsable_url_is_not_echoed_with_a_key_in_it() -> None:
    """Even httpx's own complaint about a URL is scrubbed before it reaches the error."""
    url = f"https://api.render.com:{API_KEY}/v1"
    with pytest.raises(RenderConfigError) as info:
        RenderSettings.resolve(api_key=API_KEY, base_url=url, environ={})
    assert API_KEY not in str(info.value)


def test_repr_and_str_show_no_key() -> None:
    """repr() and str() of settings hide the key."""
    s = RenderSettings.resolve(api_key=API_KEY, environ={})
    assert API_KEY not in repr(s)
    assert API_KEY not in str(s)
    assert "SecretStr('**********')" in repr(s)
    assert API_KEY not in repr(s.api_key)


def test_settings_refuse_pickling() -> None:
    """Pickling settings fails loudly instead of writing the key into a blob."""
    s = RenderSettings.resolve(api_key=API_KEY, environ={})
    with pytest.raises(TypeError, match="holds the Render API key and must not be pickled"):
        pickle.dumps(s)
    assert copy.deepcopy(s) is s


def test_bad_limits_env_is_a_clear_error() -> None:
    """A malformed RENDER_API_CLIENT_LIMITS names the variable and the expected format."""
    with pytest.raises(RenderConfigError) as info:
        RenderSettings.resolve(api_key=API_KEY, environ={"RENDER_API_CLIENT_LIMITS": "fast"})
    assert str(info.value) == (
        "RENDER_API_CLIENT_LIMITS: bad client limits 'fast': expected \"off\" or comma-separated "
        'bucket=count/unit, e.g. "get=400/m,write=30/m,create=20/h".'
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("off", ClientLimits.off()),
        ("OFF", ClientLimits.off()),
        ("get=400/m,write=30/m,create=20/h", ClientLimits()),
        ("create=5/h", ClientLimits(create=Rate(5, 3600))),
        ("get=off, write=2/s", ClientLimits(get=None, write=Rate(2, 1))),
    ],
)
def test_client_limits_parse(text: str, expected: ClientLimits) -> None:
    """The limits syntax: off, or bucket=count/unit; unnamed buckets keep Render's defaults."""
    assert ClientLimits.parse(text) == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("reads=1/m", 'expected "off" or comma-separated'),
        ("get=1/fortnight", "bad rate '1/fortnight': expected count/unit with unit s, m or h"),
        ("get=0/m", "a rate needs count >= 1"),
        ("get=1/m,get=2/m", "get is given twice"),
        (",", 'expected "off" or comma-separated'),
    ],
)
def test_client_limits_parse_errors(text: str, message: str) -> None:
    """Malformed limit strings raise ValueError naming the problem."""
    with pytest.raises(ValueError, match=message):
        ClientLimits.parse(text)


def test_client_limits_str_round_trips() -> None:
    """str(limits) is the same syntax parse() reads."""
    for limits in (ClientLimits(), ClientLimits(get=Rate(7, 1), create=None), ClientLimits.off()):
        assert ClientLimits.parse(str(limits)) == limits
    assert str(ClientLimits()) == "get=400/m,write=30/m,create=20/h"


def test_timeout_env_sets_read_and_write_and_caps_connect() -> None:
    """RENDER_API_TIMEOUT bounds each request; connect and pool never exceed it."""
    s = RenderSettings.resolve(api_key=API_KEY, environ={"RENDER_API_TIMEOUT": "1.5"})
    assert (s.timeouts.read, s.timeouts.write) == (1.5, 1.5)
    assert (s.timeouts.connect, s.timeouts.pool) == (1.5, 1.5)
    assert RenderSettings.resolve(api_key=API_KEY, environ={}).timeouts == Timeouts()


@pytest.mark.parametrize("text", ["soon", "0", "-1", "nan", "1e9"])
def test_bad_timeout_env_is_a_clear_error(text: str) -> None:
    """A bad RENDER_API_TIMEOUT names the variable and the range."""
    with pytest.raises(RenderConfigError, match="RENDER_API_TIMEOUT must be a number of seconds"):
        RenderSettings.resolve(api_key=API_KEY, environ={"RENDER_API_TIMEOUT": text})
