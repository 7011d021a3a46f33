"""A position kept as sums (part 3 §7.7), for linear (USDⓈ-M) and inverse (COIN-M) contracts
alike: its quantity and Σ of what each fill opened (``Contract.level_value``), whose quotient
is the entry price; the formulas over them are ``contract.py``'s.

A position's sums are a ``money.Ratio``: two integers in lowest terms, changed by integer
operations. An inverse Σ q/p (and a linear Σ q·p once a reduction leaves it off the
integers) stays exact while its denominator is at most 10**18 (``SUM_DENOMINATOR``):
Binance keeps its entry price (§7.7) in binary floating point (part 3 §4.3, Unresolved 19:
``"313.20000000000005"``), which gives no rounding rule to follow, and a sum rounded early
loses the unit of a figure exactly on the 8-decimal grid (long 1 BTCUSD_PERP at 30 000, mark
120 000: uPnL 0.0025 exactly; a Σ q/p rounded down by any amount writes 0.00249999). Exact
without end, its denominator would take in every price the position grew at (3,421 digits
after 1,000 fills): where a change (an increase, a reduction's pro rata share) takes it past
10**18, the sum is rounded to the nearest 1e-18 of its unit, ties to even (``bounded``).
Each rounding errs by at most 0.5e-18 of the sum's unit: ``CS × price_one / qty_one ×
0.5e-18`` coin in an inverse PnL (5e-16 BTCUSD_PERP), ``0.5e-18 / (qty_one × price_one)`` in
a linear one; an entry price ``EP`` by about ``EP × error / Σ``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction
from math import gcd
from typing import Protocol

from tickerplant.venue.domain.money import Ratio
from tickerplant.venue.domain.orders import PositionSide

__all__ = ["FLAT", "SUM_DENOMINATOR", "Position", "bounded"]

SUM_DENOMINATOR = 10**18  # a position's sums exact up to this denominator, then on its grid
FLAT = Ratio(0, 1)  # the sums of no quantity
_ZERO = Fraction(0)


class Units(Protocol):
    """What a position's sums are read with: its symbol's ``contract.Contract``."""

    def entry(self, size: int, cost: Ratio) -> Fraction: ...

    def entry_ratio(self, size: int, cost: Ratio) -> tuple[int, int]: ...


@dataclass(slots=True)
class Position:
    """One signed position per account, symbol and position side: ``BOTH`` in one-way mode,
    ``LONG`` (never below zero) and ``SHORT`` (never above) in hedge mode.

    Kept as sums, as an order keeps ``cum_quote``: the quantity (``amt``) and ``cost``, Σ of
    ``Contract.level_value`` over the open quantity (linear Σ q·p in quantity × price units,
    whole while every reduction divides it; inverse Σ q/p), a ``Ratio`` with a denominator
    of at most ``SUM_DENOMINATOR`` (``bounded``). The entry price (§7.7) is their quotient,
    worked out where it is shown or a formula needs it."""

    amt: int = 0  # signed quantity units: + long, - short
    cost: Ratio = FLAT  # Σ level_value over the open quantity; 0 when flat
    update_ms: int = 0
    isolated_wallet: int = 0  # 1e-8 of the margin asset: the collateral of an isolated position
    side: PositionSide = PositionSide.BOTH
    contract: Units | None = field(default=None, repr=False, compare=False)  # ``cost``'s units
    # of the open quantity, what maker fills opened (shrunk pro rata as it closes): the rate
    # paid on opening, ``breakEvenPrice``'s (part 3 §7.7, ``Contract.break_even``)
    maker_amt: int = 0

    @property
    def entry(self) -> Fraction:
        """The entry price (§7.7): 0 when flat."""
        if not self.amt or self.contract is None:
            return _ZERO
        return self.contract.entry(abs(self.amt), self.cost)

    @property
    def entry_ratio(self) -> tuple[int, int]:
        """``entry`` as a numerator and a denominator in lowest terms, (0, 1) when flat."""
        if not self.amt or self.contract is None:
            return 0, 1
        return self.contract.entry_ratio(abs(self.amt), self.cost)

    def copy(self) -> Position:
        wallet, made = self.isolated_wallet, self.maker_amt
        return Position(self.amt, self.cost, self.update_ms, wallet, self.side, self.contract, made)


def bounded(num: int, den: int) -> Ratio:
    """A position's sums ``num / den`` (``den`` > 0) as kept (module docstring), in lowest
    terms: exact while that denominator is at most ``SUM_DENOMINATOR``, else rounded to the
    nearest ``1 / SUM_DENOMINATOR``, ties to even (§7.7's entry price has no rounding rule of
    Binance's to follow, Unresolved 19)."""
    g = gcd(num, den)
    if g > 1:
        num, den = num // g, den // g
    if den > SUM_DENOMINATOR:  # ``round(num × 10**18 / den)``, then in lowest terms again
        units, rest = divmod(num * SUM_DENOMINATOR, den)
        units += 2 * rest > den or (2 * rest == den and units & 1)
        g = gcd(units, SUM_DENOMINATOR)
        return Ratio(units // g, SUM_DENOMINATOR // g)
    return Ratio(num, den)
