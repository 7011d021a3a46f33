"""Exact decimal strings as Binance writes them, from integer units (spec §4.0)."""

from __future__ import annotations

__all__ = ["fixed"]


def fixed(units: int, decimals: int) -> str:
    """``units * 10**-decimals`` written with exactly ``decimals`` digits after the point."""
    if decimals <= 0:
        return str(units)
    sign = "-" if units < 0 else ""
    digits = str(abs(units)).rjust(decimals + 1, "0")
    return f"{sign}{digits[:-decimals]}.{digits[-decimals:]}"
