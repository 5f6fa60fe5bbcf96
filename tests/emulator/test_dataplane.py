"""The emulator's data plane: real server processes behind the connection strings it hands out.

Every test here starts real ``valkey-server``/``redis-server`` processes on free ports. The
``plane`` fixture closes its data plane even when a test fails, and the module ends by checking
that no server process a test started is still running.
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
import shutil
import signal
import socket
import ssl
import string
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path

import pytest
import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from pulumi_render_kv.emulator import _ports
from pulumi_render_kv.emulator._gate_policy import address_admitted, parse_allow_list
from pulumi_render_kv.emulator.dataplane import (
    DataPlane,
    DataPlaneError,
    Endpoints,
    InstanceConfig,
    find_server_binary,
)

ROOT = Path(__file__).resolve().parents[2]
ALLOWLIST_ERROR = "AUTH failed: Client IP address is not in the allowlist"
WRONGPASS = "invalid username-password pair or user is disabled."
MiB = 1024 * 1024

requires_server = pytest.mark.skipif(
    shutil.which("valkey-server") is None and shutil.which("redis-server") is None,
    reason="needs valkey-server or redis-server (apt-get install redis-server)",
)
linux_only = pytest.mark.skipif(
    not sys.platform.startswith("linux"), reason="the parent-death signal is Linux-only"
)

# Every server pid a test saw; the module-level fixture checks that none outlives the tests.
_STARTED: set[int] = set()


# -- helpers ------------------------------------------------------------------------------------


def _config(**changes: object) -> InstanceConfig:
    alphabet = string.ascii_lowercase + string.digits
    values: dict[str, object] = {
        "instance_id": "red-" + "".join(secrets.choice(alphabet) for _ in range(20)),
        "password": "".join(
            secrets.choice(string.ascii_letters + string.digits) for _ in range(32)
        ),
        "maxmemory_bytes": 25 * MiB,
        "maxmemory_policy": "allkeys-lru",
        "persistence": "off",
        "allow_list": ("127.0.0.1/32",),
    }
    values.update(changes)
    return InstanceConfig(**values)  # type: ignore[arg-type]


def _no_retry() -> Retry:
    return Retry(NoBackoff(), 0)


def _internal(endpoints: Endpoints) -> redis.Redis:
    """A client on the internal URL, with no password, exactly as it is handed out."""
    url = f"redis://{endpoints.host}:{endpoints.internal_port}"
    return redis.Redis.from_url(url, socket_timeout=5, retry=_no_retry())


def _external(
    plane: DataPlane,
    endpoints: Endpoints,
    config: InstanceConfig,
    *,
    user: str | None = None,
    password: str | None = None,
    protocol: int = 2,
) -> redis.Redis:
    """A client on the external URL, trusting the data plane's CA."""
    user = config.instance_id if user is None else user
    password = config.password if password is None else password
    url = f"rediss://{user}:{password}@{endpoints.host}:{endpoints.external_port}"
    return redis.Redis.from_url(
        url,
        ssl_ca_certs=str(plane.ca_cert_path),
        socket_timeout=5,
        retry=_no_retry(),
        protocol=protocol,
    )


def _start(plane: DataPlane, config: InstanceConfig) -> Endpoints:
    endpoints = plane.start(config)
    _remember(endpoints)
    return endpoints


def _remember(endpoints: Endpoints) -> int:
    with _internal(endpoints) as client:
        pid = int(client.info("server")["process_id"])
    _STARTED.add(pid)
    return pid


def _server_port(endpoints: Endpoints) -> int:
    """The server process's own port (the internal URL's is the readiness gate's)."""
    with _internal(endpoints) as client:
        return int(client.info("server")["tcp_port"])


def _alive(pid: int) -> bool:
    """Whether the process exists and is not a zombie (orphans may be reaped late in containers)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    except OSError:  # no /proc: ask the kernel directly
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        return True
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def _eventually(predicate: Callable[[], bool], timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.02)
    return True


def _refused(host: str, port: int) -> bool:
    try:
        socket.create_connection((host, port), timeout=2).close()
    except ConnectionRefusedError:
        return True
    return False


def _tls_socket(plane: DataPlane, endpoints: Endpoints) -> ssl.SSLSocket:
    context = ssl.create_default_context(cafile=str(plane.ca_cert_path))
    raw = socket.create_connection((endpoints.host, endpoints.external_port), timeout=5)
    return context.wrap_socket(raw, server_hostname=endpoints.host)


def _instance_ids(plane: DataPlane) -> list[str]:
    # Test-only peek at which instances the plane runs (the API layer keeps its own records).
    return list(plane._instances)


def _data_dir(plane: DataPlane, config: InstanceConfig) -> Path:
    return plane._data_dir / config.instance_id


def _config_get(endpoints: Endpoints, name: str) -> str:
    with _internal(endpoints) as client:
        value = client.config_get(name)[name]
    return value.decode() if isinstance(value, bytes) else str(value)


# -- fixtures -----------------------------------------------------------------------------------


@pytest.fixture(scope="module", autouse=True)
def _no_server_outlives_the_tests() -> Iterator[None]:
    yield
    if not _STARTED:
        # Nothing ran a server: a subset (-k, --lf) or no redis-server (requires_server skips).
        return
    _eventually(lambda: not any(_alive(pid) for pid in _STARTED), 5)
    leftovers = sorted(pid for pid in _STARTED if _alive(pid))
    assert not leftovers, f"server processes still running after the tests: {leftovers}"


@pytest.fixture
def plane(tmp_path: Path) -> Iterator[DataPlane]:
    data_plane = DataPlane(tmp_path / "data")
    try:
        yield data_plane
    finally:
        data_plane.close()


# -- pure helpers -------------------------------------------------------------------------------


@pytest.mark.dataplane
@pytest.mark.parametrize(
    ("address", "cidrs", "admitted"),
    [
        ("127.0.0.1", ("127.0.0.1/32",), True),
        ("127.0.0.1", ("127.0.0.0/8",), True),
        ("127.0.0.1", ("0.0.0.0/0",), True),
        ("127.0.0.1", ("203.0.113.0/24", "127.0.0.1/32"), True),
        ("127.0.0.1", ("203.0.113.0/24",), False),
        ("127.0.0.1", (), False),
        ("127.0.0.1", ("::/0",), False),
        ("::ffff:127.0.0.1", ("127.0.0.1/32",), True),
        ("::1", ("::1/128",), True),
        ("::1", ("0.0.0.0/0",), False),
        ("not-an-ip", ("0.0.0.0/0",), False),
    ],
)
def test_allow_list_admits_only_addresses_inside_its_blocks(
    address: str, cidrs: tuple[str, ...], admitted: bool
) -> None:
    """An address is admitted only by a block of its own family that contains it."""
    assert address_admitted(address, parse_allow_list(cidrs)) is admitted


# -- start and the internal endpoint ------------------------------------------------------------


@pytest.mark.dataplane
@requires_server
def test_internal_url_works_without_password(plane: DataPlane) -> None:
    """SET/GET over redis://host:internal_port with no credentials, like Render's private URL."""
    config = _config()
    endpoints = _start(plane, config)
    assert endpoints.host == "127.0.0.1"
    assert endpoints.internal_port != endpoints.external_port
    with _internal(endpoints) as client:
        assert client.set("greeting", "hello")
        assert client.get("greeting") == b"hello"
    assert plane.endpoints(config.instance_id) == endpoints


@pytest.mark.dataplane
@requires_server
@pytest.mark.parametrize(
    ("persistence", "appendonly", "save"),
    [
        ("off", "no", ""),
        ("snapshot", "no", "3600 1 300 100 60 10000"),
        ("journal_snapshot", "yes", "3600 1 300 100 60 10000"),
    ],
)
def test_server_runs_with_the_configured_memory_policy_and_persistence(
    plane: DataPlane, persistence: str, appendonly: str, save: str
) -> None:
    """CONFIG GET on the live server shows maxmemory, the policy and the persistence mode."""
    endpoints = _start(plane, _config(maxmemory_bytes=30 * MiB, persistence=persistence))
    assert _config_get(endpoints, "maxmemory") == str(30 * MiB)
    assert _config_get(endpoints, "maxmemory-policy") == "allkeys-lru"
    assert _config_get(endpoints, "appendonly") == appendonly
    assert _config_get(endpoints, "save") == save
    if persistence == "journal_snapshot":
        assert _config_get(endpoints, "appendfsync") == "everysec"


@pytest.mark.dataplane
@requires_server
def test_server_version_names_flavour_and_version(plane: DataPlane) -> None:
    """server_version reads like "redis 7.0.15" / "valkey 8.1.4"."""
    flavour, version = plane.server_version.split(" ")
    assert flavour in {"redis", "valkey"}
    assert all(part.isdigit() for part in version.split("."))


@pytest.mark.dataplane
@requires_server
def test_start_retries_when_another_server_wins_the_port_race(
    plane: DataPlane, monkeypatch: pytest.MonkeyPatch
) -> None:
    """If the probed free port is taken before the server binds it, start() picks another."""
    first = _start(plane, _config())
    taken = _server_port(first)
    real_free_port = _ports.free_port
    handed_out: list[int] = []

    def racy_free_port(host: str) -> int:
        # The first "free" port is the one the other server already serves.
        port = taken if not handed_out else real_free_port(host)
        handed_out.append(port)
        return port

    monkeypatch.setattr(_ports, "free_port", racy_free_port)
    second = _start(plane, _config())
    assert handed_out[0] == taken
    assert _server_port(second) in handed_out[1:]
    assert _server_port(second) != taken
    assert _remember(second) != _remember(first)


@pytest.mark.dataplane
@requires_server
def test_failed_start_reports_the_server_log_and_leaves_nothing_behind(plane: DataPlane) -> None:
    """A config the server rejects raises DataPlaneError with its log tail; the id stays free."""
    config = _config(maxmemory_policy="evict-everything")
    with pytest.raises(DataPlaneError, match="did not start") as caught:
        plane.start(config)
    message = str(caught.value)
    assert "maxmemory-policy" in message
    assert "evict-everything" in message
    _start(plane, _config(instance_id=config.instance_id))


@pytest.mark.dataplane
@requires_server
def test_invalid_config_is_rejected_before_any_process_starts(plane: DataPlane) -> None:
    """Bad persistence, CIDR or id raise DataPlaneError naming the field."""
    with pytest.raises(DataPlaneError, match="persistence 'aof'"):
        plane.start(_config(persistence="aof"))
    with pytest.raises(DataPlaneError, match=re.escape("invalid CIDR block '300.0.0.0/8'")):
        plane.start(_config(allow_list=("300.0.0.0/8",)))
    with pytest.raises(DataPlaneError, match=re.escape("instance_id '../etc'")):
        plane.start(_config(instance_id="../etc"))
    assert _instance_ids(plane) == []


# -- apply --------------------------------------------------------------------------------------


@pytest.mark.dataplane
@requires_server
def test_apply_changes_policy_memory_and_persistence_on_the_live_server(plane: DataPlane) -> None:
    """apply() reconfigures the running process in place: same pid, data kept."""
    config = _config(persistence="off")
    endpoints = _start(plane, config)
    pid = _remember(endpoints)
    with _internal(endpoints) as client:
        client.set("kept", "yes")

    plane.apply(
        replace(
            config,
            maxmemory_bytes=50 * MiB,
            maxmemory_policy="noeviction",
            persistence="journal_snapshot",
        )
    )
    assert _config_get(endpoints, "maxmemory") == str(50 * MiB)
    assert _config_get(endpoints, "maxmemory-policy") == "noeviction"
    assert _config_get(endpoints, "appendonly") == "yes"
    assert _config_get(endpoints, "save") == "3600 1 300 100 60 10000"
    assert _remember(endpoints) == pid
    with _internal(endpoints) as client:
        assert client.get("kept") == b"yes"

    plane.apply(config)
    assert _config_get(endpoints, "appendonly") == "no"
    assert _config_get(endpoints, "save") == ""


@pytest.mark.dataplane
@requires_server
def test_apply_with_flush_loses_the_data(plane: DataPlane) -> None:
    """apply(flush=True) wipes the data, as Render's free -> paid upgrade does."""
    config = _config()
    endpoints = _start(plane, config)
    with _internal(endpoints) as client:
        client.set("doomed", "1")
        plane.apply(config, flush=False)
        assert client.get("doomed") == b"1"
        plane.apply(config, flush=True)
        assert client.get("doomed") is None
        assert client.dbsize() == 0


@pytest.mark.dataplane
@requires_server
def test_apply_rejected_by_the_server_raises_with_its_message(plane: DataPlane) -> None:
    """A value the server refuses surfaces as DataPlaneError; the rest of the state holds."""
    config = _config()
    endpoints = _start(plane, config)
    with pytest.raises(DataPlaneError, match="rejected CONFIG SET maxmemory-policy"):
        plane.apply(replace(config, maxmemory_policy="evict-everything"))
    assert _config_get(endpoints, "maxmemory-policy") == "allkeys-lru"


@pytest.mark.dataplane
@requires_server
def test_apply_on_a_suspended_instance_takes_effect_on_resume(plane: DataPlane) -> None:
    """Settings changed while suspended are what the resumed server runs with."""
    config = _config(persistence="snapshot")
    _start(plane, config)
    plane.suspend(config.instance_id)
    plane.apply(replace(config, maxmemory_policy="volatile-ttl", persistence="journal_snapshot"))
    endpoints = plane.resume(config.instance_id)
    _remember(endpoints)
    assert _config_get(endpoints, "maxmemory-policy") == "volatile-ttl"
    assert _config_get(endpoints, "appendonly") == "yes"


# -- the external endpoint ----------------------------------------------------------------------


@pytest.mark.dataplane
@requires_server
@pytest.mark.parametrize("protocol", [2, 3], ids=["AUTH", "HELLO-AUTH"])
def test_external_tls_url_with_password_works_when_allowed(plane: DataPlane, protocol: int) -> None:
    """rediss://<id>:<password>@host:external_port works over TLS as the ACL user <id>."""
    config = _config(allow_list=("127.0.0.0/8",))
    endpoints = _start(plane, config)
    big = os.urandom(3 * MiB)  # larger than the gate's buffers: back-pressure both ways
    with _external(plane, endpoints, config, protocol=protocol) as client:
        assert client.acl_whoami() in {config.instance_id, config.instance_id.encode()}
        assert client.set("big", big)
        assert client.get("big") == big
        with client.pipeline(transaction=False) as pipe:
            for index in range(500):
                pipe.set(f"key:{index}", index)
            assert all(pipe.execute())
    with _internal(endpoints) as client:
        assert client.get("key:499") == b"499"


@pytest.mark.dataplane
@requires_server
@pytest.mark.parametrize(
    ("user", "password"),
    [(None, "not-the-password"), ("default", ""), ("default", "anything")],
    ids=["wrong-password", "default-user-no-password", "default-user-any-password"],
)
def test_external_wrong_credentials_are_refused(
    plane: DataPlane, user: str | None, password: str
) -> None:
    """Only the instance's ACL user with its password gets in; the password-less default cannot."""
    config = _config()
    endpoints = _start(plane, config)
    client = redis.Redis(
        host=endpoints.host,
        port=endpoints.external_port,
        ssl=True,
        ssl_ca_certs=str(plane.ca_cert_path),
        username=user or config.instance_id,
        password=password,
        socket_timeout=5,
        retry=_no_retry(),
    )
    with client, pytest.raises(redis.AuthenticationError, match=WRONGPASS):
        client.ping()


@pytest.mark.dataplane
@requires_server
def test_external_endpoint_speaks_redis_auth_rules_before_login(plane: DataPlane) -> None:
    """Before AUTH: NOAUTH for commands, WRONGPASS for others' users; AUTH <password> logs in."""
    config = _config()
    endpoints = _start(plane, config)
    with _tls_socket(plane, endpoints) as sock, sock.makefile("rwb") as stream:

        def ask(line: bytes) -> bytes:
            stream.write(line)
            stream.flush()
            return stream.readline()

        assert ask(b"PING\r\n") == b"-NOAUTH Authentication required.\r\n"
        assert ask(b"HELLO 3\r\n").startswith(b"-NOAUTH HELLO must be called")
        assert ask(b"AUTH default anything\r\n") == f"-WRONGPASS {WRONGPASS}\r\n".encode()
        assert ask(b"AUTH wrong-password\r\n") == f"-WRONGPASS {WRONGPASS}\r\n".encode()
        assert ask(f"AUTH {config.password}\r\n".encode()) == b"+OK\r\n"
        assert ask(b"ACL WHOAMI\r\n") == b"$%d\r\n" % len(config.instance_id)
        assert stream.readline() == config.instance_id.encode() + b"\r\n"


@pytest.mark.dataplane
@requires_server
def test_commands_sent_right_before_the_client_hangs_up_still_run(plane: DataPlane) -> None:
    """AUTH + SET written in one go, then close: the SET reaches the server, as with Redis."""
    config = _config()
    endpoints = _start(plane, config)
    with _tls_socket(plane, endpoints) as sock:
        sock.sendall(f"AUTH {config.password}\r\nSET fire-and-forget 1\r\n".encode())
    with _internal(endpoints) as client:
        assert _eventually(lambda: client.get("fire-and-forget") == b"1", 5)


@pytest.mark.dataplane
@requires_server
def test_external_endpoint_requires_tls(plane: DataPlane) -> None:
    """A plain-text client on the external port gets no answer, only a closed connection."""
    config = _config(allow_list=("0.0.0.0/0",))
    endpoints = _start(plane, config)
    url = f"redis://{config.instance_id}:{config.password}@127.0.0.1:{endpoints.external_port}"
    with (
        redis.Redis.from_url(url, socket_timeout=5, retry=_no_retry()) as client,
        pytest.raises(redis.ConnectionError),
    ):
        client.ping()


@pytest.mark.dataplane
@requires_server
@pytest.mark.parametrize(
    "allow_list", [(), ("203.0.113.0/24",), ("::/0",)], ids=["empty", "other-net", "ipv6-only"]
)
def test_external_client_outside_the_allow_list_gets_renders_error(
    plane: DataPlane, allow_list: tuple[str, ...]
) -> None:
    """A refused address gets TLS, then "AUTH failed: Client IP address is not in the allowlist"."""
    config = _config(allow_list=allow_list)
    endpoints = _start(plane, config)
    with (
        _external(plane, endpoints, config) as client,
        pytest.raises(redis.ResponseError, match=ALLOWLIST_ERROR),
    ):
        client.ping()
    with _tls_socket(plane, endpoints) as sock, sock.makefile("rwb") as stream:
        stream.write(b"PING\r\n")
        stream.flush()
        assert stream.readline() == f"-ERR {ALLOWLIST_ERROR}\r\n".encode()
        assert stream.readline() == b""  # and the connection is closed


@pytest.mark.dataplane
@requires_server
def test_allow_list_changes_apply_to_new_connections(plane: DataPlane) -> None:
    """apply() swaps the allow list at runtime: new connections follow it, open ones stay."""
    config = _config(allow_list=("127.0.0.1/32",))
    endpoints = _start(plane, config)
    with _external(plane, endpoints, config) as before:
        assert before.ping()
        plane.apply(replace(config, allow_list=("203.0.113.0/24",)))
        with (
            _external(plane, endpoints, config) as after,
            pytest.raises(redis.ResponseError, match=ALLOWLIST_ERROR),
        ):
            after.ping()
        assert before.ping()  # admitted when it connected
    plane.apply(replace(config, allow_list=()))
    with _external(plane, endpoints, config) as client, pytest.raises(redis.ResponseError):
        client.ping()
    plane.apply(replace(config, allow_list=("0.0.0.0/0",)))
    with _external(plane, endpoints, config) as client:
        assert client.ping()


@pytest.mark.dataplane
@requires_server
def test_ca_is_made_once_per_data_dir(tmp_path: Path) -> None:
    """A second data plane on the same directory keeps the CA clients already trust."""
    with DataPlane(tmp_path) as first:
        ca = first.ca_cert_path.read_bytes()
    with DataPlane(tmp_path) as second:
        assert second.ca_cert_path.read_bytes() == ca
    assert (tmp_path / "_tls" / "server-key.pem").stat().st_mode & 0o077 == 0


# -- suspend, resume, stop, close ---------------------------------------------------------------


@pytest.mark.dataplane
@requires_server
@pytest.mark.parametrize(
    ("persistence", "kept"),
    [("snapshot", True), ("journal_snapshot", True), ("off", False)],
)
def test_suspend_refuses_connections_and_resume_keeps_persisted_data(
    plane: DataPlane, persistence: str, kept: bool
) -> None:
    """Suspended: both ports refuse. Resumed: same ports; data survives unless persistence off."""
    config = _config(persistence=persistence)
    endpoints = _start(plane, config)
    pid = _remember(endpoints)
    with _internal(endpoints) as client:
        client.set("survivor", "1")

    plane.suspend(config.instance_id)
    assert not _alive(pid)
    assert _refused(endpoints.host, endpoints.internal_port)
    assert _refused(endpoints.host, endpoints.external_port)
    assert _data_dir(plane, config).is_dir()
    plane.suspend(config.instance_id)  # idempotent

    resumed = plane.resume(config.instance_id)
    _remember(resumed)
    assert resumed == endpoints
    with _internal(resumed) as client:
        assert client.get("survivor") == (b"1" if kept else None)
    with _external(plane, resumed, config) as client:
        assert client.ping()


@pytest.mark.dataplane
@requires_server
def test_start_takes_the_ports_it_is_given_when_free_and_others_when_not(
    tmp_path: Path,
) -> None:
    """An instance brought back by a restarted emulator gets its old ports; a port another
    program holds meanwhile is replaced by a free one, with the data as it was."""
    config = _config(persistence="journal_snapshot")
    first = DataPlane(tmp_path)
    try:
        old = _start(first, config)
        with _internal(old) as client:
            client.set("survivor", "1")
    finally:
        first.close()

    second = DataPlane(tmp_path)
    try:
        again = second.start(config, ports=(old.internal_port, old.external_port))
        _remember(again)
        assert again == old
        with _external(second, again, config) as client:
            assert client.get("survivor") == b"1"
    finally:
        second.close()

    with socket.socket() as squatter:
        squatter.bind((old.host, old.internal_port))
        squatter.listen()
        third = DataPlane(tmp_path)
        try:
            moved = third.start(config, ports=(old.internal_port, old.external_port))
            _remember(moved)
            assert moved.internal_port != old.internal_port
            assert moved.external_port == old.external_port
            with _internal(moved) as client:
                assert client.get("survivor") == b"1"
        finally:
            third.close()


@pytest.mark.dataplane
@requires_server
def test_stop_removes_the_process_and_the_data_dir(plane: DataPlane) -> None:
    """stop() kills the server and deletes data_dir/<id>; an unknown id is a no-op."""
    config = _config(persistence="journal_snapshot")
    endpoints = _start(plane, config)
    pid = _remember(endpoints)
    directory = _data_dir(plane, config)
    assert directory.is_dir()

    plane.stop(config.instance_id)
    assert not _alive(pid)
    assert not directory.exists()
    assert _refused(endpoints.host, endpoints.internal_port)
    assert _refused(endpoints.host, endpoints.external_port)
    plane.stop(config.instance_id)
    plane.stop("red-00000000000000000000")
    with pytest.raises(DataPlaneError, match="Unknown instance"):
        plane.endpoints(config.instance_id)


@pytest.mark.dataplane
@requires_server
def test_close_stops_every_server_and_gate_and_is_idempotent(tmp_path: Path) -> None:
    """close() ends all servers, gate threads and the spawner; later calls are refused."""
    plane = DataPlane(tmp_path)
    try:
        started = [_start(plane, _config()) for _ in range(2)]
        pids = [_remember(endpoints) for endpoints in started]
    finally:
        plane.close()
    assert not any(_alive(pid) for pid in pids)
    for endpoints in started:
        assert _refused(endpoints.host, endpoints.internal_port)
        assert _refused(endpoints.host, endpoints.external_port)
    names = {thread.name for thread in threading.enumerate()}
    assert not {name for name in names if name.startswith(("kv-gate-", "dataplane-spawner"))}
    plane.close()
    with pytest.raises(DataPlaneError, match="closed"):
        plane.start(_config())


@pytest.mark.dataplane
@requires_server
@linux_only
def test_no_sockets_or_threads_leak_across_many_connections(tmp_path: Path) -> None:
    """Good, refused and broken clients all get closed; close() returns every fd and thread."""
    fds_before = len(os.listdir("/proc/self/fd"))
    threads_before = threading.active_count()
    plane = DataPlane(tmp_path)
    try:
        config = _config()
        endpoints = _start(plane, config)
        for index in range(12):
            password = config.password if index % 3 else "wrong"
            with (
                _external(plane, endpoints, config, password=password) as client,
                contextlib.suppress(redis.AuthenticationError),
            ):
                client.ping()
            with socket.create_connection((endpoints.host, endpoints.external_port)) as sock:
                sock.sendall(b"PING\r\n")  # not TLS: the gate drops it
        gate = plane._instances[config.instance_id].gate
        assert gate is not None
        assert _eventually(lambda: not gate._connections), "the gate kept closed clients"
    finally:
        plane.close()
    assert _eventually(lambda: len(os.listdir("/proc/self/fd")) == fds_before)
    assert threading.active_count() == threads_before


# -- processes never outlive their owner --------------------------------------------------------


@pytest.mark.dataplane
@requires_server
def test_server_started_from_a_short_lived_thread_outlives_that_thread(plane: DataPlane) -> None:
    """The parent-death signal is tied to the data plane, not to the HTTP thread that asked."""
    result: list[Endpoints] = []
    worker = threading.Thread(target=lambda: result.append(plane.start(_config())))
    worker.start()
    worker.join()
    endpoints = result[0]
    _remember(endpoints)
    with _internal(endpoints) as client:
        # A server that got SIGTERM shuts down within one cron tick (100 ms); a blocking call
        # spanning three ticks would be cut off by that shutdown.
        assert client.blpop(["never-filled"], timeout=0.3) is None
        assert client.ping()


@pytest.mark.dataplane
@requires_server
@linux_only
def test_servers_die_when_the_python_parent_is_killed(tmp_path: Path) -> None:
    """SIGKILL on the owning Python process (no close, no atexit) still stops its servers."""
    script = (
        "import sys\n"
        "from pathlib import Path\n"
        "from pulumi_render_kv.emulator.dataplane import DataPlane, InstanceConfig\n"
        "plane = DataPlane(Path(sys.argv[1]))\n"
        "config = InstanceConfig('red-' + 'k' * 20, 'p' * 32, 25 << 20, 'noeviction',\n"
        "                        'snapshot', ('127.0.0.1/32',))\n"
        "print(plane.start(config).internal_port, flush=True)\n"
        "sys.stdin.read()\n"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    with subprocess.Popen(
        [sys.executable, "-c", script, str(tmp_path)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        env=env,
        cwd=ROOT,
    ) as owner:
        try:
            assert owner.stdout is not None
            port = int(owner.stdout.readline())
            pid = _remember(Endpoints("127.0.0.1", port, 0))
            assert _alive(pid)
        finally:
            owner.send_signal(signal.SIGKILL)
            owner.wait()
    assert _eventually(lambda: not _alive(pid), 10), "the server outlived its killed parent"
    assert _refused("127.0.0.1", port)


# -- missing binary -----------------------------------------------------------------------------


@pytest.mark.dataplane
def test_missing_server_binary_error_says_how_to_install_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No valkey-server/redis-server: DataPlaneError with the install commands."""
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(DataPlaneError) as caught:
        find_server_binary()
    for fix in ("apt-get install redis-server", "brew install valkey"):
        assert fix in str(caught.value)
    with pytest.raises(DataPlaneError, match="apt-get install redis-server"):
        DataPlane(tmp_path, server_binary=str(tmp_path / "valkey-server"))
    with pytest.raises(DataPlaneError, match="apt-get install redis-server"):
        DataPlane(tmp_path)


# -- listening address --------------------------------------------------------------------------


@pytest.mark.dataplane
@pytest.mark.parametrize("host", ["0.0.0.0", "::", "192.0.2.7", "localhost", ""])
def test_a_non_loopback_host_is_refused_before_anything_runs(tmp_path: Path, host: str) -> None:
    """The internal endpoint has no password: the data plane never binds a network address."""
    with pytest.raises(DataPlaneError, match="loopback only"):
        DataPlane(tmp_path / "data", host=host)
    assert not (tmp_path / "data").exists()


# -- one definition each ------------------------------------------------------------------------


@pytest.mark.dataplane
def test_the_api_and_the_data_plane_share_one_list_of_persistence_modes(tmp_path: Path) -> None:
    """The modes the API accepts are, by definition, the ones the data plane can run."""
    from pulumi_render_kv.emulator import _proxy, _server_config, backend, plane  # noqa: PLC0415

    assert backend.PERSISTENCE_MODES is plane.PERSISTENCE_MODES
    assert _server_config.PERSISTENCE_MODES is plane.PERSISTENCE_MODES
    # And one socket-family helper, in the gate's module.
    assert _ports.socket_family is _proxy.socket_family
    assert not hasattr(_ports, "_family")
    assert not hasattr(_proxy, "_family")
