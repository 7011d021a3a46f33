"""What the venue's engine reads and writes outside itself, as ports (sans-I/O): the market
it trades against, the simulated book its takers trade in (when there is one), and the
journal it commits to. The adapters: ``published.PublishedMarket``,
``feeds/simulator/one_book.OneBook`` and ``group_commit.Stamped``."""

from __future__ import annotations

from collections.abc import Iterator
from fractions import Fraction
from typing import Protocol

from tickerplant.venue.domain.events import Batch

__all__ = ["Journal", "MarketData", "OneBook"]


class MarketData(Protocol):
    """The simulated market as the engine reads it."""

    def levels(self, symbol: str, bids: bool) -> Iterator[tuple[int, int]]: ...  # best first

    def quantity_at(self, symbol: str, bids: bool, price: int) -> int: ...  # 0: no such level

    def mark(self, symbol: str) -> Fraction | None: ...

    def book_id(self, symbol: str) -> int | None:
        """An id that changes whenever ``symbol``'s book does (its last update id), None where
        the book has none (fixed levels): what a venue taker took of it is gone until it
        changes (``markets.ObservedMarket.take``)."""
        ...

    def halted(self, symbol: str) -> bool:
        """Whether ``symbol``'s book is one followed from elsewhere (a relay's upstream, a
        recording) and has none in sync: its stream was lost, or has not synced yet. The
        venue then takes no order there (``placement.HALTED``): it would meet an empty book."""
        ...


class OneBook(Protocol):
    """The simulated book the venue's takers trade in (``feeds/simulator/one_book.py``):
    their fills are public trades, with the trade ids the fills carry."""

    def take(self, symbol: str, buy: bool, qty: int, limit: int, now_ms: int) -> list[tuple[int, int, int]]:
        """Taker fills (price, quantity, public trade id), no level beyond ``limit``."""
        ...

    def print_trade(self, symbol: str, buy: bool, qty: int, price: int, now_ms: int) -> int:
        """A public trade no level gave (an insurance fund's fill): its trade id."""
        ...

    def rest(
        self, symbol: str, order_id: int, buy: bool, price: int, qty: int, now_ms: int, ahead: int | None
    ) -> int:
        """A resting order joins its level's queue (``ahead``: a restored one's place, at most
        the level): the quantity ahead of it."""
        ...

    def withdraw(self, symbol: str, order_id: int, now_ms: int) -> None:
        """A resting order leaves the book (whatever of it still rests)."""
        ...

    def matched(self, symbol: str | None = None) -> list[tuple[str, int, int, int, int]]:
        """Resting orders' fills since the last call: (symbol, order id, trade id, quantity,
        the trade's time); ``symbol``'s alone when given (the others' wait for their next call)."""
        ...


class Journal(Protocol):
    def commit(self, batch: Batch) -> None: ...
