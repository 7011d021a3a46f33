"""A request whose answer raised: answered, and the listener goes on.

An exception out of a route is a bug of the server's (bad input is refused by the route,
with Binance's code). Raised into the connection, it left the request unanswered until the
connection's head timeout, and out of a REST turn (``rest_turns``) it stopped the line: the
connections waiting behind it were answered only when another request came (a probe held
every REST client 74 s with one nested ``batchOrders``). So the router is wrapped once per
listener: such a request is answered as Binance answers a request whose outcome it does not
know, 503 ``-1000`` "Unknown error, please check your request or try again later." (part 1
§6.2, 503 (1): sent on, outcome unknown; a client queries before it retries), and logged
with its traceback once a minute (``LogBudget``), its method and path only (no query: a
signed request's parameters are the account's). An answer made in pieces (``LaterRoute``)
alike: a piece that raises ends it with that answer; and a poll's answer made again on its
kept-alive connection, past the router (``rest_repeat``)."""

from __future__ import annotations

import logging
from collections.abc import Callable

from picows import WSUpgradeRequest

from tickerplant.clock import Clock
from tickerplant.gateway.log_budget import LogBudget, held_note
from tickerplant.gateway.picows_server import (
    AwaitedRoute,
    LaterRoute,
    PartsResponse,
    PeerRouter,
    Repeatable,
    Routed,
)
from tickerplant.gateway.responses import json_response

__all__ = ["UNKNOWN_OUTCOME", "guarded"]

UNKNOWN_OUTCOME = b'{"code":-1000,"msg":"Unknown error, please check your request or try again later."}'


def guarded(router: PeerRouter, clock: Clock, log: logging.Logger) -> PeerRouter:
    """``router``, whose exceptions are answered 503 ``-1000`` and logged (the docstring)."""
    budget = LogBudget(per_interval=1, interval_ms=60_000)

    def raised(request: WSUpgradeRequest) -> Routed:
        if (held := budget.allow("route", clock.now_ms())) is not None:
            path = request.path.partition(b"?")[0][:200].decode("ascii", errors="replace")
            method = request.method.decode("ascii", errors="replace")
            log.exception("answering %s %s raised; answered 503 -1000%s", method, path, held_note(held))
        return json_response(503, UNKNOWN_OUTCOME)

    def route(request: WSUpgradeRequest, ip: str, body: bytes) -> Routed | LaterRoute | AwaitedRoute | None:
        try:
            made = router(request, ip, body)
        except Exception:
            return raised(request)
        if isinstance(made, LaterRoute):
            return _pieces_guarded(made, request, raised)
        response = getattr(made, "response", None)  # an answer a kept-alive poll repeats (rest_repeat)
        if type(response) is PartsResponse and response.again is not None:
            response.again = _GuardedRepeat(response.again, request, raised)
        return made

    return route


class _GuardedRepeat:
    """A poll's answer made again on its kept-alive connection (``rest_repeat.RestCall.again``,
    past the router): one that raises is answered as the route's would be, an answer made at
    once (a ``LaterRoute`` already made), and one made in pieces is guarded piece by piece."""

    __slots__ = ("_again", "_raised", "_request")

    def __init__(
        self, again: Repeatable, request: WSUpgradeRequest, raised: Callable[[WSUpgradeRequest], Routed]
    ) -> None:
        self._again, self._request, self._raised = again, request, raised

    def again(self, ip: str, started_ns: int) -> bytes | tuple[bytes, ...] | LaterRoute:
        try:
            made = self._again.again(ip, started_ns)
        except Exception:
            answer = self._raised(self._request)
            return LaterRoute(lambda: True, lambda: answer)
        if isinstance(made, LaterRoute):
            return _pieces_guarded(made, self._request, self._raised)
        return made


def _pieces_guarded(
    later: LaterRoute, request: WSUpgradeRequest, raised: Callable[[WSUpgradeRequest], Routed]
) -> LaterRoute:
    """An answer made in pieces, turn by turn (``LaterRoute``): a piece or the answer that
    raises ends it, answered as a route that raises is."""
    failed: list[Routed] = []

    def step() -> bool:
        try:
            return later.step()
        except Exception:
            failed.append(raised(request))
            return True

    def routed() -> Routed:
        if failed:
            return failed[0]
        try:
            return later.routed()
        except Exception:
            return raised(request)

    return later.replaced(step, routed)
