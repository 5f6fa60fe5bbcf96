"""The diagnosis: observed facts in, one verdict per check out, in order. Pure.

Each check reads an :class:`~._facts.Observation` and returns a :class:`Verdict`: ``ok``,
``warn`` (works, but something is at risk), ``fail`` (broken: ``cause`` says why, ``fix`` the
input to change or the URL to use) or ``skip`` (not applicable, or an earlier step failed).
Facts about Render (plan sizes, what a change costs) come from :mod:`pulumi_render_kv.catalog`.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from pulumi_render_kv.catalog import (
    DASHBOARD_URL,
    EVICTING_POLICIES,
    PLAN_SIZES,
    RESTART_DOWNTIME,
    next_plan,
)

from ._facts import InstanceFacts, Observation, Probe, Tcp, Transport
from ._urls import RedisUrl, is_internal_host

MB = 1024 * 1024
# Memory or connections at this share of the limit are a warning.
NEAR_LIMIT = 0.90
# Maintenance this close is a warning (further out it is only shown).
MAINTENANCE_SOON = timedelta(days=7)
_IP = re.compile(r"\b(?:\d{1,3}\.){3}\d{1,3}\b|\b[0-9a-f]{0,4}(?::[0-9a-f]{0,4}){2,7}\b", re.I)
ALLOWLIST_REFUSAL = "not in the allowlist"


class Level(StrEnum):
    OK = "ok"
    WARN = "warn"
    FAIL = "fail"
    SKIP = "skip"


@dataclass(frozen=True)
class Verdict:
    check: str
    level: Level
    summary: str
    cause: str = ""
    fix: str = ""


def _plural(count: int, word: str) -> str:
    return f"{count} {word}" + ("" if count == 1 else "s")


def _ok(check: str, summary: str) -> Verdict:
    return Verdict(check, Level.OK, summary)


def _skip(check: str, summary: str) -> Verdict:
    return Verdict(check, Level.SKIP, summary)


def _fail(check: str, summary: str, cause: str, fix: str) -> Verdict:
    return Verdict(check, Level.FAIL, summary, cause, fix)


def _warn(check: str, summary: str, cause: str, fix: str) -> Verdict:
    return Verdict(check, Level.WARN, summary, cause, fix)


# -- the instance, as Render's API reports it --------------------------------------------------


def _no_instance(obs: Observation) -> str:
    """Why the API's checks did not run."""
    if not obs.context.api_key_given:
        return "not checked: no RENDER_API_KEY"
    return "not checked: the URL names no instance this API key sees (add --id red-…)"


def check_status(obs: Observation) -> Verdict:  # noqa: PLR0911 - one return per status
    kv = obs.instance
    if kv is None:
        if obs.api_error:
            return _warn(
                "status",
                "Render's API could not tell the instance's status",
                obs.api_error,
                "check RENDER_API_KEY (and RENDER_API_URL) and the id; the network checks "
                "below still ran",
            )
        return _skip("status", _no_instance(obs))
    what = f"{kv.name} ({kv.id}), {kv.plan} in {kv.region}"
    status = kv.status
    if status in ("available", "maintenance_scheduled"):
        return _ok("status", f"{status}: {what}")
    if status == "suspended":
        return _fail(
            "status",
            f"suspended: {what}",
            "a suspended instance's server is stopped: it refuses every connection "
            "(its data is kept if persistence is on)",
            "resume it: `suspended=False` on its KeyValue, then `pulumi up`; or Resume in the "
            f"Dashboard ({DASHBOARD_URL.format(id=kv.id)})",
        )
    if status in ("creating", "unknown"):
        return _warn(
            "status",
            f"{status}: {what}",
            "the instance is still being created: connections fail until it is available",
            "wait a few minutes, then run the doctor again",
        )
    if status in ("config_restart", "updating_instance", "unavailable"):
        return _warn(
            "status",
            f"{status}: {what}",
            f"the instance is restarting after a change ({RESTART_DOWNTIME} unavailable)",
            "wait for `available`, then run the doctor again",
        )
    if status in ("maintenance_in_progress", "recovery_in_progress"):
        return _warn(
            "status",
            f"{status}: {what}",
            "Render is working on the instance: connections may fail for a few minutes",
            "wait for `available`, then run the doctor again",
        )
    if status == "recovery_failed":
        return _fail(
            "status",
            f"recovery_failed: {what}",
            "Render could not recover the instance; it will not come back by itself",
            f"contact Render support about {kv.id}",
        )
    return _warn(
        "status", f"{status}: {what}", f"an unknown status {status!r}", "see the Dashboard"
    )


# -- the connection, step by step --------------------------------------------------------------


def _external_hint(kv: InstanceFacts | None) -> str:
    """How to reach the instance from outside Render, from what the API said."""
    if kv is None or kv.external_url is None:
        return (
            "from outside Render use the instance's external URL (rediss://…, "
            "`external_connection_string`) and add your address to its allow list"
        )
    hint = f"from outside Render use the external URL {kv.external_url.masked()}"
    if not kv.allow_list:
        hint += (
            "; its allow list is empty, so external access is off: add your address "
            "(ip_allow_list=[IpAllowEntry(cidr_block='<your IP>/32', description='laptop')])"
        )
    return hint


def check_network(obs: Observation) -> Verdict:
    probe = obs.probe
    if probe is None:
        return _skip("network", "not checked: no URL")
    host = probe.url.host
    if probe.addresses is None:
        if is_internal_host(host) and obs.context.inside_render:
            region = f" ({obs.instance.region})" if obs.instance else ""
            return _fail(
                "network",
                f"{host} does not resolve, although this runs on Render",
                "internal URLs resolve only for services in the instance's own region"
                f"{region} and workspace",
                "run the service in the instance's region, or use the external URL "
                "(rediss://…) with the service's outbound addresses in the allow list",
            )
        if is_internal_host(host):
            region = f" in {obs.instance.region}" if obs.instance else ""
            return _fail(
                "network",
                f"{host} does not resolve: this is the internal URL, and this machine is "
                "outside Render",
                f"{host} is the instance's private-network name: it resolves only for Render "
                f"services{region} in the instance's workspace",
                _external_hint(obs.instance),
            )
        return _fail(
            "network",
            f"{host} does not resolve",
            probe.dns_error or "the DNS lookup failed",
            "check the host; take the URL from the instance's connection info "
            "(`pulumi stack output --show-secrets`, or the Dashboard's Connect menu)",
        )
    shown = ", ".join(probe.addresses[:3])
    where = " (inside Render's private network)" if is_internal_host(host) else ""
    return _ok("network", f"{host} resolves to {shown}{where}")


def check_tcp(obs: Observation) -> Verdict:
    probe = obs.probe
    if probe is None or probe.tcp is None:
        return _skip("tcp", "not checked: the host did not resolve")
    address = probe.url.address
    if probe.tcp is Tcp.CONNECTED:
        took = f" in {probe.connect_ms:.0f} ms" if probe.connect_ms is not None else ""
        return _ok("tcp", f"connected to {address}{took}")
    kv = obs.instance
    if kv is not None and kv.status == "suspended":
        cause = "the instance is suspended, so its server is stopped (see status)"
        fix = "resume the instance (see status)"
    elif kv is not None and kv.status not in ("available", "maintenance_scheduled"):
        cause = f"the instance is {kv.status} (see status)"
        fix = "wait for `available`"
    elif probe.tcp is Tcp.REFUSED:
        cause = "nothing listens there: a wrong port, or a URL from before a change"
        fix = _current_url_fix(obs)
    else:
        cause = {
            Tcp.TIMEOUT: f"no answer within {obs.context.timeout:g} s: a firewall drops the "
            "packets (an outbound port 6379 blocked?), or the host is wrong",
            Tcp.UNREACHABLE: "no route to the host: check your network",
        }.get(probe.tcp, probe.tcp_error or "")
        fix = _current_url_fix(obs)
    detail = f" ({probe.tcp_error})" if probe.tcp_error else ""
    return _fail("tcp", f"{probe.tcp.value}: {address}{detail}", cause, fix)


def _current_url_fix(obs: Observation) -> str:
    kv = obs.instance
    probe = obs.probe
    if kv is not None and probe is not None:
        current = _current_url(kv, probe.url)
        if current is not None and not current.same_endpoint(probe.url):
            return f"the instance's current URL is {current.masked()}"
    return "take host and port from the instance's current connection info"


def _current_url(kv: InstanceFacts, url: RedisUrl) -> RedisUrl | None:
    """The instance's current URL of the same kind as ``url`` (TLS: external)."""
    if kv.external_url is not None and (url.tls or kv.external_url.same_endpoint(url)):
        return kv.external_url
    return kv.internal_url


def check_tls(obs: Observation) -> Verdict:  # noqa: PLR0911 - one return per transport
    probe = obs.probe
    if probe is None or probe.transport is None:
        return _skip("tls", "not checked: no TCP connection")
    url = probe.url
    transport = probe.transport
    if transport is Transport.PLAIN:
        return _ok("tls", "plain RESP, as redis:// says (internal endpoints do not use TLS)")
    if transport is Transport.TLS:
        return _ok("tls", "TLS handshake done, certificate verified")
    if transport is Transport.NEEDS_TLS:
        good = url.with_scheme("rediss")
        if not url.has_credentials and obs.instance and obs.instance.external_url:
            good = obs.instance.external_url
        return _fail(
            "tls",
            f"{url.address} speaks TLS, but the URL says redis://",
            "the external endpoint accepts only TLS: a plain client's commands are never "
            "answered (clients report a closed connection or a timeout)",
            f"use rediss://: {good.masked()}",
        )
    if transport is Transport.NOT_TLS:
        return _fail(
            "tls",
            f"the TLS handshake with {url.address} failed",
            (probe.tls_error or "the server did not answer TLS")
            + ": this port speaks plain RESP (an internal endpoint)",
            f"use redis://: {url.with_scheme('redis').masked()} (inside Render), or the "
            "external rediss:// URL from outside",
        )
    if transport is Transport.TLS_UNTRUSTED:
        return _fail(
            "tls",
            "the server's certificate is not trusted",
            probe.tls_error or "certificate verification failed",
            "pass --ca-cert FILE with the CA that signs it (the local emulator prints "
            "RENDER_KV_CA_CERT=…); Render's own endpoints use public certificates: update "
            "your system's CA bundle",
        )
    return _fail(
        "tls",
        f"{url.address} answered neither RESP nor TLS",
        probe.tls_error or "the connection closed without a reply",
        _current_url_fix(obs),
    )


def _refused_by_allow_list(probe: Probe) -> bool:
    return probe.refusal is not None and ALLOWLIST_REFUSAL in probe.refusal


def check_allow_list(obs: Observation) -> Verdict:
    probe = obs.probe
    kv = obs.instance
    external = probe is not None and (probe.url.tls or obs.url_kind == "external")
    if probe is None or not external:
        if kv is not None and not kv.allow_list:
            return _skip(
                "allow list",
                "does not apply to internal connections (it is empty: no external access)",
            )
        return _skip("allow list", "does not apply to internal connections")
    if _refused_by_allow_list(probe):
        assert probe.refusal is not None
        seen = _IP.search(probe.refusal)
        you = f"your address as the server saw it, {seen.group(0)}," if seen else "your address"
        if kv is not None and not kv.allow_list:
            cause = (
                f"{you} is refused because the allow list is empty: external access is off "
                "(internal connections only)"
            )
        elif kv is not None:
            cause = f"{you} is in none of {', '.join(kv.allow_list)}"
        else:
            cause = f"{you} is not in the instance's IP allow list"
        cidr = f"{seen.group(0)}/32" if seen else "<your public IP>/32"
        return _fail(
            "allow list",
            f"refused: {probe.refusal}",
            cause,
            f"add it: ip_allow_list=[…, IpAllowEntry(cidr_block='{cidr}', description='…')] "
            "and `pulumi up` (or the Dashboard's Access Control); it applies to new "
            "connections at once",
        )
    if probe.connected or probe.refusal is not None:
        listed = f" ({', '.join(kv.allow_list)})" if kv is not None and kv.allow_list else ""
        return _ok("allow list", f"your address is admitted{listed}")
    return _skip("allow list", "not checked: no connection")


def check_auth(obs: Observation) -> Verdict:  # noqa: PLR0911, PLR0912 - one per refusal
    probe = obs.probe
    if probe is None or probe.transport not in (Transport.PLAIN, Transport.TLS):
        return _skip("auth", "not checked: no connection")
    if _refused_by_allow_list(probe):
        return _skip("auth", "not checked: refused by the allow list")
    url = probe.url
    kv = obs.instance
    current = _current_url(kv, url) if kv is not None else None
    refusal = probe.refusal or ""
    if "max number of clients" in refusal:
        plan = kv.plan if kv is not None else None
        limit = f" ({plan}'s {PLAN_SIZES[plan].connections})" if plan in PLAN_SIZES else ""
        return _fail(
            "auth",
            f"refused: {refusal}",
            f"every connection the instance allows{limit} is in use: new clients are refused "
            "before they can log in",
            "close idle connections and pool them (fewer per process), or " + _upgrade_fix(plan),
        )
    if refusal.startswith("NOAUTH"):
        if url.tls or obs.url_kind == "external":
            fix = "use the external URL with its password" + (
                f": {current.masked()}"
                if current is not None
                else " (`external_connection_string`)"
            )
            cause = "the external endpoint needs the instance's password, and the URL has none"
        else:
            cause = (
                "internal authentication is on (turned on in the Dashboard; it restarted the "
                "instance): the internal URL now carries credentials, redis://default:…@…, and "
                "this one has none"
            )
            fix = (
                f"use the current internal URL {current.masked()}"
                if current is not None and current.has_credentials
                else "use the current internal URL (`internal_connection_string`, with "
                "default:PASSWORD@)"
            ) + (
                "; with Pulumi: `pulumi refresh` on the instance's stack, then `pulumi up` on "
                "the stacks that read its internal_connection_string"
            )
        return _fail("auth", f"refused: {refusal}", cause, fix)
    if refusal.startswith("WRONGPASS") or refusal.startswith("ERR"):
        if (
            current is not None
            and current.password is not None
            and current.password != (url.password)
        ):
            cause = (
                "the URL's password is not the instance's current one: rotated or mistyped, "
                "or copied before internal authentication was turned on"
            )
            fix = f"use the current URL {current.masked()}"
        else:
            user = url.username or "default"
            cause = (
                f"the server refused user {user!r} with this password (external URLs log in as "
                "the instance id, red-…, internal ones as `default`)"
            )
            fix = "copy the URL again from the instance's connection info"
        return _fail("auth", f"refused: {refusal}", cause, fix)
    if refusal:
        return _fail("auth", f"refused: {refusal}", "the server refused the login", "see above")
    if not probe.connected:
        return _skip("auth", "not checked: the server did not answer")
    if (
        current is not None
        and not url.tls
        and current.same_endpoint(url)
        and current.has_credentials
        and not url.has_credentials
    ):
        return _warn(
            "auth",
            "connected without a password, but the instance's internal URL now has one",
            "internal authentication is being turned on: once it is, connections without the "
            "password fail with NOAUTH",
            f"switch clients to {current.masked()} now",
        )
    if probe.authenticated:
        return _ok("auth", f"logged in as {url.username or 'default'}")
    if probe.auth_note:
        return _ok("auth", f"no password needed; the URL's is ignored ({probe.auth_note})")
    return _ok("auth", "no password needed (internal endpoint, internal authentication off)")


# -- the server, from INFO -----------------------------------------------------------------------


def _info(obs: Observation) -> dict[str, str] | None:
    return obs.probe.info if obs.probe is not None else None


def _number(info: dict[str, str], key: str) -> int | None:
    try:
        return int(info[key])
    except (KeyError, ValueError):
        return None


def check_version(obs: Observation) -> Verdict:
    info = _info(obs)
    if info is None:
        api = obs.instance.version if obs.instance else None
        return _skip("version", f"not checked: no connection{f' (API: {api})' if api else ''}")
    flavour = "valkey" if "valkey_version" in info or info.get("server_name") == "valkey" else ""
    version = info.get("valkey_version") or info.get("redis_version") or "?"
    flavour = flavour or "redis"
    api = obs.instance.version if obs.instance else None
    also = f" (Render's API says {api})" if api and api != version else ""
    if flavour == "redis" and version.split(".")[0] in ("5", "6"):
        return _warn(
            "version",
            f"Redis {version}: a legacy instance{also}",
            "instances created before February 2025 run Redis 6; new ones run Valkey 8 "
            "(faster, maintained), and Render upgrades no instance in place",
            "to migrate, create a new KeyValue (Valkey 8), copy the data over (or let caches "
            "refill), switch clients to its URLs, then delete the old one: URLs change",
        )
    return _ok("version", f"{flavour} {version}{also}")


def workload_of(obs: Observation) -> tuple[str | None, str]:
    """The workload and where it came from: the --workload flag, or the declared policy."""
    if obs.context.workload:
        return obs.context.workload, "--workload"
    policy = _policy(obs)
    if policy is None:
        return None, ""
    if policy == "noeviction":
        return "queue", "its noeviction policy"
    return "cache", f"its {policy} policy"


def _policy(obs: Observation) -> str | None:
    """The live policy (INFO), else the declared one (API), in API spelling."""
    info = _info(obs)
    if info is not None and info.get("maxmemory_policy"):
        return info["maxmemory_policy"].replace("-", "_")
    if obs.instance is not None and obs.instance.maxmemory_policy:
        return obs.instance.maxmemory_policy
    return None


def check_policy(obs: Observation) -> Verdict:
    policy = _policy(obs)
    if policy is None:
        return _skip("policy", "not checked: no connection and no API")
    workload, source = workload_of(obs)
    restart = f"a restart, {RESTART_DOWNTIME} unavailable"
    if workload == "queue" and policy in EVICTING_POLICIES:
        return _fail(
            "policy",
            f"A JOB QUEUE ON {policy.upper()} LOSES JOBS",
            f"{policy} deletes keys when memory is full, queued jobs included, without an "
            f"error to anyone (workload queue from {source})",
            f"maxmemory_policy='noeviction' (or workload='queue') and `pulumi up` ({restart})",
        )
    if workload == "cache" and policy == "noeviction":
        return _warn(
            "policy",
            "a cache on noeviction: when memory is full every write fails with OOM",
            f"noeviction never frees memory (workload cache from {source})",
            f"maxmemory_policy='allkeys_lru' (or workload='cache') and `pulumi up` ({restart})",
        )
    if workload is None:
        return _ok("policy", policy)
    return _ok("policy", f"{policy}, right for a {workload} (workload from {source})")


def check_persistence(obs: Observation) -> Verdict:
    kv = obs.instance
    if kv is None or kv.persistence_mode is None:
        return _skip("persistence", "not checked: no API")
    workload, _ = workload_of(obs)
    if workload == "queue" and kv.persistence_mode == "off":
        free = kv.plan == "free"
        return _warn(
            "persistence",
            "off: a restart (maintenance, a plan change) loses every queued job",
            "free instances have no disk" if free else "persistence_mode is 'off'",
            "upgrade to a paid plan (its default is journal_snapshot)"
            if free
            else "persistence_mode='journal_snapshot' and `pulumi up`",
        )
    return _ok("persistence", kv.persistence_mode)


def _upgrade_fix(plan: str | None) -> str:
    """What moving to the next plan means."""
    if plan is None:
        return "upgrade the plan, or free memory (TTLs, smaller values)"
    bigger = next_plan(plan)
    if bigger is None:
        return "no larger named plan: ask Render for a custom plan, or free memory"
    if plan == "free":
        return (
            f'`plan="{bigger}"`: moving a free instance to a paid plan deletes its data '
            "(set allow_data_loss=True for that update)"
        )
    return f'`plan="{bigger}"` is an upgrade in place, 1-2 min of downtime'


def _share(used: float, plan: str | None, limit: float) -> str:
    pct = 100 * used / limit
    if plan in PLAN_SIZES and abs(limit - PLAN_SIZES[plan].memory_mb * MB) < MB:
        return f"{pct:.0f}% of {plan}'s {PLAN_SIZES[plan].memory_mb} MB"
    return f"{pct:.0f}% of {limit / MB:.1f} MB"


def check_memory(obs: Observation) -> Verdict:
    info = _info(obs)
    if info is None:
        return _skip("memory", "not checked: no connection")
    used = _number(info, "used_memory")
    plan = obs.instance.plan if obs.instance else None
    limit = _number(info, "maxmemory") or 0
    if not limit and plan in PLAN_SIZES:
        limit = PLAN_SIZES[plan].memory_mb * MB
    if used is None or not limit:
        return _ok("memory", f"{info.get('used_memory_human', '?')} used, no limit known")
    share = _share(used, plan, limit)
    workload, _ = workload_of(obs)
    if used / limit < NEAR_LIMIT:
        return _ok("memory", f"{used / MB:.1f} MB used: {share}")
    if workload in ("cache", "session") and _policy(obs) in EVICTING_POLICIES:
        return _ok("memory", f"{share}: full, evicting old keys as a cache does")
    level = _fail if used >= limit else _warn
    return level(
        "memory",
        share,
        "with noeviction, writes fail with OOM once memory is full"
        if _policy(obs) == "noeviction"
        else "memory is nearly full",
        _upgrade_fix(plan),
    )


def check_evictions(obs: Observation) -> Verdict:
    info = _info(obs)
    if info is None:
        return _skip("evictions", "not checked: no connection")
    evicted = _number(info, "evicted_keys") or 0
    workload, source = workload_of(obs)
    if not evicted:
        return _ok("evictions", "no keys evicted since the server started")
    if workload == "queue":
        earlier = (
            " (the policy is noeviction now: it evicted before its last change)"
            if _policy(obs) == "noeviction"
            else ""
        )
        return _fail(
            "evictions",
            f"{_plural(evicted, 'key')} evicted since the server started: JOBS WERE LOST{earlier}",
            f"the server deleted keys to make room, on an instance meant to keep them "
            f"(queue, from {source})",
            "maxmemory_policy='noeviction' and a plan with room: "
            + _upgrade_fix(obs.instance.plan if obs.instance else None),
        )
    return _ok(
        "evictions", f"{_plural(evicted, 'key')} evicted (what a full {workload or 'cache'} does)"
    )


def check_connections(obs: Observation) -> Verdict:
    info = _info(obs)
    if info is None:
        return _skip("connections", "not checked: no connection")
    clients = _number(info, "connected_clients") or 0
    rejected = _number(info, "rejected_connections") or 0
    plan = obs.instance.plan if obs.instance else None
    limit = PLAN_SIZES[plan].connections if plan in PLAN_SIZES else _number(info, "maxclients")
    of = f" of {plan}'s {limit}" if plan in PLAN_SIZES else (f" of {limit}" if limit else "")
    if rejected:
        return _warn(
            "connections",
            f"{_plural(rejected, 'connection')} rejected since the server started "
            f"({clients} open{of})",
            "the connection limit was reached: clients got `max number of clients reached`",
            "pool connections (fewer per process), or " + _upgrade_fix(plan),
        )
    if limit and clients >= NEAR_LIMIT * limit:
        return _warn(
            "connections",
            f"{clients} open{of}",
            "near the connection limit: the next clients will be refused",
            "pool connections, or " + _upgrade_fix(plan),
        )
    return _ok("connections", f"{clients} open{of}, none rejected")


# -- what Render has planned, and what it measures --------------------------------------------


def check_maintenance(obs: Observation, now: datetime) -> Verdict:
    kv = obs.instance
    if kv is None:
        return _skip("maintenance", _no_instance(obs))
    run = kv.maintenance
    if run is None and kv.maintenance_unread:
        return _skip("maintenance", f"not read ({kv.maintenance_unread})")
    if run is None or run.state not in (None, "scheduled", "in_progress", "user_fix_required"):
        return _ok("maintenance", "none scheduled")
    when = run.scheduled_at.strftime("%Y-%m-%d %H:%M UTC") if run.scheduled_at else "soon"
    by = f", due by {run.pending_by.strftime('%Y-%m-%d %H:%M UTC')}" if run.pending_by else ""
    summary = f"{run.type or 'maintenance'} {run.state or 'scheduled'} for {when}{by} ({run.id})"
    if run.state == "user_fix_required":
        return _fail(
            "maintenance",
            summary,
            "Render needs you to act before this maintenance can run",
            f"see the Dashboard ({DASHBOARD_URL.format(id=kv.id)})",
        )
    soon = run.scheduled_at is None or run.scheduled_at - now <= MAINTENANCE_SOON
    if not soon:
        return _ok("maintenance", summary)
    return _warn(
        "maintenance",
        summary,
        f"maintenance restarts the instance ({RESTART_DOWNTIME} unavailable)",
        "pick a quieter time before the due date (PATCH /maintenance/"
        f"{run.id} with scheduledAt), or run it now (POST /maintenance/{run.id}/trigger)",
    )


def check_metrics(obs: Observation) -> Verdict:
    kv = obs.instance
    if kv is None:
        return _skip("metrics", _no_instance(obs))
    metrics = kv.metrics
    if metrics is None:
        if kv.metrics_unread:
            return _skip("metrics", f"not read ({kv.metrics_unread})")
        return _skip("metrics", "Render has no samples of this instance yet")
    size = PLAN_SIZES.get(kv.plan)
    parts: list[str] = []
    problems: list[str] = []
    if metrics.memory_bytes is not None:
        if size is not None:
            share = metrics.memory_bytes / (size.memory_mb * MB)
            text = f"{100 * share:.0f}% of {kv.plan}'s {size.memory_mb} MB"
            (problems if share >= NEAR_LIMIT else parts).append(text)
        else:
            parts.append(f"{metrics.memory_bytes / MB:.1f} MB")
    if metrics.active_connections is not None:
        count = metrics.active_connections
        if size is not None:
            text = f"{count:.0f} of {kv.plan}'s {size.connections} connections"
            (problems if count >= NEAR_LIMIT * size.connections else parts).append(text)
        else:
            parts.append(f"{count:.0f} connections")
    if metrics.cpu is not None:
        parts.append(f"CPU {metrics.cpu:.2f}")
    if problems:
        return _warn(
            "metrics",
            ", ".join(problems + parts),
            "near the plan's limit (Render's metrics)",
            _upgrade_fix(kv.plan),
        )
    return _ok("metrics", ", ".join(parts) or "no samples yet")


CHECKS: tuple[Callable[[Observation], Verdict], ...] = (
    check_status,
    check_network,
    check_tcp,
    check_tls,
    check_allow_list,
    check_auth,
    check_version,
    check_policy,
    check_persistence,
    check_memory,
    check_evictions,
    check_connections,
)


def diagnose(obs: Observation, now: datetime) -> list[Verdict]:
    """Every check's verdict on ``obs``, in order."""
    verdicts = [check(obs) for check in CHECKS]
    verdicts.append(check_maintenance(obs, now))
    verdicts.append(check_metrics(obs))
    return verdicts
