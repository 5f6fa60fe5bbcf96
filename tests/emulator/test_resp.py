"""RESP framing for the TLS gate: pure, no sockets (the gate itself is tested in test_dataplane)."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pulumi_render_kv.emulator.resp import (
    ProtocolError,
    RequestParser,
    encode_request,
    error,
    parse_request,
    simple_string,
)

AUTH = b"*2\r\n$4\r\nAUTH\r\n$3\r\npw1\r\n"


def _all(parser: RequestParser) -> list[list[bytes]]:
    found: list[list[bytes]] = []
    while (args := parser.next()) is not None:
        found.append(args)
    return found


def test_request_parser_handles_multibulk_inline_partial_and_garbage() -> None:
    """The pre-AUTH parser reads both RESP forms, waits for more bytes, rejects garbage."""
    assert parse_request(b"*2\r\n$4\r\nAUTH\r\n$3\r\npw1\r\n*1") == ([b"AUTH", b"pw1"], 23)
    assert parse_request(b"AUTH pw1\r\nPING") == ([b"AUTH", b"pw1"], 10)
    assert parse_request(b"*2\r\n$4\r\nAUTH\r\n$3\r\npw") is None
    with pytest.raises(ProtocolError, match="expected '\\$'"):
        parse_request(b"*1\r\n:12\r\n")
    with pytest.raises(ProtocolError, match="invalid bulk length"):
        parse_request(b"*1\r\n$999999999\r\n")


def test_a_request_fed_one_byte_at_a_time_comes_out_once_complete() -> None:
    parser = RequestParser()
    for byte in AUTH[:-1]:
        parser.feed(bytes([byte]))
        assert parser.next() is None
    parser.feed(AUTH[-1:])
    assert parser.next() == [b"AUTH", b"pw1"]
    assert parser.next() is None
    assert parser.buffered == 0


def test_pipelined_requests_come_out_in_order_and_the_partial_tail_stays() -> None:
    parser = RequestParser()
    parser.feed(AUTH + b"PING\r\n" + encode_request([b"SET", b"k", b"v"]) + b"*1\r\n$4\r\nPI")
    assert _all(parser) == [[b"AUTH", b"pw1"], [b"PING"], [b"SET", b"k", b"v"]]
    assert parser.take_rest() == b"*1\r\n$4\r\nPI"
    assert parser.buffered == 0
    assert parser.next() is None


def test_inline_commands_split_on_whitespace_and_blank_lines_are_empty_requests() -> None:
    parser = RequestParser()
    parser.feed(b"AUTH   default  secret\r\n\r\nPING\nQUIT\r\n")
    assert _all(parser) == [[b"AUTH", b"default", b"secret"], [], [b"PING"], [b"QUIT"]]


def test_a_bulk_string_split_across_reads_is_not_rescanned_until_complete() -> None:
    """Once the ``$<len>`` header is in, the parser knows how many bytes it waits for."""
    value = b"x" * 10_000
    frame = encode_request([b"AUTH", value])
    parser = RequestParser(max_bulk=len(value))
    parser.feed(frame[:100])
    assert parser.next() is None
    for start in range(100, len(frame) - 1, 1000):
        parser.feed(frame[start : min(start + 1000, len(frame) - 1)])
        assert parser.next() is None
    parser.feed(frame[-1:])
    assert parser.next() == [b"AUTH", value]


def test_a_payload_that_looks_like_a_header_does_not_confuse_the_wait() -> None:
    """Bytes inside a complete bulk string are data, even ``\\n$99\\r\\n``."""
    parser = RequestParser()
    parser.feed(b"*2\r\n$8\r\nab\n$99\r\n\r\n")
    assert parser.next() is None
    parser.feed(b"$1\r\nx\r\n")
    assert parser.next() == [b"ab\n$99\r\n", b"x"]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"*x\r\n", "invalid multibulk length"),
        (b"*1\r\n$x\r\n", "invalid bulk length"),
        (b"*1\r\n$-1\r\n", "invalid bulk length"),
        (b"*1\r\n$2\r\nabcd", "invalid bulk terminator"),
        (b"*1\r\n+OK\r\n", "expected '\\$', got '\\+'"),
        (b"*" + b"1" * 40, "invalid multibulk length"),  # a header that never ends
        (b"*1\r\n$" + b"1" * 40, "invalid bulk length"),
    ],
)
def test_malformed_requests_raise_redis_wording(data: bytes, message: str) -> None:
    parser = RequestParser()
    parser.feed(data)
    with pytest.raises(ProtocolError, match=message):
        parser.next()


def test_limits_on_arguments_bulk_size_and_inline_size() -> None:
    with pytest.raises(ProtocolError, match="invalid multibulk length"):
        parse_request(b"*3\r\n", max_args=2)
    assert parse_request(b"*2\r\n", max_args=2) is None
    with pytest.raises(ProtocolError, match="invalid bulk length"):
        parse_request(b"*1\r\n$5\r\n", max_bulk=4)
    assert parse_request(encode_request([b"1234"]), max_bulk=4) == ([b"1234"], 14)
    with pytest.raises(ProtocolError, match="too big inline request"):
        parse_request(b"A" * 17, max_bulk=16)
    assert parse_request(b"A" * 16, max_bulk=16) is None


def test_empty_and_null_multibulk_are_empty_requests() -> None:
    assert parse_request(b"*0\r\n") == ([], 4)
    assert parse_request(b"*-1\r\n") == ([], 5)
    assert parse_request(b"") is None


def test_reply_encoders_write_one_line_frames() -> None:
    assert simple_string(b"OK") == b"+OK\r\n"
    assert error(b"ERR nope") == b"-ERR nope\r\n"
    with pytest.raises(ValueError, match="CR or LF"):
        error(b"ERR two\r\nlines")
    assert encode_request([b"AUTH", b""]) == b"*2\r\n$4\r\nAUTH\r\n$0\r\n\r\n"


@given(
    requests=st.lists(st.lists(st.binary(max_size=40), min_size=1, max_size=5), max_size=6),
    cuts=st.lists(st.integers(min_value=0, max_value=600), max_size=10),
)
def test_any_split_of_a_stream_gives_back_the_encoded_requests(
    requests: list[list[bytes]], cuts: list[int]
) -> None:
    """However TLS records cut the stream, the parser yields exactly what was encoded."""
    stream = b"".join(encode_request(args) for args in requests)
    bounds = sorted({0, len(stream), *(cut for cut in cuts if cut < len(stream))})
    parser = RequestParser()
    found: list[list[bytes]] = []
    for start, stop in itertools.pairwise(bounds):
        parser.feed(stream[start:stop])
        found.extend(_all(parser))
    assert found == requests
    assert parser.buffered == 0
