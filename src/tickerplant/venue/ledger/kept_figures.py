"""One margin asset's totals over the symbols an account is active on, kept as running sums
of each symbol's parts (part 3 §7.8's figures): a part is worked out again only when its
mark or what it is worked out from changed since it was last, and the totals move by the
change. A symbol's part is its positions' (uPnL, initial and maintenance margin); its open
orders' margin (decision 7) is kept apart, per side (``Ledger.open_order_im``), so that an
order opening, filling into no position, moving or closing revalues one side's orders only.

A margin check values every symbol the account is active on (``Ledger.figures``). Worked
out afresh each time, that is a few exact ``Fraction`` operations per symbol: with 200 open
orders on each of 24 other symbols, a placement and its cancel cost 2.9× what they do on an
account with none. Kept, a part whose mark and state are unchanged costs a comparison, and
the parts are integers (1e-8 of the asset, each position's figures rounded as ``figures.py``
says), so the totals are the same values a fresh sum gives, and moving them is integer
arithmetic.
"""

from __future__ import annotations

from collections.abc import Collection, Hashable
from fractions import Fraction

from tickerplant.venue.domain.contract import Contract, Position

__all__ = ["PARTS", "AssetTotals", "Part", "part_of", "position_figures"]

# a symbol's part: uPnL, position IM, open-order IM, maintenance, then the isolated
# positions' uPnL, IM and maintenance (``figures.Figures``' fields of the same names)
Part = tuple[int, int, int, int, int, int, int]  # 1e-8 of the margin asset
PARTS = 7
_NONE: Part = (0, 0, 0, 0, 0, 0, 0)


class AssetTotals:
    """The parts kept per symbol, with the mark and state key each was worked out at, and
    their sums."""

    __slots__ = ("_kept", "sums")

    def __init__(self) -> None:
        self._kept: dict[str, tuple[Fraction, Hashable, Part]] = {}
        self.sums: list[int] = [0] * PARTS

    def fresh(self, symbol: str, mark: Fraction, key: Hashable) -> bool:
        """Whether ``symbol``'s part was worked out at this mark and this state."""
        kept = self._kept.get(symbol)
        if kept is None or kept[1] != key:
            return False
        was = kept[0]  # the same mark: compared as integers (a ``Fraction``'s ``==`` is a microsecond)
        return was is mark or (was.numerator == mark.numerator and was.denominator == mark.denominator)

    def put(self, symbol: str, mark: Fraction, key: Hashable, part: Part) -> None:
        """``symbol``'s part worked out again: the sums move by what changed."""
        kept = self._kept.get(symbol)
        self._move(kept[2] if kept is not None else None, part)
        self._kept[symbol] = (mark, key, part)

    def keep_only(self, symbols: Collection[str]) -> None:
        """Drop the parts of the symbols not in ``symbols`` (no longer active, or without a
        mark): their sums leave the totals. ``symbols`` are kept (each was just put or found
        fresh): as many as kept, there is nothing to drop."""
        if len(symbols) == len(self._kept):
            return
        for symbol in [s for s in self._kept if s not in symbols]:
            self._move(self._kept.pop(symbol)[2], None)

    def _move(self, before: Part | None, after: Part | None) -> None:
        if before is None or after is None:
            before, after = before or _NONE, after or _NONE
        self.sums = [total + new - old for total, old, new in zip(self.sums, before, after, strict=True)]


def part_of(contract: Contract, mark: Fraction, held: list[Position], leverage: int, isolated: bool) -> Part:
    """One symbol's positions' part of its margin asset's figures at ``mark`` (§7.8): its
    open positions (``held``) valued; its open orders' margin is kept apart
    (``Ledger.open_order_im``): an order that opens or closes leaves the positions' part
    as it is. Each position's figures rounded where its row is written (``figures.py``)."""
    unrealized = position_im = maint = 0
    isolated_unrealized = isolated_im = isolated_maint = 0
    for position in held:
        upnl, im, mm = position_figures(contract, position, mark, leverage)
        unrealized += upnl
        position_im += im
        maint += mm
        if isolated:
            isolated_unrealized += upnl
            isolated_im += im
            isolated_maint += mm
    return (unrealized, position_im, 0, maint, isolated_unrealized, isolated_im, isolated_maint)


def position_figures(
    contract: Contract, position: Position, mark: Fraction, leverage: int
) -> tuple[int, int, int]:
    """One position's uPnL (toward zero, §4.3), initial margin ``|notional| / L`` and
    maintenance margin (§7.4), both rounded down (§10), 1e-8, from the exact values at
    ``mark``: its positionRisk row's figures."""
    if not position.amt:
        return 0, 0, 0
    return contract.valued(position, mark, leverage)
