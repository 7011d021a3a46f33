"""A gateway's private endpoints under ``--workers``: admitted here, performed by the plant.

``venue/wire/forwarded.py`` says what is decided where. This is the shell between: an admitted
REST request or WebSocket API method goes to the plant over NATS (``bus/venue_link.py``),
and its answer is written when it comes (``picows_server.AwaitedRoute`` for REST, its
connection read no further meanwhile; ``protocol.ws_api.AwaitedReply`` for the WebSocket
API, whose other requests go on being answered, as Binance's replies are matched by id).

When the plant cannot answer, the client is told as Binance tells it (part 1 §6.2, 503):
``-1001`` when no plant took the command (nothing was done), ``-1007`` when none answered
within ``venue_link.TIMEOUT_S`` (the outcome unknown: the client queries, as after any
timeout; the plant does not perform a command that reaches it after that, its deadline),
``-1008`` when the gateway already has ``venue_link.PENDING_LIMIT`` commands waiting, or
``CALLER_LIMIT`` of the client's IP; ``-1000`` (the outcome unknown) for an answer that
does not read. A refusal before the plant (weight, key, signature) is answered here at once.

A fault profile's order-entry, maintenance and WebSocket API faults are decided and applied
in the plant (``scaleout/plant_faults.py``); what it asks of a gateway comes with its answer:
hold it (``Answer.hold_ms``), or cut the session unanswered (``Answer.cut``).
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable, Set
from http import HTTPStatus
from typing import TYPE_CHECKING, TypeVar

from tickerplant.clock import Clock
from tickerplant.gateway.fault_gate import fault_response, not_counted, ws_not_counted
from tickerplant.gateway.picows_server import AwaitedRoute, Routed
from tickerplant.gateway.traffic import Traffic
from tickerplant.market.instruments import Market
from tickerplant.protocol.errors import CLOSE_CUT, RequestRefused
from tickerplant.protocol.rest import RestAnswer
from tickerplant.protocol.ws_api import AwaitedReply, WsApiReply, WsSession
from tickerplant.venue.auth.checks import PrivateRequest
from tickerplant.venue.wire.forwarded import (
    NO_PLANT,
    OVERLOADED,
    TIMED_OUT,
    UNKNOWN_OUTCOME,
    Answer,
    command_of_rest,
    command_of_ws,
    decode_answer,
)
from tickerplant.venue.wire.rest import PrivateRest, error_body
from tickerplant.venue.wire.ws_trading import WsAdmitted, WsTrading

if TYPE_CHECKING:  # a gateway of serve --workers passes one; one process never imports nats
    from tickerplant.bus.venue_link import VenueRequests

__all__ = ["ForwardedVenue"]

_T = TypeVar("_T")


def _failed(data: bytes | None) -> RequestRefused | Answer:
    """The plant's answer, or what to tell the client instead: an answer that came and does
    not read (another release's, a status HTTP has not) may follow a command done."""
    if data is None:
        return TIMED_OUT()
    if not data:
        return NO_PLANT()
    answer = decode_answer(data)
    if answer is None or answer.status not in _STATUSES:
        return UNKNOWN_OUTCOME()
    return answer


_STATUSES = frozenset(status.value for status in HTTPStatus)


class ForwardedVenue:
    """One listener's private REST routes and WebSocket API trading methods, forwarded."""

    def __init__(
        self, market: Market, requests: VenueRequests, rest: PrivateRest, clock: Clock, traffic: Traffic
    ) -> None:
        """``rest``: the plant's routes, admitting here (``forwarded.admitting_rest``)."""
        self.market = market
        self.requests = requests
        self.rest = rest
        self.ws = WsTrading(rest)  # admits; its methods' endpoints are the plant's
        self._clock = clock
        self._traffic = traffic

    # -- REST ------------------------------------------------------------------------------

    def answer_rest(
        self, route: tuple[str, str], request: PrivateRequest, now_ms: int
    ) -> Routed | AwaitedRoute:
        started_ns = self._clock.now_ns()
        admitted = self.rest.admit(route, request, now_ms)
        if isinstance(admitted, RestAnswer):
            return self._counted(route, admitted, started_ns)
        authorized, used = admitted
        command = command_of_rest(route, authorized, used, request.ip, self._deadline_ms(now_ms))

        def then(reply: Callable[[Routed], None]) -> None:
            def done(data: bytes | None) -> None:
                got = _failed(data)
                if isinstance(got, RequestRefused):
                    reply(self._counted(route, RestAnswer(got.status, (error_body(got),), used), started_ns))
                    return
                answer = RestAnswer(got.status, (got.body,), used, None, got.head)
                charged = self.rest.routes[route].weight_of(request)  # given back if not counted
                answer = not_counted(answer, self.rest.weight, request.ip, charged, self._clock.now_ms())
                self._held(reply, self._counted(route, answer, started_ns), got.hold_ms)

            if not self.requests.ask(self.market, command, done, request.ip):
                overloaded = OVERLOADED()
                refused = RestAnswer(overloaded.status, (error_body(overloaded),), used)
                asyncio.get_running_loop().call_soon(lambda: reply(self._counted(route, refused, started_ns)))

        return AwaitedRoute(then)

    def _deadline_ms(self, now_ms: int) -> int:
        """When the client is told -1007: the plant does not perform the command after it."""
        return now_ms + round(self.requests.timeout_s * 1000)

    def _counted(self, route: tuple[str, str], answer: RestAnswer, started_ns: int) -> Routed:
        self._traffic.request("rest", route[1], answer.status, self._clock.now_ns() - started_ns)
        return fault_response(answer)  # a fault's bare text as text, the rest as always

    def _held(self, reply: Callable[[_T], None], made: _T, hold_ms: int) -> None:
        """``made`` sent now, or ``hold_ms`` later: a fault profile's slow acknowledgement or
        reply delay, decided in the plant (``scaleout/plant_faults.py``), held here, so the
        wait is not the bus's (``venue_link.TIMEOUT_S``)."""
        if not hold_ms:
            reply(made)
        else:
            self._clock.call_at(self._clock.now_ms() + hold_ms, functools.partial(reply, made))

    # -- the WebSocket API (protocol.ws_api.PrivateMethods) --------------------------------------

    @property
    def names(self) -> Set[str]:
        return self.ws.names

    def answer(
        self, frame: bytes, session: WsSession | None, ip: str, now_ms: int, rate_limits_default: bool
    ) -> WsApiReply | AwaitedReply:
        admitted = self.ws.admit(frame, session, ip, now_ms, rate_limits_default)
        if isinstance(admitted, WsApiReply):
            return admitted  # refused here, or a session method
        command = command_of_ws(admitted, ip, self._deadline_ms(now_ms))

        def then(reply: Callable[[WsApiReply], None]) -> None:
            def done(data: bytes | None) -> None:
                got = _failed(data)
                if isinstance(got, RequestRefused):
                    reply(self._refused(admitted, got))
                elif got.cut:  # a fault profile's session drop: cut, unanswered (ws_api.py)
                    reply(WsApiReply((), CLOSE_CUT, admitted.method, got.status))
                else:
                    made = WsApiReply((got.body,), None, admitted.method, got.status)
                    charged = self.ws.methods[admitted.method].weight  # given back if not counted
                    made = ws_not_counted(made, self.rest.weight, ip, charged, self._clock.now_ms())
                    self._held(reply, made, got.hold_ms)

            if not self.requests.ask(self.market, command, done, ip):
                asyncio.get_running_loop().call_soon(lambda: reply(self._refused(admitted, OVERLOADED())))

        return AwaitedReply(then)

    def _refused(self, admitted: WsAdmitted, refused: RequestRefused) -> WsApiReply:
        made = self.ws.refusal(admitted.request_id, refused, admitted.used, admitted.show_limits)
        return made._replace(method=admitted.method)
