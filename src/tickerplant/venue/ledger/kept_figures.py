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

And the asset's figures are kept whole between checks (``KeptAsset``), with what they were
worked out at: the ledger's stamp (``stamped.py``: the versions of the state they read, the
deposits, the wallet's changes, the mode), every
position's sums (changed in place by a fill, a funding fee, a margin move), and per symbol
counted (each active one, and each that had open orders) its mark and how many times its
open orders changed. A check that finds the stamp, the sums and the marks as they were
reads the open-order margin again of the symbols whose orders changed only (a modification,
a fill, a placement or a cancel moves one symbol's; a symbol's first open orders add it
to those counted, its margin read from 0), and the figures are the kept ones with that
total: with 200 open orders on each of 24 other symbols, a check reads their marks and
nothing more.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Collection, Hashable, Mapping
from fractions import Fraction
from typing import Any

from tickerplant.venue.domain.contract import Contract, Position
from tickerplant.venue.domain.orders import PositionSide
from tickerplant.venue.ledger.figures import Figures, available_of, max_withdraw_of

__all__ = ["PARTS", "SUMS", "AssetTotals", "KeptAsset", "Part", "part_of", "position_figures"]

# a symbol's part: uPnL, position IM, open-order IM, maintenance, then the isolated
# positions' uPnL, IM and maintenance (``figures.Figures``' fields of the same names)
Part = tuple[int, int, int, int, int, int, int]  # 1e-8 of the margin asset
PARTS = 7
_NONE: Part = (0, 0, 0, 0, 0, 0, 0)
_SIDES = (PositionSide.BOTH, PositionSide.LONG, PositionSide.SHORT)
# what of a position the figures are worked out from that changes in place (``Contract.settle``,
# ``isolate``, a funding fee, a margin move): ``KeptAsset.held`` holds each position's
SUMS = operator.attrgetter("amt", "cost", "isolated_wallet")
_new = tuple.__new__


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

    def value(
        self, symbol: str, contract: Contract, mark: Fraction,
        positions: Mapping[tuple[str, PositionSide], Position], leverage: int, isolated: bool,
    ) -> Position | None:  # fmt: skip
        """``symbol``'s part at ``mark``: kept, or worked out again if what it is worked out
        from changed; its one-way position (None: none held), which its open orders'
        margin is keyed on."""
        get = positions.get
        both, long, short = get((symbol, _SIDES[0])), get((symbol, _SIDES[1])), get((symbol, _SIDES[2]))
        key: Hashable = (
            leverage, isolated, both and (both.amt, both.cost), long and (long.amt, long.cost),
            short and (short.amt, short.cost),
        )  # fmt: skip
        if not self.fresh(symbol, mark, key):
            held = [p for p in (both, long, short) if p is not None and p.amt]
            self.put(symbol, mark, key, part_of(contract, mark, held, leverage, isolated))
        return both

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


class KeptAsset:
    """An asset's figures kept whole (the module's docstring): the stamp and positions'
    sums they were worked out at, and per symbol counted a list of its ``[seat, mark,
    open orders' changes, margin key, open-order margin]`` (the account's ``Seat`` there;
    mark None: it had none, and counted nothing). The open-order margin moves apart
    (``open_im``), and a margin check reads it with the two integers it is weighed against
    (``room``): no ``Figures`` is made for a check, only for a reader of the figures (``now``)."""

    __slots__ = ("figures", "free", "held", "open_im", "orders", "stamp", "symbols", "withdrawable")

    def __init__(
        self, stamp: tuple[object, ...], held: list[Any], symbols: list[list[Any]], figures: Figures,
        orders: int = 0,
    ) -> None:  # fmt: skip
        self.stamp, self.held, self.symbols, self.figures = stamp, held, symbols, figures
        self.orders = orders  # how many symbols had open orders then (``Ledger._first_orders``)
        self.open_im = figures.open_order_im_e8  # as moved since (``moved``)
        # what the open orders' margin is taken from (``figures.available_of``, ``max_withdraw_of``)
        self.free, self.withdrawable = figures.cross_free_e8, figures.withdrawable_e8

    def stale(
        self, stamp: tuple[object, ...], held: list[Any], mark: Callable[[str], Fraction | None]
    ) -> list[list[Any]] | None:
        """None when the figures are to be worked out again (the stamp, a position's sums
        or a mark is not as it was); else the symbols whose open orders changed since, whose
        margin is to be read again (``moved``)."""
        if stamp != self.stamp or held != self.held:
            return None
        stale = []
        for counted in self.symbols:
            seat, was = counted[0], counted[1]
            now = mark(seat.symbol)
            if now is not was and (
                now is None or was is None
                or now.numerator != was.numerator or now.denominator != was.denominator
            ):  # fmt: skip  (the same mark compared as integers: a ``Fraction``'s ``==`` is a microsecond)
                return None
            if was is not None and seat.changes != counted[2]:
                stale.append(counted)
        return stale

    def seats(self) -> list[Any]:
        """The seats counted (``Ledger._first_orders``: one not among them is counted next)."""
        return [counted[0] for counted in self.symbols]

    def moved(self, by: int) -> None:
        """The open-order margin moved ``by`` (the symbols' read again)."""
        self.open_im += by

    def room(self, isolated: bool) -> int:
        """What a cost is weighed against (``risk.check_margin``): the available balance, or on
        an isolated symbol the max withdraw amount (the cross wallet's: the margin moves into
        the isolated wallet as the order fills), with the open-order margin as it is now."""
        if isolated:
            return max_withdraw_of(self.free, self.withdrawable, self.open_im)
        return available_of(self.free, self.open_im)

    def now(self) -> Figures:
        """The figures, with the open-order margin as it is now."""
        f = self.figures
        if f.open_order_im_e8 != self.open_im:
            self.figures = f = _new(Figures, (  # without the NamedTuple's generated Python __new__
                f.wallet, f.unrealized_e8, f.position_im_e8, self.open_im, f.maint_e8, f.isolated_wallet,
                f.isolated_unrealized_e8, f.isolated_im_e8, f.isolated_maint_e8, f.shared_e8, f.priced,
            ))  # fmt: skip
        return f


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
