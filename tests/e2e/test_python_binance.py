"""python-binance's AsyncClient, its WebSocket API calls and its futures sockets, pointed
at tickerplant by its URL attributes, with the values checked against the plant."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import msgspec
import pytest
from binance import AsyncClient, BinanceSocketManager
from binance.enums import FuturesType
from binance.ws.websocket_api import WebsocketAPI
from binance_hosts import python_binance_at
from conftest import StartServer
from driven_clock import driven
from timing import SECONDS

from tickerplant.app import Tickerplant
from tickerplant.bus import StreamMessage
from tickerplant.clock import ManualClock
from tickerplant.market.instruments import Market
from tickerplant.market.units import fixed

STILL = {"actions_per_s": 1e-9}


@pytest.fixture
async def clients() -> AsyncIterator[list[AsyncClient]]:
    made: list[AsyncClient] = []
    yield made
    for client in made:
        api = client.ws_future
        if api is not None:
            # Its read loop notices close() only between reads, and a read waits up to 10 s
            # for a message on a quiet connection: end the pending read by closing the socket.
            closing = asyncio.ensure_future(api.close())
            await asyncio.sleep(0)
            if api.ws is not None:
                await api.ws.close()
            await asyncio.wait_for(closing, 15 * SECONDS)
        await client.close_connection()


async def client_for(plant: Tickerplant, made: list[AsyncClient]) -> AsyncClient:
    um, cm = plant.listeners[Market.UM].port, plant.listeners[Market.CM].port
    client = await python_binance_at(f"http://127.0.0.1:{um}", f"http://127.0.0.1:{cm}")  # it pings spot
    client.ws_future = WebsocketAPI(url=f"ws://127.0.0.1:{um}/ws-fapi/v1")
    made.append(client)
    return client


def sockets_for(plant: Tickerplant, client: AsyncClient) -> BinanceSocketManager:
    manager = BinanceSocketManager(client, max_queue_size=10_000)
    manager.FSTREAM_URL = f"ws://127.0.0.1:{plant.listeners[Market.UM].port}/"
    manager.DSTREAM_URL = f"ws://127.0.0.1:{plant.listeners[Market.CM].port}/"
    return manager


async def test_rest_and_ws_api_calls(start_server: StartServer, clients: list[AsyncClient]) -> None:
    plant = await start_server(simulator={**STILL, "history_s": 6 * 3600.0})  # five whole 1h klines
    client = await client_for(plant, clients)
    btc = plant.plants[Market.UM].symbols["BTCUSDT"]
    last = fixed(btc.window.close, 2)
    assert await client.futures_ping() == {}
    info = await client.futures_exchange_info()
    assert {s["symbol"] for s in info["symbols"]} == {i.symbol for i in plant.instruments[Market.UM]}
    price = await client.futures_symbol_ticker(symbol="BTCUSDT")  # /fapi/v2/ticker/price
    assert (price["symbol"], price["price"]) == ("BTCUSDT", last)
    pushed = msgspec.json.decode(btc.book_ticker or b"")
    book_ticker = await client.futures_orderbook_ticker(symbol="BTCUSDT")
    assert (book_ticker["bidPrice"], book_ticker["askQty"], book_ticker["lastUpdateId"]) == (
        pushed["b"], pushed["A"], pushed["u"]
    )  # fmt: skip
    book = await client.futures_order_book(symbol="BTCUSDT", limit=10)
    # the id reserved for the book's next update, which the next diff event holds (§4.9)
    assert book["lastUpdateId"] == btc.book.next_update_id and len(book["bids"]) == 10
    day = await client.futures_ticker(symbol="BTCUSDT")
    assert day["lastPrice"] == last and day["volume"] == fixed(btc.window.volume, 3)
    klines = await client.futures_klines(symbol="BTCUSDT", interval="1h", limit=5)
    assert len(klines) == 5 and klines[-1][4] == last  # the open kline closes at the last price
    coin = await client.futures_coin_symbol_ticker(symbol="BTCUSD_PERP")
    assert coin[0]["price"] == fixed(plant.plants[Market.CM].symbols["BTCUSD_PERP"].window.close, 1)
    coin_book = await client.futures_coin_order_book(symbol="BTCUSD_PERP", limit=5)
    assert coin_book["pair"] == "BTCUSD"

    ws_book_ticker = await client.ws_futures_get_order_book_ticker(symbol="BTCUSDT")
    assert (ws_book_ticker["bidPrice"], ws_book_ticker["lastUpdateId"]) == (pushed["b"], pushed["u"])
    ws_prices = await client.ws_futures_get_all_tickers()
    assert any(p["symbol"] == "BTCUSDT" and p["price"] == last for p in ws_prices)
    ws_book = await client.ws_futures_get_order_book(symbol="BTCUSDT", limit=5)
    assert ws_book["lastUpdateId"] == btc.book.next_update_id


async def next_message(socket: Any) -> dict[str, Any]:
    message: dict[str, Any] = await asyncio.wait_for(socket.recv(), 10)
    assert message.get("e") != "error", message
    return message


async def test_futures_sockets(start_server: StartServer, clients: list[AsyncClient]) -> None:
    clock = ManualClock()  # the miniTickers' seconds pass as fast as the market steps (driven_clock)
    plant = await start_server(clock=clock)
    seen: dict[str, list[dict[str, Any]]] = {}

    def keep(messages: Any) -> None:
        for m in messages:
            if isinstance(m, StreamMessage) and m.stream in ("btcusdt@bookTicker", "btcusd_perp@miniTicker"):
                seen.setdefault(m.stream, []).append(msgspec.json.decode(m.payload))

    plant.bus.subscribe(Market.UM, keep)
    plant.bus.subscribe(Market.CM, keep)
    manager = sockets_for(plant, await client_for(plant, clients))
    async with driven(plant, clock):
        async with manager.symbol_ticker_futures_socket("BTCUSDT") as socket:  # /public/stream?streams=…@bookTicker
            message = await next_message(socket)
        assert message["stream"] == "btcusdt@bookTicker"
        assert message["data"] in seen["btcusdt@bookTicker"]
        coin_m = manager.futures_multiplex_socket(["btcusd_perp@miniTicker"], futures_type=FuturesType.COIN_M)
        async with coin_m as socket:
            message = await next_message(socket)
        assert message["data"]["e"] == "24hrMiniTicker" and message["data"]["ps"] == "BTCUSD"
        assert message["data"] in seen["btcusd_perp@miniTicker"]
        async with manager.futures_multiplex_socket(["ethusdt@miniTicker"]) as socket:  # USDⓈ-M, /market/stream
            message = await next_message(socket)
    assert message["data"]["s"] == "ETHUSDT"
