"""The venue's fee model: one maker and one taker rate for every account and symbol
(decision 6), applied by ``contract.Contract.commission`` to each fill's notional."""

from __future__ import annotations

from fractions import Fraction
from typing import NamedTuple

__all__ = ["DEFAULT_FEES", "Fees"]


class Fees(NamedTuple):
    maker: Fraction = Fraction(2, 10_000)  # 0.0200 % (decision 6)
    taker: Fraction = Fraction(5, 10_000)  # 0.0500 %


DEFAULT_FEES = Fees()
