"""The emulator's public surface: exactly the names in __all__."""

from __future__ import annotations

import inspect

import pulumi_render_kv.emulator as emulator


def test_all_lists_exactly_the_public_names() -> None:
    """__all__ is Emulator, EmulatorSettings, RateLimitSettings, and each is exported."""
    assert sorted(emulator.__all__) == ["Emulator", "EmulatorSettings", "RateLimitSettings"]
    assert all(inspect.isclass(getattr(emulator, name)) for name in emulator.__all__)


def test_settings_defaults_match_the_documented_interface() -> None:
    """Defaults: loopback, free port, any token, no delays, data plane on, Render's limits."""
    settings = emulator.EmulatorSettings()
    assert (settings.host, settings.port, settings.api_key) == ("127.0.0.1", 0, None)
    assert (settings.create_delay, settings.restart_delay, settings.resume_delay) == (0, 0, 0)
    assert settings.data_plane is True
    assert settings.rate_limits == emulator.RateLimitSettings(400, 30, 20)
    assert settings.owner_id.startswith("tea-")
    assert len(settings.owner_id) == 24


def test_emulator_exposes_the_documented_methods() -> None:
    """Other code relies on these names."""
    for name in (
        "start",
        "stop",
        "url",
        "inject_fault",
        "requests",
        "clear_requests",
        "request_counts",
        "add_environment",
        "owner_id",
        "reset",
        "__enter__",
        "__exit__",
    ):
        assert hasattr(emulator.Emulator, name), name
    emu = emulator.Emulator(emulator.EmulatorSettings(data_plane=False))
    assert callable(emu.wsgi_app)
    assert emu.backend.default_owner.id == emu.owner_id
    assert emu.ca_cert_path is None
    emu.stop()
