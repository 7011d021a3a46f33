"""The simulated book as the venue's engine trades in it (issue 33, item 4; docs/venue.md,
"How orders fill"): one book for the simulated flow and the venue's takers.

The engine reads the simulator's own book (``levels``, best first: the book its takers
will meet, not a view a push behind) and the mark its listener's view holds (``mark``).
A taker trades in it (``Simulator.take_order``: public trades with the symbol's next ids,
the fair price pushed by the impact law); the updates it made are the simulated market's
like any others, published through the plants and the bus by ``SimulatedMarket.outside``
on the next turn of the loop, and always before the simulator's next step, so trade ids
reach the streams in order. Publishing is deferred rather than done under the engine's
command: the bus delivers synchronously, and the engine, its algo orders and its watch
take the market's messages, which must not reach them in the middle of a command.
"""

from __future__ import annotations

from collections.abc import Iterator
from fractions import Fraction
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from tickerplant.feeds.simulator.pump import SimulatedMarket

__all__ = ["OneBook"]


class Marks(Protocol):
    """Where the mark prices are read (the venue's ``PublishedMarket``)."""

    def mark(self, symbol: str) -> Fraction | None: ...


class OneBook:
    """The engine's market (``venue.engine.MarketData``) and its book (``OneBook``)."""

    def __init__(self, source: SimulatedMarket, marks: Marks) -> None:
        assert source.simulator is not None, "prepare() first"
        self._source = source
        self._simulator = source.simulator
        self._marks = marks

    def levels(self, symbol: str, bids: bool) -> Iterator[tuple[int, int]]:
        """One side of the simulator's book, best first (price units, quantity units)."""
        book = self._simulator.books.get(symbol)
        return iter(()) if book is None else book.levels(bids)

    def mark(self, symbol: str) -> Fraction | None:
        return self._marks.mark(symbol)

    def take(self, symbol: str, buy: bool, qty: int, limit: int, now_ms: int) -> list[tuple[int, int, int]]:
        trades, updates = self._simulator.take_order(symbol, buy, qty, limit, now_ms)
        self._source.outside(updates, now_ms)
        return [(t.price, t.qty, t.trade_id) for t in trades]

    def print_trade(self, symbol: str, buy: bool, qty: int, price: int, now_ms: int) -> int:
        trade = self._simulator.print_trade(symbol, buy, qty, price, now_ms)
        self._source.outside([trade], now_ms)
        return trade.trade_id
