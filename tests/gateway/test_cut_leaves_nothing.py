"""What a wave of slow-consumer cuts leaves behind in the server: nothing of the connections.
Once cut off and aborted after the close timeout (on a ManualClock), every one of them is
gone from the listener's connections and the fan-out's routes, and is freed: no table,
timer, log budget or record keeps the connection (or its transport) alive."""

from __future__ import annotations

import gc
import weakref

from conftest import StartServer
from rawws import RawWebSocket
from scripted_market import ScriptedMarket, round_trip
from test_slow_consumer import LIMIT, STREAM, Scene
from timing import eventually

from tickerplant.clock import ManualClock
from tickerplant.gateway.market_streams import StreamConnection
from tickerplant.market.instruments import Market

CUT = 8  # slow consumers cut in the wave


async def test_cut_consumers_are_freed_once_aborted(start_server: StartServer) -> None:
    clock = ManualClock()
    plant = await start_server(
        clock=clock, source=ScriptedMarket(clock), limits={"send_buffer_bytes": LIMIT, "close_timeout_s": 5.0}
    )
    listener = plant.listeners[Market.UM]
    assert listener.streams is not None
    market = Scene(plant, clock)
    slow = [await RawWebSocket.connect(listener.port, STREAM, rcvbuf=4096) for _ in range(CUT)]
    connections: list[StreamConnection] = list(listener.streams.connections)
    healthy = await RawWebSocket.connect(listener.port, STREAM)
    assert len(connections) == CUT
    counters = listener.limit_counters
    await market.fill_until(healthy, lambda: counters.slow_consumer == CUT)
    assert all(c.closing for c in connections)
    freed = [weakref.ref(c) for c in connections]
    transports = [weakref.ref(c.transport) for c in connections if c.transport is not None]
    del connections
    clock.advance(5_000)  # the close timeout: they took nothing, they are aborted
    await eventually(lambda: len(listener.streams.connections) == 1)  # the healthy one
    await round_trip(healthy)
    assert sum(listener.streams.fanout.subscriptions().values()) == 1
    # A ManualClock holds a cancelled timer's callback until its time comes (an event loop's
    # timer lets go of it at once): past the keep-alive deadlines they had, the next ping.
    clock.advance(180_000)
    await round_trip(healthy)
    gc.collect()
    assert [ref() for ref in freed] == [None] * CUT
    assert [ref() for ref in transports] == [None] * CUT
    assert listener.limit_counters.close_timeout == CUT
    for ws in slow:
        await ws.close()
    await healthy.close()
