"""The venue reached from another process (``serve --workers``, split mode), without I/O:
what a gateway admits, what it sends the plant, and what the plant answers.

ARCHITECTURE.md ("Scaled out"): nothing about an account is decided in a gateway. A
gateway does what needs no account state, part 1 §10's steps before the endpoint (the IP's
weight, shared across gateways; the key, the timing, the signature over the bytes as
received, the key's permissions and IP restriction: ``PrivateRest.admit``,
``WsTrading.admit``), and sends the admitted request to the plant as a ``Command``. The
plant, where the engines are, looks the key up again (``checks.vouched``: a key revoked
or an account disabled meanwhile is refused there), performs the endpoint
(``PrivateRest.perform``, ``WsTrading.perform``), hands the user data stream what the
command did, and answers an ``Answer``: the status, the body (for the WebSocket API the
whole reply frame) and the header lines the endpoint adds (the order counts). The signature
is checked once, in the gateway: the plant trusts its bus, which takes only the run's
credentials (docs/operations.md, "Scale-out").

The gateways learn the routes (method, path, security, weights) from the plant's listing
(``route_table``), so the routes the plant serves are the routes a gateway admits: one home.

Both messages are msgpack arrays whose first item is ``FORWARD_VERSION``; one that does
not decode, or is of another version, is answered ``-1000`` with 500 and changes nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Protocol

import msgspec

from tickerplant.market.instruments import Market
from tickerplant.protocol.errors import CLOSE_CUT, RequestRefused, refusal
from tickerplant.protocol.request_weight import RequestWeight
from tickerplant.protocol.rest import RestAnswer
from tickerplant.protocol.ws_api import WsApiReply
from tickerplant.venue.auth.checks import (
    DEFAULT_RECV_WINDOW_MS,
    MAX_RECV_WINDOW_MS,
    Authorized,
    Security,
    vouched,
)
from tickerplant.venue.userstream.activity import VenueActivity
from tickerplant.venue.wire.endpoint import PrivateEndpoint
from tickerplant.venue.wire.rest import Accounts, PrivateRest, error_body
from tickerplant.venue.wire.ws_trading import WsAdmitted, WsTrading

__all__ = [
    "FORWARD_VERSION", "NO_PLANT", "OVERLOADED", "REST", "TIMED_OUT", "UNKNOWN_OUTCOME", "WS", "Answer",
    "Command", "DeskFaults", "RouteRow", "VenueDesk", "admitting_rest", "command_of_rest", "command_of_ws",
    "decode_answer", "route_table",
]  # fmt: skip

FORWARD_VERSION = 1
REST, WS = 0, 1  # Command.surface

# Part 1 §6.2 (the 503 meanings, decision on their codes): the plant did not answer in time
# (the command may or may not have been done), nobody took it (it was not), or the gateway
# has too many commands waiting on the plant already (it was not).
_UNKNOWN = "Timeout waiting for response from backend server. Send status unknown; execution status unknown."
TIMED_OUT = refusal(-1007, _UNKNOWN, 503)  # a new exception each (protocol/errors.refusal)
NO_PLANT = refusal(-1001, "Internal error; unable to process your request. Please try again.", 503)
OVERLOADED = refusal(
    -1008, "Server is currently overloaded with other requests. Please try again in a few minutes.", 503
)
# Binance's text, its misspelling kept (part 1 §6.2: "Texts are exact (including Binance's typos)")
_UNREADABLE = refusal(-1000, "An unknown error occured while processing the request.", 500)
# an answer that came and could not be read: the command may have been done (part 1 §6.2's
# first 503 meaning, decision on its code: -1000)
UNKNOWN_OUTCOME = refusal(-1000, "Unknown error, please check your request or try again later.", 503)
_ME_TEXT = "Timestamp for this request is outside of the ME recvWindow."  # part 1 §5.1
_ME_LATE = {Market.UM: refusal(-5028, _ME_TEXT), Market.CM: refusal(-4188, _ME_TEXT)}

RouteRow = tuple[str, str, str, int, int]  # method, path, security, weight, weight without symbol


class Command(msgspec.Struct, frozen=True, array_like=True):
    version: int  # FORWARD_VERSION
    surface: int  # REST or WS
    method: str  # the HTTP method, or the WebSocket API's method as requested
    path: str  # the REST path ("" for the WebSocket API)
    api_key: str
    ip: str  # the caller's, for the key's IP restriction
    params: dict[str, str]  # by lower-case name, as ``checks.parameters`` read them
    used: int  # the IP's weight used (the answer's header, rateLimits)
    deadline_ms: int  # when the gateway tells its client -1007: not done after it
    request_id: int | str | None = None  # the WebSocket API's, echoed
    show_limits: bool = True  # the WebSocket API's reply carries rateLimits


class Answer(msgspec.Struct, frozen=True, array_like=True, omit_defaults=True):
    version: int
    status: int
    body: bytes  # REST's JSON, or the WebSocket API's whole reply frame
    head: bytes = b""  # header lines the endpoint adds, each ending CRLF
    # a fault profile's (``DeskFaults``): how long the gateway holds the answer (a slow
    # acknowledgement, a WebSocket API reply delayed), and a session to cut, unanswered
    hold_ms: int = 0
    cut: bool = False


class DeskFaults(Protocol):
    """A market's fault profile, applied where the request is performed
    (``scaleout/plant_faults.py``): the answer, and how many ms the gateway holds it."""

    def rest(
        self, route: tuple[str, str], authorized: Authorized, used: int, now_ms: int
    ) -> tuple[RestAnswer, int]: ...

    def ws(self, admitted: WsAdmitted, now_ms: int) -> tuple[WsApiReply, int]: ...


_command = msgspec.msgpack.Decoder(Command)
_answer = msgspec.msgpack.Decoder(Answer)
_encode = msgspec.msgpack.encode


def route_table(rest: PrivateRest) -> list[RouteRow]:
    """The plant's private routes as a gateway admits them."""
    return [(m, p, e.security.value, e.weight, e.weight_unscoped) for (m, p), e in rest.routes.items()]


def _answered(refused: RequestRefused) -> Answer:
    """A refusal as the plant answers a forwarded command with it."""
    return Answer(FORWARD_VERSION, refused.status, error_body(refused))


def _in_the_plant(authorized: Authorized, now_ms: int) -> Any:
    raise AssertionError("a forwarded route is performed in the plant")


def admitting_rest(
    market: Market, accounts: Accounts, weight: RequestWeight, table: list[RouteRow], activity: VenueActivity
) -> PrivateRest:
    """A gateway's private surface under ``--workers``: the plant's routes, admitted here
    (``PrivateRest.admit``) and performed in the plant."""
    rest = PrivateRest(market, accounts, weight, (), activity=activity)
    rest.routes = {
        (method, path): PrivateEndpoint(Security(security), cost, _in_the_plant, unscoped)
        for method, path, security, cost, unscoped in table
    }
    return rest


def command_of_rest(
    route: tuple[str, str], authorized: Authorized, used: int, ip: str, deadline_ms: int
) -> bytes:
    key, params = authorized.key.api_key, authorized.params
    return _encode(Command(FORWARD_VERSION, REST, route[0], route[1], key, ip, params, used, deadline_ms))


def command_of_ws(admitted: WsAdmitted, ip: str, deadline_ms: int) -> bytes:
    authorized = admitted.authorized
    return _encode(
        Command(
            FORWARD_VERSION, WS, admitted.method, "", authorized.key.api_key, ip, authorized.params,
            admitted.used, deadline_ms, admitted.request_id, admitted.show_limits,
        )
    )  # fmt: skip


def decode_answer(data: bytes) -> Answer | None:
    """The plant's answer; None when it is not one of this version."""
    try:
        answer = _answer.decode(data)
    except (msgspec.DecodeError, msgspec.ValidationError):
        return None
    return answer if answer.version == FORWARD_VERSION else None


class VenueDesk:
    """The plant's side: each market's private surfaces, performing what gateways admitted."""

    def __init__(
        self,
        rests: Mapping[Market, PrivateRest],
        ws: Mapping[Market, WsTrading],
        after: Mapping[Market, Callable[[int], object]],
        faults: Mapping[Market, DeskFaults] | None = None,
    ) -> None:
        """``after``: called with the time after each command (the market's user data drain);
        ``faults``: a fault profile's, per market (none: the commands as they come)."""
        self.rests = rests
        self.ws = ws
        self.after = after
        self.faults = faults or {}
        self.performed = 0  # commands performed, for the metrics and the tests
        self.unreadable = 0  # commands that did not decode
        self.expired = 0  # commands that came after their deadline

    def answer(self, market: Market, data: bytes, now_ms: int) -> bytes:
        try:
            command = _command.decode(data)
            if command.version != FORWARD_VERSION or command.surface not in (REST, WS):
                raise ValueError(f"version {command.version}, surface {command.surface}")
        except (msgspec.DecodeError, msgspec.ValidationError, ValueError):
            self.unreadable += 1
            return _encode(_answered(_UNREADABLE()))
        if now_ms > command.deadline_ms:  # its client was told -1007 already: not done now
            self.expired += 1
            return _encode(_answered(TIMED_OUT()))
        if command.surface == WS:
            return self._ws(market, command, now_ms)
        rest = self.rests[market]
        route = (command.method, command.path)
        endpoint = rest.routes.get(route)
        if endpoint is None:  # a gateway of another release: nothing here is done
            return _encode(_answered(_UNREADABLE()))
        self.performed += 1
        faults, hold_ms = self.faults.get(market), 0
        try:
            key, ip = command.api_key, command.ip
            authorized = vouched(key, endpoint.security, rest.accounts, ip, command.params)
            if route[0] in ("POST", "PUT") and route[1].endswith(("/v1/order", "/v1/batchOrders")):
                _engine_window(market, command.params, now_ms)
            if faults is None:
                answer = rest.perform(route, authorized, command.used, now_ms)
            else:
                answer, hold_ms = faults.rest(route, authorized, command.used, now_ms)
        except RequestRefused as refused:
            answer = RestAnswer(refused.status, (error_body(refused),), command.used, refused.retry_after_s)
        finally:
            self.after[market](now_ms)
        head = answer.extra_head  # a 429's Retry-After rides with the endpoint's own lines
        if answer.retry_after_s is not None:
            head += b"Retry-After: %d\r\n" % answer.retry_after_s
        return _encode(Answer(FORWARD_VERSION, answer.status, answer.body, head, hold_ms))

    def _ws(self, market: Market, command: Command, now_ms: int) -> bytes:
        trading = self.ws[market]
        method = trading.methods.get(command.method)
        used, show = command.used, command.show_limits
        if method is None or command.method.startswith("session."):  # those are the gateway's
            reply = trading.refusal(command.request_id, _UNREADABLE(), used, show)
            return _encode(Answer(FORWARD_VERSION, reply.status, reply.reply))
        self.performed += 1
        try:
            key, ip = command.api_key, command.ip
            authorized = vouched(key, method.security, trading.rest.accounts, ip, command.params)
            if command.method in ("order.place", "order.modify"):
                _engine_window(market, command.params, now_ms)
        except RequestRefused as refused:
            reply = trading.refusal(command.request_id, refused, used, show)
            return _encode(Answer(FORWARD_VERSION, reply.status, reply.reply))
        admitted = WsAdmitted(command.request_id, command.method, authorized, used, show)
        faults = self.faults.get(market)
        if faults is None:
            reply = trading.perform(admitted, now_ms)  # drains after itself (WsTrading's after)
            return _encode(Answer(FORWARD_VERSION, reply.status, reply.reply))
        reply, hold_ms = faults.ws(admitted, now_ms)
        if reply.close is CLOSE_CUT:  # a session dropped: the gateway cuts it, unanswered
            return _encode(Answer(FORWARD_VERSION, reply.status, b"", cut=True))
        return _encode(Answer(FORWARD_VERSION, reply.status, reply.reply, hold_ms=hold_ms))


def _engine_window(market: Market, params: Mapping[str, str], now_ms: int) -> None:
    """Part 1 §5.1's second check, at the engine (part 2's changelog, 2023-04-18: new and
    modified orders, single or in a batch): one that reaches it more than its ``recvWindow``
    after its ``timestamp`` (the gateway checked both when it came; the wait is the bus's,
    or the plant's) is refused UM ``-5028``, COIN-M ``-4188``."""
    timestamp, window = params.get("timestamp", ""), params.get("recvwindow", "")
    if not (timestamp.isascii() and timestamp.isdigit()) or len(timestamp) > 19:
        return  # the gateway refused it already (``parse_long``)
    digits = window.isascii() and window.isdigit() and len(window) <= 19
    allowed = min(int(window), MAX_RECV_WINDOW_MS) if digits else None
    if now_ms - int(timestamp) > (allowed or DEFAULT_RECV_WINDOW_MS):
        raise _ME_LATE[market]()
