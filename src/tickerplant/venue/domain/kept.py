"""One account's orders and fills on one symbol, as the engine keeps them in memory:
bounded by design (``engine.py``'s docstring): the open orders and the last ``ORDERS_KEPT``
closed ones, the last ``FILLS_KEPT`` fills and amendments (the journal keeps all; the
history reads answer from it, ``history.py``), and the realized PnL of every fill, summed
per position side (the user data stream's ``cr``)."""

from __future__ import annotations

from collections import deque

from tickerplant.venue.domain.orders import Amendment, Fill, Order, PositionSide

__all__ = ["FILLS_KEPT", "ORDERS_KEPT", "Kept"]

ORDERS_KEPT = 1000  # closed orders kept in memory per account and symbol (allOrders' max)
FILLS_KEPT = 1000  # fills (and amendments) kept in memory per account and symbol (userTrades' max)


class Kept:
    """One account's orders and fills on one symbol, bounded (see the module docstring)."""

    __slots__ = ("amendments", "fills", "orders", "realized")

    def __init__(self) -> None:
        self.orders: dict[int, Order] = {}
        self.fills: deque[Fill] = deque(maxlen=FILLS_KEPT)
        self.amendments: deque[Amendment] = deque(maxlen=FILLS_KEPT)
        self.realized: dict[PositionSide, int] = {}  # Σ realized PnL of every fill, 1e-8

    def add_fill(self, fill: Fill) -> None:
        self.fills.append(fill)
        if fill.realized_pnl:
            self.realized[fill.position_side] = self.realized.get(fill.position_side, 0) + fill.realized_pnl

    def add(self, order: Order) -> None:
        self.orders[order.order_id] = order
        if len(self.orders) > ORDERS_KEPT + 200:  # + the open orders MAX_NUM_ORDERS allows
            for old in [o for o in self.orders.values() if not o.status.is_open][
                : len(self.orders) - ORDERS_KEPT
            ]:
                del self.orders[old.order_id]
