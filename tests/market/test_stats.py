from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tickerplant.market.stats import DAY_MS, RollingWindow


def test_defaults_and_empty_window() -> None:
    window = RollingWindow()
    assert window.window_ms == DAY_MS
    assert (window.open, window.high, window.low, window.close) == (0, 0, 0, 0)
    assert (window.volume, window.quote_volume, window.count, len(window)) == (0, 0, 0, 0)
    assert (window.first_id, window.last_id, window.last_qty) == (-1, -1, 0)
    assert not window.evict(10**13)
    with pytest.raises(ValueError):
        RollingWindow(0)


def test_statistics_over_a_few_trades() -> None:
    window = RollingWindow(1000)
    window.add(100, 7, 50, 2, 100)
    window.add(200, 8, 55, 1, 55)
    window.add(200, 9, 45, 3, 135)  # equal times are fine
    window.add(300, 10, 52, 1, 52)
    assert (window.open, window.high, window.low, window.close) == (50, 55, 45, 52)
    assert (window.volume, window.quote_volume, window.count) == (7, 342, 4)
    assert (window.first_id, window.last_id, window.last_qty) == (7, 10, 1)
    assert (window.open_time_ms, window.last_time_ms) == (100, 300)


def test_eviction_boundary_is_inclusive_of_the_window_start() -> None:
    window = RollingWindow(1000)
    window.add(100, 1, 60, 1, 60)
    window.add(200, 2, 40, 1, 40)
    window.add(300, 3, 50, 1, 50)
    assert not window.evict(1099)  # 100 > 1099 - 1000: still inside
    assert window.evict(1100)  # 100 <= 100: out
    assert (window.open, window.high, window.low, window.count) == (40, 50, 40, 2)
    assert window.evict(1200)
    assert (window.open, window.high, window.low, window.first_id) == (50, 50, 50, 3)


def test_empty_window_keeps_the_last_price() -> None:
    window = RollingWindow(1000)
    window.add(100, 1, 60, 4, 240)
    window.add(150, 2, 70, 5, 350)
    assert window.evict(5000)
    assert (window.open, window.high, window.low, window.close) == (70, 70, 70, 70)
    assert (window.volume, window.quote_volume, window.count) == (0, 0, 0)
    assert (window.first_id, window.last_id, window.last_qty) == (-1, -1, 5)
    assert window.open_time_ms == 150
    window.add(6000, 3, 65, 1, 65)
    assert (window.open, window.high, window.low, window.close) == (65, 65, 65, 65)
    assert window.first_id == window.last_id == 3


def test_add_ages_the_window_to_the_trade() -> None:
    window = RollingWindow(1000)
    window.add(0, 1, 10, 1, 10)
    window.add(1000, 2, 20, 1, 20)
    assert window.count == 1 and window.open == 20


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


@given(_trades, st.integers(1, 1000))
def test_window_matches_brute_force(
    trades: list[tuple[int, int, int, bool, int]], window_ms: int
) -> None:
    window = RollingWindow(window_ms)
    seen: list[tuple[int, int, int, int]] = []  # time, id, price, qty
    now = 0
    for trade_id, (gap, price, qty, evict, later) in enumerate(trades):
        now += gap
        window.add(now, trade_id, price, qty, price * qty)
        seen.append((now, trade_id, price, qty))
        if evict:
            now += later
            window.evict(now)
        inside = [t for t in seen if t[0] > now - window_ms]
        assert window.count == len(inside)
        assert window.volume == sum(t[3] for t in inside)
        assert window.quote_volume == sum(t[2] * t[3] for t in inside)
        assert window.close == price and window.last_qty == qty
        if inside:
            assert window.open == inside[0][2]
            assert window.high == max(t[2] for t in inside)
            assert window.low == min(t[2] for t in inside)
            assert window.first_id == inside[0][1] and window.last_id == inside[-1][1]
            assert window.open_time_ms == inside[0][0]
        else:
            assert window.open == window.high == window.low == price
            assert window.first_id == window.last_id == -1
