"""Just enough RESP for a diagnosis: encode a command, read one reply, parse INFO. Pure.

The doctor speaks RESP itself rather than through a client library: it must see each step
(the first bytes a server sends, an error line as written) that a library would hide behind
retries and reconnects.
"""

from __future__ import annotations

from dataclasses import dataclass

# Replies larger than this are not read to the end (INFO is a few KiB).
MAX_REPLY = 1024 * 1024


@dataclass(frozen=True)
class Reply:
    """One reply: ``kind`` is ``+``, ``-``, ``:``, ``$`` (bulk; None for a null bulk) or ``*``."""

    kind: str
    value: str | None

    @property
    def is_error(self) -> bool:
        return self.kind == "-"


class Incomplete(Exception):
    """More bytes are needed."""


class NotResp(Exception):
    """The bytes are no RESP reply (a TLS record, say); ``data`` holds what came."""

    def __init__(self, data: bytes) -> None:
        super().__init__(f"not a RESP reply: {data[:16]!r}")
        self.data = data


def encode(*args: str | bytes) -> bytes:
    """A command as a RESP array of bulk strings."""
    out = [b"*%d\r\n" % len(args)]
    for arg in args:
        data = arg.encode() if isinstance(arg, str) else arg
        out.append(b"$%d\r\n%s\r\n" % (len(data), data))
    return b"".join(out)


def parse(data: bytes) -> tuple[Reply, int]:
    """The first reply in ``data`` and how many bytes it took; :class:`Incomplete` if cut."""
    if not data:
        raise Incomplete
    kind = chr(data[0])
    if kind not in "+-:$*":
        raise NotResp(data)
    end = data.find(b"\r\n")
    if end < 0:
        if len(data) > MAX_REPLY:
            raise NotResp(data)
        raise Incomplete
    head = data[1:end].decode("utf-8", errors="replace")
    if kind in "+-:":
        return Reply(kind, head), end + 2
    try:
        length = int(head)
    except ValueError:
        raise NotResp(data) from None
    if kind == "*":
        # Arrays (HELLO's, say) are read element by element; only their count is kept.
        offset = end + 2
        for _ in range(max(length, 0)):
            _, used = parse(data[offset:])
            offset += used
        return Reply("*", str(length)), offset
    if length < 0:
        return Reply("$", None), end + 2
    stop = end + 2 + length
    if len(data) < stop + 2:
        raise Incomplete
    return Reply("$", data[end + 2 : stop].decode("utf-8", errors="replace")), stop + 2


def parse_info(text: str) -> dict[str, str]:
    """``INFO``'s ``key:value`` lines as a dict (section headers and blanks skipped)."""
    info: dict[str, str] = {}
    for line in text.splitlines():
        if not line or line.startswith("#") or ":" not in line:
            continue
        key, value = line.split(":", 1)
        info[key.strip()] = value.strip()
    return info
