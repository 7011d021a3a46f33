"""Exact decimal strings as Binance writes them, from integer units (spec §4.0)."""

from __future__ import annotations

from decimal import Decimal

__all__ = ["fixed", "units"]


def fixed(units: int, decimals: int) -> str:
    """``units * 10**-decimals`` written with exactly ``decimals`` digits after the point."""
    if decimals <= 0:
        return str(units)
    if units >= 0:
        digits = str(units)
        if len(digits) > decimals:  # the common case: no padding, no sign
            return f"{digits[:-decimals]}.{digits[-decimals:]}"
    sign = "-" if units < 0 else ""
    digits = str(abs(units)).rjust(decimals + 1, "0")
    return f"{sign}{digits[:-decimals]}.{digits[-decimals:]}"


def units(text: str, decimals: int) -> int:
    """The inverse of ``fixed``: a decimal string as an integer count of 10**-decimals.

    Strings written by ``fixed`` take the fast path; any other exact decimal (an upstream
    that writes "25.35190000") is converted exactly, or refused if it has finer digits.
    """
    whole, dot, frac = text.partition(".")
    if len(frac) == decimals and whole.isdigit() and (not dot or frac.isdigit()):
        return int(whole + frac)
    scaled = Decimal(text).scaleb(decimals)
    if scaled != scaled.to_integral_value():
        raise ValueError(f"{text!r} has more than {decimals} decimals")
    return int(scaled)
