"""What the doctor observed, as plain data: the input of every check (``_checks``).

The probes (``_probe``, ``_api``) fill these in; nothing here does I/O, so a test can build the
facts of any situation and ask for its verdicts.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from ._urls import RedisUrl


class Tcp(StrEnum):
    CONNECTED = "connected"
    REFUSED = "refused"  # nothing listens (or a suspended instance)
    TIMEOUT = "timeout"  # a dropped SYN: firewall, wrong host, dead host
    UNREACHABLE = "unreachable"  # no route


class Transport(StrEnum):
    """What the endpoint speaks, as the probe found out."""

    PLAIN = "plain"  # RESP answered on a plain connection
    TLS = "tls"  # a TLS handshake completed
    TLS_UNTRUSTED = "tls_untrusted"  # TLS, but the certificate failed verification
    NEEDS_TLS = "needs_tls"  # plain RESP got no answer, a TLS handshake then worked
    NOT_TLS = "not_tls"  # the TLS handshake failed: the port speaks something else
    SILENT = "silent"  # neither plain RESP nor TLS answered


@dataclass(frozen=True)
class Maintenance:
    id: str
    type: str | None
    state: str | None
    scheduled_at: datetime | None
    pending_by: datetime | None


@dataclass(frozen=True)
class Metrics:
    """Render's latest metrics for the instance (``/metrics/…``), when an API key was given."""

    memory_bytes: float | None = None
    active_connections: float | None = None
    cpu: float | None = None


@dataclass(frozen=True)
class InstanceFacts:
    """The instance as Render's API describes it."""

    id: str
    name: str
    plan: str
    region: str
    status: str
    maxmemory_policy: str | None
    persistence_mode: str | None
    allow_list: tuple[str, ...]
    version: str | None
    internal_url: RedisUrl | None = None
    external_url: RedisUrl | None = None
    maintenance: Maintenance | None = None
    metrics: Metrics | None = None
    # Why maintenance or metrics could not be read (an API without them, a 404): None when read.
    maintenance_unread: str | None = None
    metrics_unread: str | None = None


@dataclass(frozen=True)
class Probe:
    """What one URL's endpoint did, step by step; a step not reached stays None."""

    url: RedisUrl
    addresses: tuple[str, ...] | None = None  # DNS answer; None when the lookup failed
    dns_error: str | None = None
    tcp: Tcp | None = None
    tcp_error: str | None = None
    transport: Transport | None = None
    tls_error: str | None = None
    # The server's first error line, if it refused us before or at login (NOAUTH, WRONGPASS,
    # the allow list's "AUTH failed: Client IP address is not in the allowlist").
    refusal: str | None = None
    # Whether our credentials (if any) were accepted; None when no AUTH was sent.
    authenticated: bool | None = None
    # The reply to AUTH when the server said credentials were not needed.
    auth_note: str | None = None
    info: dict[str, str] | None = None
    connect_ms: float | None = None

    @property
    def connected(self) -> bool:
        """Logged in (or no login needed) and INFO answered: the URL works."""
        return self.info is not None


@dataclass(frozen=True)
class Context:
    """What the person told the doctor, and what it knows of where it runs."""

    workload: str | None = None  # "queue" | "cache" | "session"
    # True when RENDER=true is set (Render sets it in every service it runs).
    inside_render: bool = False
    label: str = ""  # the stack output's name, say
    timeout: float = 5.0
    api_key_given: bool = False


@dataclass(frozen=True)
class Observation:
    """Everything known about one target."""

    context: Context
    instance: InstanceFacts | None = None
    api_error: str | None = None  # the API could not tell (a 401, a 404, a timeout)
    probe: Probe | None = None
    url_kind: str = "unknown"  # "internal" | "external" | "unknown"
