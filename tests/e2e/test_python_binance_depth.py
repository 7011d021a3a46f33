"""python-binance's futures depth cache (`FuturesDepthCacheManager`, 1.0.37) against
tickerplant (spec §4.8, §10.2).

This version keeps no book of its own: it subscribes `<symbol>@depth10` (250 ms partial
depth, on `/public/stream`) and each push replaces its bids and asks. No REST snapshot, no
`U`/`u`/`pu` checks: Binance's local-book procedure (§4.9) is not what it runs. Its cache
must then be the top 10 of a REST snapshot at the same update id.
"""

from __future__ import annotations

import asyncio
import json
import urllib.request
from typing import Any

from binance import AsyncClient
from binance.ws.depthcache import FuturesDepthCacheManager
from conftest import StartServer
from test_ccxt import record
from test_python_binance import client_for, clients, sockets_for
from timing import SECONDS, eventually

from tickerplant.app import Tickerplant
from tickerplant.clock import ManualClock
from tickerplant.market.instruments import Market

__all__ = ["clients"]  # the fixture, shared with test_python_binance

SPEED_MS = 250  # @depth10 has no speed suffix: 250 ms (§4.14)
PUSHES = 5


async def snapshot(plant: Tickerplant, limit: int) -> dict[str, Any]:
    url = plant.url(Market.UM).replace("ws://", "http://") + f"/fapi/v1/depth?symbol=BTCUSDT&limit={limit}"

    def fetch() -> dict[str, Any]:
        with urllib.request.urlopen(url, timeout=10 * SECONDS) as response:
            answer: dict[str, Any] = json.loads(response.read())
            return answer

    return await asyncio.to_thread(fetch)


def floats(levels: list[list[str]]) -> list[list[float]]:
    return [[float(price), float(qty)] for price, qty in levels]


async def test_futures_depth_cache_is_the_snapshots_top_10(start_server: StartServer, clients: list[AsyncClient]) -> None:
    clock = ManualClock()
    plant = await start_server(clock=clock)
    events = record(plant, Market.UM, "btcusdt@depth10")

    async def push() -> bool:
        """Advance to the next 250 ms boundary; True if the book moved and was pushed."""
        seen = len(events)
        clock.advance(SPEED_MS - clock.now_ms() % SPEED_MS)
        await eventually(lambda: plant.plants[Market.UM].next_tick_ms > clock.now_ms())
        return len(events) > seen

    manager = FuturesDepthCacheManager(
        await client_for(plant, clients), "BTCUSDT", refresh_interval=0, bm=sockets_for(plant, clients[-1])
    )
    await manager.__aenter__()  # connected: the stream is named in the URL, so it is subscribed
    try:
        checked = 0
        reserved: int | None = None  # the last snapshot's id
        async with asyncio.timeout(10 * SECONDS):
            while checked < PUSHES:
                if not await push():
                    continue  # nothing moved in these 250 ms: nothing pushed (§4.8)
                cache = await manager.recv()
                event = events[-1]
                assert cache.update_time == event["E"] == clock.now_ms()
                # §4.9: a snapshot reports the id reserved for the update after the book's,
                # where the next push starts (U > pu)
                assert event["U"] == (reserved or event["U"]) > event["pu"]
                book = await snapshot(plant, 1000)  # the clock is still: the book of that push
                assert book["lastUpdateId"] > event["u"]
                reserved = book["lastUpdateId"]
                assert (cache.get_bids(), cache.get_asks()) == (floats(book["bids"][:10]), floats(book["asks"][:10]))
                checked += 1
    finally:
        # Its read loop notices the exit only when a message arrives (or after 10 s of
        # silence, its TIMEOUT): keep the pushes coming until it has gone.
        leaving = asyncio.ensure_future(manager.__aexit__(None, None, None))
        async with asyncio.timeout(10 * SECONDS):
            while not leaving.done():
                await push()
                await asyncio.sleep(0)
        await leaving
