"""A replay at full speed waits for its clients within their send buffers' bounds: the rule
alone (``ConsumerWaits``), then a real server with a client that reads slower than the
replay makes events and one that stops reading."""

from __future__ import annotations

import asyncio
import dataclasses
import random
from pathlib import Path

import msgspec
import pytest
import websockets
from public_data import T0, UM_TRADES_HEADER, trades, trades_lines, write
from timing import SECONDS

from tickerplant.app import Tickerplant
from tickerplant.clock import SystemClock
from tickerplant.config import LimitsConfig, ReplayConfig, ServerConfig
from tickerplant.feeds import Backlog
from tickerplant.feeds.replay.player import ReplaySource
from tickerplant.feeds.replay.waits import ConsumerWaits
from tickerplant.market.instruments import Market

MIB = 1 << 20


def test_a_connection_over_half_its_bound_is_waited_for_until_it_is_back_under() -> None:
    waits = ConsumerWaits(patience_ms=1000)
    a, b = object(), object()
    assert not waits.waiting([Backlog(a, MIB // 2, MIB), Backlog(b, 10, MIB)], 0), "half: room for a batch"
    assert waits.waiting([Backlog(a, MIB // 2 + 1, MIB)], 0)
    assert waits.waiting([Backlog(a, 900_000, MIB)], 999), "within its patience"
    assert not waits.waiting([Backlog(a, 100, MIB)], 1600)
    assert waits.waiting([Backlog(a, 900_000, MIB)], 5000), "over again: waited for afresh"
    assert waits.given_up == 0 and waits.held == 3


def test_a_connection_not_back_under_in_its_patience_is_given_up_until_it_is() -> None:
    waits = ConsumerWaits(patience_ms=1000)
    stuck, other = object(), object()
    assert waits.waiting([Backlog(stuck, 900_000, MIB)], 0)
    assert waits.waiting([Backlog(stuck, 600_000, MIB)], 999), "reading, not yet under"
    assert not waits.waiting([Backlog(stuck, 600_000, MIB)], 1000), "not under its mark in its patience"
    assert not waits.waiting([Backlog(stuck, 950_000, MIB)], 5000)
    assert waits.given_up == 1
    # another connection behind is still waited for, the given-up one not
    assert waits.waiting([Backlog(stuck, 950_000, MIB), Backlog(other, 700_000, MIB)], 5001)
    assert not waits.waiting([Backlog(stuck, 950_000, MIB)], 5002)
    assert not waits.waiting([], 5003), "gone (cut off, or under its mark)"
    assert waits.waiting([Backlog(stuck, 950_000, MIB)], 5004), "over again: waited for afresh"
    assert waits.given_up == 1
    with pytest.raises(ValueError):
        ConsumerWaits(patience_ms=0)


# A small bound and small batches: a client falls behind its bound's half within a few
# batches, and one batch (~60 kB to a client of both streams) never passes the bound alone.
_LIMITS = LimitsConfig(send_buffer_bytes=MIB, close_timeout_s=0.5)
_TRADES = 25_000  # ~9 MB of frames to a client of @trade and @aggTrade: past any socket buffer
# The trades' times squeezed a hundredfold: the same frames in three minutes of the market
# instead of five hours, whose ticks (the plants' klines, tickers and marks, for streams nobody
# here holds) made half of each test's CPU
_SQUEEZE = 100


async def _server(folder: Path, patience_ms: int) -> Tickerplant:
    rows = trades(random.Random(5), _TRADES, T0, 42000.0, "0.1", "0.001")
    rows = [dataclasses.replace(row, time_ms=T0 + (row.time_ms - T0) // _SQUEEZE) for row in rows]
    write(folder, "BTCUSDT-trades-2024-01-01", UM_TRADES_HEADER, trades_lines(rows), zipped=True)
    replay = ReplayConfig(paths=(str(folder),), speed=None, paused=True, batch_events=256, progress=False)
    config = ServerConfig(um_port=0, cm_port=0, admin_port=0, limits=_LIMITS, replay=replay)
    clock = SystemClock()
    plant = Tickerplant(config, clock, ReplaySource(replay, clock, patience_ms=patience_ms))
    await plant.start()
    return plant


async def _read_all(ws: websockets.ClientConnection, slow: bool) -> list[int]:
    """Trade ids of the @trade frames until the close; ``slow``: every 200 frames it gives
    the loop 20 turns without reading (the replay makes a batch a turn), so it reads slower
    than the replay makes them, and catches up meanwhile: a pace in the loop's turns, not in
    real time. (No
    pings from the client: its ping's answer waits behind megabytes it reads slowly.)"""
    ids = []
    count = 0
    with pytest.raises(websockets.ConnectionClosedOK):
        while True:
            message = msgspec.json.decode(await asyncio.wait_for(ws.recv(decode=False), 10 * SECONDS))
            if message["stream"] == "btcusdt@trade":
                ids.append(message["data"]["t"])
            count += 1
            if slow and count % 200 == 0:
                for _ in range(20):
                    await asyncio.sleep(0)
    return ids


@pytest.mark.timeout(120)
async def test_a_slow_client_that_keeps_up_on_average_gets_everything_in_order(tmp_path: Path) -> None:
    plant = await _server(tmp_path, patience_ms=10_000)  # a loaded machine's pauses
    try:
        url = f"{plant.url(Market.UM)}/stream?streams=btcusdt@trade/btcusdt@aggTrade"
        async with websockets.connect(url, max_size=None, max_queue=4, ping_interval=None) as ws:
            plant.source.resume()  # type: ignore[attr-defined]
            ids = await _read_all(ws, slow=True)
        assert ws.close_code == 1000 and ws.close_reason == "Replay finished"
        assert len(ids) == _TRADES and ids == sorted(ids) and len(set(ids)) == _TRADES
        waits = plant.source.waits  # type: ignore[attr-defined]
        assert waits.held > 0, "the replay waited for the client"
        assert waits.given_up == 0
        assert plant.listeners[Market.UM].limit_counters.slow_consumer == 0
    finally:
        await plant.close()


@pytest.mark.timeout(120)
async def test_a_client_that_stops_reading_is_cut_off_and_holds_the_others_back_only_a_while(
    tmp_path: Path,
) -> None:
    plant = await _server(tmp_path, patience_ms=3000)
    try:
        url = f"{plant.url(Market.UM)}/stream?streams=btcusdt@trade/btcusdt@aggTrade"
        async with (
            websockets.connect(url, max_size=None, max_queue=1, ping_interval=None) as stuck,
            websockets.connect(url, max_size=None, max_queue=4, ping_interval=None) as reader,
        ):
            plant.source.resume()  # type: ignore[attr-defined]
            ids = await _read_all(reader, slow=False)  # stuck reads nothing meanwhile
            assert reader.close_code == 1000 and reader.close_reason == "Replay finished"
            assert len(ids) == _TRADES and ids == sorted(ids)
            waits = plant.source.waits  # type: ignore[attr-defined]
            assert waits.given_up == 1, "the stopped client was waited for, then not"
            assert plant.listeners[Market.UM].limit_counters.slow_consumer == 1, "cut past its bound"
            with pytest.raises(websockets.ConnectionClosed) as closed:
                while True:
                    await asyncio.wait_for(stuck.recv(decode=False), 10 * SECONDS)
            assert closed.value.rcvd is None or closed.value.rcvd.code == 1008
        await asyncio.wait_for(plant.done.wait(), 10 * SECONDS)
    finally:
        await plant.close()
