"""A store of price bars starts with its first minutes and takes its full size when they
are outgrown (``klines/price_candles.py``): it answers as a store of its full size would."""

from __future__ import annotations

import pytest

from tickerplant.market.klines.price_candles import FIRST_MINUTES, PriceBar, PriceBars, PriceKind
from tickerplant.market.units import MINUTE_MS

T0 = 1_767_225_600_000  # 2026-01-01T00:00Z
CAPACITY = 2 * FIRST_MINUTES + 30  # beyond the first minutes, small enough to wrap


def _fill(bars: PriceBars, minutes: int) -> None:
    """Two samples a minute: the mark at the minute's number, then one above it."""
    for minute in range(minutes):
        bars.add(T0 + minute * MINUTE_MS, 100 + minute, 50 + minute, minute)
        bars.add(T0 + minute * MINUTE_MS + 30_000, 101 + minute, 50 + minute, minute)


def _expected(minutes: int) -> list[PriceBar]:
    """The marks' 1m bars a store of ``CAPACITY`` holds after ``minutes`` of ``_fill``."""
    return [
        PriceBar(T0 + m * MINUTE_MS, T0 + (m + 1) * MINUTE_MS - 1, 100 + m, 101 + m, 100 + m, 101 + m, 2)
        for m in range(max(0, minutes - CAPACITY), minutes)
    ]


@pytest.mark.parametrize("minutes", [1, FIRST_MINUTES, FIRST_MINUTES + 1, CAPACITY, CAPACITY + 1, 3 * CAPACITY + 7])
def test_a_store_answers_as_one_of_its_full_size(minutes: int) -> None:
    bars = PriceBars(capacity=CAPACITY)
    _fill(bars, minutes)
    assert len(bars) == min(minutes, CAPACITY)
    assert bars.query(PriceKind.MARK, "1m", None, None, 1500) == _expected(minutes)
    again = PriceBars(capacity=CAPACITY)  # a view's state carried over (scaleout)
    again.load(bars.columns())
    assert again.columns() == bars.columns()
    assert again.query(PriceKind.MARK, "1m", None, None, 1500) == _expected(minutes)
    again.add(T0 + minutes * MINUTE_MS, 100 + minutes, 50 + minutes, minutes)  # the next minute
    assert again.query(PriceKind.MARK, "1m", None, None, 1)[0].open == 100 + minutes
