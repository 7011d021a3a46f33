"""What a source tells the plant: order-book changes and trades, in integer units.

Prices are integers in units of ``10**-price_decimals`` of the instrument, quantities in
units of ``10**-qty_decimals`` (see ``instruments.Instrument``). Integers keep the rolling
sums exact and make formatting a matter of placing a decimal point.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable
from typing import NamedTuple, cast

__all__ = [
    "MARK_DECIMALS",
    "AggTrade",
    "BookUpdate",
    "FundingRate",
    "IndexPrice",
    "Level",
    "Liquidation",
    "MarkPrice",
    "MarketUpdate",
    "OpenInterest",
    "TopOfBook",
    "Trade",
    "levels",
]


class Level(NamedTuple):
    price: int  # price units
    qty: int  # quantity units; the absolute new quantity at this price, 0 removes the level


# ``Level(price, qty)`` from the pair ``(price, qty)``, as ``Level``'s own ``__new__`` makes it
# (``tuple.__new__`` of the class), without that Python-level call
_level = cast(Callable[[tuple[int, int]], Level], functools.partial(tuple.__new__, Level))


def levels(prices: Iterable[int], qtys: Iterable[int]) -> tuple[Level, ...]:
    """A ``Level`` of each price and quantity, in C: a whole book's (every server's start
    makes 7,600) in half the time ``Level`` takes."""
    return tuple(map(_level, zip(prices, qtys, strict=True)))


class BookUpdate(NamedTuple):
    """Levels of one symbol's book that changed under one order-book update id.

    ``next_id`` is the id the source reserves for the symbol's next update: the next
    ``BookUpdate``'s ``update_id`` is at least this, and the ids between (the simulator's
    hidden ones, spec §4.9: live chains skip ids) are never sent. A snapshot of the book as
    this update leaves it reports ``next_id`` as its ``lastUpdateId``, so the next diff event
    of every speed holds it in ``[U, u]`` even when nothing moved since the last one
    (``market/book/depth.py``)."""

    symbol: str
    update_id: int  # strictly increasing per symbol
    time_ms: int  # matching-engine (transaction) time
    bids: tuple[Level, ...]
    asks: tuple[Level, ...]
    next_id: int  # reserved for the symbol's next update: > update_id


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
    # That aggregate's id (the simulator's own sequence, spec §4.4); 0: the trade id (a
    # replayed trades file, which has none)
    agg_id: int = 0


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


# -- derivatives data: mark price, index, funding (spec §4.6, §4.12, §7.9) ------------------
#
# The source computes them (``market/derivatives/mark_price.py`` holds the formulas) and the plant only
# formats and paces them, so a simulator and a replay of Binance's files feed it alike.

MARK_DECIMALS = 8  # mark, index and settle prices and rates: Binance writes 8 decimals (§4.6)


class MarkPrice(NamedTuple):
    """A symbol's mark price and funding state at one moment; prices and rates in units of
    ``10**-MARK_DECIMALS`` (a rate of 0.01 % is 10,000)."""

    symbol: str
    time_ms: int  # when the source computed it
    mark_price: int  # p
    index_price: int  # i
    settle_price: int  # P: estimated settle price (meaningful in the hour before settlement)
    funding_rate: int | None  # r: the funding rate the next funding would pay; None: delivery
    interest_rate: int | None  # premiumIndex interestRate; None for a delivery contract
    next_funding_ms: int  # T: next funding time; 0 for a delivery contract
    # the premium index the funding samples, [max(0, impact bid − index) − max(0, index −
    # impact ask)] / index (``mark_price.premium_index``), for premiumIndexKlines (§7.8);
    # None where the source does not know it (a relay, a recording): the views then derive
    # one from p and i (``market/klines/price_candles.py``)
    premium_index: int | None = None


class IndexPrice(NamedTuple):
    """A COIN-M pair's index price (`<pair>@indexPrice`, §4.12), in ``MARK_DECIMALS`` units."""

    pair: str  # "BTCUSD"
    time_ms: int
    price: int

    @property
    def symbol(self) -> str:
        """The name a source's dispatch routes by: an index belongs to its pair."""
        return self.pair


class FundingRate(NamedTuple):
    """One funding event of a perpetual (a row of `GET /fapi/v1/fundingRate`, §7.9)."""

    symbol: str
    funding_ms: int  # the funding time: 00:00, 08:00 or 16:00 UTC
    rate: int  # MARK_DECIMALS units
    mark_price: int  # the mark price at the funding time, MARK_DECIMALS units



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



MarketUpdate = (
    BookUpdate | Trade | AggTrade | TopOfBook
    | MarkPrice | IndexPrice | FundingRate | Liquidation | OpenInterest
)  # fmt: skip
