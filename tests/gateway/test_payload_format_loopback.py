"""A server started with ``payload_format=2026`` (spec §4.13) over real sockets: both
listeners serve ``st`` last and USDⓈ-M's ``ps`` after ``s``, ``MarketStreams`` reads
those payloads into its usual typed events, and each listener's all-market streams carry
the other market's pushes too, and each accepts the other market's symbols for klines,
continuous klines and mark prices; the default server does none of that."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
import websockets
from conftest import StartServer
from driven_clock import driven
from timing import SECONDS

from tickerplant.client import AggTrade, BookTicker, DepthUpdate, MarketStreams
from tickerplant.clock import ManualClock
from tickerplant.market.instruments import Market
from tickerplant.market.payloads.events import PayloadFormat

# which payloads a listener writes, not how it moves them:
# on uvloop alone (tests/conftest.py); the listeners' own tests cover both loops
pytestmark = pytest.mark.uvloop_only

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
    clock = ManualClock()  # a second's pushes: the market's seconds run as fast as it steps
    plant = await start_server(clock=clock)
    async with driven(plant, clock):
        got = await _first_of_each(plant.url(Market.UM), STREAMS[Market.UM])
        pushed = await _first_of_each(plant.url(Market.UM), ("!miniTicker@arr",))
    for stream, data in got.items():
        assert "st" not in data and "ps" not in data, stream
    assert {row["s"] for row in pushed["!miniTicker@arr"]} <= {i.symbol for i in plant.instruments[Market.UM]}


async def _rows_of(url: str, stream: str, symbol_type: int) -> list[dict[str, Any]]:
    """The rows of ``stream``'s pushes until one carries ``symbol_type`` (§4.13)."""
    rows: list[dict[str, Any]] = []
    async with websockets.connect(url + "/ws/" + stream, max_queue=None) as ws:
        async with asyncio.timeout(10 * SECONDS):
            while not any(row["st"] == symbol_type for row in rows):
                data = json.loads(await ws.recv())
                rows += data if isinstance(data, list) else [data]
    return rows


async def test_a_2026_server_merges_both_markets_all_market_streams(start_server: StartServer) -> None:
    clock = ManualClock()  # a second's pushes: the market's seconds run as fast as it steps
    plant = await start_server(payload_format=PayloadFormat.Y2026, clock=clock)
    async with driven(plant, clock):
        rows = await _rows_of(plant.url(Market.UM), "!miniTicker@arr", 2)
        assert {row["s"] for row in rows if row["st"] == 2} <= {i.symbol for i in plant.instruments[Market.CM]}
        rows = await _rows_of(plant.url(Market.CM), "!ticker@arr", 1)
        assert {row["s"] for row in rows if row["st"] == 1} <= {i.symbol for i in plant.instruments[Market.UM]}
        rows = await _rows_of(plant.url(Market.UM), "!bookTicker", 2)  # COIN-M's real-time ones
        assert all(list(row)[3] == "ps" for row in rows)


async def test_a_2026_coin_m_listener_serves_the_usds_m_mark_price_array(start_server: StartServer) -> None:
    clock = ManualClock()  # a second's pushes: the market's seconds run as fast as it steps
    plant = await start_server(payload_format=PayloadFormat.Y2026, clock=clock)
    async with driven(plant, clock):
        rows = await _rows_of(plant.url(Market.CM), "!markPrice@arr@1s", 1)
    assert {row["s"] for row in rows} == {i.symbol for i in plant.instruments[Market.UM]}


async def test_a_2026_listener_serves_the_other_markets_symbols_klines_and_mark_prices(
    start_server: StartServer,
) -> None:
    clock = ManualClock()  # a second's pushes: the market's seconds run as fast as it steps
    plant = await start_server(payload_format=PayloadFormat.Y2026, clock=clock)
    um = ("btcusd_perp@kline_1m", "btcusd_perpetual@continuousKline_1m", "btcusd_perp@markPrice@1s")
    async with driven(plant, clock):
        got = await _first_of_each(plant.url(Market.UM), um)
        assert got["btcusd_perp@kline_1m"]["s"] == "BTCUSD_PERP"
        assert got["btcusd_perpetual@continuousKline_1m"]["ps"] == "BTCUSD"
        assert got["btcusd_perp@markPrice@1s"]["s"] == "BTCUSD_PERP" and got["btcusd_perp@markPrice@1s"]["st"] == 2
        got = await _first_of_each(plant.url(Market.CM), ("btcusdt@kline_1m", "btcusdt@markPrice@1s"))
    assert got["btcusdt@kline_1m"]["s"] == "BTCUSDT" and got["btcusdt@markPrice@1s"]["st"] == 1


async def test_a_classic_listener_does_not_serve_the_other_markets_symbols(start_server: StartServer) -> None:
    plant = await start_server()
    async with websockets.connect(plant.url(Market.UM) + "/ws/btcusd_perp@kline_1m", max_queue=None) as ws:
        # acknowledged and silent, as Binance is for an unknown symbol (§3.4): a bookTicker
        # of this market subscribed after it arrives, and nothing of the other before it
        await ws.send(json.dumps({"method": "SUBSCRIBE", "params": ["btcusdt@bookTicker"], "id": 1}))
        async with asyncio.timeout(10 * SECONDS):
            while True:
                data = json.loads(await ws.recv())
                assert data.get("s") != "BTCUSD_PERP"
                if data.get("e") == "bookTicker":
                    break
