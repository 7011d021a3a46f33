"""The venue's resting orders by price, for the fills a public trade makes where there is no
one book (a replay's or relay's market: ``resting.receive``, ``matching.maker_fill``).

A trade at price p can reach only the buys at p or above (a seller took: ``m`` true) or the
sells at p or below; every other resting order is left as it was. A heap a side per symbol,
keyed by the price from the maker's best, gives those without a walk through every
account's resting orders (1,000 accounts resting ten orders each was 10,000 orders a trade):
the entries a trade reaches are a subtree at the heap's root, read in place.

A symbol's heaps are made from its resting orders at its first trade, and kept from then on
(an order that rests is pushed): an engine that never sees a trade of a symbol (the
``matching`` benchmark's) pays nothing for them. Entries are removed lazily: one whose order
no longer rests, or rests at another price (an amendment adds its new entry), is skipped when
met. Bounded by design: whenever a symbol's heaps are used (an order rests, a trade reads
them), entries past twice its resting orders (+ ``slack``) have them made again from those
orders, so a trade after a sweep of the book reads no more than twice what still rests.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable, Collection

from tickerplant.venue.domain.orders import Order

__all__ = ["MakerIndex"]

_SLACK = 64
Entry = tuple[int, int, int]  # (price from the maker's best: -price for a buy, order id, price)


class MakerIndex:
    """Resting orders per symbol and side, by price (see the module's docstring)."""

    __slots__ = ("_heaps", "slack")

    def __init__(self, slack: int = _SLACK) -> None:
        self._heaps: dict[str, tuple[list[Entry], list[Entry]]] = {}  # symbol -> (buys, sells)
        self.slack = slack

    def add(self, order: Order, resting: Collection[Order]) -> None:
        """``order`` rests at ``order.price`` from now (new, restored or amended); ``resting``:
        the symbol's resting orders, which the heaps are made from again when stale."""
        if order.symbol not in self._heaps:  # no trade yet: the first makes them from the resting orders
            return
        heaps = self._fresh(order.symbol, resting)
        assert heaps is not None
        if order.side.is_buy:
            heapq.heappush(heaps[0], (-order.price, order.order_id, order.price))
        else:
            heapq.heappush(heaps[1], (order.price, order.order_id, order.price))

    def met(
        self, symbol: str, sellers_took: bool, price: int, resting: Collection[Order],
        find: Callable[[int], Order | None],
    ) -> list[Order]:  # fmt: skip
        """The resting orders a trade at ``price`` reaches, first come to rest first
        (``Order.rested``; a modified order behind those at its price before it): the buys at ``price``
        or above when a seller took (``m`` true), else the sells at ``price`` or below.
        ``resting``: the symbol's resting orders; ``find``: one of them by id (an entry whose
        order is no longer there is stale)."""
        heaps = self._fresh(symbol, resting)
        if heaps is None:
            heaps = self._heaps[symbol] = _made(resting)
        heap = heaps[0 if sellers_took else 1]
        bound = -price if sellers_took else price
        found: dict[int, Order] = {}
        todo = [0] if heap else []
        while todo:  # the subtree at the root whose keys are within the bound (a heap's order)
            i = todo.pop()
            key, order_id, at = heap[i]
            if key > bound:
                continue
            order = find(order_id)
            if order is not None and order.price == at:
                found[order_id] = order
            todo.extend(j for j in (2 * i + 1, 2 * i + 2) if j < len(heap))
        return sorted(found.values(), key=_came_to_rest)

    def __len__(self) -> int:
        return sum(len(buys) + len(sells) for buys, sells in self._heaps.values())

    def _fresh(self, symbol: str, resting: Collection[Order]) -> tuple[list[Entry], list[Entry]] | None:
        """``symbol``'s heaps, made again from ``resting`` when stale entries pass the bound."""
        heaps = self._heaps.get(symbol)
        if heaps is not None and len(heaps[0]) + len(heaps[1]) >= 2 * len(resting) + self.slack:
            heaps = self._heaps[symbol] = _made(resting)
        return heaps


def _came_to_rest(order: Order) -> tuple[int, int]:
    return order.rested, order.order_id  # (0 for one journaled before it was kept: by id)


def _made(resting: Collection[Order]) -> tuple[list[Entry], list[Entry]]:
    buys = [(-o.price, o.order_id, o.price) for o in resting if o.side.is_buy]
    sells = [(o.price, o.order_id, o.price) for o in resting if o.side.is_sell]
    heapq.heapify(buys)
    heapq.heapify(sells)
    return buys, sells
