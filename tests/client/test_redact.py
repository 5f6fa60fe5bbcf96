"""_redact: every shape of credential is scrubbed, ordinary text is left alone."""

from __future__ import annotations

import string

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pulumi_render_kv.client import redact
from pulumi_render_kv.client._redact import summarize_body

from ._fakes import API_KEY, PASSWORD, connection_info_json

ALNUM = string.ascii_letters + string.digits


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            f"rediss://red-abc:{PASSWORD}@oregon-keyvalue.render.com:6379",
            "rediss://red-abc:***@oregon-keyvalue.render.com:6379",
        ),
        (f"redis://default:{PASSWORD}@red-abc:6379", "redis://default:***@red-abc:6379"),
        (f"redis://:{PASSWORD}@host:6379/0", "redis://:***@host:6379/0"),
        (
            f" REDISCLI_AUTH={PASSWORD} valkey-cli --user red-abc -h h -p 6379 --tls",
            " REDISCLI_AUTH=*** valkey-cli --user red-abc -h h -p 6379 --tls",
        ),
        (f"valkey-cli -a {PASSWORD} -h host", "valkey-cli -a *** -h host"),
        (f"redis-cli --pass {PASSWORD}", "redis-cli --pass ***"),
        (f"Authorization: Bearer {API_KEY}", "Authorization: ***"),
        (f"sent Bearer {API_KEY} to the API", "sent Bearer *** to the API"),
        (f"key {API_KEY} is invalid", "key rnd_*** is invalid"),
        (f"https://x.test/?password={PASSWORD}&a=1", "https://x.test/?password=***&a=1"),
        (f'{{"token": "{PASSWORD}"}}', '{"token": "***"}'),
        (f"api_key={PASSWORD}", "api_key=***"),
    ],
)
def test_redact_known_shapes(text: str, expected: str) -> None:
    """Each documented credential shape is replaced by ***, keeping the text around it."""
    assert redact(text) == expected


def test_redact_leaves_plain_text_alone() -> None:
    """Text without credentials, including ids, hosts and URLs without userinfo, is unchanged."""
    text = (
        "Render API rejected PATCH /key-value/red-d8k3stdodlmc73btr2q0: 400 Bad Request: "
        "plan downgrade from pro to starter is not allowed (https://api.render.com/v1, oregon)"
    )
    assert redact(text) == text


def test_redact_explicit_secret_of_any_shape() -> None:
    """An exact secret passed by the caller is removed wherever it appears."""
    assert redact("the key is abc-123_secret!", secrets=["abc-123_secret!"]) == "the key is ***"


def test_redact_ignores_empty_secrets() -> None:
    """Empty or None secrets are not substituted."""
    assert redact("a b c", secrets=["", None]) == "a b c"


@pytest.mark.parametrize("secret", ["k", "k7", "k7!"])
def test_redact_short_secrets_as_whole_tokens(secret: str) -> None:
    """A secret shorter than 4 characters is still removed, but only where it stands alone:
    masking it inside other words would shred the text without protecting anything."""
    text = f"key {secret} refused; {secret}, again: '{secret}' ({secret})"
    assert redact(text, secrets=[secret]) == "key *** refused; ***, again: '***' (***)"
    words = "k7x ak7 kk77 key"
    assert redact(words, secrets=[secret]) == words


def test_redact_short_and_long_secrets_together() -> None:
    """The long one goes first, so a short secret inside it cannot leave a remnant."""
    assert redact("ab and xab-cd", secrets=["ab", "xab-cd"]) == "*** and ***"


def test_redact_connection_info_strings() -> None:
    """None of Render's connection-info strings keeps the password."""
    for value in connection_info_json().values():
        assert PASSWORD not in redact(value)


@given(password=st.text(alphabet=ALNUM + "-._~!$&'()*+,;=%", min_size=8, max_size=64))
def test_redact_url_password_property(password: str) -> None:
    """Whatever characters a URL password holds, it never survives redaction."""
    text = f"connect to rediss://red-abc:{password}@oregon-keyvalue.render.com:6379 failed"
    assert password not in redact(text)


@given(password=st.text(alphabet=ALNUM, min_size=8, max_size=64))
def test_redact_cli_password_property(password: str) -> None:
    """REDISCLI_AUTH values never survive redaction."""
    assert password not in redact(f" REDISCLI_AUTH={password} valkey-cli --tls")


def test_summarize_body_redacts_then_truncates() -> None:
    """Body excerpts are one line, redacted, and cut to the limit with an ellipsis."""
    body = f"<html>\n  rediss://u:{PASSWORD}@h  \n" + "x" * 500
    summary = summarize_body(body.encode(), limit=60)
    assert PASSWORD not in summary
    assert "\n" not in summary
    assert summary.startswith("<html> rediss://u:***@h xxx")
    assert len(summary) == 60
    assert summary.endswith("…")
