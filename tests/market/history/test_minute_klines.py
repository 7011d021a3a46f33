"""The past's klines as `klines` reads a run of them: the open times a range on a fixed
length's grid, an hour's minutes looked up once; each the kline ``kline`` reads alone, the
listing and the live start respected."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from tickerplant.market.history.series import SimulatedPast
from tickerplant.market.instruments import Market, catalogue
from tickerplant.market.klines.candles import CONTINUOUS_INTERVALS_UM, close_time, open_time
from tickerplant.market.units import DAY_MS, HOUR_MS, MINUTE_MS

NOW = 1_795_000_000_000  # 2026-11-18T08:53:20Z
INSTRUMENTS = [i for m in Market for i in catalogue(m, NOW)]
PAST = SimulatedPast(INSTRUMENTS, 7, 400.0)


@settings(max_examples=25, deadline=None)
@given(
    st.sampled_from([i.symbol for i in INSTRUMENTS]),
    st.integers(0, 3 * DAY_MS),
    st.one_of(st.none(), st.integers(0, 5 * HOUR_MS)),
    st.integers(1, 1500),
)
def test_a_run_of_minutes_is_each_minute(symbol: str, back_ms: int, span_ms: int | None, limit: int) -> None:
    start = NOW - back_ms
    end = None if span_ms is None else start + span_ms
    minutes = PAST.klines(symbol, "1m", start, end, limit, NOW)
    assert minutes == [PAST.kline(symbol, "1m", k.open_ms) for k in minutes]
    opens = [k.open_ms for k in minutes]
    assert opens == sorted(set(opens)) and all(t % MINUTE_MS == 0 and t < NOW for t in opens)
    assert len(minutes) <= limit
    latest = PAST.klines(symbol, "1m", None, end, limit, NOW)  # the last ones up to the end
    assert latest == [PAST.kline(symbol, "1m", k.open_ms) for k in latest]


def _opens_one_by_one(
    first: int, last: int, interval: str, start: int | None, end: int | None, limit: int
) -> list[int]:
    """The open times a kline at a time: from ``start`` on, or back from ``end``."""
    out: list[int] = []
    if start is not None:
        t = open_time(interval, max(start, first))
        if t < start:
            t = close_time(interval, t) + 1
        while t < last and (end is None or t <= end) and len(out) < limit:
            out.append(t)
            t = close_time(interval, t) + 1
        return out
    if last <= first:
        return []
    t = open_time(interval, last - 1 if end is None else min(end, last - 1))
    while t >= first and len(out) < limit:
        out.append(t)
        t = open_time(interval, t - 1)
    return out[::-1]


@settings(max_examples=200, deadline=None)
@given(
    st.sampled_from([i.symbol for i in INSTRUMENTS]),
    st.sampled_from(CONTINUOUS_INTERVALS_UM),
    st.one_of(st.none(), st.integers(0, 800 * DAY_MS)),
    st.one_of(st.none(), st.integers(0, 800 * DAY_MS)),
    st.integers(-2, 1600),
)
def test_the_opens_are_the_grid_a_kline_at_a_time(
    symbol: str, interval: str, start_back: int | None, end_back: int | None, limit: int
) -> None:
    start = None if start_back is None else NOW - start_back
    end = None if end_back is None else NOW - end_back
    opens = PAST._kline_opens(symbol, interval, start, end, limit, NOW)
    if interval == "1s":
        assert opens == []
        return
    first = open_time(interval, PAST.tape(symbol).first_minute * MINUTE_MS)
    last = open_time(interval, NOW) if first < NOW else first
    assert opens == _opens_one_by_one(first, last, interval, start, end, limit)
