"""MarketStreams against a real tickerplant on a manual clock: one stream of each derived
kind (klines, continuous klines, mark and index prices, COIN-M's mark- and index-price
klines, liquidations; spec §3.5, §4.6, §4.7, §4.10, §4.12) arrives as typed events, each exactly the payload the server sent, which a
plain WebSocket subscribed first to the same streams reads byte for byte."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import msgspec
import pytest
import websockets
from conftest import StartServer
from timing import SECONDS, eventually

from tickerplant.client import (
    ContinuousKline,
    ForceOrder,
    IndexPriceKline,
    IndexPriceUpdate,
    Kline,
    MarketStreams,
    MarkPriceKline,
    MarkPriceUpdate,
    UnknownEvent,
)
from tickerplant.client.events import CombinedEnvelope
from tickerplant.clock import ManualClock
from tickerplant.feeds.simulator.pump import SimulatedMarket
from tickerplant.market.instruments import Market

# the derived streams' values (the client's loops: test_streams_client.py):
# on uvloop alone (tests/conftest.py); the listeners' and the client's own tests cover both loops
pytestmark = pytest.mark.uvloop_only

STREAMS: dict[Market, list[str]] = {
    Market.UM: [
        "btcusdt@kline_1m",
        "btcusdt_perpetual@continuousKline_1m",
        "btcusdt@markPrice@1s",
        "!markPrice@arr@1s",
        "btcusdt@forceOrder",
        "!forceOrder@arr",
    ],
    Market.CM: [
        "btcusd_perp@kline_1m",
        "btcusd_perpetual@continuousKline_1m",
        "btcusd@markPrice@1s",  # an array of the pair's contracts
        "btcusd@indexPrice@1s",
        "btcusd_perp@markPriceKline_1m",
        "btcusd@indexPriceKline_1m",
        "btcusd_perp@forceOrder",
    ],
}
SYMBOL = {Market.UM: "BTCUSDT", Market.CM: "BTCUSD_PERP"}
KINDS = (Kline, ContinuousKline, MarkPriceUpdate, ForceOrder)
CM_ONLY = (IndexPriceUpdate, MarkPriceKline, IndexPriceKline)
_frames = msgspec.json.Decoder(CombinedEnvelope)
_elements = msgspec.json.Decoder(list[msgspec.Raw])


class Sent:
    """Every payload a plain connection received, and the elements of each array."""

    def __init__(self) -> None:
        self.payloads: set[bytes] = set()

    def add(self, frame: bytes) -> None:
        data = bytes(_frames.decode(frame).data)
        self.payloads.add(data)
        if data.startswith(b"["):
            self.payloads.update(bytes(element) for element in _elements.decode(data))


@pytest.fixture
async def tasks() -> AsyncIterator[list[asyncio.Task[None]]]:
    running: list[asyncio.Task[None]] = []
    yield running
    for task in running:
        task.cancel()
    await asyncio.gather(*running, return_exceptions=True)


async def _read_plain(url: str, streams: list[str], into: Sent, subscribed: asyncio.Event) -> None:
    async with websockets.connect(url + "/stream?streams=" + "/".join(streams), max_queue=None) as ws:
        subscribed.set()
        async for frame in ws:
            into.add(frame if isinstance(frame, bytes) else frame.encode())


async def _read_typed(streams: MarketStreams, into: list[Any]) -> None:
    async for item in streams:
        into.append(item)


def _kinds(items: list[Any]) -> set[type]:
    return {type(item) for item in items}


def _liquidated(items: list[Any], symbol: str) -> bool:
    return any(isinstance(item, ForceOrder) and item.order.symbol == symbol for item in items)


async def test_each_derived_stream_arrives_typed_with_the_servers_values(
    start_server: StartServer, tasks: list[asyncio.Task[None]]
) -> None:
    clock = ManualClock()
    plant = await start_server(clock=clock, simulator={"actions_per_s": 4000.0})
    source = plant.source
    assert isinstance(source, SimulatedMarket) and source.simulator is not None
    loop = asyncio.get_running_loop()
    sent = {market: Sent() for market in Market}
    typed: dict[Market, list[Any]] = {market: [] for market in Market}
    async with (
        MarketStreams(plant.url(Market.UM), numbers=str) as um,
        MarketStreams(plant.url(Market.CM), numbers=str) as cm,
    ):
        for market, client in ((Market.UM, um), (Market.CM, cm)):
            # the plain reader first: whatever the typed one gets was sent to it as well
            subscribed = asyncio.Event()
            tasks.append(loop.create_task(_read_plain(plant.url(market), STREAMS[market], sent[market], subscribed)))
            async with asyncio.timeout(5 * SECONDS):
                await subscribed.wait()
            await client.subscribe(*STREAMS[market])
            tasks.append(loop.create_task(_read_typed(client, typed[market])))

        def done() -> bool:
            return all(
                _kinds(typed[market]) >= wanted and _liquidated(typed[market], SYMBOL[market])
                for market, wanted in ((Market.UM, set(KINDS)), (Market.CM, {*KINDS, *CM_ONLY}))
            )

        source.simulator.shock("BTCUSDT", 0.97)  # BTC falls 3 %: the longs of both markets are liquidated
        for _ in range(60):
            if done():
                break
            before = source.updates_processed
            clock.advance(400)
            await eventually(lambda b=before: source.updates_processed > b, 5 * SECONDS)
        await eventually(done, 10 * SECONDS)

    for market in Market:
        items = typed[market]
        assert not [item for item in items if isinstance(item, UnknownEvent)]
        events = [item for item in items if isinstance(item, (*KINDS, *CM_ONLY))]
        # each one exactly as the server wrote it: the plant's values, keys and order
        missing = [event for event in events if msgspec.json.encode(event) not in sent[market].payloads]
        assert not missing, missing[:3]
        pair = "BTCUSDT" if market is Market.UM else "BTCUSD"
        symbol = SYMBOL[market]
        klines = [e for e in events if isinstance(e, Kline)]
        assert {(e.symbol, e.kline.interval) for e in klines} == {(symbol, "1m")}
        continuous = [e for e in events if isinstance(e, ContinuousKline)]
        assert {(e.pair, e.contract_type, e.kline.interval) for e in continuous} == {(pair, "PERPETUAL", "1m")}
        forced = [e for e in events if isinstance(e, ForceOrder) and e.order.symbol == symbol]
        assert forced and all(e.order.side in ("BUY", "SELL") for e in forced)
        marks = [e for e in events if isinstance(e, MarkPriceUpdate)]
        assert symbol in {e.symbol for e in marks}
    coin = typed[Market.CM]
    assert {e.symbol for e in coin if isinstance(e, MarkPriceUpdate)} > {"BTCUSD_PERP"}  # the pair's contracts
    assert {e.pair for e in coin if isinstance(e, IndexPriceUpdate)} == {"BTCUSD"}
    mark_klines = [e for e in coin if isinstance(e, MarkPriceKline)]
    assert {(e.pair, e.kline.symbol, e.kline.interval) for e in mark_klines} == {("BTCUSD", "BTCUSD_PERP", "1m")}
    index_klines = [e for e in coin if isinstance(e, IndexPriceKline)]
    assert {(e.pair, e.kline.interval) for e in index_klines} == {("BTCUSD", "1m")}
