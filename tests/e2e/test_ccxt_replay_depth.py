"""ccxt's `watch_order_book` against a replay of a recording: it syncs from the replaying
server's REST snapshot and the replayed `@depth@100ms` diffs, stays in sync to the end of
the recording, and ends equal to a snapshot at the same update id."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import msgspec
import pytest
from conftest import StartServer
from recording_clocked import record_clocked
from test_ccxt import usdm
from timing import SECONDS, eventually

from tickerplant.app import Tickerplant
from tickerplant.client.endpoints import fetch
from tickerplant.client.orderbook import DepthSnapshot
from tickerplant.clock import ManualClock
from tickerplant.config import ReplayConfig, ServerConfig
from tickerplant.feeds.replay.player import ReplaySource
from tickerplant.market.instruments import Market
from tickerplant.market.payloads.events import DepthUpdate
from tickerplant.protocol.endpoints import rest_base
from tickerplant.recording.format import Recorded
from tickerplant.recording.reading import read_recording

BOOK = "btcusdt@depth@100ms"


@pytest.fixture
async def replaying() -> AsyncIterator[list[Tickerplant]]:
    started: list[Tickerplant] = []
    yield started
    for plant in started:
        await plant.close()


async def test_ccxt_watch_order_book_syncs_against_a_replay(
    start_server: StartServer, tmp_path: Path, replaying: list[Tickerplant]
) -> None:
    clock = ManualClock()
    upstream = await start_server(clock=clock, simulator={"actions_per_s": 400.0})
    files = await record_clocked(upstream, clock, Market.UM, [BOOK], tmp_path, messages=25, snapshots=1)
    diffs = [i.data for path in files for i in read_recording(path)[1] if isinstance(i, Recorded)]
    last_u = msgspec.json.decode(diffs[-1], type=DepthUpdate[Decimal]).final_update_id

    config = ServerConfig(um_port=0, cm_port=0, admin_port=0, replay=ReplayConfig(paths=(str(tmp_path),), speed=2.0, paused=True))
    plant = Tickerplant(config)
    replaying.append(plant)
    await plant.start()
    source = plant.source
    assert isinstance(source, ReplaySource)
    view = plant.listeners[Market.UM].view
    symbol = view.symbol("BTCUSDT")
    assert symbol is not None
    # Into the replay until the recorded book is synced, then held while ccxt subscribes
    # and takes its snapshot: the next replayed event follows straight on it (pu == id).
    source.resume()
    await eventually(lambda: view.book(symbol).last_update_id > 0, 10 * SECONDS)
    source.pause()
    exchange = usdm(plant)
    try:
        book: Any = await asyncio.wait_for(exchange.watch_order_book("BTC/USDT:USDT"), 10 * SECONDS)
        first = book["nonce"]
        assert first == view.book(symbol).last_update_id, "the snapshot is where the replay stands"
        source.resume()
        updates = 0
        async with asyncio.timeout(20 * SECONDS):
            while book["nonce"] < last_u:
                book = await exchange.watch_order_book("BTC/USDT:USDT")
                updates += 1
        ours = msgspec.json.decode(
            await fetch(f"{rest_base(plant.url(Market.UM))}/fapi/v1/depth?symbol=BTCUSDT&limit=1000"),
            type=DepthSnapshot,
        )
    finally:
        await exchange.close()
    assert updates >= 5, (first, last_u)
    assert book["nonce"] == ours.last_update_id == last_u
    assert book["bids"][: len(ours.bids)] == [[float(p), float(q)] for p, q in ours.bids]
    assert book["asks"][: len(ours.asks)] == [[float(p), float(q)] for p, q in ours.asks]
