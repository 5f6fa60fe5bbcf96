"""The network side of a diagnosis: DNS, TCP, TLS, login and INFO for one URL, as facts.

Every step has the same bound (``timeout`` seconds), so a dead host answers in seconds. A step
that fails stops the probe; what it saw is kept in :class:`~._facts.Probe` for the checks. No
verdicts here: only what happened.
"""

from __future__ import annotations

import contextlib
import errno
import socket
import ssl
import threading
import time
from dataclasses import replace

from . import _resp
from ._facts import Probe, Tcp, Transport
from ._urls import RedisUrl

_NO_PASSWORD_CONFIGURED = "without any password configured"  # noqa: S105 - a reply text


class _Closed(Exception):
    """The server closed the connection before a complete reply."""


def resolve(host: str, port: int, timeout: float) -> list[str]:
    """The host's addresses; ``OSError`` when the lookup fails or takes longer than ``timeout``.

    ``getaddrinfo`` has no timeout of its own, so it runs in a daemon thread that is abandoned
    (not waited for) when it takes too long.
    """
    result: list[list[str]] = []
    failure: list[OSError] = []

    def lookup() -> None:
        try:
            infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
            result.append(list(dict.fromkeys(str(info[4][0]) for info in infos)))
        except OSError as error:
            failure.append(error)

    thread = threading.Thread(target=lookup, name=f"doctor-dns-{host}", daemon=True)
    thread.start()
    thread.join(timeout)
    if result:
        return result[0]
    if failure:
        raise failure[0]
    raise TimeoutError(f"no DNS answer within {timeout:g} s")


def _connect(address: str, port: int, timeout: float) -> socket.socket:
    return socket.create_connection((address, port), timeout=timeout)


def _tcp_failure(error: OSError) -> Tcp:
    if isinstance(error, ConnectionRefusedError):
        return Tcp.REFUSED
    if isinstance(error, TimeoutError):
        return Tcp.TIMEOUT
    if error.errno in (errno.ENETUNREACH, errno.EHOSTUNREACH):
        return Tcp.UNREACHABLE
    return Tcp.REFUSED if error.errno == errno.ECONNRESET else Tcp.UNREACHABLE


def _request(sock: socket.socket, *args: str) -> _resp.Reply:
    """Send one command, read its whole reply."""
    sock.sendall(_resp.encode(*args))
    data = b""
    while True:
        try:
            reply, _ = _resp.parse(data)
            return reply
        except _resp.Incomplete:
            pass
        try:
            chunk = sock.recv(65536)
        except ConnectionResetError:
            chunk = b""
        if not chunk:
            if data:
                raise _resp.NotResp(data)
            raise _Closed
        data += chunk


def _speaks_resp(address: str, port: int, timeout: float) -> bool:
    """Whether a plain connection gets a RESP reply to PING."""
    try:
        with _connect(address, port, timeout) as sock:
            _request(sock, "PING")
            return True
    except (OSError, _resp.NotResp, _Closed):
        return False


def _speaks_tls(address: str, port: int, timeout: float) -> bool:
    """Whether a TLS handshake completes (certificate not checked: only the protocol is)."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    try:
        with (
            _connect(address, port, timeout) as raw,
            context.wrap_socket(raw, server_hostname=None) as tls,
        ):
            tls.do_handshake()
            return True
    except (OSError, ssl.SSLError):
        return False


def _tls_context(ca_cert: str | None) -> ssl.SSLContext:
    # With a CA file only that CA is trusted (the emulator's); without one, the system's.
    return ssl.create_default_context(cafile=ca_cert)


def probe(url: RedisUrl, *, timeout: float, ca_cert: str | None = None) -> Probe:
    """Follow ``url`` as a client would, step by step, and report what each step saw."""
    try:
        addresses = resolve(url.host, url.port, timeout)
    except OSError as error:
        return Probe(url=url, dns_error=str(error) or type(error).__name__)
    facts = Probe(url=url, addresses=tuple(addresses))
    sock: socket.socket | None = None
    started = time.perf_counter()
    last_error: OSError | None = None
    address = addresses[0]
    for candidate in addresses:
        try:
            sock = _connect(candidate, url.port, timeout)
            address = candidate
            break
        except OSError as error:
            last_error = error
    if sock is None:
        assert last_error is not None
        return replace(
            facts,
            tcp=_tcp_failure(last_error),
            tcp_error=last_error.strerror or str(last_error) or type(last_error).__name__,
        )
    facts = replace(facts, tcp=Tcp.CONNECTED, connect_ms=1000 * (time.perf_counter() - started))
    with contextlib.ExitStack() as stack:
        stack.callback(sock.close)
        if url.tls:
            try:
                tls = _tls_context(ca_cert).wrap_socket(sock, server_hostname=url.host)
            except ssl.SSLCertVerificationError as error:
                return replace(
                    facts,
                    transport=Transport.TLS_UNTRUSTED,
                    tls_error=error.verify_message or str(error),
                )
            except (ssl.SSLError, OSError) as error:
                plain = _speaks_resp(address, url.port, timeout)
                return replace(
                    facts,
                    transport=Transport.NOT_TLS if plain else Transport.SILENT,
                    tls_error=_ssl_reason(error),
                )
            stack.callback(tls.close)
            session: socket.socket = tls
            facts = replace(facts, transport=Transport.TLS)
        else:
            session = sock
        return _log_in(session, url, facts, address, timeout)
    raise AssertionError("unreachable")  # pragma: no cover - the with block returns


def _ssl_reason(error: BaseException) -> str:
    if isinstance(error, TimeoutError):
        return "no TLS handshake in time"
    if isinstance(error, ssl.SSLError) and error.reason:
        return f"{error.reason.lower().replace('_', ' ')}"
    return str(error) or type(error).__name__


def _log_in(
    sock: socket.socket,
    url: RedisUrl,
    facts: Probe,
    address: str,
    timeout: float,
) -> Probe:
    """AUTH (if the URL has credentials), PING, INFO: the first refusal ends it."""
    plain = not url.tls
    try:
        if url.password is not None:
            args = ("AUTH", url.username, url.password) if url.username else ("AUTH", url.password)
            reply = _request(sock, *[a for a in args if a is not None])
            if plain:
                facts = replace(facts, transport=Transport.PLAIN)
            if reply.is_error and _NO_PASSWORD_CONFIGURED in (reply.value or ""):
                facts = replace(facts, auth_note="the server has no password set")
            elif reply.is_error:
                return replace(facts, refusal=reply.value, authenticated=False)
            else:
                facts = replace(facts, authenticated=True)
        reply = _request(sock, "PING")
        if plain:
            facts = replace(facts, transport=Transport.PLAIN)
        if reply.is_error:
            return replace(facts, refusal=reply.value)
        info = _request(sock, "INFO")
        if info.is_error or info.value is None:
            return replace(facts, refusal=info.value)
        return replace(facts, info=_resp.parse_info(info.value))
    except (OSError, _resp.NotResp, _Closed) as error:
        if plain and facts.transport is None:
            # No RESP answer to a plain client: is it a TLS endpoint?
            tls = _speaks_tls(address, url.port, timeout)
            return replace(
                facts,
                transport=Transport.NEEDS_TLS if tls else Transport.SILENT,
                tls_error=None if tls else _describe(error),
            )
        return replace(facts, tls_error=_describe(error))


def _describe(error: BaseException) -> str:
    if isinstance(error, _Closed):
        return "the server closed the connection without a reply"
    if isinstance(error, _resp.NotResp):
        return f"the server sent bytes that are not RESP ({error.data[:8]!r}…)"
    if isinstance(error, TimeoutError):
        return "no reply in time"
    return str(error) or type(error).__name__
