"""Per-instance server configuration: an :class:`InstanceConfig` as Redis/Valkey settings.

One place says how an instance's memory limit, eviction policy, persistence mode and password
become server settings, both as command-line arguments at start and as ``CONFIG SET`` / ``ACL
SETUSER`` commands when they change live, and which files a persistent mode leaves in the
instance's directory.
"""

from __future__ import annotations

import re
import shutil
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import redis

from ._gate_policy import Network, parse_allow_list
from ._process import READY_TIMEOUT
from .plane import PERSISTENCE_MODES, DataPlaneError, InstanceConfig

__all__ = [
    "INSTANCE_ID",
    "apply_live",
    "delete_persisted_files",
    "run_checked",
    "server_args",
    "set_acl_user",
    "set_default_user",
    "validate",
]

# Redis's own default save points: the "snapshot" half of Render's persistence modes.
_SAVE_POINTS = (("3600", "1"), ("300", "100"), ("60", "10000"))
# What a server may have persisted in its directory (Redis 7 multi-part AOF, and the 6.2 file).
_PERSISTED_FILES = ("dump.rdb", "appendonlydir", "appendonly.aof")
# Instance ids name a directory and an ACL user; "_tls" (the CA's directory) can never match.
INSTANCE_ID = re.compile(r"[a-z0-9][a-z0-9-]{0,62}")


def validate(config: InstanceConfig) -> tuple[Network, ...]:
    """Reject configs the server would choke on later, with the field and the fix."""
    if not INSTANCE_ID.fullmatch(config.instance_id):
        raise DataPlaneError(
            f"instance_id {config.instance_id!r} must be lowercase letters, digits and '-' "
            "(e.g. 'red-' + 20 [a-z0-9]); it names a directory and an ACL user."
        )
    if not config.password or any(c.isspace() for c in config.password):
        raise DataPlaneError("password must be non-empty and contain no whitespace.")
    if config.maxmemory_bytes < 0:
        raise DataPlaneError(f"maxmemory_bytes must be >= 0, got {config.maxmemory_bytes}.")
    if config.persistence not in PERSISTENCE_MODES:
        raise DataPlaneError(
            f"persistence {config.persistence!r} must be one of {', '.join(PERSISTENCE_MODES)}."
        )
    try:
        return parse_allow_list(config.allow_list)
    except ValueError as error:
        raise DataPlaneError(str(error)) from None


def server_args(config: InstanceConfig) -> list[str]:
    """The command-line settings for memory, eviction and persistence."""
    return [
        "--maxmemory", str(config.maxmemory_bytes),
        "--maxmemory-policy", config.maxmemory_policy,
        "--appendonly", _appendonly(config.persistence),
        # Render's journal mode is an AOF synced every second (at most ~1 s of writes lost).
        "--appendfsync", "everysec",
        *_save_args(config.persistence != "off"),
    ]  # fmt: skip


def _appendonly(persistence: str) -> str:
    """The ``appendonly`` setting: the journal half of ``journal_snapshot``."""
    return "yes" if persistence == "journal_snapshot" else "no"


def _save_points(persistence: str) -> str:
    """The ``save`` setting for ``CONFIG SET``: snapshots for every mode but ``off``."""
    return " ".join(" ".join(point) for point in _SAVE_POINTS) if persistence != "off" else ""


def _save_args(persistent: bool) -> list[str]:
    # One ``--save`` per point: Redis 6.2 only accepts a single pair per config line.
    if not persistent:
        return ["--save", ""]
    return [arg for point in _SAVE_POINTS for arg in ("--save", *point)]


def delete_persisted_files(directory: Path) -> None:
    """Remove what a persistent mode saved, so the next start begins empty."""
    for name in _PERSISTED_FILES:
        path = directory / name
        if path.is_dir():
            shutil.rmtree(path)
        else:
            path.unlink(missing_ok=True)


def apply_live(
    client: redis.Redis,
    current: InstanceConfig,
    target: InstanceConfig,
    log_path: Path,
    applied: Callable[[InstanceConfig], None],
) -> None:
    """CONFIG SET what changed from ``current`` to ``target`` on the live server.

    ``applied`` receives the config after each step that succeeded, so a failure half-way
    leaves the caller knowing exactly what the server now runs with.
    """
    instance_id = current.instance_id
    # Before the password step below: a rotation changes the default user's password too.
    default_changes = _default_password(current) != _default_password(target)
    if current.maxmemory_bytes != target.maxmemory_bytes:
        _config_set(client, instance_id, "maxmemory", str(target.maxmemory_bytes))
        current = replace(current, maxmemory_bytes=target.maxmemory_bytes)
        applied(current)
    if current.maxmemory_policy != target.maxmemory_policy:
        _config_set(client, instance_id, "maxmemory-policy", target.maxmemory_policy)
        current = replace(current, maxmemory_policy=target.maxmemory_policy)
        applied(current)
    if current.persistence != target.persistence:
        _config_set(client, instance_id, "save", _save_points(target.persistence))
        aof = _appendonly(target.persistence)
        _config_set(client, instance_id, "appendonly", aof)
        if aof == "yes":
            _wait_initial_aof(client, instance_id, log_path)
        current = replace(current, persistence=target.persistence)
        applied(current)
    if current.password != target.password:
        set_acl_user(client, instance_id, target.password)
        current = replace(current, password=target.password)
        applied(current)
    if default_changes:
        set_default_user(client, instance_id, _default_password(target))
        current = replace(current, internal_auth=target.internal_auth)
        applied(current)


def _default_password(config: InstanceConfig) -> str | None:
    """The internal port's ``default`` user's password: the instance's, with internal auth."""
    return config.password if config.internal_auth else None


def set_acl_user(client: redis.Redis, instance_id: str, password: str) -> None:
    """The external endpoint's user: named after the instance, full access, one password."""
    run_checked(
        instance_id,
        f"ACL SETUSER {instance_id}",
        lambda: client.acl_setuser(
            instance_id,
            reset=True,  # drops the previous password too
            enabled=True,
            passwords=[f"+{password}"],
            keys=["*"],
            channels=["*"],
            categories=["+@all"],
        ),
    )


def set_default_user(client: redis.Redis, instance_id: str, password: str | None) -> None:
    """The internal port's ``default`` user: ``password`` required, or none (``nopass``).

    ``nopass`` is Render's state before internal authentication: any password is accepted, so
    clients can start sending one before it is required. Only the password changes; the user's
    permissions stay the server's defaults.
    """
    run_checked(
        instance_id,
        "ACL SETUSER default",
        lambda: client.acl_setuser(
            "default",
            enabled=True,  # it is on already; redis-py would otherwise send `off`
            nopass=password is None,
            reset_passwords=password is not None,
            passwords=None if password is None else [f"+{password}"],
        ),
    )


def run_checked(instance_id: str, what: str, call: Callable[[], object]) -> None:
    """Run one admin command; the server refusing it becomes a :class:`DataPlaneError`."""
    try:
        call()
    except redis.ResponseError as error:
        raise DataPlaneError(f"The server of {instance_id} rejected {what}: {error}") from error


def _config_set(client: redis.Redis, instance_id: str, name: str, value: str) -> None:
    run_checked(instance_id, f"CONFIG SET {name} {value!r}", lambda: client.config_set(name, value))


def _wait_initial_aof(client: redis.Redis, instance_id: str, log_path: Path) -> None:
    """Wait until the AOF that ``CONFIG SET appendonly yes`` starts is written.

    Until then the server cannot shut down cleanly, and the journal does not protect the data
    yet; returning afterwards makes ``apply`` mean "the new mode is in force", as Render reports
    ``available`` only after its config restart.
    """
    deadline = time.monotonic() + READY_TIMEOUT
    while time.monotonic() < deadline:
        info = client.info("persistence")
        if not info.get("aof_rewrite_in_progress") and not info.get("aof_rewrite_scheduled"):
            return
        time.sleep(0.02)
    raise DataPlaneError(
        f"The server of {instance_id} did not finish writing its AOF within "
        f"{READY_TIMEOUT:.0f} s; see {log_path}."
    )
