"""A WebSocket API connection allows at most 5 pings and pongs a second (trading part 1
§8.2): each is answered, and the sixth within a second closes 1008 "Too many requests",
whatever the requests, which its weight budget governs instead."""

from __future__ import annotations

from conftest import StartServer
from rawws import CLOSE, PING, PONG, RawWebSocket, close_code

from tickerplant.clock import ManualClock
from tickerplant.market.instruments import Market
from tickerplant.protocol.errors import CLOSE_TOO_MANY_REQUESTS


async def test_a_sixth_ping_in_a_second_closes(start_server: StartServer) -> None:
    clock = ManualClock()
    plant = await start_server(clock=clock)
    port = plant.listeners[Market.UM].port
    ws = await RawWebSocket.connect(port, "/ws-fapi/v1")
    for _second in range(3):  # 5 a second, seconds on end: each answered
        for n in range(5):
            ws.send(PING if n % 2 == 0 else PONG, b"%d" % n)
            if n % 2 == 0:
                assert (await ws.recv_until(PONG)).payload == b"%d" % n
        clock.advance(1_000)
    for n in range(12):  # 12 requests in the same second: not counted
        ws.send_text(f'{{"id":{n},"method":"ticker.price","params":{{"symbol":"BTCUSDT"}}}}')
    for _ in range(5):
        ws.send(PING, b"again")
    ws.send(PING, b"one too many")
    assert close_code(await ws.recv_until(CLOSE)) == CLOSE_TOO_MANY_REQUESTS
    await ws.close()
