"""``--watch``: the live numbers, one line per sample, every N seconds.

The loop takes its clock and sleep from the caller (tests pass fakes); a sample is one call
that re-reads INFO and Render's metrics. :func:`sample_line` is pure.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from pulumi_render_kv.catalog import PLAN_SIZES

from ._facts import Observation

MB = 1024 * 1024


def sample_line(obs: Observation, at: datetime) -> str:
    """``HH:MM:SS label: memory …, clients …, evicted …, rejected … | Render: …``."""
    parts: list[str] = []
    probe = obs.probe
    kv = obs.instance
    plan = kv.plan if kv is not None else None
    if probe is not None and probe.info is not None:
        info = probe.info
        used = int(info.get("used_memory", "0") or 0)
        limit = int(info.get("maxmemory", "0") or 0)
        if not limit and plan in PLAN_SIZES:
            limit = PLAN_SIZES[plan].memory_mb * MB
        share = f" ({100 * used / limit:.0f}% of {limit / MB:.0f} MB)" if limit else ""
        parts.append(f"memory {used / MB:.1f} MB{share}")
        parts.append(f"clients {info.get('connected_clients', '?')}")
        parts.append(f"evicted {info.get('evicted_keys', '?')}")
        parts.append(f"rejected {info.get('rejected_connections', '?')}")
        parts.append(f"ops/s {info.get('instantaneous_ops_per_sec', '?')}")
    elif probe is not None:
        parts.append("not connected: " + (probe.refusal or probe.dns_error or str(probe.tcp)))
    if kv is not None and kv.metrics is not None:
        m = kv.metrics
        render: list[str] = []
        if m.memory_bytes is not None:
            render.append(f"memory {m.memory_bytes / MB:.1f} MB")
        if m.active_connections is not None:
            render.append(f"connections {m.active_connections:.0f}")
        if m.cpu is not None:
            render.append(f"cpu {m.cpu:.2f}")
        if render:
            parts.append("Render: " + ", ".join(render))
    label = obs.context.label
    return f"{at.strftime('%H:%M:%S')} {label}: " + ", ".join(parts or ["no data"])


def watch(
    sample: Callable[[], list[str]],
    *,
    interval: float,
    count: int,
    clock: Callable[[], float],
    sleep: Callable[[float], None],
    write: Callable[[str], None],
) -> int:
    """Write ``sample()``'s lines every ``interval`` seconds, ``count`` times (0: until Ctrl-C).

    Samples keep to the schedule (a slow sample shortens the next wait, it does not shift every
    later one). Returns how many samples were taken.
    """
    taken = 0
    due = clock()
    try:
        while count == 0 or taken < count:
            for line in sample():
                write(line)
            taken += 1
            if count and taken >= count:
                break
            due += interval
            sleep(max(0.0, due - clock()))
    except KeyboardInterrupt:
        pass
    return taken
