"""The simulated market as the engine reads it: the book and the mark price a listener's
market view holds (``market/plant/view.py``), built from the same messages the streams
carry, so an order meets the book a client sees in ``depth`` and the mark in
``premiumIndex``."""

from __future__ import annotations

from collections.abc import Iterator
from fractions import Fraction

from tickerplant.market.plant.view import MarketView

__all__ = ["PublishedMarket"]


class PublishedMarket:
    def __init__(self, view: MarketView) -> None:
        self._view = view

    def levels(self, symbol: str, bids: bool) -> Iterator[tuple[int, int]]:
        """One side's levels, best first (price units, quantity units)."""
        symbol_view = self._view.symbol(symbol)
        if symbol_view is None:
            return iter(())
        return self._view.book(symbol_view).levels(bids)

    def quantity_at(self, symbol: str, bids: bool, price: int) -> int:
        symbol_view = self._view.symbol(symbol)
        return 0 if symbol_view is None else self._view.book(symbol_view).quantity(bids, price)

    def mark(self, symbol: str) -> Fraction | None:
        return self._view.marks.mark_price(symbol)

    def book_id(self, symbol: str) -> int | None:
        """The book's last update id (the diff-depth stream's ``u``; a top-of-book-only
        book's, the bookTicker's), None before it has one."""
        symbol_view = self._view.symbol(symbol)
        if symbol_view is None:
            return None
        return self._view.book(symbol_view).last_update_id or None

    def halted(self, symbol: str) -> bool:
        """A followed book (its source sent whole books, ``view.book_kept``) with none in sync
        (id 0: its stream lost, or not synced yet), not a source that keeps no book at all
        (a replay of trades alone, public files: their top of book stands in)."""
        symbol_view = self._view.symbol(symbol)
        if symbol_view is None or not symbol_view.book_kept:
            return False
        return not self._view.book(symbol_view).last_update_id
