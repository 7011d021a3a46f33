"""A placement's margin check, and a placement with its cancel, on an account with 1 and
with 1,000 orders resting on the symbol it places on (three buys under the market to a sell
over it, each at its own price: the buy placed adds to the larger side, so its check values
the account's figures in both runs) and a position there: the open-order margin is kept as
running sums per symbol and side (``venue/ledger/ledger.py``), so neither may grow with the
orders resting. Each is the best of three rounds (the machine is shared). MAX_NUM_ORDERS
(200) is raised for the benchmark's symbol: the cost is per order resting on the symbol,
whatever the filter allows. USDⓈ-M's BTCUSDT and COIN-M's BTCUSD_PERP alike: an inverse
side's sums are integers too (``Contract.order_value``)."""

from __future__ import annotations

import gc
import time
from collections.abc import Iterator
from fractions import Fraction

from tickerplant.market.instruments import Instrument, Market, catalogue
from tickerplant.market.units import fixed
from tickerplant.venue.core.engine import Engine
from tickerplant.venue.wire.order_entry import cancel_order, new_order

from .parts import T0, Counting, Deposits

__all__ = ["run_same_symbol"]

SYMBOLS = {Market.UM: "BTCUSDT", Market.CM: "BTCUSD_PERP"}


class _Around:
    """The symbol's book 20 levels a side around its catalogue price, deep; its mark there."""

    def __init__(self, inst: Instrument) -> None:
        self._inst = inst

    def levels(self, symbol: str, bids: bool) -> Iterator[tuple[int, int]]:
        price, tick = self._inst.initial_price, self._inst.tick
        return iter([(price - tick * (k + 1) if bids else price + tick * k, 10**9) for k in range(20)])

    def quantity_at(self, symbol: str, bids: bool, price: int) -> int:
        return 10**9

    def mark(self, symbol: str) -> Fraction | None:
        return Fraction(self._inst.initial_price, 10**self._inst.price_decimals)

    def book_id(self, symbol: str) -> int | None:
        return None  # fixed levels: every taker meets them whole

    def halted(self, symbol: str) -> bool:
        return False  # no followed book here


def _order(inst: Instrument, side: str, away: int, kind: str = "LIMIT") -> dict[str, str]:
    """A GTC ``away`` ticks beyond 3 % off the market on ``side``'s side (two steps)."""
    base = inst.initial_price // inst.tick * inst.tick
    off = base * 3 // 100 // inst.tick * inst.tick + away * inst.tick
    price = base - off if side == "BUY" else base + off
    quantity = fixed(2 * inst.step, inst.qty_decimals)
    params = {"symbol": inst.symbol, "side": side, "type": kind, "quantity": quantity}
    if kind == "LIMIT":
        params |= {"timeinforce": "GTC", "price": fixed(price, inst.price_decimals)}
    return params


def _engine(market: Market, resting: int) -> tuple[Engine, Instrument, int]:
    instruments = {inst.symbol: inst for inst in catalogue(market, T0)}
    inst = instruments[SYMBOLS[market]]
    engine = Engine(market, list(instruments.values()), _Around(inst), Deposits(1), Counting())  # type: ignore[arg-type]
    listing = engine.listings[inst.symbol]  # the symbol's record, and the filters' map the same object
    listing.filters = engine.filters[inst.symbol] = listing.filters._replace(max_num_orders=resting + 10)
    now = T0
    new_order(engine, 1, _order(inst, "BUY", 0, "MARKET"), now)  # a position on the symbol
    for k in range(resting):
        now += 60  # within the order-rate limits
        new_order(engine, 1, _order(inst, "SELL" if k % 4 == 3 else "BUY", k), now)
    engine.outbox.take()
    assert sum(len(o) for o in engine.ledger(1).open_orders.values()) == resting
    return engine, inst, now


def _time(market: Market, resting: int, pairs: int) -> tuple[float, float]:
    """µs a margin check of a new LIMIT buy, and µs a placement and its cancel."""
    engine, inst, now = _engine(market, resting)
    symbol = inst.symbol
    seat, contract = engine.seat(1, symbol), engine.contracts[symbol]
    mark = engine.mark(symbol)
    placed = new_order(engine, 1, _order(inst, "BUY", 5), now + 60).order
    assert placed is not None
    cancel_order(engine, 1, {"symbol": symbol, "orderid": str(placed.order_id)}, now + 60)
    probe = placed.copy()
    check = pair = float("inf")
    for _ in range(3):
        gc.collect()  # earlier runs' engines, cycles, collected first
        started = time.perf_counter()
        for _ in range(pairs):
            engine.check_margin(seat, contract, probe, probe.orig_qty, mark)
        check = min(check, (time.perf_counter() - started) / pairs * 1e6)
        started = time.perf_counter()
        for _ in range(pairs):
            now += 60
            order = new_order(engine, 1, _order(inst, "BUY", 5), now).order
            assert order is not None
            cancel_order(engine, 1, {"symbol": symbol, "orderid": str(order.order_id)}, now)
        engine.outbox.take()
        pair = min(pair, (time.perf_counter() - started) / pairs * 1e6)
    return check, pair


def run_same_symbol(
    pairs: int, market: Market = Market.UM
) -> tuple[tuple[float, float], tuple[float, float]]:
    """(margin check µs, placement + cancel µs) with 1 and with 1,000 orders resting on the
    symbol placed on, in ``market``."""
    return _time(market, 1, pairs), _time(market, 1000, pairs)
