"""The `render-kv-emulator` command in a subprocess: one ready line, clean stop on signals."""

from __future__ import annotations

import contextlib
import os
import re
import select
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import redis

from pulumi_render_kv.emulator.__main__ import build_parser, settings_from_args

READY = re.compile(r"^RENDER_API_URL=(http://127\.0\.0\.1:\d+/v1)\n$")
CA_LINE = re.compile(r"^RENDER_KV_CA_CERT=(/.+)\n$")


class Running:
    def __init__(
        self, process: subprocess.Popen[str], url: str, ca_cert: Path | None = None
    ) -> None:
        self.process = process
        self.url = url
        self.ca_cert = ca_cert


def _start(*args: str) -> Running:
    process = subprocess.Popen(
        [sys.executable, "-m", "pulumi_render_kv.emulator", "--port", "0", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    ready, _, _ = select.select([process.stdout], [], [], 30)
    if not ready:
        process.kill()
        process.wait()
        pytest.fail("the emulator printed nothing within 30 s")
    line = process.stdout.readline()
    match = READY.match(line)
    if match is None:
        process.kill()
        _, err = process.communicate()
        pytest.fail(f"unexpected first line {line!r}; stderr:\n{err}")
    if "--no-data-plane" in args:
        return Running(process, match.group(1))
    ca_line = process.stdout.readline()
    ca_match = CA_LINE.match(ca_line)
    if ca_match is None:
        process.kill()
        _, err = process.communicate()
        pytest.fail(f"unexpected second line {ca_line!r}; stderr:\n{err}")
    return Running(process, match.group(1), Path(ca_match.group(1)))


@pytest.fixture
def cleanup() -> Iterator[list[subprocess.Popen[str]]]:
    started: list[subprocess.Popen[str]] = []
    yield started
    for process in started:
        if process.poll() is None:
            process.kill()
            process.communicate()


def _stop(running: Running, signum: int) -> tuple[int, str, str]:
    running.process.send_signal(signum)
    out, err = running.process.communicate(timeout=30)
    return running.process.returncode, out, err


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_cli_prints_one_line_serves_and_stops_on_signal(
    cleanup: list[subprocess.Popen[str]], signum: int
) -> None:
    """One RENDER_API_URL line on stdout, a working API, exit 0 on SIGTERM/SIGINT."""
    running = _start("--no-data-plane", "--api-key", "secret")
    cleanup.append(running.process)
    ok = httpx.get(running.url + "/owners", headers={"Authorization": "Bearer secret"})
    refused = httpx.get(running.url + "/owners", headers={"Authorization": "Bearer other"})
    assert ok.status_code == 200
    assert refused.status_code == 401
    code, rest_of_stdout, stderr = _stop(running, signum)
    assert code == 0
    assert rest_of_stdout == ""
    assert "stopped" in stderr
    port = int(running.url.rsplit(":", 1)[1].split("/")[0])
    with pytest.raises(OSError), socket.create_connection(("127.0.0.1", port), timeout=1):
        pass


def test_cli_flags_become_settings(tmp_path: Path) -> None:
    """Every flag lands in EmulatorSettings."""
    args = build_parser().parse_args(
        [
            "--owner-id",
            "tea-bbbbbbbbbbbbbbbbbbbb",
            "--data-dir",
            str(tmp_path),
            "--create-delay",
            "5",
            "--restart-delay",
            "2.5",
            "--resume-delay",
            "1.5",
            "--status-on-create",
            "creating",
            "--no-data-plane",
            "--empty-allow-list-as-array",
            "--write-per-minute",
            "100",
        ]
    )
    settings = settings_from_args(args)
    assert settings.owner_id == "tea-bbbbbbbbbbbbbbbbbbbb"
    assert settings.data_dir == tmp_path
    assert (settings.create_delay, settings.restart_delay) == (5.0, 2.5)
    assert settings.resume_delay == 1.5
    assert settings.status_on_create == "creating"
    assert settings.data_plane is False
    assert settings.null_empty_allow_list is False
    assert settings.rate_limits.write_per_minute == 100
    assert settings.rate_limits.create_per_hour == 20
    assert settings.port == 0


def test_cli_no_rate_limits_flag() -> None:
    """--no-rate-limits lifts every limit."""
    settings = settings_from_args(build_parser().parse_args(["--no-rate-limits"]))
    assert settings.rate_limits.get_per_minute >= 1_000_000


def test_cli_rejects_negative_delays(capsys: pytest.CaptureFixture[str]) -> None:
    """--create-delay -1 is a usage error."""
    with pytest.raises(SystemExit) as caught:
        build_parser().parse_args(["--create-delay", "-1"])
    assert caught.value.code == 2
    assert "must be >= 0, got -1" in capsys.readouterr().err


def _pids_listening_on(port: int) -> list[int]:
    """Processes whose command line mentions the port (redis-server retitles itself to it)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        if f":{port}" in cmdline or f"--port {port} " in cmdline:
            found.append(int(entry.name))
    return found


@pytest.mark.dataplane
def test_cli_sigterm_stops_every_server_process(
    cleanup: list[subprocess.Popen[str]], tmp_path: Path
) -> None:
    """After SIGTERM no server process the emulator started is left running."""
    running = _start("--data-dir", str(tmp_path))
    cleanup.append(running.process)
    headers = {"Authorization": "Bearer any"}
    with httpx.Client(base_url=running.url, headers=headers, timeout=30) as client:
        owner_id = client.get("/owners").json()[0]["owner"]["id"]
        created = client.post(
            "/key-value", json={"name": "a", "ownerId": owner_id, "plan": "starter"}
        )
        assert created.status_code == 201, created.text
        info = client.get(f"/key-value/{created.json()['id']}/connection-info").json()
    # The internal URL's port is the readiness gate's; the server tells its own port.
    internal = redis.Redis.from_url(info["internalConnectionString"], socket_timeout=5)
    with internal:
        port = int(internal.info("server")["tcp_port"])
    assert _pids_listening_on(port) != []
    code, _, _ = _stop(running, signal.SIGTERM)
    assert code == 0
    with pytest.raises(OSError), socket.create_connection(("127.0.0.1", port), timeout=1):
        pass
    assert [pid for pid in _pids_listening_on(port) if pid != os.getpid()] == []


def test_cli_start_failure_is_one_error_line_and_exit_1(tmp_path: Path) -> None:
    """A data plane that cannot start (no such server binary) → exit 1 with the fix."""
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pulumi_render_kv.emulator",
            "--data-dir",
            str(tmp_path),
            "--server-binary",
            str(tmp_path / "no-such-server"),
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 1
    assert result.stdout == ""
    assert "cannot start the emulator" in result.stderr
    assert "--no-data-plane" in result.stderr


def _busy_port() -> socket.socket:
    """A socket listening on a free loopback port, so that nobody else can bind it."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    sock.listen(1)
    return sock


def test_cli_bad_server_binary_leaves_no_temp_dir(tmp_path: Path) -> None:
    """The default data dir is made before the binary is checked; the failure removes it."""
    missing = str(tmp_path / "no-such-server")
    result = subprocess.run(
        [sys.executable, "-m", "pulumi_render_kv.emulator", "--server-binary", missing],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={**os.environ, "TMPDIR": str(tmp_path)},
    )
    assert result.returncode == 1
    assert "cannot start the emulator" in result.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == []


def test_cli_busy_port_is_one_error_line_and_exit_1(tmp_path: Path) -> None:
    """A port in use: the usual start-up error line, no werkzeug SystemExit, no temp dir left."""
    with _busy_port() as busy:
        port = busy.getsockname()[1]
        result = subprocess.run(
            [sys.executable, "-m", "pulumi_render_kv.emulator", "--port", str(port)],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
            env={**os.environ, "TMPDIR": str(tmp_path)},
        )
    assert result.returncode == 1
    assert result.stdout == ""
    errors = [line for line in result.stderr.splitlines() if "cannot start the emulator" in line]
    assert len(errors) == 1, result.stderr
    assert f"cannot listen on 127.0.0.1:{port}" in errors[0]
    assert sorted(p.name for p in tmp_path.iterdir()) == []


def test_cli_help_names_the_ca_line_and_the_state_file(capsys: pytest.CaptureFixture[str]) -> None:
    """--help tells where the CA is announced and that --data-dir survives restarts."""
    with pytest.raises(SystemExit):
        build_parser().parse_args(["--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "RENDER_KV_CA_CERT" in text
    assert "emulator.sqlite3" in text
    assert "brings back every workspace, environment and instance" in text


@pytest.mark.dataplane
def test_cli_second_line_is_the_ca_that_verifies_the_external_endpoint(
    cleanup: list[subprocess.Popen[str]], tmp_path: Path
) -> None:
    """RENDER_KV_CA_CERT names the PEM a TLS client needs for the rediss:// connection string."""
    running = _start("--data-dir", str(tmp_path))
    cleanup.append(running.process)
    assert running.ca_cert is not None
    assert running.ca_cert.read_text().startswith("-----BEGIN CERTIFICATE-----")
    headers = {"Authorization": "Bearer any"}
    with httpx.Client(base_url=running.url, headers=headers, timeout=30) as client:
        owner_id = client.get("/owners").json()[0]["owner"]["id"]
        created = client.post(
            "/key-value",
            json={
                "name": "tls",
                "ownerId": owner_id,
                "plan": "starter",
                "ipAllowList": [{"cidrBlock": "127.0.0.1/32", "description": "me"}],
            },
        )
        assert created.status_code == 201, created.text
        info = client.get(f"/key-value/{created.json()['id']}/connection-info").json()
    with redis.Redis.from_url(
        info["externalConnectionString"], ssl_ca_certs=str(running.ca_cert), socket_timeout=10
    ) as external:
        assert external.ping() is True
    code, _, _ = _stop(running, signal.SIGTERM)
    assert code == 0


def _children(pid: int) -> set[int]:
    """Direct child processes of ``pid`` (Linux: /proc/PID/task/*/children)."""
    found: set[int] = set()
    for task in Path(f"/proc/{pid}/task").iterdir():
        with contextlib.suppress(OSError):
            found.update(int(child) for child in (task / "children").read_text().split())
    return found


def _alive(pid: int) -> bool:
    """Running (not a zombie awaiting its parent); a reused pid would need the same binary."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


@pytest.mark.dataplane
@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_cli_stops_promptly_during_a_delayed_request_and_leaves_no_server(
    cleanup: list[subprocess.Popen[str]], tmp_path: Path, signum: int
) -> None:
    """A request sits in an hour-long injected delay; the signal still stops the emulator (the
    pytest timeout is the only clock), and every server process it started is gone."""
    running = _start("--data-dir", str(tmp_path))
    cleanup.append(running.process)
    headers = {"Authorization": "Bearer any"}
    control_url = running.url.removesuffix("/v1") + "/_emulator"
    with httpx.Client(base_url=running.url, headers=headers, timeout=30) as client:
        owner_id = client.get("/owners").json()[0]["owner"]["id"]
        created = client.post(
            "/key-value", json={"name": "a", "ownerId": owner_id, "plan": "starter"}
        )
        assert created.status_code == 201, created.text
    servers = {
        pid
        for pid in _children(running.process.pid)
        if b"server" in Path(f"/proc/{pid}/cmdline").read_bytes()
    }
    assert servers, "the emulator started no server process"
    fault = httpx.post(
        control_url + "/faults", json={"method": "GET", "path": "/v1/owners", "delay": 3600}
    )
    assert fault.status_code == 201, fault.text
    outcome: list[object] = []

    def delayed() -> None:
        try:
            outcome.append(httpx.get(running.url + "/owners", headers=headers, timeout=3700))
        except httpx.TransportError as error:  # the emulator closes the connection
            outcome.append(error)

    request = threading.Thread(target=delayed, daemon=True)
    request.start()
    while httpx.get(control_url + "/faults").json():  # taken: the request is in its delay
        threading.Event().wait(0.01)
    running.process.send_signal(signum)
    # No timeout of our own: "promptly" is judged by the pytest timeout, not a stopwatch here.
    _, stderr = running.process.communicate()
    assert running.process.returncode == 0, stderr
    request.join()
    assert len(outcome) == 1
    assert [pid for pid in servers if _alive(pid)] == []


_HEADERS = {"Authorization": "Bearer any"}


def _create_and_write(running: Running, name: str, value: str) -> str:
    """Create an instance through the API and SET ``survivor`` in it; returns its id."""
    with httpx.Client(base_url=running.url, headers=_HEADERS, timeout=30) as client:
        owner_id = client.get("/owners").json()[0]["owner"]["id"]
        created = client.post(
            "/key-value", json={"name": name, "ownerId": owner_id, "plan": "starter"}
        )
        assert created.status_code == 201, created.text
        instance_id: str = created.json()["id"]
    with redis.Redis.from_url(_internal_url(running, instance_id), socket_timeout=10) as server:
        assert server.set("survivor", value)
    return instance_id


def _internal_url(running: Running, instance_id: str) -> str:
    with httpx.Client(base_url=running.url, headers=_HEADERS, timeout=30) as client:
        info = client.get(f"/key-value/{instance_id}/connection-info").json()
    return str(info["internalConnectionString"])


def _listed_ids(running: Running) -> list[str]:
    with httpx.Client(base_url=running.url, headers=_HEADERS, timeout=30) as client:
        return [item["keyValue"]["id"] for item in client.get("/key-value").json()]


@pytest.mark.dataplane
def test_cli_restarted_on_its_data_dir_brings_the_instance_and_its_data_back(
    cleanup: list[subprocess.Popen[str]], tmp_path: Path
) -> None:
    """SIGTERM, then a new emulator process on the same --data-dir: same id, same key."""
    first = _start("--data-dir", str(tmp_path))
    cleanup.append(first.process)
    instance_id = _create_and_write(first, "kept", "yes")
    code, _, stderr = _stop(first, signal.SIGTERM)
    assert code == 0, stderr

    second = _start("--data-dir", str(tmp_path))
    cleanup.append(second.process)
    assert _listed_ids(second) == [instance_id]
    with redis.Redis.from_url(_internal_url(second, instance_id), socket_timeout=10) as server:
        assert server.get("survivor") == b"yes"
    code, _, stderr = _stop(second, signal.SIGTERM)
    assert code == 0, stderr


def test_cli_unreadable_state_file_is_one_error_line_and_exit_1(tmp_path: Path) -> None:
    """A data dir whose emulator.sqlite3 is not a state file: the file and the fix, exit 1."""
    (tmp_path / "emulator.sqlite3").write_bytes(b"garbage " * 512)
    result = subprocess.run(
        [
            *(sys.executable, "-m", "pulumi_render_kv.emulator"),
            *("--no-data-plane", "--data-dir", str(tmp_path)),
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 1
    assert result.stdout == ""
    [line] = [line for line in result.stderr.splitlines() if "cannot start" in line]
    assert "emulator.sqlite3 is not an emulator state file" in line
    assert "another --data-dir" in line
    assert "--no-data-plane" not in line


@pytest.mark.dataplane
def test_cli_killed_with_sigkill_restarts_on_its_data_dir(
    cleanup: list[subprocess.Popen[str]], tmp_path: Path
) -> None:
    """After kill -9 (no cleanup code runs) the state file and the data dir's lock do not stand
    in the way: a new emulator brings the instance and its acknowledged write back."""
    first = _start("--data-dir", str(tmp_path))
    cleanup.append(first.process)
    instance_id = _create_and_write(first, "crash", "after a crash")
    servers = _children(first.process.pid)
    assert servers
    first.process.kill()
    first.process.communicate()
    # The servers get SIGTERM from the kernel (parent-death signal) and save on the way out;
    # wait for that before another server opens the same files.
    while any(_alive(pid) for pid in servers):
        threading.Event().wait(0.05)

    second = _start("--data-dir", str(tmp_path))
    cleanup.append(second.process)
    assert _listed_ids(second) == [instance_id]
    with redis.Redis.from_url(_internal_url(second, instance_id), socket_timeout=10) as server:
        assert server.get("survivor") == b"after a crash"
    code, _, stderr = _stop(second, signal.SIGTERM)
    assert code == 0, stderr
