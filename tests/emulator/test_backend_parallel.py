"""The backend does not serialise requests behind a server that is still starting."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

import pytest

from pulumi_render_kv.emulator import errors
from pulumi_render_kv.emulator.backend import Backend
from pulumi_render_kv.emulator.lifecycle import LifecycleSettings
from pulumi_render_kv.emulator.plane import InstanceConfig, Serving
from pulumi_render_kv.emulator.records import CreateInput, Owner

from .fakes import FakeClock, FakeDataPlane, FakeEndpoints

OWNER = Owner(id="tea-aaaaaaaaaaaaaaaaaaaa", name="Workspace", email="a@example.com")
WAIT = 10.0  # seconds a thread may take before the test calls it stuck (never reached when green)


@dataclass
class SlowStartPlane(FakeDataPlane):
    """After ``slow_next()``, the next server start blocks until the test releases it."""

    release: threading.Event = field(default_factory=threading.Event)
    starting: threading.Event = field(default_factory=threading.Event)
    _slow: bool = False

    def slow_next(self) -> None:
        self._slow = True

    def start(
        self,
        config: InstanceConfig,
        *,
        ports: tuple[int, int] | None = None,
        serving: Serving | None = None,
    ) -> FakeEndpoints:
        if self._slow:
            self._slow = False
            self.starting.set()
            assert self.release.wait(WAIT), "the test never released the slow start"
        return super().start(config, ports=ports, serving=serving)


def make_backend(plane: FakeDataPlane) -> Backend:
    clock = FakeClock()
    return Backend(
        owner=OWNER,
        lifecycle=LifecycleSettings(),
        clock=clock,
        wall_clock_ns=lambda: 1_781_022_325_000_000_000 + int(clock() * 1e9),
        data_plane=plane,
    )


def create(backend: Backend, name: str, plan: str = "starter") -> str:
    return backend.create_key_value(CreateInput(name=name, owner_id=OWNER.id, plan=plan)).id


def in_thread(fn: object) -> tuple[threading.Thread, dict[str, object]]:
    box: dict[str, object] = {}

    def run() -> None:
        try:
            box["result"] = fn()  # type: ignore[operator]
        except Exception as err:  # handed to the test
            box["error"] = err

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread, box


def test_requests_for_other_instances_proceed_while_a_server_starts() -> None:
    """A create whose server is still starting blocks neither reads nor other creates."""
    plane = SlowStartPlane()
    backend = make_backend(plane)
    other = create(backend, "other")
    plane.slow_next()
    slow, slow_box = in_thread(lambda: create(backend, "slow"))
    assert plane.starting.wait(WAIT)
    try:
        reader, read_box = in_thread(lambda: backend.retrieve_key_value(other).status)
        reader.join(WAIT / 2)
        assert not reader.is_alive(), "a GET of another instance waited for the slow start"
        assert "result" in read_box
        creator, create_box = in_thread(lambda: create(backend, "fast"))
        creator.join(WAIT / 2)
        assert not creator.is_alive(), "another create waited for the slow start"
        assert isinstance(create_box.get("result"), str)
        # The instance being started is not listed until it exists.
        assert len(backend.instance_ids()) == 2
    finally:
        plane.release.set()
        slow.join(WAIT)
    assert isinstance(slow_box.get("result"), str)
    assert len(backend.instance_ids()) == 3


def test_the_free_instance_rule_holds_while_the_first_one_starts() -> None:
    """Two free creates at once: the second is refused even before the first server is up."""
    plane = SlowStartPlane()
    backend = make_backend(plane)
    plane.slow_next()
    slow, slow_box = in_thread(lambda: create(backend, "slow-free", plan="free"))
    assert plane.starting.wait(WAIT)
    try:
        with pytest.raises(errors.FreeInstanceLimit):
            create(backend, "second-free", plan="free")
    finally:
        plane.release.set()
        slow.join(WAIT)
    assert isinstance(slow_box.get("result"), str)
