"""Where the data plane listens: a loopback address, and free ports on it.

A free port is only a hint: another program may take it before the server binds it, which is
why ``DataPlane`` retries a start that lost such a race.
"""

from __future__ import annotations

import ipaddress
import socket

from ._loop_server import socket_family
from .plane import DataPlaneError

__all__ = ["free_port", "loopback", "port_is_free", "socket_family"]


def loopback(host: str) -> str:
    """``host`` if it is a loopback IP address; the data plane never listens anywhere else."""
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        address = None
    if address is None or not address.is_loopback:
        raise DataPlaneError(
            f"The data plane binds loopback only (its internal endpoint has no password), not "
            f"{host!r}: pass host='127.0.0.1' or '::1'. The HTTP API's address is separate."
        )
    return str(address)


def free_port(host: str) -> int:
    """A port the kernel considers free right now (the server may still lose a race for it)."""
    with socket.socket(socket_family(host), socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
        return port


def port_is_free(host: str, port: int) -> bool:
    """Whether ``port`` can be bound on ``host`` now (to reuse an instance's old port)."""
    with socket.socket(socket_family(host), socket.SOCK_STREAM) as sock:
        # As the server binds: TIME_WAIT leftovers of the previous run do not block the port.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
        return True
