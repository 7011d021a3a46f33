# ruff: noqa: F811  (the fixtures imported from test_venue_clients are parameters here)
"""`GET /fapi/v1/historicalTrades` and `/dapi/v1/historicalTrades` (spec §7.9, security type
MARKET_DATA): python-binance's `futures_historical_trades` and ccxt's `fetch_trades` with
`fetchTradesMethod` over a socket, each with a venue key; without one, or with one the
venue does not know, Binance's 401s. Rows as `trades` answers them, paged from a trade id
back into the simulated past."""

from __future__ import annotations

from typing import Any

import aiohttp
import ccxt.pro as ccxtpro
from ccxt_hosts import point
from test_venue_clients import STILL, Venue, closing, python_binance, venue  # noqa: F401

from tickerplant.app import Tickerplant
from tickerplant.market.instruments import Market

API_KEY = "X-MBX-APIKEY"


async def get(plant: Tickerplant, path: str, headers: dict[str, str]) -> tuple[int, Any, Any]:
    url = f"http://127.0.0.1:{plant.listeners[Market.UM].port}{path}"
    async with aiohttp.ClientSession() as session, session.get(url, headers=headers) as response:
        return response.status, await response.json(), response.headers


async def test_historical_trades_page_from_a_trade_id_with_a_key_for_python_binance_and_ccxt(
    start_server: Any, venue: Venue, closing: list[Any]
) -> None:
    plant = await start_server(simulator=STILL, venue_db=str(venue.path))
    client = await python_binance(plant, closing, venue.bob_hmac)
    recent = await client.futures_recent_trades(symbol="BTCUSDT", limit=1000)
    assert await client.futures_historical_trades(symbol="BTCUSDT") == recent[-100:]  # default 100
    first = recent[0]["id"]
    assert await client.futures_historical_trades(symbol="BTCUSDT", fromId=first, limit=500) == recent[:500]
    older = await client.futures_historical_trades(symbol="BTCUSDT", fromId=first - 300, limit=500)
    # the past's trades from that id on, one by one into the live market's: one sequence, each
    # trade in the aggregate its id falls in (the past's aggregates group several)
    assert [t["id"] for t in older] == list(range(first - 300, first + 200))
    aggregates = await client.futures_aggregate_trades(symbol="BTCUSDT", startTime=older[0]["time"], limit=1000)
    covered = {i for a in aggregates for i in range(a["f"], a["l"] + 1)}
    assert {t["id"] for t in older[:250]} <= covered
    before = sum(1 for t in older if t["id"] < first)
    assert before >= 1 and older[before:] == recent[: 500 - before]
    newest = await client.futures_historical_trades(symbol="BTCUSDT", fromId=recent[-3]["id"])
    assert newest == recent[-3:]

    unknown = {API_KEY: "K" * 64}
    bob = {API_KEY: venue.bob_hmac.api_key}
    for _ in range(2):  # again if the weight's minute (the server's clock's) turned meanwhile
        minute = plant.clock.now_ms() // 60_000
        status, body, headers = await get(plant, "/fapi/v1/historicalTrades?symbol=BTCUSDT", {})
        assert (status, body) == (401, {"code": -2014, "msg": "API-key format invalid."})
        status, body, _ = await get(plant, "/fapi/v1/historicalTrades?symbol=BTCUSDT", unknown)
        assert (status, body["code"]) == (401, -2015)
        before = int(headers["X-MBX-USED-WEIGHT-1M"])
        status, body, headers = await get(plant, "/fapi/v1/historicalTrades?symbol=BTCUSDT&limit=501", bob)
        assert (status, body["code"]) == (400, -1130)
        if plant.clock.now_ms() // 60_000 == minute:
            break
    assert int(headers["X-MBX-USED-WEIGHT-1M"]) == before + 200 + 200  # the refused ones are charged too

    coin = await client.futures_coin_historical_trades(symbol="BTCUSD_PERP", limit=3)
    assert list(coin[-1]) == ["id", "price", "qty", "baseQty", "time", "isBuyerMaker"]
    assert coin == await client.futures_coin_recent_trades(symbol="BTCUSD_PERP", limit=3)

    # ccxt's fetch_trades from the same endpoint (its fetchTradesMethod), alice's key
    exchange = ccxtpro.binanceusdm({"apiKey": venue.alice_hmac.api_key, "secret": venue.alice_hmac.secret})
    closing.append(exchange)
    local = f"http://127.0.0.1:{plant.listeners[Market.UM].port}"
    point(exchange, {"https://fapi.binance.com": local, "https://api.binance.com": local})
    await exchange.load_markets()
    plain = await exchange.fetch_trades("BTC/USDT:USDT", limit=20, params={"fetchTradesMethod": "fapiPublicGetTrades"})
    keyed = await exchange.fetch_trades(
        "BTC/USDT:USDT", limit=20, params={"fetchTradesMethod": "fapiPublicGetHistoricalTrades"}
    )
    assert [t["id"] for t in keyed] == [t["id"] for t in plain] and keyed[-1]["price"] == plain[-1]["price"]
