"""The matching floor of ../shared/PERFORMANCE.md: a bare price-time book in pure Python
(a dict of deques per side, heaps of the prices), no accounts, no margin, no events, taking
the same command mix as the venue: a GTC limit rests or crosses, an IOC crosses and its
rest is dropped, a cancel removes, a move is a cancel and a new GTC at its new price."""

from __future__ import annotations

import heapq
from collections import deque

__all__ = ["BareBook"]


class BareBook:
    def __init__(self) -> None:
        self.levels: tuple[dict[int, deque[list[int]]], dict[int, deque[list[int]]]] = ({}, {})  # bids, asks
        self.prices: tuple[list[int], list[int]] = ([], [])  # max-heap (negated) of bids, min-heap of asks
        self.orders: dict[int, tuple[int, int, list[int]]] = {}  # id -> (side, price, [qty])

    def _best(self, side: int) -> int | None:
        heap, levels = self.prices[side], self.levels[side]
        while heap:
            price = -heap[0] if side == 0 else heap[0]
            if levels.get(price):
                return price
            heapq.heappop(heap)
            levels.pop(price, None)
        return None

    def place(self, order_id: int, side: int, price: int, qty: int, resting: bool) -> None:
        other = 1 - side
        while qty:
            best = self._best(other)
            if best is None or (best > price if side == 0 else best < price):
                break
            queue = self.levels[other][best]
            head = queue[0]
            take = min(qty, head[0])
            head[0] -= take
            qty -= take
            if not head[0]:
                queue.popleft()
        if qty and resting:
            entry = [qty]
            level = self.levels[side].get(price)
            if level is None:
                level = self.levels[side][price] = deque()
                heapq.heappush(self.prices[side], -price if side == 0 else price)
            level.append(entry)
            self.orders[order_id] = (side, price, entry)

    def cancel(self, order_id: int) -> bool:
        found = self.orders.pop(order_id, None)
        if found is None:
            return False
        side, price, entry = found
        level = self.levels[side].get(price)
        if level is not None and entry in level:
            level.remove(entry)
        return True
