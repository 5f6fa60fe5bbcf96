"""A local emulator of Render's REST API for Key Value instances (managed Valkey).

Used by the demo and the tests; it imports nothing from the rest of ``pulumi_render_kv`` and
keeps its own wire shapes, so the package's client cannot pass by agreeing with it.

    with Emulator(EmulatorSettings(data_plane=False)) as emu:
        print(emu.url)  # http://127.0.0.1:PORT/v1

Layout (one job per module): ``routes`` (HTTP: routing, auth, JSON, headers), ``backend``
(Render's rules and state), ``shapes`` (Render's JSON shapes), ``errors`` (one class per error
case), ``lifecycle`` (status derived at read time from a clock), ``ratelimit`` (Render's
buckets and headers), ``maintenance`` (maintenance runs and their rules), ``control``
(``/_emulator/`` control plane: faults, request log, reset, seeding, Dashboard-only settings),
``ids`` (ids, passwords, timestamps, cursors), ``plane`` (the data-plane interface:
config and endpoint types, error, protocol), ``dataplane`` (runs one server per instance, using
``_process`` for spawn/readiness/stop, ``_server_config`` for memory/eviction/persistence
settings, ``_ports`` for loopback ports, ``_tls`` and ``_proxy`` for the TLS gate,
``_ready_gate`` for the internal endpoint's relay), ``server`` (werkzeug serving), ``app``
(``Emulator``), ``__main__`` (the CLI).

Known differences from Render (documented at https://render.com/docs/key-value and
https://api-docs.render.com/; "observed" marks answers seen from Render's API):

- Servers: redis-server/valkey-server as found locally (here Redis 7), while the API reports
  ``version`` ``8.1.4``. Free → paid flushes the live server (Render: the data is lost).
- Connection info points at the local data plane: internal ``redis://127.0.0.1:<port>`` (Render:
  ``redis://red-…:6379`` on its private network), external ``rediss://<id>:<pw>@127.0.0.1:<port>``
  with a self-signed CA (``Emulator.ca_cert_path``). Without a data plane: ``redis://red-…:6379``
  and ``<region>-keyvalue.render-emulator.invalid:6379`` (never resolves).
- Durations of ``creating`` and restarts are settings (default 0 s; Render: minutes). Until an
  instance is ``available`` both its endpoints drop connections (``lifecycle.serving``).
  ``updating_instance`` (plan change), ``config_restart`` (policy/persistence change) and
  ``unavailable`` (after resume) are inferred; recovery statuses are never produced. A
  restarting change made while ``creating`` is absorbed (observed).
- Maintenance runs exist only when the control plane schedules one (Render schedules its own;
  their ``type`` values are undocumented, ours is ``software_upgrade``). An instance with one
  reads ``maintenance_scheduled`` and carries the ``maintenance`` object; a run is a real
  server restart (``maintenance_in_progress`` for the restart delay), started by the trigger
  or by the first API request after its ``scheduledAt``. Rescheduling past
  ``pendingMaintenanceBy`` or into the past, and triggering a run that is not scheduled (or
  an instance that is creating or suspended), are 400 (inferred).
- Inferred status codes, our wording: 400 for a downgrade, a second free instance, persistence on
  free, bad enums, the ``custom`` plan, empty names, bad CIDR blocks, ``limit`` outside 1..100,
  foreign cursors and bad timestamps; 409 for PATCH of a suspended instance; 405 for a wrong
  method; 401 text. Observed wording: ``not found: <id>``, ``rate limit exceeded``.
- Stricter than Render is known to be: unknown body fields (``region``/``ownerId`` in PATCH),
  ``null`` values, unknown or repeated query parameters and non-JSON bodies are 400.
- Rate limits: per API key, fixed clock-aligned windows; PATCH/DELETE in the 30/min bucket
  (docs; Render's testing host showed 100); suspend/resume and environment moves counted as
  writes (unknown); refused and fault-injected requests do not use quota.
- Suspend/resume are idempotent (unknown on Render). PATCH bumps ``updatedAt`` even when
  nothing changes. Allow-list CIDRs are validated and echoed as sent (not normalised).
- Workspaces: one ``team`` owner by default (more via ``backend.add_owner``); environments only
  through the control plane (no projects API); moving an instance into an environment leaves
  its old one implicitly; removing an instance an environment does not hold is a no-op; the
  environment object lists only Key Value members.
- Timestamps follow Go's RFC3339Nano printing; reads and time filters use microseconds rounded
  as Postgres rounds. Cursors have Render's shape but are our own.
- Metrics (``/metrics/memory``, ``/metrics/active-connections``, ``/metrics/cpu``) are sampled
  from the real servers' ``INFO`` when asked for, so a range only holds points of earlier
  requests; label ``resource``, units ``bytes``/``connections``/``cpu`` and 200 ``[]`` for an
  unknown id are inferred; ``instance`` and ``aggregationMethod`` are not emulated (400).
- Internal authentication (Dashboard-only on Render) is switched through the control plane; its
  password is the instance's own (Render's is not documented to differ), ``default`` user.
- Not emulated: log streams, custom plans, HTTP/2, Render's ``Render-Request-Id`` format
  (ours: ``emulator/<hex>-<n>``).
"""

from __future__ import annotations

from .app import Emulator, EmulatorSettings
from .ratelimit import RateLimitSettings

__all__ = ["Emulator", "EmulatorSettings", "RateLimitSettings"]
