"""A placement and its cancel on an account with no open order, then on the same account
with 200 open orders on every symbol but the one it places on (MAX_NUM_ORDERS each, ~5,000
in all): the margin check values every symbol the account is active on, and what that costs
must not grow with the orders resting there (docs/venue.md, "History" and the margin check)."""

from __future__ import annotations

import gc
import math
import time
from collections.abc import Iterator
from fractions import Fraction

from tickerplant.market.instruments import Instrument, Market, catalogue
from tickerplant.market.units import fixed
from tickerplant.venue.core.engine import Engine
from tickerplant.venue.wire.order_entry import cancel_order, new_order

from .parts import T0, Counting, Deposits

__all__ = ["run_open_orders"]


class _EachAtItsPrice:
    """Every symbol's book 20 levels a side around its catalogue price, deep; its mark there."""

    def __init__(self, instruments: dict[str, Instrument]) -> None:
        self._inst = instruments
        self._marks = {s: Fraction(i.initial_price, 10**i.price_decimals) for s, i in instruments.items()}

    def levels(self, symbol: str, bids: bool) -> Iterator[tuple[int, int]]:
        inst = self._inst[symbol]
        price, tick = inst.initial_price, inst.tick
        return iter([(price - tick * (k + 1) if bids else price + tick * k, 10**9) for k in range(20)])

    def quantity_at(self, symbol: str, bids: bool, price: int) -> int:
        return 10**9

    def mark(self, symbol: str) -> Fraction | None:
        # one object a symbol, as the served market data's (``MarkPrices.mark_price`` reads a
        # payload once): a figure kept at a mark knows it by identity, not a Fraction compare
        return self._marks[symbol]

    def book_id(self, symbol: str) -> int | None:
        return None  # fixed levels: every taker meets them whole

    def halted(self, symbol: str) -> bool:
        return False  # no followed book here


def _limit(inst: Instrument, below: int) -> dict[str, str]:
    """A BUY 3 % under the market, ``below`` ticks lower, worth about 7 USDT (MIN_NOTIONAL)."""
    price = inst.initial_price * 97 // 100 // inst.tick * inst.tick - below * inst.tick
    worth = 7 * 10**inst.price_decimals * 10**inst.qty_decimals  # 7 USDT in price × quantity units
    units = max(inst.min_qty, math.ceil(worth / price / inst.step) * inst.step)
    quantity, text = fixed(units, inst.qty_decimals), fixed(price, inst.price_decimals)
    return {"symbol": inst.symbol, "side": "BUY", "type": "LIMIT", "timeinforce": "GTC", "quantity": quantity,
            "price": text}  # fmt: skip


def run_open_orders(pairs: int) -> tuple[float, float, int]:
    """µs a placement and its cancel with no open order and with the rest of the symbols
    full; the open orders of the second."""
    instruments = {inst.symbol: inst for inst in catalogue(Market.UM, T0)}
    market = _EachAtItsPrice(instruments)
    engine = Engine(Market.UM, list(instruments.values()), market, Deposits(1), Counting())  # type: ignore[arg-type]
    now = T0
    placing = instruments["BTCUSDT"]

    def place_and_cancel() -> float:
        nonlocal now
        gc.collect()  # earlier runs' engines, cycles, collected first
        started = time.perf_counter()
        for _ in range(pairs):
            now += 60  # within the order-rate limits
            placed = new_order(engine, 1, _limit(placing, 0), now).order
            assert placed is not None
            cancel_order(engine, 1, {"symbol": "BTCUSDT", "orderid": str(placed.order_id)}, now)
        return (time.perf_counter() - started) / pairs * 1e6

    alone = place_and_cancel()
    for inst in instruments.values():
        if inst is not placing:
            for below in range(200):
                now += 60
                new_order(engine, 1, _limit(inst, below), now)
    engine.outbox.take()
    full = sum(len(orders) for orders in engine.ledger(1).open_orders.values())
    return alone, place_and_cancel(), full
