"""One account's open-order margin (decision 7) kept per symbol and per side of the book, as
a margin check reads it (``Ledger.open_order_im``): each side's value under the key it was
worked out at (``MarginKey``: the mark, the one-way position, the leverage, the mode).

A change to one of a symbol's open orders drops its side's value only: a move on the buy
side leaves the sells' as they were, so the next check on the symbol works out one side, not
two. And a check that worked out a side's value with the change it weighs (a new order, a
modification) says so (``expect``): when that very change comes next (the same order, left
with the quantity and at the price the check counted), its value is the side's, and nothing
is worked out again; any other change drops it.
"""

from __future__ import annotations

from fractions import Fraction
from typing import Any

from tickerplant.venue.domain.orders import Order
from tickerplant.venue.ledger.seat import MarginKey, Seat

__all__ = ["MarginKey", "SideMargins"]


class SideMargins:
    """Per symbol, the buys' and the sells' margins (None: to be worked out) and the key
    they hold at, kept on the account's seat there (``Seat.key``, ``Seat.margins``); the
    margin a check expects the next change to leave (the module's docstring)."""

    __slots__ = ("_expected", "_mark", "_ratio")

    def __init__(self) -> None:
        # (the order, what rests of it, its price, the key, its side's margin)
        self._expected: tuple[Order, int, int, MarginKey, int] | None = None
        self._mark: Fraction | None = None  # the last mark a key was made at, and its ratio
        self._ratio = (0, 1)

    def key(self, mark: Fraction, held: int, leverage: int, hedge: bool) -> MarginKey:
        """The key of margins worked out at ``mark`` with a one-way position of ``held``:
        the mark's numerator and denominator, read once per mark object (a ``Fraction``'s
        are properties, a Python call each, and the market's mark is one object per payload:
        every check between two marks reads the same one)."""
        if mark is not self._mark:
            self._mark, self._ratio = mark, (mark.numerator, mark.denominator)
        ratio = self._ratio
        return (ratio[0], ratio[1], held, leverage, hedge)

    @staticmethod
    def at(seat: Seat[Any], key: MarginKey) -> list[int | None]:
        """``seat``'s sides' margins kept at ``key`` (buys, sells), to read and fill in;
        none kept under another key."""
        if seat.key != key:
            seat.key, seat.margins = key, [None, None]
        return seat.margins

    def expect(self, order: Order, qty: int, price: int, key: MarginKey, margin: int) -> None:
        """A check found that ``order`` left with ``qty`` at ``price`` makes its side's
        margin ``margin`` at ``key``."""
        self._expected = (order, qty, price, key, margin)

    def changed(self, seat: Seat[Any], sell: bool, order: Order | None = None, left: int = 0) -> None:
        """One of ``seat``'s open orders on a side (``sell``: the sells') opened, closed,
        filled or moved (``order``: to ``left``, what rests of it, at its price): the side's
        margin a check found it would leave is the side's now, if this is the change it was
        found for; else the side's is worked out again when next read. The other side's stays."""
        expected, self._expected = self._expected, None
        if (
            expected is not None and expected[0] is order and order is not None
            and expected[1] == left and expected[2] == order.price
        ):  # fmt: skip
            if seat.key != expected[3]:  # ``at``, inline: a move's and a placement's
                seat.key, seat.margins = expected[3], [None, None]
            seat.margins[sell] = expected[4]
            return
        seat.margins[sell] = None
