"""The verdict logic, on facts built by hand: fast, no sockets (the real faults are in
test_doctor_emulator.py)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from pulumi_render_kv.doctor._checks import Level, Verdict, diagnose
from pulumi_render_kv.doctor._facts import (
    Context,
    InstanceFacts,
    Maintenance,
    Metrics,
    Observation,
    Probe,
    Tcp,
    Transport,
)
from pulumi_render_kv.doctor._report import (
    EXIT_AT_RISK,
    EXIT_OK,
    EXIT_PROBLEM,
    TargetReport,
    exit_status,
    render_json,
    render_text,
)
from pulumi_render_kv.doctor._urls import parse_url

NOW = datetime(2026, 12, 4, 12, 0, tzinfo=UTC)
ID = "red-abcdefghij0123456789"
PASSWORD = "Secr3tPassw0rdSecr3tPassw0rd1234"
MB = 1024 * 1024
INTERNAL = parse_url(f"redis://{ID}:6379")
EXTERNAL = parse_url(f"rediss://{ID}:{PASSWORD}@oregon-keyvalue.render.com:6379")


def instance(**changes: object) -> InstanceFacts:
    base = InstanceFacts(
        id=ID,
        name="jobs",
        plan="starter",
        region="oregon",
        status="available",
        maxmemory_policy="noeviction",
        persistence_mode="journal_snapshot",
        allow_list=("203.0.113.0/24",),
        version="8.1.4",
        internal_url=INTERNAL,
        external_url=EXTERNAL,
    )
    return replace(base, **changes)  # type: ignore[arg-type]


def info(**values: object) -> dict[str, str]:
    base = {
        "redis_version": "7.2.4",
        "server_name": "valkey",
        "valkey_version": "8.1.4",
        "used_memory": str(10 * MB),
        "maxmemory": str(256 * MB),
        "maxmemory_policy": "noeviction",
        "evicted_keys": "0",
        "connected_clients": "3",
        "rejected_connections": "0",
    }
    base.update({k: str(v) for k, v in values.items()})
    return base


def connected(url=EXTERNAL, **probe: object) -> Probe:  # type: ignore[no-untyped-def]
    base = Probe(
        url=url,
        addresses=("192.0.2.10",),
        tcp=Tcp.CONNECTED,
        transport=Transport.TLS if url.tls else Transport.PLAIN,
        authenticated=url.has_credentials or None,
        info=info(),
    )
    return replace(base, **probe)  # type: ignore[arg-type]


def verdicts(obs: Observation) -> dict[str, Verdict]:
    return {v.check: v for v in diagnose(obs, NOW)}


def observe(
    probe: Probe | None = None, kv: InstanceFacts | None = None, **context: object
) -> Observation:
    kind = "unknown"
    if probe is not None:
        kind = "external" if probe.url.tls else "internal"
    return Observation(
        context=Context(**context),  # type: ignore[arg-type]
        instance=kv,
        probe=probe,
        url_kind=kind,
    )


def levels(obs: Observation) -> dict[str, Level]:
    return {name: v.level for name, v in verdicts(obs).items()}


def test_a_healthy_queue_is_all_ok_and_exits_0() -> None:
    obs = observe(connected(), instance())
    found = levels(obs)
    assert set(found.values()) <= {Level.OK, Level.SKIP}, verdicts(obs)
    report = TargetReport(
        "t", EXTERNAL.masked(), "external", ID, "", tuple(diagnose(obs, NOW)), True
    )
    assert exit_status([report]) == EXIT_OK


def test_suspended_instance_fails_status_and_explains_the_refused_connection() -> None:
    probe = Probe(url=EXTERNAL, addresses=("192.0.2.10",), tcp=Tcp.REFUSED, tcp_error="refused")
    found = verdicts(observe(probe, instance(status="suspended")))
    assert found["status"].level is Level.FAIL
    assert "suspended=False" in found["status"].fix
    assert found["tcp"].level is Level.FAIL
    assert "suspended" in found["tcp"].cause


@pytest.mark.parametrize("status", ["creating", "config_restart", "maintenance_in_progress"])
def test_transient_statuses_warn_and_say_to_wait(status: str) -> None:
    found = verdicts(observe(connected(), instance(status=status)))
    assert found["status"].level is Level.WARN
    assert "wait" in found["status"].fix


def test_internal_host_that_does_not_resolve_points_at_the_external_url() -> None:
    probe = Probe(url=INTERNAL, dns_error="Name or service not known")
    found = verdicts(observe(probe, instance(allow_list=())))
    network = found["network"]
    assert network.level is Level.FAIL
    assert "outside Render" in network.summary
    assert EXTERNAL.masked() in network.fix
    assert "allow list is empty" in network.fix
    assert PASSWORD not in network.fix


def test_internal_host_not_resolving_on_render_blames_the_region() -> None:
    probe = Probe(url=INTERNAL, dns_error="Name or service not known")
    found = verdicts(observe(probe, instance(), inside_render=True))
    assert "region" in found["network"].cause


def test_plain_url_to_a_tls_endpoint_gets_the_rediss_url() -> None:
    plain = EXTERNAL.with_scheme("redis")
    probe = Probe(
        url=plain, addresses=("192.0.2.10",), tcp=Tcp.CONNECTED, transport=Transport.NEEDS_TLS
    )
    tls = verdicts(observe(probe, instance()))["tls"]
    assert tls.level is Level.FAIL
    assert tls.fix == f"use rediss://: {EXTERNAL.masked()}"


def test_untrusted_certificate_says_ca_cert() -> None:
    probe = replace(connected(), transport=Transport.TLS_UNTRUSTED, info=None, tls_error="x")
    assert "--ca-cert" in verdicts(observe(probe, instance()))["tls"].fix


def test_empty_allow_list_means_external_access_is_off() -> None:
    refusal = "ERR AUTH failed: Client IP address is not in the allowlist"
    probe = replace(connected(), info=None, refusal=refusal, authenticated=None)
    allow = verdicts(observe(probe, instance(allow_list=())))["allow list"]
    assert allow.level is Level.FAIL
    assert "external access is off" in allow.cause
    assert "IpAllowEntry(cidr_block='<your public IP>/32'" in allow.fix


def test_the_callers_address_from_the_refusal_goes_into_the_fix() -> None:
    refusal = "ERR AUTH failed: Client IP address 198.51.100.7 is not in the allowlist"
    probe = replace(connected(), info=None, refusal=refusal)
    allow = verdicts(observe(probe, instance()))["allow list"]
    assert "198.51.100.7" in allow.cause
    assert "203.0.113.0/24" in allow.cause
    assert "cidr_block='198.51.100.7/32'" in allow.fix


def test_noauth_on_the_internal_url_means_internal_auth_was_turned_on() -> None:
    current = parse_url(f"redis://default:{PASSWORD}@{ID}:6379")
    probe = replace(connected(INTERNAL), info=None, refusal="NOAUTH Authentication required.")
    auth = verdicts(observe(probe, instance(internal_url=current)))["auth"]
    assert auth.level is Level.FAIL
    assert "internal authentication is on" in auth.cause
    assert current.masked() in auth.fix
    assert "pulumi refresh" in auth.fix


def test_wrongpass_with_a_newer_password_is_a_rotation() -> None:
    old = parse_url(f"rediss://{ID}:oldpassword@oregon-keyvalue.render.com:6379")
    refusal = "WRONGPASS invalid username-password pair or user is disabled."
    probe = replace(connected(old), info=None, refusal=refusal, authenticated=False)
    auth = verdicts(observe(probe, instance()))["auth"]
    assert auth.level is Level.FAIL
    assert "rotated" in auth.cause
    assert auth.fix == f"use the current URL {EXTERNAL.masked()}"


def test_connecting_without_the_password_internal_auth_now_needs_warns() -> None:
    current = parse_url(f"redis://default:{PASSWORD}@{ID}:6379")
    auth = verdicts(observe(connected(INTERNAL), instance(internal_url=current)))["auth"]
    assert auth.level is Level.WARN
    assert current.masked() in auth.fix


def test_legacy_redis_6_warns_about_migrating() -> None:
    probe = connected(info={**info(), "redis_version": "6.2.14", "server_name": "redis"})
    del probe.info["valkey_version"]  # type: ignore[union-attr]
    version = verdicts(observe(probe, instance()))["version"]
    assert version.level is Level.WARN
    assert "Redis 6.2.14" in version.summary
    assert "new KeyValue" in version.fix


def test_a_queue_on_an_evicting_policy_fails_loudly() -> None:
    probe = connected(info=info(maxmemory_policy="allkeys-lru"))
    policy = verdicts(observe(probe, instance(), workload="queue"))["policy"]
    assert policy.level is Level.FAIL
    assert policy.summary == "A JOB QUEUE ON ALLKEYS_LRU LOSES JOBS"
    assert "maxmemory_policy='noeviction'" in policy.fix


def test_a_cache_on_noeviction_warns() -> None:
    policy = verdicts(observe(connected(), instance(), workload="cache"))["policy"]
    assert policy.level is Level.WARN


def test_workload_is_inferred_from_the_declared_policy() -> None:
    probe = connected(info=info(maxmemory_policy="allkeys-lru", evicted_keys=12))
    found = verdicts(observe(probe, instance(maxmemory_policy="allkeys_lru")))
    assert found["policy"].level is Level.OK
    assert found["evictions"].level is Level.OK  # a cache evicting is a cache working


def test_evictions_on_a_noeviction_instance_mean_lost_jobs() -> None:
    found = verdicts(observe(connected(info=info(evicted_keys=40)), instance()))
    assert found["evictions"].level is Level.FAIL
    assert "JOBS WERE LOST" in found["evictions"].summary
    assert "evicted before its last change" in found["evictions"].summary


def test_memory_near_the_plan_names_the_upgrade_in_place() -> None:
    used = int(0.92 * 256 * MB)
    memory = verdicts(observe(connected(info=info(used_memory=used)), instance()))["memory"]
    assert memory.level is Level.WARN
    assert memory.summary == "92% of starter's 256 MB"
    assert memory.fix == '`plan="standard"` is an upgrade in place, 1-2 min of downtime'


def test_memory_full_on_noeviction_fails() -> None:
    used = 257 * MB
    assert (
        verdicts(observe(connected(info=info(used_memory=used)), instance()))["memory"].level
        is Level.FAIL
    )


def test_free_plan_upgrade_warns_about_data_loss() -> None:
    probe = connected(info=info(used_memory=int(0.95 * 25 * MB), maxmemory=25 * MB))
    memory = verdicts(observe(probe, instance(plan="free", persistence_mode="off")))["memory"]
    assert memory.summary == "95% of free's 25 MB"
    assert "deletes its data" in memory.fix


def test_a_full_cache_is_fine() -> None:
    probe = connected(info=info(used_memory=255 * MB, maxmemory_policy="allkeys-lru"))
    memory = verdicts(observe(probe, instance(maxmemory_policy="allkeys_lru")))["memory"]
    assert memory.level is Level.OK


def test_rejected_connections_warn() -> None:
    probe = connected(info=info(rejected_connections=7))
    connections = verdicts(observe(probe, instance()))["connections"]
    assert connections.level is Level.WARN
    assert "7 connections rejected" in connections.summary


def test_queue_without_persistence_warns() -> None:
    found = verdicts(observe(connected(), instance(persistence_mode="off")))
    assert found["persistence"].level is Level.WARN


def test_maintenance_within_a_week_warns_with_its_date() -> None:
    run = Maintenance(
        id="mrn-abcdefghij0123456789",
        type="hardware",
        state="scheduled",
        scheduled_at=NOW + timedelta(days=2),
        pending_by=NOW + timedelta(days=9),
    )
    maintenance = verdicts(observe(connected(), instance(maintenance=run)))["maintenance"]
    assert maintenance.level is Level.WARN
    assert "2026-12-06 12:00 UTC" in maintenance.summary
    assert "due by 2026-12-13 12:00 UTC" in maintenance.summary
    assert "/maintenance/mrn-abcdefghij0123456789/trigger" in maintenance.fix


def test_maintenance_far_away_is_only_shown() -> None:
    run = Maintenance("mrn-x", None, "scheduled", NOW + timedelta(days=30), None)
    maintenance = verdicts(observe(connected(), instance(maintenance=run)))["maintenance"]
    assert maintenance.level is Level.OK
    assert "2027-01-03" in maintenance.summary


def test_metrics_near_the_plan_memory_warn() -> None:
    metrics = Metrics(memory_bytes=0.92 * 256 * MB, active_connections=3, cpu=0.1)
    found = verdicts(observe(connected(), instance(metrics=metrics)))["metrics"]
    assert found.level is Level.WARN
    assert found.summary.startswith("92% of starter's 256 MB")
    assert found.fix == '`plan="standard"` is an upgrade in place, 1-2 min of downtime'


def test_metrics_near_the_connection_limit_warn() -> None:
    metrics = Metrics(memory_bytes=MB, active_connections=240)
    found = verdicts(observe(connected(), instance(metrics=metrics)))["metrics"]
    assert found.level is Level.WARN
    assert "240 of starter's 250 connections" in found.summary


def test_without_an_api_key_the_api_checks_are_skipped() -> None:
    found = levels(observe(connected(), None))
    assert verdicts(observe(connected(), None))["status"].summary == (
        "not checked: no RENDER_API_KEY"
    )
    keyed = verdicts(observe(connected(), None, api_key_given=True))["status"]
    assert keyed.summary.startswith("not checked: the URL names no instance")
    assert found["status"] is Level.SKIP
    assert found["maintenance"] is Level.SKIP
    assert found["auth"] is Level.OK


def _report(obs: Observation) -> TargetReport:
    return TargetReport(
        "t",
        obs.probe.url.masked() if obs.probe else None,
        obs.url_kind,
        ID,
        "",
        tuple(diagnose(obs, NOW)),
        obs.probe is not None and obs.probe.connected,
    )


def test_exit_status_is_3_for_warnings_and_1_for_problems() -> None:
    warn = _report(observe(connected(info=info(rejected_connections=1)), instance()))
    fail = _report(observe(connected(info=info(evicted_keys=1)), instance()))
    assert exit_status([warn]) == EXIT_AT_RISK
    assert exit_status([warn, fail]) == EXIT_PROBLEM
    not_connected = _report(observe(Probe(url=EXTERNAL, dns_error="x"), None))
    assert exit_status([not_connected]) == EXIT_PROBLEM


def test_text_and_json_never_show_a_secret() -> None:
    obs = observe(Probe(url=INTERNAL, dns_error="no"), instance(allow_list=()))
    report = _report(obs)
    api_key = "rnd_abcdefABCDEF123456"
    # A secret that slipped into a message anyway is masked on the way out.
    leaky = replace(report, note=f"key {api_key} pw {PASSWORD}")
    for text in (
        render_text([leaky], [api_key, PASSWORD]),
        render_json([leaky], [api_key, PASSWORD]),
    ):
        assert PASSWORD not in text
        assert api_key not in text
    text = render_text([report], [PASSWORD])
    assert "✗ network:" in text
    assert "fix:   from outside Render use the external URL" in text
    # Neighbouring checks skipped for one reason share a line.
    assert "  - memory, evictions, connections: not checked: no connection\n" in text
