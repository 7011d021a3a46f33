"""A liquidation order hitting a simulated book (spec §4.10).

When the mark price crosses a tracked position's liquidation price (``positions``), the
exchange closes it with an IOC limit order at its bankruptcy price: a long's is a sell, a
short's a buy. It is a real taker order through the book's matching: it fills level by
level down (up) to its limit, but through ``_SWEEP`` levels at most and never below the
book's promised depth (the price protection a taker order has, wider), and its fills are
``Trade``s like any other, on `@trade` and `@aggTrade`. What it cannot fill is dropped
(no insurance fund, no auto-deleveraging).

A forced order moves the market: its last fill becomes the fair price when it lies beyond
it (the permanent impact of a large order), so the mark follows, and the next position's
liquidation price may now be crossed too: a fast move makes a cascade.
"""

from __future__ import annotations

from tickerplant.feeds.simulator.positions import Position
from tickerplant.feeds.simulator.symbol import SimulatedSymbol
from tickerplant.market.updates import Liquidation, MarketUpdate

__all__ = ["liquidate"]

_SWEEP = 24  # levels a liquidation order reaches at most: three times a taker order's


def liquidate(
    state: SimulatedSymbol,
    position: Position,
    now_ms: int,
    changed: tuple[list[int], list[int]],
    out: list[MarketUpdate],
) -> Liquidation | None:
    """Send ``position``'s liquidation order into ``state``'s book: its ``Trade``s go to
    ``out``, the prices it took to ``changed`` (``(asks, bids)``), and the order is
    returned, or None when nothing could fill."""
    book = state.book
    is_buy = not position.is_long
    prices = book.ask_prices if is_buy else book.bid_prices
    reach = min(_SWEEP, len(prices) - state.shape.levels)
    if reach < 1:
        return None
    if is_buy:
        limit = min(position.bankruptcy, prices[reach - 1])
    else:
        limit = max(position.bankruptcy, prices[-reach])
    fills = book.take(not is_buy, position.qty, limit, state.next_trade_id, now_ms)
    if not fills:
        return None
    taken = changed[not is_buy]
    filled = notional = 0
    for price, qty in fills:
        out.append(state.trade(now_ms, price, qty, not is_buy))
        filled += qty
        notional += price * qty
        taken.append(price)
    last = fills[-1]
    if (last.price > state.fair()) if is_buy else (last.price < state.fair()):
        state.driver.factor = last.price / state.base_price  # the impact: see the docstring
    average = (notional + filled // 2) // filled
    return Liquidation(state.symbol, now_ms, is_buy, position.qty, position.bankruptcy, average, filled)
