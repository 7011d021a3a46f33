"""Each connection's first bytes: its request head read, then answered here or handed to picows.

A listener's connections are mostly REST requests, a connection each (one request per
connection, no keep-alive). picows' server protocol costs a connection some 50 µs before
it has read a byte (its constructor, and on ``connection_made`` two socket options set and
four read back for a log line, a child logger and its transport), all of it for a
WebSocket that a REST request never opens: as much as the rest of a 1,000-level depth
answer costs. So every connection starts on the ``FrontDoor``, a plain asyncio protocol:

- it reads the request head (``http_head.RequestHead``): a head too long, not GET, not
  HTTP/1.1 or that picows' parser refuses is answered with its refusal and closed
  (``http_head``);
- a request that does not ask to upgrade (REST, the control paths, a stream path asked
  without ``Upgrade``) is routed and answered here, the bytes picows would write, as one
  writev, and closed (``picows_server.plain_answer``);
- an upgrade is handed over: picows' protocol (``picows_server.PeerAwareProtocol``) is
  built, takes the transport (``set_protocol``, then its own ``connection_made``) and is
  given every byte that came so far, from the head on, as if it had read them itself. From
  there on the connection is picows' alone, at picows' cost per read.

A head must be complete within ``HEAD_TIMEOUT_MS`` of the connection (on the listener's
clock; picows' own handshake timeout, 5 s, for the same purpose): a client that opens a
connection and sends nothing, or a head a byte at a time, is closed, so it holds a
descriptor for seconds, not for ever. The bytes kept meanwhile are bounded by the head's
(16 KiB, ``http_head.MAX_HEAD_BYTES``) plus one read.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Callable
from typing import cast

from tickerplant.clock import Clock, Timer
from tickerplant.gateway.acceptor import Acceptor, bind
from tickerplant.gateway.http_head import Refusal, RequestHead
from tickerplant.gateway.memory_trim import AllocatorTrim
from tickerplant.gateway.picows_server import (
    BACKLOG,
    PeerAwareProtocol,
    PeerRouter,
    asks_to_upgrade,
    checked_head,
    plain_answer,
)
from tickerplant.protocol.limits import LimitCounters

__all__ = ["HEAD_TIMEOUT_MS", "FrontDoor", "serve"]

HEAD_TIMEOUT_MS = 5_000  # picows' handshake timeout: a request head is complete by then


class FrontDoor(asyncio.Protocol):
    """One connection until its request head is read (see the module's docstring)."""

    __slots__ = (
        "_accepted", "_clock", "_head", "_logger", "_router", "_timer", "_transport",
        "counters", "peer_ip", "trim",
    )  # fmt: skip

    def __init__(
        self,
        router: PeerRouter,
        logger: logging.Logger,
        counters: LimitCounters,
        clock: Clock,
        trim: AllocatorTrim | None = None,
        accepted: Callable[[int], None] | None = None,
    ) -> None:
        self.peer_ip = "?"
        self.counters = counters
        self.trim = trim  # counts connections to give memory back after a wave of them
        self._router = router
        self._logger = logger  # picows', for an upgraded connection
        self._clock = clock
        self._accepted = accepted  # told each connection's descriptor (acceptor.Acceptor)
        self._head: RequestHead | None = RequestHead()  # until the head is complete
        self._transport: asyncio.Transport | None = None
        self._timer: Timer | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = cast(asyncio.Transport, transport)  # uvloop's is not a subclass
        peer = transport.get_extra_info("peername")
        self.peer_ip = str(peer[0]) if peer else "?"
        if self._accepted is not None:
            sock = transport.get_extra_info("socket")
            if sock is not None:
                self._accepted(sock.fileno())
        if self.trim is not None:
            self.trim.opened()
        clock = self._clock
        self._timer = clock.call_at(clock.now_ms() + HEAD_TIMEOUT_MS, self._timed_out)

    def data_received(self, data: bytes) -> None:
        head = self._head
        transport = self._transport
        if head is None or transport is None:
            return  # answered and closing: what else comes is not read
        outcome = head.receive(data)
        if outcome is None:
            return
        self._head = None
        self._stop_timer()
        checked = outcome if isinstance(outcome, Refusal) else checked_head(outcome)
        if isinstance(checked, Refusal):
            self.counters.head_refused(checked.status)
            transport.write(checked.to_bytes())
            transport.close()
            return
        if not asks_to_upgrade(checked):
            transport.writelines(plain_answer(self._router(checked, self.peer_ip), checked))
            transport.close()
            return
        self._hand_over(transport, head.received)

    def eof_received(self) -> bool:
        return False  # the transport closes itself: a request head never ends the input

    def connection_lost(self, exc: Exception | None) -> None:
        self._stop_timer()
        self._head = None
        self._transport = None
        if self.trim is not None:
            self.trim.closed()

    def _hand_over(self, transport: asyncio.Transport, received: bytes) -> None:
        """picows takes the connection: it reads ``received`` (the head and whatever came
        after it) as if from the socket, then the socket itself."""
        ws = PeerAwareProtocol(self._router, self._logger, self.counters, self.peer_ip, self.trim)
        self.trim = None  # counted closed by picows' protocol, whose connection it is now
        self._transport = None
        transport.set_protocol(ws)
        # uvloop chose its read callback when reading started, for a protocol that takes
        # bytes: it would go on reading into its own buffer and feed picows a copy of each
        # read through Python. Reading restarted, it reads into picows' buffer (asyncio's
        # transports switch on set_protocol; for them this is a no-op).
        transport.pause_reading()
        transport.resume_reading()
        ws.connection_made(transport)
        view = memoryview(received)
        while view:
            space = ws.get_buffer(len(view))
            n = min(len(space), len(view))
            space[:n] = view[:n]
            ws.buffer_updated(n)
            view = view[n:]

    def _timed_out(self) -> None:
        self._timer = None
        transport = self._transport
        if self._head is not None and transport is not None:
            self._head = None
            transport.close()

    def _stop_timer(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None


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
) -> Acceptor:
    """Listen on host:port; each HTTP request is answered by ``router(request, peer_ip)``;
    a client that comes when no file descriptor is left is answered 503 (``acceptor``)."""
    sockets = bind(host, port, backlog=BACKLOG, reuse_port=reuse_port)

    def accepted(fd: int) -> None:
        acceptor.accepted(fd)

    protocol = functools.partial(FrontDoor, router, logger, counters, clock, trim, accepted)
    acceptor = Acceptor(sockets, protocol, clock, gateway_log, counters, backlog=BACKLOG)
    await acceptor.start()
    return acceptor
