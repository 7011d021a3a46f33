"""The ``1s`` series' klines in preallocated integer columns (``kline_ring.py``): the same
klines, answers and evictions as a series of ``Kline`` objects in a deque, and no memory
made as the series fills (the memory benchmark's growth, docs/benchmarks.md)."""

from __future__ import annotations

import gc
import tracemalloc
from collections import deque

from hypothesis import given
from hypothesis import strategies as st

from tickerplant.market.klines.candles import Kline, KlineSeries, close_time
from tickerplant.market.klines.kline_ring import IntRing, KlineRing

NOW_MS = 1_767_225_600_000  # 2026-01-01T00:00Z


def _twins(maxlen: int) -> tuple[KlineSeries, KlineSeries]:
    """A 1s series as the views keep one (its ring), and one as every other interval is
    kept (a deque), to hold the same klines."""
    ring, plain = KlineSeries("1s", maxlen), KlineSeries("1s", maxlen)
    assert isinstance(ring._klines, KlineRing) and isinstance(ring._opens, IntRing)
    plain._klines, plain._opens = deque(), deque()
    return ring, plain


_step = st.one_of(
    st.tuples(st.just("trade"), st.integers(-4_000, 2_500), st.integers(1, 10**7), st.integers(1, 10**4),
              st.booleans()),  # fmt: skip  (a trade, its time from the last: late ones too)
    st.tuples(st.just("put"), st.integers(-6, 3), st.integers(1, 10**7), st.integers(1, 10**4), st.booleans()),
)


@given(st.lists(_step, max_size=80), st.sampled_from([1, 2, 3, 5, 1500]))
def test_a_ring_holds_what_a_deque_holds(steps: list[tuple[str, int, int, int, bool]], maxlen: int) -> None:
    ring, plain = _twins(maxlen)
    t, trade_id = NOW_MS, 1
    for kind, move, price, qty, maker in steps:
        if kind == "trade":
            t = max(NOW_MS, t + move)
            for series in (ring, plain):
                series.add(t, trade_id, price, qty, price * qty, maker, 1 + trade_id % 3)
            trade_id += 3
        else:  # a kline file's row in its place by its second (replacing, between, after)
            start = (t // 1000 + move) * 1000
            k = (start, close_time("1s", start), price, price, price, price, qty, qty * price, 1, 0, 0, trade_id,
                 trade_id)  # fmt: skip
            for series in (ring, plain):
                series.put(Kline(*k))
            trade_id += 1
        assert list(ring) == list(plain) and len(ring) == len(plain) <= maxlen
        assert ring.latest() == plain.latest() and ring.revisions == plain.revisions
    for start, end, limit in ((None, None, 1500), (None, None, 2), (NOW_MS, None, 3), (None, t, 4), (NOW_MS, t, 9)):
        assert ring.query(start, end, limit) == plain.query(start, end, limit)
    kept = list(plain)
    ring.load(kept)
    assert list(ring) == kept and isinstance(ring._klines, KlineRing)


def test_the_latest_kline_is_the_one_trades_change_and_a_closed_one_is_read_from_the_columns() -> None:
    series = KlineSeries("1s", maxlen=3)
    first = series.add(NOW_MS + 10, 1, 100, 1, 100, True)
    assert series.add(NOW_MS + 900, 2, 110, 1, 110, False) is first and series.latest() is first
    second = series.add(NOW_MS + 1_000, 3, 90, 1, 90, True)
    assert series.latest() is second and next(iter(series)) is not first  # read back as a copy
    assert next(iter(series)) == Kline(NOW_MS, NOW_MS + 999, 100, 110, 100, 110, 2, 210, 2, 1, 110, 1, 2)
    series.add(NOW_MS + 500, 4, 120, 1, 120, True)  # a late trade into the closed one: written back
    assert next(iter(series)).high == 120 and next(iter(series)).count == 3
    assert series.query(None, None, 10)[-1] is second  # the REST answer's last row is the live one


def test_a_1s_series_filling_to_its_bound_makes_no_memory() -> None:
    """A second's kline a second for 25 minutes (its 1,500), then as many more: the
    columns were set aside when the series was made (a kline in them is 13 integers)."""
    tracemalloc.start()
    try:
        series = KlineSeries("1s")
        gc.collect()  # (a full collection empties CPython's free lists, which tracemalloc counts)
        made = tracemalloc.get_traced_memory()[0]
        for second in range(3_000):
            t = NOW_MS + second * 1_000
            series.add(t + 1, 10 * second, 6_000_000 + second, 3, 18_000_000, second % 2 == 0)
            series.add(t + 999, 10 * second + 1, 6_000_100 + second, 2, 12_000_200, True)
        gc.collect()
        grown = tracemalloc.get_traced_memory()[0] - made
    finally:
        tracemalloc.stop()
    assert len(series) == 1500
    assert grown < 20_000  # the live kline and its integers, not 1,500 klines' (~700 KB as objects)
    read = series.query(None, None, 1500)  # a REST answer's: made as read, then kept as made
    assert all(a is b for a, b in zip(read, series.query(None, None, 1500), strict=True))
    assert read[-1] is series.latest()


@given(st.lists(st.tuples(st.sampled_from(["append", "popleft", "insert"]), st.integers(-5, 8)), max_size=60))
def test_an_int_ring_is_a_deque_of_at_most_its_capacity(ops: list[tuple[str, int]]) -> None:
    ring, plain = IntRing(4), deque[int]()  # room for 5: a series inserts before it drops
    for n, (op, at) in enumerate(ops):
        if op == "popleft" and plain:
            assert ring.popleft() == plain.popleft()
        elif op == "append" and len(plain) < 5:
            ring.append(n)
            plain.append(n)
        elif op == "insert" and len(plain) < 5:
            ring.insert(at, n)
            plain.insert(at, n)
        assert list(ring) == list(plain) and len(ring) == len(plain)
        assert all(ring[i] == plain[i] for i in range(-len(plain), len(plain)))
