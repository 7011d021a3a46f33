"""A run of recorded rows applied at once (``market/plant/runs.py``) leaves the plant as
``Plant.apply`` row by row does and writes every stream the same, for tops, trades and
aggregates of both markets, with times that repeat, jump over candles and minutes, and
step back (a recorded time older than the time it is played at)."""

from __future__ import annotations

import itertools
from collections import defaultdict
from typing import Any

from hypothesis import example, given, settings
from hypothesis import strategies as st

from tickerplant.market.instruments import Market, catalogue
from tickerplant.market.messages import StreamMessage
from tickerplant.market.plant.plant import Plant
from tickerplant.market.plant.runs import apply_aggregates, apply_tops, apply_trades
from tickerplant.market.updates import AggTrade, TopOfBook, Trade

T0 = 1_767_225_600_000
# steps between rows: the same ms, within a candle, past a candle or a minute, and back
steps = st.sampled_from([0, 0, 1, 7, 300, 999, 1_000, 61_000, -5, -1_500, -70_000])
rows = st.lists(
    st.tuples(steps, st.integers(1, 50), st.integers(1, 10_000), st.integers(1, 10_000), st.booleans()),
    min_size=1,
    max_size=40,
)


def _plants(market: Market, depth_streams: bool) -> tuple[Plant, Plant, str]:
    inst = catalogue(market, T0)[0]
    make = lambda: Plant(market, [inst], now_ms=T0, depth_streams=depth_streams)  # noqa: E731
    return make(), make(), inst.symbol


def _streams(out: list[StreamMessage]) -> dict[str, list[bytes]]:
    by_stream: dict[str, list[bytes]] = defaultdict(list)
    for stream, payload in out:
        by_stream[stream].append(payload)
    return dict(by_stream)


def _state(plant: Plant, symbol: str) -> tuple[Any, ...]:
    s = plant.symbols[symbol]
    w = s.window
    candles = s.candles
    assert candles is not None
    return (
        (w.open, w.high, w.low, w.close, w.volume, w.quote_volume, w.count, w.first_id, w.last_id, w.last_time_ms,
         w.last_qty, len(w)),
        candles.pending, list(candles.candles), s.top, s.book_ticker, s.depth_bids, s.depth_asks,
        s.depth_gathered, s.depth_time_ms, dict(s.book.bids), dict(s.book.asks),
        s.book.last_update_id, s.book.next_update_id, s.mini_changed, s.ticker_changed, s.top_changed,
    )  # fmt: skip


def _times(recorded: list[int]) -> list[int]:
    """When each row is played: its time, never stepping back (``public_files.blocks``)."""
    return list(itertools.accumulate(recorded, max))


def _recorded(steps_: list[int]) -> list[int]:
    return list(itertools.accumulate(steps_, initial=T0 + 500))[1:]


def _runs(n: int, cuts: list[int]) -> list[tuple[int, int]]:
    """[lo, hi) of the runs ``cuts`` make of ``n`` rows, as stretches of replay time do."""
    bounds = sorted({0, n, *(c for c in cuts if c < n)})
    return list(itertools.pairwise(bounds))


cuts = st.lists(st.integers(0, 40), max_size=4)
# a trade into the next candle, then one stepping back into the candle before: one run must
# not sum the three into the first candle
STEP_BACK = [(0, 1, 1, 1, False), (1_000, 2, 1, 1, True), (-1_500, 3, 1, 1, False), (200, 4, 1, 1, True)]


@settings(max_examples=150, deadline=None)
@given(market=st.sampled_from(list(Market)), alone=st.booleans(), data=rows, cuts=cuts)
@example(market=Market.UM, alone=True, data=STEP_BACK, cuts=[])
@example(market=Market.UM, alone=True, data=[(0, 5, 50, 1, True), (1, 1, 1, 1, True)], cuts=[1])  # a lower low
def test_trades_at_once_are_trades_one_by_one(market: Market, alone: bool, data: list[Any], cuts: list[int]) -> None:
    by_rows, by_run, symbol = _plants(market, False)
    recorded = _recorded([row[0] for row in data])
    times = _times(recorded)
    ids = list(range(100, 100 + len(data)))
    prices, qtys, makers = [r[1] * 100 + r[2] for r in data], [r[3] for r in data], [r[4] for r in data]
    rows_out: list[StreamMessage] = []
    for i in range(len(data)):
        by_rows.apply(Trade(symbol, ids[i], recorded[i], prices[i], qtys[i], makers[i], alone), times[i], rows_out)
    run_out: list[StreamMessage] = []
    for lo, hi in _runs(len(data), cuts):
        columns = (ids[lo:hi], recorded[lo:hi], prices[lo:hi], qtys[lo:hi], makers[lo:hi])
        apply_trades(by_run, symbol, times[lo:hi], columns, alone, run_out)
    assert _streams(run_out) == _streams(rows_out)
    assert _state(by_run, symbol) == _state(by_rows, symbol)


@settings(max_examples=150, deadline=None)
@given(market=st.sampled_from(list(Market)), alone=st.booleans(), data=rows, cuts=cuts)
@example(market=Market.UM, alone=True, data=STEP_BACK, cuts=[])
def test_aggregates_at_once_are_aggregates_one_by_one(
    market: Market, alone: bool, data: list[Any], cuts: list[int]
) -> None:
    by_rows, by_run, symbol = _plants(market, False)
    recorded = _recorded([row[0] for row in data])
    times = _times(recorded)
    firsts = list(itertools.accumulate((row[1] for row in data), initial=1000))
    first_ids, last_ids = firsts[:-1], [f - 1 for f in firsts[1:]]
    agg_ids = list(range(7, 7 + len(data)))
    prices, qtys, makers = [r[2] for r in data], [r[3] for r in data], [r[4] for r in data]
    rows_out: list[StreamMessage] = []
    for i in range(len(data)):
        update = AggTrade(symbol, agg_ids[i], first_ids[i], last_ids[i], recorded[i], prices[i], qtys[i], makers[i], alone)
        by_rows.apply(update, times[i], rows_out)
    run_out: list[StreamMessage] = []
    for lo, hi in _runs(len(data), cuts):
        columns = tuple(c[lo:hi] for c in (agg_ids, first_ids, last_ids, recorded, prices, qtys, makers))
        apply_aggregates(by_run, symbol, times[lo:hi], columns, alone, run_out)
    assert _streams(run_out) == _streams(rows_out)
    assert _state(by_run, symbol) == _state(by_rows, symbol)


@settings(max_examples=150, deadline=None)
@given(market=st.sampled_from(list(Market)), depth_streams=st.booleans(), data=rows, cuts=cuts)
def test_tops_at_once_are_tops_one_by_one(market: Market, depth_streams: bool, data: list[Any], cuts: list[int]) -> None:
    by_rows, by_run, symbol = _plants(market, depth_streams)
    event_ms = _recorded([row[0] for row in data])
    n = len(data)
    ids = list(range(10**9, 10**9 + n))
    # bids and asks from a few prices, so that tops come back to earlier prices
    bids = [10_000 + row[1] % 5 for row in data]
    asks = [10_010 + row[1] % 4 for row in data]
    bid_qtys, ask_qtys = [row[2] for row in data], [row[3] for row in data]
    times_ms = [t - 2 for t in event_ms]
    rows_out: list[StreamMessage] = []
    for i in range(n):
        top = TopOfBook(symbol, ids[i], times_ms[i], event_ms[i], bids[i], bid_qtys[i], asks[i], ask_qtys[i])
        by_rows.apply(top, event_ms[i], rows_out)
    by_rows.end_batch(T0, rows_out)
    run_out: list[StreamMessage] = []
    all_tops: list[bytes] = []
    for lo, hi in _runs(n, cuts):
        columns = tuple(c[lo:hi] for c in (ids, times_ms, event_ms, bids, bid_qtys, asks, ask_qtys))
        written = apply_tops(by_run, symbol, columns, run_out)
        all_tops.extend(written or ())
    run_out.extend(StreamMessage("!bookTicker", payload) for payload in all_tops)  # the caller's part
    by_run.end_batch(T0, run_out)
    assert _streams(run_out) == _streams(rows_out)
    assert _state(by_run, symbol) == _state(by_rows, symbol)
