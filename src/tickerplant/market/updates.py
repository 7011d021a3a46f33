"""What a source tells the plant: order-book changes and trades, in integer units.

Prices are integers in units of ``10**-price_decimals`` of the instrument, quantities in
units of ``10**-qty_decimals`` (see ``instruments.Instrument``). Integers keep the rolling
sums exact and make formatting a matter of placing a decimal point.
"""

from __future__ import annotations

from typing import NamedTuple

__all__ = ["BookUpdate", "Level", "MarketUpdate", "Trade"]


class Level(NamedTuple):
    price: int  # price units
    qty: int  # quantity units; the absolute new quantity at this price, 0 removes the level


class BookUpdate(NamedTuple):
    """Levels of one symbol's book that changed under one order-book update id."""

    symbol: str
    update_id: int  # strictly increasing per symbol
    time_ms: int  # matching-engine (transaction) time
    bids: tuple[Level, ...]
    asks: tuple[Level, ...]


class Trade(NamedTuple):
    symbol: str
    trade_id: int  # strictly increasing per symbol
    time_ms: int  # trade time
    price: int  # price units
    qty: int  # quantity units
    buyer_is_maker: bool  # True when the seller was the aggressor


MarketUpdate = BookUpdate | Trade
