"""A plant and a gateway joined by a real nats-server, in this process on separate
connections: a client on the gateway receives the bytes a single-process server sends
for the same seed and the same clock, and the gateway's views answer as its views do."""

from __future__ import annotations

import asyncio
import dataclasses
import itertools
import json
import urllib.request
from collections.abc import AsyncIterator
from typing import Any

import pytest
import websockets
from conftest import StartServer
from nats_servers import nats_url
from timing import SECONDS

from tickerplant.app import Tickerplant
from tickerplant.bus.nats import NatsBus
from tickerplant.clock import ManualClock
from tickerplant.config import ServerConfig
from tickerplant.market.instruments import Market
from tickerplant.scaleout.gateway_process import GatewayProcess
from tickerplant.scaleout.plant_process import PlantProcess

pytestmark = pytest.mark.loopback
__all__ = ["nats_url"]  # the fixture: a real nats-server for the test

BUSY = {"actions_per_s": 20_000.0, "history_s": 60.0}  # every 100 ms moves BTCUSDT's book
STREAMS = "btcusdt@depth@100ms/btcusdt@bookTicker/btcusdt@aggTrade/ethusdt@depth5@100ms"


@pytest.fixture
async def split(nats_url: str) -> AsyncIterator[list[Any]]:
    """Started plant and gateway processes' objects, closed after the test."""
    started: list[Any] = []
    yield started
    for process in reversed(started):
        await process.close()


async def _split_server(
    config: ServerConfig, nats_url: str, clock: ManualClock, started: list[Any]
) -> GatewayProcess:
    gateway = GatewayProcess(config, await NatsBus.connect(nats_url, name="gateway"), clock)
    started.append(gateway)
    # the gateway first: it waits for the plant's listing, subscribed already
    waiting = asyncio.ensure_future(gateway.start())
    plant = PlantProcess(config, await NatsBus.connect(nats_url, name="plant"), clock)
    started.append(plant)
    await plant.start()
    async with asyncio.timeout(10 * SECONDS):
        await waiting
    return gateway


def _http(url: str) -> Any:
    with urllib.request.urlopen(url.replace("ws://", "http://"), timeout=10 * SECONDS) as response:
        return json.loads(response.read())


async def _until_depth_at(ws: Any, when_ms: int, into: list[str]) -> None:
    """Frames into ``into`` until BTCUSDT's diff depth pushed at ``when_ms``."""
    async with asyncio.timeout(10 * SECONDS):
        while True:
            frame = await ws.recv()
            into.append(frame)
            message = json.loads(frame)
            if message["stream"] == "btcusdt@depth@100ms" and message["data"]["E"] >= when_ms:
                return


async def test_a_gateway_sends_what_one_process_sends_for_the_same_seed(
    start_server: StartServer, nats_url: str, split: list[Any]
) -> None:
    single_clock, split_clock = ManualClock(), ManualClock()
    single: Tickerplant = await start_server(clock=single_clock, simulator=BUSY)
    config = dataclasses.replace(single.config)
    gateway = await _split_server(config, nats_url, split_clock, split)
    urls = [single.url(Market.UM), gateway.url(Market.UM)]
    got: list[list[str]] = [[], []]
    async with (
        websockets.connect(urls[0] + f"/stream?streams={STREAMS}", max_queue=None) as one,
        websockets.connect(urls[1] + f"/stream?streams={STREAMS}", max_queue=None) as other,
    ):
        start = single_clock.now_ms()
        assert split_clock.now_ms() == start
        for step in range(1, 11):  # in lockstep: each server's source sees the same times
            when = start - start % 100 + 100 * step
            single_clock.set(when)
            split_clock.set(when)
            await _until_depth_at(one, when, got[0])
            await _until_depth_at(other, when, got[1])
    # what both pushed after the clients subscribed (at the start time, a race of each's own)
    after = [[f for f in frames if json.loads(f)["data"]["E"] > start] for frames in got]
    assert len(after[0]) > 40
    assert after[1] == after[0]
    chain = [json.loads(f)["data"] for f in after[1] if '"stream":"btcusdt@depth@100ms"' in f]
    assert all(later["pu"] == earlier["u"] for earlier, later in itertools.pairwise(chain))
    # the gateway's views, built over NATS, answer as the single process's
    for path in ("/fapi/v1/depth?symbol=BTCUSDT&limit=20", "/fapi/v1/ticker/24hr?symbol=BTCUSDT",
                 "/fapi/v1/ticker/bookTicker?symbol=ETHUSDT", "/fapi/v1/klines?symbol=BTCUSDT&interval=1m&limit=5"):  # fmt: skip
        answers = [await asyncio.to_thread(_http, url + path) for url in urls]
        assert answers[1] == answers[0], path
    assert gateway.losses == 0
