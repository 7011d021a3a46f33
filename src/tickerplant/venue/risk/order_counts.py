"""The account's order-rate limits (trading part 1 §7.4): USDⓈ-M 300 orders per 10 s and
1200 per minute, COIN-M 1200 per minute (part 1 Unresolved 12), each counted in fixed
windows aligned to the interval, per account. Every order a key places counts, refused ones
too; the counts after it go back as ``X-MBX-ORDER-COUNT-10S`` / ``-1M``, and the order past a
limit is refused with 429 ``-1015`` naming it.

Bounded: one (window start, count) per limit and account that placed an order.

A restart does not refill them (docs/venue.md, "Order rate limits"): the windows still open
are saved beside the journal once a second and at a clean stop (``open_windows``), and at
start ``resume`` takes, per window, the larger of what was saved and what the journal holds
of the orders placed in it: every acknowledged order was journaled before its answer went,
so a ``kill -9`` forgets none of those, only refusals counted since the last save.
"""

from __future__ import annotations

from collections.abc import Iterable

from tickerplant.market.instruments import Market
from tickerplant.protocol.errors import RequestRefused

__all__ = ["LIMITS", "OrderCounts"]

# (window ms, limit, the interval as -1015 names it, the header)
LIMITS = {
    Market.UM: (
        (10_000, 300, "TEN_SECONDS", "X-MBX-ORDER-COUNT-10S"),
        (60_000, 1200, "MINUTE", "X-MBX-ORDER-COUNT-1M"),
    ),
    Market.CM: ((60_000, 1200, "MINUTE", "X-MBX-ORDER-COUNT-1M"),),
}


class OrderCounts:
    def __init__(self, market: Market) -> None:
        self.limits = LIMITS[market]
        self._windows: dict[tuple[int, int], tuple[int, int]] = {}  # (account, window) -> (start, count)
        self.charged = 0  # orders counted, ever: whether anything changed since the last save

    def charge(self, account_id: int, now_ms: int) -> list[tuple[str, int]]:
        """Count one order; the headers' (name, value) after it, or 429 ``-1015``."""
        headers = []
        windows = self._windows
        self.charged += 1
        for window_ms, limit, name, header in self.limits:
            start = now_ms - now_ms % window_ms
            key = (account_id, window_ms)
            began, count = windows.get(key, (start, 0))
            count = count + 1 if began == start else 1
            windows[key] = (start, count)
            if count > limit:
                raise RequestRefused(
                    -1015, f"Too many new orders; current limit is {limit} orders per {name}.", 429
                )
            headers.append((header, count))
        return headers

    def open_windows(self, now_ms: int) -> list[tuple[int, int, int, int]]:
        """(account, window ms, window start, count) of each window still open at ``now_ms``:
        what a restart must not forget (the closed ones count for nothing any more)."""
        return [
            (account_id, window_ms, start, count)
            for (account_id, window_ms), (start, count) in self._windows.items()
            if start == now_ms - now_ms % window_ms
        ]

    def resume(
        self, saved: Iterable[tuple[int, int, int, int]], placed: Iterable[tuple[int, int]], now_ms: int
    ) -> None:
        """The windows open at ``now_ms`` after a restart: per account and limit, the larger
        of the count ``saved`` (``open_windows``' rows, refusals included) and the orders
        ``placed`` in the window ((account, time ms), from the journal). A window already
        closed, or an order of another window, counts for nothing."""
        starts = {window_ms: now_ms - now_ms % window_ms for window_ms, *_ in self.limits}
        counted: dict[tuple[int, int], int] = {}
        for account_id, window_ms, start, count in saved:
            if starts.get(window_ms) == start:
                counted[(account_id, window_ms)] = count
        journaled: dict[tuple[int, int], int] = {}
        for account_id, time_ms in placed:
            for window_ms, start in starts.items():
                if start <= time_ms <= now_ms:
                    key = (account_id, window_ms)
                    journaled[key] = journaled.get(key, 0) + 1
        for key in counted.keys() | journaled.keys():
            self._windows[key] = (starts[key[1]], max(counted.get(key, 0), journaled.get(key, 0)))

    def current(self, account_id: int, now_ms: int) -> list[tuple[int, int, int]]:
        """(window ms, limit, orders counted in the window now) per limit, counting nothing:
        the WebSocket API's ``ORDERS`` entries of ``rateLimits`` (part 1 §8.4)."""
        counted = []
        for window_ms, limit, _, _ in self.limits:
            began, count = self._windows.get((account_id, window_ms), (-1, 0))
            counted.append((window_ms, limit, count if began == now_ms - now_ms % window_ms else 0))
        return counted
