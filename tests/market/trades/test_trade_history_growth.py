"""A trade history starts with its first slots and takes its full size when they are
outgrown (``market/trades/history.py``): it answers as a ring of its full size would."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from tickerplant.market.trades.history import FIRST_SLOTS, Aggregate, TradeHistory

T0 = 1_767_225_600_000
CAPACITY = 3 * FIRST_SLOTS  # beyond the first slots, small enough to wrap often


def _agg(n: int) -> Aggregate:
    return Aggregate(n, 10 * n, 10 * n + 2, T0 + n, 9_000_000 + n, n, n % 2 == 0)


def _expected(total: int) -> list[Aggregate]:
    """What a ring of ``CAPACITY`` holds after aggregates 0 to ``total - 1``."""
    return [_agg(n) for n in range(max(0, total - CAPACITY), total)]


def test_a_ring_that_outgrows_its_first_slots_keeps_them() -> None:
    history = TradeHistory(capacity=CAPACITY)
    for n in range(FIRST_SLOTS):
        history.add(*_agg(n))
    assert history.latest(CAPACITY) == _expected(FIRST_SLOTS)
    for n in range(FIRST_SLOTS, 4 * CAPACITY + 7):
        history.add(*_agg(n))
        if n in (FIRST_SLOTS, CAPACITY - 1, CAPACITY, 2 * CAPACITY + 3):
            assert history.latest(CAPACITY) == _expected(n + 1)
    assert history.latest(CAPACITY) == _expected(4 * CAPACITY + 7)
    last = 4 * CAPACITY
    assert history.rows(*history.from_trade(10 * last, 2)) == [_agg(last), _agg(last + 1)]


def test_a_small_ring_has_its_whole_size_from_the_start() -> None:
    history = TradeHistory(capacity=5)
    for n in range(12):
        history.add(*_agg(n))
    assert history.latest(10) == [_agg(n) for n in range(7, 12)]


@given(st.lists(st.integers(0, CAPACITY + 40), max_size=8))
def test_backlogs_across_the_first_slots_are_the_same_ring(sizes: list[int]) -> None:
    """``add_many`` leaves what ``add`` one at a time leaves, a backlog within the first
    slots, across their end, or past the whole ring."""
    one, many = TradeHistory(capacity=CAPACITY), TradeHistory(capacity=CAPACITY)
    n = 0
    for size in sizes:
        aggs = [_agg(n + i) for i in range(size)]
        n += size
        for agg in aggs:
            one.add(*agg)
        many.add_many([list(column) for column in zip(*aggs, strict=True)] if aggs else [[]] * 7)
        assert one.latest(CAPACITY) == many.latest(CAPACITY) == _expected(n)
        assert many.query(None, T0 + n - 3, None, 5) == one.query(None, T0 + n - 3, None, 5)
