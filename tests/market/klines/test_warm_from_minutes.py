"""The open candles warmed from a past's minutes (``klines/warm.warm_from_minutes``): each
interval's candle is every minute since its open folded in order, as a pending candle is
merged live."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from tickerplant.market.instruments import Market, catalogue
from tickerplant.market.klines.candles import Kline, close_time, open_time
from tickerplant.market.klines.symbol_candles import SymbolCandles
from tickerplant.market.klines.warm import warm_from_minutes

MINUTE_MS = 60_000
# 2026-03-02T00:07Z, a Monday: the week's, the day's and the hours' candles open together
NOW_MS = 1_772_409_600_000 + 7 * MINUTE_MS + 12_345
INSTRUMENTS = {market: catalogue(market, NOW_MS)[0] for market in Market}


def _minute(open_ms: int, n: int, price: int) -> Kline:
    return Kline(
        open_ms, open_ms + MINUTE_MS - 1, price, price + n % 7, price - n % 5, price + n % 3, 10 + n,
        1000 * (10 + n), 1 + n % 4, n, 100 * n, 50 * n, 50 * n + n % 4,
    )  # fmt: skip


def _folded(intervals: tuple[str, ...], minutes: list[Kline]) -> list[tuple[str, Kline]]:
    """Each interval's candle, every minute since its open folded into it in turn."""
    made = []
    for interval in intervals:
        start = open_time(interval, NOW_MS)
        k: Kline | None = None
        for m in minutes:
            if m.open_ms < start:
                continue
            if k is None:
                k = Kline(
                    start, close_time(interval, start), m.open, m.high, m.low, m.close, m.volume, m.quote,
                    m.count, m.taker_buy_volume, m.taker_buy_quote, m.first_id, m.last_id,
                )  # fmt: skip
            else:
                k.fold(m)
        if k is not None:
            made.append((interval, k))
    return made


@given(
    st.sampled_from(list(Market)),
    st.lists(
        st.tuples(st.integers(1, 12 * 24 * 60), st.integers(1_000, 2_000)), max_size=40, unique_by=lambda t: t[0]
    ),
)
def test_each_candle_is_its_minutes_folded(market: Market, back: list[tuple[int, int]]) -> None:
    """Minutes from up to 12 days back (the 3d's, the week's and the month's candles open
    before some of them) in time order: the candles as folding each interval's own makes."""
    now_minute = NOW_MS - NOW_MS % MINUTE_MS
    ascending = sorted(back, reverse=True)
    minutes = [_minute(now_minute - ago * MINUTE_MS, n, price) for n, (ago, price) in enumerate(ascending)]
    candles = SymbolCandles(INSTRUMENTS[market])
    made = warm_from_minutes(candles, minutes, NOW_MS)
    expected = _folded(candles.intervals, minutes)
    assert made == expected
    assert [k for k in candles.candles if k is not None] == [k for _, k in expected]
    assert len({id(k) for _, k in made}) == len(made)  # each its own: the live trades fold into one
    assert candles.changed is bool(made)
    assert candles.next_close_ms == min((k.close_ms for _, k in made), default=candles.next_close_ms)
