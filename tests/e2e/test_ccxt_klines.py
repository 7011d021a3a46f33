"""ccxt's OHLCV and trades against tickerplant (spec §4.5, §4.7, §7.8, §7.9, §10.1):
`fetch_ohlcv` and `fetch_trades` (aggTrades, with `since` as ccxt pages it) on both markets,
`watch_ohlcv` and `watch_trades` over the streams, checked against the plant."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from conftest import StartServer
from test_ccxt import STILL, coinm, exchanges, record, usdm  # noqa: F401 (a fixture)
from timing import SECONDS

from tickerplant.market.instruments import Market
from tickerplant.market.units import fixed

SYMBOLS = {Market.UM: ("BTC/USDT:USDT", "BTCUSDT", 2), Market.CM: ("BTC/USD:BTC", "BTCUSD_PERP", 1)}  # price digits


@pytest.mark.parametrize("market", [Market.UM, Market.CM])
async def test_fetch_ohlcv_and_trades(start_server: StartServer, exchanges: list[Any], market: Market) -> None:  # noqa: F811
    plant = await start_server(simulator=STILL)
    exchange = usdm(plant) if market is Market.UM else coinm(plant)
    exchanges.append(exchange)
    unified, symbol, pd = SYMBOLS[market]
    state = plant.plants[market].symbols[symbol]
    await exchange.load_markets()

    # the most recent trades: the last one is the plant's last trade
    trades = await exchange.fetch_trades(unified, limit=20)
    assert len(trades) == 20
    last = trades[-1]
    assert int(last["info"]["l"]) == state.window.last_id  # ccxt's id is the aggregate's `a`
    assert last["price"] == float(fixed(state.window.close, pd))
    assert last["timestamp"] == state.window.last_time_ms
    # with `since`, ccxt asks for startTime and endTime = since + 1 h (§10.1)
    since = trades[0]["timestamp"]
    paged = await exchange.fetch_trades(unified, since=since, limit=10)
    assert len(paged) == 10 and paged[0]["timestamp"] == since
    assert [int(t["id"]) for t in paged] == sorted(int(t["id"]) for t in paged)

    # klines: the last candle holds the last trade; `since` pages forward exactly
    candles = await exchange.fetch_ohlcv(unified, "1m", limit=5)
    assert len(candles) == 5 and candles[-1][4] == float(fixed(state.window.close, pd))
    assert [c[0] for c in candles] == sorted(c[0] for c in candles)
    since = candles[1][0]
    again = await exchange.fetch_ohlcv(unified, "1m", since=since, limit=3)
    # COIN-M: ccxt also sends endTime = since + 3 minutes - 1 (a minute without trades has no kline)
    assert again == [c for c in candles[1:4] if market is Market.UM or c[0] < since + 3 * 60_000]
    hour = await exchange.fetch_ohlcv(unified, "1h", limit=1)
    assert hour[0][2] >= max(c[2] for c in candles if c[0] >= hour[0][0])
    minute = await exchange.fetch_trades(unified, since=candles[-1][0], limit=1000)
    if market is Market.UM and len(minute) < 1000:  # the whole minute in one page
        assert candles[-1][5] == pytest.approx(sum(t["amount"] for t in minute))


@pytest.mark.parametrize("market", [Market.UM, Market.CM])
async def test_watch_ohlcv_and_trades(start_server: StartServer, exchanges: list[Any], market: Market) -> None:  # noqa: F811
    plant = await start_server()
    exchange = usdm(plant) if market is Market.UM else coinm(plant)
    exchanges.append(exchange)
    unified, symbol, _ = SYMBOLS[market]
    pushed = record(plant, market, f"{symbol.lower()}@kline_1m")
    traded = record(plant, market, f"{symbol.lower()}@{'trade' if market is Market.UM else 'aggTrade'}")
    await exchange.load_markets()
    if market is Market.CM:
        exchange.options["watchTrades"] = {"name": "aggTrade"}  # COIN-M has no documented @trade (§4.5)
    candles = await asyncio.wait_for(exchange.watch_ohlcv(unified, "1m"), 10 * SECONDS)
    t, o, h, low, c, _ = candles[-1]
    assert (t, str(o), str(h), str(low), str(c)) in {
        (k["k"]["t"], str(float(k["k"]["o"])), str(float(k["k"]["h"])), str(float(k["k"]["l"])), str(float(k["k"]["c"])))
        for k in pushed
    }
    trades = await asyncio.wait_for(exchange.watch_trades(unified), 10 * SECONDS)
    ids = {m.get("t", m.get("a")) for m in traded}
    assert trades and all(int(trade["id"]) in ids for trade in trades)
