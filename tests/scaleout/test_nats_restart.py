"""nats-server restarted under a plant and a gateway: both say they lost it meanwhile, both
reconnect, and the gateway's
client either sees its depth stream go on unbroken or is closed with 1012 (a lost frame)
and, reconnecting, syncs a chain from a book that is the plant's again."""

from __future__ import annotations

import asyncio
import itertools
import json
from typing import Any

import pytest
import websockets
from scaleout_setup import http_json, start_split, started, taken
from timing import SECONDS, eventually

from tickerplant.bus.nats import NatsAuth
from tickerplant.clock import ManualClock
from tickerplant.config import ServerConfig, SimulatorConfig
from tickerplant.market.instruments import Market
from tickerplant.scaleout.nats_server import EmbeddedNats

pytestmark = pytest.mark.loopback
__all__ = ["started"]  # the fixture: what the test started

CONFIG = ServerConfig(
    um_port=0, cm_port=0, admin_port=0, simulator=SimulatorConfig(actions_per_s=20_000.0, history_s=60.0, book_levels=20, steady_rate=True)
)
DEPTH = "btcusdt@depth@100ms"


async def test_after_nats_restarts_the_gateway_serves_the_plants_book_again(started: list[Any]) -> None:
    nats = EmbeddedNats()
    started.append(nats)
    url = await nats.start()
    clock = ManualClock()
    plant, (gateway,) = await start_split(CONFIG, url, clock, started, auth=NatsAuth(nats.token))
    start = clock.now_ms() - clock.now_ms() % 100
    events: list[dict[str, Any]] = []
    closed: list[int] = []

    async def follow() -> None:
        async with websockets.connect(gateway.url(Market.UM) + f"/ws/{DEPTH}", max_queue=None) as ws:
            try:
                async for frame in ws:
                    events.append(json.loads(frame))
            except websockets.ConnectionClosed:
                pass
            if ws.close_code is not None:
                closed.append(ws.close_code)

    following = asyncio.ensure_future(follow())
    await taken(plant, DEPTH)
    clock.set(start + 100)
    await eventually(lambda: bool(events), 10 * SECONDS)
    await nats.stop()
    # both say so: the plant is not connected, the gateway degraded (its status, its metrics)
    await eventually(lambda: gateway.degraded() == ["the NATS server is away"] and not plant.connected())
    for step in range(2, 12):  # the plant trades on while NATS is away
        clock.set(start + 100 * step)
        await asyncio.sleep(0)
    nats = EmbeddedNats(port=nats.port, token=nats.token)
    started.append(nats)
    await nats.start()
    await eventually(lambda: plant.connected() and gateway.degraded() == [], 20 * SECONDS)
    clock.set(start + 1200)  # a frame after the outage: a gap shows on it, if there was one
    theirs, ours = plant.views[Market.UM], gateway.listeners[Market.UM].view

    def agree() -> bool:
        """The plant has traded up to the clock (its pump may still have been at an earlier
        time, the books agreeing there), and the gateway's book is the plant's, at the same
        update id."""
        plants = theirs.book(theirs.symbols["BTCUSDT"]).last_update_id
        return theirs.symbols["BTCUSDT"].book_time_ms >= start + 1200 and bool(
            ours.book(ours.symbols["BTCUSDT"]).last_update_id == plants
        )

    await eventually(agree, 20 * SECONDS)
    depth = gateway.url(Market.UM) + "/fapi/v1/depth?symbol=BTCUSDT&limit=5"
    answer = await asyncio.to_thread(http_json, depth)
    assert answer["lastUpdateId"] == theirs.book(theirs.symbols["BTCUSDT"]).next_update_id  # reserved, §4.9
    if not following.done():
        following.cancel()
    # either the stream went on unbroken, or it was closed for the loss (never a broken chain)
    chain = [event for event in events if event.get("e") == "depthUpdate"]
    assert all(later["pu"] == earlier["u"] for earlier, later in itertools.pairwise(chain))
    assert closed in ([], [1012])
    assert closed == [] or gateway.losses >= 1
