"""What a source tells the plant: order-book changes and trades, in integer units.

Prices are integers in units of ``10**-price_decimals`` of the instrument, quantities in
units of ``10**-qty_decimals`` (see ``instruments.Instrument``). Integers keep the rolling
sums exact and make formatting a matter of placing a decimal point.
"""

from __future__ import annotations

from typing import NamedTuple

__all__ = [
    "AggTrade",
    "BookUpdate",
    "Level",
    "Liquidation",
    "MarketUpdate",
    "OpenInterest",
    "TopOfBook",
    "Trade",
]


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
    # Publish it as its own aggregate too (`@aggTrade`); False when a source has the real
    # aggregates (a replayed aggTrades file) and sends them as ``AggTrade``.
    as_aggregate: bool = True


class AggTrade(NamedTuple):
    """An aggregate trade as recorded: fills of one taker order at one price (spec §4.4)."""

    symbol: str
    agg_id: int  # strictly increasing per symbol
    first_trade_id: int
    last_trade_id: int
    time_ms: int
    price: int  # price units
    qty: int  # quantity units
    buyer_is_maker: bool
    # Count it in the rolling statistics; False when the symbol's fills come as ``Trade``s
    # too (both files replayed), which must not be counted twice.
    in_stats: bool = True


class TopOfBook(NamedTuple):
    """A recorded best bid and ask (a bookTicker file's row): the book is only its top."""

    symbol: str
    update_id: int  # the recorded bookTicker u
    time_ms: int  # the recorded transaction time T
    event_ms: int  # the recorded event time E
    bid_price: int
    bid_qty: int
    ask_price: int
    ask_qty: int


class Liquidation(NamedTuple):
    """A liquidation order that hit the book (an IOC limit order at the bankruptcy price,
    spec §4.10); its fills came before it as ``Trade``s."""

    symbol: str
    time_ms: int  # the order's trade time
    is_buy: bool  # a short's liquidation buys, a long's sells
    qty: int  # quantity units: the order's original quantity
    price: int  # price units: its limit, the bankruptcy price
    avg_price: int  # price units: the average price of its fills
    filled_qty: int  # quantity units: all its fills


class OpenInterest(NamedTuple):
    """A symbol's open interest now, and optionally its past (a warm start)."""

    symbol: str
    time_ms: int
    qty: int  # quantity units (COIN-M: contracts) held open on one side
    price: int  # price units: the price its value is counted at (the mark price)
    # (time ms, qty units, price units) points before ``time_ms``, ascending; usually none
    history: tuple[tuple[int, int, int], ...] = ()


MarketUpdate = BookUpdate | Trade | AggTrade | TopOfBook | Liquidation | OpenInterest
