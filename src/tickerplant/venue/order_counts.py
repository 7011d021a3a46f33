"""The account's order-rate limits (trading part 1 §7.4): USDⓈ-M 300 orders per 10 s and
1200 per minute, COIN-M 1200 per minute (part 1 Unresolved 12), each counted in fixed
windows aligned to the interval, per account. Every order a key places counts, refused ones
too; the counts after it go back as ``X-MBX-ORDER-COUNT-10S`` / ``-1M``, and the order past a
limit is refused with 429 ``-1015`` naming it.

Bounded: one (window start, count) per limit and account that placed an order.
"""

from __future__ import annotations

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

    def charge(self, account_id: int, now_ms: int) -> list[tuple[str, int]]:
        """Count one order; the headers' (name, value) after it, or 429 ``-1015``."""
        headers = []
        windows = self._windows
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

    def current(self, account_id: int, now_ms: int) -> list[tuple[int, int, int]]:
        """(window ms, limit, orders counted in the window now) per limit, counting nothing:
        the WebSocket API's ``ORDERS`` entries of ``rateLimits`` (part 1 §8.4)."""
        counted = []
        for window_ms, limit, _, _ in self.limits:
            began, count = self._windows.get((account_id, window_ms), (-1, 0))
            counted.append((window_ms, limit, count if began == now_ms - now_ms % window_ms else 0))
        return counted
