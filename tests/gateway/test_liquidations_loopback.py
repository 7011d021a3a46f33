"""Liquidations and open interest over real sockets: a shock to the simulated market
liquidates positions, whose orders arrive on `<symbol>@forceOrder` and `!forceOrder@arr`
and whose fills are in the `@trade` stream; `openInterest` and `openInterestHist` answer
over HTTP what the plant counts."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any

import pytest
import websockets
from conftest import StartServer
from test_rest_and_ws_api import get
from timing import SECONDS, eventually

from tickerplant.app import Tickerplant
from tickerplant.clock import ManualClock
from tickerplant.feeds.simulator.pump import SimulatedMarket
from tickerplant.market.instruments import Market
from tickerplant.market.units import fixed

# the liquidations and open interest served, not how the listener moves them:
# on uvloop alone (tests/conftest.py); the listeners' and the client's own tests cover both loops
pytestmark = pytest.mark.uvloop_only

FORCE_KEYS = ["e", "E", "o"]
ORDER_UM = ["s", "S", "o", "f", "q", "p", "ap", "X", "l", "z", "T"]
ORDER_CM = ["s", "ps", "S", "o", "f", "q", "p", "ap", "X", "l", "z", "T"]


class Collected:
    """Every combined frame one connection receives, as (stream, raw data text, data)."""

    def __init__(self) -> None:
        self.frames: list[tuple[str, Any]] = []

    def of(self, stream: str) -> list[Any]:
        return [data for name, data in self.frames if name == stream]


async def _read(ws: Any, into: Collected) -> None:
    async for text in ws:
        frame = json.loads(text)
        if "stream" in frame:
            into.frames.append((frame["stream"], frame["data"]))


@pytest.fixture
async def readers() -> AsyncIterator[list[asyncio.Task[None]]]:
    tasks: list[asyncio.Task[None]] = []
    yield tasks
    for task in tasks:
        task.cancel()


async def _subscribe(plant: Tickerplant, market: Market, streams: list[str], tasks: list[asyncio.Task[None]]) -> Collected:
    ws = await websockets.connect(plant.url(market) + "/stream", max_queue=None)
    await ws.send(json.dumps({"method": "SUBSCRIBE", "params": streams, "id": 1}))
    assert json.loads(await ws.recv()) == {"result": None, "id": 1}
    collected = Collected()
    tasks.append(asyncio.get_running_loop().create_task(_read(ws, collected)))
    return collected


async def _trade_for(clock: ManualClock, source: SimulatedMarket, ms: int) -> None:
    """Move the clock and wait for the simulator's shell to have traded up to it."""
    before = source.updates_processed
    clock.advance(ms)
    await eventually(lambda: source.updates_processed > before, 5 * SECONDS)


def _trades_of(order: dict[str, Any], trades: list[Any]) -> list[Any]:
    """The consecutive fills in ``trades`` that make up the liquidation ``order``."""
    side_maker = order["S"] == "SELL"  # a sell took the bids: the buyer was the maker
    same = [t for t in trades if t["T"] == order["T"] and t["m"] is side_maker]
    for start in range(len(same)):
        total = Decimal(0)
        for end in range(start, len(same)):
            total += Decimal(same[end]["q"])
            if total >= Decimal(order["z"]):
                break
        run = same[start : end + 1]
        if total != Decimal(order["z"]) or order["l"] != order["z"]:
            continue
        ids = [t["t"] for t in run]
        average = sum(Decimal(t["p"]) * Decimal(t["q"]) for t in run) / total
        tick = Decimal(1).scaleb(Decimal(order["ap"]).as_tuple().exponent)
        if ids == list(range(ids[0], ids[0] + len(ids))) and abs(average - Decimal(order["ap"])) <= tick:
            return run
    return []


async def test_a_shock_liquidates_and_each_liquidation_is_in_the_trade_stream(
    start_server: StartServer, readers: list[asyncio.Task[None]]
) -> None:
    clock = ManualClock()
    plant = await start_server(clock=clock, simulator={"actions_per_s": 4000.0})
    source = plant.source
    assert isinstance(source, SimulatedMarket) and source.simulator is not None
    um = await _subscribe(plant, Market.UM, ["btcusdt@forceOrder", "!forceOrder@arr", "btcusdt@trade"], readers)
    cm = await _subscribe(plant, Market.CM, ["btcusd_perp@forceOrder", "!forceOrder@arr", "btcusd_perp@trade"], readers)
    source.simulator.shock("BTCUSDT", 0.97)  # BTC falls 3 %: the longs of both markets go
    for _ in range(20):
        await _trade_for(clock, source, 400)
        if um.of("btcusdt@forceOrder") and cm.of("btcusd_perp@forceOrder"):
            break
    await eventually(lambda: bool(um.of("btcusdt@forceOrder")) and bool(cm.of("btcusd_perp@forceOrder")))
    for collected, symbol, keys in ((um, "BTCUSDT", ORDER_UM), (cm, "BTCUSD_PERP", ORDER_CM)):
        lower = symbol.lower()
        forced = collected.of(f"{lower}@forceOrder")
        for event in forced:
            assert list(event) == FORCE_KEYS and event["e"] == "forceOrder"
            order = event["o"]
            assert list(order) == keys and order["s"] == symbol and order["S"] == "SELL"
            assert (order["o"], order["f"]) == ("LIMIT", "IOC")
            assert event["E"] >= order["T"] - order["T"] % 1000 + 1000  # once its second is over
        # one per second
        seconds = [event["o"]["T"] // 1000 for event in forced]
        assert len(seconds) == len(set(seconds))
        # the same single objects on the all-market stream (it carries the other symbols' too)
        everything = collected.of("!forceOrder@arr")
        assert all(isinstance(event, dict) for event in everything)
        assert all(event in everything for event in forced)
        # a liquidation is a trade in the trade stream
        await eventually(lambda c=collected, o=forced[-1]["o"], n=lower: bool(_trades_of(o, c.of(f"{n}@trade"))))
        for event in forced:
            fills = _trades_of(event["o"], collected.of(f"{lower}@trade"))  # its size, average, ids
            assert fills, event
            assert all(Decimal(t["p"]) >= Decimal(event["o"]["p"]) for t in fills)  # within its limit


async def test_open_interest_over_http(start_server: StartServer) -> None:
    clock = ManualClock()
    plant = await start_server(clock=clock)
    source = plant.source
    assert isinstance(source, SimulatedMarket) and source.simulator is not None
    positions = source.simulator.positions("BTCUSDT")
    answer = await get(plant, Market.UM, "/fapi/v1/openInterest?symbol=BTCUSDT")
    assert answer.status == 200 and list(answer.body) == ["openInterest", "symbol", "time"]
    assert answer.body["openInterest"] == fixed(positions.open_interest, 3)
    history = await get(plant, Market.UM, "/futures/data/openInterestHist?symbol=BTCUSDT&period=1h&limit=24")
    assert history.status == 200 and len(history.body) == 24
    assert history.body[-1]["timestamp"] <= clock.now_ms()
    coin = await get(plant, Market.CM, "/dapi/v1/openInterest?symbol=BTCUSD_PERP")
    assert coin.status == 200 and coin.body["pair"] == "BTCUSD" and coin.body["contractType"] == "PERPETUAL"
    coin_history = await get(plant, Market.CM, "/futures/data/openInterestHist?pair=BTCUSD&contractType=ALL&period=5m")
    assert coin_history.status == 200 and len(coin_history.body) == 30
    # trading moves it, and the view follows within a second
    first = answer.body["time"]
    for _ in range(10):
        await _trade_for(clock, source, 500)
    answer = await get(plant, Market.UM, "/fapi/v1/openInterest?symbol=BTCUSDT")
    assert first < answer.body["time"] <= clock.now_ms()
