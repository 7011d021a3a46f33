"""A free loopback port, for listeners whose port 0 means something else (``--admin-port 0``
turns the admin listener off) or that run in another process."""

from __future__ import annotations

import socket


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])
