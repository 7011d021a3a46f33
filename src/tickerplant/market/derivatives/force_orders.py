"""The liquidation streams: `<symbol>@forceOrder` and `!forceOrder@arr` (spec §4.10).

Binance pushes at most one liquidation order per symbol per 1000 ms, and nothing when
there was none: USDⓈ-M the largest of the second (since 2026-04-10), COIN-M the latest.
Here the seconds are whole seconds of the liquidations' trade time: the order kept for a
symbol is pushed at the first tick at or after the end of its second, with that tick's
time as ``E``. "Largest" is by filled quantity (one symbol's orders share a price
scale). `!forceOrder@arr` carries the same single-object payload as the symbol's stream,
not an array, and the payload is encoded once for both. COIN-M's ``o.ps`` comes right
after ``o.s``. The order matched in one pass, so its last filled quantity ``l`` is all it
filled, ``z``: live payloads show ``l`` = ``z`` even where ``ap`` is not ``p``, and ccxt reads
``l`` as the liquidated size.

The 2026 payload format (§4.13) ends `!forceOrder@arr` with ``st``; where USDⓈ-M puts its
new ``ps`` there is unspecified: tickerplant puts it inside ``o`` after ``o.s``, where
COIN-M has it. `<symbol>@forceOrder` is unspecified too: it keeps carrying the same
bytes as `!forceOrder@arr` (one encoding for both), so it gets ``st`` and ``ps`` alike.

Bounded by design: one kept order per symbol.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import msgspec

from tickerplant.market.demand import Demand
from tickerplant.market.instruments import Instrument, Market
from tickerplant.market.messages import ALL_FORCE_ORDER, StreamMessage
from tickerplant.market.payloads.derived_events import ForceOrder, LiquidationOrder
from tickerplant.market.payloads.events import PayloadFormat, encoder
from tickerplant.market.units import SECOND_MS, fixed
from tickerplant.market.updates import Liquidation

__all__ = ["ForceOrders", "force_order"]

_NEVER_MS = 1 << 62
_Kept = tuple[Instrument, str, Liquidation, int]
_FORCE_ORDER_2026 = {market: encoder(ForceOrder, market, PayloadFormat.Y2026) for market in Market}


def force_order(
    inst: Instrument, order: Liquidation, event_ms: int, payload_format: PayloadFormat = PayloadFormat.CLASSIC
) -> msgspec.Struct:
    """The payload of one liquidation order (a ``ForceOrder``; in 2026's format, its
    encoder's struct)."""
    pd, qd = inst.price_decimals, inst.qty_decimals
    y2026 = payload_format is PayloadFormat.Y2026
    liquidation = LiquidationOrder(
        symbol=inst.symbol,
        pair=inst.pair if y2026 or inst.market is Market.CM else None,
        side="BUY" if order.is_buy else "SELL",
        order_type="LIMIT",
        time_in_force="IOC",
        qty=fixed(order.qty, qd),
        price=fixed(order.price, pd),
        avg_price=fixed(order.avg_price, pd),
        status="FILLED" if order.filled_qty >= order.qty else "EXPIRED",
        last_filled_qty=fixed(order.filled_qty, qd),  # one pass of matching: see above
        filled_qty=fixed(order.filled_qty, qd),
        trade_time=order.time_ms,
    )
    if y2026:  # E, o, and st last (§4.13)
        return _FORCE_ORDER_2026[inst.market](event_ms, liquidation)
    return ForceOrder(event_time=event_ms, order=liquidation)


class ForceOrders:
    """The order kept per symbol for its second, and when the next push is due."""

    __slots__ = ("_encode", "_format", "_kept", "_largest", "next_tick_ms", "wanted")

    def __init__(
        self,
        market: Market,
        encode: Callable[[Any], bytes],
        payload_format: PayloadFormat = PayloadFormat.CLASSIC,
    ) -> None:
        self._largest = market is Market.UM  # else the latest
        self._format = payload_format
        self._encode = encode
        # symbol -> (instrument, its stream name, the order, the end of its second)
        self._kept: dict[str, _Kept] = {}
        self.next_tick_ms = _NEVER_MS
        self.wanted: Demand = None  # the streams somebody takes (market/demand.py); None: all

    def add(self, inst: Instrument, stream: str, order: Liquidation, out: list[StreamMessage]) -> None:
        """Keep ``order`` for its second (pushing a kept order of an earlier second now)."""
        ends_ms = order.time_ms - order.time_ms % SECOND_MS + SECOND_MS
        kept = self._kept.get(inst.symbol)
        if kept is not None:
            if kept[3] < ends_ms:
                self._push(kept, kept[3], out)
            elif self._largest and order.filled_qty <= kept[2].filled_qty:
                return
        self._kept[inst.symbol] = (inst, stream, order, ends_ms)
        if ends_ms < self.next_tick_ms:
            self.next_tick_ms = ends_ms

    def tick(self, now_ms: int, out: list[StreamMessage]) -> None:
        """Push every kept order whose second has ended."""
        if now_ms < self.next_tick_ms:
            return
        next_ms = _NEVER_MS
        for symbol, kept in list(self._kept.items()):
            if kept[3] <= now_ms:
                self._push(kept, now_ms, out)
                del self._kept[symbol]
            elif kept[3] < next_ms:
                next_ms = kept[3]
        self.next_tick_ms = next_ms

    def _push(self, kept: _Kept, event_ms: int, out: list[StreamMessage]) -> None:
        inst, stream, order, _ = kept
        wanted = self.wanted
        one = wanted is None or stream in wanted
        every = wanted is None or ALL_FORCE_ORDER in wanted
        if not (one or every):
            return
        payload = self._encode(force_order(inst, order, event_ms, self._format))
        if one:
            out.append(StreamMessage(stream, payload))
        if every:
            out.append(StreamMessage(ALL_FORCE_ORDER, payload))
