"""The emulator's own state on disk: one SQLite file in the data directory.

What a restart needs to bring an account back as it was: workspaces, environments and every
instance's settings, including the password its server's ACL user has, whether it is
suspended and the ports its server listened on. The servers' data stays where the data plane
keeps it (``data_dir/<instance_id>``); this file only remembers which instances exist and how
to start their servers again.

Written on every state change, one transaction per change, so a crash or ``kill -9`` loses
nothing that was answered. A write the file refuses raises :class:`StoreWriteError` and leaves
the file as it was; :meth:`StateStore.atomic` makes several writes (and whatever the caller does
between them, such as starting a server) one transaction, so the backend changes its memory only
after the file took the change. The standard library's ``sqlite3``: a real database (atomic commits,
a schema, readable with any SQLite tool) with no dependency. It knows nothing of the backend's
rules; the backend converts to and from these rows.

One emulator at a time: the store holds an exclusive ``flock`` on ``<file>.lock`` while open,
and a second emulator on the same data dir is refused with :class:`StoreError`.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import sqlite3
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import IO, Any, Self

FILE_NAME = "emulator.sqlite3"
SCHEMA_VERSION = 1

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS owners (
    id TEXT PRIMARY KEY,
    position INTEGER NOT NULL,
    name TEXT NOT NULL,
    email TEXT NOT NULL,
    type TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS environments (
    id TEXT PRIMARY KEY,
    position INTEGER NOT NULL,
    name TEXT NOT NULL,
    project_id TEXT NOT NULL,
    owner_id TEXT NOT NULL REFERENCES owners (id),
    protected_status TEXT NOT NULL,
    network_isolation_enabled INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS instances (
    id TEXT PRIMARY KEY,
    sequence INTEGER NOT NULL UNIQUE,
    name TEXT NOT NULL,
    owner_id TEXT NOT NULL REFERENCES owners (id),
    plan TEXT NOT NULL,
    region TEXT NOT NULL,
    environment_id TEXT,
    maxmemory_policy TEXT NOT NULL,
    persistence_mode TEXT NOT NULL,
    ip_allow_list TEXT NOT NULL,  -- JSON: [{"cidrBlock": …, "description": …}]
    password TEXT NOT NULL,
    created_ns INTEGER NOT NULL,
    updated_ns INTEGER NOT NULL,
    suspended INTEGER NOT NULL
);
-- Added after version 1 shipped: CREATE IF NOT EXISTS adds it to older files as they open.
-- No foreign key: INSERT OR REPLACE of an instance row would cascade into it.
CREATE TABLE IF NOT EXISTS log_streams (
    resource_id TEXT PRIMARY KEY,
    setting TEXT NOT NULL,
    endpoint TEXT,
    token TEXT
);
-- Added later still, the same way: the local ports an instance's server listened on, which a
-- restart takes back when they are free (connection strings that stay valid, as on Render).
CREATE TABLE IF NOT EXISTS endpoints (
    resource_id TEXT PRIMARY KEY,
    internal_port INTEGER NOT NULL,
    external_port INTEGER NOT NULL
);
-- Added for internal authentication (a Dashboard setting), the same way: a row = it is on.
CREATE TABLE IF NOT EXISTS internal_auth (
    resource_id TEXT PRIMARY KEY
);
-- Maintenance runs (scheduled through the control plane), the same way.
CREATE TABLE IF NOT EXISTS maintenance_runs (
    id TEXT PRIMARY KEY,
    sequence INTEGER NOT NULL,
    resource_id TEXT NOT NULL,
    type TEXT NOT NULL,
    scheduled_ns INTEGER NOT NULL,
    pending_by_ns INTEGER,
    state TEXT NOT NULL
);
"""


class StoreError(Exception):
    """The state file cannot be used (another schema version, or not an emulator's database)."""


class StoreWriteError(StoreError):
    """A write the state file refused; the file is as it was before the transaction began.

    The message names the table and SQLite's (or the encoder's) reason, never a value: rows
    hold passwords and log-stream tokens.
    """


# What a refused write raises from sqlite3: its own errors, a str it cannot encode as UTF-8
# (a lone surrogate), an int too large for SQLite's 64 bits.
_WRITE_ERRORS = (sqlite3.Error, UnicodeError, OverflowError)


@dataclass(frozen=True)
class OwnerRow:
    """A workspace."""

    id: str
    name: str
    email: str
    type: str


@dataclass(frozen=True)
class EnvironmentRow:
    """An environment."""

    id: str
    name: str
    project_id: str
    owner_id: str
    protected_status: str
    network_isolation_enabled: bool


@dataclass(frozen=True)
class InstanceRow:
    """A Key Value instance's settings; ``ip_allow_list`` is (cidrBlock, description) pairs.

    ``ports`` are its server's (internal, external) ports, ``None`` without a data plane.
    ``internal_auth``: its internal URL needs the password (Render's internal authentication).
    """

    id: str
    sequence: int
    name: str
    owner_id: str
    plan: str
    region: str
    environment_id: str | None
    maxmemory_policy: str
    persistence_mode: str
    ip_allow_list: tuple[tuple[str, str], ...]
    password: str
    created_ns: int
    updated_ns: int
    suspended: bool
    log_stream: LogStreamRow | None = None
    ports: tuple[int, int] | None = None
    internal_auth: bool = False


@dataclass(frozen=True)
class LogStreamRow:
    """An instance's log-stream override."""

    setting: str
    endpoint: str | None
    token: str | None = field(default=None, repr=False)


@dataclass(frozen=True)
class MaintenanceRow:
    """A maintenance run of an instance."""

    id: str
    sequence: int
    resource_id: str
    type: str
    scheduled_ns: int
    pending_by_ns: int | None
    state: str


@dataclass(frozen=True)
class StoredState:
    """Everything in the file, each list in creation order."""

    owners: list[OwnerRow]
    environments: list[EnvironmentRow]
    instances: list[InstanceRow]
    maintenance: list[MaintenanceRow] = field(default_factory=list)


class StateStore:
    """The SQLite file ``path``; created with its schema when missing. Thread-safe."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        # Reentrant: the put_* methods take it inside an atomic() block on the same thread.
        self._lock = threading.RLock()
        self._in_transaction = False
        self._owner_lock = _claim(self.path.with_name(self.path.name + ".lock"))
        # One connection shared by the emulator's request threads, serialised by _lock.
        try:
            self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        except BaseException:
            self._owner_lock.close()
            raise
        try:
            # WAL + NORMAL: a commit survives the emulator being killed (what matters for a
            # local emulator) without an fsync per request; only a power cut could lose one.
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.execute("PRAGMA foreign_keys=ON")
            with self._transaction():
                # Not executescript(): it commits on its own, outside this transaction.
                for statement in _SCHEMA.split(";"):
                    if statement.strip():
                        self._db.execute(statement)
                self._check_version()
        except sqlite3.DatabaseError as error:
            self._db.close()
            self._owner_lock.close()
            raise StoreError(
                f"{self.path} is not an emulator state file ({error}); "
                "move it away or pass another --data-dir"
            ) from error
        except BaseException:
            self._db.close()
            self._owner_lock.close()
            raise

    def _transaction(self) -> _Transaction:
        return _Transaction(self._db)

    @contextlib.contextmanager
    def atomic(self) -> Iterator[None]:
        """One transaction for every write in the block: all of them are kept, or none.

        The block runs with the store locked; an exception from it (a refused write, or the
        caller's own failure between writes) rolls everything back and propagates. A block
        nested in another joins the outer transaction. A failed COMMIT raises
        :class:`StoreWriteError` after rolling back.
        """
        with self._lock:
            if self._in_transaction:
                yield
                return
            self._in_transaction = True
            try:
                with self._transaction():
                    yield
            except _WRITE_ERRORS as error:
                raise StoreWriteError(f"{self.path.name}: {_reason(error)}") from error
            finally:
                self._in_transaction = False

    @contextlib.contextmanager
    def _writing(self, table: str) -> Iterator[None]:
        """A write to ``table``, in the caller's transaction or one of its own."""
        with self.atomic():
            try:
                yield
            except _WRITE_ERRORS as error:
                raise StoreWriteError(
                    f"{self.path.name} refused a write to {table}: {_reason(error)}"
                ) from error

    def _check_version(self) -> None:
        row = self._db.execute("SELECT value FROM meta WHERE key = 'schema'").fetchone()
        if row is None:
            self._db.execute(
                "INSERT INTO meta (key, value) VALUES ('schema', ?)", (str(SCHEMA_VERSION),)
            )
        elif row[0] != str(SCHEMA_VERSION):
            raise StoreError(
                f"{self.path} has schema version {row[0]}; this emulator reads version "
                f"{SCHEMA_VERSION}: move it away or pass another --data-dir"
            )

    # -- reading --

    def load(self) -> StoredState:
        """The whole state, oldest first."""
        with self._lock:
            owners = [
                OwnerRow(*row)
                for row in self._db.execute(
                    "SELECT id, name, email, type FROM owners ORDER BY position"
                )
            ]
            environments = [
                EnvironmentRow(
                    id=row[0],
                    name=row[1],
                    project_id=row[2],
                    owner_id=row[3],
                    protected_status=row[4],
                    network_isolation_enabled=bool(row[5]),
                )
                for row in self._db.execute(
                    "SELECT id, name, project_id, owner_id, protected_status, "
                    "network_isolation_enabled FROM environments ORDER BY position"
                )
            ]
            instances = [
                _instance_row(row)
                for row in self._db.execute(
                    "SELECT i.id, i.sequence, i.name, i.owner_id, i.plan, i.region, "
                    "i.environment_id, i.maxmemory_policy, i.persistence_mode, i.ip_allow_list, "
                    "i.password, i.created_ns, i.updated_ns, i.suspended, "
                    "l.setting, l.endpoint, l.token, e.internal_port, e.external_port, "
                    "a.resource_id IS NOT NULL "
                    "FROM instances i LEFT JOIN log_streams l ON l.resource_id = i.id "
                    "LEFT JOIN endpoints e ON e.resource_id = i.id "
                    "LEFT JOIN internal_auth a ON a.resource_id = i.id "
                    "ORDER BY i.sequence"
                )
            ]
            maintenance = [
                MaintenanceRow(*row)
                for row in self._db.execute(
                    "SELECT id, sequence, resource_id, type, scheduled_ns, pending_by_ns, state "
                    "FROM maintenance_runs ORDER BY sequence"
                )
            ]
        return StoredState(owners, environments, instances, maintenance)

    # -- writing: one transaction each --

    def put_owner(self, owner: OwnerRow) -> None:
        """Insert or update a workspace (a new one goes last)."""
        with self._writing("owners"):
            self._db.execute(
                "INSERT INTO owners (id, position, name, email, type) VALUES "
                "(?, (SELECT COALESCE(MAX(position), 0) + 1 FROM owners), ?, ?, ?) "
                "ON CONFLICT (id) DO UPDATE SET name = excluded.name, email = excluded.email, "
                "type = excluded.type",
                (owner.id, owner.name, owner.email, owner.type),
            )

    def put_environment(self, environment: EnvironmentRow) -> None:
        """Insert or update an environment."""
        with self._writing("environments"):
            self._db.execute(
                "INSERT INTO environments (id, position, name, project_id, owner_id, "
                "protected_status, network_isolation_enabled) VALUES "
                "(?, (SELECT COALESCE(MAX(position), 0) + 1 FROM environments), ?, ?, ?, ?, ?) "
                "ON CONFLICT (id) DO UPDATE SET name = excluded.name, "
                "protected_status = excluded.protected_status, "
                "network_isolation_enabled = excluded.network_isolation_enabled",
                (
                    environment.id,
                    environment.name,
                    environment.project_id,
                    environment.owner_id,
                    environment.protected_status,
                    int(environment.network_isolation_enabled),
                ),
            )

    def delete_environments(self) -> None:
        """Forget every environment (reset)."""
        with self._writing("environments"):
            self._db.execute("DELETE FROM environments")

    def put_instance(self, instance: InstanceRow) -> None:
        """Insert or replace an instance's row."""
        allow_list = json.dumps(
            [{"cidrBlock": cidr, "description": text} for cidr, text in instance.ip_allow_list]
        )
        with self._writing("instances"):
            self._db.execute(
                "INSERT OR REPLACE INTO instances (id, sequence, name, owner_id, plan, region, "
                "environment_id, maxmemory_policy, persistence_mode, ip_allow_list, password, "
                "created_ns, updated_ns, suspended) VALUES "
                "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    instance.id,
                    instance.sequence,
                    instance.name,
                    instance.owner_id,
                    instance.plan,
                    instance.region,
                    instance.environment_id,
                    instance.maxmemory_policy,
                    instance.persistence_mode,
                    allow_list,
                    instance.password,
                    instance.created_ns,
                    instance.updated_ns,
                    int(instance.suspended),
                ),
            )
            stream = instance.log_stream
            if stream is None:
                self._db.execute("DELETE FROM log_streams WHERE resource_id = ?", (instance.id,))
            else:
                self._db.execute(
                    "INSERT OR REPLACE INTO log_streams (resource_id, setting, endpoint, token) "
                    "VALUES (?, ?, ?, ?)",
                    (instance.id, stream.setting, stream.endpoint, stream.token),
                )
            if instance.ports is None:
                self._db.execute("DELETE FROM endpoints WHERE resource_id = ?", (instance.id,))
            else:
                self._db.execute(
                    "INSERT OR REPLACE INTO endpoints (resource_id, internal_port, external_port) "
                    "VALUES (?, ?, ?)",
                    (instance.id, *instance.ports),
                )
            if instance.internal_auth:
                self._db.execute(
                    "INSERT OR REPLACE INTO internal_auth (resource_id) VALUES (?)", (instance.id,)
                )
            else:
                self._db.execute("DELETE FROM internal_auth WHERE resource_id = ?", (instance.id,))

    def put_maintenance(self, run: MaintenanceRow) -> None:
        """Insert or replace a maintenance run."""
        with self._writing("maintenance_runs"):
            self._db.execute(
                "INSERT OR REPLACE INTO maintenance_runs (id, sequence, resource_id, type, "
                "scheduled_ns, pending_by_ns, state) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    run.id,
                    run.sequence,
                    run.resource_id,
                    run.type,
                    run.scheduled_ns,
                    run.pending_by_ns,
                    run.state,
                ),
            )

    def delete_instance(self, instance_id: str) -> None:
        """Forget an instance (and its maintenance runs)."""
        with self._writing("instances"):
            self._db.execute("DELETE FROM instances WHERE id = ?", (instance_id,))
            self._db.execute("DELETE FROM log_streams WHERE resource_id = ?", (instance_id,))
            self._db.execute("DELETE FROM endpoints WHERE resource_id = ?", (instance_id,))
            self._db.execute("DELETE FROM internal_auth WHERE resource_id = ?", (instance_id,))
            self._db.execute("DELETE FROM maintenance_runs WHERE resource_id = ?", (instance_id,))

    def close(self) -> None:
        """Close the file and let another emulator use the data dir; idempotent."""
        with self._lock:
            self._db.close()
            self._owner_lock.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()


def _claim(lock_path: Path) -> IO[str]:
    """An exclusive lock on ``lock_path``, held while the returned file stays open.

    Two emulators on one data dir would start two servers on each instance's files and
    overwrite each other's state. ``flock`` is released by the kernel when the holder dies
    (even by SIGKILL), so a crashed emulator never leaves the directory locked.
    """
    handle = lock_path.open("a+", encoding="utf-8")
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.seek(0)
        holder = handle.read().strip() or "unknown"
        handle.close()
        raise StoreError(
            f"{lock_path.parent} is in use by another emulator (pid {holder}); stop it or pass "
            "another --data-dir"
        ) from None
    except BaseException:
        handle.close()
        raise
    handle.seek(0)
    handle.truncate()
    handle.write(str(os.getpid()))
    handle.flush()
    return handle


class _Transaction:
    """BEGIN … COMMIT, or ROLLBACK on an exception (the connection is in autocommit mode)."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self._db = db

    def __enter__(self) -> None:
        self._db.execute("BEGIN IMMEDIATE")

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if exc_type is not None:
            # Some failures (a full disk, an I/O error) end the transaction on SQLite's side.
            if self._db.in_transaction:
                self._db.execute("ROLLBACK")
            return
        try:
            self._db.execute("COMMIT")
        except sqlite3.Error:
            # SQLite may leave the transaction open after a failed COMMIT (SQLITE_BUSY);
            # close it, so the next BEGIN works and nothing of this one is kept.
            if self._db.in_transaction:
                self._db.execute("ROLLBACK")
            raise


def _reason(error: BaseException) -> str:
    """Why a write failed, without the value: a UnicodeError's str() quotes only the character."""
    return f"{type(error).__name__}: {error}"


def _instance_row(row: tuple[Any, ...]) -> InstanceRow:
    """A row of the ``SELECT`` in ``load``, in its column order."""
    (
        instance_id,
        sequence,
        name,
        owner_id,
        plan,
        region,
        environment_id,
        policy,
        persistence,
        allow_list,
        password,
        created_ns,
        updated_ns,
        suspended,
        log_setting,
        log_endpoint,
        log_token,
        internal_port,
        external_port,
        internal_auth,
    ) = row
    return InstanceRow(
        id=instance_id,
        sequence=sequence,
        name=name,
        owner_id=owner_id,
        plan=plan,
        region=region,
        environment_id=environment_id,
        maxmemory_policy=policy,
        persistence_mode=persistence,
        ip_allow_list=tuple(
            (entry["cidrBlock"], entry["description"]) for entry in json.loads(allow_list)
        ),
        password=password,
        created_ns=created_ns,
        updated_ns=updated_ns,
        suspended=bool(suspended),
        log_stream=(
            None if log_setting is None else LogStreamRow(log_setting, log_endpoint, log_token)
        ),
        ports=None if internal_port is None else (internal_port, external_port),
        internal_auth=bool(internal_auth),
    )
