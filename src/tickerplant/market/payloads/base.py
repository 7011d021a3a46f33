"""What every market-stream payload struct shares: the number type of its prices and
quantities, and the struct options (spec §4.0). ``market/payloads/events.py`` (the book and trade
payloads) and ``market/payloads/derived_events.py`` (klines, mark and index prices, liquidations)
both build on it.
"""

from __future__ import annotations

from decimal import Decimal
from typing import TypeVar

import msgspec

__all__ = ["N", "PayloadStruct"]


# Prices and quantities: exact either way. Decimal for arithmetic, or the original string
# (three times cheaper to decode) for code that only passes them on (``numbers=str``).
N = TypeVar("N", Decimal, str)


class PayloadStruct(msgspec.Struct, frozen=True, gc=False, omit_defaults=True, tag_field="e"):
    """Common options: immutable; untracked by the cycle collector (events hold no cycles,
    and skipping GC tracking makes allocating millions of them cheaper); the wire ``e`` is
    the tag; re-encoding leaves out absent optional keys, as Binance does."""
