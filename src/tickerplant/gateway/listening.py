"""A market listener's sockets: each connection accepted (``acceptor``) starts on a
``FrontDoor`` (``front_door``), which answers its REST requests and hands an upgrade to
picows."""

from __future__ import annotations

import functools
import logging
from ssl import SSLContext

from tickerplant.clock import Clock
from tickerplant.gateway.acceptor import Acceptor, bind
from tickerplant.gateway.front_door import FrontDoor
from tickerplant.gateway.guarded_route import guarded
from tickerplant.gateway.memory_trim import AllocatorTrim
from tickerplant.gateway.picows_server import BACKLOG, PeerRouter
from tickerplant.gateway.rest_turns import RestTurns
from tickerplant.gateway.traffic import Traffic
from tickerplant.protocol.limits import LimitCounters

__all__ = ["serve"]


async def serve(
    router: PeerRouter,
    host: str,
    port: int,
    *,
    logger: logging.Logger,
    clock: Clock,
    gateway_log: logging.Logger,
    counters: LimitCounters,
    trim: AllocatorTrim | None = None,
    reuse_port: bool = False,
    doors: set[FrontDoor] | None = None,
    traffic: Traffic | None = None,
    ssl: SSLContext | None = None,
    turns: RestTurns | None = None,
) -> Acceptor:
    """Listen on host:port; each HTTP request is answered by ``router(request, peer_ip)``
    (one that raises: 503 ``-1000``, ``guarded_route``);
    a client that comes when no file descriptor is left is answered 503 (``acceptor``).
    ``doors`` collects the connections between requests (``FrontDoor``'s); ``ssl``: TLS on
    every connection (``tls.server_context``); ``turns``: the loop's REST budget per turn,
    which every connection's answers share (``rest_turns``)."""
    sockets = bind(host, port, backlog=BACKLOG, reuse_port=reuse_port)

    def accepted(fd: int) -> None:
        acceptor.accepted(fd)

    answer = guarded(router, clock, gateway_log)  # a route that raises is answered, not the line stopped
    protocol = functools.partial(
        FrontDoor, answer, logger, counters, clock, trim, accepted, doors, traffic, turns
    )
    acceptor = Acceptor(sockets, protocol, clock, gateway_log, counters, backlog=BACKLOG, ssl=ssl)
    await acceptor.start()
    return acceptor
