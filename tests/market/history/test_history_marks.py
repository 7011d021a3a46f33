"""The simulated past's mark, index and premium klines and funding (``market/history/marks.py``):
from the same prices as the trades, by the live formulas, the same whenever asked, coarser
klines the aggregate of the minutes, and funding mostly at the 0.01 % baseline with episodes
away from it."""

from __future__ import annotations

import itertools
import statistics

from tickerplant.market.derivatives.mark_price import (
    FUNDING_INTERVAL_MS,
    INTEREST_RATE,
    PremiumAverage,
    funding_rate,
)
from tickerplant.market.history.marks import PastMarks
from tickerplant.market.history.series import SimulatedPast
from tickerplant.market.instruments import Market, catalogue
from tickerplant.market.klines.price_candles import PriceKind
from tickerplant.market.units import DAY_MS, HOUR_MS, MINUTE_MS

NOW = 1_795_000_000_000
INSTRUMENTS = [i for m in Market for i in catalogue(m, NOW)]
PAST = SimulatedPast(INSTRUMENTS, seed=7, actions_per_s=400.0)
MARKS = PastMarks(PAST)
AT = NOW - NOW % FUNDING_INTERVAL_MS - 3 * FUNDING_INTERVAL_MS  # a funding time


def test_an_hour_is_the_aggregate_of_its_minutes_for_every_kind() -> None:
    for kind in PriceKind:
        (hour,) = MARKS.klines("ETHUSDT", kind, "1h", AT + HOUR_MS, None, 1, NOW)
        minutes = MARKS.klines("ETHUSDT", kind, "1m", hour.open_ms, hour.close_ms, 100, NOW)
        assert len(minutes) == 60 and hour.samples == 3600
        assert (hour.open, hour.close) == (minutes[0].open, minutes[-1].close)
        assert hour.high == max(m.high for m in minutes) and hour.low == min(m.low for m in minutes)


def test_prices_follow_the_trades() -> None:
    trades = PAST.klines("BTCUSDT", "1m", AT, None, 120, NOW)
    marks = MARKS.klines("BTCUSDT", PriceKind.MARK, "1m", AT, None, 120, NOW)
    index = MARKS.klines("BTCUSDT", PriceKind.INDEX, "1m", AT, None, 120, NOW)
    for t, m, i in zip(trades, marks, index, strict=True):
        close = t.close * 10**6  # price units (2 decimals) to mark units (8)
        assert abs(m.close - close) / close < 0.005  # the mark is the median: near the last price
        assert abs(i.close - close) / close < 0.005  # the index a few basis points off the trades
    for a, b in itertools.pairwise(index):
        assert b.open == a.close  # one index path


def test_funding_is_the_formula_over_the_minutes_premiums() -> None:
    (event,) = MARKS.funding("SOLUSDT", AT, None, 1, NOW)
    assert event.funding_ms == AT
    premiums = MARKS.klines("SOLUSDT", PriceKind.PREMIUM, "1m", AT - FUNDING_INTERVAL_MS, AT - 1, 480, NOW)
    average = PremiumAverage()
    for bar in premiums:
        average.add(bar.close)
    assert event.rate == funding_rate(average.average())
    (last_mark,) = MARKS.klines("SOLUSDT", PriceKind.MARK, "1m", AT - MINUTE_MS, AT - 1, 1, NOW)
    assert event.mark == last_mark.close


def test_funding_is_mostly_the_baseline_with_episodes_away() -> None:
    events = MARKS.funding("BTCUSDT", None, None, 120, NOW)  # 40 days
    assert len(events) == 120 and events[-1].funding_ms <= NOW
    rates = [e.rate for e in events]
    assert statistics.mean(r == INTEREST_RATE for r in rates) > 0.6
    assert any(abs(r - INTEREST_RATE) > 10_000 for r in rates)  # an episode: 0.01 % away or more
    assert [e.funding_ms for e in events] == list(range(events[0].funding_ms, NOW, FUNDING_INTERVAL_MS))[:120]


def test_the_same_whenever_asked_and_nothing_before_the_listing() -> None:
    again = PastMarks(SimulatedPast(catalogue(Market.UM, NOW + 9 * DAY_MS), seed=7, actions_per_s=400.0))
    assert again.funding("DOGEUSDT", AT - 2 * DAY_MS, None, 5, NOW) == MARKS.funding("DOGEUSDT", AT - 2 * DAY_MS, None, 5, NOW)
    first = MARKS.funding("DOGEUSDT", 0, None, 1, NOW)[0]
    listed = PAST.instruments["DOGEUSDT"].onboard_ms
    assert listed + FUNDING_INTERVAL_MS > first.funding_ms - FUNDING_INTERVAL_MS >= listed - FUNDING_INTERVAL_MS
    assert MARKS.klines("DOGEUSDT", PriceKind.MARK, "1m", 0, None, 1, NOW)[0].open_ms >= listed
    assert MARKS.funding("BTCUSD_261225", None, None, 5, NOW) == []  # a delivery contract has none


def test_a_cold_interval_s_paths_are_drawn_an_hour_a_piece_before_its_marks() -> None:
    # a cold funding interval of marks was one piece of 10-25 ms, half of it drawing its
    # paths' minutes; they come first, a cold hour a piece, and the bars are the same
    cold = PastMarks(SimulatedPast(INSTRUMENTS, seed=7, actions_per_s=400.0))
    start = AT - FUNDING_INTERVAL_MS
    pieces = list(cold.kline_pieces("SOLUSDT", PriceKind.MARK, "1m", start, None, 1000, NOW))
    intervals = -(-(1000 * MINUTE_MS) // FUNDING_INTERVAL_MS)  # the intervals the bars lie in
    assert len(pieces) >= intervals * 9  # each interval's nine hours, then the interval itself
    made = cold.klines("SOLUSDT", PriceKind.MARK, "1m", start, None, 1000, NOW)
    assert made == MARKS.klines("SOLUSDT", PriceKind.MARK, "1m", start, None, 1000, NOW)
