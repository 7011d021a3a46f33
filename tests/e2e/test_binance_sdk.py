"""Binance's official `binance-sdk-derivatives-trading-usds-futures`: REST, WebSocket API
and WebSocket streams, pointed at tickerplant by its Configuration objects."""

from __future__ import annotations

import asyncio
from typing import Any

import msgspec
from binance_common.configuration import (
    ConfigurationRestAPI,
    ConfigurationWebSocketAPI,
    ConfigurationWebSocketStreams,
)
from binance_sdk_derivatives_trading_usds_futures.derivatives_trading_usds_futures import (
    DerivativesTradingUsdsFutures,
)
from conftest import StartServer
from driven_clock import driven

from tickerplant.app import Tickerplant
from tickerplant.bus import StreamMessage
from tickerplant.clock import ManualClock
from tickerplant.market.instruments import Market
from tickerplant.market.units import fixed

STILL = {"actions_per_s": 1e-9}


def sdk(plant: Tickerplant, **ws_api: Any) -> DerivativesTradingUsdsFutures:
    """The SDK as its README makes it, the base URLs changed (``ws_api``: an option a test is of)."""
    port = plant.listeners[Market.UM].port
    return DerivativesTradingUsdsFutures(
        config_rest_api=ConfigurationRestAPI(base_path=f"http://127.0.0.1:{port}"),
        config_ws_api=ConfigurationWebSocketAPI(stream_url=f"ws://127.0.0.1:{port}/ws-fapi/v1", **ws_api),
        # the SDK appends /stream and opens /market/stream, /public/stream and /private/stream
        config_ws_streams=ConfigurationWebSocketStreams(stream_url=f"ws://127.0.0.1:{port}"),
    )


async def test_rest_and_ws_api(start_server: StartServer) -> None:
    plant = await start_server(simulator=STILL)
    btc = plant.plants[Market.UM].symbols["BTCUSDT"]
    pushed = msgspec.json.decode(btc.book_ticker or b"")
    client = sdk(plant)
    rest = await asyncio.to_thread(lambda: client.rest_api.symbol_order_book_ticker(symbol="BTCUSDT").data())
    assert (rest.actual_instance.bid_price, rest.actual_instance.ask_qty) == (pushed["b"], pushed["A"])
    await client.websocket_api.create_connection()
    try:
        book_ticker = (await client.websocket_api.symbol_order_book_ticker(symbol="BTCUSDT")).data()
        result = book_ticker.actual_instance.result
        assert (result.bid_price, result.bid_qty, result.ask_price, result.last_update_id) == (
            pushed["b"], pushed["B"], pushed["a"], pushed["u"]
        )  # fmt: skip
        price = (await client.websocket_api.symbol_price_ticker(symbol="BTCUSDT")).data()
        assert price.actual_instance.result.price == fixed(btc.window.close, 2)
        depth = (await client.websocket_api.order_book(symbol="BTCUSDT", limit=5)).data()
        assert depth.result.last_update_id == btc.book.next_update_id  # reserved for the next update (§4.9)
        bids = depth.result.additional_properties["bids"]  # the SDK models no bids field
        assert [[float(p), float(q)] for p, q in bids] == [
            [lvl.price / 100, lvl.qty / 1000] for lvl in btc.book.top_bids(5)
        ]
    finally:
        await client.websocket_api.close_connection(close_session=True)


async def test_ws_api_with_rate_limits_turned_off(start_server: StartServer) -> None:
    plant = await start_server(simulator=STILL)
    client = sdk(plant, return_rate_limits=False)  # sends "returnRateLimits": "false", a string
    await client.websocket_api.create_connection()
    try:
        depth = (await client.websocket_api.order_book(symbol="ETHUSDT", limit=10)).data()  # "limit": "10"
        assert len(depth.result.additional_properties["asks"]) == 10
    finally:
        await client.websocket_api.close_connection(close_session=True)


async def test_websocket_streams(start_server: StartServer) -> None:
    clock = ManualClock()  # the miniTicker's seconds pass as fast as the market steps (driven_clock)
    plant = await start_server(clock=clock)
    seen: list[dict[str, Any]] = []
    plant.bus.subscribe(
        Market.UM,
        lambda messages: seen.extend(
            msgspec.json.decode(m.payload)
            for m in messages
            if isinstance(m, StreamMessage) and m.stream in ("btcusdt@bookTicker", "btcusdt@miniTicker")
        ),
    )
    client = sdk(plant)
    await client.websocket_streams.create_connection()
    loop = asyncio.get_running_loop()
    book_ticker: asyncio.Future[Any] = loop.create_future()
    mini: asyncio.Future[Any] = loop.create_future()
    try:
        handle = await client.websocket_streams.individual_symbol_book_ticker_streams(symbol="btcusdt")
        handle.on("message", lambda m: book_ticker.done() or book_ticker.set_result(m))
        handle = await client.websocket_streams.individual_symbol_mini_ticker_stream(symbol="btcusdt")
        handle.on("message", lambda m: mini.done() or mini.set_result(m))
        async with driven(plant, clock):
            quote = await asyncio.wait_for(book_ticker, 10)
            ticker = await asyncio.wait_for(mini, 10)
    finally:
        await client.websocket_streams.close_connection(close_session=True)
    assert {"e": "bookTicker", "s": "BTCUSDT", "b": quote.b, "a": quote.a, "u": quote.u} in [
        {k: m[k] for k in ("e", "s", "b", "a", "u")} for m in seen if m["e"] == "bookTicker"
    ]
    assert ticker.c in {m["c"] for m in seen if m["e"] == "24hrMiniTicker"}
