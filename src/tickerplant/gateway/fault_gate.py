"""The fault profile applied at the private endpoints (``faults/``, docs/faults.md): the
listener asks ``FaultGate.answer`` instead of the REST surface when a profile is loaded.

A fault is applied around the venue, never inside it: the request is admitted as any is
(the IP's weight, the key and signature: part 1 §10), then the decider says whether the
venue is asked at all (``Apply.REFUSE``: nothing done), asked and its answer replaced
(``REPLACE``: the 503 "Unknown error…" whose order is placed), asked after the answer
(``LATER``: ``-1007``'s order placed ``delay_ms`` after it, its user data events then), or
asked at once and its answer held (``HOLD``: a slow acknowledgement, the events first).
So the books, ``openOrders`` and the journal always say what was done; only what a client
is told, and when, changes. A maintenance window comes first and refuses every private
endpoint.

Each fault that fires is one structured log line (``fault``, ``where``, ``symbol``,
``account``) and is counted by the decider's record (``/metrics``, the dashboard).
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable

import msgspec

from tickerplant.clock import Clock
from tickerplant.config import FaultsConfig
from tickerplant.faults.answers import SERVICE_UNAVAILABLE
from tickerplant.faults.decider import Apply, Decision, FaultDecider, throttle_exempt
from tickerplant.faults.profile import Family, FaultKind, parse_profile
from tickerplant.gateway.fault_batch import batch_orders, throttled_batch
from tickerplant.gateway.picows_server import AwaitedRoute, Routed
from tickerplant.gateway.responses import json_response, rest_response
from tickerplant.market.instruments import Market
from tickerplant.protocol.request_weight import RequestWeight
from tickerplant.protocol.rest import RestAnswer
from tickerplant.protocol.ws_api import WsApiReply
from tickerplant.venue.auth.checks import Authorized, PrivateRequest
from tickerplant.venue.wire.rest import PrivateRest

__all__ = ["FaultGate", "fault_gate", "fault_response", "log_fault", "not_counted", "ws_not_counted"]

_UNAVAILABLE = (SERVICE_UNAVAILABLE.body,)  # a maintenance window's, and service-unavailable's
_UNAVAILABLE_MSG = b'"msg":"Service Unavailable."'  # the same in a WebSocket API error reply

log = logging.getLogger("tickerplant.faults")


def fault_gate(config: FaultsConfig, seed: int, clock: Clock, market: Market) -> FaultGate | None:
    """The gate of ``config``'s profile (``profile_text``, which the command line read), or
    None without one; the profile was checked when the configuration was read."""
    if not config.profile_text:
        return None
    return FaultGate(FaultDecider(parse_profile(config.profile_text), seed, clock.now_ms()), clock, market)


def fault_response(answer: RestAnswer) -> Routed:
    """``answer`` as written: a bare-text fault (``answers.SERVICE_UNAVAILABLE``,
    ``REQUEST_TIMEOUT``) as text, as a front end answers it, never labelled JSON, with the
    IP's weight as every answer has it (part 1 §7.3); the venue's own answers as always."""
    if answer.status in (408, 503) and not answer.body.startswith(b"{"):
        used = str(answer.used_weight)
        fields = {"Content-Type": "text/plain", "X-MBX-USED-WEIGHT": used, "X-MBX-USED-WEIGHT-1M": used}
        return json_response(answer.status, answer.body, fields)
    return rest_response(answer)


def not_counted(answer: RestAnswer, weight: RequestWeight, ip: str, charged: int, now_ms: int) -> RestAnswer:
    """``answer``, its request's ``charged`` weight given back when it is "Service
    Unavailable.", which Binance does not count (part 1 §6.2's 503 (2), §7.2): a client
    retrying through a maintenance window spent its IP's weight, then was refused 429 and
    banned 418 on every endpoint."""
    if answer.status != 503 or answer.parts != _UNAVAILABLE:
        return answer
    return answer._replace(used_weight=weight.refund(ip, charged, now_ms))


def ws_not_counted(
    reply: WsApiReply, weight: RequestWeight, ip: str, charged: int, now_ms: int
) -> WsApiReply:
    """``not_counted`` of a WebSocket API reply (part 1 §8.4: its methods' weight is REST's,
    and so is what is not counted): a "Service Unavailable." refusal's ``charged`` weight given
    back, and its ``rateLimits`` saying the IP's weight after. Only a fault's refusal (a
    maintenance window, ``service-unavailable``) says it, so only that reply is read again."""
    if reply.status != 503 or len(reply.parts) != 1 or _UNAVAILABLE_MSG not in reply.parts[0]:
        return reply
    used = weight.refund(ip, charged, now_ms)
    body = msgspec.json.decode(reply.parts[0])
    for limit in body.get("rateLimits", ()):
        if limit.get("rateLimitType") == "REQUEST_WEIGHT":
            limit["count"] = used
    return reply._replace(parts=(msgspec.json.encode(body),))


def log_fault(market: Market, kind: str, where: str, symbol: str, account: int | None) -> None:
    """A fault that fired, as one structured line."""
    symbol = symbol[:40]  # a client's: cut
    fields = {"market": market.value, "fault": kind, "where": where, "symbol": symbol, "account": account}
    log.info("fault %s: %s %s", kind, where, symbol, extra=fields)


class FaultGate:
    """One listener's faults: its decider, and the private REST answers it shapes."""

    def __init__(self, decider: FaultDecider, clock: Clock, market: Market) -> None:
        self.decider = decider
        self.clock = clock
        self.market = market

    def answer(
        self, private: PrivateRest, route: tuple[str, str], request: PrivateRequest, now_ms: int,
        drain: Callable[[int], object] | None,
    ) -> tuple[RestAnswer, int]:  # fmt: skip
        """The answer to ``request`` on ``route`` with the profile applied, and how many ms
        to hold it (0: at once). ``drain``: the engine's events to the user data stream,
        run after an order placed later (``LATER``)."""
        admitted = private.admit(route, request, now_ms)
        if isinstance(admitted, RestAnswer):
            return admitted, 0
        answer, hold_ms = self.apply(private, route, *admitted, now_ms, drain)
        charged = private.routes[route].weight_of(request)
        return not_counted(answer, private.weight, request.ip, charged, now_ms), hold_ms

    def apply(
        self, private: PrivateRest, route: tuple[str, str], authorized: Authorized, used: int, now_ms: int,
        drain: Callable[[int], object] | None,
    ) -> tuple[RestAnswer, int]:  # fmt: skip
        """``answer``'s, for a request admitted already (here, or by a gateway under
        ``--workers``: the plant applies the profile, ``scaleout/plant_faults.py``)."""
        orders = batch_orders(route, authorized.params)
        decision = self.decide(f"{route[0]} {route[1]}", authorized, now_ms, orders)
        if decision is None:
            return private.perform(route, authorized, used, now_ms), 0
        if decision.kind is FaultKind.THROTTLED and orders is not None:
            passing = [throttle_exempt(order) for order in orders]
            if any(passing):  # decided per order, as Binance does (fault_batch.py)
                return throttled_batch(private, route, authorized, used, now_ms, orders, passing), 0
        error = decision.error
        told = RestAnswer(error.status, (error.body,), used) if error is not None else None
        if decision.apply is Apply.REFUSE:
            assert told is not None
            return told, 0
        if decision.apply is Apply.LATER:
            assert told is not None
            later = functools.partial(self._perform_later, private, route, authorized, used, drain)
            self.clock.call_at(now_ms + decision.delay_ms, later)
            return told, 0
        performed = private.perform(route, authorized, used, now_ms)
        if decision.apply is Apply.HOLD:
            return performed, decision.delay_ms
        assert told is not None  # REPLACE: done, and told it is unknown
        return told, 0

    def decide_stream(
        self, family: Family, where: str, symbol: str, account: int | None, now_ms: int
    ) -> Decision | None:
        """A stream's or a session's decision (``family``), logged when one fires."""
        decision = self.decider.decide(family, where, symbol, account, now_ms)
        if decision is not None:
            log_fault(self.market, decision.kind.value, where, symbol, account)
        return decision

    def fired(self, kind: FaultKind, where: str, account: int | None, now_ms: int, symbol: str = "") -> None:
        """A timed fault its shell applied, logged and recorded (``symbol``: the symbols it
        names, comma-separated)."""
        self.decider.fired(kind, where, symbol, account, now_ms)
        log_fault(self.market, kind.value, where, symbol, account)

    def decide(
        self, where: str, authorized: Authorized, now_ms: int, orders: list[dict[str, str]] | None = None
    ) -> Decision | None:
        """The maintenance window's decision, else order entry's, logged when one fires;
        ``orders``: a batch's, which ``-1008`` spares only when every one is exempt, and which
        a fault narrowed to symbols meets when any of its orders' is one."""
        decider, params = self.decider, authorized.params
        symbol, account = params.get("symbol", ""), authorized.account.account_id
        among = None  # a batch's symbols: it has no symbol of its own (docs/faults.md)
        if orders is not None:
            among = frozenset(str(order.get("symbol", "")).upper() for order in orders)
            symbol = ",".join(sorted(among))
        decision = None
        if decider.has(Family.MAINTENANCE):
            decision = decider.decide(Family.MAINTENANCE, where, symbol, account, now_ms, among=among)
        if decision is None and decider.has(Family.ORDER):
            exempt = throttle_exempt(params) if orders is None else all(map(throttle_exempt, orders))
            decision = decider.decide(
                Family.ORDER, where, symbol, account, now_ms, exempt=exempt, among=among
            )
        if decision is not None:
            log_fault(self.market, decision.kind.value, where, symbol, account)
        return decision

    def response(self, answer: RestAnswer) -> Routed:
        return fault_response(answer)

    def delayed(self, routed: Routed, at_ms: int) -> AwaitedRoute:
        """``routed`` written at ``at_ms`` (market time), the connection waiting for it."""
        clock = self.clock

        def then(reply: Callable[[Routed], None]) -> None:
            clock.call_at(at_ms, functools.partial(reply, routed))

        return AwaitedRoute(then)

    def _perform_later(
        self, private: PrivateRest, route: tuple[str, str], authorized: Authorized, used: int,
        drain: Callable[[int], object] | None,
    ) -> None:  # fmt: skip
        """``-1007``'s order, placed after its answer: whatever the venue says of it goes to
        the user data stream only, as Binance's would."""
        now_ms = self.clock.now_ms()
        private.perform(route, authorized, used, now_ms)
        if drain is not None:
            drain(now_ms)
