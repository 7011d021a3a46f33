"""A fault profile under ``--workers`` (docs/faults.md): decided and applied in the plant.

The order-entry faults, the maintenance window, the WebSocket API's faults and the user data
stream's are decided by one ``FaultDecider`` a market, here, beside the engines, for two
reasons. The run repeats: the plant sees every private request of every gateway, one after
another in the order it performs them, so the same seed and the same requests meet the same
faults, as in one process; a decider per gateway would draw on whichever gateway the kernel
gave a connection to. And the truth stays exact: a fault stands around the engine (before it,
or after it with its answer replaced or held), and the engine, its journal and the listen keys
are here. Each fault is logged, counted and listed once, by the plant (its admin listener's
``/metrics`` and ``/api/status``, which ``serve --workers``' admin adds to the gateways').

What a fault asks of the connection itself goes back with the answer
(``venue/wire/forwarded.Answer``): a reply held (``slow-ack``, ``reply-delay``: the gateway
holds it, ``gateway/venue_forwarding.py``), a WebSocket API session cut unanswered
(``session-drop``). A user data stream's connections cut (``stream-drop``) go to the gateways
as a notice (``frames.Notice.cut``). The market faults stay each gateway's, on its own
connections (``gateway/fault_market.py``).
"""

from __future__ import annotations

from collections.abc import Callable

from tickerplant.gateway.fault_gate import FaultGate
from tickerplant.gateway.fault_ws import FaultedWs
from tickerplant.protocol.rest import RestAnswer
from tickerplant.protocol.ws_api import WsApiReply
from tickerplant.venue.auth.checks import Authorized
from tickerplant.venue.wire.rest import PrivateRest
from tickerplant.venue.wire.ws_trading import WsAdmitted, WsTrading

__all__ = ["PlantFaults"]


class PlantFaults:
    """One market's profile on the plant's private surfaces (``forwarded.DeskFaults``)."""

    def __init__(
        self, gate: FaultGate, rest: PrivateRest, trading: WsTrading, drain: Callable[[int], object]
    ) -> None:
        """``drain``: the market's events to its user data streams (after an order placed
        later, ``-1007``'s)."""
        self.gate = gate
        self._rest = rest
        self._ws = FaultedWs(trading, gate)
        self._drain = drain

    def rest(
        self, route: tuple[str, str], authorized: Authorized, used: int, now_ms: int
    ) -> tuple[RestAnswer, int]:
        return self.gate.apply(self._rest, route, authorized, used, now_ms, self._drain)

    def ws(self, admitted: WsAdmitted, now_ms: int) -> tuple[WsApiReply, int]:
        return self._ws.faulted(admitted, now_ms)
