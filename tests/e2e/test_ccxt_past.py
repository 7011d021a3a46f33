"""ccxt reads the simulated past as it reads Binance's: `fetch_ohlcv` from `since=0` finds a
symbol's listing date and pages 1m candles from it without a gap."""

from __future__ import annotations

from typing import Any

import ccxt.async_support as ccxt
import pytest
from ccxt_hosts import point
from conftest import StartServer
from test_ccxt import exchanges, usdm  # noqa: F401 (a fixture)

from tickerplant.clock import ManualClock
from tickerplant.gateway.past_farm import FARM, cpus
from tickerplant.market.history import farming
from tickerplant.market.history.marks import PastMarks
from tickerplant.market.history.series import SimulatedPast
from tickerplant.market.instruments import Market
from tickerplant.market.klines.candles import open_time
from tickerplant.market.klines.price_candles import PriceKind
from tickerplant.market.units import DAY_MS, HOUR_MS, MINUTE_MS, fixed
from tickerplant.market.updates import MARK_DECIMALS
from tickerplant.protocol.market_data import rest_row

T0 = 1_795_000_000_000 + 17_345  # 2026-11-18T08:53:37.345Z, mid-minute
STILL = {"actions_per_s": 1e-9, "seed": 5}  # a market that does not move


async def test_ccxt_pages_one_minute_candles_from_the_listing(start_server: StartServer, exchanges: list[Any]) -> None:  # noqa: F811
    plant = await start_server(clock=ManualClock(T0), simulator=STILL)
    exchange = usdm(plant)
    exchanges.append(exchange)
    await exchange.load_markets()
    listed = plant.instruments[Market.UM][3].onboard_ms  # SOLUSDT
    first = await exchange.fetch_ohlcv("SOL/USDT:USDT", "1m", since=0, limit=1500)
    assert len(first) >= 1000 and first[0][0] == -(-listed // MINUTE_MS) * MINUTE_MS
    second = await exchange.fetch_ohlcv("SOL/USDT:USDT", "1m", since=first[-1][0] + MINUTE_MS, limit=1500)
    assert second[0][0] == first[-1][0] + MINUTE_MS
    assert second[0][1] == first[-1][4]  # one path: each minute opens where the last closed
    recent = await exchange.fetch_ohlcv("SOL/USDT:USDT", "1m", since=T0 - 3 * HOUR_MS, limit=1500)
    # every minute from `since` to the live start (whose minute has no trade yet: STILL)
    assert [c[0] for c in recent] == list(range(T0 - 3 * HOUR_MS - T0 % MINUTE_MS + MINUTE_MS, T0 - T0 % MINUTE_MS, MINUTE_MS))



@pytest.mark.alone  # cold mark bars within ccxt's timeout: tests/machine_alone.py
async def test_ccxt_reads_30_days_of_mark_candles_and_funding_without_gaps(start_server: StartServer, exchanges: list[Any]) -> None:  # noqa: F811
    plant = await start_server(clock=ManualClock(T0), simulator=STILL)
    exchange = usdm(plant)
    exchanges.append(exchange)
    await exchange.load_markets()
    since = T0 - T0 % DAY_MS - 30 * DAY_MS
    funding = await exchange.fetch_funding_rate_history("BTC/USDT:USDT", since=since, limit=1000)
    times = [f["timestamp"] for f in funding]
    assert times == list(range(since, T0, 8 * HOUR_MS))  # every funding time, none missing
    assert all(f["fundingRate"] is not None for f in funding)
    marks = await exchange.fetch_mark_ohlcv("BTC/USDT:USDT", "1h", since=since, limit=1000)
    assert [c[0] for c in marks] == list(range(since, T0, HOUR_MS))  # the last: the live hour
    # a backtest charges funding at each funding time at the mark price of that moment
    by_hour = {c[0]: c for c in marks}
    for f in funding[1:]:
        assert float(f["info"]["markPrice"]) == by_hour[f["timestamp"] - HOUR_MS][4]


@pytest.mark.alone  # its answer within the client's timeout: tests/machine_alone.py
async def test_ccxt_at_its_defaults_reads_500_cold_daily_candles_within_its_timeout(start_server: StartServer) -> None:
    # `fetch_ohlcv(symbol, '1d')` as a bot's first call: no limit (Binance's 500), ccxt's own
    # 10 s timeout, 720,000 minutes of a past nobody read (a seed of this test's own)
    plant = await start_server(clock=ManualClock(T0), simulator={"actions_per_s": 1e-9, "seed": 23})
    port = plant.listeners[Market.UM].port
    exchange = point(ccxt.binanceusdm(), {"https://fapi.binance.com": f"http://127.0.0.1:{port}"})
    candles = await _at_its_defaults(exchange, "ADA/USDT:USDT", "1d")
    today = T0 - T0 % DAY_MS  # the last candle: the live day's
    assert [c[0] for c in candles] == list(range(today - 499 * DAY_MS, today + DAY_MS, DAY_MS))
    assert all(c[2] >= max(c[1], c[4]) and c[3] <= min(c[1], c[4]) for c in candles)


@pytest.mark.alone  # its answer within the client's timeout: tests/machine_alone.py
async def test_ccxt_at_its_defaults_reads_cold_weekly_candles_drawn_on_the_other_cores(start_server: StartServer) -> None:
    # `fetch_ohlcv(symbol, '1w')` reads every day since the listing (145 for this quarterly,
    # 2,627 for BTCUSDT): drawn by the past's worker processes while the loop answers the
    # others (gateway/past_farm.py); the same candles, to the unit, as a past made without them
    plant = await start_server(clock=ManualClock(T0), simulator={"actions_per_s": 1e-9, "seed": 29})
    port = plant.listeners[Market.CM].port
    tasks = FARM.tasks
    exchange = point(ccxt.binancecoinm(), {"https://dapi.binance.com": f"http://127.0.0.1:{port}"})
    candles = await _at_its_defaults(exchange, "BTC/USD:BTC-261225", "1w")
    listed = [inst for insts in plant.instruments.values() for inst in insts]
    inst = next(i for i in listed if i.symbol == "BTCUSD_261225")
    until = T0 - T0 % MINUTE_MS  # the live start's minute: the past is what lies before it
    past = SimulatedPast(listed, 29, 1e-9)  # the server's recipe, no farm: made here, day by day
    opens = past._kline_opens(inst.symbol, "1w", None, open_time("1w", until) - 1, 1000, until)
    assert [c[0] for c in candles] == [*opens, open_time("1w", until)]  # the last: the live week
    for at in (0, 1, len(opens) - 1):  # its first weeks (the first partial) and its last
        row = rest_row(past.kline(inst.symbol, "1w", opens[at]), inst, Market.CM)
        assert candles[at] == [row[0], *map(float, row[1:5]), float(row[7])]  # ccxt: COIN-M's base volume
    if cpus() > 1:  # the days were the workers' (a server pinned to one CPU makes them on its loop)
        assert FARM.tasks - tasks == 3  # 145 days, 64 a task
        scraped = {m.name: m.samples[0].value for m in plant.registry.collect() if m.name.startswith("tickerplant_past")}
        assert scraped["tickerplant_past_farm_tasks"] == FARM.tasks >= 3  # (the process' farm: every server's)
        assert scraped["tickerplant_past_farm_failed_tasks"] == FARM.failed
    else:
        assert FARM.tasks == tasks


async def test_ccxt_reads_cold_daily_mark_candles_drawn_on_the_other_cores(
    start_server: StartServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    # `fetch_mark_ohlcv(symbol, '1d', limit=20)`, drawn by the past's worker processes as bars
    # (gateway/past_farm.py) with the farm's thresholds lowered (16 days' worth, 8 a task: the
    # default 128 would be seconds of CPU beside the other tests); the same bars, to the
    # unit, as a past made without them
    monkeypatch.setattr(farming, "FARMED_LEAST", 16)
    monkeypatch.setattr(farming, "FARM_CHUNK", 8)
    plant = await start_server(clock=ManualClock(T0), simulator={"actions_per_s": 1e-9, "seed": 37})
    port = plant.listeners[Market.UM].port
    tasks = FARM.tasks
    exchange = point(ccxt.binanceusdm(), {"https://fapi.binance.com": f"http://127.0.0.1:{port}"})
    try:
        candles = await exchange.fetch_mark_ohlcv("ETH/USDT:USDT", "1d", limit=20)
    finally:
        await exchange.close()
    today = T0 - T0 % DAY_MS
    assert [c[0] for c in candles] == list(range(today - 19 * DAY_MS, today + DAY_MS, DAY_MS))
    listed = [inst for insts in plant.instruments.values() for inst in insts]
    marks = PastMarks(SimulatedPast(listed, 37, 1e-9))  # the server's recipe, no farm
    for candle in candles[:3]:
        (bar,) = marks.bars("ETHUSDT", PriceKind.MARK, "1d", [candle[0]])
        assert candle[1:5] == [float(fixed(p, MARK_DECIMALS)) for p in (bar.open, bar.high, bar.low, bar.close)]
    if cpus() > 1:
        assert FARM.tasks - tasks == 3  # 19 past days, 8 a task
    else:
        assert FARM.tasks == tasks


async def _at_its_defaults(exchange: Any, symbol: str, interval: str) -> list[list[Any]]:
    """``fetch_ohlcv(symbol, interval)`` once, as a bot's first call: no limit, ccxt's own
    10 s timeout; the client closed after."""
    try:
        assert exchange.timeout == 10_000
        candles: list[list[Any]] = await exchange.fetch_ohlcv(symbol, interval)
        return candles
    finally:
        await exchange.close()
