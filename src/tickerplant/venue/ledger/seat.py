"""One account's place at one symbol of a market: what a command on that pair touches, in
one object found with one lookup (``EngineState.seat``: by ``(account, symbol)``;
``Ledger.seat``: by symbol), then handed down, so that a command's stages read attributes
rather than find each fact again in a dict of every symbol or every order.

It is the account's orders and fills kept in memory on the symbol (a ``Kept``: the open
ones and the last closed ones, ``domain/kept.py``), and beside them its open orders as
decision 7's sums (``slots``: a ``Resting`` per position side, side and reduce-only flag,
``slot_of``; and ``sides``, the same sums by side, what a margin check reads), each open
order's count in them (``counted``), their values per side (``values``: every order
event's ``b``/``a``); the open-order margin of each side as last worked out and the key it
holds at (``key``, ``margins``: ``side_margins.py``); and how many times its open orders
changed (``changes``: what the kept figures compare, ``kept_figures.py``).

Its positions, leverage and margin type stay in the ledger's stamped containers
(``stamped.py``), one home for what the figures' stamp reads. The symbol's own facts
(instrument, contract, filters) are its ``Listing``, one per symbol (``domain/listing.py``).
Bounded: one per account and symbol touched, the symbols at most a market's listing.
"""

from __future__ import annotations

from typing import Generic, TypeVar

from tickerplant.venue.domain.kept import Kept
from tickerplant.venue.domain.orders import Order, PositionSide, Side
from tickerplant.venue.domain.resting import Resting, slot_base, slot_of

__all__ = ["Counted", "MarginKey", "Seat"]

# what a symbol's open-order margin is worked out at (``Ledger._key``): the mark as its
# numerator and denominator (integers compare in nanoseconds; a ``Fraction``'s ``==`` goes
# through the numbers ABCs, a microsecond), the one-way position, the leverage, hedge mode
MarginKey = tuple[int, int, int, int, bool]
# an open order's count in the sums: its ``Resting``, and the quantity, price and value counted
Counted = tuple[Resting, int, int, int]
# the ledger a seat belongs to (``Ledger``, which imports this module: a type parameter, not an import)
L = TypeVar("L")


class Seat(Kept, Generic[L]):
    """One account's state on one symbol (the module's docstring): its kept orders and fills
    in the one object (a ``Kept``), not one more that a command reaches through it."""

    __slots__ = (
        "changes", "counted", "key", "ledger", "margins", "sides", "slots", "symbol", "values",
    )  # fmt: skip

    def __init__(self, symbol: str, ledger: L) -> None:
        super().__init__()
        self.symbol = symbol
        self.ledger = ledger  # the account's, which holds it
        # decision 7's sums: 12 slots (``slot_of``), made at the first order
        self.slots: list[Resting | None] = [None] * 12
        # the slots' sums by side, every position side's: buys, sells, opening buys, opening sells
        self.sides: tuple[list[Resting], list[Resting], list[Resting], list[Resting]] = ([], [], [], [])
        self.counted: dict[Order, Counted] = {}  # each open order (by identity) -> its count
        self.values = [0, 0]  # Σ ``Resting.value`` of the open orders, buys and sells
        self.key: MarginKey | None = None  # what ``margins`` were worked out at
        self.margins: list[int | None] = [None, None]  # buys', sells' (None: to be worked out)
        self.changes = 0  # how many times its open orders changed (opened, moved, filled, closed)

    def rest_of(self, order: Order) -> Resting:
        """The sums ``order`` counts in (its slot's, ``slot_of``), made at its slot's first."""
        slot = slot_of(order)
        rest = self.slots[slot]
        if rest is None:
            rest = self.slots[slot] = Resting()
            sell = order.side.is_sell
            self.sides[sell].append(rest)
            if not order.reduce_only:
                self.sides[2 + sell].append(rest)
        return rest

    def rests(
        self, side: Side, position_side: PositionSide | None = None, *, opening: bool = False
    ) -> list[Resting]:
        """The sums of the open orders on ``side``, of ``position_side`` (None: of every
        one); ``opening``: only those that are not reduce-only."""
        slots, first = self.slots, 2 if side.is_sell else 0
        bases = (0, 4, 8) if position_side is None else (slot_base(position_side),)
        if opening:
            return [r for base in bases if (r := slots[base + first]) is not None]
        return [r for base in bases for flag in (0, 1) if (r := slots[base + first + flag]) is not None]
