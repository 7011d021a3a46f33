"""A book's levels as wire text, kept in step with the book (spec §7.4, §6.1).

A depth answer of 1,000 levels a side is 4,000 decimals to format, and a Python loop over
2,000 levels costs about a millisecond, while the book it comes from moves a few levels
at a time. So the market view keeps, beside each symbol's book, the text of every level,
``["<price>","<qty>"]``, and is told which prices an event touched; an answer then
refreshes only those and joins the texts of the top N prices at C speed.

Bounded by design: the texts mirror the book's levels at the last answer (a removed
level's text goes with it), and the prices touched since then are at most ``_STALE_MAX``
(8,192) a side, whether anybody asks or not: past that, the texts are simply written again
from the book at the next answer, and touched prices are not gathered until then.
"""

from __future__ import annotations

from collections.abc import Iterable

from tickerplant.market.book.order_book import OrderBook
from tickerplant.market.units import fixed

__all__ = ["BookText"]

_STALE_SLACK = 1024
# Touched prices gathered a side at most: with nobody asking for depth, a book that wanders
# would otherwise gather every price it ever touched.
_STALE_MAX = 8192


class BookText:
    """The level texts of one book, at its symbol's price and quantity decimals."""

    __slots__ = ("_asks", "_bids", "_stale_asks", "_stale_bids", "_whole", "price_decimals", "qty_decimals")

    def __init__(self, price_decimals: int, qty_decimals: int) -> None:
        self.price_decimals = price_decimals
        self.qty_decimals = qty_decimals
        self._bids: dict[int, bytes] = {}  # price -> its level's text, for every level
        self._asks: dict[int, bytes] = {}
        self._stale_bids: set[int] = set()  # prices touched since the texts were refreshed
        self._stale_asks: set[int] = set()
        self._whole = True  # the texts must be written again from the book

    def touched(self, bids: Iterable[int], asks: Iterable[int]) -> None:
        """Prices whose quantity may have changed (including removed levels)."""
        if self._whole:
            return  # every text is written again anyway
        stale_bids, stale_asks = self._stale_bids, self._stale_asks
        stale_bids.update(bids)
        stale_asks.update(asks)
        if len(stale_bids) > _STALE_MAX or len(stale_asks) > _STALE_MAX:
            self.replaced()

    def replaced(self) -> None:
        """The whole book was replaced (a snapshot, a clear)."""
        self._whole = True
        self._stale_bids.clear()
        self._stale_asks.clear()

    def answer(self, book: OrderBook, limit: int) -> bytes:
        """``"bids":[…],"asks":[…]}``: the tail of a depth answer, the best ``limit``
        levels a side, best first."""
        self._refresh(book)
        if limit <= 0:
            return b'"bids":[],"asks":[]}'
        bids = b",".join(map(self._bids.__getitem__, reversed(book.bid_prices[-limit:])))
        asks = b",".join(map(self._asks.__getitem__, book.ask_prices[:limit]))
        return b'"bids":[%s],"asks":[%s]}' % (bids, asks)

    def __len__(self) -> int:
        return len(self._bids) + len(self._asks)

    @property
    def pending(self) -> int:
        """Touched prices gathered for the next answer: at most ``_STALE_MAX`` a side."""
        return len(self._stale_bids) + len(self._stale_asks)

    def _refresh(self, book: OrderBook) -> None:
        levels = len(book.bids) + len(book.asks)
        if len(self._stale_bids) + len(self._stale_asks) > 4 * levels + _STALE_SLACK:
            self.replaced()
        if self._whole:
            self._whole = False
            self._bids = {price: self._text(price, qty) for price, qty in book.bids.items()}
            self._asks = {price: self._text(price, qty) for price, qty in book.asks.items()}
            return
        sides = ((self._stale_bids, self._bids, book.bids), (self._stale_asks, self._asks, book.asks))
        for stale, texts, side in sides:
            for price in stale:
                qty = side.get(price)
                if qty is None:
                    texts.pop(price, None)
                else:
                    texts[price] = self._text(price, qty)
            stale.clear()

    def _text(self, price: int, qty: int) -> bytes:
        pd, qd = self.price_decimals, self.qty_decimals
        return b'["%s","%s"]' % (fixed(price, pd).encode(), fixed(qty, qd).encode())
