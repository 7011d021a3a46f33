"""Names under ``.localhost`` resolved to this machine's loopback, as RFC 6761 §6.3 asks of
resolvers and as systemd's do (``nss-myhostname``, ``systemd-resolved``): glibc's own
``files dns`` lookup, which test machines often have, answers no such name, and a test may
not write ``/etc/hosts`` (docs/venue.md's other way to name them).

Only Python's ``socket.getaddrinfo`` learns them, so a client reaches them through it:
requests (ccxt's synchronous classes) and aiohttp on the standard asyncio loop do; uvloop's
resolver, in C, does not."""

from __future__ import annotations

import socket
from typing import Any

import pytest

__all__ = ["resolve_localhost_names"]


def resolve_localhost_names(monkeypatch: pytest.MonkeyPatch) -> None:
    """Until the test ends, every ``<name>.localhost`` resolves to 127.0.0.1."""
    real = socket.getaddrinfo

    def getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
        name = host.decode() if isinstance(host, bytes) else host
        if isinstance(name, str) and name.lower().rstrip(".").endswith(".localhost"):
            host = "127.0.0.1"
        return real(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
