"""The front door over real sockets (``gateway/front_door.py``): a connection whose request
head never completes is closed after ``HEAD_TIMEOUT_MS`` on the listener's clock, and
counted, and an
upgrade handed to picows loses none of the bytes that came with its head."""

from __future__ import annotations

import asyncio
import base64
import os

import msgspec
from conftest import StartServer
from rawws import TEXT, RawWebSocket, closed_within, read_answer
from timing import SECONDS, eventually

from tickerplant.clock import ManualClock
from tickerplant.gateway.front_door import HEAD_TIMEOUT_MS
from tickerplant.market.instruments import Market


async def test_a_head_that_never_completes_is_closed_after_the_head_timeout(start_server: StartServer) -> None:
    clock = ManualClock()
    plant = await start_server(clock=clock)
    port = plant.listeners[Market.UM].port
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(b"GET /fapi/v1/ping HTTP/1.1\r\nHost: 127.0.0.1\r\n")  # no blank line yet
    silent_reader, silent_writer = await asyncio.open_connection("127.0.0.1", port)  # sends nothing
    # both doors opened (each arms its head timeout on the clock as it counts itself live)
    await eventually(lambda: plant.listeners[Market.UM].allocator_trim.schedule.live == 2)
    clock.advance(HEAD_TIMEOUT_MS - 1)
    assert not await closed_within(reader, 0.05 * SECONDS)
    clock.advance(1)
    assert await closed_within(reader, 5 * SECONDS)
    assert await closed_within(silent_reader, 5 * SECONDS)
    assert plant.listeners[Market.UM].limit_counters.head_timeout == 2  # each refusal counted
    for w in (writer, silent_writer):
        w.close()
    # a head completed in time is answered, whatever the clock does after
    answered_reader, answered_writer = await asyncio.open_connection("127.0.0.1", port)
    answered_writer.write(b"GET /fapi/v1/ping HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
    answer = await read_answer(answered_reader)
    assert answer.startswith(b"HTTP/1.1 200 OK\r\n") and answer.endswith(b"\r\n\r\n{}")
    answered_writer.close()


async def test_frames_sent_with_the_upgrade_request_reach_the_connection(start_server: StartServer) -> None:
    plant = await start_server()
    port = plant.listeners[Market.UM].port
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    key = base64.b64encode(os.urandom(16)).decode()
    upgrade = (
        f"GET /ws HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
    ).encode()
    ws = RawWebSocket(reader, writer, 0)
    # the request and two SUBSCRIBE frames in one write: the front door reads them all
    # before it hands the connection to picows, which must see the frames as if it had
    # read them itself
    writer.write(upgrade)
    ws.send_text(b'{"method":"SUBSCRIBE","params":["btcusdt@bookTicker"],"id":1}')
    ws.send_text(b'{"method":"LIST_SUBSCRIPTIONS","id":2}')
    head = await reader.readuntil(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 101 ")
    replies = {}
    async with asyncio.timeout(5 * SECONDS):
        while len(replies) < 2:
            frame = await ws.recv()
            if frame.opcode == TEXT:
                message = msgspec.json.decode(frame.payload)
                if "id" in message:
                    replies[message["id"]] = message
    assert replies[1] == {"result": None, "id": 1}
    assert replies[2] == {"result": ["btcusdt@bookTicker"], "id": 2}
    await ws.close()
