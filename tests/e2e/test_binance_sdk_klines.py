"""Binance's official USDⓈ-M SDK's kline and continuous kline streams against tickerplant
(spec §4.7, §4.12), compared with what the plant pushed."""

from __future__ import annotations

import asyncio
from typing import Any

import msgspec
from conftest import StartServer
from test_binance_sdk import sdk
from timing import SECONDS

from tickerplant.bus import StreamMessage
from tickerplant.market.instruments import Market


async def test_kline_and_continuous_kline_streams(start_server: StartServer) -> None:
    plant = await start_server()
    names = ("btcusdt@kline_1m", "btcusdt_perpetual@continuousKline_1s")
    seen: dict[str, list[dict[str, Any]]] = {name: [] for name in names}

    def keep(messages: Any) -> None:
        for m in messages:
            if isinstance(m, StreamMessage) and m.stream in seen:
                seen[m.stream].append(msgspec.json.decode(m.payload))

    plant.bus.subscribe(Market.UM, keep)
    client = sdk(plant)
    await client.websocket_streams.create_connection()
    loop = asyncio.get_running_loop()
    kline: asyncio.Future[Any] = loop.create_future()
    continuous: asyncio.Future[Any] = loop.create_future()
    try:
        handle = await client.websocket_streams.kline_candlestick_streams(symbol="btcusdt", interval="1m")
        handle.on("message", lambda m: kline.done() or kline.set_result(m))
        handle = await client.websocket_streams.continuous_contract_kline_candlestick_streams(
            pair="btcusdt", contract_type="perpetual", interval="1s"
        )
        handle.on("message", lambda m: continuous.done() or continuous.set_result(m))
        k = await asyncio.wait_for(kline, 10 * SECONDS)
        c = await asyncio.wait_for(continuous, 10 * SECONDS)
    finally:
        await client.websocket_streams.close_connection(close_session=True)
    assert (k.e, k.s, k.k.s, k.k.i) == ("kline", "BTCUSDT", "BTCUSDT", "1m")
    assert (k.E, k.k.t, k.k.o, k.k.c, k.k.v, k.k.n, k.k.x) in {
        (m["E"], m["k"]["t"], m["k"]["o"], m["k"]["c"], m["k"]["v"], m["k"]["n"], m["k"]["x"]) for m in seen[names[0]]
    }
    assert (c.e, c.ps, c.ct, c.k.i) == ("continuous_kline", "BTCUSDT", "PERPETUAL", "1s")
    assert (c.E, c.k.t, c.k.o, c.k.c, c.k.n) in {
        (m["E"], m["k"]["t"], m["k"]["o"], m["k"]["c"], m["k"]["n"]) for m in seen[names[1]]
    }
