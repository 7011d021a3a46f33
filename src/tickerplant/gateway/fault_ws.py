"""The fault profile applied to the WebSocket API's private methods (docs/faults.md): a
session dropped on a request, a reply held past the clients' timeouts, and order entry's
and the maintenance window's faults on ``order.place`` and the other methods, as REST's
are (``fault_gate.py``).

It stands between the listener and the trading methods (``venue/wire/ws_trading.py``),
inside the journal's hold (``durable_replies.py``): a request is admitted as any is, then
the decider says whether the method runs at all; whatever it does runs through the same
``perform`` a plain request does, its events drained after it. A REST error's bare text
("Service Unavailable.", 408's) has no place in an error reply, which always carries a
code (part 1 §8.4): it goes with ``-1001``, the failure it means.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Set

from tickerplant.faults.decider import Apply, Decision
from tickerplant.faults.profile import Family, FaultKind
from tickerplant.gateway.fault_gate import FaultGate, ws_not_counted
from tickerplant.protocol.errors import CLOSE_CUT, RequestRefused
from tickerplant.protocol.ws_api import AwaitedReply, WsApiReply, WsSession
from tickerplant.venue.wire.ws_trading import WsAdmitted, WsTrading

__all__ = ["FaultedWs"]

_NO_CODE = -1001  # a bare-text error's code in an error reply


class FaultedWs:
    """``trading``'s methods (``protocol.ws_api.PrivateMethods``) with ``faults`` applied."""

    def __init__(self, trading: WsTrading, faults: FaultGate) -> None:
        self.trading = trading
        self.faults = faults

    @property
    def names(self) -> Set[str]:
        return self.trading.names

    def answer(
        self, frame: bytes, session: WsSession | None, ip: str, now_ms: int, rate_limits_default: bool
    ) -> WsApiReply | AwaitedReply:
        trading = self.trading
        admitted = trading.admit(frame, session, ip, now_ms, rate_limits_default)
        if isinstance(admitted, WsApiReply):
            return admitted
        reply, hold_ms = self.faulted(admitted, now_ms)
        charged = trading.methods[admitted.method].weight  # given back if not counted
        reply = ws_not_counted(reply, trading.rest.weight, ip, charged, now_ms)
        if not hold_ms:
            return reply
        clock, at_ms = self.faults.clock, now_ms + hold_ms

        def then(send: Callable[[WsApiReply], None]) -> None:
            clock.call_at(at_ms, functools.partial(send, reply))

        return AwaitedReply(then)

    def faulted(self, admitted: WsAdmitted, now_ms: int) -> tuple[WsApiReply, int]:
        """The reply to a request admitted already (here, or by a gateway under ``--workers``:
        the plant applies the profile, ``scaleout/plant_faults.py``) and how long to hold it;
        a session dropped is a reply that closes with ``CLOSE_CUT``, unanswered."""
        params, account = admitted.authorized.params, admitted.authorized.account.account_id
        symbol = params.get("symbol", "")
        session_fault = None
        if self.faults.decider.has(Family.WS_API):
            session_fault = self.faults.decide_stream(Family.WS_API, admitted.method, symbol, account, now_ms)
            if session_fault is not None and session_fault.kind is FaultKind.SESSION_DROP:
                return WsApiReply((), CLOSE_CUT, admitted.method, 503), 0  # nothing done, nothing said
        decision = self.faults.decide(admitted.method, admitted.authorized, now_ms)
        reply, hold_ms = self._entered(admitted, decision, now_ms)
        if session_fault is not None:  # REPLY_DELAY
            hold_ms = max(hold_ms, session_fault.delay_ms)
        return reply, hold_ms

    def _entered(
        self, admitted: WsAdmitted, decision: Decision | None, now_ms: int
    ) -> tuple[WsApiReply, int]:
        """The reply with order entry's or maintenance's decision applied, and how long to
        hold it."""
        trading = self.trading
        if decision is None:
            return trading.perform(admitted, now_ms), 0
        error = decision.error

        def told() -> WsApiReply:  # with the ORDERS counts as they stand when it is said
            assert error is not None
            code = error.code if error.code is not None else _NO_CODE
            return trading.refused(admitted, RequestRefused(code, error.msg, error.status), now_ms)

        if decision.apply is Apply.REFUSE:
            return told(), 0
        if decision.apply is Apply.LATER:
            later = functools.partial(self._perform_later, admitted)
            self.faults.clock.call_at(now_ms + decision.delay_ms, later)
            return told(), 0
        performed = trading.perform(admitted, now_ms)
        if decision.apply is Apply.HOLD:
            return performed, decision.delay_ms
        return told(), 0  # REPLACE: done, and an error said

    def _perform_later(self, admitted: WsAdmitted) -> None:
        """``-1007``'s order, placed after its reply (``perform`` drains its events)."""
        self.trading.perform(admitted, self.faults.clock.now_ms())
