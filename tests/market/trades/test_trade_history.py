"""The view's recent aggregate trades (spec §7.9): lookups by id and time, and a bound that
holds under a flood."""

from __future__ import annotations

import tracemalloc

from hypothesis import given
from hypothesis import strategies as st

from tickerplant.market.trades.history import CAPACITY, Aggregate, TradeHistory

T0 = 1_767_225_600_000


def _agg(n: int, time_ms: int) -> Aggregate:
    return Aggregate(n, 10 * n, 10 * n + 2, time_ms, 9_000_000 + n, n, n % 2 == 0)


def test_lookups_by_id_and_time() -> None:
    history = TradeHistory(capacity=100)
    for n in range(1, 51):
        history.add(*_agg(n, T0 + 1000 * n))
    assert [a.agg_id for a in history.latest(3)] == [48, 49, 50]
    assert history.latest(1)[0] == _agg(50, T0 + 50_000)
    assert [a.agg_id for a in history.query(None, None, None, 4)] == [47, 48, 49, 50]  # most recent
    assert [a.agg_id for a in history.query(10, None, None, 3)] == [10, 11, 12]  # from an id
    assert [a.agg_id for a in history.query(None, T0 + 5000, None, 3)] == [5, 6, 7]  # from a time
    assert [a.agg_id for a in history.query(None, T0 + 5000, T0 + 6000, 10)] == [5, 6]  # inclusive
    assert [a.agg_id for a in history.query(None, None, T0 + 6000, 2)] == [5, 6]  # up to an end
    assert [a.agg_id for a in history.query(20, T0 + 5000, T0 + 22_000, 10)] == [20, 21, 22]
    assert history.query(None, T0 + 51_000, None, 10) == []
    assert history.query(99, None, None, 10) == []


def test_from_a_trade_id_starts_at_the_aggregate_holding_it() -> None:
    # historicalTrades' fromId is a trade id; aggregate n holds trades 10n to 10n + 2
    history = TradeHistory(capacity=10)
    for n in range(1, 26):
        history.add(*_agg(n, T0 + n))
    rows = history.rows(*history.from_trade(201, 3))  # inside aggregate 20
    assert [a.agg_id for a in rows] == [20, 21, 22]
    assert [a.agg_id for a in history.rows(*history.from_trade(203, 2))] == [21, 22]  # between: the next
    assert [a.agg_id for a in history.rows(*history.from_trade(5, 2))] == [16, 17]  # older than kept: the oldest
    assert history.rows(*history.from_trade(253, 5)) == []  # past the newest
    assert [a.agg_id for a in history.rows(*history.from_trade(250, 5))] == [25]


def test_a_full_ring_keeps_the_latest_in_order() -> None:
    history = TradeHistory(capacity=10)
    for n in range(1, 26):
        history.add(*_agg(n, T0 + n))
    assert len(history) == 10
    assert [a.agg_id for a in history.latest(100)] == list(range(16, 26))
    assert [a.agg_id for a in history.query(1, None, None, 3)] == [16, 17, 18]  # older: from the oldest kept
    assert [a.agg_id for a in history.query(20, None, None, 3)] == [20, 21, 22]
    assert [a.agg_id for a in history.query(None, T0 + 24, None, 5)] == [24, 25]


def test_bounded_under_a_flood() -> None:
    """A million aggregates through one history: it holds CAPACITY, and its memory stops
    growing once full."""
    history = TradeHistory()
    for n in range(CAPACITY):
        history.add(*_agg(n, T0 + n))
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    for n in range(CAPACITY, 1_000_000, 7):
        history.add(*_agg(n, T0 + n))
    grown = tracemalloc.get_traced_memory()[0] - before
    tracemalloc.stop()
    assert len(history) == CAPACITY
    assert grown < 10_000  # bytes: nothing kept per aggregate beyond the full ring
    assert history.latest(1)[0].agg_id == max(range(CAPACITY, 1_000_000, 7))


@given(st.lists(st.integers(0, 25), max_size=12), st.integers(1, 10))
def test_a_backlog_added_at_once_is_the_same_ring(sizes: list[int], capacity: int) -> None:
    """``add_many`` (a view's backlog, a slice at a time) leaves the ring ``add`` one at a
    time leaves, whether the backlog fits, wraps the ring's end or outnumbers it."""
    one, many = TradeHistory(capacity=capacity), TradeHistory(capacity=capacity)
    n = 0
    for size in sizes:
        aggs = [_agg(n + i, T0 + n + i) for i in range(size)]
        n += size
        for agg in aggs:
            one.add(*agg)
        many.add_many([list(column) for column in zip(*aggs, strict=True)] if aggs else [[]] * 7)
        assert len(many) == len(one)
        assert many.latest(capacity) == one.latest(capacity)
        assert many.query(None, T0 + n - 3, None, capacity) == one.query(None, T0 + n - 3, None, capacity)
