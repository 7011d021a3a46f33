"""Orders from outside the simulator (the venue's, docs/venue.md): they take from the same
books as the simulated flow, print public trades with the symbol's next trade ids, and move
the fair price by the impact law (``impact.py``), issue 33 item 4.

A taker takes level by level as far as its limit (``OrderBook.take``), exactly as the
simulator's own takers do, and never the side's last level; each fill is a public trade
(``@trade``, ``@aggTrade``, klines, tickers) stamped with the order's time. What the
book could not give is the caller's (an insurance fund's fill is printed as a trade at its
price without touching the book, ``print_trade``). Its whole filled quantity then pushes
the fair price (``push``).
"""

from __future__ import annotations

import math

from tickerplant.feeds.simulator.impact import PERMANENT, impact
from tickerplant.feeds.simulator.symbol import SimulatedSymbol
from tickerplant.market.updates import MarketUpdate, Trade

__all__ = ["print_trade", "push", "take"]


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
    fills = book.take(not is_buy, qty, limit)
    taken = changed[not is_buy]
    trades: list[Trade] = []
    trade_id, symbol = state.next_trade_id, state.symbol
    for price, filled in fills:
        trade = Trade(symbol, trade_id, now_ms, price, filled, not is_buy)
        trades.append(trade)
        taken.append(price)
        trade_id += 1
    state.next_trade_id = trade_id
    out.extend(trades)
    return trades


def print_trade(state: SimulatedSymbol, is_buy: bool, qty: int, price: int, now_ms: int) -> Trade:
    """A trade of ``qty`` at ``price`` that no level of the book gave (a liquidation's rest,
    taken by the insurance fund): public, with the next trade id."""
    trade = Trade(state.symbol, state.next_trade_id, now_ms, price, qty, not is_buy)
    state.next_trade_id += 1
    return trade


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
