"""Render's Key Value behaviour, without HTTP: workspaces, environments, instances and rules.

Rules follow Render's docs (https://render.com/docs/key-value, https://api-docs.render.com/)
or say they were observed or inferred. Where Render's real answer is unknown the
emulator is strict and says so in the docstring of the error it raises (``errors.py``).

Methods are named after the spec's operationIds (``create_key_value`` …; each is documented at
https://api-docs.render.com/reference/<operationId>). They take typed
inputs (parsed from JSON by ``shapes.py``), raise ``errors.ApiError`` subclasses and return
read-only views whose ``status`` was derived from the clock at the moment of the call.
"""

from __future__ import annotations

import contextlib
import itertools
import logging
import threading
from collections.abc import Callable, Iterator
from dataclasses import replace

from . import errors, ids
from .lifecycle import InstanceLifecycle, LifecycleSettings, RestartKind
from .maintenance import DEFAULT_TYPE, MaintenanceBook, MaintenanceRun, MaintenanceView
from .metrics import (
    DEFAULT_RANGE_SECONDS,
    Metric,
    MetricsQuery,
    MetricsRecorder,
    Sample,
    Series,
    points,
)
from .plane import PERSISTENCE_MODES, DataPlaneLike, InstanceConfig, PlaneEndpoints, Serving
from .records import (
    DEFAULT_MAXMEMORY_POLICY,
    DEFAULT_REGION,
    MAXMEMORY_POLICIES,
    PLACEHOLDER_HOST,
    PLACEHOLDER_PORT,
    PLAN_MEMORY_BYTES,
    PLAN_ORDER,
    PROTECTED_STATUSES,
    REGIONS,
    VERSION,
    CidrBlock,
    ConnectionInfo,
    CreateInput,
    EnvironmentView,
    InstanceView,
    ListFilters,
    LogStreamOverride,
    MaintenanceFilters,
    Owner,
    UpdateInput,
    _check_allow_list,
    _check_enum,
    _check_plan,
    _Environment,
    _in,
    _Instance,
    _persistence_after_update,
    _url_host,
    check_name,
    check_optional_text,
    check_text,
    valkey_policy,
)
from .store import (
    EnvironmentRow,
    InstanceRow,
    LogStreamRow,
    MaintenanceRow,
    OwnerRow,
    StateStore,
    StoreWriteError,
)

logger = logging.getLogger("pulumi_render_kv.emulator.backend")

# Statuses in which a maintenance run waits instead of running (a due one runs afterwards).
_NOT_RUNNABLE = frozenset({"creating", "suspended", "unavailable"})

# --- the backend ------------------------------------------------------------------------------


class Backend:
    """State and rules of one emulated Render account (one API key, one or more workspaces).

    ``clock`` is monotonic seconds (drives status progressions); ``wall_clock_ns`` is epoch
    nanoseconds (timestamps). ``data_plane`` is ``None`` when no server processes are run.

    ``store``, when given, is written on every state change, before the change is made in
    memory and in one transaction with the data-plane call it needs (:meth:`_saving`): a write
    the store refuses answers 500 and changes nothing, in the file, in memory or on the data
    plane. What the store already holds is loaded first, and the server of every stored
    instance is started again on its existing data (suspended ones are started and suspended,
    so the data plane knows them for ``resume``).
    ``owner`` then comes first (it is the default workspace), followed by the stored others.
    """

    def __init__(
        self,
        *,
        owner: Owner,
        lifecycle: LifecycleSettings,
        clock: Callable[[], float],
        wall_clock_ns: Callable[[], int],
        data_plane: DataPlaneLike | None = None,
        store: StateStore | None = None,
    ) -> None:
        self._lifecycle = lifecycle
        self._clock = clock
        self._wall_clock_ns = wall_clock_ns
        self._plane = data_plane
        self._store = store
        self._lock = threading.RLock()
        self._starting: dict[str, _Instance] = {}  # created, server not started yet
        self._sequence = itertools.count(1)
        self._owners: dict[str, Owner] = {owner.id: owner}
        self._environments: dict[str, _Environment] = {}
        self._instances: dict[str, _Instance] = {}
        self._maintenance = MaintenanceBook(lifecycle.restart_delay)
        self._metrics = MetricsRecorder()
        if store is not None:
            self._restore(store)
            store.put_owner(_owner_row(owner))

    def _restore(self, store: StateStore) -> None:
        """Load the stored state and start the stored instances' servers on their data."""
        state = store.load()
        for stored in state.owners:
            self._owners.setdefault(
                stored.id, Owner(stored.id, stored.name, stored.email, stored.type)
            )
        for env in state.environments:
            self._environments[env.id] = _Environment(
                env.id,
                env.name,
                env.project_id,
                env.owner_id,
                env.protected_status,
                env.network_isolation_enabled,
            )
        for row in state.instances:
            # Created (and restarted) long ago as far as statuses go: available, or suspended.
            lifecycle = InstanceLifecycle(
                self._lifecycle, created_at=self._clock() - self._lifecycle.create_delay
            )
            instance = _Instance(
                id=row.id,
                sequence=row.sequence,
                name=row.name,
                owner_id=row.owner_id,
                plan=row.plan,
                region=row.region,
                environment_id=row.environment_id,
                maxmemory_policy=row.maxmemory_policy,
                persistence_mode=row.persistence_mode,
                ip_allow_list=tuple(CidrBlock(c, d) for c, d in row.ip_allow_list),
                password=row.password,
                created_ns=row.created_ns,
                updated_ns=row.updated_ns,
                lifecycle=lifecycle,
                log_stream=(
                    None
                    if row.log_stream is None
                    else LogStreamOverride(
                        row.log_stream.setting, row.log_stream.endpoint, row.log_stream.token
                    )
                ),
                internal_auth=row.internal_auth,
            )
            if self._plane is not None:
                try:
                    # On the ports it had, when free: the connection strings that programs and
                    # stack outputs hold stay valid across an emulator restart, as on Render.
                    instance.endpoints = self._plane.start(
                        self._plane_config(instance),
                        ports=row.ports,
                        serving=self._serving(lifecycle),
                    )
                    if row.suspended:
                        self._plane.suspend(instance.id)
                except Exception as exc:
                    raise errors.InternalError(
                        f"could not restart the Key Value server of stored instance "
                        f"{instance.id}: {exc}"
                    ) from exc
            if row.suspended:
                lifecycle.suspend()
            if _ports(instance.endpoints) != row.ports:
                store.put_instance(replace(row, ports=_ports(instance.endpoints)))
            self._instances[instance.id] = instance
        if state.instances:
            self._sequence = itertools.count(state.instances[-1].sequence + 1)
        self._maintenance.restore(
            MaintenanceRun(
                id=row.id,
                sequence=row.sequence,
                resource_id=row.resource_id,
                type=row.type,
                scheduled_ns=row.scheduled_ns,
                pending_by_ns=row.pending_by_ns,
                state=row.state,
            )
            for row in state.maintenance
            if row.resource_id in self._instances
        )

    @contextlib.contextmanager
    def _saving(self, what: str) -> Iterator[None]:
        """The store's writes in the block, and the data-plane calls between them, as one step.

        Callers write the new rows first, then make the data-plane call, and change their
        in-memory records only after the block: a refused write raises before the server is
        touched, a failed server call rolls the writes back, and either way the memory is as
        it was. (A COMMIT refused after the server call succeeded is the one case left: the
        server changed, the file and the memory did not; SQLite refuses a COMMIT only for a
        full disk or an I/O error.)
        """
        if self._store is None:
            yield
            return
        try:
            with self._store.atomic():
                yield
        except StoreWriteError as exc:
            raise errors.InternalError(
                f"could not save {what} in the emulator's state file, so nothing was changed "
                f"({exc})"
            ) from exc

    def _put(self, row: InstanceRow) -> None:
        if self._store is not None:
            self._store.put_instance(row)

    # -- workspaces and environments (seeding) --

    @property
    def default_owner(self) -> Owner:
        """The workspace the emulator was started with."""
        return next(iter(self._owners.values()))

    def add_owner(self, name: str, email: str, owner_id: str | None = None) -> Owner:
        """Add another workspace the API key can see."""
        check_name(name)
        check_text(email, "email")
        if owner_id is not None:
            check_text(owner_id, "ownerId")
        with self._lock:
            owner = Owner(id=owner_id or ids.new_owner_id(), name=name, email=email)
            with self._saving(f"workspace {owner.id}"):
                if self._store is not None:
                    self._store.put_owner(_owner_row(owner))
            self._owners[owner.id] = owner
            return owner

    def add_environment(
        self,
        name: str,
        *,
        owner_id: str | None = None,
        project_id: str | None = None,
        protected_status: str = "unprotected",
        network_isolation_enabled: bool = False,
    ) -> EnvironmentView:
        """Seed an environment (Render creates them through projects, which we don't emulate)."""
        check_name(name)
        check_optional_text(owner_id, "ownerId")
        check_optional_text(project_id, "projectId")
        check_text(protected_status, "protectedStatus")
        _check_enum("protectedStatus", protected_status, PROTECTED_STATUSES)
        with self._lock:
            owner = self._owner(owner_id) if owner_id else self.default_owner
            environment = _Environment(
                id=ids.new_environment_id(),
                name=name,
                project_id=project_id or ids.new_project_id(),
                owner_id=owner.id,
                protected_status=protected_status,
                network_isolation_enabled=network_isolation_enabled,
            )
            with self._saving(f"environment {environment.id}"):
                if self._store is not None:
                    self._store.put_environment(
                        EnvironmentRow(
                            environment.id,
                            environment.name,
                            environment.project_id,
                            owner.id,
                            protected_status,
                            network_isolation_enabled,
                        )
                    )
            self._environments[environment.id] = environment
            return self._environment_view(environment)

    def retrieve_environment(self, environment_id: str) -> EnvironmentView:
        """``retrieve-environment``."""
        with self._lock:
            return self._environment_view(self._environment(environment_id))

    def list_owners(
        self,
        names: tuple[str, ...] | None = None,
        emails: tuple[str, ...] | None = None,
        cursor: str | None = None,
        limit: int = 20,
    ) -> list[tuple[Owner, str]]:
        """``list-owners``: workspaces with a cursor each, in creation order."""
        with self._lock:
            start = self._decode_cursor(cursor) if cursor else 0
            rows = [
                (owner, ids.encode_cursor(position, owner.id))
                for position, owner in enumerate(self._owners.values(), start=1)
                if position > start and _in(names, owner.name) and _in(emails, owner.email)
            ]
            return rows[:limit]

    def retrieve_owner(self, owner_id: str) -> Owner:
        """``retrieve-owner``."""
        with self._lock:
            return self._owner(owner_id)

    def _owner(self, owner_id: str) -> Owner:
        try:
            return self._owners[owner_id]
        except KeyError:
            raise errors.NotFound(owner_id) from None

    def _environment(self, environment_id: str) -> _Environment:
        try:
            return self._environments[environment_id]
        except KeyError:
            raise errors.NotFound(environment_id) from None

    def _environment_view(self, environment: _Environment) -> EnvironmentView:
        members = sorted(
            (i for i in self._instances.values() if i.environment_id == environment.id),
            key=lambda i: i.sequence,
        )
        return EnvironmentView(
            id=environment.id,
            name=environment.name,
            project_id=environment.project_id,
            redis_ids=tuple(i.id for i in members),
            protected_status=environment.protected_status,
            network_isolation_enabled=environment.network_isolation_enabled,
        )

    # -- Key Value instances --

    def _instance(self, instance_id: str) -> _Instance:
        try:
            return self._instances[instance_id]
        except KeyError:
            raise errors.NotFound(instance_id) from None

    def _view(self, instance: _Instance, *, fresh: bool = False) -> InstanceView:
        now = self._clock()
        status = (
            instance.lifecycle.create_response_status if fresh else instance.lifecycle.status(now)
        )
        run = None if fresh else self._maintenance.open_run(instance.id, now)
        maintenance = None if run is None else self._maintenance.view(run, now)
        if status == "available" and maintenance is not None and maintenance.state == "scheduled":
            # Serving as usual, with a run ahead (the provider counts it as ready).
            status = "maintenance_scheduled"
        return InstanceView(
            id=instance.id,
            name=instance.name,
            owner=self._owners[instance.owner_id],
            plan=instance.plan,
            region=instance.region,
            status=status,
            environment_id=instance.environment_id,
            maxmemory_policy=instance.maxmemory_policy,
            persistence_mode=instance.persistence_mode,
            ip_allow_list=instance.ip_allow_list,
            version=VERSION,
            created_ns=instance.created_ns,
            updated_ns=instance.updated_ns,
            fresh=fresh,
            maintenance=maintenance,
        )

    @staticmethod
    def _plane_config(instance: _Instance) -> InstanceConfig:
        return InstanceConfig(
            instance_id=instance.id,
            password=instance.password,
            maxmemory_bytes=PLAN_MEMORY_BYTES[instance.plan],
            maxmemory_policy=valkey_policy(instance.maxmemory_policy),
            persistence=instance.persistence_mode,
            allow_list=tuple(entry.cidr_block for entry in instance.ip_allow_list),
            internal_auth=instance.internal_auth,
        )

    def _serving(self, lifecycle: InstanceLifecycle) -> Serving:
        """The data plane's gate for one instance: connections only while it reads available."""
        clock = self._clock
        return lambda: lifecycle.serving(clock())

    def _free_instance_of(self, owner_id: str) -> _Instance | None:
        candidates = [*self._instances.values(), *self._starting.values()]
        return next(
            (i for i in candidates if i.owner_id == owner_id and i.plan == "free"),
            None,
        )

    def create_key_value(self, spec: CreateInput) -> InstanceView:
        """``create-key-value``: defaults, free-plan rules, then a server process."""
        _check_create_text(spec)
        with self._lock:
            owner = self._owner(spec.owner_id)
            _check_plan("plan", spec.plan)
            region = spec.region if spec.region is not None else DEFAULT_REGION
            _check_enum("region", region, REGIONS)
            policy = (
                spec.maxmemory_policy
                if spec.maxmemory_policy is not None
                else DEFAULT_MAXMEMORY_POLICY
            )
            _check_enum("maxmemoryPolicy", policy, MAXMEMORY_POLICIES)
            if spec.persistence_mode is not None:
                _check_enum("persistenceMode", spec.persistence_mode, PERSISTENCE_MODES)
            allow_list = spec.ip_allow_list or ()
            _check_allow_list(allow_list)
            if spec.plan == "free":
                if spec.persistence_mode not in (None, "off"):
                    raise errors.PersistenceOnFreePlan(spec.persistence_mode)
                persistence = "off"
            else:
                persistence = spec.persistence_mode or "journal_snapshot"
            if spec.environment_id is not None:
                environment = self._environment(spec.environment_id)
                if environment.owner_id != owner.id:
                    raise errors.EnvironmentOwnerMismatch(environment.id, owner.id)
            if spec.plan == "free" and (existing := self._free_instance_of(owner.id)):
                raise errors.FreeInstanceLimit(owner.id, existing.id)

            now_ns = self._wall_clock_ns()
            instance = _Instance(
                id=self._unused_id(),
                sequence=next(self._sequence),
                name=spec.name,
                owner_id=owner.id,
                plan=spec.plan,
                region=region,
                environment_id=spec.environment_id,
                maxmemory_policy=policy,
                persistence_mode=persistence,
                ip_allow_list=tuple(allow_list),
                password=ids.new_password(),
                created_ns=now_ns,
                updated_ns=now_ns,
                lifecycle=InstanceLifecycle(self._lifecycle, created_at=self._clock()),
            )
            # Reserved (its id, and a workspace's one free slot) while its server starts.
            self._starting[instance.id] = instance
        try:
            # Outside the lock: starting a server takes seconds, and holding the lock made
            # every other request, for any instance, wait behind it.
            if self._plane is not None:
                try:
                    instance.endpoints = self._plane.start(
                        self._plane_config(instance), serving=self._serving(instance.lifecycle)
                    )
                except Exception as exc:
                    raise errors.InternalError(
                        f"could not start the Key Value server for {instance.id}: {exc}"
                    ) from exc
        except BaseException:
            with self._lock:
                del self._starting[instance.id]
            raise
        with self._lock:
            # One lock from reservation to record: the free slot is never seen empty between.
            del self._starting[instance.id]
            try:
                with self._saving(f"Key Value {instance.id}"):
                    self._put(_instance_row(instance))
            except errors.InternalError:
                self._discard_server(instance.id)
                raise
            self._instances[instance.id] = instance
            return self._view(instance, fresh=True)

    def _discard_server(self, instance_id: str) -> None:
        """Stop the server of a create that could not be recorded (the 500 says so already)."""
        if self._plane is None:
            return
        # The create's own error is the one to answer; a failed stop leaves a stray server
        # that the data plane's close() still ends.
        with contextlib.suppress(Exception):
            self._plane.stop(instance_id)

    def _unused_id(self) -> str:
        while (
            candidate := ids.new_instance_id()
        ) in self._instances or candidate in self._starting:
            pass  # pragma: no cover - 36**20 ids; a collision is practically impossible
        return candidate

    def retrieve_key_value(self, instance_id: str) -> InstanceView:
        """``retrieve-key-value``."""
        with self._lock:
            return self._view(self._instance(instance_id))

    def list_key_value(self, filters: ListFilters) -> list[tuple[InstanceView, str]]:
        """``list-key-value``: newest first, filtered, one page after ``cursor``."""
        if filters.regions is not None:
            for region in filters.regions:
                _check_enum("region", region, REGIONS)
        with self._lock:
            start = self._decode_cursor(filters.cursor) if filters.cursor else None
            rows: list[tuple[InstanceView, str]] = []
            for instance in sorted(self._instances.values(), key=lambda i: -i.sequence):
                if start is not None and instance.sequence >= start:
                    continue
                if not self._matches(instance, filters):
                    continue
                rows.append(
                    (self._view(instance), ids.encode_cursor(instance.sequence, instance.id))
                )
                if len(rows) == filters.limit:
                    break
            return rows

    @staticmethod
    def _decode_cursor(cursor: str) -> int:
        try:
            return ids.decode_cursor(cursor)
        except ValueError:
            raise errors.InvalidQueryParameter(
                "cursor", f"{cursor!r} is not a cursor returned by this API (URL-encode it)"
            ) from None

    @staticmethod
    def _matches(instance: _Instance, filters: ListFilters) -> bool:
        # Render keeps microseconds (reads show them); filter values are rounded the same
        # way, as Postgres rounds a timestamp parameter, so passing back the nanosecond
        # createdAt of a create response selects that same instant.
        created = ids.round_to_microseconds(instance.created_ns)
        updated = ids.round_to_microseconds(instance.updated_ns)

        def bound(value: int | None) -> int | None:
            return None if value is None else ids.round_to_microseconds(value)

        created_before, created_after = (
            bound(filters.created_before_ns),
            bound(filters.created_after_ns),
        )
        updated_before, updated_after = (
            bound(filters.updated_before_ns),
            bound(filters.updated_after_ns),
        )
        return (
            _in(filters.names, instance.name)
            and _in(filters.regions, instance.region)
            and _in(filters.owner_ids, instance.owner_id)
            and _in(filters.environment_ids, instance.environment_id)
            and (created_before is None or created < created_before)
            and (created_after is None or created > created_after)
            and (updated_before is None or updated < updated_before)
            and (updated_after is None or updated > updated_after)
        )

    def update_key_value(self, instance_id: str, change: UpdateInput) -> InstanceView:
        """``update-key-value``: partial update, upgrade-only plans, restarts."""
        _check_update_text(change)
        with self._lock:
            instance = self._instance(instance_id)
            if instance.lifecycle.suspended:
                raise errors.Conflict(
                    f"Key Value instance {instance.id} is suspended; resume it before updating it"
                )
            if instance.lifecycle.resuming(self._clock()):
                # Still reads suspended: refused like a suspended one (inferred), with the fix.
                raise errors.Conflict(
                    f"Key Value instance {instance.id} is suspended and resuming; wait until it "
                    "is available before updating it"
                )
            plan = change.plan if change.plan is not None else instance.plan
            _check_plan("plan", plan)
            if PLAN_ORDER.index(plan) < PLAN_ORDER.index(instance.plan):
                raise errors.PlanDowngrade(instance.plan, plan)
            policy = (
                change.maxmemory_policy
                if change.maxmemory_policy is not None
                else instance.maxmemory_policy
            )
            _check_enum("maxmemoryPolicy", policy, MAXMEMORY_POLICIES)
            if change.persistence_mode is not None:
                _check_enum("persistenceMode", change.persistence_mode, PERSISTENCE_MODES)
            if change.ip_allow_list is not None:
                _check_allow_list(change.ip_allow_list)
            upgrading_from_free = instance.plan == "free" and plan != "free"
            persistence = _persistence_after_update(
                instance.plan, plan, change.persistence_mode, instance.persistence_mode
            )

            updated = replace(
                instance,
                name=change.name if change.name is not None else instance.name,
                plan=plan,
                maxmemory_policy=policy,
                persistence_mode=persistence,
                ip_allow_list=(
                    change.ip_allow_list
                    if change.ip_allow_list is not None
                    else instance.ip_allow_list
                ),
                updated_ns=max(self._wall_clock_ns(), instance.updated_ns),
            )
            restart: RestartKind | None = None
            if plan != instance.plan:
                restart = RestartKind.PLAN
            elif (policy, persistence) != (instance.maxmemory_policy, instance.persistence_mode):
                restart = RestartKind.CONFIG
            new_config = self._plane_config(updated)
            with self._saving(f"the change of Key Value {instance.id}"):
                self._put(_instance_row(updated))
                if self._plane is not None and new_config != self._plane_config(instance):
                    try:
                        # Free → paid loses the data (https://render.com/docs/free).
                        self._plane.apply(new_config, flush=upgrading_from_free)
                    except Exception as exc:
                        raise errors.InternalError(
                            f"could not reconfigure the Key Value server for {instance.id}: {exc}"
                        ) from exc
            for attribute in (
                "name",
                "plan",
                "maxmemory_policy",
                "persistence_mode",
                "ip_allow_list",
                "updated_ns",
            ):
                setattr(instance, attribute, getattr(updated, attribute))
            if restart is not None:
                instance.lifecycle.restart(restart, self._clock())
            return self._view(instance)

    def delete_key_value(self, instance_id: str) -> None:
        """``delete-key-value``: works in any status; the id is gone afterwards."""
        with self._lock:
            instance = self._instance(instance_id)
            with self._saving(f"the deletion of Key Value {instance.id}"):
                if self._store is not None:
                    self._store.delete_instance(instance.id)
                if self._plane is not None:
                    try:
                        self._plane.stop(instance.id)
                    except Exception as exc:  # the instance stays: its deletion did not happen
                        raise errors.InternalError(
                            f"could not stop the Key Value server for {instance.id}: {exc}"
                        ) from exc
            del self._instances[instance.id]
            self._maintenance.drop_resource(instance.id)
            self._metrics.drop(instance.id)

    def retrieve_key_value_connection_info(self, instance_id: str) -> ConnectionInfo:
        """``retrieve-key-value-connection-info``, pointing at the emulator's servers.

        Render's internal URL is ``redis://red-…:6379`` on its private network; the emulator's is
        the local plain-RESP port (no password, like Render's internal endpoint). With internal
        authentication on it carries the credentials, ``redis://default:<password>@…``, as
        Render's does (docs).
        """
        with self._lock:
            instance = self._instance(instance_id)
            credentials = f"default:{instance.password}@" if instance.internal_auth else ""
            if instance.endpoints is not None:
                host = instance.endpoints.host
                internal = (
                    f"redis://{credentials}{_url_host(host)}:{instance.endpoints.internal_port}"
                )
                port = instance.endpoints.external_port
            else:
                host = PLACEHOLDER_HOST.format(region=instance.region)
                internal = f"redis://{credentials}{instance.id}:{PLACEHOLDER_PORT}"
                port = PLACEHOLDER_PORT
            return ConnectionInfo(
                internal=internal,
                external=f"rediss://{instance.id}:{instance.password}@{_url_host(host)}:{port}",
                cli_command=(
                    f" REDISCLI_AUTH={instance.password} valkey-cli --user {instance.id}"
                    f" -h {host} -p {port} --tls"
                ),
            )

    def suspend_key_value(self, instance_id: str) -> None:
        """``suspend-key-value``: the process stops, data is kept; idempotent."""
        with self._lock:
            instance = self._instance(instance_id)
            if instance.lifecycle.suspended:
                return
            with self._saving(f"the suspension of Key Value {instance.id}"):
                self._put(replace(_instance_row(instance), suspended=True))
                if self._plane is not None:
                    try:
                        self._plane.suspend(instance.id)
                    except Exception as exc:
                        raise errors.InternalError(
                            f"could not suspend the Key Value server for {instance.id}: {exc}"
                        ) from exc
            instance.lifecycle.suspend()

    def resume_key_value(self, instance_id: str) -> None:
        """``resume-key-value``: the process starts again; idempotent."""
        with self._lock:
            instance = self._instance(instance_id)
            if not instance.lifecycle.suspended:
                return
            endpoints = instance.endpoints
            with self._saving(f"the resumption of Key Value {instance.id}"):
                self._put(replace(_instance_row(instance), suspended=False))
                if self._plane is not None:
                    try:
                        endpoints = self._plane.resume(instance.id)
                    except Exception as exc:
                        raise errors.InternalError(
                            f"could not resume the Key Value server for {instance.id}: {exc}"
                        ) from exc
                    if _ports(endpoints) != _ports(instance.endpoints):  # an old port was taken
                        self._put(
                            replace(
                                _instance_row(instance), suspended=False, ports=_ports(endpoints)
                            )
                        )
            instance.endpoints = endpoints
            instance.lifecycle.resume(self._clock())

    # -- Dashboard-only settings (the control plane's) --

    def internal_auth_enabled(self, instance_id: str) -> bool:
        """Whether the instance's internal URL needs the password."""
        with self._lock:
            return self._instance(instance_id).internal_auth

    def set_internal_auth(self, instance_id: str, enabled: bool) -> None:
        """Internal authentication on or off, as Render's Dashboard does it (the API cannot).

        The instance restarts (``config_restart`` for ``restart_delay``; the server process
        really restarts, so every client is disconnected); afterwards the internal port's
        ``default`` user needs the instance's password, and connection info's internal URL
        carries it. No change, no restart. Refused (409) while suspended (inferred).
        """
        with self._lock:
            instance = self._instance(instance_id)
            if instance.internal_auth == enabled:
                return
            if instance.lifecycle.suspended:
                raise errors.Conflict(
                    f"Key Value instance {instance.id} is suspended; resume it before changing "
                    "its internal authentication"
                )
            self._restart_server(
                instance,
                replace(instance, internal_auth=enabled),
                f"the internal authentication of Key Value {instance.id}",
            )
            instance.internal_auth = enabled
            instance.lifecycle.restart(RestartKind.CONFIG, self._clock())

    def rotate_password(self, instance_id: str) -> None:
        """A new password for the instance, applied live (no restart); the old one stops working.

        Connection info changes with it; clients that logged in before stay logged in, as
        with ``ACL SETUSER`` on any Redis.
        """
        with self._lock:
            instance = self._instance(instance_id)
            updated = replace(instance, password=ids.new_password())
            with self._saving(f"the password of Key Value {instance.id}"):
                self._put(_instance_row(updated))
                if self._plane is not None:
                    try:
                        self._plane.apply(self._plane_config(updated))
                    except Exception as exc:
                        raise errors.InternalError(
                            f"could not change the password of {instance.id}: {exc}"
                        ) from exc
            instance.password = updated.password

    def _restart_server(self, instance: _Instance, updated: _Instance, what: str) -> None:
        """Save ``updated``'s row and restart the server with its config, as one step.

        The caller changes its in-memory record afterwards; the endpoints are taken here
        (a port taken by another program while the server was down is replaced and stored).
        """
        endpoints = instance.endpoints
        with self._saving(what):
            self._put(_instance_row(updated))
            if self._plane is not None:
                try:
                    endpoints = self._plane.restart(self._plane_config(updated))
                except Exception as exc:
                    raise errors.InternalError(
                        f"could not restart the Key Value server for {instance.id}: {exc}"
                    ) from exc
                if _ports(endpoints) != _ports(instance.endpoints):
                    self._put(replace(_instance_row(updated), ports=_ports(endpoints)))
        instance.endpoints = endpoints

    # -- maintenance --

    def schedule_maintenance(
        self,
        resource_id: str,
        *,
        scheduled_ns: int,
        pending_by_ns: int | None = None,
        run_type: str = DEFAULT_TYPE,
    ) -> MaintenanceView:
        """A maintenance run for the instance (test control: Render schedules them itself)."""
        check_text(run_type, "type")
        with self._lock:
            self._instance(resource_id)
            now = self._clock()
            run = self._maintenance.schedule(
                resource_id,
                scheduled_ns=scheduled_ns,
                pending_by_ns=pending_by_ns,
                run_type=run_type,
                now=now,
            )
            with self._saving(f"maintenance {run.id}"):
                self._put_run(run)
            self._maintenance.add(run)
            return self._maintenance.view(run, now)

    def list_maintenance(self, filters: MaintenanceFilters) -> list[MaintenanceView]:
        """``list-maintenance``: scheduled and recent runs, by ``scheduledAt``."""
        with self._lock:
            now = self._clock()
            views = [self._maintenance.view(run, now) for run in self._maintenance.runs()]
            return [
                view
                for view in views
                if _in(filters.resource_ids, view.resource_id)
                and _in(filters.owner_ids, self._instances[view.resource_id].owner_id)
                and _in(filters.states, view.state)
            ]

    def retrieve_maintenance(self, run_id: str) -> MaintenanceView:
        """``retrieve-maintenance``."""
        with self._lock:
            return self._maintenance.view(self._maintenance.get(run_id), self._clock())

    def update_maintenance(self, run_id: str, scheduled_ns: int) -> None:
        """``update-maintenance``: a scheduled run moves within its window (400 otherwise)."""
        with self._lock:
            run = self._maintenance.get(run_id)
            self._maintenance.check_reschedule(
                run, scheduled_ns, now_ns=self._wall_clock_ns(), now=self._clock()
            )
            with self._saving(f"maintenance {run.id}"):
                self._put_run(replace(run, scheduled_ns=scheduled_ns))
            run.scheduled_ns = scheduled_ns

    def trigger_maintenance(self, run_id: str) -> None:
        """``trigger-maintenance``: the scheduled run starts now (a real restart of the server).

        Refused (400) while the instance is creating, suspended or starting again: a restart
        cannot run then (inferred).
        """
        with self._lock:
            run = self._maintenance.get(run_id)
            now = self._clock()
            self._maintenance.check_trigger(run, now)
            instance = self._instance(run.resource_id)
            status = instance.lifecycle.status(now)
            if status in _NOT_RUNNABLE or instance.lifecycle.resuming(now):
                raise errors.BadRequest(
                    f"Key Value instance {instance.id} is {status}; maintenance {run.id} can be "
                    "triggered once it is available"
                )
            self._run_maintenance(run, instance)

    def run_due_maintenance(self) -> list[str]:
        """Start every scheduled run whose ``scheduledAt`` has come; the ids of those started.

        Called before every API request (no timers: time moves with the emulator's clock), so
        a read after the due time sees the run in progress or done. A run of an instance that
        cannot restart now (creating, suspended) waits.
        """
        started: list[str] = []
        with self._lock:
            now = self._clock()
            for run in self._maintenance.due(self._wall_clock_ns()):
                instance = self._instances.get(run.resource_id)
                if instance is None or (
                    instance.lifecycle.status(now) in _NOT_RUNNABLE
                    or instance.lifecycle.resuming(now)
                ):
                    continue
                self._run_maintenance(run, instance)
                started.append(run.id)
        return started

    def _run_maintenance(self, run: MaintenanceRun, instance: _Instance) -> None:
        """Restart the server for ``run``; a failed restart marks the run ``failed``."""
        now = self._clock()
        try:
            with self._saving(f"maintenance {run.id}"):
                self._put_run(replace(run, state="in_progress"))
                self._restart_server(instance, instance, f"maintenance {run.id}")
        except errors.InternalError as exc:
            logger.warning("maintenance %s of %s failed: %s", run.id, instance.id, exc.message)
            with contextlib.suppress(errors.InternalError), self._saving(f"run {run.id}"):
                self._put_run(replace(run, state="failed"))
            run.state = "failed"
            return
        run.state, run.started_at = "in_progress", now
        instance.lifecycle.restart(RestartKind.MAINTENANCE, now)

    def _put_run(self, run: MaintenanceRun) -> None:
        if self._store is not None:
            self._store.put_maintenance(
                MaintenanceRow(
                    run.id,
                    run.sequence,
                    run.resource_id,
                    run.type,
                    run.scheduled_ns,
                    run.pending_by_ns,
                    run.state,
                )
            )

    # -- metrics --

    def get_metrics(self, metric: Metric, query: MetricsQuery) -> list[Series]:
        """``get-memory`` / ``get-active-connections`` / ``get-cpu`` (see ``metrics.py``).

        Each named instance's server is sampled now (one ``INFO``); ids without an instance
        select no series. The range defaults to the last hour, as the spec says.
        """
        with self._lock:
            now_ns = self._wall_clock_ns()
            end_ns = now_ns if query.end_ns is None else query.end_ns
            start_ns = (
                end_ns - DEFAULT_RANGE_SECONDS * 1_000_000_000
                if query.start_ns is None
                else query.start_ns
            )
            if start_ns > end_ns:
                raise errors.InvalidQueryParameter("startTime", "must not be after endTime")
            series: list[Series] = []
            for resource_id in dict.fromkeys(query.resource_ids):
                instance = self._instances.get(resource_id)
                if instance is None:
                    continue
                self._sample(instance, now_ns)
                found = points(
                    metric,
                    self._metrics.samples(resource_id),
                    start_ns=start_ns,
                    end_ns=end_ns,
                    resolution=query.resolution_seconds,
                )
                series.append(Series(resource_id, metric.unit, found))
            return series

    def _sample(self, instance: _Instance, now_ns: int) -> None:
        """Record what the instance's server says now (nothing while it is suspended)."""
        if self._plane is None:
            return
        try:
            stats = self._plane.stats(instance.id)
        except Exception as exc:  # a server that does not answer has no point in this bucket
            logger.warning("no metrics sample of %s: %s", instance.id, exc)
            return
        if stats is not None:
            self._metrics.record(instance.id, Sample(now_ns, stats))

    # -- log streams --

    def get_resource_log_stream(self, resource_id: str) -> LogStreamOverride:
        """``get-resource-log-stream``: 404 ``not found: <id>`` without an override (observed)."""
        with self._lock:
            override = self._instance(resource_id).log_stream
            if override is None:
                raise errors.NotFound(resource_id)
            return override

    def update_resource_log_stream(
        self, resource_id: str, override: LogStreamOverride
    ) -> LogStreamOverride:
        """``update-resource-log-stream``: sets (replaces) the override; works while suspended.

        Whether Render takes a log-stream change for a suspended instance is not documented;
        it is a setting of the resource, not of its server, so it is accepted (inferred).
        """
        check_optional_text(override.endpoint, "endpoint")
        check_optional_text(override.token, "token")
        with self._lock:
            instance = self._instance(resource_id)
            with self._saving(f"the log-stream override of {instance.id}"):
                self._put(replace(_instance_row(instance), log_stream=_log_stream_row(override)))
            instance.log_stream = override
            return override

    def delete_resource_log_stream(self, resource_id: str) -> None:
        """``delete-resource-log-stream``; 404 when there is none (inferred, like GET)."""
        with self._lock:
            instance = self._instance(resource_id)
            if instance.log_stream is None:
                raise errors.NotFound(resource_id)
            with self._saving(f"the log-stream override of {instance.id}"):
                self._put(replace(_instance_row(instance), log_stream=None))
            instance.log_stream = None

    def log_stream_token(self, resource_id: str) -> str | None:
        """The token the last PUT sent (test control: Render's API never shows it)."""
        with self._lock:
            override = self._instance(resource_id).log_stream
            return None if override is None else override.token

    # -- environments --

    def add_resources_to_environment(
        self, environment_id: str, resource_ids: tuple[str, ...]
    ) -> EnvironmentView:
        """``add-resources-to-environment``: moves instances (their ``environmentId`` changes)."""
        _check_resource_ids(resource_ids)
        with self._lock:
            environment = self._environment(environment_id)
            instances = [self._instance(resource_id) for resource_id in resource_ids]
            for instance in instances:
                if instance.owner_id != environment.owner_id:
                    raise errors.EnvironmentOwnerMismatch(environment.id, instance.owner_id)
            with self._saving(f"the move into {environment.id}"):
                for instance in instances:
                    self._put(replace(_instance_row(instance), environment_id=environment.id))
            for instance in instances:
                instance.environment_id = environment.id
            return self._environment_view(environment)

    def remove_resources_from_environment(
        self, environment_id: str, resource_ids: tuple[str, ...]
    ) -> None:
        """``remove-resources-from-environment``; ids not in the environment are left alone.

        An unknown environment id changes nothing and is no error: Render answered 204 to a
        removal addressed to ``/environments/<the instance's own red- id>/resources`` (recorded
        traffic of Render's Terraform provider). Unknown resource ids are still 404.
        """
        _check_resource_ids(resource_ids)
        with self._lock:
            instances = [self._instance(resource_id) for resource_id in resource_ids]
            leaving = [i for i in instances if i.environment_id == environment_id]
            with self._saving(f"the move out of {environment_id}"):
                for instance in leaving:
                    self._put(replace(_instance_row(instance), environment_id=None))
            for instance in leaving:
                instance.environment_id = None

    # -- test control --

    def instance_ids(self) -> list[str]:
        """Ids of every instance, oldest first."""
        with self._lock:
            return [i.id for i in sorted(self._instances.values(), key=lambda i: i.sequence)]

    def reset(self) -> None:
        """Delete every instance (stopping its server) and environment; workspaces stay."""
        with self._lock:
            for instance_id in list(self._instances):
                self.delete_key_value(instance_id)
            with self._saving("the reset"):
                if self._store is not None:
                    self._store.delete_environments()
            self._environments.clear()


def _owner_row(owner: Owner) -> OwnerRow:
    return OwnerRow(owner.id, owner.name, owner.email, owner.type)


def _instance_row(instance: _Instance) -> InstanceRow:
    return InstanceRow(
        id=instance.id,
        sequence=instance.sequence,
        name=instance.name,
        owner_id=instance.owner_id,
        plan=instance.plan,
        region=instance.region,
        environment_id=instance.environment_id,
        maxmemory_policy=instance.maxmemory_policy,
        persistence_mode=instance.persistence_mode,
        ip_allow_list=tuple((e.cidr_block, e.description) for e in instance.ip_allow_list),
        password=instance.password,
        created_ns=instance.created_ns,
        updated_ns=instance.updated_ns,
        suspended=instance.lifecycle.suspended,
        log_stream=_log_stream_row(instance.log_stream),
        ports=_ports(instance.endpoints),
        internal_auth=instance.internal_auth,
    )


def _ports(endpoints: PlaneEndpoints | None) -> tuple[int, int] | None:
    return None if endpoints is None else (endpoints.internal_port, endpoints.external_port)


def _log_stream_row(override: LogStreamOverride | None) -> LogStreamRow | None:
    if override is None:
        return None
    return LogStreamRow(override.setting, override.endpoint, override.token)


def _check_create_text(spec: CreateInput) -> None:
    """Every text field of a create body (the allow list is checked with its CIDR rule)."""
    check_name(spec.name)
    check_text(spec.owner_id, "ownerId")
    check_text(spec.plan, "plan")
    for field_name, value in (
        ("region", spec.region),
        ("environmentId", spec.environment_id),
        ("maxmemoryPolicy", spec.maxmemory_policy),
        ("persistenceMode", spec.persistence_mode),
    ):
        check_optional_text(value, field_name)


def _check_update_text(change: UpdateInput) -> None:
    """Every text field of a PATCH body (the allow list is checked with its CIDR rule)."""
    if change.name is not None:
        check_name(change.name)
    for field_name, value in (
        ("plan", change.plan),
        ("maxmemoryPolicy", change.maxmemory_policy),
        ("persistenceMode", change.persistence_mode),
    ):
        check_optional_text(value, field_name)


def _check_resource_ids(resource_ids: tuple[str, ...]) -> None:
    for index, resource_id in enumerate(resource_ids):
        check_text(resource_id, f"resourceIds[{index}]")
