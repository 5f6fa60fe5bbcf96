"""Status progressions derived at read time from an injected clock."""

from __future__ import annotations

import pytest

from pulumi_render_kv.emulator.lifecycle import InstanceLifecycle, LifecycleSettings, RestartKind


def _lifecycle(create_delay: float = 10, restart_delay: float = 5, **kw: str) -> InstanceLifecycle:
    return InstanceLifecycle(
        LifecycleSettings(create_delay=create_delay, restart_delay=restart_delay, **kw),
        created_at=100.0,
    )


def test_create_response_reports_unknown_by_default() -> None:
    """Render answered the create with status unknown in 4 of 5 recordings."""
    assert _lifecycle().create_response_status == "unknown"


def test_create_response_status_can_be_creating() -> None:
    """status_on_create='creating' reproduces the other observed answer."""
    assert _lifecycle(status_on_create="creating").create_response_status == "creating"


def test_status_on_create_rejects_other_values() -> None:
    """Only unknown and creating were observed in create responses."""
    with pytest.raises(ValueError, match="status_on_create"):
        LifecycleSettings(status_on_create="available")


def test_negative_delays_are_rejected() -> None:
    """Delays are durations."""
    with pytest.raises(ValueError, match=">= 0"):
        LifecycleSettings(create_delay=-1)


def test_reads_report_creating_until_the_create_delay_has_passed() -> None:
    """creating for create_delay seconds, then available."""
    lifecycle = _lifecycle()
    assert lifecycle.status(100.0) == "creating"
    assert lifecycle.status(109.999) == "creating"
    assert lifecycle.status(110.0) == "available"


def test_zero_create_delay_is_available_at_once() -> None:
    """With no delay the first read already reports available."""
    assert _lifecycle(create_delay=0).status(100.0) == "available"


def test_plan_change_shows_updating_instance_then_available() -> None:
    """A plan change restarts the instance as updating_instance for restart_delay seconds."""
    lifecycle = _lifecycle()
    lifecycle.restart(RestartKind.PLAN, 200.0)
    assert lifecycle.status(200.0) == "updating_instance"
    assert lifecycle.status(204.9) == "updating_instance"
    assert lifecycle.status(205.0) == "available"


def test_config_change_shows_config_restart_then_available() -> None:
    """A policy/persistence change restarts the instance as config_restart."""
    lifecycle = _lifecycle()
    lifecycle.restart(RestartKind.CONFIG, 200.0)
    assert lifecycle.status(201.0) == "config_restart"
    assert lifecycle.status(206.0) == "available"


def test_config_change_during_a_plan_change_keeps_updating_instance() -> None:
    """A running plan change is not downgraded to config_restart by a later config change."""
    lifecycle = _lifecycle()
    lifecycle.restart(RestartKind.PLAN, 200.0)
    lifecycle.restart(RestartKind.CONFIG, 203.0)
    assert lifecycle.status(207.0) == "updating_instance"
    assert lifecycle.status(208.0) == "available"


def test_restart_while_creating_is_absorbed_by_the_creation() -> None:
    """Render kept reporting creating after a PATCH during creation."""
    lifecycle = _lifecycle()
    lifecycle.restart(RestartKind.PLAN, 105.0)
    assert lifecycle.status(106.0) == "creating"
    assert lifecycle.status(110.0) == "available"


def test_suspended_until_resumed_then_unavailable_for_the_restart_delay() -> None:
    """suspend → suspended; resume → unavailable for restart_delay → available."""
    lifecycle = _lifecycle()
    lifecycle.suspend()
    assert lifecycle.suspended
    assert lifecycle.status(500.0) == "suspended"
    lifecycle.resume(500.0)
    assert not lifecycle.suspended
    assert lifecycle.status(501.0) == "unavailable"
    assert lifecycle.status(505.0) == "available"


def test_after_a_resume_reads_say_suspended_for_the_resume_delay_then_it_restarts() -> None:
    """Render's resume is asynchronous: suspended for resume_delay, unavailable for
    restart_delay, then available."""
    lifecycle = InstanceLifecycle(
        LifecycleSettings(create_delay=10, restart_delay=5, resume_delay=3), created_at=100.0
    )
    lifecycle.suspend()
    lifecycle.resume(500.0)
    assert not lifecycle.suspended  # the resume was accepted
    assert lifecycle.resuming(500.0)
    assert [lifecycle.status(t) for t in (500.0, 502.9, 503.0, 507.9, 508.0)] == [
        "suspended",
        "suspended",
        "unavailable",
        "unavailable",
        "available",
    ]
    assert not lifecycle.resuming(503.0)


def test_negative_resume_delay_is_rejected() -> None:
    with pytest.raises(ValueError, match="resume_delay must be >= 0"):
        LifecycleSettings(resume_delay=-0.5)


def test_resume_of_a_running_instance_changes_nothing() -> None:
    """Resuming an instance that is not suspended is a no-op."""
    lifecycle = _lifecycle()
    lifecycle.resume(300.0)
    assert lifecycle.status(300.0) == "available"


def test_the_server_serves_only_while_available() -> None:
    """serving() follows the status: no connections while creating, restarting or suspended."""
    lifecycle = InstanceLifecycle(
        LifecycleSettings(create_delay=10, restart_delay=5, resume_delay=2), created_at=100.0
    )
    assert not lifecycle.serving(109.9)  # creating
    assert lifecycle.serving(110.0)
    lifecycle.restart(RestartKind.CONFIG, 120.0)
    assert not lifecycle.serving(124.9)
    assert lifecycle.serving(125.0)
    lifecycle.suspend()
    assert not lifecycle.serving(200.0)
    lifecycle.resume(200.0)
    assert not lifecycle.serving(201.0)  # still reads suspended
    assert not lifecycle.serving(206.9)  # unavailable: the resume's restart
    assert lifecycle.serving(207.0)
