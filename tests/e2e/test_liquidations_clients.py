"""Liquidations and open interest through real clients pointed at tickerplant: ccxt
(``fetch_open_interest``, ``fetch_open_interest_history``, ``watch_liquidations``), Binance's
SDK (``liquidation_order_streams``) and python-binance (``futures_open_interest`` and
``futures_open_interest_hist``, both markets), with the values checked against the plant."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import Any

from binance import AsyncClient
from conftest import StartServer
from driven_clock import driven
from test_binance_sdk import sdk
from test_ccxt import coinm, exchanges, record, usdm  # noqa: F401 (exchanges is a fixture)
from test_python_binance import client_for, clients  # noqa: F401 (clients is a fixture)
from timing import SECONDS

from tickerplant.app import Tickerplant
from tickerplant.clock import ManualClock
from tickerplant.feeds.simulator.pump import SimulatedMarket
from tickerplant.feeds.simulator.simulator import Simulator
from tickerplant.market.instruments import Market
from tickerplant.market.units import fixed

STILL = {"actions_per_s": 1e-9}


def simulator(plant: Tickerplant) -> Simulator:
    source = plant.source
    assert isinstance(source, SimulatedMarket) and source.simulator is not None
    return source.simulator


async def until_liquidated(plant: Tickerplant, symbol: str, waiting: Awaitable[Any]) -> Any:
    """Push ``symbol``'s price down in steps until ``waiting`` (a client's watch) resolves:
    each step liquidates the longs it crosses."""
    task = asyncio.ensure_future(waiting)
    for _ in range(10):
        simulator(plant).shock(symbol, 0.985)
        done, _ = await asyncio.wait({task}, timeout=2 * SECONDS)
        if done:
            return task.result()
    task.cancel()
    raise AssertionError(f"no liquidation of {symbol} reached the client")


async def test_ccxt_open_interest(start_server: StartServer, exchanges: list[Any]) -> None:  # noqa: F811
    plant = await start_server(simulator=STILL)
    linear, inverse = usdm(plant), coinm(plant)
    exchanges.extend([linear, inverse])
    btc = simulator(plant).positions("BTCUSDT")
    interest = await linear.fetch_open_interest("BTC/USDT:USDT")
    assert interest["symbol"] == "BTC/USDT:USDT"
    assert interest["openInterestAmount"] == float(fixed(btc.open_interest, 3))
    history = await linear.fetch_open_interest_history("BTC/USDT:USDT", "1h", limit=24)
    assert len(history) == 24 and all(h["timestamp"] % 3_600_000 == 0 for h in history)
    assert all(h["openInterestAmount"] > 0 and h["openInterestValue"] > 0 for h in history)
    since = history[0]["timestamp"]
    paged = await linear.fetch_open_interest_history("BTC/USDT:USDT", "1h", since=since, limit=5)
    assert [h["timestamp"] for h in paged] == [since + k * 3_600_000 for k in range(5)]
    perp = simulator(plant).positions("BTCUSD_PERP")
    coin = await inverse.fetch_open_interest("BTC/USD:BTC")
    assert coin["openInterestAmount"] == float(perp.open_interest)
    coin_history = await inverse.fetch_open_interest_history("BTC/USD:BTC", "5m", limit=10)
    assert len(coin_history) == 10 and coin_history[-1]["info"]["contractType"] == "PERPETUAL"


async def test_ccxt_watch_liquidations(start_server: StartServer, exchanges: list[Any]) -> None:  # noqa: F811
    clock = ManualClock()  # the mark price's seconds pass as fast as the market steps (driven_clock)
    plant = await start_server(simulator={"actions_per_s": 4000.0}, clock=clock)
    pushed = record(plant, Market.UM, "btcusdt@forceOrder")
    exchange = usdm(plant)
    exchanges.append(exchange)
    await exchange.load_markets()
    async with driven(plant, clock):
        liquidations = await until_liquidated(plant, "BTCUSDT", exchange.watch_liquidations("BTC/USDT:USDT"))
    liquidation = liquidations[0]
    assert liquidation["symbol"] == "BTC/USDT:USDT"
    assert liquidation["side"] == liquidation["info"]["S"].lower()
    assert liquidation["info"] in [p["o"] for p in pushed]
    assert liquidation["contracts"] == float(liquidation["info"]["z"])
    assert liquidation["price"] == float(liquidation["info"]["ap"])


async def test_sdk_liquidation_order_streams(start_server: StartServer) -> None:
    clock = ManualClock()  # the mark price's seconds pass as fast as the market steps (driven_clock)
    plant = await start_server(simulator={"actions_per_s": 4000.0}, clock=clock)
    pushed = record(plant, Market.UM, "btcusdt@forceOrder")
    client = sdk(plant)
    await client.websocket_streams.create_connection()
    got: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
    try:
        handle = await client.websocket_streams.liquidation_order_streams(symbol="btcusdt")
        # the first of the longs the fall liquidates (a short may be liquidated any time)
        handle.on("message", lambda m: got.done() or m.o.S != "SELL" or got.set_result(m))
        async with driven(plant, clock):
            message = await until_liquidated(plant, "BTCUSDT", got)
    finally:
        await client.websocket_streams.close_connection(close_session=True)
    assert message.e == "forceOrder" and message.o.s == "BTCUSDT" and message.o.S == "SELL"
    assert (message.E, message.o.z, message.o.ap) in [(p["E"], p["o"]["z"], p["o"]["ap"]) for p in pushed]


async def test_python_binance_open_interest(start_server: StartServer, clients: list[AsyncClient]) -> None:  # noqa: F811
    plant = await start_server(simulator=STILL)
    client = await client_for(plant, clients)
    btc = simulator(plant).positions("BTCUSDT")
    interest = await client.futures_open_interest(symbol="BTCUSDT")
    assert interest["symbol"] == "BTCUSDT" and interest["openInterest"] == fixed(btc.open_interest, 3)
    history = await client.futures_open_interest_hist(symbol="BTCUSDT", period="5m", limit=12)
    assert len(history) == 12 and history[-1]["symbol"] == "BTCUSDT"
    coin = await client.futures_coin_open_interest(symbol="ETHUSD_PERP")
    assert coin["pair"] == "ETHUSD" and coin["openInterest"] == str(simulator(plant).positions("ETHUSD_PERP").open_interest)
    coin_history = await client.futures_coin_open_interest_hist(pair="ETHUSD", contractType="ALL", period="1d", limit=3)
    assert len(coin_history) >= 1 and all(row["pair"] == "ETHUSD" for row in coin_history)
