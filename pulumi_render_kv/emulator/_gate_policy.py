"""The TLS gate's policy: which clients are admitted, and what each is answered before login.

Render's external URL is ``rediss://<instance_id>:<password>@<host>:6379``: TLS, a password for
the ACL user named after the instance, and only clients whose address is in the instance's IP
allow list. Its internal URL has no password. Redis/Valkey cannot give one port a password and
another port none (ACL users are server-wide, and the ``default`` user must stay password-less
for the internal URL), so the gate (:mod:`._proxy`) does what the server cannot, deciding here:

1. the peer address is checked against the *current* allow list when the connection arrives; a
   refused client still gets a TLS session and is told, in Render's words,
   ``AUTH failed: Client IP address is not in the allowlist``, then the connection is closed;
2. before authentication every command except AUTH / HELLO ... AUTH / QUIT gets NOAUTH, and only
   credentials for the ACL user named after the instance go on (a one-argument
   ``AUTH <password>`` is taken as that user) -- so ``AUTH default ...`` cannot reach the
   password-less default user;
3. the *server* judges the password: the gate sends the AUTH/HELLO this module builds on a fresh
   backend connection and starts piping bytes only when the server did not answer with an
   error. The session then runs as the ACL user (``ACL WHOAMI`` answers the instance id).

Pure: no sockets, no clock, no threads. :class:`Preauth` is one client's pre-login state.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass

from . import resp

Network = ipaddress.IPv4Network | ipaddress.IPv6Network

# Replies, spelled as Render (allowlist) and Redis/Valkey (the rest) spell them.
ALLOWLIST_ERROR = resp.error(b"ERR AUTH failed: Client IP address is not in the allowlist")
WRONGPASS = resp.error(b"WRONGPASS invalid username-password pair or user is disabled.")
NOAUTH = resp.error(b"NOAUTH Authentication required.")
HELLO_NOAUTH = resp.error(
    b"NOAUTH HELLO must be called with the client already authenticated, otherwise the "
    b"HELLO <proto> AUTH <user> <pass> option can be used to authenticate the client and "
    b"select the RESP protocol version at the same time"
)
AUTH_ARITY = resp.error(b"ERR wrong number of arguments for 'auth' command")
BACKEND_DOWN = resp.error(b"ERR Key Value instance is not reachable, try again later")
TOO_BIG = resp.error(b"ERR Protocol error: too big request before AUTH")
MAX_CLIENTS = resp.error(b"ERR max number of clients reached")
OK = resp.simple_string(b"OK")

# Before authentication a client gets little: Redis itself caps unauthenticated requests.
PREAUTH_LIMIT = 64 * 1024
PREAUTH_MAX_ARGS = 32
PREAUTH_MAX_BULK = 16 * 1024
PREAUTH_MAX_FAILURES = 10


def parse_allow_list(cidrs: Iterable[str]) -> tuple[Network, ...]:
    """CIDR blocks as networks; host bits are dropped like Go's net.ParseCIDR does for Render.

    Raises ValueError naming the bad block.
    """
    networks: list[Network] = []
    for cidr in cidrs:
        try:
            networks.append(ipaddress.ip_network(cidr, strict=False))
        except ValueError as error:
            raise ValueError(f"invalid CIDR block {cidr!r} in the IP allow list: {error}") from None
    return tuple(networks)


def address_admitted(address: str, networks: Iterable[Network]) -> bool:
    """Whether a peer address is inside one of the networks.

    IPv4-mapped IPv6 peers (``::ffff:127.0.0.1``, seen on dual-stack sockets) count as IPv4, and
    an address only matches networks of its own family: ``ipaddress`` would otherwise put every
    IPv4 address inside ``::/0``.
    """
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return any(ip.version == network.version and ip in network for network in networks)


def protocol_error(error: resp.ProtocolError) -> bytes:
    """Redis's reply to bytes it cannot parse (the connection is closed after it)."""
    return resp.error(b"ERR Protocol error: " + str(error).encode())


@dataclass(frozen=True)
class ReplyToClient:
    """Send ``data`` to the client; then close the connection if ``close``."""

    data: bytes
    close: bool = False


@dataclass(frozen=True)
class Authenticate:
    """Send ``request`` (an encoded AUTH or HELLO) to a fresh backend connection."""

    request: bytes


class Preauth:
    """One client from connection to login: what each of its requests is answered.

    ``admitted`` is the allow-list verdict taken when the client connected; a refused client's
    first request gets Render's allowlist error and the connection is closed.
    """

    def __init__(self, username: bytes, *, admitted: bool) -> None:
        self._username = username
        self._admitted = admitted
        self.failures = 0

    def on_request(self, args: list[bytes]) -> ReplyToClient | Authenticate:
        """The decision for one non-empty request."""
        if not self._admitted:
            return ReplyToClient(ALLOWLIST_ERROR, close=True)
        command = args[0].upper()
        if command == b"QUIT":
            return ReplyToClient(OK, close=True)
        if command == b"AUTH":
            return self._auth(args)
        if command == b"HELLO":
            return self._hello(args)
        return self._failure(NOAUTH)

    def _auth(self, args: list[bytes]) -> ReplyToClient | Authenticate:
        if len(args) not in (2, 3):
            return self._failure(AUTH_ARITY)
        if len(args) == 3 and args[1] != self._username:
            return self._failure(WRONGPASS)
        return Authenticate(resp.encode_request([b"AUTH", self._username, args[-1]]))

    def _hello(self, args: list[bytes]) -> ReplyToClient | Authenticate:
        credentials = _hello_credentials(args)
        if credentials is None:
            return self._failure(HELLO_NOAUTH)
        if credentials[0] != self._username:
            return self._failure(WRONGPASS)
        return Authenticate(resp.encode_request(args))

    def on_server_refusal(self, error_line: bytes) -> ReplyToClient:
        """The server answered the forwarded credentials with ``error_line``: relay it."""
        return self._failure(error_line)

    def _failure(self, data: bytes) -> ReplyToClient:
        # Like Redis, a client that keeps failing is eventually dropped rather than answered
        # forever (each failure may have cost the gate a backend connection).
        self.failures += 1
        return ReplyToClient(data, close=self.failures >= PREAUTH_MAX_FAILURES)


def _hello_credentials(args: list[bytes]) -> tuple[bytes, bytes] | None:
    """The ``AUTH user pass`` option of ``HELLO [protover [AUTH user pass] [SETNAME name]]``."""
    index = 2
    while index < len(args):
        option = args[index].upper()
        if option == b"AUTH" and index + 2 < len(args):
            return args[index + 1], args[index + 2]
        index += 3 if option == b"AUTH" else 2
    return None
