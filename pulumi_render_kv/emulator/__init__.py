"""A local emulator of Render's REST API for Key Value instances (managed Valkey).

Used by the demo and the tests; it imports nothing from the rest of ``pulumi_render_kv`` and
keeps its own wire shapes, so the package's client cannot pass by agreeing with it.

Layout (one job per module): ``routes`` (HTTP: routing, auth, JSON, headers), ``backend``
(Render's rules and state), ``wire`` (Render's JSON shapes), ``errors`` (one class per error
case), ``lifecycle`` (status derived at read time from a clock), ``ratelimit`` (Render's
buckets and headers), ``control`` (``/_emulator/`` control plane: faults, request log, reset,
seeding), ``ids`` (ids, passwords, timestamps), ``plane`` (the data-plane interface),
``server`` (werkzeug serving), ``app`` (``Emulator``), ``__main__`` (the CLI).

    with Emulator(EmulatorSettings(data_plane=False)) as emu:
        print(emu.url)  # http://127.0.0.1:PORT/v1
"""

from __future__ import annotations

from .app import Emulator, EmulatorSettings
from .ratelimit import RateLimitSettings

__all__ = ["Emulator", "EmulatorSettings", "RateLimitSettings"]
