"""A free loopback port, for listeners whose port 0 means something else (``--admin-port 0``
turns the admin listener off) or that run in another process.

The port is free when it is handed out, and the listener binds it a moment later. Under
pytest-xdist several workers pick ports at once, and every client socket they open takes an
ephemeral port (32768-60999 on Linux) from the same pool a ``bind(0)`` draws from: so ports
come from below that range instead, from a block of its own for each worker
(``PYTEST_XDIST_WORKER`` is ``gw0``, ``gw1``, ...), handed out in turn and checked by a bind.
"""

from __future__ import annotations

import itertools
import os
import socket

_FIRST = 20_000  # below every Linux default ephemeral range
_BLOCK = 1_000  # ports per worker: room for 12 workers under 32768


def _worker() -> int:
    name = os.environ.get("PYTEST_XDIST_WORKER", "gw0")
    return int(name[2:]) if name[2:].isdigit() else 0


_START = _FIRST + (_worker() % 12) * _BLOCK + os.getpid() % _BLOCK  # a rerun starts elsewhere
_CANDIDATES = itertools.cycle(
    [*range(_START, _FIRST + (_worker() % 12 + 1) * _BLOCK), *range(_FIRST + (_worker() % 12) * _BLOCK, _START)]
)


def free_port() -> int:
    for _ in range(_BLOCK):
        port = next(_CANDIDATES)
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue  # taken (by another run, or still in TIME_WAIT)
            return port
    raise RuntimeError(f"no free port in this worker's block ({_BLOCK} ports from {_START})")
