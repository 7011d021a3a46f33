"""A price-level limit order book in integer units.

Each side is a ``dict`` from price to the quantity resting there, for O(1) lookups and
updates by price, plus a sorted list of the same prices, so that the best level is an
index away and the top N a slice. Both sides' price lists are kept **ascending**: the best
bid is the last bid price, the best ask the first ask price. Binance books hold at most a
few thousand levels per side, where ``bisect.insort`` into a list beats any tree we could
write in Python. Adding or removing a level moves the prices beyond it (near the best ask,
the whole list): in the simulator's 1,000-level books that is some 220 list slots per
action on average, a few tens of nanoseconds, under 1 % of the action's cost (measured at
its maximum rate, both markets), so plain lists stay.

The plant mirrors books from ``BookUpdate``s with this class (spec §4.9: every level in an
update carries the absolute new quantity, 0 removes it); the simulator matches on it.

Bounded by the levels it holds: each side's dict and price list. A dict that churns (levels
come and go, a thousand held) does not stay at the table it was built in: CPython never
reuses a deleted entry, so once the table's entries are spent it is rebuilt at the next
power of two at or above three times the keys held, 4,096 slots (73 kB) for 683 to 1,365
levels, twice the 2,048 (37 kB) that building the book gave it. ``settle`` gives a book that
table from the start (``settle_table``): the deep simulated books' dicts (the simulator's,
the plant's, the views') otherwise doubled one by one over the first minutes, ~9 MB across
the catalogue's 40 symbols, growth a soak cannot tell from a leak.
"""

from __future__ import annotations

import sys
from bisect import bisect_left, insort
from collections.abc import Iterable, Iterator
from operator import itemgetter
from typing import TypeVar

from tickerplant.market.updates import BookUpdate, Level

__all__ = ["OrderBook", "settle_table"]

_V = TypeVar("_V")
_PROBE = -1  # never a price: prices are positive units
_QTY = itemgetter(1)  # a level's quantity


def _resting(update: BookUpdate) -> bool:
    """Whether every level of ``update`` rests something (none removes a level, or is refused)."""
    return min(map(_QTY, update.bids), default=1) > 0 and min(map(_QTY, update.asks), default=1) > 0


def settle_table(side: dict[int, _V]) -> None:
    """Rebuild ``side``'s hash table now as churn would rebuild it (see the module's
    docstring): a key added and removed until the table's spare entries run out, which
    rebuilds it for the keys held. A few hundred dict operations; afterwards the table is
    rebuilt at the same size each time its entries run out, for as long as the keys held stay
    within the same third of a power of two. Nothing on an empty dict, or where dicts keep
    their table another way (the loop is bounded by the entries a table can hold)."""
    if not side:
        return
    size = sys.getsizeof(side)
    filler = next(iter(side.values()))
    for _ in range(2 * len(side) + 8):
        side[_PROBE] = filler
        del side[_PROBE]
        if sys.getsizeof(side) != size:
            return


class OrderBook:
    """One symbol's book: resting quantity per price level, with the best levels at hand.

    ``bids``/``asks`` and ``bid_prices``/``ask_prices`` are public for readers that walk
    the book (depth snapshots, the simulator); change them only through ``set_level``,
    ``apply``, ``load`` and ``take``, which keep each dict and its price list in step.
    """

    __slots__ = ("ask_prices", "asks", "bid_prices", "bids", "last_update_id", "next_update_id")

    def __init__(self) -> None:
        self.bids: dict[int, int] = {}  # price units -> quantity units, every qty > 0
        self.asks: dict[int, int] = {}
        self.bid_prices: list[int] = []  # ascending: the best bid is the last
        self.ask_prices: list[int] = []  # ascending: the best ask is the first
        self.last_update_id = 0  # update id of the last BookUpdate applied or loaded
        # The id the book's source reserved for its next update (``BookUpdate.next_id``):
        # what a snapshot of the book reports as ``lastUpdateId``, so the next diff event
        # holds it (spec §4.9 step 4). 0: none reserved (a book followed from somebody
        # else's stream, or loaded): a snapshot reports ``last_update_id``.
        self.next_update_id = 0

    # --- changes ---------------------------------------------------------------------------

    def set_level(self, is_bid: bool, price: int, qty: int) -> None:
        """Set the quantity resting at ``price``; 0 removes the level (absent is fine)."""
        if is_bid:
            side, prices = self.bids, self.bid_prices
        else:
            side, prices = self.asks, self.ask_prices
        if qty > 0:
            if price not in side:
                insort(prices, price)
            side[price] = qty
        elif qty == 0:
            # Removing an absent level is normal: diff-depth streams report deletions of
            # levels a mirror may never have seen (spec §4.9).
            if side.pop(price, None) is not None:
                del prices[bisect_left(prices, price)]
        else:
            raise ValueError(f"negative quantity {qty} at price {price}")

    def apply(self, update: BookUpdate) -> None:
        """Apply every level of ``update`` and remember its update id and the next it reserves."""
        if type(self) is OrderBook and not self.bids and not self.asks and _resting(update):
            # A whole book into an empty one (a source's first): what ``set_level`` makes a
            # level at a time (each price where it first came, its last quantity, the prices
            # sorted), made in C, the same dicts and lists. Every start's plants take the
            # simulator's books so, a Python call a level (7,600 at the least depth) saved.
            self.bids.update(update.bids)
            self.asks.update(update.asks)
            self.bid_prices[:] = sorted(self.bids)
            self.ask_prices[:] = sorted(self.asks)
        else:
            set_level = self.set_level
            for price, qty in update.bids:
                set_level(True, price, qty)
            for price, qty in update.asks:
                set_level(False, price, qty)
        self.last_update_id = update.update_id
        self.next_update_id = update.next_id

    def take(self, from_bids: bool, qty: int, limit: int) -> list[Level]:
        """Match an incoming order of ``qty`` against one side, best level first.

        A sell takes ``from_bids`` down to ``limit``, a buy takes the asks up to ``limit``
        (pass 0 or a huge limit for a market order). Returns the fills in matching order,
        one per level touched, as (price, quantity filled); the book keeps what is left.
        """
        fills: list[Level] = []
        if from_bids:
            side, prices = self.bids, self.bid_prices
            while qty > 0 and prices and prices[-1] >= limit:
                price = prices[-1]
                resting = side[price]
                if resting <= qty:
                    del side[price]
                    prices.pop()
                    fills.append(Level(price, resting))
                    qty -= resting
                else:
                    side[price] = resting - qty
                    fills.append(Level(price, qty))
                    qty = 0
        else:
            side, prices = self.asks, self.ask_prices
            while qty > 0 and prices and prices[0] <= limit:
                price = prices[0]
                resting = side[price]
                if resting <= qty:
                    del side[price]
                    del prices[0]
                    fills.append(Level(price, resting))
                    qty -= resting
                else:
                    side[price] = resting - qty
                    fills.append(Level(price, qty))
                    qty = 0
        return fills

    def load(
        self, bids: Iterable[tuple[int, int]], asks: Iterable[tuple[int, int]], last_update_id: int
    ) -> None:
        """Replace the whole book with a snapshot (a REST depth answer, spec §4.9)."""
        self.bids = {price: qty for price, qty in bids if qty > 0}
        self.asks = {price: qty for price, qty in asks if qty > 0}
        self.bid_prices = sorted(self.bids)
        self.ask_prices = sorted(self.asks)
        self.last_update_id = last_update_id
        self.next_update_id = 0

    def settle(self) -> None:
        """Both sides' tables at the size churn gives them (``settle_table``): call once a
        book is built, so it does not double them over the following minutes."""
        settle_table(self.bids)
        settle_table(self.asks)

    def clear(self) -> None:
        self.bids = {}
        self.asks = {}
        self.bid_prices = []
        self.ask_prices = []

    # --- queries ---------------------------------------------------------------------------

    def best_bid(self) -> Level | None:
        if not self.bid_prices:
            return None
        price = self.bid_prices[-1]
        return Level(price, self.bids[price])

    def best_ask(self) -> Level | None:
        if not self.ask_prices:
            return None
        price = self.ask_prices[0]
        return Level(price, self.asks[price])

    def top(self) -> tuple[int, int, int, int] | None:
        """(bid price, bid qty, ask price, ask qty), or None while a side is empty.

        A plain tuple: it is asked for on every update, and comparing it is the whole test
        of whether a bookTicker is due."""
        bid_prices, ask_prices = self.bid_prices, self.ask_prices
        if not bid_prices or not ask_prices:
            return None
        bid, ask = bid_prices[-1], ask_prices[0]
        return (bid, self.bids[bid], ask, self.asks[ask])

    def quantity(self, bids: bool, price: int) -> int:
        """The quantity resting at ``price`` on one side; 0 when there is no such level."""
        return (self.bids if bids else self.asks).get(price, 0)

    def levels(self, bids: bool) -> Iterator[tuple[int, int]]:
        """One side's (price, quantity), best first, lazily (a taker walks only what it needs).
        Built of C iterators, not a generator: every placement reads a level or two of it and
        drops the rest, and dropping a suspended generator throws ``GeneratorExit`` into its
        frame (~0.5 µs, twice per placement, measured)."""
        if bids:
            prices = self.bid_prices
            return zip(reversed(prices), map(self.bids.__getitem__, reversed(prices)), strict=False)
        prices = self.ask_prices
        return zip(prices, map(self.asks.__getitem__, prices), strict=False)

    def top_bids(self, n: int) -> list[Level]:
        """The best ``n`` bid levels, best (highest) first."""
        if n <= 0:
            return []
        bids = self.bids
        return [Level(price, bids[price]) for price in reversed(self.bid_prices[-n:])]

    def top_asks(self, n: int) -> list[Level]:
        """The best ``n`` ask levels, best (lowest) first."""
        if n <= 0:
            return []
        asks = self.asks
        return [Level(price, asks[price]) for price in self.ask_prices[:n]]

    def is_crossed(self) -> bool:
        """True when the best bid is at or above the best ask, which no real book allows."""
        return bool(self.bid_prices and self.ask_prices) and (
            self.bid_prices[-1] >= self.ask_prices[0]
        )

    @property
    def bid_count(self) -> int:
        return len(self.bid_prices)

    @property
    def ask_count(self) -> int:
        return len(self.ask_prices)

    def __len__(self) -> int:
        return len(self.bid_prices) + len(self.ask_prices)

    def __repr__(self) -> str:
        return (
            f"OrderBook(bid={self.best_bid()}, ask={self.best_ask()}, "
            f"levels={self.bid_count}/{self.ask_count}, last_update_id={self.last_update_id})"
        )
