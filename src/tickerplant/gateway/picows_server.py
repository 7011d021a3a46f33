"""The one place that reaches into picows' private server protocol.

picows' public ``ws_create_server`` hands the router only the upgrade request, but REST
weight is counted per IP (spec §7.1) and the WebSocket API's handshake costs the IP's
weight (§5.1): the router must know which address a request came from. So the listener
builds picows' ``WSProtocol`` itself, through the subclass below, which remembers the
peer's address on ``connection_made`` and passes it to the router with each request.

``WSProtocol`` is not part of picows' public API: its constructor arguments are named
here, once, as keywords (so a renamed or removed argument fails loudly, not silently
shifts), picows is pinned to the tested minor in ``pyproject.toml``, and
``tests/gateway/test_picows_server.py`` fails if the constructor changes.

REST and tickerplant's own HTTP endpoints share the router with the WebSocket upgrades:
every request is routed by the listener factory, and a plain GET is answered with the
factory's ``WSUpgradeResponse`` and no listener, after which the connection is closed (one
request per connection, no HTTP keep-alive), as picows answers a refused upgrade. A
request that did not ask to upgrade never reaches picows' handshake: the protocol below
has parsed its head already (with picows' own parser), so it routes it and writes the
answer itself, the bytes picows would write (``_plain_answer``); only upgrades go on to
picows. (A REST request, a connection each, spent some 20 µs in picows parsing the head a
second time and building and joining a response for one write.)

Before picows reads a request head, the protocol below reads it (``http_head``): a head
over picows' bound, a method other than GET, a version other than HTTP/1.1 or a head
picows' parser refuses is answered here with its own status and a short body, where
picows would close without a word or echo the request line. An upgrade asking for a
WebSocket version other than 13 gets 426 with ``Sec-WebSocket-Version: 13`` (RFC 6455
§4.2.2; picows takes 7 and 8 too). Once the head is complete, each read costs one Python
call more than picows' own (the override of ``buffer_updated``): per read, not per frame.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Callable, Sequence
from http import HTTPStatus
from typing import Any

from picows import (
    WSAutoPingStrategy,
    WSListener,
    WSUpgradeRequest,
    WSUpgradeResponse,
    WSUpgradeResponseWithListener,
)
from picows.picows import (  # type: ignore[attr-defined]
    WSProtocol,
    _parse_http_request,
    _validate_upgrade_request,
)

from tickerplant.clock import Clock
from tickerplant.gateway.acceptor import Acceptor, bind
from tickerplant.gateway.http_head import Refusal, RequestHead, head_refusal
from tickerplant.gateway.memory_trim import AllocatorTrim
from tickerplant.gateway.message_assembly import MAX_MESSAGE_BYTES
from tickerplant.protocol.limits import LimitCounters

__all__ = ["PeerRouter", "Routed", "protocol_arguments", "serve"]

Routed = WSListener | WSUpgradeResponseWithListener
PeerRouter = Callable[[WSUpgradeRequest, str], Routed | None]  # (request, peer IP) -> answer

_HANDSHAKE_TIMEOUT_S = 5.0
_MAX_FRAME_BYTES = MAX_MESSAGE_BYTES  # no frame larger than a whole message may be
_WS_VERSION = "13"  # the only version RFC 6455 defines (§4.1)
_READ_BUFFER_BYTES = 16 * 1024
_BACKLOG = 4096  # connections waiting to be accepted, per listening socket


def protocol_arguments(
    listener_factory: Callable[[WSUpgradeRequest], Routed | None], logger: logging.Logger
) -> dict[str, Any]:
    """``WSProtocol.__init__``'s arguments for the server side, by name."""
    return {
        "host_port": None,  # server side: no host to connect to
        "ws_path": None,  # ... and no path to request
        "is_client_side": False,
        "ws_listener_factory": listener_factory,
        "logger": logger,
        "disconnect_on_exception": True,  # an exception in a callback drops that connection
        "websocket_handshake_timeout": _HANDSHAKE_TIMEOUT_S,
        # The gateway keeps connections alive itself (spec §2.4, gateway/connection.py).
        "enable_auto_ping": False,
        "auto_ping_idle_timeout": 20.0,
        "auto_ping_reply_timeout": 20.0,
        "auto_ping_strategy": WSAutoPingStrategy.PING_WHEN_IDLE,
        "enable_auto_pong": False,  # pings count toward the message rate (§2.5): we answer them
        "max_frame_size": _MAX_FRAME_BYTES,
        "extra_headers": None,
        "read_buffer_init_size": _READ_BUFFER_BYTES,
    }


class PeerAwareProtocol(WSProtocol):  # type: ignore[misc]
    """picows' server protocol, telling the router which address a request came from."""

    def __init__(
        self,
        router: PeerRouter,
        logger: logging.Logger,
        counters: LimitCounters,
        trim: AllocatorTrim | None = None,
        accepted: Callable[[int], None] | None = None,
    ) -> None:
        self.peer_ip = "?"
        self._router = router
        self._accepted = accepted  # told each connection's descriptor (acceptor.Acceptor)
        self._counters = counters
        self._trim = trim  # counts connections to give memory back after a wave of them
        self._head: RequestHead | None = RequestHead()  # until the request head is complete
        super().__init__(**protocol_arguments(self._route, logger))

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        peer = transport.get_extra_info("peername")
        self.peer_ip = str(peer[0]) if peer else "?"
        if self._accepted is not None:
            sock = transport.get_extra_info("socket")
            if sock is not None:
                self._accepted(sock.fileno())
        if self._trim is not None:
            self._trim.opened()
        super().connection_made(transport)

    def connection_lost(self, exc: Exception | None) -> None:
        super().connection_lost(exc)
        if self._trim is not None:
            self._trim.closed()

    def buffer_updated(self, nbytes: int) -> None:
        head = self._head
        if head is not None:
            # picows' free space begins with what the loop just read into it.
            arrived = self.get_buffer(-1)[:nbytes]
            outcome = head.receive(arrived)
            if outcome is not None:
                self._head = None
                checked = outcome if isinstance(outcome, Refusal) else _checked(outcome)
                raw = self.transport.underlying_transport
                if isinstance(checked, Refusal):
                    self._counters.head_refused(checked.status)
                    raw.write(checked.to_bytes())
                    raw.close()
                    return
                if checked.headers.get("upgrade", "").lower() != "websocket":
                    # A plain request (REST, the control paths): answered here, as picows
                    # would answer it, without picows parsing the head a second time.
                    raw.writelines(_plain_answer(self._route(checked), checked))
                    raw.close()
                    return
        WSProtocol.buffer_updated(self, nbytes)

    def _route(self, request: WSUpgradeRequest) -> Routed | None:
        headers = request.headers
        upgrade = headers.get("upgrade", "").lower() == "websocket"
        if upgrade and headers.get("sec-websocket-version") != _WS_VERSION:
            self._counters.head_refused(426)
            extra = {"Sec-WebSocket-Version": _WS_VERSION, "Upgrade": "websocket"}  # RFC 9110 §15.5.22
            response = WSUpgradeResponse.create_error_response(426, b"WebSocket version 13 required\n", extra)
            return WSUpgradeResponseWithListener(response, None)
        return self._router(request, self.peer_ip)


def _checked(head: bytes) -> Refusal | WSUpgradeRequest:
    """A complete request head as picows parses it, or how it is refused before routing."""
    refusal = head_refusal(head)
    if refusal is not None:
        return refusal
    try:
        request: WSUpgradeRequest = _parse_http_request(head)
    except RuntimeError:  # what picows would answer with its exception's text
        return Refusal(400, b"Malformed request head\n")
    return request


def _plain_answer(routed: Routed | None, request: WSUpgradeRequest) -> Sequence[bytes]:
    """The bytes picows writes, before it closes the connection, for a request that did not
    ask to upgrade (``WSProtocol._negotiate``): the router's response; for a listener (a
    stream or WebSocket API path asked without ``Upgrade``), 400 with picows' reason; for
    None, 404. ``Connection: close`` is added to the response's fields, as picows adds it.
    A response that is kept in parts (``to_parts``: a depth answer around its shared
    levels) is written as its parts, one writev, not joined into one buffer first."""
    response: Any
    if isinstance(routed, WSUpgradeResponseWithListener):
        response = routed.response
    elif routed is None:
        response = WSUpgradeResponse.create_error_response(HTTPStatus.NOT_FOUND, b"404 Not Found")
    else:
        try:
            _validate_upgrade_request(request)
            reason = b"not an upgrade"  # unreachable: the request did not ask to upgrade
        except RuntimeError as exc:
            reason = str(exc).encode()
        response = WSUpgradeResponse.create_error_response(HTTPStatus.BAD_REQUEST, reason)
    response.headers["Connection"] = "close"
    to_parts = getattr(response, "to_parts", None)
    if to_parts is not None:
        parts: Sequence[bytes] = to_parts()
        return parts
    return (bytes(response.to_bytes()),)


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
    sockets = bind(host, port, backlog=_BACKLOG, reuse_port=reuse_port)

    def accepted(fd: int) -> None:
        acceptor.accepted(fd)

    protocol = functools.partial(PeerAwareProtocol, router, logger, counters, trim, accepted)
    acceptor = Acceptor(sockets, protocol, clock, gateway_log, counters, backlog=_BACKLOG)
    await acceptor.start()
    return acceptor
