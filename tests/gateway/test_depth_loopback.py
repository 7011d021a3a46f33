"""Depth over real sockets (spec §4.9, §4.11, §6.1, §7.4): a `websockets` client keeps a
local book from `btcusdt@depth@100ms` and a REST snapshot by Binance's procedure and ends
equal to a later snapshot at the same update id; rpiDepth is the plain book."""

from __future__ import annotations

import asyncio
import json
import urllib.error
import urllib.request
from typing import Any

import websockets
from conftest import StartServer
from timing import SECONDS

from tickerplant.app import Tickerplant
from tickerplant.clock import ManualClock
from tickerplant.market.instruments import Market

# Busy enough that every symbol's book moves in every 100 ms the test lets pass.
BUSY = {"actions_per_s": 20_000.0}


async def get(plant: Tickerplant, path: str) -> tuple[dict[str, str], Any]:
    url = plant.url(Market.UM).replace("ws://", "http://") + path

    def fetch() -> tuple[dict[str, str], Any]:
        with urllib.request.urlopen(url, timeout=10 * SECONDS) as response:
            return dict(response.headers), json.loads(response.read())

    return await asyncio.get_running_loop().run_in_executor(None, fetch)


async def event_at(ws: Any, now_ms: int, into: list[dict[str, Any]]) -> dict[str, Any]:
    """Buffer events until the one pushed at ``now_ms`` (a speed's boundary) arrives."""
    async with asyncio.timeout(5 * SECONDS):
        while True:
            message = json.loads(await ws.recv())
            data = message.get("data", message)
            into.append(data)
            if data["E"] >= now_ms:
                return data


class LocalBook:
    """Spec §4.9 steps 3–6 over buffered events, from a REST snapshot (step 2)."""

    def __init__(self, snapshot: dict[str, Any]) -> None:
        self.bids = {float(p): q for p, q in snapshot["bids"]}
        self.asks = {float(p): q for p, q in snapshot["asks"]}
        self.update_id: int = snapshot["lastUpdateId"]
        self.previous_u: int | None = None

    def apply(self, event: dict[str, Any]) -> None:
        if event["u"] < self.update_id:
            return  # step 3
        if self.previous_u is None:  # step 4
            assert event["U"] <= self.update_id <= event["u"], (event["U"], self.update_id, event["u"])
        else:
            assert event["pu"] == self.previous_u, "step 5: the chain holds"
        for side, levels in ((self.bids, event["b"]), (self.asks, event["a"])):
            for price, qty in levels:  # step 6: absolute quantities, 0 removes
                if float(qty) == 0:
                    side.pop(float(price), None)
                else:
                    side[float(price)] = qty
        self.update_id = self.previous_u = event["u"]


def levels(snapshot: dict[str, Any]) -> tuple[list[tuple[float, str]], list[tuple[float, str]]]:
    return [(float(p), q) for p, q in snapshot["bids"]], [(float(p), q) for p, q in snapshot["asks"]]


async def test_a_local_book_from_diff_depth_and_a_snapshot_equals_a_later_snapshot(
    start_server: StartServer,
) -> None:
    clock = ManualClock()
    plant = await start_server(clock=clock, simulator=BUSY)
    async with websockets.connect(plant.url(Market.UM) + "/ws/btcusdt@depth@100ms", max_queue=None) as ws:
        buffered: list[dict[str, Any]] = []  # step 1: subscribed, buffering
        clock.advance(30)  # the book moves between pushes: the snapshot falls inside an event
        _, snapshot = await get(plant, "/fapi/v1/depth?symbol=BTCUSDT&limit=1000")  # step 2
        local = LocalBook(snapshot)
        applied = 0
        while applied < 20:
            clock.advance(100 - clock.now_ms() % 100)
            await event_at(ws, clock.now_ms(), buffered)
            for event in buffered:
                local.apply(event)
                applied += event["u"] >= snapshot["lastUpdateId"]
            buffered.clear()
        headers, later = await get(plant, "/fapi/v1/depth?symbol=BTCUSDT&limit=1000")
        assert headers["X-MBX-USED-WEIGHT-1M"] == "40", "limit 1000 weighs 20 (§7.4)"
    assert later["lastUpdateId"] == local.update_id, "nothing moved since the last push"
    # A local book knows the levels its snapshot held and every level that changed since:
    # it is exact down to the snapshot's deepest prices. Deeper levels that never changed,
    # and that a later limit=1000 answer reaches because the book shifted, it cannot know:
    # so it is with Binance's books too.
    lowest_bid = min(float(p) for p, _ in snapshot["bids"])
    highest_ask = max(float(p) for p, _ in snapshot["asks"])
    bids, asks = levels(later)
    known_bids = sorted(((p, q) for p, q in local.bids.items() if p >= lowest_bid), reverse=True)
    known_asks = sorted((p, q) for p, q in local.asks.items() if p <= highest_ask)
    assert [level for level in bids if level[0] >= lowest_bid] == known_bids[: len(bids)]
    assert [level for level in asks if level[0] <= highest_ask] == known_asks[: len(asks)]
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
