"""The market a venue order meets, as a port with two implementations (docs/venue.md, "How
orders fill"; hftbacktest's and nautilus's shape: the exchange model an object, chosen once):

- ``SimulatedMarket``: the simulator's one book (``feeds/simulator/one_book.py``). A taker
  trades in it, with its impact and public trades (their ids on the fills); a resting
  order is quantity in its level's queue, exact, and the book reports the matches that
  fill it (``matched``). The venue's orders meet one another there, so self-trade
  prevention applies (``meets_itself``).
- ``ObservedMarket``: a replay's or relay's book, which cannot react. A taker walks the
  displayed levels and trades with no one (the venue's own fill ids); a resting order
  waits behind the displayed size at its price, moved by the market's trades and depth
  changes by the queue model (``observed.Queues``, ``market/book/queue.py``), and the
  market's trades that reach it (``maker_index``) fill it: ``engine/resting.receive``.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator
from typing import Protocol

from tickerplant.venue.book.maker_index import MakerIndex
from tickerplant.venue.book.matching import walk
from tickerplant.venue.book.observed import Queues
from tickerplant.venue.book.ports import MarketData, OneBook
from tickerplant.venue.domain.orders import Order, Side

__all__ = ["ObservedMarket", "SimulatedMarket", "TakerFill", "VenueMarket"]

TakerFill = tuple[int, int, int | None]  # price, quantity, the public trade's id (None: the venue's own)
Match = tuple[str, int, int, int, int]  # symbol, resting order id, public trade id, quantity, its time


class VenueMarket(Protocol):
    """The market the venue's orders meet (the module's docstring)."""

    @property
    def meets_itself(self) -> bool: ...  # the venue's orders trade with one another in it

    @property
    def times_are_ours(self) -> bool:
        """Whether the market's times are read on the venue's clock (the simulator's, a
        replay's): a trade stamped before an order is from before it. A relay's are its
        upstream's clock (another machine's; a replaying tickerplant's, years behind): there
        a trade reached the venue before the order, or after it."""
        ...

    def take(self, symbol: str, side: Side, qty: int, limit: int, now_ms: int) -> list[TakerFill]:
        """A taker's fills, no level beyond ``limit``."""
        ...

    def rest(self, order: Order, resting: Collection[Order], now_ms: int, ahead: int | None) -> None:
        """``order`` rests from now at the back of its level (``ahead``: a restored order's
        place, at most the level), its place in ``order.queue_ahead``; ``resting``: its
        symbol's resting orders."""
        ...

    def restored(self, order: Order, resting: Collection[Order]) -> None:
        """``order``, open in the journal, rests again as it was."""
        ...

    def requeue(self, order: Order, resting: Collection[Order], now_ms: int) -> None:
        """``order``, resting, leaves its place and joins the back of the level at its price
        now (a modification that takes nothing, part 2 §5): ``withdraw`` then ``rest``, as
        one operation of the market."""
        ...

    def withdraw(self, order: Order, now_ms: int) -> None:
        """What of ``order`` still rests leaves the market."""
        ...

    def print_trade(self, symbol: str, side: Side, qty: int, price: int, now_ms: int) -> int | None:
        """A public trade no level gave (an insurance fund's fill): its id, None where the
        venue prints none."""
        ...

    def matched(self, symbol: str | None = None) -> list[Match]:
        """Resting orders' fills the market made since the last call; ``symbol``'s alone
        when given (the others' wait for their next call)."""
        ...


class SimulatedMarket:
    """The simulator's one book (the module's docstring)."""

    meets_itself = True
    times_are_ours = True

    def __init__(self, book: OneBook) -> None:
        self.book = book

    def take(self, symbol: str, side: Side, qty: int, limit: int, now_ms: int) -> list[TakerFill]:
        return list(self.book.take(symbol, side.is_buy, qty, limit, now_ms))

    def rest(self, order: Order, resting: Collection[Order], now_ms: int, ahead: int | None) -> None:
        order.queue_ahead = self.book.rest(
            order.symbol, order.order_id, order.side.is_buy, order.price, order.remaining, now_ms, ahead
        )

    def restored(self, order: Order, resting: Collection[Order]) -> None:
        self.rest(order, resting, order.update_ms, order.queue_ahead)  # at most the level

    def withdraw(self, order: Order, now_ms: int) -> None:
        self.book.withdraw(order.symbol, order.order_id, now_ms)

    def requeue(self, order: Order, resting: Collection[Order], now_ms: int) -> None:
        self.book.withdraw(order.symbol, order.order_id, now_ms)
        self.rest(order, resting, now_ms, None)

    def print_trade(self, symbol: str, side: Side, qty: int, price: int, now_ms: int) -> int | None:
        return self.book.print_trade(symbol, side.is_buy, qty, price, now_ms)

    def matched(self, symbol: str | None = None) -> list[Match]:
        return self.book.matched(symbol)


def _less(
    levels: Iterator[tuple[int, int]], taken: dict[tuple[bool, int], int], bids: bool
) -> Iterator[tuple[int, int]]:
    """``levels`` less what was taken of them, as read (a deep book is walked only as far as
    a taker goes)."""
    for price, qty in levels:
        left = qty - taken.get((bids, price), 0)
        if left > 0:
            yield price, left


class ObservedMarket:
    """A replay's or relay's book, which cannot react (the module's docstring)."""

    meets_itself = False

    def __init__(self, data: MarketData, makers: MakerIndex, queues: Queues) -> None:
        self.data = data
        self.makers = makers
        self.queues = queues
        self.times_are_ours = True  # a relay's are not (``VenueMarket.times_are_ours``)
        # symbol -> (its book's id when taken from, what the venue's takers took of each
        # (bid side, price) since): gone when the book next changes, so one displayed
        # quantity fills no two orders; at most the levels taken from one book of a symbol
        self._taken: dict[str, tuple[int, dict[tuple[bool, int], int]]] = {}

    def take(self, symbol: str, side: Side, qty: int, limit: int, now_ms: int) -> list[TakerFill]:
        """Walk the displayed levels less what the venue's takers took of them since the
        book last changed (the user's orders do not move an observed market: the next
        update it sends is the market's own)."""
        bids = side.is_sell
        book_id = self.data.book_id(symbol)
        levels = self.data.levels(symbol, bids)
        if book_id is None:  # fixed levels, no id to tell a change by: met whole each time
            return [(p, q, None) for p, q in walk(levels, side, qty, limit)]
        kept = self._taken.get(symbol)
        if kept is None or kept[0] != book_id:
            kept = self._taken[symbol] = (book_id, {})
        taken = kept[1]
        if taken:
            levels = _less(levels, taken, bids)
        fills = walk(levels, side, qty, limit)
        for price, filled in fills:
            taken[(bids, price)] = taken.get((bids, price), 0) + filled
        return [(p, q, None) for p, q in fills]

    def rest(self, order: Order, resting: Collection[Order], now_ms: int, ahead: int | None) -> None:
        buy = order.side.is_buy
        level = self.data.quantity_at(order.symbol, buy, order.price)  # a lookup: the book may be deep
        order.queue_ahead = self.queues.model.arrive(level, ahead).ahead
        self.makers.add(order, resting)
        self.queues.add(order, level, resting)

    def requeue(self, order: Order, resting: Collection[Order], now_ms: int) -> None:
        self.rest(order, resting, now_ms, None)  # its old entries are dropped when next met

    def restored(self, order: Order, resting: Collection[Order]) -> None:
        self.makers.add(order, resting)  # its place as journaled

    def withdraw(self, order: Order, now_ms: int) -> None:
        """Nothing to do: the index and the queues drop it when they next meet it."""

    def print_trade(self, symbol: str, side: Side, qty: int, price: int, now_ms: int) -> int | None:
        return None

    def matched(self, symbol: str | None = None) -> list[Match]:
        return []
