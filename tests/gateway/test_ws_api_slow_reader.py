"""A WebSocket API client that sends requests and never reads is cut off when its replies
would pass the send buffer, like a slow consumer of the streams: it gets every reply
written before, whole, then close 1008 "Slow consumer: send buffer full". (It stops asking
once cut off: a socket closed with requests still unread is reset by the kernel.)"""

from __future__ import annotations

import asyncio
import json

from conftest import StartServer
from rawws import CLOSE, TEXT, RawWebSocket, close_code
from timing import SECONDS, eventually

from tickerplant.clock import ManualClock
from tickerplant.market.instruments import Market
from tickerplant.protocol.errors import CLOSE_SLOW_CONSUMER

LIMIT = 64 * 1024


async def test_a_client_that_never_reads_its_replies_is_cut_off_at_the_send_buffer(
    start_server: StartServer,
) -> None:
    # A manual clock: the weight used is counted per minute, and a minute turning on the
    # system clock while the test asks would reset it under the count the test waits for.
    plant = await start_server(
        clock=ManualClock(), limits={"send_buffer_bytes": LIMIT}, request_weight_per_min=10**9
    )
    listener = plant.listeners[Market.UM]
    ws = await RawWebSocket.connect(listener.port, "/ws-fapi/v1", rcvbuf=4096)
    (connection,) = listener.ws_api_connections
    request = '{"id":%d,"method":"depth","params":{"symbol":"BTCUSDT","limit":1000}}'
    def used() -> int:
        return listener.weight.used("127.0.0.1", plant.clock.now_ms())

    base, sent = used(), 0  # (the handshake has a weight of its own)
    async with asyncio.timeout(20 * SECONDS):
        while not connection.closing:  # one request at a time, each answered before the next
            ws.send_text(request % sent)
            sent += 1
            await eventually(lambda w=base + 20 * sent: used() == w)  # limit 1000 weighs 20
    assert connection.unsent_bytes() <= LIMIT + 129  # the bound, and the close frame's room
    frames = []
    async with asyncio.timeout(10 * SECONDS):
        while not frames or frames[-1].opcode != CLOSE:
            frames.append(await ws.recv())
    replies = [json.loads(f.payload) for f in frames[:-1]]
    assert all(f.opcode == TEXT for f in frames[:-1])
    assert [r["id"] for r in replies] == list(range(len(replies))) and 0 < len(replies) < sent
    assert close_code(frames[-1]) == (CLOSE_SLOW_CONSUMER.code, CLOSE_SLOW_CONSUMER.reason)
    assert listener.limit_counters.slow_consumer == 1
    await ws.close()
