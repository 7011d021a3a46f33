"""The orders resting on one side of a symbol, as the sums decision 7's open-order margin
reads (``Contract.side_margin``): Σ quantity and Σ ``Contract.order_value``, in all and at
each price level, kept as orders open, fill and close."""

from __future__ import annotations

from bisect import bisect_left, bisect_right, insort
from dataclasses import dataclass, field

from tickerplant.venue.domain.orders import Order, PositionSide, Side

__all__ = ["Resting", "slot_base", "slot_of"]

# read once: an Enum member read from its class goes through EnumType's __getattr__ hook
_BOTH, _LONG = PositionSide.BOTH, PositionSide.LONG


def slot_base(position_side: PositionSide) -> int:
    """The first of a position side's four slots of ``Resting`` sums a ledger keeps per
    symbol (identity tests: an enum's hash is a Python call)."""
    return 0 if position_side is _BOTH else 4 if position_side is _LONG else 8


def slot_of(order: Order) -> int:
    """``order``'s slot: its position side's, then buy/sell, then not/reduce-only."""
    side = 2 if order.side.is_sell else 0
    return slot_base(order.position_side) + side + (1 if order.reduce_only else 0)


@dataclass(slots=True)
class Resting:
    """Orders resting on one side of a symbol (``Ledger`` keeps one per account, symbol,
    position side, side and reduce-only flag), as the sums decision 7 reads: Σ quantity,
    Σ ``Contract.order_value`` (integers) and both at each price, kept as orders open, fill
    and close, so that a margin check costs the same with one order resting or a thousand."""

    qty: int = 0
    value: int = 0
    # price units -> [Σ quantity, Σ order_value] at it: one entry a level, changed in place
    # (a move leaves one level and joins another: one lookup each)
    levels: dict[int, list[int]] = field(default_factory=dict)
    prices: list[int] = field(default_factory=list)  # the levels' prices, ascending

    def add(self, qty: int, price: int, value: int) -> None:
        """Count ``qty`` more (negative: less) at ``price``, worth ``value``."""
        if qty:
            self.qty += qty
            self.value += value
            self._level(price, qty, value)

    def move(self, qty: int, price: int, value: int, now_qty: int, now_price: int, now_value: int) -> None:
        """An order counted as ``qty`` at ``price`` worth ``value`` now has ``now_qty`` at
        ``now_price`` worth ``now_value`` (a fill, a modification): one pass, the level it
        leaves and the one it joins changed in place (a move's, 82 % of a busy book's
        commands)."""
        self.qty += now_qty - qty
        self.value += now_value - value
        if now_price == price:
            self._level(price, now_qty - qty, now_value - value)
            return
        levels = self.levels
        held = levels.get(price)
        if held is None or held[0] == qty:  # its last: the level goes (or it held none there)
            if held is not None:
                del levels[price]
                del self.prices[bisect_left(self.prices, price)]
            elif qty:
                self._level(price, -qty, -value)
        else:
            held[0] -= qty
            held[1] -= value
        held = levels.get(now_price)
        if held is None:
            if now_qty:
                insort(self.prices, now_price)
                levels[now_price] = [now_qty, now_value]
        elif held[0] + now_qty:
            held[0] += now_qty
            held[1] += now_value
        else:
            del levels[now_price]
            del self.prices[bisect_left(self.prices, now_price)]

    def _level(self, price: int, qty: int, value: int) -> None:
        """``qty`` more at ``price``, worth ``value``: a level made at its first, gone with
        its last."""
        held = self.levels.get(price)
        if held is None:
            if qty:
                insort(self.prices, price)
                self.levels[price] = [qty, value]
        elif held[0] + qty:
            held[0] += qty
            held[1] += value
        else:
            del self.levels[price]
            del self.prices[bisect_left(self.prices, price)]

    def losing(self, side: Side, a: int, b: int) -> list[int]:
        """The prices on the losing side of a mark of ``a / b`` price units: a buy's above
        it, a sell's below it (§7.3's open loss)."""
        prices = self.prices
        if side.is_buy:
            return prices[bisect_right(prices, a // b) :]
        return prices[: bisect_left(prices, -(-a // b))]
