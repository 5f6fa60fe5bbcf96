"""URLs, RESP, stack outputs, endpoint choice and the --watch loop: pure, no sockets."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from pulumi_render_kv.doctor import Runtime, _resp, run
from pulumi_render_kv.doctor._api import TargetError
from pulumi_render_kv.doctor._facts import Context, InstanceFacts, Observation, Probe, Tcp
from pulumi_render_kv.doctor._targets import (
    choose_url,
    stack_outputs,
    url_kind,
    urls_in_outputs,
)
from pulumi_render_kv.doctor._urls import UrlError, instance_id_of, parse_url
from pulumi_render_kv.doctor._watch import sample_line, watch

ID = "red-abcdefghij0123456789"
PASSWORD = "p@ss:w/rd"


def test_a_url_masks_its_password_and_keeps_the_rest() -> None:
    url = parse_url(f"rediss://{ID}:p%40ss%3Aw%2Frd@oregon-keyvalue.render.com:6379")
    assert url.password == PASSWORD
    assert url.masked() == f"rediss://{ID}:***@oregon-keyvalue.render.com:6379"
    assert PASSWORD not in repr(url)
    assert parse_url(url.reveal()) == url
    assert instance_id_of(url) == ID
    assert parse_url(f"redis://{ID}:6379").masked() == f"redis://{ID}:6379"
    assert instance_id_of(parse_url(f"redis://{ID}")) == ID
    assert parse_url("redis://[::1]:7000").address == "[::1]:7000"


@pytest.mark.parametrize(
    "text", ["http://x:secretpw@host", "secretpw", "redis://:secretpw@", "redis://u:secretpw@h:x"]
)
def test_a_bad_url_is_refused_without_quoting_its_password(text: str) -> None:
    with pytest.raises(UrlError) as caught:
        parse_url(text)
    assert "secretpw" not in str(caught.value)


def test_url_kind_by_instance_then_by_shape() -> None:
    internal = parse_url("redis://127.0.0.1:7001")
    external = parse_url(f"rediss://{ID}:pw@127.0.0.1:7002")
    kv = InstanceFacts(
        id=ID,
        name="n",
        plan="starter",
        region="oregon",
        status="available",
        maxmemory_policy=None,
        persistence_mode=None,
        allow_list=(),
        version=None,
        internal_url=internal,
        external_url=external,
    )
    assert url_kind(internal, kv) == "internal"
    assert url_kind(external.with_scheme("redis"), kv) == "external"
    assert url_kind(internal, None) == "unknown"
    assert url_kind(parse_url(f"redis://{ID}:6379"), None) == "internal"
    assert url_kind(parse_url("redis://oregon-keyvalue.render.com:6379"), None) == "external"
    # auto: internal where it resolves, else external
    assert choose_url(kv, "auto", lambda host: True)[0] == internal
    render_like = InstanceFacts(**{**kv.__dict__, "internal_url": parse_url(f"redis://{ID}")})
    chosen, why = choose_url(render_like, "auto", lambda host: False)
    assert chosen == external
    assert "outside Render's private network" in why
    assert choose_url(kv, "external", lambda host: True)[0] == external


def test_the_quickstarts_outputs_give_its_three_urls() -> None:
    outputs = {
        "REDIS_URL": f"redis://{ID}:6379",
        "REDIS_HOST": ID,
        "REDIS_PORT": 6379,
        "QUEUE_URL": "redis://red-bbbbbbbbbbbbbbbbbbbb:6379",
        "QUEUE_EXTERNAL_URL": "rediss://red-bbbbbbbbbbbbbbbbbbbb:pw@oregon-keyvalue.render.com",
        "imported": {"cache.connectionString": "redis://red-cccccccccccccccccccc:6379"},
        "not_a_url": "rediss//nope",
    }
    found = {name: url.masked() for name, url in urls_in_outputs(outputs)}
    assert found == {
        "REDIS_URL": f"redis://{ID}:6379",
        "QUEUE_URL": "redis://red-bbbbbbbbbbbbbbbbbbbb:6379",
        "QUEUE_EXTERNAL_URL": "rediss://red-bbbbbbbbbbbbbbbbbbbb:***@oregon-keyvalue.render.com:6379",
        "imported.cache.connectionString": "redis://red-cccccccccccccccccccc:6379",
    }


def test_stack_without_a_pulumi_cli_is_a_clear_error() -> None:
    with pytest.raises(TargetError, match="no `pulumi` on PATH"):
        stack_outputs("dev", which=lambda name: None)


def test_resp_replies_and_info() -> None:
    assert _resp.encode("AUTH", "u", "p") == b"*3\r\n$4\r\nAUTH\r\n$1\r\nu\r\n$1\r\np\r\n"
    assert _resp.parse(b"+PONG\r\n") == (_resp.Reply("+", "PONG"), 7)
    assert _resp.parse(b"-NOAUTH Authentication required.\r\nrest")[0].is_error
    assert _resp.parse(b"$5\r\nhello\r\n") == (_resp.Reply("$", "hello"), 11)
    assert _resp.parse(b"$-1\r\n")[0].value is None
    assert _resp.parse(b"*2\r\n:1\r\n+x\r\n") == (_resp.Reply("*", "2"), 12)
    for cut in (b"$5\r\nhel", b"+PON", b"*2\r\n:1\r\n"):
        with pytest.raises(_resp.Incomplete):
            _resp.parse(cut)
    with pytest.raises(_resp.NotResp):
        _resp.parse(b"\x15\x03\x03\x00\x02\x02\x46")  # a TLS alert record
    text = "# Server\r\nredis_version:7.0.15\r\n\r\n# Memory\r\nused_memory:1024\r\n"
    assert _resp.parse_info(text) == {"redis_version": "7.0.15", "used_memory": "1024"}


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def test_watch_keeps_to_its_schedule_with_a_slow_sample() -> None:
    clock = FakeClock()
    written: list[str] = []

    def sample() -> list[str]:
        clock.now += 0.5  # each sample takes half a second
        return [f"t={clock.now:g}"]

    taken = watch(
        sample, interval=2.0, count=3, clock=clock, sleep=clock.sleep, write=written.append
    )
    assert taken == 3
    assert written == ["t=100.5", "t=102.5", "t=104.5"]
    assert clock.sleeps == [1.5, 1.5]


def test_watch_stops_on_ctrl_c() -> None:
    clock = FakeClock()

    def interrupted(seconds: float) -> None:
        raise KeyboardInterrupt

    taken = watch(
        lambda: ["x"], interval=1, count=0, clock=clock, sleep=interrupted, write=lambda _: None
    )
    assert taken == 1


def test_sample_line_shows_memory_share_and_counters() -> None:
    probe = Probe(
        url=parse_url("redis://127.0.0.1:1"),
        tcp=Tcp.CONNECTED,
        info={
            "used_memory": str(23 * 1024 * 1024),
            "maxmemory": str(25 * 1024 * 1024),
            "connected_clients": "4",
            "evicted_keys": "0",
            "rejected_connections": "0",
            "instantaneous_ops_per_sec": "12",
        },
    )
    obs = Observation(context=Context(label="QUEUE_URL"), probe=probe)
    line = sample_line(obs, datetime(2026, 12, 4, 21, 40, 5, tzinfo=UTC))
    assert line == (
        "21:40:05 QUEUE_URL: memory 23.0 MB (92% of 25 MB), clients 4, evicted 0, "
        "rejected 0, ops/s 12"
    )


@pytest.mark.parametrize(
    "argv",
    [
        ["--url", "redis://h", "--watch", "5", "--json"],
        ["--url", "redis://h", "--watch", "0"],
        ["--url", "redis://h", "--timeout", "0"],
        ["--url", "redis://h", "--workload", "queues"],
    ],
)
def test_bad_options_exit_2(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as caught:
        run(["doctor", *argv], Runtime(environ={}, write=lambda _: None))
    assert caught.value.code == 2
    assert "render-kv doctor: error:" in capsys.readouterr().err
