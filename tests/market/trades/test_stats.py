from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tickerplant.market.trades.stats import DAY_MS, RollingWindow
from tickerplant.market.units import MINUTE_MS


def test_defaults_and_empty_window() -> None:
    window = RollingWindow()
    assert (window.window_ms, window.bucket_ms) == (DAY_MS, MINUTE_MS)
    assert (window.open, window.high, window.low, window.close) == (0, 0, 0, 0)
    assert (window.volume, window.quote_volume, window.count, len(window)) == (0, 0, 0, 0)
    assert (window.first_id, window.last_id, window.last_qty) == (-1, -1, 0)
    assert not window.evict(10**13)
    for bad in ((0, 1), (10, 0), (10, 3)):
        with pytest.raises(ValueError):
            RollingWindow(*bad)


def test_statistics_over_a_few_trades() -> None:
    window = RollingWindow(1000, 100)
    window.add(100, 7, 50, 2, 100)
    window.add(200, 8, 55, 1, 55)
    window.add(200, 9, 45, 3, 135)  # equal times are fine
    window.add(350, 10, 52, 1, 52)
    assert (window.open, window.high, window.low, window.close) == (50, 55, 45, 52)
    assert (window.volume, window.quote_volume, window.count) == (7, 342, 4)
    assert (window.first_id, window.last_id, window.last_qty) == (7, 10, 1)
    assert (window.open_time_ms, window.last_time_ms, len(window)) == (100, 350, 3)


def test_the_window_opens_on_the_bucket_of_now_minus_the_window() -> None:
    """Spec §4.3: the live window opens at the start of the minute 24 h ago."""
    window = RollingWindow(1000, 100)
    window.add(150, 1, 60, 1, 60)
    window.add(250, 2, 40, 1, 40)
    window.add(399, 3, 50, 1, 50)
    assert not window.evict(1199)  # 1199 - 1000 = 199 lies in the bucket of 150
    assert window.evict(1200)  # the bucket [100, 200) is out
    assert (window.open, window.high, window.low, window.count) == (40, 50, 40, 2)
    assert window.open_time_ms == 200
    assert window.evict(1300)
    assert (window.open, window.high, window.low, window.first_id) == (50, 50, 50, 3)


def test_a_day_of_minutes_at_any_trade_rate_holds_at_most_1441_buckets() -> None:
    window = RollingWindow()
    start = 1_791_296_580_000
    for i in range(2 * 1440 * 6):  # two days, a trade every 10 s
        window.add(start + i * 10_000, i, 100 + i % 7, 1, 100)
        assert len(window) <= 1441
    now = start + (2 * 1440 * 6 - 1) * 10_000
    assert window.open_time_ms == (now - DAY_MS) // MINUTE_MS * MINUTE_MS
    assert window.count == (now - window.open_time_ms) // 10_000 + 1


def test_empty_window_keeps_the_last_price() -> None:
    window = RollingWindow(1000, 100)
    window.add(100, 1, 60, 4, 240)
    window.add(150, 2, 70, 5, 350)
    assert window.evict(5000)
    assert (window.open, window.high, window.low, window.close) == (70, 70, 70, 70)
    assert (window.volume, window.quote_volume, window.count, len(window)) == (0, 0, 0, 0)
    assert (window.first_id, window.last_id, window.last_qty) == (-1, -1, 5)
    assert window.open_time_ms == 100
    window.add(6000, 3, 65, 1, 65)
    assert (window.open, window.high, window.low, window.close) == (65, 65, 65, 65)
    assert window.first_id == window.last_id == 3


def test_add_ages_the_window_to_the_trade() -> None:
    window = RollingWindow(1000, 100)
    window.add(0, 1, 10, 1, 10)
    window.add(1100, 2, 20, 1, 20)
    assert window.count == 1 and window.open == 20


def test_an_aggregate_counts_its_fills_and_a_late_trade_joins_the_open_bucket() -> None:
    window = RollingWindow(1000, 100)
    window.add(500, 10, 30, 6, 180, trades=3)
    window.add(450, 13, 35, 1, 35)  # older than the open bucket: counted in it
    assert (window.count, window.first_id, window.last_id, window.high, len(window)) == (4, 10, 13, 35, 1)


_trades = st.lists(
    st.tuples(
        st.integers(0, 400),  # gap to the previous trade, ms
        st.integers(1, 60),  # price
        st.integers(1, 1000),  # qty
        st.booleans(),  # evict at a later time before the next trade
        st.integers(0, 1500),  # how much later
    ),
    max_size=150,
)


@given(_trades, st.integers(1, 50), st.integers(1, 40))
def test_window_matches_brute_force(
    trades: list[tuple[int, int, int, bool, int]], bucket_ms: int, buckets: int
) -> None:
    window_ms = bucket_ms * buckets
    window = RollingWindow(window_ms, bucket_ms)
    seen: list[tuple[int, int, int, int]] = []  # time, id, price, qty
    now = 0
    for trade_id, (gap, price, qty, evict, later) in enumerate(trades):
        now += gap
        window.add(now, trade_id, price, qty, price * qty)
        seen.append((now, trade_id, price, qty))
        if evict:
            now += later
            window.evict(now)
        since = (now - window_ms) // bucket_ms * bucket_ms
        inside = [t for t in seen if t[0] // bucket_ms * bucket_ms >= since]
        assert len(window) <= buckets + 1
        assert window.count == len(inside)
        assert window.volume == sum(t[3] for t in inside)
        assert window.quote_volume == sum(t[2] * t[3] for t in inside)
        assert window.close == price and window.last_qty == qty
        if inside:
            assert window.open == inside[0][2]
            assert window.high == max(t[2] for t in inside)
            assert window.low == min(t[2] for t in inside)
            assert window.first_id == inside[0][1] and window.last_id == inside[-1][1]
            assert window.open_time_ms == inside[0][0] // bucket_ms * bucket_ms
        else:
            assert window.open == window.high == window.low == price
            assert window.first_id == window.last_id == -1
