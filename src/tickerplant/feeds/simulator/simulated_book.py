"""The venue's resting orders in the simulated book (docs/venue.md, "How
orders fill"): one book for the simulated flow and the venue's orders, both ways.

A venue order that rests is quantity at its price in the simulator's own book, so it is in
the public depth and every simulated trader sees it: makers quote around it, takers trade
it. Its place in the level's queue is ``ahead``, the quantity in front of it:

- **It joins the back**: ``ahead`` is all the level held when it arrived (the simulator's
  quantity and the venue's orders before it).
- **Trades take the queue from the front**: a taker's fill of ``q`` at its price first
  uses up ``ahead``, and what is left of ``q`` fills it (``_match``); a fill through its
  price took the whole level and fills it all. Each fill is a maker fill with the public
  trade's id (``matched``), which the venue's engine settles.
- **The simulator's cancels come off the back of the queue**: they never take the venue's
  quantity, and they shorten ``ahead`` only when the level's own quantity falls below it
  (``_clamp``). So ``ahead`` shrinks by trades, by cancels that reach into it, and by the
  venue's orders in front of it leaving.

The queue is exact here (the venue's orders are quantity in the book), and its arithmetic
is the risk-averse queue model's (``market/book/queue.py``, hftbacktest's
``RiskAdverseQueueModel``), whatever model the venue reads an observed book with: arriving
and trades are every model's, and cancels off the back are the risk-averse rule (a level's
decrease clamps ``ahead``, never advances it), applied to the part of the level that can
be in front of an order (all but the venue's quantity from it back).

The simulator keeps its own arithmetic: it reads a level's quantity as ever, and where it
moves a queue (makers following the price) it moves its own part only (``own``). A level
holding only the venue's orders is skipped where the simulator trims its far book
(``own_prices``), so a far order does not make the simulated book thin itself.
"""

from __future__ import annotations

from typing import NamedTuple

from tickerplant.market.book.order_book import OrderBook
from tickerplant.market.book.queue import RISK_AVERSE, Position
from tickerplant.market.updates import Level

__all__ = ["HeldOrder", "MakerFill", "SimulatedBook"]


class MakerFill(NamedTuple):
    """A venue order's fill by a public trade: the order's key (its order id), the trade's
    id, price, quantity and time (its ``T``: the fill's, whenever the engine settles it)."""

    key: int
    trade_id: int
    price: int
    qty: int
    time_ms: int


class HeldOrder:
    """A venue order's remaining quantity at its price, and the quantity in front of it."""

    __slots__ = ("ahead", "is_bid", "key", "price", "qty")

    def __init__(self, key: int, is_bid: bool, price: int, qty: int, ahead: int) -> None:
        self.key = key
        self.is_bid = is_bid
        self.price = price
        self.qty = qty
        self.ahead = ahead


class SimulatedBook(OrderBook):
    """A simulated symbol's book, with the venue's orders held in it (the module docstring).

    ``held`` is (asks, bids), indexed by ``is_bid``: price -> the venue's quantity there,
    the floor below which the simulator's own changes (``set_level``) never take a level.
    """

    __slots__ = ("held", "matched", "orders", "queues")

    def __init__(self) -> None:
        super().__init__()
        self.held: tuple[dict[int, int], dict[int, int]] = ({}, {})
        self.orders: dict[int, HeldOrder] = {}  # key -> the order
        self.queues: dict[tuple[bool, int], list[HeldOrder]] = {}  # (is_bid, price) -> front first
        self.matched: list[MakerFill] = []  # fills not yet taken by the engine (``drain``)

    # -- the simulator's own changes -----------------------------------------------------

    def set_level(self, is_bid: bool, price: int, qty: int) -> None:
        held = self.held[is_bid]
        if held and price in held:
            floor = held[price]
            if qty < floor:
                qty = floor  # its cancels leave the venue's quantity
            before = (self.bids if is_bid else self.asks).get(price, 0)
            if qty < before:
                self._clamp(is_bid, price, before, qty)
        OrderBook.set_level(self, is_bid, price, qty)

    def own(self, is_bid: bool, price: int) -> int:
        """The simulator's own quantity at ``price`` (what its makers may move)."""
        side = self.bids if is_bid else self.asks
        return side.get(price, 0) - self.held[is_bid].get(price, 0)

    def own_prices(self, is_bid: bool) -> list[int]:
        """The side's prices, ascending, but those only the venue's orders hold; the side's
        own list (live) while the venue holds nothing there."""
        held = self.held[is_bid]
        prices = self.bid_prices if is_bid else self.ask_prices
        if not held:
            return prices
        side = self.bids if is_bid else self.asks
        return [p for p in prices if p not in held or side[p] > held[p]]

    def own_span(self, is_bid: bool) -> tuple[int, int, int]:
        """``own_prices``' length, first and last price (0 and 0 when it is empty), without
        the list: the simulator asks after every action, and a venue order far from the
        simulated levels (a level only it holds) made each ask a walk of the whole side.
        Here it is a walk of the venue's prices alone."""
        prices = self.bid_prices if is_bid else self.ask_prices
        count = len(prices)
        if not count:
            return 0, 0, 0
        held = self.held[is_bid]
        if not held:
            return count, prices[0], prices[-1]
        side = self.bids if is_bid else self.asks
        for price, qty in held.items():
            if side[price] <= qty:  # a level only the venue holds (each held price is a level)
                count -= 1
        if not count:
            return 0, 0, 0
        lo, hi = 0, len(prices) - 1  # past the venue's own levels at either end
        while prices[lo] in held and side[prices[lo]] <= held[prices[lo]]:
            lo += 1
        while prices[hi] in held and side[prices[hi]] <= held[prices[hi]]:
            hi -= 1
        return count, prices[lo], prices[hi]

    # -- trades -----------------------------------------------------------------------------

    def take(
        self, from_bids: bool, qty: int, limit: int, first_trade_id: int = 0, time_ms: int = 0
    ) -> list[Level]:
        """``OrderBook.take``, each level's fill split where the venue's orders are in it:
        the quantity in front of one, its own fill, and so on (each a public trade of its
        own, as Binance prints one per maker order). The ``i``-th fill returned is public
        trade ``first_trade_id + i``, at ``time_ms``; the venue's fills are in ``matched``."""
        fills = OrderBook.take(self, from_bids, qty, limit)
        held = self.held[from_bids]  # a taker from the bids meets the venue's resting bids
        if not held or not any(price in held for price, _ in fills):
            return fills
        split: list[Level] = []
        for price, filled in fills:
            if price not in held:
                split.append(Level(price, filled))
                continue
            for part, key in self._match(from_bids, price, filled):
                if key is not None:
                    self.matched.append(MakerFill(key, first_trade_id + len(split), price, part, time_ms))
                split.append(Level(price, part))
        return split

    def _match(self, is_bid: bool, price: int, filled: int) -> list[tuple[int, int | None]]:
        """A fill of ``filled`` at ``price`` from the front of its queue: its parts in queue
        order, each the key of the venue's order it fills (None: the simulator's quantity).
        A venue order stands at ``[ahead, ahead + qty)`` in the queue (module docstring)."""
        held = self.held[is_bid]
        queue = self.queues[(is_bid, price)]
        parts: list[tuple[int, int | None]] = []
        at = 0  # how far into the queue the fill has reached
        for order in queue:
            start = order.ahead
            moved = RISK_AVERSE.trade(Position(start), filled, order.qty)
            order.ahead = moved.position.ahead
            part = moved.qty
            if not part:  # the fill ended in front of it
                continue
            if start > at:
                parts.append((start - at, None))
            parts.append((part, order.key))
            at = start + part
            order.qty -= part
            held[price] -= part
            if not order.qty:
                del self.orders[order.key]
        if at < filled:
            parts.append((filled - at, None))
        if held[price]:
            queue[:] = [order for order in queue if order.qty]
        else:
            del held[price], self.queues[(is_bid, price)]
        return parts

    def drain(self) -> list[MakerFill]:
        """The venue's fills since the last call, in trade order."""
        matched, self.matched = self.matched, []
        return matched

    # -- the venue's orders -----------------------------------------------------------------

    def hold(self, key: int, is_bid: bool, price: int, qty: int, ahead: int | None = None) -> int:
        """A venue order of ``qty`` at ``price`` joins the back of its level (or, restored,
        ``ahead`` into it, at most the back): the quantity ahead of it."""
        side = self.bids if is_bid else self.asks
        level = side.get(price, 0)
        ahead = RISK_AVERSE.arrive(level, ahead).ahead
        OrderBook.set_level(self, is_bid, price, level + qty)
        held = self.held[is_bid]
        held[price] = held.get(price, 0) + qty
        order = self.orders[key] = HeldOrder(key, is_bid, price, qty, ahead)
        self.queues.setdefault((is_bid, price), []).append(order)
        return ahead

    def withdraw(self, key: int) -> HeldOrder | None:
        """The venue order ``key`` leaves the book (cancelled, expired, amended): it, or
        None when nothing of it rests (filled)."""
        order = self.orders.pop(key, None)
        if order is None:
            return None
        is_bid, price = order.is_bid, order.price
        queue = self.queues[(is_bid, price)]
        at = queue.index(order)
        for behind in queue[at + 1 :]:  # one order less in front of each behind it
            behind.ahead = max(0, behind.ahead - order.qty)
        del queue[at]
        held = self.held[is_bid]
        held[price] -= order.qty
        if not held[price]:
            del held[price], self.queues[(is_bid, price)]
        side = self.bids if is_bid else self.asks
        OrderBook.set_level(self, is_bid, price, max(0, side.get(price, 0) - order.qty))
        return order

    def ahead(self, key: int) -> int | None:
        order = self.orders.get(key)
        return None if order is None else order.ahead

    def _clamp(self, is_bid: bool, price: int, prev: int, level: int) -> None:
        """The level falls from ``prev`` to ``level`` by the simulator's cancels, which come
        off the back: nobody has more in front of them than the level holds before their
        own (the risk-averse model's depth rule over what can be in front of each)."""
        behind = 0
        for order in reversed(self.queues[(is_bid, price)]):
            behind += order.qty
            if order.ahead > level - behind:
                order.ahead = RISK_AVERSE.depth(Position(order.ahead), prev - behind, level - behind).ahead
