"""The margin figures of part 3 §7.8 as ``Ledger`` works them out (``ledger.py``): one
symbol's (``SymbolFigures``: positionRisk's) and one margin asset's totals (``Figures``:
the balance and account answers', and what margin checks and liquidations read)."""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from typing import NamedTuple

from tickerplant.venue.domain.contract import Position
from tickerplant.venue.domain.money import AMOUNT_SCALE
from tickerplant.venue.domain.orders import PositionSide

__all__ = ["Figures", "SymbolFigures", "less", "plus"]

_ZERO = Fraction(0)


@dataclass(frozen=True, slots=True)
class SymbolFigures:
    """One symbol's position and open orders valued at mark (positionRisk's figures)."""

    symbol: str
    position: Position
    mark: Fraction
    notional: Fraction
    unrealized: Fraction
    position_im: Fraction
    open_order_im: Fraction
    maint: Fraction
    leverage: int
    bid_notional: Fraction  # open buy orders' notional at their prices
    ask_notional: Fraction
    isolated: bool = False

    @property
    def side(self) -> PositionSide:
        return self.position.side

    @property
    def isolated_margin(self) -> Fraction:
        """``isolatedWallet + unRealizedProfit`` (part 3 §4.3); 0 for a cross position."""
        if not self.isolated:
            return Fraction(0)
        return self.position.isolated_wallet / Fraction(10**8) + self.unrealized


class Figures(NamedTuple):  # a tuple: made per command, ~8× as quick as a frozen dataclass
    """One margin asset's totals (balance and account answers): every position's, and the
    isolated positions' part of them."""

    wallet: int  # 1e-8: the cross wallet and the isolated wallets
    unrealized: Fraction
    position_im: Fraction
    open_order_im: Fraction
    maint: Fraction
    isolated_wallet: int = 0  # 1e-8, Σ over the isolated positions
    isolated_unrealized: Fraction = Fraction(0)
    isolated_im: Fraction = Fraction(0)
    isolated_maint: Fraction = Fraction(0)
    shared: tuple[Fraction, Fraction] | None = None  # Multi-Assets: the pool's available, max withdraw
    priced: bool = True  # Multi-Assets: every collateral asset held has a price (collateral.py)

    @property
    def margin_balance(self) -> Fraction:
        return self.wallet / Fraction(10**8) + self.unrealized

    @property
    def cross_wallet(self) -> int:
        return self.wallet - self.isolated_wallet

    @property
    def cross_unrealized(self) -> Fraction:
        return less(self.unrealized, self.isolated_unrealized)

    @property
    def cross_margin_balance(self) -> Fraction:
        """What the cross positions' maintenance margin is measured against (§7.9)."""
        return plus(Fraction(self.cross_wallet, AMOUNT_SCALE), self.cross_unrealized)

    @property
    def cross_maint(self) -> Fraction:
        return self.maint - self.isolated_maint

    @property
    def cross_initial(self) -> Fraction:
        """The initial margin the cross wallet holds: cross positions' and every open order's."""
        return plus(less(self.position_im, self.isolated_im), self.open_order_im)

    @property
    def available(self) -> Fraction:
        if self.shared is not None:
            return self.shared[0]
        free = less(self.cross_margin_balance, self.cross_initial)
        return free if free > 0 else _ZERO

    @property
    def max_withdraw(self) -> Fraction:
        if self.shared is not None:
            return self.shared[1]
        free = less(Fraction(self.cross_wallet, AMOUNT_SCALE), self.cross_initial)
        return max(_ZERO, min(self.available, free))


def less(a: Fraction, b: Fraction) -> Fraction:
    """``a − b``, no arithmetic when ``b`` is 0 (most accounts' isolated parts: a ``Fraction``
    operation costs a microsecond, and ``available`` made seven of them)."""
    return a - b if b else a


def plus(a: Fraction, b: Fraction) -> Fraction:
    return (a + b if a else b) if b else a
