"""Orders from outside the simulator (the venue's, docs/venue.md): they take from the same
books as the simulated flow, print public trades with the symbol's next trade ids, and move
the fair price by the impact law (``impact.py``); what they leave resting is held in the
book, where the simulated flow trades it (``simulated_book.py``).

A taker takes level by level as far as its limit (``OrderBook.take``), exactly as the
simulator's own takers do, and never the side's last level; each fill is a public trade
(``@trade``, ``@aggTrade``, klines, tickers) stamped with the order's time. What the
book could not give is the caller's (an insurance fund's fill is printed as a trade at its
price without touching the book, ``print_trade``). Its whole filled quantity then pushes
the fair price (``push``).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping

from tickerplant.feeds.simulator.impact import PERMANENT, impact
from tickerplant.feeds.simulator.simulated_book import MakerFill
from tickerplant.feeds.simulator.symbol import SimulatedSymbol
from tickerplant.market.updates import MarketUpdate, Trade

__all__ = ["OutsideOrders", "print_trade", "push", "take"]


class OutsideOrders:
    """The simulator's door for outside orders (``Simulator.outside``): each call returns
    the updates to publish, the changed levels flushed as one ``BookUpdate``."""

    def __init__(
        self, states: Mapping[str, SimulatedSymbol], changed: tuple[list[int], list[int]],
        flush: Callable[[SimulatedSymbol, int, list[MarketUpdate]], None], random: Callable[[], float],
        daily_volume: Callable[[str], float],
    ) -> None:  # fmt: skip
        self._states = states
        self._changed = changed
        self._flush = flush
        self._random = random
        self._daily_volume = daily_volume

    def take(
        self, symbol: str, is_buy: bool, qty: int, limit: int, now_ms: int
    ) -> tuple[list[Trade], list[MarketUpdate]]:
        """A taker order: what it traded, and every update to publish (its trades, then the
        book it changed, kept deep). The venue's orders it met are in ``matched``."""
        state, out = self._states[symbol], list[MarketUpdate]()
        trades = take(state, is_buy, qty, limit, now_ms, self._changed, out)
        push(state, is_buy, sum(t.qty for t in trades), self._daily_volume(symbol))
        state.shape.keep_depth(state.book, self._random, self._changed)
        self._flush(state, now_ms, out)
        return trades, out

    def print_trade(self, symbol: str, is_buy: bool, qty: int, price: int, now_ms: int) -> Trade:
        """A fill no level gave (``print_trade``), its impact too."""
        state = self._states[symbol]
        push(state, is_buy, qty, self._daily_volume(symbol))
        return print_trade(state, is_buy, qty, price, now_ms)

    def rest(
        self, symbol: str, key: int, is_bid: bool, price: int, qty: int, now_ms: int, ahead: int | None = None
    ) -> tuple[int, list[MarketUpdate]]:
        """An order resting at ``price`` from now (``simulated_book.py``): the quantity ahead of it in
        its level's queue (``ahead``: a restored order's place, at most the level), and the
        update to publish."""
        state = self._states[symbol]
        ahead = state.book.hold(key, is_bid, price, qty, ahead)
        self._changed[is_bid].append(price)
        out: list[MarketUpdate] = []
        self._flush(state, now_ms, out)
        return ahead, out

    def withdraw(self, symbol: str, key: int, now_ms: int) -> list[MarketUpdate]:
        """Order ``key`` leaves the book: the update to publish (none: nothing of it rested)."""
        state = self._states[symbol]
        order = state.book.withdraw(key)
        if order is None:
            return []
        self._changed[order.is_bid].append(order.price)
        out: list[MarketUpdate] = []
        self._flush(state, now_ms, out)
        return out

    def matched(self, symbols: Iterable[str] | None = None) -> list[tuple[str, MakerFill]]:
        """The resting orders' fills by trades since the last call, each with its symbol: of
        ``symbols`` (one market's: the others' wait for their own market's engine), or of all."""
        # looked at on every delivery with a trade while orders rest: no copies
        states = self._states.values() if symbols is None else map(self._states.__getitem__, symbols)
        return [(state.symbol, fill) for state in states if state.book.matched for fill in state.book.drain()]


def take(
    state: SimulatedSymbol, is_buy: bool, qty: int, limit: int, now_ms: int,
    changed: tuple[list[int], list[int]], out: list[MarketUpdate],
) -> list[Trade]:  # fmt: skip
    """``qty`` (quantity units) taken from the side opposite ``is_buy``, no level beyond
    ``limit``: the trades, also appended to ``out``; the levels it changed to ``changed``."""
    book = state.book
    prices = book.ask_prices if is_buy else book.bid_prices  # both ascending
    if len(prices) < 2:
        return []
    # never a side bare, as the simulator's own takers (its farthest level stays)
    limit = min(limit, prices[-2]) if is_buy else max(limit, prices[1])
    fills = book.take(not is_buy, qty, limit, state.next_trade_id, now_ms)
    taken = changed[not is_buy]
    trades: list[Trade] = []
    for price, filled in fills:
        trades.append(state.trade(now_ms, price, filled, not is_buy))
        taken.append(price)
    out.extend(trades)
    return trades


def print_trade(state: SimulatedSymbol, is_buy: bool, qty: int, price: int, now_ms: int) -> Trade:
    """A trade of ``qty`` at ``price`` that no level of the book gave (a liquidation's rest,
    taken by the insurance fund): public, with the next trade id."""
    return state.trade(now_ms, price, qty, not is_buy)


def push(state: SimulatedSymbol, is_buy: bool, qty: int, daily_volume: float) -> None:
    """The impact of a taker's ``qty`` on its asset's fair price: half at once for good, half
    transient (``impact.py``)."""
    move = impact(state.inst.daily_volatility, qty, daily_volume)
    if not move:
        return
    move = move if is_buy else -move
    driver = state.driver
    driver.factor *= math.exp(PERMANENT * move)
    driver.pressure += (1.0 - PERMANENT) * move
