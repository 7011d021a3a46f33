"""A gateway started after its plant has run a while loads the plant's state of each
market, then follows the frames: its first answers are the early gateway's, and its
streams are the same bytes, the depth chain intact."""

from __future__ import annotations

import asyncio
import itertools
import json
from typing import Any

import pytest
import websockets
from nats_servers import nats_url
from scaleout_setup import http_json, start_split, started, until_depth_at
from timing import SECONDS, eventually

from tickerplant.bus.frames import Continuity, Verdict
from tickerplant.bus.nats import NatsBus
from tickerplant.clock import ManualClock
from tickerplant.config import ServerConfig, SimulatorConfig
from tickerplant.market.instruments import Market
from tickerplant.scaleout.gateway_process import GatewayProcess

pytestmark = pytest.mark.loopback
__all__ = ["nats_url", "started"]  # the fixtures: a real nats-server, what the test started

CONFIG = ServerConfig(
    um_port=0, cm_port=0, admin_port=0, simulator=SimulatorConfig(actions_per_s=20_000.0, history_s=60.0, book_levels=20, steady_rate=True)
)
DEPTH = "btcusdt@depth@100ms"
ANSWERS = (
    "/fapi/v1/depth?symbol=BTCUSDT&limit=20", "/fapi/v1/ticker/24hr?symbol=BTCUSDT",
    "/fapi/v1/ticker/bookTicker?symbol=ETHUSDT", "/fapi/v1/klines?symbol=BTCUSDT&interval=1m&limit=15",
    "/fapi/v1/aggTrades?symbol=BTCUSDT&limit=20", "/fapi/v1/premiumIndex?symbol=BTCUSDT",
)  # fmt: skip


async def test_a_late_gateway_answers_and_streams_as_the_early_one(nats_url: str, started: list[Any]) -> None:
    clock = ManualClock()
    _, (early,) = await start_split(CONFIG, nats_url, clock, started)
    start = clock.now_ms() - clock.now_ms() % 100
    async with websockets.connect(early.url(Market.UM) + f"/ws/{DEPTH}", max_queue=None) as ws:
        for step in range(1, 21):  # two seconds of trading the late gateway never saw
            clock.set(start + 100 * step)
            await until_depth_at(ws, start + 100 * step, [])
    late = GatewayProcess(CONFIG, await NatsBus.connect(nats_url, name="late gateway"), clock)
    started.append(late)
    async with asyncio.timeout(10 * SECONDS):
        await late.start()
    urls = [early.url(Market.UM), late.url(Market.UM)]
    for path in ANSWERS:
        answers = [await asyncio.to_thread(http_json, url + path) for url in urls]
        assert answers[1] == answers[0], path
    got: list[list[str]] = [[], []]
    async with (
        websockets.connect(urls[0] + f"/ws/{DEPTH}", max_queue=None) as one,
        websockets.connect(urls[1] + f"/ws/{DEPTH}", max_queue=None) as other,
    ):
        for step in range(21, 26):
            clock.set(start + 100 * step)
            await until_depth_at(one, start + 100 * step, got[0])
            await until_depth_at(other, start + 100 * step, got[1])
    assert got[1] == got[0]
    chain = [json.loads(frame) for frame in got[1]]
    assert all(later["pu"] == earlier["u"] for earlier, later in itertools.pairwise(chain))
    assert (late.losses, early.losses) == (0, 0)
    assert late.resyncs == 2  # one state a market, loaded once


async def test_a_lost_frame_closes_that_markets_streams_with_1012_and_reloads_the_state(
    nats_url: str, started: list[Any]
) -> None:
    clock = ManualClock()
    plant, (gateway,) = await start_split(CONFIG, nats_url, clock, started)
    start = clock.now_ms() - clock.now_ms() % 100
    um, cm = gateway.url(Market.UM), gateway.url(Market.CM)
    async with (
        websockets.connect(um + f"/ws/{DEPTH}", max_queue=None) as lossy,
        websockets.connect(cm + "/ws/btcusd_perp@depth@100ms", max_queue=None) as other,
    ):
        clock.set(start + 100)
        await until_depth_at(lossy, start + 100, [])
        await until_depth_at(other, start + 100, [])
        # what NatsBus reports when a sequence number is skipped (tests/bus/test_nats_bus.py)
        gateway.bus.on_loss(Market.UM, Verdict(Continuity.GAP, 3))
        async with asyncio.timeout(10 * SECONDS):
            with pytest.raises(websockets.ConnectionClosed) as closed:
                while True:
                    await lossy.recv()
        assert closed.value.rcvd is not None
        assert (closed.value.rcvd.code, closed.value.rcvd.reason) == (1012, "lost 3 frames from the plant")
        await eventually(lambda: gateway.resyncs == 3)  # both markets at the start, UM again
        clock.set(start + 200)
        await until_depth_at(other, start + 200, [])  # COIN-M's client never noticed
    async with websockets.connect(um + f"/ws/{DEPTH}", max_queue=None) as again:
        clock.set(start + 300)
        await until_depth_at(again, start + 300, [])  # UM's frames flow again, after the state
    answer = await asyncio.to_thread(http_json, um + ANSWERS[0])
    view = plant.views[Market.UM]  # the plant's own view, which the state came from
    # the id reserved for the book's next update (§4.9), which the state carried too
    assert answer["lastUpdateId"] == view.book(view.symbols["BTCUSDT"]).next_update_id
    assert gateway.losses == 1
