"""Reduce-only orders never reverse a position (part 2 §3.3, "reduceOnly in one-way mode"):
one-way mode's ``reduceOnly=true`` and hedge mode's closing orders (``SELL``/``LONG``,
``BUY``/``SHORT``, ``position_modes.py``) alike.

The venue keeps one invariant: the open reduce-only orders of a position (its symbol and
position side) together close at most that position. So no fill of one can open the other
way, however the book matches them.

- Placing one that may rest (``GTC``, ``GTX``, ``GTD``): it may ask at most what the
  position less the quantity its other open reduce-only orders hold leaves, else -2022
  ("ReduceOnly Order is rejected.", which Binance gives when the order "combined with open
  orders" would flip the position; whether Binance takes a larger one is undocumented:
  here a resting order never holds more than it may close). A modification may raise one
  only within the same bound (``fits``).
- Placing a ``MARKET``, ``IOC`` or ``FOK`` one: it takes at most the position and expires
  the rest (part 2 §10), whatever the resting ones hold (a market close works beside
  take-profit orders, which then expire); no position to close is -2022.
- After a fill changes the position (``expiring``), and when such an order comes to rest: the
  position's open reduce-only orders, oldest first, keep what the position can close; each
  that no longer fits in what is left is ``EXPIRED``. Binance "trims or expires" them
  (§3.3, an inference from the user-data captures); tickerplant expires.
"""

from __future__ import annotations

from tickerplant.venue.domain.commands import NewOrder
from tickerplant.venue.domain.orders import Order, OrderType, PositionSide, Side, TimeInForce
from tickerplant.venue.ledger.ledger import Ledger

__all__ = ["closable", "expiring", "fits", "may_rest"]


def closable(ledger: Ledger, symbol: str, position_side: PositionSide, side: Side, *, others: bool) -> int:
    """What an order on ``side`` can close of the position: its size when ``side`` closes
    it, less (``others``) what the open reduce-only orders hold."""
    amt = ledger.amount(symbol, position_side)
    if amt == 0 or (amt > 0) == (side is Side.BUY):
        return 0
    if not others:
        return abs(amt)
    held = sum(
        o.remaining for o in ledger.open_orders.get(symbol, {}).values()
        if o.reduce_only and o.position_side is position_side and o.status.is_open
    )  # fmt: skip
    return max(0, abs(amt) - held)


def fits(ledger: Ledger, order: Order, qty: int) -> bool:
    """Whether resting ``order`` may hold ``qty`` in all (a modification's new quantity)."""
    others = closable(ledger, order.symbol, order.position_side, order.side, others=True)
    return qty - order.executed_qty <= others + order.remaining


def may_rest(new: NewOrder) -> bool:
    """Whether what the order does not take at once may rest in the book."""
    return new.type is OrderType.LIMIT and new.time_in_force not in (TimeInForce.IOC, TimeInForce.FOK)


def expiring(ledger: Ledger, symbol: str, position_side: PositionSide) -> list[Order]:
    """The position's open reduce-only orders it can no longer close, to expire: oldest
    first, each keeps what is left of the position to close, else it is one of these."""
    orders = [  # not the one a fill just ended: its engine ends it next
        o for o in ledger.open_orders.get(symbol, {}).values()
        if o.reduce_only and o.position_side is position_side and o.status.is_open
    ]  # fmt: skip
    if not orders:
        return []
    amt = ledger.amount(symbol, position_side)
    left = abs(amt)
    ended: list[Order] = []
    for order in sorted(orders, key=lambda o: o.order_id):
        closes = amt != 0 and (amt > 0) != (order.side is Side.BUY)
        if closes and order.remaining <= left:
            left -= order.remaining
            continue
        ended.append(order)
    return ended
