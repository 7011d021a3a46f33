"""The past's minute klines as `klines` reads a run of them (an hour's minutes looked up
once): each the minute ``kline`` reads alone, the listing and the live start respected."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from tickerplant.market.history.series import SimulatedPast
from tickerplant.market.instruments import Market, catalogue
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
