"""ccxt (binanceusdm, binancecoinm, and their ccxt.pro websockets) pointed at tickerplant by
rewriting its documented `urls['api']`, with the values checked against the plant."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import ccxt.pro as ccxtpro
import msgspec
import pytest
from ccxt_hosts import point
from conftest import StartServer
from driven_clock import driven
from timing import SECONDS

from tickerplant.app import Tickerplant
from tickerplant.bus import StreamMessage
from tickerplant.clock import ManualClock
from tickerplant.market.instruments import Market
from tickerplant.market.units import fixed

__all__ = ["point"]  # for the other ccxt tests (tests/ccxt_hosts.py)

STILL = {"actions_per_s": 1e-9}  # a market that does not move: answers can be compared exactly


def usdm(plant: Tickerplant) -> Any:
    port = plant.listeners[Market.UM].port
    exchange = ccxtpro.binanceusdm({"enableRateLimit": False, "timeout": 5000})  # user settings (ccxt_hosts.py)
    return point(exchange, {
        "https://fapi.binance.com": f"http://127.0.0.1:{port}",
        "wss://fstream.binance.com": f"ws://127.0.0.1:{port}",
        "wss://ws-fapi.binance.com": f"ws://127.0.0.1:{port}",
    })  # fmt: skip


def coinm(plant: Tickerplant) -> Any:
    port = plant.listeners[Market.CM].port
    exchange = ccxtpro.binancecoinm({"enableRateLimit": False, "timeout": 5000})  # user settings (ccxt_hosts.py)
    return point(exchange, {
        "https://dapi.binance.com": f"http://127.0.0.1:{port}",
        "wss://dstream.binance.com": f"ws://127.0.0.1:{port}",
        "wss://ws-dapi.binance.com": f"ws://127.0.0.1:{port}",
    })  # fmt: skip


@pytest.fixture
async def exchanges() -> AsyncIterator[list[Any]]:
    opened: list[Any] = []
    yield opened
    for exchange in opened:
        await exchange.close()


def record(plant: Tickerplant, market: Market, stream: str) -> list[dict[str, Any]]:
    seen: list[dict[str, Any]] = []

    def keep(messages: Any) -> None:
        seen.extend(msgspec.json.decode(m.payload) for m in messages if isinstance(m, StreamMessage) and m.stream == stream)

    plant.bus.subscribe(market, keep)
    return seen


def top(plant: Tickerplant, market: Market, symbol: str) -> tuple[float, float, float, float]:
    state = plant.plants[market].symbols[symbol]
    assert state.top is not None
    inst = state.inst
    bid, bid_qty, ask, ask_qty = state.top
    p, q = inst.price_decimals, inst.qty_decimals
    return float(fixed(bid, p)), float(fixed(bid_qty, q)), float(fixed(ask, p)), float(fixed(ask_qty, q))


async def test_usdm_markets_tickers_books(start_server: StartServer, exchanges: list[Any]) -> None:
    plant = await start_server(simulator=STILL)
    exchange = usdm(plant)
    exchanges.append(exchange)
    markets = await exchange.load_markets()
    btc = markets["BTC/USDT:USDT"]
    assert btc["linear"] and btc["swap"] and btc["active"] and btc["id"] == "BTCUSDT"
    assert btc["precision"]["price"] == 0.1 and btc["precision"]["amount"] == 0.001
    assert len([m for m in markets.values() if m["swap"]]) == len(plant.instruments[Market.UM])

    state = plant.plants[Market.UM].symbols["BTCUSDT"]
    ticker = await exchange.fetch_ticker("BTC/USDT:USDT")
    assert ticker["last"] == float(fixed(state.window.close, 2))
    assert (ticker["high"], ticker["low"], ticker["open"]) == (
        float(fixed(state.window.high, 2)), float(fixed(state.window.low, 2)), float(fixed(state.window.open, 2))
    )  # fmt: skip
    assert ticker["baseVolume"] == float(fixed(state.window.volume, 3))

    book = await exchange.fetch_order_book("BTC/USDT:USDT", 5)
    assert book["nonce"] == state.book.next_update_id  # the id reserved for the next update (§4.9)
    assert book["bids"] == [[lvl.price / 100, lvl.qty / 1000] for lvl in state.book.top_bids(5)]
    assert book["asks"] == [[lvl.price / 100, lvl.qty / 1000] for lvl in state.book.top_asks(5)]

    bids_asks = await exchange.fetch_bids_asks(["BTC/USDT:USDT"])
    quote = bids_asks["BTC/USDT:USDT"]
    assert (quote["bid"], quote["bidVolume"], quote["ask"], quote["askVolume"]) == top(plant, Market.UM, "BTCUSDT")
    everything = await exchange.fetch_bids_asks()
    assert "ETH/USDT:USDT" in everything


async def test_coinm_markets_tickers_books(start_server: StartServer, exchanges: list[Any]) -> None:
    plant = await start_server(simulator=STILL)
    exchange = coinm(plant)
    exchanges.append(exchange)
    markets = await exchange.load_markets()
    btc = markets["BTC/USD:BTC"]
    assert btc["inverse"] and btc["swap"] and btc["contractSize"] == 100
    futures = [m for m in markets.values() if m["future"] and m["base"] == "BTC"]
    assert len(futures) == 2, "current and next quarter"

    state = plant.plants[Market.CM].symbols["BTCUSD_PERP"]
    ticker = await exchange.fetch_ticker("BTC/USD:BTC")
    assert ticker["last"] == float(fixed(state.window.close, 1))
    assert ticker["baseVolume"] == float(fixed(state.window.quote_volume, 8))  # COIN-M: base volume

    book = await exchange.fetch_order_book("BTC/USD:BTC", 10)
    assert book["nonce"] == state.book.next_update_id  # the id reserved for the next update (§4.9)
    assert book["asks"] == [[lvl.price / 10, float(lvl.qty)] for lvl in state.book.top_asks(10)]
    quote = (await exchange.fetch_bids_asks(["BTC/USD:BTC"]))["BTC/USD:BTC"]
    assert (quote["bid"], quote["bidVolume"], quote["ask"], quote["askVolume"]) == top(plant, Market.CM, "BTCUSD_PERP")


@pytest.mark.parametrize("market", [Market.UM, Market.CM])
async def test_watch_bids_asks_and_ticker(start_server: StartServer, exchanges: list[Any], market: Market) -> None:
    clock = ManualClock()  # the miniTicker's seconds pass as fast as the market steps (driven_clock)
    plant = await start_server(clock=clock)
    exchange = usdm(plant) if market is Market.UM else coinm(plant)
    exchanges.append(exchange)
    symbol, market_id = ("BTC/USDT:USDT", "btcusdt") if market is Market.UM else ("BTC/USD:BTC", "btcusd_perp")
    pushed = record(plant, market, f"{market_id}@bookTicker")
    minis = record(plant, market, f"{market_id}@miniTicker")
    await exchange.load_markets()
    async with driven(plant, clock):
        for _ in range(3):
            quote = (await asyncio.wait_for(exchange.watch_bids_asks([symbol]), 10 * SECONDS))[symbol]
            states = {(float(m["b"]), float(m["B"]), float(m["a"]), float(m["A"])) for m in pushed}
            assert (quote["bid"], quote["bidVolume"], quote["ask"], quote["askVolume"]) in states
        ticker = await asyncio.wait_for(exchange.watch_ticker(symbol), 10 * SECONDS)
    assert ticker["last"] in {float(m["c"]) for m in minis}
    assert ticker["high"] >= ticker["low"] > 0
