"""The simulated book as the venue's engine trades in it (docs/venue.md,
"How orders fill"): one book for the simulated flow and the venue's takers.

The engine reads the simulator's own book (``levels``, best first: the book its takers
will meet, not a view a push behind) and the mark its listener's view holds (``mark``).
A taker trades in it (``OutsideOrders.take``: public trades with the symbol's next ids,
the fair price pushed by the impact law); what rests is held in it (``rest``, ``simulated_book.py``),
in the public depth, and the simulated flow's trades fill it (``matched``), as the venue's
takers' do. The updates these make are the simulated market's
like any others, published through the plants and the bus by ``SimulatedMarket.outside``
on the next turn of the loop, and always before the simulator's next step, so trade ids
reach the streams in order. Publishing is deferred rather than done under the engine's
command: the bus delivers synchronously, and the engine, its algo orders and its watch
take the market's messages, which must not reach them in the middle of a command.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
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

    def __init__(self, source: SimulatedMarket, marks: Marks, symbols: Iterable[str]) -> None:
        """``symbols``: the engine's market's (the simulator trades both markets' in one)."""
        assert source.simulator is not None, "prepare() first"
        self._source = source
        self._simulator = source.simulator
        self._marks = marks
        self._symbols = tuple(symbols)

    def levels(self, symbol: str, bids: bool) -> Iterator[tuple[int, int]]:
        """One side of the simulator's book, best first (price units, quantity units)."""
        book = self._simulator.books.get(symbol)
        return iter(()) if book is None else book.levels(bids)

    def quantity_at(self, symbol: str, bids: bool, price: int) -> int:
        book = self._simulator.books.get(symbol)
        return 0 if book is None else book.quantity(bids, price)

    def mark(self, symbol: str) -> Fraction | None:
        return self._marks.mark(symbol)

    def book_id(self, symbol: str) -> int | None:
        return None  # its takers trade in the book itself (``take``): it is never walked

    def halted(self, symbol: str) -> bool:
        return False  # the simulated book is this process' own: always there

    def take(self, symbol: str, buy: bool, qty: int, limit: int, now_ms: int) -> list[tuple[int, int, int]]:
        trades, updates = self._simulator.outside.take(symbol, buy, qty, limit, now_ms)
        self._source.outside(updates, now_ms)
        return [(t.price, t.qty, t.trade_id) for t in trades]

    def print_trade(self, symbol: str, buy: bool, qty: int, price: int, now_ms: int) -> int:
        trade = self._simulator.outside.print_trade(symbol, buy, qty, price, now_ms)
        self._source.outside([trade], now_ms)
        return trade.trade_id

    def rest(
        self, symbol: str, order_id: int, buy: bool, price: int, qty: int, now_ms: int, ahead: int | None
    ) -> int:
        ahead, updates = self._simulator.outside.rest(symbol, order_id, buy, price, qty, now_ms, ahead)
        self._source.outside(updates, now_ms)
        return ahead

    def withdraw(self, symbol: str, order_id: int, now_ms: int) -> None:
        updates = self._simulator.outside.withdraw(symbol, order_id, now_ms)
        if updates:
            self._source.outside(updates, now_ms)

    def matched(self, symbol: str | None = None) -> list[tuple[str, int, int, int, int]]:
        if symbol is not None:  # before each command on it (``resting.settle_pending``): mostly none
            book = self._simulator.books.get(symbol)
            if book is None or not book.matched:
                return []
        # its market's alone: another market's fills are its engine's (no order of theirs is here)
        matched = self._simulator.outside.matched(self._symbols if symbol is None else (symbol,))
        return [(symbol, f.key, f.trade_id, f.qty, f.time_ms) for symbol, f in matched]
