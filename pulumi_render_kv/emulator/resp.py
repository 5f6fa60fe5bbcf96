"""RESP framing for the TLS gate: requests read from a byte stream, and the frames it writes.

The gate reads client requests only until the client is authenticated; after that it pipes
bytes without looking at them. So this module parses what Redis/Valkey accept *as requests*
(RESP2 multibulk ``*<n>`` of ``$<len>`` bulk strings, and inline commands ``PING\\r\\n``; RESP3
changes replies, not requests) and encodes the few frames the gate sends: a multibulk request
(the credentials it forwards) and simple-string / error replies.

Pure and synchronous: no sockets, no clock. Limits are arguments, so that the pre-AUTH phase can
be strict (an unauthenticated client must not make the gate buffer much) the way Redis is strict
with unauthenticated clients.
"""

from __future__ import annotations

from collections.abc import Iterable

# Redis accepts up to 64 KiB inline and refuses an unterminated `*`/`$` header much sooner; the
# gate's pre-AUTH defaults are stricter still (credentials are short).
DEFAULT_MAX_ARGS = 32
DEFAULT_MAX_BULK = 16 * 1024
# A `*<n>` or `$<len>` header longer than this without CRLF cannot be a number Redis accepts.
_MAX_HEADER = 32


class ProtocolError(ValueError):
    """The client's bytes are not a RESP request (the message is Redis's wording)."""


def parse_request(
    buffer: bytes | bytearray,
    *,
    max_args: int = DEFAULT_MAX_ARGS,
    max_bulk: int = DEFAULT_MAX_BULK,
) -> tuple[list[bytes], int] | None:
    """One request (multibulk or inline) from the front of ``buffer``.

    Returns the arguments and the number of bytes used, or None when more bytes are needed.
    An empty request (a blank line, ``*0``) has no arguments; callers skip it, as Redis does.
    Raises ProtocolError for bytes Redis would reject, or that exceed the limits.
    """
    parsed = _scan(buffer, max_args, max_bulk)
    return None if isinstance(parsed, int) else parsed


def _scan(buffer: bytes | bytearray, max_args: int, max_bulk: int) -> tuple[list[bytes], int] | int:
    """Like parse_request, but an incomplete request gives the buffer length it needs at least."""
    if not buffer:
        return 1
    if buffer[:1] != b"*":
        return _parse_inline(buffer, max_bulk)
    header = _line(buffer, 0, "invalid multibulk length")
    if header is None:
        return len(buffer) + 1
    count = _parse_int(buffer[1:header], "invalid multibulk length")
    if count > max_args:
        raise ProtocolError("invalid multibulk length")
    position = header + 2
    args: list[bytes] = []
    for _ in range(max(count, 0)):
        parsed = _parse_bulk(buffer, position, max_bulk)
        if isinstance(parsed, int):
            return parsed
        arg, position = parsed
        args.append(arg)
    return args, position


class RequestParser:
    """Requests from a stream fed in pieces of any size (TLS records rarely match requests).

    ``feed`` the bytes as they arrive, then call ``next`` until it returns None (more bytes
    needed). What was fed but not parsed stays buffered; ``take_rest`` hands it over when the
    gate stops parsing (after AUTH the remaining bytes go to the server untouched).
    """

    def __init__(self, *, max_args: int = DEFAULT_MAX_ARGS, max_bulk: int = DEFAULT_MAX_BULK):
        self._buffer = bytearray()
        self._max_args = max_args
        self._max_bulk = max_bulk
        # Bytes the buffer must hold before a new parse can succeed: a bulk string split
        # across many reads is then scanned once more when complete, not on every read.
        self._needed = 0

    @property
    def buffered(self) -> int:
        """How many bytes were fed and not yet returned as requests."""
        return len(self._buffer)

    def feed(self, data: bytes) -> None:
        self._buffer += data

    def next(self) -> list[bytes] | None:
        """The next complete request, or None until more bytes are fed.

        Raises ProtocolError; the stream cannot be resynchronised after it (Redis closes).
        """
        if len(self._buffer) < self._needed:
            return None
        parsed = _scan(self._buffer, self._max_args, self._max_bulk)
        if isinstance(parsed, int):
            self._needed = parsed
            return None
        args, used = parsed
        del self._buffer[:used]
        self._needed = 0
        return args

    def take_rest(self) -> bytes:
        """Every byte fed and not parsed, leaving the parser empty."""
        rest = bytes(self._buffer)
        self._buffer.clear()
        self._needed = 0
        return rest


def encode_request(args: Iterable[bytes]) -> bytes:
    """A RESP multibulk request."""
    parts = [b"$%d\r\n%s\r\n" % (len(arg), arg) for arg in args]
    return b"*%d\r\n" % len(parts) + b"".join(parts)


def simple_string(text: bytes) -> bytes:
    """A ``+`` reply (the same frame in RESP2 and RESP3)."""
    return _one_line(b"+", text)


def error(text: bytes) -> bytes:
    """A ``-`` error reply; ``text`` starts with the error code (``ERR``, ``NOAUTH``, ...)."""
    return _one_line(b"-", text)


def _one_line(kind: bytes, text: bytes) -> bytes:
    if b"\r" in text or b"\n" in text:
        raise ValueError("a one-line RESP reply cannot contain CR or LF")
    return kind + text + b"\r\n"


def _parse_inline(buffer: bytes | bytearray, max_size: int) -> tuple[list[bytes], int] | int:
    end = buffer.find(b"\n")
    if end < 0:
        if len(buffer) > max_size:
            raise ProtocolError("too big inline request")
        return len(buffer) + 1
    return [bytes(part) for part in bytes(buffer[:end]).split()], end + 1


def _parse_bulk(buffer: bytes | bytearray, position: int, max_bulk: int) -> tuple[bytes, int] | int:
    """The bulk string (``$<len>`` CRLF bytes CRLF) at ``position``, and the position after it.

    While incomplete: the buffer length needed at least, which is exact once the header is in.
    """
    if position >= len(buffer):
        return position + 1
    if buffer[position : position + 1] != b"$":
        found = bytes(buffer[position : position + 1]).decode("latin-1")
        raise ProtocolError(f"expected '$', got '{found}'")
    line_end = _line(buffer, position, "invalid bulk length")
    if line_end is None:
        return len(buffer) + 1
    length = _parse_int(buffer[position + 1 : line_end], "invalid bulk length")
    if not 0 <= length <= max_bulk:
        raise ProtocolError("invalid bulk length")
    start = line_end + 2
    stop = start + length
    if len(buffer) < stop + 2:
        return stop + 2
    if buffer[stop : stop + 2] != b"\r\n":
        raise ProtocolError("invalid bulk terminator")
    return bytes(buffer[start:stop]), stop + 2


def _line(buffer: bytes | bytearray, position: int, message: str) -> int | None:
    """Where the header line at ``position`` ends; None while incomplete (and plausibly short)."""
    end = buffer.find(b"\r\n", position)
    if end < 0 and len(buffer) - position > _MAX_HEADER:
        raise ProtocolError(message)
    return None if end < 0 else end


def _parse_int(raw: bytes | bytearray, message: str) -> int:
    try:
        return int(raw)
    except ValueError:
        raise ProtocolError(message) from None
