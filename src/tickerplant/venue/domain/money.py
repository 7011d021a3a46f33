"""Money is integers: amounts are units of 1e-8 of the asset (part 3 §10: every balance
string has 8 decimals), parsed from and written as exact decimals."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

__all__ = ["AMOUNT_DECIMALS", "AMOUNT_SCALE", "format_amount", "parse_amount"]

AMOUNT_DECIMALS = 8  # balances are written with 8 decimals (part 3 §10)
AMOUNT_SCALE: int = 10**AMOUNT_DECIMALS  # units per whole asset


def parse_amount(text: str) -> int:
    """An exact, non-negative decimal with at most 8 decimals, as units of 1e-8."""
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
