"""The simulated past as REST reads it (``market/history/series.py``): every interval the
aggregate of the finer ones, `klines` semantics from the listing date to the live start, and
the same past whenever the server starts."""

from __future__ import annotations

import dataclasses

import pytest

from tickerplant.market.history import series
from tickerplant.market.history.past_spec import PastSpec
from tickerplant.market.history.series import SimulatedPast, aggregate
from tickerplant.market.instruments import Market, catalogue
from tickerplant.market.klines.candles import INTERVALS, close_time
from tickerplant.market.units import DAY_MS, HOUR_MS, MINUTE_MS

NOW = 1_795_000_000_000  # 2026-11-18T08:53:20Z


def _past(now_ms: int = NOW, seed: int = 7, rate: float | None = 400.0) -> SimulatedPast:
    return SimulatedPast([i for m in Market for i in catalogue(m, now_ms)], seed, rate)


PAST = _past()


@pytest.mark.parametrize("interval", [i for i in INTERVALS if i not in ("1m", "3d", "1w", "1M")])
def test_every_interval_is_the_aggregate_of_its_minutes(interval: str) -> None:
    symbol = "ETHUSDT"
    start = NOW - 3 * DAY_MS
    (k,) = PAST.klines(symbol, interval, start, None, 1, NOW)
    minutes = PAST.klines(symbol, "1m", k.open_ms, k.close_ms, 1500, NOW)
    assert k == aggregate(minutes, k.open_ms, close_time(interval, k.open_ms))
    assert [m.open_ms for m in minutes] == list(range(k.open_ms, k.close_ms, MINUTE_MS))


def test_a_week_is_the_aggregate_of_its_days() -> None:
    (week,) = PAST.klines("DOTUSDT", "1w", NOW - 20 * DAY_MS, None, 1, NOW)
    days = PAST.klines("DOTUSDT", "1d", week.open_ms, week.close_ms, 10, NOW)
    assert len(days) == 7
    assert week == aggregate(days, week.open_ms, week.close_ms)


def test_the_past_is_the_same_whenever_the_server_starts() -> None:
    """Two servers a week and a restart apart, the same seed: the same klines and trades."""
    later = _past(NOW + 7 * DAY_MS)
    at = NOW - 2 * DAY_MS
    assert later.klines("BTCUSDT", "1m", at, None, 300, NOW) == PAST.klines("BTCUSDT", "1m", at, None, 300, NOW)
    assert later.klines("BTCUSD_PERP", "1h", at, None, 30, NOW) == PAST.klines("BTCUSD_PERP", "1h", at, None, 30, NOW)
    assert later.trades("SOLUSDT", None, at, None, 500, NOW) == PAST.trades("SOLUSDT", None, at, None, 500, NOW)
    assert _past(seed=8).klines("BTCUSDT", "1m", at, None, 5, NOW) != PAST.klines("BTCUSDT", "1m", at, None, 5, NOW)


def test_the_rate_moves_counts_and_volumes_not_prices() -> None:
    fast = _past(rate=4000.0)
    at = NOW - DAY_MS
    slow_k, fast_k = PAST.klines("BTCUSDT", "1h", at, None, 1, NOW)[0], fast.klines("BTCUSDT", "1h", at, None, 1, NOW)[0]
    assert (slow_k.open, slow_k.close) == (fast_k.open, fast_k.close)
    assert 8 < fast_k.count / slow_k.count < 12


def test_klines_begin_at_the_listing_and_end_before_the_live_start() -> None:
    inst = PAST.instruments["SOLUSDT"]
    first = PAST.klines("SOLUSDT", "1m", 0, None, 3, NOW)
    assert first[0].open_ms == -(-inst.onboard_ms // MINUTE_MS) * MINUTE_MS
    (day,) = PAST.klines("SOLUSDT", "1d", 0, None, 1, NOW)
    assert day.open_ms == inst.onboard_ms // DAY_MS * DAY_MS
    assert day.first_id == first[0].first_id
    last = PAST.klines("SOLUSDT", "1m", None, None, 2, NOW)
    assert last[-1].close_ms < NOW - NOW % MINUTE_MS
    assert last[-1].open_ms == NOW - NOW % MINUTE_MS - MINUTE_MS
    assert PAST.klines("SOLUSDT", "1h", None, None, 1, NOW)[0].close_ms < NOW - NOW % HOUR_MS
    assert PAST.klines("SOLUSDT", "1m", NOW, None, 5, NOW) == []
    assert PAST.klines("SOLUSDT", "1m", None, inst.onboard_ms - DAY_MS, 5, NOW) == []


def test_klines_answer_start_end_and_limit_as_binance_does() -> None:
    at = NOW - NOW % HOUR_MS - 5 * HOUR_MS
    page = PAST.klines("XRPUSDT", "5m", at + 1, at + HOUR_MS, 500, NOW)
    assert [k.open_ms for k in page] == list(range(at + 5 * MINUTE_MS, at + HOUR_MS + 1, 5 * MINUTE_MS))
    tail = PAST.klines("XRPUSDT", "5m", None, at + HOUR_MS, 3, NOW)
    assert [k.open_ms for k in tail] == [at + HOUR_MS - 10 * MINUTE_MS, at + HOUR_MS - 5 * MINUTE_MS, at + HOUR_MS]
    assert PAST.klines("XRPUSDT", "5m", at, None, 4, NOW) == PAST.klines("XRPUSDT", "5m", at, at + DAY_MS, 4, NOW)


def test_trades_page_by_id_and_by_time() -> None:
    at = NOW - DAY_MS
    by_time = PAST.trades("ETHUSDT", None, at, at + HOUR_MS, 1000, NOW)
    assert len(by_time) == 1000 and by_time[0].time_ms >= at
    by_id = PAST.trades("ETHUSDT", by_time[500].trade_id, None, None, 500, NOW)
    assert by_id == by_time[500:]
    ids = [t.trade_id for t in by_time]
    assert ids == list(range(ids[0], ids[0] + 1000))
    assert PAST.trades("ETHUSDT", None, NOW - 10, None, 10, NOW) == []


def test_caches_stay_within_their_bounds(monkeypatch: pytest.MonkeyPatch) -> None:
    # the bounds the caches' memory at most is figured from (the module's docstring)
    assert (series._MINUTE_HOURS_KEPT, series._HOURS_KEPT, series._DAYS_KEPT) == (256, 8192, 8192)
    # the hours' bound reached at an eighth of its size: the same LRU, reached by 60 cold days
    # instead of 400 (~12 ms of CPU each: 400 took ~5 s, the test's whole cost)
    monkeypatch.setattr(series, "_HOURS_KEPT", 1024)
    past = _past()
    served = past.klines("BTCUSDT", "1h", NOW - 20 * DAY_MS, None, 20 * 24, NOW)
    minutes, hours, days = past.cached()
    # the hours of whole days are drawn a day at once (no minute kept); the served ones'
    # days run from the first's midnight to the last's next midnight
    assert len(served) == 20 * 24 - 1
    assert minutes == 0 and len(served) <= hours <= len(served) + 2 * 24 and days == 0
    past.klines("BTCUSDT", "1m", NOW - 20 * DAY_MS, None, 1500, NOW)
    past.klines("BTCUSDT", "1m", NOW - 10 * DAY_MS, None, 1500, NOW)
    past.klines("BTCUSDT", "1m", NOW - 5 * DAY_MS, None, 1500, NOW)
    past.klines("BTCUSDT", "1m", NOW - 2 * DAY_MS, None, 1500, NOW)
    # 80 days (the last 20 of them kept already, drawn whole): their 1,920 hours are past the
    # 1,024 kept, so the hours' bound is reached, not just respected
    past.klines("BTCUSDT", "1d", None, None, 80, NOW)
    minutes, hours, days = past.cached()
    assert minutes <= 256 and hours == 1024 and days <= 8192


def test_a_later_history_start_serves_less_of_the_same_past() -> None:
    start = NOW - 10 * DAY_MS + 12_345
    later = SimulatedPast([i for m in Market for i in catalogue(m, NOW)], 7, 400.0, history_start_ms=start)
    first = later.klines("BTCUSDT", "1m", 0, None, 3, NOW)
    assert first[0].open_ms == start - start % MINUTE_MS + MINUTE_MS  # the first whole minute after it
    assert first == PAST.klines("BTCUSDT", "1m", first[0].open_ms, None, 3, NOW)  # ids and all
    (day,) = later.klines("BTCUSDT", "1d", 0, None, 1, NOW)
    assert day.open_ms == start - start % DAY_MS and day.first_id == first[0].first_id
    assert later.trades("BTCUSDT", 1, None, None, 1, NOW)[0].trade_id == first[0].first_id


def test_no_second_klines_in_the_past() -> None:
    assert PAST.klines("BTCUSDT", "1s", NOW - HOUR_MS, None, 10, NOW) == []


def test_the_listing_the_live_market_starts_from_has_the_source_s_past() -> None:
    # the simulator lists each instrument at the price its past ends at (feeds/simulator/
    # pump.py); the gateways answer from the past of that listing: the same past object as
    # the source's, whose caches its warm start filled (a past of its own drew again every
    # minute, count and path the warm start had, each cold piece of a REST burst 10-25 ms)
    listed = [i for m in Market for i in catalogue(m, NOW)]
    spec = PastSpec(7, 400.0, NOW, None, NOW - DAY_MS)
    source = SimulatedPast.of(listed, spec)
    priced = [dataclasses.replace(i, initial_price=source.price_at(i.symbol, NOW)) for i in listed]
    assert any(p.initial_price != i.initial_price for p, i in zip(priced, listed, strict=True))
    assert SimulatedPast.of(priced, spec) is source
    assert SimulatedPast.of(priced, PastSpec(8, 400.0, NOW, None, NOW - DAY_MS)) is not source
