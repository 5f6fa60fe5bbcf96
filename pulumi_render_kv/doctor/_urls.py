"""Connection strings: parsed, classified and masked. Pure.

Render hands out two URLs per instance (see ``../shared/docs/render-api-keyvalue.md`` §2.7):

- internal ``redis://red-<20>:6379`` (``redis://default:PASSWORD@red-…:6379`` once internal
  authentication is on): plain RESP, only inside Render's private network, where ``red-…``
  resolves;
- external ``rediss://red-<20>:PASSWORD@<region>-keyvalue.render.com:6379``: TLS, the password
  of the ACL user named after the instance, and only from addresses in the IP allow list.
"""

from __future__ import annotations

import re
import urllib.parse
from dataclasses import dataclass, field, replace

DEFAULT_PORT = 6379
MASK = "***"
INSTANCE_ID = re.compile(r"red-[a-z0-9]{20}")
# Render's public endpoints: <region>-keyvalue.render.com (testing: …localhost.render.com).
_EXTERNAL_HOST = re.compile(r"[a-z]+-keyvalue\.(?:[a-z0-9.-]+\.)?render\.com", re.IGNORECASE)


class UrlError(ValueError):
    """A connection string that is not a redis:// or rediss:// URL (never quotes a password)."""


@dataclass(frozen=True)
class RedisUrl:
    """One connection string; ``password`` never shows in ``repr`` or :meth:`masked`."""

    scheme: str  # "redis" (plain) or "rediss" (TLS)
    host: str
    port: int
    username: str | None = None
    password: str | None = field(default=None, repr=False)

    @property
    def tls(self) -> bool:
        return self.scheme == "rediss"

    @property
    def has_credentials(self) -> bool:
        return self.password is not None

    @property
    def address(self) -> str:
        """``host:port``, IPv6 bracketed."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}"

    def with_scheme(self, scheme: str) -> RedisUrl:
        return replace(self, scheme=scheme)

    def masked(self) -> str:
        """The URL with its password as ``***``: the only form that is ever printed."""
        return self._text(None if self.password is None else MASK)

    def reveal(self) -> str:
        """The URL with its password (to hand to a client; never to print)."""
        return self._text(self.password)

    def _text(self, password: str | None) -> str:
        userinfo = ""
        if self.username is not None or password is not None:
            user = urllib.parse.quote(self.username or "", safe="")
            secret = "" if password is None else ":" + urllib.parse.quote(password, safe="*")
            userinfo = f"{user}{secret}@"
        return f"{self.scheme}://{userinfo}{self.address}"

    def same_endpoint(self, other: RedisUrl) -> bool:
        """Same host and port, whatever the scheme and credentials."""
        return self.host.lower() == other.host.lower() and self.port == other.port


def parse_url(text: str) -> RedisUrl:
    """A ``redis://`` or ``rediss://`` URL; :class:`UrlError` names what is wrong, masked."""
    raw = text.strip()
    try:
        parts = urllib.parse.urlsplit(raw)
        port = parts.port
    except ValueError as error:
        raise UrlError(f"not a valid URL ({_masked_text(raw)}): {error}") from None
    if parts.scheme not in ("redis", "rediss"):
        # Something without a scheme may be a pasted password: it is not quoted.
        shown = f"{_masked_text(raw)!r}" if "://" in raw else "the value"
        raise UrlError(
            f"{shown} is not a Key Value URL: it must start with redis:// "
            "(internal) or rediss:// (external, TLS)"
        )
    if not parts.hostname:
        raise UrlError(f"{_masked_text(raw)!r} has no host")
    username = urllib.parse.unquote(parts.username) if parts.username else None
    password = urllib.parse.unquote(parts.password) if parts.password is not None else None
    return RedisUrl(
        scheme=parts.scheme,
        host=parts.hostname,
        port=port or DEFAULT_PORT,
        username=username,
        password=password,
    )


def _masked_text(raw: str) -> str:
    """A URL as typed, its password (anything between ``user:`` and ``@``) masked."""
    return re.sub(r"(://[^:/@\s]*:)[^@\s]*@", rf"\g<1>{MASK}@", raw)


def is_internal_host(host: str) -> bool:
    """Render's private-network hostname: the instance id itself, ``red-…``."""
    return INSTANCE_ID.fullmatch(host.lower()) is not None


def is_external_host(host: str) -> bool:
    """Render's public Key Value endpoint host, ``<region>-keyvalue.render.com``."""
    return _EXTERNAL_HOST.fullmatch(host) is not None


def instance_id_of(url: RedisUrl) -> str | None:
    """The ``red-…`` id a URL names: the internal host, or the external URL's user."""
    if is_internal_host(url.host):
        return url.host.lower()
    if url.username and INSTANCE_ID.fullmatch(url.username):
        return url.username
    return None
