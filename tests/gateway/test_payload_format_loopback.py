"""A server started with ``payload_format=2026`` (spec §4.13) over real sockets: both
listeners serve ``st`` last and USDⓈ-M's ``ps`` after ``s``, and ``MarketStreams`` reads
those payloads into its usual typed events."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import websockets
from conftest import StartServer
from timing import SECONDS

from tickerplant.client import AggTrade, BookTicker, DepthUpdate, MarketStreams
from tickerplant.market.events import PayloadFormat
from tickerplant.market.instruments import Market

STREAMS = {
    Market.UM: ("btcusdt@bookTicker", "btcusdt@aggTrade", "btcusdt@depth@100ms"),
    Market.CM: ("btcusd_perp@bookTicker", "btcusd_perp@aggTrade", "btcusd_perp@depth@100ms"),
}


async def _first_of_each(url: str, streams: tuple[str, ...]) -> dict[str, Any]:
    got: dict[str, Any] = {}
    async with websockets.connect(url + "/stream?streams=" + "/".join(streams), max_queue=None) as ws:
        async with asyncio.timeout(10 * SECONDS):
            while set(got) != set(streams):
                message = json.loads(await ws.recv())
                got.setdefault(message["stream"], message["data"])
    return got


async def test_a_2026_server_serves_st_and_ps_and_the_client_reads_them(start_server: StartServer) -> None:
    plant = await start_server(payload_format=PayloadFormat.Y2026)
    for market, symbol_type in ((Market.UM, 1), (Market.CM, 2)):
        got = await _first_of_each(plant.url(market), STREAMS[market])
        for stream, data in got.items():
            assert list(data)[-1] == "st" and data["st"] == symbol_type, stream
        book_ticker, agg_trade, depth = (got[name] for name in STREAMS[market])
        assert list(book_ticker)[:4] == ["e", "u", "s", "ps"]
        assert list(depth)[:5] == ["e", "E", "T", "s", "ps"]
        assert "ps" not in agg_trade  # §4.13: aggTrade gets st alone

    typed: dict[type, Any] = {}
    async with MarketStreams(plant.url(Market.UM)) as client:
        await client.subscribe(*STREAMS[Market.UM])
        async with asyncio.timeout(10 * SECONDS):
            async for item in client:
                if isinstance(item, BookTicker | AggTrade | DepthUpdate):
                    typed.setdefault(type(item), item)
                if len(typed) == 3:
                    break
    assert typed[BookTicker].pair == "BTCUSDT" and typed[DepthUpdate].pair == "BTCUSDT"
    assert typed[AggTrade].symbol == "BTCUSDT" and typed[AggTrade].normal_qty is not None


async def test_the_default_server_serves_the_classic_payloads(start_server: StartServer) -> None:
    plant = await start_server()
    got = await _first_of_each(plant.url(Market.UM), STREAMS[Market.UM])
    for stream, data in got.items():
        assert "st" not in data and "ps" not in data, stream
