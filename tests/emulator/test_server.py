"""The emulator on a real socket: start/stop, dropped connections, delays, no leftovers."""

from __future__ import annotations

import re
import socket
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from pulumi_render_kv.emulator import Emulator, EmulatorSettings, RateLimitSettings

from .conftest import API_KEY
from .fakes import FakeDataPlane


def _emulator_threads() -> list[threading.Thread]:
    return [
        thread
        for thread in threading.enumerate()
        if thread.name.startswith("render-kv-emulator") or "process_request_thread" in thread.name
    ]


@pytest.fixture
def served() -> Iterator[Emulator]:
    settings = EmulatorSettings(
        api_key=API_KEY, data_plane=False, rate_limits=RateLimitSettings.unlimited()
    )
    with Emulator(settings) as emu:
        yield emu
    assert _emulator_threads() == []


def _client(emu: Emulator, **kwargs: object) -> httpx.Client:
    return httpx.Client(
        base_url=emu.url,
        headers={"Authorization": f"Bearer {API_KEY}"},
        **kwargs,  # type: ignore[arg-type]
    )


def _body(emu: Emulator) -> dict[str, str]:
    return {"name": "cache", "ownerId": emu.owner_id, "plan": "starter"}


def test_serves_on_a_free_port_with_a_v1_url(served: Emulator) -> None:
    """start() binds port 0 to a free port; url is http://127.0.0.1:PORT/v1."""
    assert re.fullmatch(r"http://127\.0\.0\.1:\d+/v1", served.url)
    assert served.port > 0
    with _client(served) as client:
        response = client.get("/owners")
    assert response.status_code == 200
    assert response.json()[0]["owner"]["id"] == served.owner_id


def test_drop_connection_after_the_create_was_done(served: Emulator) -> None:
    """The client loses the connection, but the instance exists: the create-then-timeout case."""
    served.inject_fault("POST", "/v1/key-value", drop_connection=True)
    with _client(served) as client:
        with pytest.raises(httpx.TransportError):
            client.post("/key-value", json=_body(served))
        listed = client.get("/key-value", params={"name": "cache"}).json()
    assert len(listed) == 1
    assert served.requests()[0]["status"] == 201
    assert served.requests()[0]["fault"] == "drop"


def test_delay_makes_the_client_time_out_while_the_server_still_acts() -> None:
    """A delay longer than the client's timeout: ReadTimeout, yet the instance is created."""
    settings = EmulatorSettings(data_plane=False, rate_limits=RateLimitSettings.unlimited())
    emu = Emulator(settings).start()
    try:
        emu.inject_fault("POST", "/v1/key-value", delay=0.5)
        with _client(emu, timeout=0.1) as client, pytest.raises(httpx.ReadTimeout):
            client.post("/key-value", json=_body(emu))
        # stop() would interrupt the delay (see the test below): wait for the request to end.
        _wait_for(lambda: len(emu.requests()) == 1)
    finally:
        emu.stop()
    assert emu.requests()[0]["status"] == 201
    assert len(emu.backend.instance_ids()) == 1
    assert _emulator_threads() == []


def _wait_for(condition: Callable[[], bool]) -> None:
    """Poll a condition that a server thread makes true; the pytest timeout bounds the wait."""
    while not condition():
        time.sleep(0.01)


def test_stop_interrupts_a_delayed_request_which_is_not_carried_out() -> None:
    """stop() does not wait out an hour-long delay: the request answers 503, creates nothing."""
    settings = EmulatorSettings(data_plane=False, rate_limits=RateLimitSettings.unlimited())
    emu = Emulator(settings).start()
    outcome: list[httpx.Response | Exception] = []

    def post() -> None:
        try:
            with _client(emu, timeout=60) as client:
                outcome.append(client.post("/key-value", json=_body(emu)))
        except httpx.TransportError as error:  # stop() also closes the connection
            outcome.append(error)

    try:
        emu.inject_fault("POST", "/v1/key-value", delay=3600)
        request = threading.Thread(target=post)
        request.start()
        _wait_for(lambda: emu.faults.pending() == [])  # taken: the request is in its delay
    finally:
        emu.stop()
    request.join()
    assert emu.backend.instance_ids() == []
    [entry] = emu.requests()
    assert (entry["status"], entry["fault"]) == (503, "delay")
    assert len(outcome) == 1
    assert _emulator_threads() == []


def test_stop_closes_idle_keep_alive_connections_and_threads() -> None:
    """stop() returns promptly even with a client holding a keep-alive connection open."""
    emu = Emulator(EmulatorSettings(data_plane=False)).start()
    client = _client(emu)
    try:
        assert client.get("/owners").status_code == 200
        assert _emulator_threads() != []
        started = time.monotonic()
        emu.stop()
        assert time.monotonic() - started < 5
        assert _emulator_threads() == []
    finally:
        client.close()
        emu.stop()


def test_stop_is_idempotent_and_frees_the_port() -> None:
    """A second stop() is a no-op; the port accepts no more connections."""
    emu = Emulator(EmulatorSettings(data_plane=False)).start()
    url = emu.url
    emu.stop()
    emu.stop()
    with pytest.raises(httpx.ConnectError):
        httpx.get(url + "/owners", headers={"Authorization": "Bearer x"}, timeout=2)


def test_url_before_start_and_restart_are_refused() -> None:
    """url needs start(); a stopped emulator cannot be restarted."""
    emu = Emulator(EmulatorSettings(data_plane=False))
    with pytest.raises(RuntimeError, match="emulator not started"):
        _ = emu.url
    emu.start()
    with pytest.raises(RuntimeError, match="already started"):
        emu.start()
    emu.stop()
    assert _emulator_threads() == []


def test_a_busy_port_raises_oserror_and_stops_the_emulator(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """werkzeug's sys.exit(1) on a failed bind becomes OSError; `with` still cleans up."""
    plane = FakeDataPlane()
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen(1)
        port = busy.getsockname()[1]
        settings = EmulatorSettings(port=port, data_plane=False)
        with pytest.raises(OSError, match=f"cannot listen on 127.0.0.1:{port}"):  # noqa: SIM117
            with Emulator(settings, data_plane=plane):
                pytest.fail("__enter__ should have raised")
    assert plane.closed  # stop() ran although __exit__ never did
    assert _emulator_threads() == []
    assert capsys.readouterr().err == ""  # werkzeug's own message is not printed


def test_a_failing_data_plane_leaves_no_temp_dir(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The default data dir (it will hold a CA key) goes when the data plane cannot start."""
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    settings = EmulatorSettings(server_binary=str(tmp_path / "no-such-server"))
    with pytest.raises(Exception, match="not found or is not executable"):
        Emulator(settings)
    assert list(tmp_path.iterdir()) == []
