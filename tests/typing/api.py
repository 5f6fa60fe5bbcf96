"""Checked by mypy (`make lint`), never run: the public API as a user's program types it."""

from __future__ import annotations

from datetime import UTC, datetime

import pulumi

import pulumi_render_kv as render_kv

cache = render_kv.KeyValue(
    "cache",
    plan=render_kv.Plan.STARTER,
    region="oregon",
    workload=render_kv.Workload.CACHE,
    ip_allow_list=[
        render_kv.IpAllowEntry(cidr_block="203.0.113.0/24", description="office"),
        {"cidr_block": "198.51.100.7", "description": "ci"},
        "192.0.2.0/28",
    ],
    deletion_protection=True,
    wait_timeout=600,
)
queue = render_kv.KeyValue(
    "jobs",
    plan="standard",
    maxmemory_policy=render_kv.MaxmemoryPolicy.NOEVICTION,
    persistence_mode=render_kv.PersistenceMode.JOURNAL_SNAPSHOT,
    environment_id=pulumi.Config().get("environmentId"),
    opts=pulumi.ResourceOptions(protect=True),
    maintenance_scheduled_at=datetime(2026, 12, 10, 3, tzinfo=UTC),
)
night = render_kv.KeyValue("night", plan="starter", maintenance_scheduled_at="2026-12-10T03:00:00Z")
auth_on: pulumi.Output[bool] = cache.internal_auth_enabled
pending: pulumi.Output[dict[str, str] | None] = cache.maintenance
url: pulumi.Output[str] = cache.internal_connection_string
port: pulumi.Output[int] = cache.port
existing: render_kv.KeyValue = render_kv.KeyValue.get("legacy", "red-d8k3stdodlmc73btr2q0")
found: render_kv.KeyValueLookup = render_kv.get_key_value(name="legacy", region="ohio")
found_id: str = found.id

try:
    pass
except render_kv.PlanRejected as rejected:
    message: str = str(rejected)
except render_kv.RenderCallFailed as failed:
    cause: render_kv.RenderError = failed.cause
