"""Slow consumers of the same streams hold the frames the fan-out shares, not a copy each:
a connection that lags has each batch's frames queued as they are (``writelines``), so ten
of them falling behind on two streams hold about what one does. (Joined into one write per
connection, each held its own copy of every batch, made while it fell behind and freed when
it was cut: after a wave of cuts, the allocator's heap was left fragmented.)

On uvloop, which keeps the bytes objects it is given; asyncio's transport joins them."""

from __future__ import annotations

import asyncio
import tracemalloc

import pytest
import uvloop
from conftest import StartServer
from rawws import TEXT, RawWebSocket
from scripted_market import ScriptedMarket, book_ticker, publish
from timing import SECONDS

from tickerplant.clock import ManualClock
from tickerplant.gateway import market_streams
from tickerplant.market.instruments import Market

SLOW = 10
STREAMS = "/stream?streams=btcusdt@bookTicker/ethusdt@bookTicker"
PADDING = 16 * 1024
LAG = 512 * 1024  # unsent bytes each slow consumer reaches


async def test_lagging_consumers_share_their_queued_frames(start_server: StartServer) -> None:
    if not isinstance(asyncio.get_running_loop(), uvloop.Loop):
        pytest.skip("asyncio's transport joins what writelines is given")
    clock = ManualClock()
    plant = await start_server(clock=clock, source=ScriptedMarket(clock), limits={"send_buffer_bytes": 8 * LAG})
    listener = plant.listeners[Market.UM]
    assert listener.streams is not None
    slow = [await RawWebSocket.connect(listener.port, STREAMS, rcvbuf=4096) for _ in range(SLOW)]
    connections = list(listener.streams.connections)
    healthy = await RawWebSocket.connect(listener.port, STREAMS)
    tracemalloc.start()
    try:
        update_id = 0
        async with asyncio.timeout(20 * SECONDS):
            while min(c.unsent_bytes() for c in connections) < LAG:
                update_id += 1
                for symbol in ("BTCUSDT", "ETHUSDT"):  # one batch: both frames in one flush
                    publish(plant, Market.UM, f"{symbol.lower()}@bookTicker", book_ticker(symbol, update_id, PADDING))
                for _ in range(2):
                    assert (await healthy.recv(timeout=5 * SECONDS)).opcode == TEXT
        # what the connections made for themselves and still hold: the batches they joined
        mine = tracemalloc.Filter(True, market_streams.__file__)
        held = sum(stat.size for stat in tracemalloc.take_snapshot().filter_traces([mine]).statistics("filename"))
    finally:
        tracemalloc.stop()
    unsent = sum(c.unsent_bytes() for c in connections)
    assert listener.limit_counters.slow_consumer == 0
    assert unsent >= SLOW * LAG
    # joined for each, the batches they hold would be about all they hold unsent (the rest
    # of it in the kernel's send buffers); shared, only what they joined before they lagged
    assert held < unsent / 8
    for ws in slow:
        await ws.close()
    await healthy.close()
