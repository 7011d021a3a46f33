"""One margin asset's totals over the symbols an account is active on, kept as running sums
of each symbol's parts (part 3 §7.8's figures): a part is worked out again only when its
mark or what it is worked out from changed since it was last, and the totals move by the
change. A symbol has two parts, kept apart: its positions' (uPnL, initial and maintenance
margin) and its open orders' (decision 7), so that an order opening, filling into no
position, moving or closing revalues its orders' margin only.

A margin check values every symbol the account is active on (``Ledger.figures``). Worked
out afresh each time, that is a few exact ``Fraction`` operations per symbol: with 200 open
orders on each of 24 other symbols, a placement and its cancel cost 2.9× what they do on an
account with none. Kept, a part whose mark and state are unchanged costs a comparison, and
the sums are exact (``Fraction``), so the totals are the same values a fresh sum gives.
"""

from __future__ import annotations

from collections.abc import Hashable
from fractions import Fraction

from tickerplant.venue.domain.contract import Contract, Position

__all__ = ["PARTS", "AssetTotals", "Part", "orders_only", "part_of"]

# a symbol's part: uPnL, position IM, open-order IM, maintenance, then the isolated
# positions' uPnL, IM and maintenance (``figures.Figures``' fields of the same names)
Part = tuple[Fraction, Fraction, Fraction, Fraction, Fraction, Fraction, Fraction]
PARTS = 7
_ZERO = Fraction(0)


class AssetTotals:
    """The parts kept per symbol, with the mark and state key each was worked out at, and
    their sums."""

    __slots__ = ("_kept", "sums")

    def __init__(self) -> None:
        self._kept: dict[str, tuple[Fraction, Hashable, Part]] = {}
        self.sums: list[Fraction] = [_ZERO] * PARTS

    def fresh(self, symbol: str, mark: Fraction, key: Hashable) -> bool:
        """Whether ``symbol``'s part was worked out at this mark and this state."""
        kept = self._kept.get(symbol)
        return kept is not None and (kept[0] is mark or kept[0] == mark) and kept[1] == key

    def put(self, symbol: str, mark: Fraction, key: Hashable, part: Part) -> None:
        """``symbol``'s part worked out again: the sums move by what changed."""
        kept = self._kept.get(symbol)
        self._move(kept[2] if kept is not None else None, part)
        self._kept[symbol] = (mark, key, part)

    def keep_only(self, symbols: set[str]) -> None:
        """Drop the parts of the symbols not in ``symbols`` (no longer active, or without a
        mark): their sums leave the totals."""
        for symbol in [s for s in self._kept if s not in symbols]:
            self._move(self._kept.pop(symbol)[2], None)

    def _move(self, before: Part | None, after: Part | None) -> None:
        sums = self.sums
        for i in range(PARTS):
            old = before[i] if before is not None else _ZERO
            new = after[i] if after is not None else _ZERO
            if old is new or not (old or new):  # most parts are 0: a Fraction's op is ~1 µs
                continue
            total = sums[i]
            # the one symbol counted (the sum is its part): no arithmetic
            sums[i] = new if total is old else total - old + new


def orders_only(open_order_im: Fraction) -> Part:
    """A symbol's open orders' part: their margin (decision 7), already valued."""
    return (_ZERO, _ZERO, open_order_im, _ZERO, _ZERO, _ZERO, _ZERO)


def part_of(contract: Contract, mark: Fraction, held: list[Position], leverage: int, isolated: bool) -> Part:
    """One symbol's positions' part of its margin asset's figures at ``mark`` (§7.8): its
    open positions (``held``) valued; its open orders' margin is a part of its own
    (``orders_only``), kept apart: an order that opens or closes leaves the positions' part
    as it is."""
    unrealized = position_im = maint = _ZERO
    isolated_unrealized = isolated_im = isolated_maint = _ZERO
    for position in held:
        notional = contract.notional(position.amt, mark)
        upnl = contract.unrealized(position, mark)
        im, mm = abs(notional) / leverage, contract.maintenance(notional)
        unrealized += upnl
        position_im += im
        maint += mm
        if isolated:
            isolated_unrealized += upnl
            isolated_im += im
            isolated_maint += mm
    return (unrealized, position_im, _ZERO, maint, isolated_unrealized, isolated_im, isolated_maint)
