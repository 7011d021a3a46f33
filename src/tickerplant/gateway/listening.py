"""A market listener's sockets: each connection accepted (``acceptor``) starts on a
``FrontDoor`` (``front_door``), which answers its REST requests and hands an upgrade to
picows."""

from __future__ import annotations

import functools
import logging
import socket
from collections.abc import Iterable
from ssl import SSLContext

from tickerplant.clock import Clock
from tickerplant.gateway.acceptor import Acceptor, bind
from tickerplant.gateway.front_door import FrontDoor
from tickerplant.gateway.guarded_route import guarded
from tickerplant.gateway.memory_trim import AllocatorTrim
from tickerplant.gateway.picows_server import BACKLOG, PeerRouter
from tickerplant.gateway.rest_turns import RestTurns
from tickerplant.gateway.traffic import Traffic
from tickerplant.market.instruments import Market
from tickerplant.protocol.limits import LimitCounters

__all__ = ["release", "reserve", "serve"]


def reserve(host: str, port: int, which: Market | str, *, reuse_port: bool = False) -> list[socket.socket]:
    """The ``host:port`` of ``which`` listener (a market's, or "admin"), bound, not yet
    listening (``serve`` listens on it, or the admin listener): a port another process holds
    is refused here, naming the listener and where, so a server can be told before it starts
    anything else (a simulator's warm start is seconds); until it listens, a connection to it
    is refused as to no listener."""
    try:
        return bind(host, port, BACKLOG, reuse_port=reuse_port, listen=False)
    except OSError as exc:  # "Address already in use": which of the listeners, which address
        name = which if isinstance(which, str) else "USDⓈ-M" if which is Market.UM else "COIN-M"
        raise OSError(exc.errno, f"the {name} listener on {host}:{port}: {exc.strerror}") from exc


def release(bound: Iterable[list[socket.socket]]) -> None:
    """Close what ``reserve`` bound and no listener opened (a server's start that failed)."""
    for sockets in bound:
        for sock in sockets:
            sock.close()


async def serve(
    router: PeerRouter,
    sockets: list[socket.socket],
    *,
    logger: logging.Logger,
    clock: Clock,
    gateway_log: logging.Logger,
    counters: LimitCounters,
    trim: AllocatorTrim | None = None,
    doors: set[FrontDoor] | None = None,
    traffic: Traffic | None = None,
    ssl: SSLContext | None = None,
    turns: RestTurns | None = None,
) -> Acceptor:
    """Listen on ``sockets`` (``reserve``'s); each HTTP request is answered by ``router(request,
    peer_ip)`` (one that raises: 503 ``-1000``, ``guarded_route``);
    a client that comes when no file descriptor is left is answered 503 (``acceptor``).
    ``doors`` collects the connections between requests (``FrontDoor``'s); ``ssl``: TLS on
    every connection (``tls.server_context``); ``turns``: the loop's REST budget per turn,
    which every connection's answers share (``rest_turns``)."""
    for sock in sockets:
        sock.listen(BACKLOG)

    def accepted(fd: int) -> None:
        acceptor.accepted(fd)

    answer = guarded(router, clock, gateway_log)  # a route that raises is answered, not the line stopped
    protocol = functools.partial(
        FrontDoor, answer, logger, counters, clock, trim, accepted, doors, traffic, turns
    )
    acceptor = Acceptor(sockets, protocol, clock, gateway_log, counters, backlog=BACKLOG, ssl=ssl)
    await acceptor.start()
    return acceptor
