"""The one place that reaches into picows' private server protocol.

picows' public ``ws_create_server`` hands the router only the upgrade request, but REST
weight is counted per IP (spec §7.1) and the WebSocket API's handshake costs the IP's
weight (§5.1): the router must know which address a request came from. So the listener
builds picows' ``WSProtocol`` itself, through the subclass below, which is given the
peer's address (by the front door, ``front_door.py``, that read the connection's request
head) and passes it to the router with each request.

``WSProtocol`` is not part of picows' public API: its constructor arguments are named
here, once, as keywords (so a renamed or removed argument fails loudly, not silently
shifts), picows is pinned to the tested minor in ``pyproject.toml``, and
``tests/gateway/test_picows_server.py`` fails if the constructor changes.

The front door parses every request head with picows' own parser (``checked_head``) and
answers a request that did not ask to upgrade with the bytes picows writes for it
(``plain_answer``): the router's ``WSUpgradeResponse``, with ``Connection: keep-alive``
when the connection carries the next request or ``Connection: close`` when it is closed
after it, as picows answers a refused upgrade, and the ``Date``. Only upgrades reach
picows' protocol. Before that, a
head over picows' bound, a method other than Binance's four, a version other than HTTP/1.1,
a body's framing that ``http_head.body_length`` refuses or a head picows' parser refuses
is answered with its own status and a short body (``http_head``), where picows would close
without a word or echo the request line. picows' parser takes GET without a body only: a
POST, PUT or DELETE, or a head with ``Content-Length``, is read here, its fields by
picows' rules for a GET (the same fields, names and values taken and refused), the
length's field left out (checked before), once per distinct block of them
(``head_fields``), its method its own. An upgrade
must be a GET without a body (RFC 6455 §4.1): another is 400. An upgrade asking for a
WebSocket version other than 13 gets 426 with ``Sec-WebSocket-Version: 13`` (RFC 6455
§4.2.2; picows takes 7 and 8 too).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Sequence
from http import HTTPStatus
from typing import Any, NamedTuple, Protocol

from multidict import CIMultiDict
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

from tickerplant.gateway.head_fields import read_fields
from tickerplant.gateway.http_head import METHODS, Refusal, line_refusal
from tickerplant.gateway.memory_trim import AllocatorTrim
from tickerplant.gateway.message_assembly import MAX_MESSAGE_BYTES
from tickerplant.market.history.farming import asked
from tickerplant.protocol.later import Pending, wait
from tickerplant.protocol.limits import LimitCounters
from tickerplant.protocol.request_weight import client_key
from tickerplant.protocol.rest import RestAnswer

__all__ = [
    "BACKLOG", "AwaitedRoute", "Head", "LaterRoute", "PartsResponse", "PeerAwareProtocol", "PeerRouter",
    "Routed", "asks_to_upgrade", "checked_head", "plain_answer", "protocol_arguments",
]  # fmt: skip

# a private REST answer is routed as it is: its bytes are written straight from it
# (``responses.answer_bytes``), without a response object made per request
Routed = WSListener | WSUpgradeResponseWithListener | RestAnswer


class LaterRoute:
    """An answer made in pieces (``protocol/later.py``, a cold `fundingRate`): the front
    door takes ``step``s within its REST turns (``rest_turns``), then writes ``routed()``.
    A step that made nothing because a piece is made elsewhere says so in ``waiting()``
    (``Later.waiting``): the front door waits for it without stepping. ``asker``: the
    client's address, whose answers' pieces made elsewhere take their turns together
    (``farming.ASKING``)."""

    __slots__ = ("_asker", "_step", "routed", "waiting")

    def __init__(
        self, step: Callable[[], bool], routed: Callable[[], Routed],
        waiting: Callable[[], Pending | None] = lambda: None, asker: str | None = None,
    ) -> None:  # fmt: skip
        self._step = step
        self.routed = routed  # the answer, once made
        self.waiting = waiting  # the piece made elsewhere the next step waits for, if any
        self._asker = None if asker is None else client_key(asker)  # an IPv6 address: its /64

    def step(self) -> bool:
        """One piece, asked for ``asker``; whether the answer is made."""
        return self._step() if self._asker is None else asked(self._asker, self._step)

    def replaced(self, step: Callable[[], bool], routed: Callable[[], Routed]) -> LaterRoute:
        """This answer with its step and its answer's making replaced (``guarded_route``), its
        wait and its asker kept."""
        made = LaterRoute(step, routed, self.waiting)
        made._asker = self._asker
        return made

    def run(self) -> Routed:
        """Every piece and the answer, now."""
        while not self.step():
            wait(self.waiting())
        return self.routed()

    def resumes(self, act: Callable[[], None]) -> bool:
        """Whether the step that made nothing waits for a piece made elsewhere; if so, ``act``
        runs on this loop once it is done (its done callback comes from another thread), the
        loop free meanwhile; nothing if the loop has closed by then."""
        pending = self.waiting()
        if pending is None:
            return False
        loop = asyncio.get_running_loop()

        def done(_: object) -> None:
            with contextlib.suppress(RuntimeError):  # the loop closed: nobody waits any more
                loop.call_soon_threadsafe(act)

        pending.add_done_callback(done)
        return True


class AwaitedRoute:
    """An answer made elsewhere (the venue in the plant, under ``--workers``), or held
    (until the journal's commit): ``then`` is given a callback, which it calls once, later
    (never before it returns), with the answer. The front door reads nothing more of the
    connection until then, unless ``this_turn``: the answer comes at the end of this loop
    turn (the journal's group commit), so what the connection sends meanwhile is one read
    at most, kept until the requests before it are answered, and the connection's reading
    and its timer are left as they are."""

    __slots__ = ("then", "this_turn")

    def __init__(self, then: Callable[[Callable[[Routed], None]], None], this_turn: bool = False) -> None:
        self.then = then
        self.this_turn = this_turn


class Repeatable(Protocol):
    """A request's answer made again, for the same request from the same connection
    (``rest_repeat.RestCall``)."""

    def again(self, ip: str, started_ns: int) -> bytes | tuple[bytes, ...] | LaterRoute:
        """The bytes of the answer begun at ``started_ns``, kept alive (``answer_parts``'),
        whole or in parts, or a route to make it in pieces."""
        ...


# (request, peer IP, body) -> answer; an upgrade's body is b""
PeerRouter = Callable[[WSUpgradeRequest, str, bytes], Routed | LaterRoute | AwaitedRoute | None]

_HANDSHAKE_TIMEOUT_S = 5.0
_MAX_FRAME_BYTES = MAX_MESSAGE_BYTES  # no frame larger than a whole message may be
_WS_VERSION = "13"  # the only version RFC 6455 defines (§4.1)
_READ_BUFFER_BYTES = 16 * 1024
BACKLOG = 4096  # connections waiting to be accepted, per listening socket


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
        peer_ip: str = "?",
        trim: AllocatorTrim | None = None,
    ) -> None:
        self.peer_ip = peer_ip
        self._router = router
        self._counters = counters
        self._trim = trim  # counts connections to give memory back after a wave of them
        super().__init__(**protocol_arguments(self._route, logger))

    def connection_lost(self, exc: Exception | None) -> None:
        super().connection_lost(exc)
        if self._trim is not None:
            self._trim.closed()

    def _route(self, request: WSUpgradeRequest) -> Routed | None:
        if asks_to_upgrade(request) and request.headers.get("sec-websocket-version") != _WS_VERSION:
            self._counters.head_refused(426)
            extra = {"Sec-WebSocket-Version": _WS_VERSION, "Upgrade": "websocket"}  # RFC 9110 §15.5.22
            response = WSUpgradeResponse.create_error_response(426, b"WebSocket version 13 required\n", extra)
            return WSUpgradeResponseWithListener(response, None)
        routed = self._router(request, self.peer_ip, b"")
        if isinstance(routed, (AwaitedRoute, RestAnswer)):  # a private path asked with Upgrade: not a stream
            return None
        return routed.run() if isinstance(routed, LaterRoute) else routed


class Head(NamedTuple):
    """A request head that may be routed, and the length of the body that follows it."""

    request: WSUpgradeRequest
    body_length: int


_HEADS_KEPT = 4096  # parsed heads remembered: a keep-alive poller sends the same head each time
_parsed: dict[bytes, Head] = {}


def checked_head(head: bytes) -> Refusal | Head:
    """A complete request head as picows parses it, or how it is refused before routing.

    A GET without a body and without a signature (a market-data poll, sent again and again
    byte for byte) is parsed once and its ``Head`` remembered (at most ``_HEADS_KEPT``,
    forgotten all at once when full): parsing is a function of the bytes, and nothing after
    it changes the request. A signed request (each with its own timestamp) is never kept."""
    if head[:4] == b"GET ":  # only a GET is kept (``is_plain_poll``): another is not looked up
        known = _parsed.get(head)
        if known is not None:
            return known
    checked = _checked_head(head)
    if isinstance(checked, Head) and is_plain_poll(head, checked):
        if len(_parsed) >= _HEADS_KEPT:
            _parsed.clear()
        _parsed[head] = checked
    return checked


def is_plain_poll(head: bytes, checked: Head) -> bool:
    """Whether ``head`` is a GET without a body, a signature or an API key: a request that is
    the same request whenever its bytes are (a poll), never one checked against a key."""
    # ``find``, not ``in``: ``bytes.__contains__`` makes and drops a TypeError for a bytes
    # argument in CPython 3.11 (``venue/auth/checks.py``, ``_plain``)
    return (
        not checked.body_length and head.startswith(b"GET ")
        and head.find(b"signature=") < 0 and head.lower().find(b"x-mbx-apikey") < 0
    )  # fmt: skip


def _checked_head(head: bytes) -> Refusal | Head:
    line_end = head.find(b"\r\n")
    line = head if line_end < 0 else head[:line_end]
    words = line.split(b" ")
    # what every request a client means is (``line_refusal``'s first test), else its checks
    if len(words) != 3 or words[2] != b"HTTP/1.1" or words[0] not in METHODS:
        refusal = line_refusal(line)
        if refusal is not None:
            return refusal
    fields = read_fields(head[len(line) :])  # read once per distinct block (head_fields)
    if fields.refusal is not None:
        return fields.refusal
    length = fields.body_length
    if not length and head.startswith(b"GET "):  # what picows' parser takes as it stands
        try:
            return Head(_parse_http_request(head), 0)
        except RuntimeError:  # what picows would answer with its exception's text
            return _MALFORMED
    # a POST, PUT or DELETE, or a head with a body: read as picows' parser reads a GET's,
    # the method its own, the fields as read for the block
    method, path, version = words  # three words (line_refusal)
    if not path or fields.headers is None:
        return _MALFORMED
    if fields.upgrade:  # RFC 6455 §4.1: the handshake is a GET, no body
        return Refusal(400, b"A WebSocket handshake is a GET without a body\n")
    request = WSUpgradeRequest()
    # the block's fields, read-only (a proxy, shared by its requests; every reader only reads)
    headers: CIMultiDict[str] = fields.headers  # type: ignore[assignment]  # (no cast() call a request)
    request.method, request.path, request.version, request.headers = method, path, version, headers
    return _new(Head, (request, length))  # Head(…) without the NamedTuple's Python __new__


_MALFORMED = Refusal(400, b"Malformed request head\n")
_new = tuple.__new__


_KEEP_ALIVE, _CLOSE = b"Connection: keep-alive\r\n", b"Connection: close\r\n"


class PartsResponse(WSUpgradeResponse):
    """A REST answer written as picows writes a response (status line, header fields,
    ``Content-Length``, a blank line, the body) as its head and the body's parts
    (``to_parts``): the listener writes a plain request's answer with one writev
    (``picows_server``), so a depth answer's levels (~42 kB, shared while the book stands
    still) go out as they are, never joined or copied. Its own head (status line and the
    fields ``responses.rest_response`` names) is written when it is made, from bytes kept per status;
    the fields picows adds after (its ``Connection: close``) follow, then
    ``Content-Length``: the bytes picows' own ``create_ok_response`` /
    ``create_error_response`` and ``to_bytes`` write (``tests/gateway/test_reply_bytes.py``),
    without their per-request dict, enum and string steps. ``to_bytes`` joins the parts, for
    picows' own path (a refused upgrade)."""

    __slots__ = ("again", "head", "parts")
    head: bytes
    parts: tuple[bytes, ...]
    again: Repeatable | None  # how the same request is answered again, if it can be

    def to_parts(self) -> tuple[bytes, ...]:
        """The response's bytes as its head, then the parts of its body as they are."""
        parts = self.parts
        size = len(parts[0]) if len(parts) == 1 else sum(map(len, parts))
        added = "".join([f"{k}: {v}\r\n" for k, v in self.headers.items()]).encode()
        length = b"Content-Length: %d\r\n" % size if size else b""
        return (b"".join((self.head, added, length, b"\r\n")), *parts)

    def parts_with(self, keep_alive: bool, date: bytes) -> tuple[bytes, ...]:
        """``to_parts`` with ``Connection`` and ``Date`` added as ``plain_answer`` adds them
        to a response's fields, written straight: the same bytes (its own fields are none
        until then), without the header dict's steps."""
        return answer_parts(self.head, self.parts, keep_alive, date)

    def to_bytes(self) -> bytearray:
        return bytearray().join(self.to_parts())



def answer_parts(head: bytes, parts: tuple[bytes, ...], keep_alive: bool, date: bytes) -> tuple[bytes, ...]:
    """A plain answer's bytes as the listener writes them: ``head`` (its status line and
    fields), then ``Connection``, ``Date`` (``http_head.http_date``'s) and
    ``Content-Length`` as picows adds them, the blank line, and the body's ``parts``."""
    size = len(parts[0]) if len(parts) == 1 else sum(map(len, parts))
    length = b"Content-Length: %d\r\n" % size if size else b""
    connection = _KEEP_ALIVE if keep_alive else _CLOSE
    return (b"".join((head, connection, b"Date: ", date, b"\r\n", length, b"\r\n")), *parts)


def take_over(transport: asyncio.Transport, protocol: PeerAwareProtocol, received: bytes) -> None:
    """``protocol`` takes ``transport``'s connection from now on, and reads ``received``
    (what was read of it so far and not answered) first, as if from the socket."""
    transport.set_protocol(protocol)
    # uvloop chose its read callback when reading started, for a protocol that takes
    # bytes: it would go on reading into its own buffer and feed picows a copy of each
    # read through Python. Reading restarted, it reads into picows' buffer (asyncio's
    # transports switch on set_protocol; for them this is a no-op).
    transport.pause_reading()
    transport.resume_reading()
    protocol.connection_made(transport)
    view = memoryview(received)
    while view:
        space = protocol.get_buffer(len(view))
        n = min(len(space), len(view))
        space[:n] = view[:n]
        protocol.buffer_updated(n)
        view = view[n:]


def asks_to_upgrade(request: WSUpgradeRequest) -> bool:
    """Whether the request asks for a WebSocket (what picows' handshake checks first)."""
    upgrade: str = request.headers.get("upgrade", "")
    return upgrade.lower() == "websocket"


def plain_answer(
    routed: Routed | None, request: WSUpgradeRequest, keep_alive: bool, date: bytes
) -> Sequence[bytes]:
    """The bytes picows writes for a request that did not ask to upgrade
    (``WSProtocol._negotiate``): the router's response; for a listener (a stream or
    WebSocket API path asked without ``Upgrade``), 400 with picows' reason; for None, 404.
    ``Connection`` (``keep-alive``, or ``close`` as picows adds it before it closes) and
    ``Date`` (``http_head.http_date``'s) are added to the response's fields. A response
    that is kept in parts (``to_parts``: a depth answer around its shared levels) is
    written as its parts, one writev, not joined into one buffer first."""
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
    if type(response) is PartsResponse:  # a REST answer: its head, then ours, no header dict
        return response.parts_with(keep_alive, date)
    headers = response.headers
    headers["Connection"] = "keep-alive" if keep_alive else "close"
    headers["Date"] = date.decode()
    to_parts = getattr(response, "to_parts", None)
    if to_parts is not None:
        parts: Sequence[bytes] = to_parts()
        return parts
    return (bytes(response.to_bytes()),)
