"""Money is integers: amounts are units of 1e-8 of the asset (part 3 §10: every balance
string has 8 decimals), parsed from and written as exact decimals; a value off that grid
(a position's sums, ``contract.py``) is a ``Ratio`` of two integers."""

from __future__ import annotations

import math
import re
from decimal import Decimal, InvalidOperation
from typing import NamedTuple

__all__ = ["AMOUNT_DECIMALS", "AMOUNT_SCALE", "Ratio", "format_amount", "parse_amount", "parse_ratio"]

AMOUNT_DECIMALS = 8  # balances are written with 8 decimals (part 3 §10)
AMOUNT_SCALE: int = 10**AMOUNT_DECIMALS  # units per whole asset


class Ratio(NamedTuple):  # a tuple: made per fill, compared per figure (``Fraction``'s are µs each)
    """An exact value ``num / den`` held as two integers, ``den`` > 0, in lowest terms (so
    that equal values are equal pairs), for what does not fall on a grid: a position's sums
    (``contract.Position.cost``). Its arithmetic is the integer operations of its users."""

    num: int
    den: int


def parse_ratio(text: str) -> Ratio:
    """``"n/d"`` or ``"n"`` (as ``str(Fraction)`` writes one) as a ``Ratio`` in lowest terms."""
    num, _, den = text.partition("/")
    n, d = int(num), int(den) if den else 1
    if d <= 0:
        raise ValueError(f"{text!r}: not a ratio with a positive denominator")
    g = math.gcd(n, d)
    return Ratio(n // g, d // g)


_PLAIN = re.compile(r"[0-9]{1,20}(\.[0-9]{1,64})?", re.ASCII)  # (past 8 decimals: said below)


def parse_amount(text: str) -> int:
    """An exact, non-negative decimal with at most 8 decimals, as units of 1e-8: ASCII
    digits and a point alone (no sign, exponent, ``_`` or another script's digits, which
    ``Decimal`` would take)."""
    if _PLAIN.fullmatch(text) is None:
        raise ValueError(f"{text[:40]!r}: not a number (digits, and a point)")
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise ValueError(f"{text!r}: not a number") from None
    units = value * AMOUNT_SCALE
    if not value.is_finite() or value < 0 or units != units.to_integral_value():
        raise ValueError(f"{text!r}: a non-negative amount with at most 8 decimals")
    return int(units)


def format_amount(units: int) -> str:
    """Units of 1e-8 as Binance writes a balance: ``"10000.00000000"``."""
    sign = "-" if units < 0 else ""
    whole, fraction = divmod(abs(units), AMOUNT_SCALE)
    return f"{sign}{whole}.{fraction:08d}"
