"""A plant and a gateway joined by a real nats-server, in this process on separate
connections: a client on the gateway receives the bytes a single-process server sends
for the same seed and the same clock, and the gateway's views answer as its views do."""

from __future__ import annotations

import asyncio
import dataclasses
import itertools
import json
from typing import Any

import pytest
import websockets
from conftest import StartServer
from nats_servers import nats_url
from scaleout_setup import http_json, start_split, started, until_depth_at

from tickerplant.app import Tickerplant
from tickerplant.clock import ManualClock
from tickerplant.market.instruments import Market

pytestmark = pytest.mark.loopback
__all__ = ["nats_url", "started"]  # the fixtures: a real nats-server, what the test started

BUSY = {"actions_per_s": 20_000.0, "history_s": 60.0}  # every 100 ms moves BTCUSDT's book
DEPTH = "btcusdt@depth@100ms"
STREAMS = f"{DEPTH}/btcusdt@bookTicker/btcusdt@aggTrade/ethusdt@depth5@100ms"


async def test_a_gateway_sends_what_one_process_sends_for_the_same_seed(
    start_server: StartServer, nats_url: str, started: list[Any]
) -> None:
    single_clock, split_clock = ManualClock(), ManualClock()
    single: Tickerplant = await start_server(clock=single_clock, simulator=BUSY)
    config = dataclasses.replace(single.config)
    _, (gateway,) = await start_split(config, nats_url, split_clock, started)
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
            await until_depth_at(one, when, got[0], DEPTH)
            await until_depth_at(other, when, got[1], DEPTH)
    # what both pushed after the clients subscribed (at the start time, a race of each's own)
    after = [[f for f in frames if json.loads(f)["data"]["E"] > start] for frames in got]
    assert len(after[0]) > 40
    assert after[1] == after[0]
    chain = [json.loads(f)["data"] for f in after[1] if '"stream":"btcusdt@depth@100ms"' in f]
    assert all(later["pu"] == earlier["u"] for earlier, later in itertools.pairwise(chain))
    # the gateway's views, built over NATS, answer as the single process's
    for path in ("/fapi/v1/depth?symbol=BTCUSDT&limit=20", "/fapi/v1/ticker/24hr?symbol=BTCUSDT",
                 "/fapi/v1/ticker/bookTicker?symbol=ETHUSDT", "/fapi/v1/klines?symbol=BTCUSDT&interval=1m&limit=5"):  # fmt: skip
        answers = [await asyncio.to_thread(http_json, url + path) for url in urls]
        assert answers[1] == answers[0], path
    assert gateway.losses == 0
