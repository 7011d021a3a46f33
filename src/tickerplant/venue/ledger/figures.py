"""The margin figures of part 3 §7.8 as ``Ledger`` works them out (``ledger.py``): one
symbol's (``SymbolFigures``: positionRisk's) and one margin asset's totals (``Figures``:
the balance and account answers', and what margin checks and liquidations read).

Every figure is an integer in 1e-8 of the margin asset (part 3 §10: every balance string
has 8 decimals), rounded once, where Binance writes it: per position (a positionRisk row,
each side of a hedge account's its own), from the exact value at the mark:

- ``notional`` and ``unrealized`` (uPnL) truncated toward zero (part 3 §4.3, §7.5: three
  captures, Unresolved 13);
- ``position_im`` (``|notional| / L``, §7.2), ``maint`` (§7.4) and ``open_order_im``
  (decision 7, per side of the book: a hedge account's row per position side) rounded down
  (§10, Unresolved 13: "round down to 8 dp"; worked example B's 0.00961538 and 0.00076923);
  ``position_im`` is the written notional's ``// L`` alike (``⌊⌊x⌋ / L⌋ = ⌊x / L⌋``);
- ``bid_notional``/``ask_notional`` truncated as a notional is (an inverse order's notional
  is rounded down already, ``Contract.order_value``).

An asset's figures are the sums of its rows as written, so that the account answers add up
to their rows to the unit, as Binance's ``isolatedMargin`` adds up to ``isolatedWallet`` +
``unRealizedProfit`` (§4.3); ``available`` and ``max_withdraw`` (§7.8, Unresolved 7) are
integer arithmetic on those sums, and the margin check (-2019) weighs an integer cost.
A row's figures exactly on the 8-decimal grid are written as they were exact.

The fields and the figures the engine weighs are those integers (``_e8``: 1e-8 of the
asset); the unsuffixed names are the same figures in whole units of the asset (an exact
``Fraction``), for readers that think in the asset (tests against part 3's worked examples).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from fractions import Fraction
from typing import NamedTuple

from tickerplant.venue.domain.contract import Contract, Position
from tickerplant.venue.domain.money import AMOUNT_SCALE
from tickerplant.venue.domain.orders import PositionSide

__all__ = ["Figures", "SymbolFigures", "available_of", "isolated_wallets", "max_withdraw_of"]


@dataclass(frozen=True, slots=True)
class SymbolFigures:
    """One symbol's position and open orders valued at mark (positionRisk's figures), 1e-8
    of the margin asset (the module docstring's rounding)."""

    symbol: str
    position: Position
    mark: Fraction
    notional_e8: int  # signed
    unrealized_e8: int
    position_im_e8: int
    open_order_im_e8: int
    maint_e8: int
    leverage: int
    bid_notional_e8: int  # open buy orders' notional at their prices
    ask_notional_e8: int
    isolated: bool = False

    @property
    def side(self) -> PositionSide:
        return self.position.side

    @property
    def isolated_margin_e8(self) -> int:
        """``isolatedWallet + unRealizedProfit`` (part 3 §4.3); 0 for a cross position."""
        if not self.isolated:
            return 0
        return self.position.isolated_wallet + self.unrealized_e8

    @property
    def isolated_margin(self) -> Fraction:
        return Fraction(self.isolated_margin_e8, AMOUNT_SCALE)


class Figures(NamedTuple):  # a tuple: made per command, ~8× as quick as a frozen dataclass
    """One margin asset's totals (balance and account answers): every position's, and the
    isolated positions' part of them; each 1e-8 of the asset, a sum of rows as written."""

    wallet: int  # 1e-8: the cross wallet and the isolated wallets
    unrealized_e8: int
    position_im_e8: int
    open_order_im_e8: int
    maint_e8: int
    isolated_wallet: int = 0  # 1e-8, Σ over the isolated positions
    isolated_unrealized_e8: int = 0
    isolated_im_e8: int = 0
    isolated_maint_e8: int = 0
    shared_e8: tuple[int, int] | None = None  # Multi-Assets: the pool's available, max withdraw
    priced: bool = True  # Multi-Assets: every collateral asset held has a price (collateral.py)

    @property
    def margin_balance_e8(self) -> int:
        return self.wallet + self.unrealized_e8

    @property
    def cross_wallet(self) -> int:
        return self.wallet - self.isolated_wallet

    @property
    def cross_unrealized_e8(self) -> int:
        return self.unrealized_e8 - self.isolated_unrealized_e8

    @property
    def cross_margin_balance_e8(self) -> int:
        """What the cross positions' maintenance margin is measured against (§7.9)."""
        return self.wallet - self.isolated_wallet + self.unrealized_e8 - self.isolated_unrealized_e8

    @property
    def cross_maint_e8(self) -> int:
        return self.maint_e8 - self.isolated_maint_e8

    @property
    def cross_initial_e8(self) -> int:
        """The initial margin the cross wallet holds: cross positions' and every open order's."""
        return self.position_im_e8 - self.isolated_im_e8 + self.open_order_im_e8

    @property
    def cross_free_e8(self) -> int:
        """The cross margin balance less the cross positions' initial margin: what the open
        orders' margin is taken from (``available_of``)."""
        return self.cross_margin_balance_e8 - self.position_im_e8 + self.isolated_im_e8

    @property
    def withdrawable_e8(self) -> int:
        """The cross wallet less the cross positions' initial margin (``max_withdraw_of``)."""
        return self.wallet - self.isolated_wallet - self.position_im_e8 + self.isolated_im_e8

    @property
    def available_e8(self) -> int:
        """§7.8's available balance (``available_of``)."""
        if self.shared_e8 is not None:
            return self.shared_e8[0]
        return available_of(self.cross_free_e8, self.open_order_im_e8)

    @property
    def max_withdraw_e8(self) -> int:
        """§7.8's max withdraw amount (``max_withdraw_of``)."""
        if self.shared_e8 is not None:
            return self.shared_e8[1]
        return max_withdraw_of(self.cross_free_e8, self.withdrawable_e8, self.open_order_im_e8)

    # the same figures in whole units of the asset
    @property
    def unrealized(self) -> Fraction:
        return Fraction(self.unrealized_e8, AMOUNT_SCALE)

    @property
    def position_im(self) -> Fraction:
        return Fraction(self.position_im_e8, AMOUNT_SCALE)

    @property
    def open_order_im(self) -> Fraction:
        return Fraction(self.open_order_im_e8, AMOUNT_SCALE)

    @property
    def maint(self) -> Fraction:
        return Fraction(self.maint_e8, AMOUNT_SCALE)

    @property
    def available(self) -> Fraction:
        return Fraction(self.available_e8, AMOUNT_SCALE)

    @property
    def max_withdraw(self) -> Fraction:
        return Fraction(self.max_withdraw_e8, AMOUNT_SCALE)


def available_of(free_e8: int, open_order_im_e8: int) -> int:
    """§7.8: ``max(0, cross wallet + cross uPnL − cross position IM − open-order IM)``, from
    the first three (``Figures.cross_free_e8``) and the last, 1e-8: the one formula, for the
    figures and for a margin check that reads kept integers (``kept_figures.KeptAsset.room``)."""
    free = free_e8 - open_order_im_e8
    return free if free > 0 else 0


def max_withdraw_of(free_e8: int, withdrawable_e8: int, open_order_im_e8: int) -> int:
    """§7.8: ``max(0, min(available, cross wallet − cross position IM − open-order IM))``
    (``withdrawable_e8``: ``Figures.withdrawable_e8``), 1e-8."""
    return max(0, min(available_of(free_e8, open_order_im_e8), withdrawable_e8 - open_order_im_e8))


def isolated_wallets(
    positions: Mapping[tuple[str, PositionSide], Position], isolated: Collection[str], asset: str,
    contracts: Mapping[str, Contract],
) -> int:  # fmt: skip
    """Σ the wallets of the isolated positions margined in ``asset``, 1e-8 (``isolated``:
    the symbols set ISOLATED)."""
    if not isolated:
        return 0
    return sum(
        p.isolated_wallet for (s, _), p in positions.items()
        if s in isolated and contracts[s].inst.margin_asset == asset
    )  # fmt: skip
