"""Identifiers, passwords and timestamps in Render's formats.

- Key Value ids: ``red-`` + 20 chars ``[a-z0-9]`` (Render's are xids, e.g.
  ``red-d8k3stdodlmc73btr2q0``); workspaces ``tea-…``, environments ``evm-…``, projects ``prj-…``,
  maintenance runs ``mrn-…``.
- Passwords: 32 chars ``[A-Za-z0-9]``.
- Timestamps: RFC 3339 UTC. Create responses carry nanoseconds, later reads microseconds (the
  nanoseconds rounded, as a Postgres ``timestamp`` column stores them), both
  printed the way Go's ``time.RFC3339Nano`` prints them (trailing zeros of the fraction dropped,
  e.g. the observed ``2026-06-09T16:25:25.48944232Z``), because that is what Render's Go API emits.
"""

from __future__ import annotations

import base64
import secrets
import string
import struct
from datetime import UTC, datetime

_ID_ALPHABET = string.ascii_lowercase + string.digits
_PASSWORD_ALPHABET = string.ascii_letters + string.digits

INSTANCE_PREFIX = "red-"
OWNER_PREFIX = "tea-"
ENVIRONMENT_PREFIX = "evm-"
PROJECT_PREFIX = "prj-"
MAINTENANCE_PREFIX = "mrn-"
ID_BODY_LENGTH = 20
PASSWORD_LENGTH = 32


def _random_body(length: int = ID_BODY_LENGTH) -> str:
    return "".join(secrets.choice(_ID_ALPHABET) for _ in range(length))


def new_instance_id() -> str:
    """A Key Value id: ``red-`` + 20 chars ``[a-z0-9]``."""
    return INSTANCE_PREFIX + _random_body()


def new_owner_id() -> str:
    """A workspace (team) id: ``tea-`` + 20 chars ``[a-z0-9]``."""
    return OWNER_PREFIX + _random_body()


def new_environment_id() -> str:
    """An environment id: ``evm-`` + 20 chars ``[a-z0-9]``."""
    return ENVIRONMENT_PREFIX + _random_body()


def new_project_id() -> str:
    """A project id: ``prj-`` + 20 chars ``[a-z0-9]``."""
    return PROJECT_PREFIX + _random_body()


def new_maintenance_id() -> str:
    """A maintenance run id: ``mrn-`` + 20 chars ``[a-z0-9]`` (the spec's pattern)."""
    return MAINTENANCE_PREFIX + _random_body()


def new_password() -> str:
    """A 32-char ``[A-Za-z0-9]`` password, like the ones in Render's connection strings."""
    return "".join(secrets.choice(_PASSWORD_ALPHABET) for _ in range(PASSWORD_LENGTH))


def new_request_id(sequence: int) -> str:
    """A ``Render-Request-Id`` value, shaped like Render's ``api-…/…-000750``."""
    return f"emulator/{secrets.token_hex(5)}-{sequence:06d}"


def format_timestamp(epoch_ns: int, *, nanoseconds: bool) -> str:
    """RFC 3339 UTC as Go's ``RFC3339Nano`` prints it; microseconds unless ``nanoseconds``."""
    if not nanoseconds:
        epoch_ns = round_to_microseconds(epoch_ns)
    seconds, fraction_ns = divmod(epoch_ns, 1_000_000_000)
    base = datetime.fromtimestamp(seconds, tz=UTC).strftime("%Y-%m-%dT%H:%M:%S")
    digits = f"{fraction_ns:09d}" if nanoseconds else f"{fraction_ns // 1000:06d}"
    digits = digits.rstrip("0")
    return f"{base}.{digits}Z" if digits else f"{base}Z"


def parse_timestamp(text: str) -> int:
    """Parse an RFC 3339 / ISO 8601 timestamp into epoch nanoseconds; ``ValueError`` if bad.

    Fractions of any length (up to nanoseconds) and any UTC offset are accepted.
    """
    value = text.strip()
    fraction_ns = 0
    if "." in value:
        head, _, rest = value.partition(".")
        digits = ""
        while rest and rest[0].isdigit():
            digits, rest = digits + rest[0], rest[1:]
        if not digits or len(digits) > 9:
            raise ValueError(f"bad fraction in {text!r}")
        fraction_ns = int(digits.ljust(9, "0"))
        value = head + rest
    if value.endswith(("Z", "z")):
        value = value[:-1] + "+00:00"
    parsed = datetime.fromisoformat(value)
    if parsed.tzinfo is None:
        raise ValueError(f"timestamp {text!r} has no time zone")
    return int(parsed.timestamp()) * 1_000_000_000 + fraction_ns


def round_to_microseconds(epoch_ns: int) -> int:
    """A timestamp as Postgres stores it (and Render reads it back): nearest microsecond."""
    return (epoch_ns + 500) // 1000 * 1000


def encode_cursor(sequence: int, resource_id: str) -> str:
    """An opaque cursor like Render's: base64 of 8 position bytes + the id's tail.

    Standard base64 (it may contain ``+``, ``/`` and ``=``), so clients must URL-encode it.
    """
    tail = resource_id.split("-", 1)[-1][-16:].encode()
    return base64.b64encode(struct.pack(">Q", sequence) + tail).decode()


def decode_cursor(cursor: str) -> int:
    """The position encoded by :func:`encode_cursor`; ``ValueError`` if it is not one of ours."""
    try:
        raw = base64.b64decode(cursor.encode(), validate=True)
    except (ValueError, UnicodeEncodeError) as exc:
        raise ValueError("not a cursor") from exc
    if len(raw) < 9:
        raise ValueError("not a cursor")
    (sequence,) = struct.unpack(">Q", raw[:8])
    return int(sequence)
