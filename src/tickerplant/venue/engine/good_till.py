"""Resting orders' validity (trading spec part 2 §3.3), without I/O: a GTD order expires at
its ``goodTillDate`` ("The order ends `EXPIRED` when the date passes"; the date keeps second
precision, checked at placement by ``order_params.good_till``), and a GTC order nothing has
filled is cancelled one year after it was placed (part 2's change log, 2024-04: "GTC orders
are valid one year from placement, then auto-cancelled (not applied to partially-filled
…)"). The dates of the orders that came to rest are kept here; ``ExpireGoodTill`` ends those
whose date has come (``placement.expire_good_till``), which the market's deliveries run
once the earliest date is reached
(``venue_engines.feed_engine``), so on the market's clock: a replay's or a run's as well as
the wall clock's. Binance's doc says the cancellation "may be late under load"; here it is
as late as the next delivery of the market's messages (the simulated market's come many
times a second).

A GTD order's expiry is an ``ORDER_TRADE_UPDATE`` with ``x`` and ``X`` ``EXPIRED`` (part 4
§3.2) and its journal row; its ``er`` is ``"0"``: none of part 4's expiry reasons (0–11)
names a date that passed, and ``"0"`` is the documented default. A year-old GTC order's is
``CANCELED``, as a cancel's.

Bounded: an entry per order that rested, dropped at its date or, for one closed before it
(filled, cancelled), when the entries grow past twice the open ones they held at the last
count (``_compact``). A live GTC placement costs an append to a queue (its dates come in
order); the GTD orders and the reloaded ones a heap's push.
"""

from __future__ import annotations

import heapq
from collections import deque

from tickerplant.venue.domain.orders import Order, TimeInForce

__all__ = ["GTC_VALID_MS", "GoodTill"]

_GTD, _GTC = TimeInForce.GTD, TimeInForce.GTC
GTC_VALID_MS = 365 * 86_400_000  # a GTC order's year
_SLACK = 64  # entries allowed past twice the open ones before they are counted again


class GoodTill:
    """The resting GTD and GTC orders by the date they end (see the module's docstring).

    A GTC order's date is its placement plus a year, and the market's time only moves on, so
    the live placements' come in order: they wait in a queue appended at its end (O(1), most
    of a busy book's placements). A GTD order's date is its own, and an order reloaded from
    the journal comes in the journal's order: those wait in a heap. ``due`` reads both."""

    def __init__(self) -> None:
        # (date ms, a count: no two entries compare further, order)
        self._heap: list[tuple[int, int, Order]] = []
        self._queue: deque[tuple[int, int, Order]] = deque()  # GTC dates, ascending
        self._count = 0
        self._counted = 0  # open orders at the last count

    def __len__(self) -> int:
        return len(self._heap) + len(self._queue)

    def add(self, order: Order) -> None:
        """``order`` rests from now (placed, or reloaded from the journal): a GTD one ends at
        its date, a GTC one a year after it was placed; others are not kept."""
        tif = order.time_in_force
        self._count += 1
        if tif is _GTC:
            entry = (order.time_ms + GTC_VALID_MS, self._count, order)
            queue = self._queue
            if not queue or queue[-1][0] <= entry[0]:
                queue.append(entry)
            else:  # placed before the last one queued (a reloaded order): by its date
                heapq.heappush(self._heap, entry)
        elif tif is _GTD and order.good_till_ms:
            heapq.heappush(self._heap, (order.good_till_ms, self._count, order))
        else:
            return
        if len(self._heap) + len(self._queue) > 2 * self._counted + _SLACK:  # ``len(self)``, no call
            self._compact()

    def next_ms(self) -> int | None:
        """The earliest date held (an order closed since may hold it: ``due`` skips it)."""
        heap, queue = self._heap, self._queue
        if heap and (not queue or heap[0][0] <= queue[0][0]):
            return heap[0][0]
        return queue[0][0] if queue else None

    def due(self, now_ms: int) -> list[Order]:
        """The open orders whose date is ``now_ms`` or before, each once, dropped from here,
        earliest first."""
        heap, queue = self._heap, self._queue
        out: list[Order] = []
        named: set[Order] = set()  # an order hashes by identity
        while True:
            if heap and heap[0][0] <= now_ms and (not queue or heap[0][0] <= queue[0][0]):
                order = heapq.heappop(heap)[2]
            elif queue and queue[0][0] <= now_ms:
                order = queue.popleft()[2]
            else:
                return out
            if order.status.is_open and order not in named:
                named.add(order)
                out.append(order)

    def _compact(self) -> None:
        self._heap = [entry for entry in self._heap if entry[2].status.is_open]
        heapq.heapify(self._heap)
        self._queue = deque(entry for entry in self._queue if entry[2].status.is_open)
        self._counted = len(self)
