"""A symbol's bookTicker, trade and aggTrade payloads as bytes around what changes: the
plant's most frequent pushes, one per recorded top, trade or aggregate (spec §4.1, §4.4,
§4.5), assembled with ``%`` instead of a struct built and encoded, whose four decimals were
each written by ``units.fixed`` first.

The templates come from the payloads' encoders (``payloads.Encoders``: the keys each market
and payload format carries, in order, a 2026 `st` included) as ``market/frames.py`` says:
the struct keeps being the one home of the keys. Prices and sizes are never negative, as
the templates' decimal slots require. ``tests/market/test_event_frames.py`` holds every
template equal to its struct's encoding, for every instrument of both markets and both
payload formats.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import msgspec

from tickerplant.market.frames import FALSE, INT, RAW, TRUE, decimal_slot, markers, template
from tickerplant.market.instruments import Instrument
from tickerplant.market.payloads import Encoders
from tickerplant.market.updates import Trade

__all__ = ["EventFrames"]

class EventFrames:
    """``inst``'s bookTicker, trade and aggTrade payloads in the format of ``enc``."""

    __slots__ = ("_agg", "_book", "_normal_qty", "_price", "_qty", "_trade")

    def __init__(
        self, inst: Instrument, enc: Encoders, encode: Callable[[Any], bytes] = msgspec.json.encode
    ) -> None:
        (self._price, p), (self._qty, q) = decimal_slot(inst.price_decimals), decimal_slot(inst.qty_decimals)
        symbol = (inst.symbol, inst.pair) if enc.pair else (inst.symbol,)
        # u [ps] b B a A T E
        m = markers(7)
        make: Any = enc.book_ticker
        self._book = template(encode(make(m[0], *symbol, *m[1:7])), (INT, p, q, p, q, INT, INT))
        # E T t p q m (X: the plant's trades are market trades)
        m = markers(6)
        make = enc.trade
        trade = make(m[0], m[1], inst.symbol, m[2], m[3], m[4], "MARKET", m[5])
        self._trade = template(encode(trade), (INT, INT, INT, p, q, RAW))
        # E a p q [nq] f l T m
        self._normal_qty = enc.normal_qty
        m = markers(9 if enc.normal_qty else 8)
        make = enc.agg_trade
        sizes = (q, q) if enc.normal_qty else (q,)
        slots = (INT, INT, p, *sizes, INT, INT, INT, RAW)
        self._agg = template(encode(make(m[0], m[1], inst.symbol, *m[2:])), slots)

    def book_ticker(
        self, update_id: int, bid_px: int, bid_qty: int, ask_px: int, ask_qty: int, time_ms: int, now_ms: int
    ) -> bytes:
        price, qty = self._price, self._qty
        payload: bytes = self._book % (
            update_id, *divmod(bid_px, price), *divmod(bid_qty, qty), *divmod(ask_px, price),
            *divmod(ask_qty, qty), time_ms, now_ms,
        )  # fmt: skip
        return payload

    def trade(
        self, now_ms: int, time_ms: int, trade_id: int, price: int, qty: int, buyer_is_maker: bool
    ) -> bytes:
        payload: bytes = self._trade % (
            now_ms, time_ms, trade_id, *divmod(price, self._price), *divmod(qty, self._qty),
            TRUE if buyer_is_maker else FALSE,
        )  # fmt: skip
        return payload

    def agg_trade(
        self,
        now_ms: int,
        agg_id: int,
        price: int,
        qty: int,
        first_id: int,
        last_id: int,
        time_ms: int,
        buyer_is_maker: bool,
    ) -> bytes:
        size = divmod(qty, self._qty)
        maker = TRUE if buyer_is_maker else FALSE
        if self._normal_qty:  # USDⓈ-M's nq: the plant's aggregates are all normal orders
            payload: bytes = self._agg % (
                now_ms, agg_id, *divmod(price, self._price), *size, *size, first_id, last_id, time_ms, maker
            )  # fmt: skip
            return payload
        payload = self._agg % (
            now_ms, agg_id, *divmod(price, self._price), *size, first_id, last_id, time_ms, maker
        )  # fmt: skip
        return payload

    def fill(self, trade: Trade, now_ms: int) -> bytes:
        """A simulated fill's `@aggTrade`: each fill is its own aggregate, as a sweep fills
        every level at its own price and aggregates only join fills at one price (§4.4)."""
        tid, price, qty = trade.trade_id, trade.price, trade.qty
        return self.agg_trade(now_ms, tid, price, qty, tid, tid, trade.time_ms, trade.buyer_is_maker)
