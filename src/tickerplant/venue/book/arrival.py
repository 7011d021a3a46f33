"""The market an order arrived at, kept on the order for the run's report: the best bid plus
the best ask (twice the mid, exact in price units), read before the order takes anything.

Slippage against the mid at arrival (the implementation shortfall of Perold, 1988) needs
the mid as it stood before the order moved it; the journal keeps it on the order's row
(``Order.arrival_mid_x2``), as nothing else of the book is journaled."""

from __future__ import annotations

from tickerplant.venue.book.ports import MarketData

__all__ = ["arrival_mid_x2"]


def arrival_mid_x2(data: MarketData, symbol: str) -> int:
    """``symbol``'s best bid plus best ask in price units; 0 when a side is empty."""
    bid = next(iter(data.levels(symbol, True)), None)
    ask = next(iter(data.levels(symbol, False)), None)
    return bid[0] + ask[0] if bid is not None and ask is not None else 0
