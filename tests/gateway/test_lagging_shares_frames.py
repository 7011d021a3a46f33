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


async def test_a_lagging_connection_holds_its_frames_until_the_transport_has_sent_all(
    start_server: StartServer,
) -> None:
    """Once its transport has bytes unsent, a connection's frames wait in ``held``, the same
    bytes objects for every subscriber, and nothing more goes to the transport: one write
    request per drain, not one per loop iteration (each of which cost uvloop ~800 bytes of
    its own, per connection: a thousand clients that never read grew the process by 220 MB
    a second past the bound). When the client reads, everything arrives, in order."""
    clock = ManualClock()
    plant = await start_server(clock=clock, source=ScriptedMarket(clock), limits={"send_buffer_bytes": 64 * LAG})
    listener = plant.listeners[Market.UM]
    assert listener.streams is not None
    slow = [await RawWebSocket.connect(listener.port, "/ws/btcusdt@bookTicker", rcvbuf=4096) for _ in range(2)]
    first, second = sorted(listener.streams.connections, key=lambda c: c.id)
    healthy = await RawWebSocket.connect(listener.port, "/ws/btcusdt@bookTicker")
    update_id = 0

    async def one_more() -> None:
        nonlocal update_id
        update_id += 1
        publish(plant, Market.UM, "btcusdt@bookTicker", book_ticker("BTCUSDT", update_id, PADDING))
        assert (await healthy.recv(timeout=5 * SECONDS)).opcode == TEXT

    async with asyncio.timeout(20 * SECONDS):
        while not (first.held and second.held):
            await one_more()
    assert first.transport is not None
    in_transport = first.transport.underlying_transport.get_write_buffer_size()
    for _ in range(20):
        await one_more()
    assert first.transport.underlying_transport.get_write_buffer_size() == in_transport  # nothing more went there
    assert first.held[-20:] == second.held[-20:]
    assert all(a is b for a, b in zip(first.held[-20:], second.held[-20:], strict=True))  # shared, not copied
    assert first.unsent_bytes() >= in_transport + 20 * PADDING
    for ws in slow:  # reads everything now: every update, in order, and nothing stays held
        seen = []
        async with asyncio.timeout(20 * SECONDS):
            while len(seen) < update_id:
                frame = await ws.recv(timeout=5 * SECONDS)
                assert frame.opcode == TEXT
                seen.append(int(frame.payload.split(b'"u":')[1].split(b",")[0]))
        assert seen == list(range(1, update_id + 1))
    assert not first.held and not second.held
    assert listener.limit_counters.slow_consumer == 0
    for ws in slow:
        await ws.close()
    await healthy.close()
