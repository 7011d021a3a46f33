"""Over real sockets, the plants write what the listeners' clients hold (``market/demand.py``):
a stream a client names is held from its connection or SUBSCRIBE until its UNSUBSCRIBE or
close, on either market, and what it then gets is pushed on its cadence as before."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import websockets
from conftest import StartServer
from timing import SECONDS

from tickerplant.app import Tickerplant
from tickerplant.clock import ManualClock
from tickerplant.market.instruments import Market

BUSY = {"actions_per_s": 20_000.0}  # every candle and book moves in every 100 ms


async def _until(plant: Tickerplant, held: dict[str, bool]) -> None:
    """Wait (the server's loop turning, no clock moving) until each name is or is not held."""
    async with asyncio.timeout(5 * SECONDS):
        while any((name in plant.demand) != want for name, want in held.items()):
            await asyncio.sleep(0)


async def _next(ws: Any, stream: str, event_ms: int) -> dict[str, Any]:
    """The next message of ``stream`` pushed at ``event_ms`` (a combined stream's data)."""
    async with asyncio.timeout(5 * SECONDS):
        while True:
            message = json.loads(await ws.recv())
            if message.get("stream") == stream and message["data"]["E"] == event_ms:
                return dict(message["data"])


async def test_streams_are_written_while_held_and_pushed_on_their_cadence(start_server: StartServer) -> None:
    clock = ManualClock()
    plant = await start_server(clock=clock, simulator=BUSY)
    kline, depth5, mark = "btcusdt@kline_1m", "btcusdt@depth5@100ms", "btcusd_perp@markPrice@1s"
    assert not plant.demand, "nobody connected: only what the market views read is written"
    async with (
        websockets.connect(plant.url(Market.UM) + f"/stream?streams={kline}", max_queue=None) as um,
        websockets.connect(plant.url(Market.CM) + f"/stream?streams={mark}", max_queue=None) as cm,
    ):
        await _until(plant, {kline: True, mark: True, depth5: False})
        clock.advance(1000 - clock.now_ms() % 1000)  # a whole second: a kline and a mark push
        now = clock.now_ms()
        assert (await _next(um, kline, now))["k"]["i"] == "1m"
        assert (await _next(cm, mark, now))["s"] == "BTCUSD_PERP"
        await um.send(json.dumps({"method": "SUBSCRIBE", "params": [depth5], "id": 1}))
        await _until(plant, {depth5: True})
        clock.advance(100)
        assert len((await _next(um, depth5, clock.now_ms()))["b"]) == 5
        await um.send(json.dumps({"method": "UNSUBSCRIBE", "params": [kline], "id": 2}))
        await _until(plant, {kline: False, depth5: True, mark: True})
    await _until(plant, {kline: False, depth5: False, mark: False})
    assert not plant.demand
