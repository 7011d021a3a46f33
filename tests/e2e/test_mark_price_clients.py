"""Mark price and funding through real clients (ccxt, python-binance, Binance's official
SDK), each value checked against what the gateway's market view holds (market/derivatives/mark_state.py)
or what the plant pushed."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import msgspec
import pytest
from binance import AsyncClient
from conftest import StartServer
from test_binance_sdk import sdk
from test_ccxt import coinm, usdm
from test_python_binance import client_for
from timing import SECONDS

from tickerplant.app import Tickerplant
from tickerplant.bus import StreamMessage
from tickerplant.clock import ManualClock
from tickerplant.feeds.simulator.pump import SimulatedMarket
from tickerplant.market.derivatives.mark_streams import FundingEvent, MarkState
from tickerplant.market.history.marks import PastMarks
from tickerplant.market.instruments import Market
from tickerplant.market.units import fixed

T0 = 1_767_225_600_000  # ManualClock's start, a funding time


def state(plant: Tickerplant, market: Market, symbol: str) -> MarkState:
    mark = plant.listeners[market].view.marks.mark(symbol)
    assert mark is not None
    return mark


@pytest.fixture
async def opened() -> AsyncIterator[list[Any]]:
    exchanges: list[Any] = []
    yield exchanges
    for exchange in exchanges:
        await exchange.close()


def past_funding(plant: Tickerplant, symbol: str, start: int | None, limit: int) -> list[FundingEvent]:
    """The funding events before the start, as the past makes them (``market/history``)."""
    source = plant.source
    assert isinstance(source, SimulatedMarket) and source.past is not None
    events = PastMarks(source.past).funding(symbol, start, None, limit, T0)
    return [FundingEvent(e.symbol, e.funding_ms, fixed(e.rate, 8), fixed(e.mark, 8), e.funding_ms) for e in events]


async def test_ccxt_funding_rates_mark_prices_and_history(start_server: StartServer, opened: list[Any]) -> None:
    plant = await start_server(clock=ManualClock())  # the state stands still between requests
    exchange = usdm(plant)
    opened.append(exchange)
    btc = state(plant, Market.UM, "BTCUSDT")
    rate = await exchange.fetch_funding_rate("BTC/USDT:USDT")
    assert (rate["markPrice"], rate["indexPrice"], rate["fundingRate"]) == (float(btc.p), float(btc.i), float(btc.r))
    assert (rate["fundingTimestamp"], rate["interestRate"], rate["timestamp"]) == (btc.T, 0.0001, btc.t)
    mark = await exchange.fetch_mark_price("BTC/USDT:USDT")
    assert mark["markPrice"] == float(btc.p) and mark["indexPrice"] == float(btc.i)
    marks = await exchange.fetch_mark_prices()
    assert marks["ETH/USDT:USDT"]["markPrice"] == float(state(plant, Market.UM, "ETHUSDT").p)
    rates = await exchange.fetch_funding_rates(["BTC/USDT:USDT", "SOL/USDT:USDT"])
    assert set(rates) == {"BTC/USDT:USDT", "SOL/USDT:USDT"}
    history = await exchange.fetch_funding_rate_history("BTC/USDT:USDT", since=T0 - 5 * 8 * 3_600_000, limit=3)
    expected = past_funding(plant, "BTCUSDT", T0 - 5 * 8 * 3_600_000, 3)  # the history is the past's
    assert [(h["timestamp"], h["fundingRate"]) for h in history] == [(e.T, float(e.r)) for e in expected]
    intervals = await exchange.fetch_funding_intervals(["BTC/USDT:USDT"])
    assert intervals["BTC/USDT:USDT"]["interval"] == "8h"

    inverse = coinm(plant)
    opened.append(inverse)
    perpetual = state(plant, Market.CM, "BTCUSD_PERP")
    coin = await inverse.fetch_funding_rate("BTC/USD:BTC")
    assert (coin["markPrice"], coin["fundingRate"]) == (float(perpetual.p), float(perpetual.r))
    coin_history = await inverse.fetch_funding_rate_history("BTC/USD:BTC", limit=2)
    assert [h["fundingRate"] for h in coin_history] == [float(e.r) for e in past_funding(plant, "BTCUSD_PERP", None, 2)]


async def test_python_binance_mark_price_and_funding_rate(start_server: StartServer) -> None:
    plant = await start_server(clock=ManualClock())
    made: list[AsyncClient] = []
    client = await client_for(plant, made)
    try:
        btc = state(plant, Market.UM, "BTCUSDT")
        mark = await client.futures_mark_price(symbol="BTCUSDT")
        assert mark == {
            "symbol": "BTCUSDT", "markPrice": btc.p, "indexPrice": btc.i, "estimatedSettlePrice": btc.P,
            "lastFundingRate": btc.r, "interestRate": btc.ir, "nextFundingTime": btc.T, "time": btc.t,
        }  # fmt: skip
        every = await client.futures_mark_price()
        assert len(every) == len(plant.instruments[Market.UM])
        funding = await client.futures_funding_rate(symbol="BTCUSDT", limit=5)
        held = past_funding(plant, "BTCUSDT", None, 5)
        assert funding == [
            {"symbol": "BTCUSDT", "fundingTime": e.T, "fundingRate": e.r, "markPrice": e.p} for e in held
        ]
        coin = await client.futures_coin_mark_price(pair="BTCUSD")
        assert [row["symbol"] for row in coin] == [i.symbol for i in plant.instruments[Market.CM] if i.pair == "BTCUSD"]
        assert coin[0]["markPrice"] == state(plant, Market.CM, "BTCUSD_PERP").p
        coin_funding = await client.futures_coin_funding_rate(symbol="BTCUSD_PERP", limit=1)
        assert coin_funding[0]["fundingTime"] == T0
    finally:
        for made_client in made:
            await made_client.close_connection()


async def test_the_official_sdk_mark_price_stream_and_rest(start_server: StartServer) -> None:
    plant = await start_server()
    pushed: list[dict[str, Any]] = []
    plant.bus.subscribe(
        Market.UM,
        lambda messages: pushed.extend(
            msgspec.json.decode(m.payload)
            for m in messages
            if isinstance(m, StreamMessage) and m.stream == "btcusdt@markPrice@1s"
        ),
    )
    client = sdk(plant)
    await client.websocket_streams.create_connection()
    loop = asyncio.get_running_loop()
    received: asyncio.Future[Any] = loop.create_future()
    try:
        # the SDK writes update_speed into the name as given: "1s", not its enum
        handle = await client.websocket_streams.mark_price_stream(symbol="btcusdt", update_speed="1s")  # type: ignore[arg-type]
        handle.on("message", lambda m: received.done() or received.set_result(m))
        message = await asyncio.wait_for(received, 10 * SECONDS)
    finally:
        await client.websocket_streams.close_connection(close_session=True)
    assert {"E": message.E, "s": message.s, "p": message.p, "i": message.i, "r": message.r, "T": message.T} in [
        {k: m[k] for k in ("E", "s", "p", "i", "r", "T")} for m in pushed
    ]
    rest = await asyncio.to_thread(lambda: client.rest_api.mark_price(symbol="BTCUSDT").data())
    answer = rest.actual_instance
    assert answer.symbol == "BTCUSDT" and float(answer.mark_price) > 0
    history = await asyncio.to_thread(lambda: client.rest_api.get_funding_rate_history(symbol="BTCUSDT").data())
    # the default limit, 100, of a past that goes back to the listing
    assert len(history) == 100 and all(row.symbol == "BTCUSDT" for row in history)
