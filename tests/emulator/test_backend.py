"""Render's Key Value rules in the backend, without HTTP (fake clock and data plane)."""

from __future__ import annotations

import pytest

from pulumi_render_kv.emulator import errors
from pulumi_render_kv.emulator.backend import Backend
from pulumi_render_kv.emulator.lifecycle import LifecycleSettings
from pulumi_render_kv.emulator.records import (
    MB,
    CidrBlock,
    CreateInput,
    ListFilters,
    UpdateInput,
    Workspace,
)

from .fakes import FakeClock, FakeDataPlane

OWNER = Workspace(id="tea-aaaaaaaaaaaaaaaaaaaa", name="Workspace", email="a@example.com")


@pytest.fixture
def backend(clock: FakeClock, plane: FakeDataPlane) -> Backend:
    return Backend(
        owner=OWNER,
        lifecycle=LifecycleSettings(create_delay=30, restart_delay=10),
        clock=clock,
        wall_clock_ns=lambda: 1_781_022_325_000_000_000 + int(clock() * 1e9),
        data_plane=plane,
    )


def _create(backend: Backend, **fields: object) -> str:
    spec = {"name": "cache", "owner_id": OWNER.id, "plan": "starter", **fields}
    return backend.create_key_value(CreateInput(**spec)).id  # type: ignore[arg-type]


# --- create ---------------------------------------------------------------------------------


def test_create_applies_renders_defaults(backend: Backend) -> None:
    """region oregon, policy allkeys_lru, paid persistence journal_snapshot, version 8.1.4."""
    view = backend.create_key_value(CreateInput(name="cache", owner_id=OWNER.id, plan="starter"))
    assert (view.region, view.maxmemory_policy, view.persistence_mode) == (
        "oregon",
        "allkeys_lru",
        "journal_snapshot",
    )
    assert view.version == "8.1.4"
    assert view.environment_id is None
    assert view.status == "unknown"
    assert view.fresh


def test_free_instances_default_to_persistence_off(backend: Backend) -> None:
    """Free instances have no persistence."""
    view = backend.create_key_value(CreateInput(name="c", owner_id=OWNER.id, plan="free"))
    assert view.persistence_mode == "off"


def test_create_starts_a_server_with_the_plans_memory_and_valkey_policy(
    backend: Backend, plane: FakeDataPlane
) -> None:
    """The data plane gets maxmemory from the plan and the hyphenated policy."""
    instance_id = _create(
        backend,
        plan="standard",
        maxmemory_policy="volatile_ttl",
        ip_allow_list=(CidrBlock("10.0.0.0/8", "office"),),
    )
    config = plane.configs[instance_id]
    assert config.maxmemory_bytes == 1024 * MB
    assert config.maxmemory_policy == "volatile-ttl"
    assert config.persistence == "journal_snapshot"
    assert config.allow_list == ("10.0.0.0/8",)
    assert len(config.password) == 32


def test_only_one_free_instance_per_workspace(backend: Backend) -> None:
    """A second free instance in the same workspace is refused with 400."""
    first = _create(backend, plan="free")
    with pytest.raises(errors.FreeInstanceLimit) as caught:
        _create(backend, plan="free", name="second")
    assert caught.value.status == 400
    assert caught.value.message == (
        f"workspace {OWNER.id} already has a free Key Value instance ({first}); only one free "
        "instance is allowed per workspace: choose a paid plan or delete it"
    )


def test_free_limit_is_per_workspace(backend: Backend) -> None:
    """Another workspace can still have its own free instance."""
    other = backend.add_owner("Other", "o@example.com")
    _create(backend, plan="free")
    view = backend.create_key_value(CreateInput(name="c", owner_id=other.id, plan="free"))
    assert view.plan == "free"


def test_a_deleted_free_instance_frees_the_slot(backend: Backend) -> None:
    """After deleting the free instance a new one may be created."""
    backend.delete_key_value(_create(backend, plan="free"))
    assert backend.retrieve_key_value(_create(backend, plan="free")).plan == "free"


@pytest.mark.parametrize("mode", ["snapshot", "journal_snapshot"])
def test_persistence_on_free_is_refused(backend: Backend, mode: str) -> None:
    """persistenceMode other than off on free → 400 naming the value."""
    with pytest.raises(errors.PersistenceOnFreePlan) as caught:
        _create(backend, plan="free", persistence_mode=mode)
    assert caught.value.status == 400
    assert caught.value.message == (
        f"invalid value for persistenceMode: {mode!r} is not available on the free plan "
        "(free instances have no persistence; use 'off' or a paid plan)"
    )


@pytest.mark.parametrize(
    ("field", "api_field", "value"),
    [
        ("plan", "plan", "gigantic"),
        ("region", "region", "mars"),
        ("maxmemory_policy", "maxmemoryPolicy", "allkeys-lru"),
        ("persistence_mode", "persistenceMode", "aof"),
    ],
)
def test_bad_enum_values_are_refused_naming_field_and_value(
    backend: Backend, field: str, api_field: str, value: str
) -> None:
    """Enums are checked with their exact (underscore) spelling."""
    with pytest.raises(errors.InvalidEnumValue) as caught:
        _create(backend, **{field: value})
    assert caught.value.status == 400
    assert caught.value.message.startswith(f"invalid value for {api_field}: {value!r} (must be")


def test_custom_plan_is_refused(backend: Backend) -> None:
    """`custom` is in the enum but account-specific; the emulator offers none."""
    with pytest.raises(errors.InvalidFieldValue) as caught:
        _create(backend, plan="custom")
    assert caught.value.message.startswith("invalid value for plan: 'custom' plans are")


def test_unknown_owner_is_not_found(backend: Backend) -> None:
    """An ownerId the key cannot see → 404 not found: <id>."""
    with pytest.raises(errors.NotFound) as caught:
        _create(backend, owner_id="tea-zzzzzzzzzzzzzzzzzzzz")
    assert caught.value.message == "not found: tea-zzzzzzzzzzzzzzzzzzzz"


def test_empty_name_is_refused(backend: Backend) -> None:
    """A blank name → 400."""
    with pytest.raises(errors.InvalidFieldValue) as caught:
        _create(backend, name="  ")
    assert caught.value.message == "invalid value for name: must not be empty"


def test_bad_cidr_block_is_refused(backend: Backend) -> None:
    """ipAllowList entries must be CIDR blocks."""
    with pytest.raises(errors.InvalidFieldValue) as caught:
        _create(backend, ip_allow_list=(CidrBlock("10.0.0.0/8", "ok"), CidrBlock("office", "x")))
    assert caught.value.message.startswith("invalid value for ipAllowList[1].cidrBlock: 'office'")


def test_failed_server_start_creates_nothing(backend: Backend, plane: FakeDataPlane) -> None:
    """If the process cannot start, the API answers 500 and no instance exists."""
    plane.fail_start = True
    with pytest.raises(errors.InternalError) as caught:
        _create(backend)
    assert caught.value.status == 500
    assert "redis-server exited with status 1" in caught.value.message
    assert backend.instance_ids() == []


def test_environment_must_exist_and_share_the_workspace(backend: Backend) -> None:
    """environmentId: unknown → 404, another workspace's → 400."""
    with pytest.raises(errors.NotFound):
        _create(backend, environment_id="evm-zzzzzzzzzzzzzzzzzzzz")
    other = backend.add_owner("Other", "o@example.com")
    foreign = backend.add_environment("prod", owner_id=other.id)
    with pytest.raises(errors.EnvironmentOwnerMismatch) as caught:
        _create(backend, environment_id=foreign.id)
    assert caught.value.message == (
        f"environment {foreign.id} does not belong to workspace {OWNER.id}"
    )
    own = backend.add_environment("prod")
    assert backend.retrieve_key_value(_create(backend, environment_id=own.id)).environment_id == (
        own.id
    )


# --- update ---------------------------------------------------------------------------------


def test_downgrade_is_refused_naming_both_plans(backend: Backend) -> None:
    """Plans only go up: standard → starter is a 400."""
    instance_id = _create(backend, plan="standard")
    with pytest.raises(errors.PlanDowngrade) as caught:
        backend.update_key_value(instance_id, UpdateInput(plan="starter"))
    assert caught.value.status == 400
    assert caught.value.message.startswith("cannot change plan from standard to starter:")


@pytest.mark.parametrize(
    ("current", "target"),
    [("free", "starter"), ("starter", "standard"), ("standard", "pro"), ("pro", "pro_plus")],
)
def test_upgrades_are_accepted(backend: Backend, current: str, target: str) -> None:
    """Every step up the order free < starter < standard < pro < pro_plus is allowed."""
    instance_id = _create(backend, plan=current)
    assert backend.update_key_value(instance_id, UpdateInput(plan=target)).plan == target


def test_free_to_paid_flips_persistence_and_flushes_the_data(
    backend: Backend, plane: FakeDataPlane
) -> None:
    """free → starter: persistence off → journal_snapshot, and the data is lost."""
    instance_id = _create(backend, plan="free")
    view = backend.update_key_value(instance_id, UpdateInput(plan="starter"))
    assert view.persistence_mode == "journal_snapshot"
    name, (config, flush) = plane.calls[-1]  # type: ignore[misc]
    assert name == "apply"
    assert flush is True
    assert config.maxmemory_bytes == 256 * MB


def test_free_to_paid_honours_a_given_persistence(backend: Backend) -> None:
    """free → starter with persistenceMode snapshot keeps snapshot."""
    instance_id = _create(backend, plan="free")
    view = backend.update_key_value(
        instance_id, UpdateInput(plan="starter", persistence_mode="snapshot")
    )
    assert view.persistence_mode == "snapshot"


def test_paid_upgrades_keep_the_data(backend: Backend, plane: FakeDataPlane) -> None:
    """starter → standard reconfigures without flushing."""
    instance_id = _create(backend)
    backend.update_key_value(instance_id, UpdateInput(plan="standard"))
    assert plane.calls[-1][0] == "apply"
    assert plane.calls[-1][1][1] is False  # type: ignore[index]


def test_persistence_cannot_be_enabled_on_free(backend: Backend) -> None:
    """PATCH persistenceMode snapshot on a free instance → 400."""
    instance_id = _create(backend, plan="free")
    with pytest.raises(errors.PersistenceOnFreePlan):
        backend.update_key_value(instance_id, UpdateInput(persistence_mode="snapshot"))


def test_patch_is_partial_and_allow_list_is_replaced(backend: Backend) -> None:
    """Omitted fields stay; ipAllowList is replaced whole; [] clears it."""
    instance_id = _create(
        backend, maxmemory_policy="noeviction", ip_allow_list=(CidrBlock("1.2.3.4/32", "a"),)
    )
    view = backend.update_key_value(
        instance_id, UpdateInput(name="renamed", ip_allow_list=(CidrBlock("5.6.7.0/24", "b"),))
    )
    assert (view.name, view.maxmemory_policy) == ("renamed", "noeviction")
    assert view.ip_allow_list == (CidrBlock("5.6.7.0/24", "b"),)
    cleared = backend.update_key_value(instance_id, UpdateInput(ip_allow_list=()))
    assert cleared.ip_allow_list == ()


def test_plan_change_restarts_as_updating_instance(backend: Backend, clock: FakeClock) -> None:
    """After creation, a plan change shows updating_instance for restart_delay seconds."""
    instance_id = _create(backend)
    clock.advance(30)
    assert backend.update_key_value(instance_id, UpdateInput(plan="pro")).status == (
        "updating_instance"
    )
    clock.advance(10)
    assert backend.retrieve_key_value(instance_id).status == "available"


@pytest.mark.parametrize(
    "change",
    [UpdateInput(maxmemory_policy="noeviction"), UpdateInput(persistence_mode="snapshot")],
)
def test_policy_or_persistence_change_restarts_as_config_restart(
    backend: Backend, clock: FakeClock, change: UpdateInput
) -> None:
    """Policy or persistence changes show config_restart."""
    instance_id = _create(backend)
    clock.advance(30)
    assert backend.update_key_value(instance_id, change).status == "config_restart"


def test_unchanged_values_and_renames_do_not_restart(backend: Backend, clock: FakeClock) -> None:
    """Re-sending the current plan/policy, or renaming, keeps the instance available."""
    instance_id = _create(backend)
    clock.advance(30)
    view = backend.update_key_value(
        instance_id,
        UpdateInput(name="new", plan="starter", maxmemory_policy="allkeys_lru"),
    )
    assert view.status == "available"


def test_patch_while_creating_is_accepted_and_stays_creating(
    backend: Backend, clock: FakeClock
) -> None:
    """Observed: PATCH during creation → 200, status creating, updatedAt bumped."""
    instance_id = _create(backend)
    before = backend.retrieve_key_value(instance_id)
    clock.advance(1)
    view = backend.update_key_value(instance_id, UpdateInput(plan="standard"))
    assert view.status == "creating"
    assert view.updated_ns > before.updated_ns
    assert view.created_ns == before.created_ns


def test_update_of_a_suspended_instance_conflicts(backend: Backend) -> None:
    """A suspended instance must be resumed before it can be changed (409, inferred)."""
    instance_id = _create(backend)
    backend.suspend_key_value(instance_id)
    with pytest.raises(errors.Conflict) as caught:
        backend.update_key_value(instance_id, UpdateInput(name="x"))
    assert caught.value.status == 409
    assert caught.value.message == (
        f"Key Value instance {instance_id} is suspended; resume it before updating it"
    )


def test_failed_reconfiguration_changes_nothing(backend: Backend, plane: FakeDataPlane) -> None:
    """If the live server cannot be reconfigured, the API answers 500 and keeps the old state."""
    instance_id = _create(backend)

    def broken_apply(*_: object, **__: object) -> None:
        raise RuntimeError("CONFIG SET failed")

    plane.apply = broken_apply  # type: ignore[method-assign]
    with pytest.raises(errors.InternalError):
        backend.update_key_value(instance_id, UpdateInput(maxmemory_policy="noeviction"))
    assert backend.retrieve_key_value(instance_id).maxmemory_policy == "allkeys_lru"


# --- delete, suspend, resume, connection info -----------------------------------------------


def test_delete_stops_the_server_and_forgets_the_id(backend: Backend, plane: FakeDataPlane) -> None:
    """DELETE stops the process; later reads are 404 not found: <id>."""
    instance_id = _create(backend)
    backend.delete_key_value(instance_id)
    assert instance_id not in plane.running
    with pytest.raises(errors.NotFound) as caught:
        backend.retrieve_key_value(instance_id)
    assert caught.value.message == f"not found: {instance_id}"


def test_delete_works_while_creating(backend: Backend) -> None:
    """Observed: deleting a creating instance works."""
    instance_id = _create(backend)
    assert backend.retrieve_key_value(instance_id).status == "creating"
    backend.delete_key_value(instance_id)
    assert backend.instance_ids() == []


def test_suspend_and_resume_drive_the_data_plane(
    backend: Backend, plane: FakeDataPlane, clock: FakeClock
) -> None:
    """Suspend stops the process (status suspended); resume starts it again, on new ports
    when another program took the old ones meanwhile."""
    instance_id = _create(backend)
    clock.advance(30)
    before = backend.retrieve_key_value_connection_info(instance_id)
    backend.suspend_key_value(instance_id)
    plane.taken.add(plane.endpoints[instance_id].internal_port)
    backend.suspend_key_value(instance_id)  # idempotent
    assert backend.retrieve_key_value(instance_id).status == "suspended"
    backend.resume_key_value(instance_id)
    backend.resume_key_value(instance_id)  # idempotent
    assert plane.names().count("suspend") == 1
    assert plane.names().count("resume") == 1
    assert backend.retrieve_key_value(instance_id).status == "unavailable"
    assert backend.retrieve_key_value_connection_info(instance_id).internal != before.internal


def test_a_resumed_instance_reads_suspended_for_the_resume_delay_and_refuses_a_patch(
    plane: FakeDataPlane, clock: FakeClock
) -> None:
    """Between the resume's 202 and the end of resume_delay a read says suspended and a PATCH
    is refused as for a suspended instance; a second resume changes nothing; then it restarts."""
    backend = Backend(
        owner=OWNER,
        lifecycle=LifecycleSettings(restart_delay=10, resume_delay=4),
        clock=clock,
        wall_clock_ns=lambda: 1_781_022_325_000_000_000 + int(clock() * 1e9),
        data_plane=plane,
    )
    instance_id = _create(backend)
    backend.suspend_key_value(instance_id)
    backend.resume_key_value(instance_id)
    assert plane.names().count("resume") == 1  # the server starts at the request
    clock.advance(3)
    assert backend.retrieve_key_value(instance_id).status == "suspended"
    backend.resume_key_value(instance_id)
    assert plane.names().count("resume") == 1
    with pytest.raises(errors.Conflict, match="suspended and resuming; wait until it is available"):
        backend.update_key_value(instance_id, UpdateInput(name="x"))
    clock.advance(1)
    assert backend.retrieve_key_value(instance_id).status == "unavailable"
    assert backend.update_key_value(instance_id, UpdateInput(name="x")).name == "x"
    clock.advance(10)
    assert backend.retrieve_key_value(instance_id).status == "available"


def test_connection_info_points_at_the_data_plane(backend: Backend, plane: FakeDataPlane) -> None:
    """Internal: plain RESP without password; external: rediss with id and password."""
    instance_id = _create(backend)
    info = backend.retrieve_key_value_connection_info(instance_id)
    password = plane.configs[instance_id].password
    assert info.internal == "redis://127.0.0.1:20000"
    assert info.external == f"rediss://{instance_id}:{password}@127.0.0.1:20001"
    assert info.cli_command == (
        f" REDISCLI_AUTH={password} valkey-cli --user {instance_id} -h 127.0.0.1 -p 20001 --tls"
    )


def test_connection_info_brackets_an_ipv6_loopback_host(
    backend: Backend, plane: FakeDataPlane
) -> None:
    """A data plane on ::1 yields URLs with ``[::1]``; valkey-cli's -h takes it bare."""
    plane.host = "::1"
    instance_id = _create(backend)
    info = backend.retrieve_key_value_connection_info(instance_id)
    assert info.internal == "redis://[::1]:20000"
    assert info.external.endswith("@[::1]:20001")
    assert " -h ::1 -p 20001 " in info.cli_command


def test_connection_info_without_data_plane_has_renders_shape(clock: FakeClock) -> None:
    """No data plane: internal redis://red-…:6379 like Render's, external host never resolves."""
    backend = Backend(
        owner=OWNER,
        lifecycle=LifecycleSettings(),
        clock=clock,
        wall_clock_ns=lambda: 0,
    )
    instance_id = _create(backend, region="frankfurt")
    info = backend.retrieve_key_value_connection_info(instance_id)
    assert info.internal == f"redis://{instance_id}:6379"
    assert info.external.startswith(f"rediss://{instance_id}:")
    assert info.external.endswith("@frankfurt-keyvalue.render-emulator.invalid:6379")
    assert info.cli_command.startswith(" REDISCLI_AUTH=")


# --- list -----------------------------------------------------------------------------------


def test_list_is_newest_first_and_filters_combine(backend: Backend) -> None:
    """Filters OR within a parameter and AND across parameters."""
    a = _create(backend, name="a", region="ohio")
    b = _create(backend, name="b", region="oregon")
    c = _create(backend, name="a", region="oregon")
    everything = [view.id for view, _ in backend.list_key_value(ListFilters())]
    assert everything == [c, b, a]
    names = backend.list_key_value(ListFilters(names=("a",), regions=("oregon", "frankfurt")))
    assert [view.id for view, _ in names] == [c]


def test_list_region_filter_is_enum_checked(backend: Backend) -> None:
    """region=mars → 400."""
    with pytest.raises(errors.InvalidEnumValue):
        backend.list_key_value(ListFilters(regions=("mars",)))


def test_list_time_filters_compare_microsecond_timestamps(
    backend: Backend, clock: FakeClock
) -> None:
    """createdAfter/updatedBefore select by the timestamps reads show."""
    first = _create(backend, name="first")
    clock.advance(60)
    second = _create(backend, name="second")
    middle = 1_781_022_325_000_000_000 + int((clock() - 30) * 1e9)
    after = backend.list_key_value(ListFilters(created_after_ns=middle))
    before = backend.list_key_value(ListFilters(updated_before_ns=middle))
    assert [v.id for v, _ in after] == [second]
    assert [v.id for v, _ in before] == [first]


def test_reset_deletes_everything_and_stops_servers(backend: Backend, plane: FakeDataPlane) -> None:
    """reset() leaves no instance, no environment and no running server."""
    _create(backend)
    env = backend.add_environment("prod")
    backend.reset()
    assert backend.instance_ids() == []
    assert plane.running == set()
    with pytest.raises(errors.NotFound):
        backend.add_resources_to_environment(env.id, ())
