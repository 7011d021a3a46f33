"""Depth over real sockets (spec §4.9, §4.11, §6.1, §7.4): a `websockets` client keeps a
local book from `btcusdt@depth@100ms` and a REST snapshot by Binance's procedure and ends
equal to a later snapshot of the same book, which syncs by the same procedure though
nothing moved since the last push; rpiDepth is the plain book."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
import websockets
from conftest import StartServer
from local_book import assert_agrees, get, quiet_sync, sync
from timing import SECONDS

from tickerplant.clock import ManualClock
from tickerplant.market.instruments import Market

# the depth answered and pushed, not how the listener moves it:
# on uvloop alone (tests/conftest.py); the listeners' and the client's own tests cover both loops
pytestmark = pytest.mark.uvloop_only

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
        await quiet_sync(ws, clock, later)  # the quiet moment's snapshot syncs too
    assert reply["rateLimits"][0]["count"] == 40 + 5 + 20  # the handshake costs 5 (§5.5)
    result = reply["result"]
    assert (result["lastUpdateId"], result["T"], result["bids"], result["asks"]) == (
        later["lastUpdateId"], later["T"], later["bids"], later["asks"]
    )  # fmt: skip


@pytest.mark.parametrize("market", [Market.UM, Market.CM])
async def test_a_local_book_from_real_time_diff_depth_equals_a_later_snapshot(
    start_server: StartServer, market: Market
) -> None:
    """`<symbol>@depth@0ms` (undocumented, served by fstream): an event at the end of every
    batch that moved the book, its own chain, and Binance's procedure syncs from it; its
    partial twin carries the top N at the same ids."""
    clock = ManualClock()
    plant = await start_server(clock=clock, simulator=BUSY)
    symbol, path = ("btcusdt", "/fapi/v1/depth") if market is Market.UM else ("btcusd_perp", "/dapi/v1/depth")
    streams = f"{symbol}@depth@0ms/{symbol}@depth5@0ms"
    async with websockets.connect(plant.url(market) + f"/stream?streams={streams}", max_queue=None) as ws:
        diffs = _only(ws, f"{symbol}@depth@0ms")
        snapshot, local = await sync(plant, clock, diffs, f"{path}?symbol={symbol.upper()}&limit=1000", market)
        _, later = await get(plant, f"{path}?symbol={symbol.upper()}&limit=1000", market)
        async with asyncio.timeout(5 * SECONDS):  # the last event's partial follows it
            while not diffs.others or diffs.others[-1]["data"]["u"] != local.update_id:
                diffs.others.append(json.loads(await ws.recv()))
        assert_agrees(local, snapshot, later)
        partials_before = len(diffs.others)
        await quiet_sync(diffs, clock, later)  # the quiet moment's snapshot syncs too
        del diffs.others[partials_before:]  # the partials of those pushes: past `later`
    partials = [m["data"] for m in diffs.others if m["stream"] == f"{symbol}@depth5@0ms"]
    assert len(partials) >= 20 and all(len(p["b"]) == len(p["a"]) == 5 for p in partials)
    assert (partials[-1]["b"], partials[-1]["a"]) == (later["bids"][:5], later["asks"][:5])


class _only:
    """A combined stream's messages of one name, as a raw connection would give them; the
    others kept aside."""

    def __init__(self, ws: Any, name: str) -> None:
        self.ws = ws
        self.name = name
        self.others: list[dict[str, Any]] = []

    async def recv(self) -> str:
        while True:
            message = json.loads(await self.ws.recv())
            if message["stream"] == self.name:
                return json.dumps(message["data"])
            self.others.append(message)


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
    # nothing moved since the push: the snapshot reports the id reserved for the next update
    assert partial["u"] < depth["lastUpdateId"]
    assert (partial["b"], partial["a"]) == (depth["bids"][:5], depth["asks"][:5])
