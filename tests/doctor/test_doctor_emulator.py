"""Every diagnosis from a real fault: the emulator's real servers, TLS gates and API.

The doctor runs in process (``run`` with an injected environment and output) against an
emulator with its data plane; nothing about the servers is mocked. One test runs the real
console script in a subprocess.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import redis

from pulumi_render_kv.client import (
    CidrBlockAndDescription,
    ClientLimits,
    KeyValueDetail,
    KeyValuePOSTInput,
    RenderClient,
    RenderSettings,
)
from pulumi_render_kv.doctor import Runtime, run
from pulumi_render_kv.emulator import Emulator, EmulatorSettings, RateLimitSettings

pytestmark = pytest.mark.dataplane

API_KEY = "rnd_doctorTestKeyNeverPrinted0123"
MB = 1024 * 1024
ME = [CidrBlockAndDescription(cidr_block="127.0.0.1/32", description="this machine")]


@pytest.fixture(scope="module")
def emulator() -> Iterator[Emulator]:
    settings = EmulatorSettings(port=0, api_key=API_KEY, rate_limits=RateLimitSettings.unlimited())
    with Emulator(settings) as emu:
        yield emu


@pytest.fixture
def emu(emulator: Emulator) -> Iterator[Emulator]:
    emulator.reset()
    yield emulator
    emulator.reset()


@pytest.fixture
def api(emu: Emulator) -> Iterator[RenderClient]:
    settings = RenderSettings.resolve(
        api_key=API_KEY, owner_id=emu.owner_id, base_url=emu.url, limits=ClientLimits.off()
    )
    with RenderClient(settings) as client:
        yield client


def env_for(emu: Emulator) -> dict[str, str]:
    return {
        "RENDER_API_URL": emu.url,
        "RENDER_API_KEY": API_KEY,
        "RENDER_API_CLIENT_LIMITS": "off",
        "RENDER_KV_CA_CERT": str(emu.ca_cert_path),
    }


class Result:
    def __init__(self, status: int, text: str) -> None:
        self.status = status
        self.text = text

    def check(self, name: str) -> dict[str, Any]:
        """The JSON verdict of check ``name`` (the run must have been --json)."""
        document = json.loads(self.text)
        (target,) = document["targets"]
        found: dict[str, Any] = next(c for c in target["checks"] if c["check"] == name)
        return found


def doctor(emu: Emulator, *argv: str, env: dict[str, str] | None = None) -> Result:
    out: list[str] = []
    environ = env_for(emu) if env is None else env
    ca = environ.get("RENDER_KV_CA_CERT")
    args = ["doctor", *argv, *(["--ca-cert", ca] if ca else []), "--timeout", "3"]
    status = run(args, Runtime(environ=environ, write=out.append))
    text = "".join(out)
    # Whatever the fault, neither the API key nor any password is ever printed.
    assert API_KEY not in text
    for kv_id, password in _passwords(emu).items():
        assert password not in text, kv_id
    return Result(status, text)


def _passwords(emu: Emulator) -> dict[str, str]:
    return {i.id: i.password for i in emu.backend._instances.values()}


def create(api: RenderClient, emu: Emulator, **fields: Any) -> KeyValueDetail:
    fields.setdefault("plan", "starter")
    fields.setdefault("name", "jobs")
    return api.create_key_value(KeyValuePOSTInput(owner_id=emu.owner_id, **fields))


def urls(api: RenderClient, kv: KeyValueDetail) -> tuple[str, str]:
    info = api.retrieve_key_value_connection_info(kv.id)
    return info.get_internal_connection_string(), info.get_external_connection_string()


def test_a_healthy_instance_passes_every_check(emu: Emulator, api: RenderClient) -> None:
    kv = create(api, emu, maxmemory_policy="noeviction", ip_allow_list=ME)
    result = doctor(emu, "--id", kv.id, "--endpoint", "external", "--workload", "queue")
    assert result.status == 0, result.text
    assert "✓ tls: TLS handshake done, certificate verified" in result.text
    assert f"✓ auth: logged in as {kv.id}" in result.text
    assert "✓ allow list: your address is admitted (127.0.0.1/32)" in result.text
    assert "✓ maintenance: none scheduled" in result.text
    assert "✓ metrics: 0% of starter's 256 MB, 0 of starter's 250 connections, CPU " in result.text


def test_suspended_instance(emu: Emulator, api: RenderClient) -> None:
    kv = create(api, emu)
    api.suspend_key_value(kv.id)
    result = doctor(emu, "--id", kv.id, "--json")
    assert result.status == 1
    status = result.check("status")
    assert status["level"] == "fail"
    assert status["summary"].startswith("suspended:")
    assert "suspended=False" in status["fix"]
    tcp = result.check("tcp")
    assert tcp["level"] == "fail"
    assert tcp["summary"].startswith("refused:")
    assert "suspended" in tcp["cause"]


def test_internal_url_from_outside_render(api: RenderClient) -> None:
    # Without a data plane the emulator hands out Render's own shapes: redis://red-…:6379,
    # which resolves only inside Render. The DNS lookup really fails here.
    settings = EmulatorSettings(
        port=0, api_key=API_KEY, data_plane=False, rate_limits=RateLimitSettings.unlimited()
    )
    with Emulator(settings) as placeholder:
        client = RenderClient(
            RenderSettings.resolve(
                api_key=API_KEY,
                owner_id=placeholder.owner_id,
                base_url=placeholder.url,
                limits=ClientLimits.off(),
            )
        )
        with client:
            kv = create(client, placeholder, ip_allow_list=[])
            internal, external = urls(client, kv)
        assert internal == f"redis://{kv.id}:6379"
        env = {"RENDER_API_URL": placeholder.url, "RENDER_API_KEY": API_KEY}
        started = time.monotonic()
        result = doctor(placeholder, "--url", internal, env=env)
        assert time.monotonic() - started < 10
    assert result.status == 1
    assert f"✗ network: {kv.id} does not resolve: this is the internal URL" in result.text
    assert "cause: " + kv.id + " is the instance's private-network name" in result.text
    masked_external = external.replace(external.split(":")[2].split("@")[0], "***")
    assert f"fix:   from outside Render use the external URL {masked_external}" in result.text
    assert "its allow list is empty, so external access is off" in result.text


def test_plain_redis_url_to_the_tls_endpoint(emu: Emulator, api: RenderClient) -> None:
    kv = create(api, emu, ip_allow_list=ME)
    _, external = urls(api, kv)
    plain = external.replace("rediss://", "redis://")
    result = doctor(emu, "--url", plain, "--json")
    assert result.status == 1
    tls = result.check("tls")
    assert tls["level"] == "fail"
    assert tls["summary"].endswith("speaks TLS, but the URL says redis://")
    port = external.rsplit(":", 1)[1]
    assert tls["fix"] == f"use rediss://: rediss://{kv.id}:***@127.0.0.1:{port}"


def test_rediss_url_to_the_plain_internal_port(emu: Emulator, api: RenderClient) -> None:
    kv = create(api, emu)
    internal, _ = urls(api, kv)
    result = doctor(emu, "--url", internal.replace("redis://", "rediss://"), "--json")
    tls = result.check("tls")
    assert tls["level"] == "fail"
    assert "this port speaks plain RESP" in tls["cause"]
    assert tls["fix"].startswith(f"use redis://: {internal}")


def test_untrusted_certificate_without_the_ca(emu: Emulator, api: RenderClient) -> None:
    kv = create(api, emu, ip_allow_list=ME)
    _, external = urls(api, kv)
    env = {k: v for k, v in env_for(emu).items() if k != "RENDER_KV_CA_CERT"}
    result = doctor(emu, "--url", external, "--json", env=env)
    tls = result.check("tls")
    assert tls["level"] == "fail"
    assert "--ca-cert" in tls["fix"]


def test_address_outside_the_allow_list(emu: Emulator, api: RenderClient) -> None:
    office = CidrBlockAndDescription(cidr_block="203.0.113.0/24", description="office")
    kv = create(api, emu, ip_allow_list=[office])
    result = doctor(emu, "--id", kv.id, "--endpoint", "external", "--json")
    assert result.status == 1
    allow = result.check("allow list")
    assert allow["level"] == "fail"
    assert allow["summary"] == (
        "refused: ERR AUTH failed: Client IP address is not in the allowlist"
    )
    assert allow["cause"] == "your address is in none of 203.0.113.0/24"
    assert "IpAllowEntry(cidr_block='<your public IP>/32'" in allow["fix"]
    assert result.check("auth")["level"] == "skip"


def test_empty_allow_list_turns_external_access_off(emu: Emulator, api: RenderClient) -> None:
    kv = create(api, emu, ip_allow_list=[])
    _, external = urls(api, kv)
    result = doctor(emu, "--url", external, "--json")
    allow = result.check("allow list")
    assert allow["level"] == "fail"
    assert "the allow list is empty: external access is off" in allow["cause"]


def test_internal_auth_turned_on_breaks_the_old_internal_url(
    emu: Emulator, api: RenderClient
) -> None:
    kv = create(api, emu)
    old_internal, _ = urls(api, kv)
    emu.set_internal_auth(kv.id, True)
    new_internal, _ = urls(api, kv)
    assert "default:" in new_internal
    result = doctor(emu, "--url", old_internal, "--id", kv.id, "--json")
    assert result.status == 1, result.text
    auth = result.check("auth")
    assert auth["level"] == "fail", result.text
    assert auth["summary"] == "refused: NOAUTH Authentication required."
    assert "internal authentication is on" in auth["cause"]
    assert "redis://default:***@127.0.0.1:" in auth["fix"]
    # The current URL, with the password, works.
    fixed = doctor(emu, "--url", new_internal, "--id", kv.id, "--json")
    assert fixed.check("auth")["summary"] == "logged in as default"


def test_a_rotated_password_is_wrongpass(emu: Emulator, api: RenderClient) -> None:
    kv = create(api, emu, ip_allow_list=ME)
    _, old_external = urls(api, kv)
    emu.rotate_password(kv.id)
    result = doctor(emu, "--url", old_external, "--json")
    assert result.status == 1
    auth = result.check("auth")
    assert auth["level"] == "fail"
    assert auth["summary"].startswith("refused: WRONGPASS")
    assert "rotated" in auth["cause"]
    assert auth["fix"].startswith(f"use the current URL rediss://{kv.id}:***@127.0.0.1:")


def test_a_wrong_password_typed_by_hand(emu: Emulator, api: RenderClient) -> None:
    kv = create(api, emu, ip_allow_list=ME)
    _, external = urls(api, kv)
    password = external.split(":")[2].split("@")[0]
    result = doctor(emu, "--url", external.replace(password, "typo" * 8), "--json")
    auth = result.check("auth")
    assert auth["level"] == "fail"
    assert auth["summary"].startswith("refused: WRONGPASS")


def _fill(url: str, *, until: float, limit: int, value_size: int = 256 * 1024) -> None:
    """Write values until used memory reaches ``until`` of maxmemory (or ``limit`` writes)."""
    client = redis.Redis.from_url(url)
    try:
        maxmemory = int(client.config_get("maxmemory")["maxmemory"])
        value = b"x" * value_size
        for index in range(limit):
            used = int(client.info("memory")["used_memory"])
            if used >= until * maxmemory:
                return
            client.set(f"job:{index}", value)
    finally:
        client.close()


def test_a_queue_on_allkeys_lru_that_evicted(emu: Emulator, api: RenderClient) -> None:
    kv = create(api, emu, plan="free", name="jobs", maxmemory_policy="allkeys_lru")
    internal, _ = urls(api, kv)
    _fill(internal, until=2.0, limit=160)  # 40 MB into 25: the server evicts
    result = doctor(emu, "--id", kv.id, "--workload", "queue", "--json")
    assert result.status == 1
    policy = result.check("policy")
    assert policy["level"] == "fail"
    assert policy["summary"] == "A JOB QUEUE ON ALLKEYS_LRU LOSES JOBS"
    evictions = result.check("evictions")
    assert evictions["level"] == "fail"
    assert "JOBS WERE LOST" in evictions["summary"]
    assert int(evictions["summary"].split()[0]) > 0


def test_memory_near_maxmemory_on_a_noeviction_queue(emu: Emulator, api: RenderClient) -> None:
    kv = create(api, emu, plan="free", name="jobs", maxmemory_policy="noeviction")
    internal, _ = urls(api, kv)
    _fill(internal, until=0.92, limit=100)
    result = doctor(emu, "--id", kv.id, "--json")
    memory = result.check("memory")
    assert memory["level"] == "warn", result.text
    assert memory["summary"].endswith("% of free's 25 MB")
    assert 92 <= int(memory["summary"].split("%")[0]) < 100
    assert "moving a free instance to a paid plan deletes its data" in memory["fix"]
    # Render's metrics (the emulator's, from the same server's INFO) say it too.
    metrics = result.check("metrics")
    assert metrics["level"] == "warn"
    assert metrics["summary"].startswith(memory["summary"].split("%")[0] + "% of free's 25 MB")
    assert metrics["fix"] == memory["fix"]
    assert result.status == 3


def test_a_dead_port_answers_in_seconds(emu: Emulator) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    # Nothing listens there now.
    started = time.monotonic()
    result = doctor(emu, "--url", f"redis://127.0.0.1:{port}", "--json")
    assert time.monotonic() - started < 5
    assert result.status == 1
    tcp = result.check("tcp")
    assert tcp["level"] == "fail"
    assert tcp["summary"].startswith(f"refused: 127.0.0.1:{port}")


def test_no_api_key_still_checks_the_connection(emu: Emulator, api: RenderClient) -> None:
    kv = create(api, emu)
    internal, _ = urls(api, kv)
    result = doctor(emu, "--url", internal, "--json", env={})
    assert result.check("status")["level"] == "skip"
    assert result.check("auth")["level"] == "ok"
    assert result.status == 0


def test_id_without_an_api_key_is_a_usage_error(emu: Emulator) -> None:
    result = doctor(emu, "--id", "red-abcdefghij0123456789", env={})
    assert result.status == 2


def test_watch_samples_the_live_server(emu: Emulator, api: RenderClient) -> None:
    kv = create(api, emu, maxmemory_policy="noeviction")
    internal, _ = urls(api, kv)
    writer = redis.Redis.from_url(internal)
    out: list[str] = []
    now = [0.0]
    sleeps: list[float] = []

    def sleep(seconds: float) -> None:
        # Between two samples the queue grows by 4 MB, on the real server.
        sleeps.append(seconds)
        now[0] += seconds
        for index in range(16):
            writer.set(f"job:{len(sleeps)}:{index}", b"x" * 256 * 1024)

    runtime = Runtime(environ=env_for(emu), write=out.append, clock=lambda: now[0], sleep=sleep)
    status = run(["doctor", "--url", internal, "--watch", "30", "--count", "3"], runtime)
    writer.close()
    assert status == 0
    samples = [line for line in "".join(out).splitlines() if ": memory " in line]
    assert len(samples) == 3
    assert sleeps == [30.0, 30.0]
    used = [float(line.split(": memory ")[1].split(" MB")[0]) for line in samples]
    assert used[1] - used[0] > 3.5
    assert used[2] - used[1] > 3.5


def test_the_console_script_prints_json(emu: Emulator, api: RenderClient) -> None:
    kv = create(api, emu, ip_allow_list=[])
    script = Path(sys.executable).with_name("render-kv")
    command = (
        [str(script)] if script.exists() else [sys.executable, "-m", "pulumi_render_kv.doctor"]
    )
    done = subprocess.run(
        [*command, "doctor", "--id", kv.id, "--endpoint", "external", "--json", "--timeout", "3"],
        env={**os.environ, **env_for(emu)},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 1, done.stderr
    document = json.loads(done.stdout)
    assert document["exitStatus"] == 1
    (target,) = document["targets"]
    assert target["instanceId"] == kv.id
    levels = {c["check"]: c["level"] for c in target["checks"]}
    assert levels["allow list"] == "fail"
    assert API_KEY not in done.stdout + done.stderr
    assert _passwords(emu)[kv.id] not in done.stdout + done.stderr


def test_stack_without_pulumi_on_path(emu: Emulator, tmp_path: Path) -> None:
    if shutil.which("pulumi", path=str(tmp_path)):
        pytest.fail("tmp_path holds a pulumi")
    saved = os.environ["PATH"]
    os.environ["PATH"] = str(tmp_path)  # a PATH with no pulumi on it
    try:
        result = doctor(emu, "--stack", "dev")
    finally:
        os.environ["PATH"] = saved
    assert result.status == 2


def test_connection_limit_reached_then_rejected_connections(
    emu: Emulator, api: RenderClient
) -> None:
    # The emulator's servers take Redis's default limit; lowering it on the real server makes
    # the limit a test can reach (Render's starter allows 250).
    kv = create(api, emu, maxmemory_policy="noeviction")
    internal, _ = urls(api, kv)
    admin = redis.Redis.from_url(internal)
    admin.config_set("maxclients", 2)
    holder = redis.Redis.from_url(internal)
    holder.ping()  # admin + holder: the limit is reached
    try:
        full = doctor(emu, "--id", kv.id, "--json")
        auth = full.check("auth")
        assert auth["level"] == "fail"
        assert auth["summary"] == "refused: ERR max number of clients reached"
        assert "every connection the instance allows (starter's 250) is in use" in auth["cause"]
    finally:
        holder.close()
    after = doctor(emu, "--id", kv.id, "--json")
    connections = after.check("connections")
    assert connections["level"] == "warn"
    # The doctor's own refused connection at least (the emulator's metrics sampling was
    # refused too while the limit was reached).
    rejected = int(connections["summary"].split()[0])
    assert rejected >= 1
    assert " rejected since the server started" in connections["summary"]
    assert after.status == 3
    admin.close()


def test_a_server_that_never_answers_is_given_up_on_in_time(emu: Emulator) -> None:
    # A listener that never accepts: the kernel completes the TCP handshake, nothing replies.
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        port = silent.getsockname()[1]
        out: list[str] = []
        started = time.monotonic()
        status = run(
            ["doctor", "--url", f"redis://127.0.0.1:{port}", "--timeout", "1", "--json"],
            Runtime(environ={}, write=out.append),
        )
        elapsed = time.monotonic() - started
    assert status == 1
    # PING unanswered (1 s), then a TLS handshake unanswered (1 s): bounded, not minutes.
    assert elapsed < 4
    tls = Result(status, "".join(out)).check("tls")
    assert tls["level"] == "fail"
    assert tls["summary"] == f"127.0.0.1:{port} answered neither RESP nor TLS"
    assert tls["cause"] == "no reply in time"


def test_maintenance_scheduled_within_days(emu: Emulator, api: RenderClient) -> None:
    kv = create(api, emu, maxmemory_policy="noeviction")
    at = (datetime.now(UTC) + timedelta(days=2)).replace(second=0, microsecond=0)
    due = at + timedelta(days=5)
    run_id = emu.schedule_maintenance(
        kv.id, scheduled_at=at, pending_maintenance_by=due, run_type="software_upgrade"
    )
    result = doctor(emu, "--id", kv.id, "--json")
    assert result.check("status")["summary"].startswith("maintenance_scheduled:")
    assert result.check("status")["level"] == "ok"
    maintenance = result.check("maintenance")
    assert maintenance["level"] == "warn"
    assert maintenance["summary"] == (
        f"software_upgrade scheduled for {at:%Y-%m-%d %H:%M} UTC, due by "
        f"{due:%Y-%m-%d %H:%M} UTC ({run_id})"
    )
    assert f"POST /maintenance/{run_id}/trigger" in maintenance["fix"]
    assert result.status == 3


def test_name_finds_the_one_instance_and_refuses_two(
    emu: Emulator, api: RenderClient, capsys: pytest.CaptureFixture[str]
) -> None:
    kv = create(api, emu, name="dev-jobs", maxmemory_policy="noeviction")
    result = doctor(emu, "--name", "dev-jobs", "--json")
    assert result.status == 0, result.text
    assert json.loads(result.text)["targets"][0]["instanceId"] == kv.id
    assert doctor(emu, "--name", "no-such-instance").status == 2
    create(api, emu, name="dev-jobs")
    capsys.readouterr()
    assert doctor(emu, "--name", "dev-jobs").status == 2
    assert "2 instances are called 'dev-jobs'" in capsys.readouterr().err
