"""Depth over real sockets (spec §4.9, §4.11, §6.1, §7.4): a `websockets` client keeps a
local book from `btcusdt@depth@100ms` and a REST snapshot by Binance's procedure and ends
equal to a later snapshot at the same update id; rpiDepth is the plain book."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import websockets
from conftest import StartServer
from local_book import assert_agrees, get, sync
from timing import SECONDS

from tickerplant.clock import ManualClock
from tickerplant.market.instruments import Market

# Busy enough that every symbol's book moves in every 100 ms the test lets pass.
BUSY = {"actions_per_s": 20_000.0}


async def test_a_local_book_from_diff_depth_and_a_snapshot_equals_a_later_snapshot(
    start_server: StartServer,
) -> None:
    clock = ManualClock()
    plant = await start_server(clock=clock, simulator=BUSY)
    async with websockets.connect(plant.url(Market.UM) + "/ws/btcusdt@depth@100ms", max_queue=None) as ws:
        snapshot, local = await sync(plant, clock, ws, "/fapi/v1/depth?symbol=BTCUSDT&limit=1000")
        headers, later = await get(plant, "/fapi/v1/depth?symbol=BTCUSDT&limit=1000")
        assert headers["X-MBX-USED-WEIGHT-1M"] == "40", "limit 1000 weighs 20 (§7.4)"
    assert_agrees(local, snapshot, later)
    async with websockets.connect(plant.url(Market.UM) + "/ws-fapi/v1") as api:
        await api.send('{"id":1,"method":"depth","params":{"symbol":"BTCUSDT","limit":1000}}')
        reply = json.loads(await api.recv())
    assert reply["rateLimits"][0]["count"] == 40 + 5 + 20  # the handshake costs 5 (§5.5)
    result = reply["result"]
    assert (result["lastUpdateId"], result["T"], result["bids"], result["asks"]) == (
        later["lastUpdateId"], later["T"], later["bids"], later["asks"]
    )  # fmt: skip


async def test_rpi_depth_is_the_plain_book_on_public_under_strict_routing(start_server: StartServer) -> None:
    clock = ManualClock()
    plant = await start_server(clock=clock, simulator=BUSY, strict_routing=True)
    streams = "btcusdt@rpiDepth@500ms/btcusdt@depth@500ms/btcusdt@depth5@500ms"
    async with websockets.connect(
        plant.url(Market.UM) + f"/public/stream?streams={streams}", max_queue=None
    ) as ws:
        clock.advance(500 - clock.now_ms() % 500)
        now = clock.now_ms()
        got: dict[str, dict[str, Any]] = {}
        async with asyncio.timeout(5 * SECONDS):
            while len(got) < 3:
                message = json.loads(await ws.recv())
                if message["data"]["E"] == now:
                    got[message["stream"]] = message["data"]
    assert got["btcusdt@rpiDepth@500ms"] == got["btcusdt@depth@500ms"]
    _, depth = await get(plant, "/fapi/v1/depth?symbol=BTCUSDT&limit=1000")
    headers, rpi = await get(plant, "/fapi/v1/rpiDepth?symbol=BTCUSDT")
    assert headers["X-MBX-USED-WEIGHT-1M"] == str(20 + 20)
    assert {k: v for k, v in rpi.items() if k != "E"} == {k: v for k, v in depth.items() if k != "E"}
    partial = got["btcusdt@depth5@500ms"]
    assert partial["u"] == depth["lastUpdateId"], "nothing moved since the push"
    assert (partial["b"], partial["a"]) == (depth["bids"][:5], depth["asks"][:5])
