"""The TLS gate's pre-login policy, without sockets: what each request is answered.

The same rules are checked end to end, through TLS and a real server, in test_dataplane.py.
"""

from __future__ import annotations

import pytest

from pulumi_render_kv.emulator import resp
from pulumi_render_kv.emulator._gate_policy import (
    ALLOWLIST_ERROR,
    AUTH_ARITY,
    HELLO_NOAUTH,
    NOAUTH,
    OK,
    PREAUTH_MAX_FAILURES,
    WRONGPASS,
    Authenticate,
    Preauth,
    ReplyToClient,
    protocol_error,
)

USER = b"red-aaaaaaaaaaaaaaaaaaaa"


def _session() -> Preauth:
    return Preauth(USER, admitted=True)


def test_render_and_redis_wording_is_kept_byte_for_byte() -> None:
    assert ALLOWLIST_ERROR == b"-ERR AUTH failed: Client IP address is not in the allowlist\r\n"
    assert WRONGPASS == b"-WRONGPASS invalid username-password pair or user is disabled.\r\n"
    assert NOAUTH == b"-NOAUTH Authentication required.\r\n"
    assert HELLO_NOAUTH.startswith(b"-NOAUTH HELLO must be called with the client already")
    assert protocol_error(resp.ProtocolError("invalid bulk length")) == (
        b"-ERR Protocol error: invalid bulk length\r\n"
    )


def test_a_client_outside_the_allow_list_gets_renders_error_whatever_it_sends() -> None:
    for args in ([b"PING"], [b"AUTH", b"pw"], [b"QUIT"]):
        assert Preauth(USER, admitted=False).on_request(args) == ReplyToClient(
            ALLOWLIST_ERROR, close=True
        )


@pytest.mark.parametrize(
    ("args", "reply"),
    [
        ([b"PING"], NOAUTH),
        ([b"get", b"k"], NOAUTH),
        ([b"AUTH"], AUTH_ARITY),
        ([b"AUTH", b"a", b"b", b"c"], AUTH_ARITY),
        ([b"AUTH", b"default", b"anything"], WRONGPASS),
        ([b"HELLO", b"3"], HELLO_NOAUTH),
        ([b"HELLO", b"3", b"SETNAME", b"x"], HELLO_NOAUTH),
        ([b"HELLO", b"3", b"AUTH", b"default", b"pw"], WRONGPASS),
    ],
)
def test_before_login_only_credentials_for_the_instance_user_go_on(
    args: list[bytes], reply: bytes
) -> None:
    assert _session().on_request(args) == ReplyToClient(reply)


def test_credentials_are_forwarded_as_the_instance_user() -> None:
    """A one-argument AUTH is the instance user's; HELLO goes on exactly as sent."""
    assert _session().on_request([b"auth", b"pw"]) == Authenticate(
        resp.encode_request([b"AUTH", USER, b"pw"])
    )
    assert _session().on_request([b"AUTH", USER, b"pw"]) == Authenticate(
        resp.encode_request([b"AUTH", USER, b"pw"])
    )
    hello = [b"HELLO", b"3", b"SETNAME", b"n", b"AUTH", USER, b"pw"]
    assert _session().on_request(hello) == Authenticate(resp.encode_request(hello))


def test_quit_is_answered_and_closes() -> None:
    assert _session().on_request([b"QUIT"]) == ReplyToClient(OK, close=True)


def test_the_servers_refusal_is_relayed_and_failures_eventually_close() -> None:
    session = _session()
    refusal = b"-WRONGPASS invalid username-password pair or user is disabled.\r\n"
    for _ in range(PREAUTH_MAX_FAILURES - 2):
        assert session.on_request([b"PING"]) == ReplyToClient(NOAUTH)
    assert session.on_server_refusal(refusal) == ReplyToClient(refusal)
    assert session.on_request([b"PING"]) == ReplyToClient(NOAUTH, close=True)
