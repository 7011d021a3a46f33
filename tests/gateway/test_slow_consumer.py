"""A slow consumer over a real socket: cut off when its send buffer would pass its bound, it
receives nothing more, takes its close frame once it has read what was queued before it,
and is aborted only when it stops reading for the close timeout (on a ManualClock)."""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Callable

import pytest
from conftest import StartServer
from rawws import CLOSE, TEXT, Frame, RawWebSocket, close_code
from scripted_market import ScriptedMarket, book_ticker, publish, round_trip
from timing import SECONDS, eventually

from tickerplant.app import Tickerplant
from tickerplant.clock import ManualClock
from tickerplant.gateway.market_streams import StreamConnection
from tickerplant.market.instruments import Market
from tickerplant.protocol.errors import CLOSE_SLOW_CONSUMER

LIMIT = 64 * 1024
CLOSE_ROOM = 2 + 2 + 125  # the largest close frame a server sends (RFC 6455 §5.2, §5.5)
STREAM = "/ws/btcusdt@bookTicker"
AFTER_THE_CUT = 1_000_000  # the update id published once the consumer is cut off


class Scene:
    """A scripted server, one slow consumer (a 4 KiB receive buffer) and a healthy one."""

    def __init__(self, plant: Tickerplant, clock: ManualClock) -> None:
        self.plant = plant
        self.clock = clock
        self.update_id = 0

    def publish(self, update_id: int | None = None) -> bytes:
        if update_id is None:
            self.update_id += 1
            update_id = self.update_id
        payload = book_ticker("BTCUSDT", update_id, padding=16 * 1024)
        publish(self.plant, Market.UM, "btcusdt@bookTicker", payload)
        return payload

    async def fill_until(self, healthy: RawWebSocket, done: Callable[[], bool]) -> None:
        """Publish 16 KiB book tickers, each read by ``healthy``, until ``done()``."""
        async with asyncio.timeout(10 * SECONDS):
            while not done():
                payload = self.publish()
                assert await healthy.recv(timeout=5 * SECONDS) == Frame(TEXT, payload)


async def a_market(start_server: StartServer, **limits: float) -> tuple[Scene, StreamConnection, RawWebSocket, RawWebSocket]:
    clock = ManualClock()
    plant = await start_server(
        clock=clock, source=ScriptedMarket(clock), limits={"send_buffer_bytes": LIMIT, **limits}
    )
    listener = plant.listeners[Market.UM]
    assert listener.streams is not None
    slow = await RawWebSocket.connect(listener.port, STREAM, rcvbuf=4096)
    (connection,) = listener.streams.connections
    healthy = await RawWebSocket.connect(listener.port, STREAM)
    return Scene(plant, clock), connection, slow, healthy


async def frames_to_the_end(ws: RawWebSocket) -> list[Frame]:
    """Every frame until the server closes the TCP connection; a truncated frame fails."""
    frames = []
    async with asyncio.timeout(10 * SECONDS):
        while not ws.reader.at_eof():
            try:
                frames.append(await ws.recv())
            except asyncio.IncompleteReadError as eof:
                assert eof.partial == b"", f"a truncated frame after {len(frames)} frames"
    return frames


async def test_a_cut_off_consumer_reads_what_was_queued_then_its_close_frame(
    start_server: StartServer, caplog: pytest.LogCaptureFixture
) -> None:
    market, connection, slow, healthy = await a_market(start_server, close_timeout_s=5.0)
    with caplog.at_level(logging.WARNING, logger="tickerplant"):
        await market.fill_until(healthy, lambda: connection.closing)
    # The operator's line says what passed the bound: what it held unsent (the frames held
    # and the transport's buffer) and what was to be sent, together past the limit.
    (line,) = [r.getMessage() for r in caplog.records if "Slow consumer" in r.getMessage()]
    unsent, more, limit = map(int, re.search(r"(\d+) bytes unsent, (\d+) more to send \(limit (\d+)\)", line).groups())
    assert limit == LIMIT and unsent + more > LIMIT, line
    # Held within its bound, and the close frame's room, from the cut on.
    assert connection.unsent_bytes() <= LIMIT + CLOSE_ROOM
    market.publish(AFTER_THE_CUT)  # nothing more is queued for it
    assert (await healthy.recv()).payload == book_ticker("BTCUSDT", AFTER_THE_CUT, padding=16 * 1024)
    assert connection.unsent_bytes() <= LIMIT + CLOSE_ROOM
    # It reads slowly: some frames, then 4 s pass, three times (longer than the close
    # timeout in all), and it is still waited for since it keeps taking what is queued.
    frames = []
    for _ in range(3):
        before = connection.unsent_bytes()
        while connection.unsent_bytes() == before and before > 0:
            frames.append(await slow.recv())
            await asyncio.sleep(0)
        market.clock.advance(4_000)
        await round_trip(healthy)
    frames += await frames_to_the_end(slow)
    *data, last = frames
    assert last.opcode == CLOSE and close_code(last) == CLOSE_SLOW_CONSUMER
    assert {f.opcode for f in data} == {TEXT}
    assert b'"u":%d,' % AFTER_THE_CUT not in b"".join(f.payload for f in data)
    transport = connection.transport
    assert transport is not None
    await eventually(lambda: transport.is_disconnected)
    counted = market.plant.listeners[Market.UM].limit_counters
    assert (counted.slow_consumer, counted.close_timeout) == (1, 0)  # it took its close frame
    # The others go on.
    payload = market.publish()
    assert await healthy.recv() == Frame(TEXT, payload)
    await slow.close()
    await healthy.close()


async def test_a_cut_off_consumer_that_reads_nothing_is_aborted_after_the_close_timeout(
    start_server: StartServer,
) -> None:
    market, connection, slow, healthy = await a_market(start_server, close_timeout_s=5.0)
    await market.fill_until(healthy, lambda: connection.closing)
    transport = connection.transport
    assert transport is not None
    market.clock.advance(4_999)
    await round_trip(healthy)
    assert not transport.is_disconnected
    market.clock.advance(1)
    await eventually(lambda: transport.is_disconnected)
    counted = market.plant.listeners[Market.UM].limit_counters
    assert (counted.slow_consumer, counted.close_timeout) == (1, 1)
    with pytest.raises((asyncio.IncompleteReadError, ConnectionResetError)):
        async with asyncio.timeout(10 * SECONDS):
            while True:
                assert (await slow.recv()).opcode != CLOSE, "it did not read: it never gets there"
    payload = market.publish()
    assert await healthy.recv() == Frame(TEXT, payload)
    await slow.close()
    await healthy.close()
